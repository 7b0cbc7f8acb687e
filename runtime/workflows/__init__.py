"""Workflows: outbox relay, runs, actions, and the workers (in-process or SAQ on Redis)."""
