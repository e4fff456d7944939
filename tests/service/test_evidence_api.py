"""POST /v1/evidence/export over real HTTP: the zip verifies under the key `shuwei evidence
public-key` exports, and the export is an audit event carrying the pack's SHA-256."""

from __future__ import annotations

import hashlib
import json
import sqlite3
import time
import zipfile
from pathlib import Path

import pytest
from typer.testing import CliRunner

from classifier.settings import get_settings
from soc.cli.main import app
from soc.evidence.pack import verify_pack
from tests.service.conftest import Live


def _export_events(live: Live) -> list[dict]:
    with sqlite3.connect(live.server.data_dir / "soc.db") as db:
        docs = [json.loads(r[0]) for r in db.execute("SELECT doc FROM events WHERE action = 'export'")]
    return [d for d in docs if (d.get("extra") or {}).get("operation") == "evidence_pack"]


def _refused_self_approvals(live: Live) -> int:
    with sqlite3.connect(live.server.data_dir / "soc.db") as db:
        return db.execute("SELECT count(*) FROM events WHERE action = 'share_approve' AND doc LIKE "
                          "'%self-approval%' AND doc LIKE '%denied%'").fetchone()[0]


def test_compliance_officer_downloads_a_verifiable_pack(live: Live, tmp_path: Path, demo_sources: None,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    # State the pack must show: a refused self-approval (audited) and a release in the ledger.
    with live.client("admin") as c:
        aid = c.post("/v1/approvals", json={
            "dataset": "pop_basic", "fields": ["姓名"], "purpose": "核对", "valid_from": "2026-01-01",
            "valid_until": "2099-12-31", "consumer": {"org": "市民政局", "role": "case_officer"}}).json()["approval_id"]
        assert c.post(f"/v1/approvals/{aid}/decision", json={"operation": "approve"}).status_code == 403
    with live.client("exchange_platform") as c:
        assert c.post("/v1/mask", json={"dataset": "pop_basic", "caller": {"user": "u7", "role": "analyst"},
                                        "records": [{"姓名": "张三"}]}).status_code == 200
    deadline = time.monotonic() + 20
    while not _refused_self_approvals(live) and time.monotonic() < deadline:
        time.sleep(0.2)
    with live.client("compliance_officer") as c:
        r = c.post("/v1/evidence/export", json={"system": "某市政务数据共享交换平台", "from": "2026-01-01",
                                                 "to": "2026-12-31"})
        bad = c.post("/v1/evidence/export", json={"from": "2026-12-31", "to": "2026-01-01"})
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == "application/zip"
    assert r.headers["x-evidence-sha256"] == hashlib.sha256(r.content).hexdigest()
    assert bad.status_code == 422 and "is not before" in bad.json()["error"]["message"]
    pack = tmp_path / "pack.zip"
    pack.write_bytes(r.content)

    monkeypatch.setenv("SHUWEI_DATA_DIR", str(live.server.data_dir))
    monkeypatch.setenv("SHUWEI_MASTER_KEY", live.server.master_key)
    monkeypatch.delenv("SHUWEI_CONFIG", raising=False)
    get_settings.cache_clear()
    key = tmp_path / "evidence.pubkey.json"
    result = CliRunner().invoke(app, ["evidence", "public-key", "--out", str(key)])
    assert result.exit_code == 0, result.output
    assert json.loads(key.read_text())["fingerprint_sha256"] == r.headers["x-evidence-key-fingerprint"]
    checked = verify_pack(pack, key)
    assert checked.ok, checked.problems
    with zipfile.ZipFile(pack) as zf:
        approvals = json.loads(zf.read("items/8.1.4.11/approvals.json"))
        ledger = json.loads(zf.read("items/8.1.4.11/releases.json"))
    assert approvals["details"]["self_approvals_refused"] >= 1 and approvals["details"]["self_approved"] == 0
    assert any(r["role"] == "analyst" and r["releases"] >= 1 for r in ledger["tables"]["releases_per_consumer"])
    deadline = time.monotonic() + 20
    while not (events := _export_events(live)) and time.monotonic() < deadline:
        time.sleep(0.2)
    mine = [e for e in events if e["extra"]["sha256"] == r.headers["x-evidence-sha256"]]
    assert len(mine) == 1 and mine[0]["user"] == "compliance_officer-key"
    assert mine[0]["role"] == "compliance_officer" and mine[0]["extra"]["api_key_id"]
