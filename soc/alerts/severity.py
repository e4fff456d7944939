"""Alert severity: the rule's Sigma level, raised by the sensitivity of the data touched."""

from __future__ import annotations

from typing import Literal, get_args

Severity = Literal["informational", "low", "medium", "high", "critical"]
SEVERITIES: tuple[str, ...] = get_args(Severity)

# Steps a data_level adds to the rule's level: touching 敏感 (L4) data makes any finding more
# urgent, 较敏感 (L3) and below leave the rule author's judgement alone.
_RAISE = {"L4": 1}


def severity_for(level: str, data_level: str | None) -> str:
    base = SEVERITIES.index(level) if level in SEVERITIES else SEVERITIES.index("medium")
    return SEVERITIES[min(base + _RAISE.get(data_level or "", 0), len(SEVERITIES) - 1)]


def raised(severity: str, steps: int = 1) -> str:
    base = SEVERITIES.index(severity) if severity in SEVERITIES else SEVERITIES.index("medium")
    return SEVERITIES[min(base + steps, len(SEVERITIES) - 1)]
