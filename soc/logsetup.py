"""The one logging setup of the CLI and the service: text or JSON lines on stderr, with the request id.

``classifier`` and ``crypto`` only call ``logging.getLogger``; this module (used by the CLI root and by
``shuwei serve``, which hands :func:`dict_config` to uvicorn so every worker gets it too) decides where
records go. Every line passes :func:`redact` last, a safety net for the secrets and identifiers that
must never reach a log even when some message carries one by mistake.
"""

from __future__ import annotations

import json
import logging
import logging.config
import re
import sys
from contextvars import ContextVar
from datetime import datetime, timezone
from typing import Any, Literal

from crypto.shapes import ENTITY_SHAPES

LogFormat = Literal["text", "json"]
LEVELS = ("debug", "info", "warning", "error", "critical")
request_id: ContextVar[str | None] = ContextVar("shuwei_request_id", default=None)

# Secret shapes first (an API key contains digit runs that the identifier shapes would half-match).
_SECRETS: dict[str, str] = {
    "API_KEY": r"swk_[0-9a-f]{12}_[A-Za-z0-9_-]{43}",
    "JWT": r"eyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]*",
    "BEARER": r"(?i:bearer)\s+[A-Za-z0-9._~+/=-]{8,}",
    "PRIVATE_KEY": r"-----BEGIN [A-Z ]*PRIVATE KEY-----[\s\S]*?-----END [A-Z ]*PRIVATE KEY-----",
    "HEX_KEY": r"[0-9a-fA-F]{32,}",  # master keys, data keys, HMAC secrets given in hex
}
# Identifiers by the masking area's own shapes (one definition), not inside a longer digit run.
_IDENTIFIERS = ("CN_RESIDENT_ID", "CN_BANK_CARD", "CN_MOBILE", "CN_PASSPORT", "CN_USCC")
_REDACT = re.compile("|".join(
    [f"(?P<{name}>{pattern})" for name, pattern in _SECRETS.items()]
    + [rf"(?P<{name}>(?<!\d){ENTITY_SHAPES[name].pattern}(?!\d))" for name in _IDENTIFIERS]
    + [r"(?P<EMAIL_ADDRESS>[\w.+-]+@[\w-]+(?:\.[\w-]+)+)"]))


def redact(text: str) -> str:
    """Replace every secret- or identifier-shaped run by ``[REDACTED:<kind>]``."""
    return _REDACT.sub(lambda m: f"[REDACTED:{m.lastgroup}]", text)


class RequestIdFilter(logging.Filter):
    """Stamp each record with the request id of the HTTP call being served (``-`` outside one)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not hasattr(record, "request_id"):
            record.request_id = request_id.get() or "-"
        return True


def _timestamp(record: logging.LogRecord) -> str:
    return datetime.fromtimestamp(record.created, timezone.utc).isoformat(timespec="milliseconds")


class TextFormatter(logging.Formatter):
    """``<ts> <LEVEL> <logger> [<request id>] <message>`` (and the traceback, redacted too)."""

    def format(self, record: logging.LogRecord) -> str:
        text = record.getMessage()
        if record.exc_info:
            text += "\n" + self.formatException(record.exc_info)
        return f"{_timestamp(record)} {record.levelname:<7} {record.name} [{getattr(record, 'request_id', '-')}] " \
               f"{redact(text)}"


class JsonFormatter(logging.Formatter):
    """One JSON object per line: ts, level, logger, request_id, message (and exc for a traceback)."""

    def format(self, record: logging.LogRecord) -> str:
        out: dict[str, Any] = {"ts": _timestamp(record), "level": record.levelname, "logger": record.name,
                               "request_id": getattr(record, "request_id", "-"),
                               "message": redact(record.getMessage())}
        if record.exc_info:
            out["exc"] = redact(self.formatException(record.exc_info))
        return json.dumps(out, ensure_ascii=False)


class StderrHandler(logging.StreamHandler[Any]):
    """Writes to ``sys.stderr`` as it is at each record: test runners and typer swap the stream."""

    @property
    def stream(self) -> Any:
        return sys.stderr

    @stream.setter
    def stream(self, value: Any) -> None:
        pass


def dict_config(level: str = "warning", fmt: LogFormat = "text") -> dict[str, Any]:
    """A :func:`logging.config.dictConfig` document; uvicorn takes it as ``log_config`` for its workers."""
    lvl = level.upper()
    formatter = JsonFormatter if fmt == "json" else TextFormatter
    handler = {"()": f"{__name__}.StderrHandler", "formatter": "shuwei", "filters": ["request_id"]}
    propagate = {"handlers": [], "level": lvl, "propagate": True}
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {"request_id": {"()": f"{__name__}.RequestIdFilter"}},
        "formatters": {"shuwei": {"()": f"{formatter.__module__}.{formatter.__qualname__}"}},
        "handlers": {"stderr": handler},
        # Ours (``shuwei.*``, and modules that log under their own name) at the chosen level; uvicorn's
        # would otherwise bring their own handlers and formats. Everything else: warnings only.
        "loggers": {name: propagate for name in ("shuwei", "classifier", "crypto", "soc", "uvicorn",
                                                 "uvicorn.error", "uvicorn.access")}
        # The ES client warns once per failed node attempt; Shuwei reports an unreachable cluster
        # itself in one line (or spools), so its retries show only when asked for (info, debug).
        | {name: {"handlers": [], "level": lvl if lvl in ("DEBUG", "INFO") else "ERROR", "propagate": True}
           for name in ("elastic_transport", "elasticsearch")},
        "root": {"handlers": ["stderr"], "level": "WARNING"},
    }


_current: tuple[str, LogFormat] = ("warning", "text")


def configure(level: str = "warning", fmt: LogFormat = "text") -> None:
    global _current
    if level.lower() not in LEVELS:
        raise ValueError(f"log level '{level}' is not one of {', '.join(LEVELS)}")
    logging.config.dictConfig(dict_config(level, fmt))
    _current = (level.lower(), fmt)


def current() -> tuple[str, LogFormat]:
    """The level and format the CLI root chose, for ``shuwei serve`` to hand on to uvicorn."""
    return _current
