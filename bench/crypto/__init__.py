"""Crypto benchmarks: ``python -m bench.crypto`` (see ``run.py``); :func:`masking_rate` is
what the service benchmark calls to print the in-process masking rate beside the HTTP one."""

from bench.crypto.run import masking_rate

__all__ = ["masking_rate"]
