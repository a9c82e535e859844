"""The wire contract: the vocabulary, the event payloads, the CloudEvents envelope, the subjects and streams."""
