"""Audit integrity against whoever can write the store: signed checkpoints over the SM3 chains,
signed purges, anchors outside the store (docs/design/audit-integrity.md)."""
