"""The one error type of rule compilation, shared by the compiler and its value matchers."""

from __future__ import annotations


class UnsupportedConstruct(ValueError):
    """The rule uses something this evaluator cannot evaluate exactly; reported at load time."""
