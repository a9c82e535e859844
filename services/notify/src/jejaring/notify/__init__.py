"""Notify: SMS and email alerts from referral events, with a delivery log."""
