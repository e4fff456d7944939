"""Where Shuwei keeps what it can rebuild (phone-number prefix tables, parsed rule documents):
one user cache directory, ``$XDG_CACHE_HOME/shuwei`` or ``~/.cache/shuwei``."""

from __future__ import annotations

import os
from pathlib import Path


def user_cache_dir() -> Path:
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "shuwei"
