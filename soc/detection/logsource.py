"""Log-source labels of events, and which rules can apply to a labelled event.

A rule's ``logsource`` (product / category / service) says what it was written for. An event may
carry a label saying what it is: exchange audit events are ``product: shuwei, category:
exchange_audit`` (shared/spec/audit-event.md); other JSON is labelled per hunted file
(``--logsource product=windows,service=sysmon``). A rule cannot apply to a labelled event when
they name different values for the same key; a key either side leaves out constrains nothing
(the exchange label says it has no service), and an unlabelled event is checked against every
rule (a hunt over arbitrary JSON).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

KEYS = ("product", "category", "service")

# (product, category, service), lower-cased; None where unknown, "" where the source has none.
Label = tuple[str | None, str | None, str | None]

# The exchange audit contract is the whole description: it has no service, so a rule written for
# one (``service: apache``) cannot apply to it.
EXCHANGE: Label = ("shuwei", "exchange_audit", "")


def label(mapping: Mapping[str, Any] | None) -> Label | None:
    """A label from ``{"product": ..., "category": ..., "service": ...}`` (None: unlabelled)."""
    if not mapping:
        return None
    unknown = set(mapping) - set(KEYS)
    if unknown:
        raise ValueError(f"unknown log source key(s) {', '.join(sorted(unknown))} "
                         f"(use {', '.join(KEYS)})")
    values = tuple(str(mapping[k]).strip().lower() if mapping.get(k) else None for k in KEYS)
    return values if any(values) else None  # type: ignore[return-value]


def parse_label(text: str) -> Label | None:
    """``product=windows,service=sysmon`` (the CLI form) as a label."""
    pairs: dict[str, str] = {}
    for item in filter(None, (p.strip() for p in text.split(","))):
        key, sep, value = item.partition("=")
        if not sep or not value.strip():
            raise ValueError(f"log source {item!r}: expected key=value")
        pairs[key.strip().lower()] = value.strip()
    return label(pairs)


def rule_label(logsource: Any) -> Label:
    """The label of a pySigma SigmaLogSource."""
    return tuple(str(v).lower() if v else None  # type: ignore[return-value]
                 for v in (logsource.product, logsource.category, logsource.service))


def applies(rule: Label, event: Label | None) -> bool:
    if event is None:
        return True
    return all(r is None or e is None or r == e for r, e in zip(rule, event))
