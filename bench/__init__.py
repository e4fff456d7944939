"""Benchmarks, one package per area: ``python -m bench.<area>``."""
