"""The one user-name lookup: a uid without passwd entry (containers) is named, never a traceback."""

from __future__ import annotations

import getpass
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from classifier.whoami import current_user

REPO = Path(__file__).resolve().parent.parent
NOBODY_UID = 54321  # no passwd entry on any machine this runs on (checked below)


def test_falls_back_to_the_uid(monkeypatch: pytest.MonkeyPatch) -> None:
    def no_entry() -> str:
        raise KeyError("getpwuid(): uid not found: 54321")
    monkeypatch.setattr(getpass, "getuser", no_entry)
    assert current_user() == f"uid:{os.getuid()}"


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() != 0 or shutil.which("setpriv") is None,
                    reason="needs root and setpriv to run as a uid without passwd entry")
def test_crypto_command_under_a_uid_without_passwd_entry() -> None:
    import pwd

    with pytest.raises(KeyError):
        pwd.getpwuid(NOBODY_UID)
    with tempfile.TemporaryDirectory() as tmp:  # pytest's tmp_path is private to root
        os.chmod(tmp, 0o755)
        data = Path(tmp) / "var"
        data.mkdir()
        os.chown(data, NOBODY_UID, NOBODY_UID)
        _run_as_nobody(data)


def _run_as_nobody(data: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k not in ("USER", "LOGNAME", "LNAME", "USERNAME")}
    env.update(SHUWEI_DATA_DIR=str(data), SHUWEI_MASTER_KEY=os.urandom(32).hex(), PYTHONPATH=str(REPO),
               HOME=str(data))
    proc = subprocess.run(["setpriv", f"--reuid={NOBODY_UID}", f"--regid={NOBODY_UID}", "--clear-groups",
                           sys.executable, "-m", "soc.cli.main", "crypto", "keys", "create", "default"],
                          env=env, capture_output=True, text=True, timeout=120, cwd=str(data))
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr
    outbox = (data / "audit" / "outbox.jsonl").read_text(encoding="utf-8").splitlines()
    assert json.loads(outbox[-1])["user"] == f"uid:{NOBODY_UID}"
