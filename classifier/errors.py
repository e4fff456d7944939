"""Errors the classifier raises for bad input; the CLI maps :class:`InputError` to exit code 2."""

from __future__ import annotations


class InputError(ValueError):
    """Bad input (file, line, table or policy); the message names where, never a raw cell value."""

    def __init__(self, where: str, message: str) -> None:
        super().__init__(f"{where}: {message}")
        self.where = where
        self.message = message
