"""Jejaring's shared contract (events, subjects, envelope) and messaging plumbing."""
