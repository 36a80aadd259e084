"""Embedded infrastructure for `agora up` and the test suite: real PostgreSQL and NATS JetStream."""
