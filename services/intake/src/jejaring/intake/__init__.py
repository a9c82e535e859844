"""Intake: PPATBM officers record cases; publishes case events; reads referral statuses."""
