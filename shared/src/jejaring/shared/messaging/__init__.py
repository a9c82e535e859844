"""Messaging plumbing: the outbox and its relay, idempotent consumers with the DLQ, provisioning, NATS connections, the service runtime."""
