"""Field-level batch operations behind `shuwei crypto encrypt|decrypt|tokenize|detokenize` and
`keys rewrap|retokenize`: apply one operation to named fields of JSON records, errors naming record and field,
and one audit event per batch."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from classifier import audit
from classifier.settings import Settings
from classifier.errors import InputError
from crypto.errors import CryptoError
from crypto.strategies import Unfit

# operation → audit action (contract vocabulary); extra.operation says which one
ACTIONS = {"encrypt": "mask", "tokenize": "mask", "decrypt": "decrypt", "detokenize": "decrypt",
           "rewrap": "key_rotate", "retokenize": "key_rotate"}


def apply(records: list[tuple[int, dict[str, Any]]], fields: list[str],
          fn: Callable[[str, Any], Any], origin: str = "<stdin>") -> list[dict[str, Any]]:
    """``fn(field, value)`` on each present, non-null field; errors name the input line and field."""
    out = []
    for line, record in records:
        record = dict(record)
        for name in fields:
            value = record.get(name)
            if value is None:
                continue
            try:
                record[name] = fn(name, value)
            except Unfit:
                raise InputError(f"{origin}:{line}", f"field '{name}': value does not fit the format "
                                 "(too short for FF1, or not text)") from None
            except CryptoError as exc:
                raise InputError(f"{origin}:{line}", f"field '{name}': {exc}") from None
        out.append(record)
    return out


def audit_batch(settings: Settings, operation: str, *, user: str, dataset: str | None,
                fields: list[str], rows: int, **extra: Any) -> None:
    audit.emit(audit.make_event(ACTIONS[operation], user=user, dataset=dataset, fields=fields, rows=rows,
                                extra={"operation": operation, **extra}), settings.data_dir)
