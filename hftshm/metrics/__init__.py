"""Prometheus metrics of a running instance (docs/operations.md, "Metrics")."""
