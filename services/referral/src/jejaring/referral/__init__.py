"""Referral: partners, routing, each partner's own stream, and the closed loop."""
