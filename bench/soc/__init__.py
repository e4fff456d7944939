"""Benchmark of the SOC pipeline: ``python -m bench.soc``."""
