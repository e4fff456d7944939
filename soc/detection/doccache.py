"""The parsed YAML documents of a large rule directory, kept in the user's cache directory.

PyYAML (with libyaml) took 1.3 of the 2.7 CPU-seconds the SigmaHQ corpus (3,780 files) takes to
load; the same documents read back as JSON take 0.1 s (measured 2026-12-02). Only plain data is
kept -- never compiled rules, never pickle: JSON runs no code when read. Each file's entry is
keyed by the SHA-256 of its text and the whole cache by this format and the YAML library, so an
edited file is parsed again; dates (a rule's ``date``/``modified``) come back as the same
``datetime.date``. A file whose documents JSON cannot hold exactly (other types, shared nodes
from YAML aliases, non-finite floats, huge integers) is never cached, and a directory of fewer
than MIN_FILES rule files is not cached at all: it parses in milliseconds.

``SHUWEI_RULE_CACHE`` names another directory; empty disables the cache. An unreadable,
corrupt or unwritable cache is ignored: rules are then parsed as without it.
"""

from __future__ import annotations

import hashlib
import math
import os
from datetime import date, datetime
from pathlib import Path
from typing import Any

import orjson
import yaml

from classifier.usercache import user_cache_dir

MIN_FILES = 200
_DATE_KEYS = ("date", "modified")
_FORMAT = f"shuwei-sigma-docs-1 PyYAML-{yaml.__version__}-{'libyaml' if yaml.__with_libyaml__ else 'py'}"


def cache_dir() -> Path | None:
    env = os.environ.get("SHUWEI_RULE_CACHE")
    if env is not None:
        return Path(env) if env.strip() else None
    return user_cache_dir()


def digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


class DocCache:
    """Documents by file (relative path) and text digest, for one rule directory."""

    def __init__(self, directory: Path) -> None:
        root = cache_dir()
        name = hashlib.sha256(str(directory.resolve()).encode()).hexdigest()[:16]
        self.path = root / f"sigma-docs-{name}.json" if root is not None else None
        self.entries: dict[str, list[Any]] = {}
        self.used: set[str] = set()
        self.dirty = False
        if self.path is None:
            return
        try:
            data = orjson.loads(self.path.read_bytes())
            if data.get("format") == _FORMAT and isinstance(data.get("files"), dict):
                self.entries = data["files"]
        except (OSError, orjson.JSONDecodeError, AttributeError):
            pass

    def get(self, rel: str, text_digest: str) -> list[Any] | None:
        entry = self.entries.get(rel)
        self.used.add(rel)
        if not isinstance(entry, list) or len(entry) != 3 or entry[0] != text_digest:
            return None
        _, text, dates = entry
        try:  # each file's documents are their own JSON text: what we return is ours to change
            docs = orjson.loads(text)
            for i, key in dates:
                docs[i][key] = date.fromisoformat(docs[i][key])
        except (TypeError, ValueError, KeyError, IndexError):  # orjson's error is a ValueError
            return None
        return docs if isinstance(docs, list) else None

    def put(self, rel: str, text_digest: str, docs: list[Any]) -> None:
        """Keep ``docs`` (fresh from YAML, not yet changed) if JSON holds them exactly."""
        if self.path is None:
            return
        dates: list[tuple[int, str]] = []
        plain: list[Any] = []
        for i, doc in enumerate(docs):
            if isinstance(doc, dict):
                stamped = {k: v for k, v in doc.items() if k in _DATE_KEYS and type(v) is date}
                if stamped:
                    dates.extend((i, k) for k in stamped)
                    doc = {**doc, **{k: v.isoformat() for k, v in stamped.items()}}
            plain.append(doc)
        if not _json_exact(plain):
            return
        self.entries[rel] = [text_digest, orjson.dumps(plain).decode(), dates]
        self.used.add(rel)
        self.dirty = True

    def save(self) -> None:
        """Write the cache if a file was parsed (entries of files gone are dropped)."""
        if self.path is None or not (self.dirty or set(self.entries) - self.used):
            return
        files = {rel: e for rel, e in self.entries.items() if rel in self.used}
        try:
            self.path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
            tmp = self.path.with_suffix(f".{os.getpid()}.tmp")
            tmp.write_bytes(orjson.dumps({"format": _FORMAT, "files": files}))
            tmp.replace(self.path)
        except (OSError, TypeError, orjson.JSONEncodeError):
            pass


_SCALARS = (str, int, bool, type(None))


def _json_exact(value: Any) -> bool:
    """Whether ``orjson.loads(orjson.dumps(value)) == value`` with the same types and no shared
    containers (walked without recursion: rule documents can nest deeply)."""
    seen: set[int] = set()
    stack = [value]
    while stack:
        node = stack.pop()
        kind = type(node)
        if kind is dict or kind is list:
            if id(node) in seen:
                return False  # a YAML alias: JSON would make two copies
            seen.add(id(node))
            if kind is dict:
                if any(type(k) is not str for k in node):
                    return False
                stack.extend(node.values())
            else:
                stack.extend(node)
        elif kind is int:
            if not -(2 ** 63) <= node < 2 ** 64:
                return False
        elif kind is float:
            if not math.isfinite(node):
                return False
        elif kind not in _SCALARS or isinstance(node, (date, datetime)):
            return False
    return True
