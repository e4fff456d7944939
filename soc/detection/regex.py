"""Regular expressions of rules, compiled with RE2 (linear time: no input can make one hang).

Python's ``re`` backtracks, so one community rule with ``(a+)+$`` could stall detection for every
event; RE2 guarantees time linear in the input. What RE2 cannot express (look-around,
back-references, possessive quantifiers) is refused with RE2's own reason, at load time.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

import re2

from soc.detection.errors import UnsupportedConstruct

_OPTIONS = re2.Options()
_OPTIONS.log_errors = False  # the reason goes into the load report, not to stderr


@lru_cache(maxsize=8192)
def compile_regex(pattern: str) -> Any:
    """An RE2 pattern (inline flags such as ``(?i)`` allowed), or UnsupportedConstruct."""
    try:
        return re2.compile(pattern, _OPTIONS)
    except re2.error as exc:
        reason = exc.args[0] if exc.args else exc
        if isinstance(reason, bytes):
            reason = reason.decode("utf-8", "replace")
        raise UnsupportedConstruct(f"regular expression /{pattern}/ refused: the linear-time "
                                   f"engine cannot run it (RE2: {reason})") from None
