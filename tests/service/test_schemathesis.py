"""Schemathesis against a live server's own OpenAPI document: every phase, every check, 0 failures.

Clients of the exchange platform are generated from ``/openapi.json``; this run is what proves the
document true: schema-valid requests accepted, schema-violating ones refused, only documented
statuses, headers and bodies, ``Allow`` on 405. It gets its own server and data dir because it
writes (scans, reviews, triage) with arbitrary values.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from soc.service.auth.keys import KeyStore
from tests.service.conftest import POP_CSV, write_config
from tests.service.live import LiveServer

# Operations whose schema cannot express every rule (a value outside the tokenization alphabet, a
# ciphertext bound to another field, a review whose options contradict, an approval period already
# past, an evidence period whose start is after its end, a leaked CSV with ragged rows): their
# documented 422 is a correct answer to a schema-valid request.
SEMANTIC_422 = ("POST /v1/tokenize", "POST /v1/detokenize", "POST /v1/encrypt", "POST /v1/decrypt",
                "POST /v1/datasets/scans", "POST /v1/datasets/{dataset}/review", "POST /v1/approvals",
                "POST /v1/evidence/export", "POST /v1/trace")
ACCEPTED = '["2xx", "401", "403", "404", "409", "422", "429"]'
# Schemathesis' response-time limit (10 s by default) is raised to 30 s so a loaded 2-core CI machine
# does not fail on timing, and to 60 s for scans: the first one loads the classifier.
SLOW = ("POST /v1/datasets/scans",)


def _config(path: Path) -> None:
    lines = ['headers = { Authorization = "Bearer ${SHUWEI_TEST_KEY}" }', "", "[checks]",
             "max_response_time = 30.0", ""]
    for name in SEMANTIC_422:
        lines += ["[[operations]]", f'include-name = "{name}"',
                  f"checks.positive_data_acceptance.expected-statuses = {ACCEPTED}",
                  *(["checks.max_response_time = 60.0"] if name in SLOW else []), ""]
    path.write_text("\n".join(lines), encoding="utf-8")


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> tuple[LiveServer, str]:
    root = tmp_path_factory.mktemp("schemathesis")
    config = write_config(root)
    # The evidence pack without its PDF: a headless Chromium per fuzzed export would take minutes.
    config.write_text(config.read_text(encoding="utf-8") + "evidence:\n  pdf: \"off\"\n", encoding="utf-8")
    (root / "sources" / "pop_basic.csv").write_text(POP_CSV, encoding="utf-8")
    key = KeyStore(root / "var").create(name="st-admin", role="admin", grants=["decrypt", "detokenize"])[0]
    srv = LiveServer(root / "var", config)
    srv.start()
    yield srv, key
    srv.stop()


@pytest.mark.timeout(400)
def test_openapi_document_holds_under_every_phase_and_check(server: tuple[LiveServer, str], tmp_path: Path) -> None:
    srv, key = server
    config = tmp_path / "schemathesis.toml"
    _config(config)
    st = Path(sys.executable).with_name("st")
    env = {**os.environ, "SHUWEI_TEST_KEY": key}  # the key travels in the environment, never on argv
    proc = subprocess.run(
        [str(st), "--config-file", str(config), "run", f"{srv.url}/openapi.json",
         "--phases", "examples,coverage,fuzzing,stateful", "--checks", "all",
         "--max-examples", "10", "--seed", "1", "--workers", "1", "--request-timeout", "60",
         "--no-color", "--suppress-health-check", "all"],
        env=env, capture_output=True, text=True, timeout=380)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out[-6000:]
    for phase in ("Examples", "Coverage", "Fuzzing", "Stateful"):
        assert re.search(rf"✅\s+{phase}", out), out[-3000:]
    selected = re.search(r"Selected: (\d+)/(\d+)\s+Tested: (\d+)", out)
    assert selected and len(set(selected.groups())) == 1, out[-3000:]  # every operation was exercised
    assert key not in out
