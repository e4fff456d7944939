"""Stored share approvals and the release ledger: lifecycle, self-approval, the engine granting
from the store (and stopping at once on revoke), releases recorded before data goes out — over
the real SQLite file and the real CLI."""

from __future__ import annotations

import json
import re
import sqlite3
from datetime import date, datetime, timezone
from pathlib import Path

import pytest
from typer.testing import CliRunner

from classifier.settings import Settings
from crypto.engine import Caller, MaskingEngine
from crypto.share import approvals as store, releases
from crypto.share.approvals import Consumer, ShareError
from crypto.static import mask_file
from soc.cli.main import app
from tests.crypto.test_engine import seed_catalog

NOW = datetime(2026, 12, 1, 10, 2, 11, tzinfo=timezone.utc)
REC = {"姓名": "张三", "出生日期": "1949-12-31", "联系电话": "13812345678"}
runner = CliRunner()


def one_error(stderr: str) -> str:
    """The single ``error:`` line (besides the data-dir line every command prints), no traceback."""
    lines = [x for x in stderr.splitlines() if not x.startswith("data: ")]
    assert len(lines) == 1 and lines[0].startswith("error: "), stderr
    return lines[0]


def _request(data_dir: Path, *, until: date = date(2099, 5, 31), user: str | None = None) -> store.StoredApproval:
    return store.request(data_dir, dataset="pop_basic", fields=["出生日期"],
                         consumer=Consumer("市卫健委", "researcher", user), purpose="出生缺陷研究",
                         valid_from=date(2026, 12, 1), valid_until=until, requested_by="u2001", now=NOW)


def test_lifecycle_ids_and_transitions(data_dir: Path) -> None:
    first, second = _request(data_dir), _request(data_dir)
    assert (first.approval_id, second.approval_id) == ("AP-2026-0001", "AP-2026-0002")
    assert first.to_dict(NOW.date())["state"] == "pending"
    approved = store.decide(data_dir, first.approval_id, "approve", decided_by="owner-wsjw", now=NOW, today=NOW.date())
    doc = approved.to_dict(NOW.date())
    assert doc["state"] == "approved" and doc["decided_by"] == "owner-wsjw"
    assert doc["consumer"] == {"org": "市卫健委", "role": "researcher", "user": None}
    with pytest.raises(ShareError, match="is approved: cannot reject") as exc:
        store.decide(data_dir, first.approval_id, "reject", decided_by="owner-wsjw", now=NOW, today=NOW.date())
    assert exc.value.code == "conflict"
    revoked = store.decide(data_dir, first.approval_id, "revoke", decided_by="owner-wsjw", now=NOW, today=NOW.date())
    assert revoked.state(NOW.date()) == "revoked"
    rejected = store.decide(data_dir, second.approval_id, "reject", decided_by="admin1", now=NOW, today=NOW.date())
    assert rejected.state(NOW.date()) == "rejected"
    with pytest.raises(ShareError, match="is rejected: cannot revoke"):
        store.decide(data_dir, second.approval_id, "revoke", decided_by="admin1", now=NOW, today=NOW.date())
    assert [a.approval_id for a in store.list_approvals(data_dir, NOW.date(), state="revoked")] == ["AP-2026-0001"]


def test_self_approval_refused_and_state_unchanged(data_dir: Path) -> None:
    a = _request(data_dir)
    with pytest.raises(ShareError, match="self-approval refused") as exc:
        store.decide(data_dir, a.approval_id, "approve", decided_by="u2001", now=NOW, today=NOW.date())
    assert exc.value.code == "self_approval"
    assert store.get(data_dir, a.approval_id).state(NOW.date()) == "pending"


def test_expiry_by_the_given_day(data_dir: Path) -> None:
    a = _request(data_dir, until=date(2027, 5, 31))
    store.decide(data_dir, a.approval_id, "approve", decided_by="owner", now=NOW, today=NOW.date())
    assert not isinstance(store.grant(data_dir, a.approval_id, date(2027, 5, 31)), str)
    assert store.grant(data_dir, a.approval_id, date(2027, 6, 1)) == "expired 2027-05-31"
    assert store.grant(data_dir, a.approval_id, date(2026, 11, 30)) == "not valid before 2026-12-01"
    assert store.get(data_dir, a.approval_id).state(date(2027, 6, 1)) == "expired"
    with pytest.raises(ShareError, match="is expired: cannot revoke"):
        store.decide(data_dir, a.approval_id, "revoke", decided_by="owner", now=NOW, today=date(2027, 6, 1))
    assert store.grant(data_dir, "AP-2026-9999", NOW.date()) is None


@pytest.mark.parametrize("kwargs, message", [
    ({"fields": [" "]}, "list at least one field"),
    ({"valid_from": date(2027, 1, 2), "valid_until": date(2027, 1, 1)}, "before valid_from"),
    ({"valid_from": date(2020, 1, 1), "valid_until": date(2020, 2, 1)}, "already past"),
    ({"purpose": " "}, "purpose must not be empty"),
])
def test_request_validation(data_dir: Path, kwargs: dict, message: str) -> None:
    args = dict(dataset="pop_basic", fields=["出生日期"], consumer=Consumer("o", "researcher"), purpose="p",
                valid_from=date(2026, 12, 1), valid_until=date(2027, 1, 1), requested_by="u", now=NOW)
    with pytest.raises(ShareError, match=message):
        store.request(data_dir, **{**args, **kwargs})


@pytest.fixture()
def engine(settings: Settings, master_key: bytes) -> MaskingEngine:
    seed_catalog(settings)
    return MaskingEngine.from_settings(settings)


def test_engine_grants_stored_approval_until_revoked(engine: MaskingEngine, data_dir: Path) -> None:
    a = _request(data_dir)
    caller = Caller("u3", "researcher", "市卫健委", "出生缺陷研究", a.approval_id)
    pending = engine.mask("pop_basic", caller, [REC])
    assert pending.records[0]["出生日期"] != REC["出生日期"]
    assert "is pending" in pending.decisions["出生日期"]["reason"]
    store.decide(data_dir, a.approval_id, "approve", decided_by="owner", now=NOW, today=NOW.date())
    granted = engine.mask("pop_basic", caller, [REC])
    assert granted.records[0]["出生日期"] == "1949-12-31" and granted.clear == ("出生日期",)
    assert granted.records[0]["联系电话"] == "138****5678"  # only the approved field
    for other in (Caller("u3", "researcher", "市公安局", "出生缺陷研究", a.approval_id),
                  Caller("u3", "analyst", "市卫健委", "出生缺陷研究", a.approval_id),
                  Caller("u3", "researcher", "市卫健委", "其他", a.approval_id)):
        assert engine.mask("pop_basic", other, [REC]).records[0]["出生日期"] != "1949-12-31"
    store.decide(data_dir, a.approval_id, "revoke", decided_by="owner", now=NOW, today=NOW.date())
    after = engine.mask("pop_basic", caller, [REC])  # same engine: the cached plan must not survive
    assert after.records[0]["出生日期"] != "1949-12-31" and "is revoked" in after.decisions["出生日期"]["reason"]


def test_user_scoped_approval(engine: MaskingEngine, data_dir: Path) -> None:
    a = _request(data_dir, user="u3")
    store.decide(data_dir, a.approval_id, "approve", decided_by="owner", now=NOW, today=NOW.date())
    ok = engine.mask("pop_basic", Caller("u3", "researcher", "市卫健委", "出生缺陷研究", a.approval_id), [REC])
    no = engine.mask("pop_basic", Caller("u4", "researcher", "市卫健委", "出生缺陷研究", a.approval_id), [REC])
    assert ok.records[0]["出生日期"] == "1949-12-31" and no.records[0]["出生日期"] != "1949-12-31"


def test_release_ledger_for_engine_and_file(engine: MaskingEngine, data_dir: Path, outbox: Path,
                                            tmp_path: Path) -> None:
    res = engine.mask("pop_basic", Caller("u1", "analyst", "市统计局", "统计"), [REC, REC])
    assert res.release_id and re.fullmatch(r"rel-[0-9a-f]{16}", res.release_id)
    src = tmp_path / "pop_basic.csv"
    src.write_text("姓名,联系电话\n张三,13812345678\n李四,13912345678\n", encoding="utf-8")
    report = mask_file(engine, src, tmp_path / "out.csv", Caller("u2", "analyst", "市卫健委"), force=True)
    rels = releases.list_releases(data_dir)
    assert [r.release_id for r in rels] == [res.release_id, report["release_id"]]
    first = rels[0].to_dict()
    assert first["caller"] == {"user": "u1", "role": "analyst", "org": "市统计局", "purpose": "统计",
                               "approval_id": None}
    assert first["rows"] == 2 and first["fields"]["联系电话"] == "mask_middle" and first["watermark"] is None
    assert [r.release_id for r in releases.list_releases(data_dir, org="市卫健委")] == [report["release_id"]]
    events = [json.loads(x) for x in outbox.read_text(encoding="utf-8").splitlines()]
    named = {e["action"]: e["extra"].get("release_id") for e in events if e["action"] in ("mask", "export")}
    assert named == {"mask": res.release_id, "export": report["release_id"]}
    dump = "\n".join(sqlite3.connect(data_dir / "share.db").iterdump())
    assert "13812345678" not in dump and "张三" not in dump  # never the values


def test_cli_share_lifecycle_and_releases(data_dir: Path, master_key: bytes, settings: Settings) -> None:
    seed_catalog(settings)
    req = runner.invoke(app, ["share", "request", "-d", "pop_basic", "--fields", "出生日期", "--org", "市卫健委",
                              "--role", "researcher", "--purpose", "出生缺陷研究", "--from", "2026-12-01",
                              "--until", "2099-05-31", "--by", "u2001", "-f", "json"])
    assert req.exit_code == 0, req.output
    aid = json.loads(req.stdout)["approval_id"]
    self_ = runner.invoke(app, ["share", "approve", aid, "--by", "u2001"])
    assert self_.exit_code == 1 and "self-approval refused" in one_error(self_.stderr)
    assert runner.invoke(app, ["share", "approve", aid, "--by", "owner-wsjw"]).exit_code == 0
    missing = runner.invoke(app, ["share", "show", "AP-2026-9999"])
    assert missing.exit_code == 2 and one_error(missing.stderr) == "error: approval AP-2026-9999 not found"
    bad = runner.invoke(app, ["share", "request", "-d", "x", "--fields", "a", "--org", "o", "--role", "r",
                              "--purpose", "p", "--from", "2026-13-01", "--until", "2027-01-01"])
    assert bad.exit_code == 2 and "--from: '2026-13-01' is not a date" in one_error(bad.stderr)
    masked = runner.invoke(app, ["mask", "records", "-d", "pop_basic", "--role", "researcher", "--org", "市卫健委",
                                 "--purpose", "出生缺陷研究", "--approval", aid, "--decisions"],
                           json.dumps(REC, ensure_ascii=False) + "\n")
    assert masked.exit_code == 0, masked.output
    assert json.loads(masked.stdout)["出生日期"] == "1949-12-31"
    rid = json.loads(masked.stderr.strip().splitlines()[-1])["release_id"]
    listed = runner.invoke(app, ["share", "releases", "--org", "市卫健委", "-f", "json"])
    assert [r["release_id"] for r in json.loads(listed.stdout)] == [rid]
    assert json.loads(runner.invoke(app, ["share", "releases", "--since", "2999-01-01", "-f", "json"]).stdout) == []
    events = [json.loads(x) for x in (data_dir / "audit" / "outbox.jsonl").read_text(encoding="utf-8").splitlines()]
    share = [(e["action"], e["result"], e.get("extra", {}).get("operation")) for e in events
             if e["action"].startswith("share_")]
    assert share == [("share_request", "success", None), ("share_approve", "denied", "approve"),
                     ("share_approve", "success", "approve")]
    assert runner.invoke(app, ["share", "revoke", aid, "--by", "owner-wsjw"]).exit_code == 0
    again = runner.invoke(app, ["mask", "records", "-d", "pop_basic", "--role", "researcher", "--org", "市卫健委",
                                "--purpose", "出生缺陷研究", "--approval", aid], json.dumps(REC, ensure_ascii=False) + "\n")
    assert json.loads(again.stdout)["出生日期"] != "1949-12-31"


def test_refused_self_approval_event_fires_the_pack_rule(data_dir: Path, outbox: Path) -> None:
    from soc.detection import RulePack, hunt

    aid = _request(data_dir).approval_id
    res = runner.invoke(app, ["share", "approve", aid, "--by", "u2001"])
    assert res.exit_code == 1
    events = [json.loads(x) for x in outbox.read_text(encoding="utf-8").splitlines()]
    rule = Path(__file__).resolve().parents[2] / "policies" / "sigma" / "shuwei_share_self_approval.yml"
    hits = list(hunt(RulePack.load(rule), events, backend="memory"))
    assert len(hits) == 1
    other = runner.invoke(app, ["share", "approve", aid, "--by", "owner-wsjw"])
    assert other.exit_code == 0
    events = [json.loads(x) for x in outbox.read_text(encoding="utf-8").splitlines()]
    assert len(list(hunt(RulePack.load(rule), events, backend="memory"))) == 1  # the owner's is not flagged


def test_unreadable_store_is_one_line_error(data_dir: Path, master_key: bytes) -> None:
    (data_dir / "share.db").mkdir(parents=True)  # not a database file
    for args in (["share", "list"], ["share", "releases"], ["share", "show", "AP-2026-0001"]):
        res = runner.invoke(app, args)
        assert res.exit_code == 2 and "share.db" in one_error(res.stderr), args
    masked = runner.invoke(app, ["mask", "records", "-d", "adhoc", "--role", "analyst"],
                           json.dumps(REC, ensure_ascii=False) + "\n")
    assert masked.exit_code == 2 and masked.stdout == "" and "share.db" in one_error(masked.stderr)  # nothing out
