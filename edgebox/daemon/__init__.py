"""The long-running service: modem events in, incidents and the outbox out."""
