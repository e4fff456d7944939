"""Habits checked on every test run: the types hold (mypy) and the package layering holds.

CI runs only pytest, so these run the real tools as subprocesses. mypy keeps its incremental cache
in ``.mypy_cache/`` of the repository, so a warm run takes seconds.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ["classifier", "crypto", "soc"]


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run([sys.executable, *args], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=600)


def test_mypy_reports_no_errors() -> None:
    """Strict for classifier/ and crypto/, normal for soc/ — see [tool.mypy] in pyproject.toml."""
    res = _run("-m", "mypy", *PACKAGES)
    assert res.returncode == 0 and "Success: no issues found" in res.stdout, \
        f"mypy found errors:\n{res.stdout}{res.stderr}"


def test_layering_contract_is_declared() -> None:
    """The import-linter contract below must keep forbidding classifier/crypto → soc."""
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    contracts = config["tool"]["importlinter"]["contracts"]
    assert any(c["type"] == "forbidden" and set(c["source_modules"]) >= {"classifier", "crypto"}
               and "soc" in c["forbidden_modules"] for c in contracts)


def test_classifier_and_crypto_never_import_soc() -> None:
    """import-linter (grimp) sees every import statement, function-level ones included."""
    res = _run("-c", "import sys; from importlinter.cli import lint_imports_command; "
                     "sys.exit(lint_imports_command())")
    assert res.returncode == 0, f"import contracts broken:\n{res.stdout}{res.stderr}"
