"""Who runs this process, for audit events and key metadata — one lookup for every command."""

from __future__ import annotations

import getpass
import os


def current_user() -> str:
    """The login name (``$LOGNAME``/``$USER`` first, then the passwd entry), else ``uid:<n>``.

    Containers often run under a uid with no passwd entry, where :func:`getpass.getuser` raises
    (KeyError, or OSError on Python 3.13); the uid still names the actor in the audit trail.
    """
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return f"uid:{os.getuid()}" if hasattr(os, "getuid") else "unknown"
