"""Audit ingest, stores, Sigma detection, alerts, playbooks, and the CLI and HTTP service."""
