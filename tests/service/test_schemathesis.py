"""Schemathesis against the live service's own OpenAPI document: generated input never yields a 5xx."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.service.conftest import Live


def test_no_server_errors_on_generated_input(live: Live, tmp_path: Path) -> None:
    config = tmp_path / "schemathesis.toml"
    # The key travels in the environment (expanded by schemathesis), never on a command line.
    config.write_text('headers = { Authorization = "Bearer ${SHUWEI_TEST_KEY}" }\n', encoding="utf-8")
    st = Path(sys.executable).with_name("st")
    env = {**os.environ, "SHUWEI_TEST_KEY": live.keys["admin_granted"]}
    proc = subprocess.run(
        [str(st), "--config-file", str(config), "run", f"{live.server.url}/openapi.json",
         "--checks", "not_a_server_error", "--max-examples", "25", "--seed", "1", "--workers", "1",
         "--phases", "examples,coverage,fuzzing", "--request-timeout", "60", "--no-color",
         "--suppress-health-check", "all"],
        env=env, capture_output=True, text=True, timeout=200)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out[-4000:]
    assert "not_a_server_error" in out or "passed" in out.lower(), out[-2000:]
