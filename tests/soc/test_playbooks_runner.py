"""Playbooks against a real local HTTP server and a real local SMTP server (aiosmtpd)."""

from __future__ import annotations

import json
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from soc.ingest import IngestPipeline
from soc.playbooks import PlaybookError, load_playbooks
from tests.soc.pipeline_helpers import RULE_BULK, RULE_CANARY, event, use_rules


class Hooks:
    """A real HTTP server on 127.0.0.1 answering each path with a scripted list of statuses."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, dict]] = []
        self.script: dict[str, list[int]] = {}
        hooks = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                path = self.path.split("?")[0]
                hooks.calls.append((path, body))
                codes = hooks.script.get(path, [200])
                code = codes.pop(0) if len(codes) > 1 else codes[0]
                self.send_response(code)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture()
def hooks():
    h = Hooks()
    yield h
    h.close()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture()
def smtp_sink():
    from aiosmtpd.controller import Controller
    from aiosmtpd.handlers import Message

    class Inbox(Message):
        def __init__(self) -> None:
            super().__init__()
            self.messages = []

        def handle_message(self, message) -> None:
            self.messages.append(message)

    inbox = Inbox()
    port = _free_port()
    ctl = Controller(inbox, hostname="127.0.0.1", port=port)
    ctl.start()
    yield inbox, port
    ctl.stop()


def _pipeline(tmp_path, monkeypatch, playbook: str, **soc: str) -> IngestPipeline:
    pb_dir = tmp_path / "playbooks"
    pb_dir.mkdir()
    (pb_dir / "respond.yaml").write_text(playbook, encoding="utf-8")
    s = use_rules(tmp_path, monkeypatch, RULE_BULK, RULE_CANARY, playbooks=pb_dir,
                  playbook_backoff_seconds="0.01", **soc)
    return IngestPipeline.from_settings(s)


def _alert_of_one_export(pipe: IngestPipeline) -> dict:
    """Ingest one bulk export (the alert the playbooks match), wait for its runs, close: the alert."""
    try:
        (alert,) = pipe.ingest([event(1, action="export", rows=5000)], origin="api").alerts
        pipe.playbooks.wait()
        found = pipe.alerts.get(alert["id"])
    finally:
        pipe.close()
    assert found is not None
    return found


def test_webhook_retried_with_backoff_then_ok_and_run_recorded(settings, tmp_path, monkeypatch, hooks):
    hooks.script["/notify"] = [500, 503, 200]
    pipe = _pipeline(tmp_path, monkeypatch, f"""
id: notify-exfil
match: {{tags: ["attack.exfil*"]}}
steps:
  - {{type: webhook, url: "{hooks.url}/notify?token=s3cret"}}
  - {{type: raise_severity}}
  - {{type: assign, to: duty-officer}}
""")
    a = _alert_of_one_export(pipe)
    assert len(hooks.calls) == 3
    assert hooks.calls[-1][1]["id"] == a["id"] and hooks.calls[-1][1]["rule_id"] == a["rule_id"]
    (run,) = a["playbook_runs"]
    assert run["playbook"] == "notify-exfil" and run["status"] == "ok" and run["finished"]
    assert [(s["type"], s["status"], s["attempts"]) for s in run["steps"]] == [
        ("webhook", "ok", 3), ("raise_severity", "ok", 1), ("assign", "ok", 1)]
    assert a["severity"] == "high" and a["assignee"] == "duty-officer" and a["status"] == "in_progress"
    assert [h["by"] for h in a["history"][1:]] == ["playbook", "playbook"]


def test_failed_step_stays_visible_alert_kept_later_steps_run(settings, tmp_path, monkeypatch, hooks):
    hooks.script["/down"] = [500]
    pipe = _pipeline(tmp_path, monkeypatch, f"""
id: suspend-on-canary
match: {{rules: ["Canary*"], min_severity: high}}
steps:
  - {{type: webhook, url: "{hooks.url}/down?token=s3cret"}}
  - {{type: suspend_user}}
  - {{type: revoke_token}}
  - {{type: log}}
""", playbook_retries="2", hooks__suspend_user=f"{hooks.url}/suspend")
    try:
        res = pipe.ingest([event(1, dataset="canary_vip", user="mole")], origin="api")
        pipe.playbooks.wait()
        (a,) = pipe.alerts.list()
    finally:
        pipe.close()
    assert res.accepted == 1 and a["id"] == res.alerts[0]["id"]
    (run,) = a["playbook_runs"]
    steps = {s["type"]: s for s in run["steps"]}
    assert run["status"] == "failed"
    assert steps["webhook"]["status"] == "failed" and steps["webhook"]["attempts"] == 3
    assert "HTTP 500" in steps["webhook"]["error"] and "s3cret" not in json.dumps(a)
    assert steps["suspend_user"]["status"] == "ok"
    assert steps["revoke_token"]["status"] == "failed" and "soc.hooks.revoke_token" in steps["revoke_token"]["error"]
    assert steps["log"]["status"] == "ok"
    suspend = [body for path, body in hooks.calls if path == "/suspend"]
    assert suspend == [{"action": "suspend_user", "users": ["mole"], "alert_id": a["id"],
                        "rule_id": a["rule_id"], "severity": "high"}]


def test_unreachable_webhook_fails_after_retries(settings, tmp_path, monkeypatch):
    pipe = _pipeline(tmp_path, monkeypatch, f"""
id: dead
match: {{}}
steps: [{{type: webhook, url: "http://127.0.0.1:{_free_port()}/x"}}]
""", playbook_retries="1")
    try:
        pipe.ingest([event(1, action="export", rows=5000)], origin="api")
        pipe.playbooks.wait()
        (a,) = pipe.alerts.list()
    finally:
        pipe.close()
    (step,) = a["playbook_runs"][0]["steps"]
    assert step["status"] == "failed" and step["attempts"] == 2 and "ConnectError" in step["error"]


def test_non_matching_playbooks_do_not_run(settings, tmp_path, monkeypatch, hooks):
    pipe = _pipeline(tmp_path, monkeypatch, f"""
id: only-critical
match: {{min_severity: critical}}
steps: [{{type: webhook, url: "{hooks.url}/x"}}]
""")
    try:
        pipe.ingest([event(1, action="export", rows=5000)], origin="api")
        pipe.playbooks.wait()
        (a,) = pipe.alerts.list()
    finally:
        pipe.close()
    assert a["playbook_runs"] == [] and hooks.calls == []


def test_mail_step_through_real_smtp(settings, tmp_path, monkeypatch, smtp_sink):
    inbox, port = smtp_sink
    pipe = _pipeline(tmp_path, monkeypatch, """
id: mail-soc
match: {rules: ["11111111-*"]}
steps: [{type: mail, to: [soc@example.gov.cn]}]
""", smtp__host="127.0.0.1", smtp__port=str(port))
    a = _alert_of_one_export(pipe)
    assert a["playbook_runs"][0]["status"] == "ok"
    (msg,) = inbox.messages
    assert msg["To"] == "soc@example.gov.cn"
    assert msg["Subject"] == "[Shuwei] medium alert: Bulk export (test)"
    assert a["id"] in msg.get_payload()


def test_bad_playbook_file_names_file_and_field(tmp_path):
    (tmp_path / "bad.yaml").write_text("id: x\nmatch: {}\nsteps: [{type: page_everyone}]\n")
    with pytest.raises(PlaybookError, match=r"bad.yaml: steps.0"):
        load_playbooks(tmp_path)
    (tmp_path / "bad.yaml").write_text("id: x\nmatch: {severity: high}\nsteps: [{type: log}]\n")
    with pytest.raises(PlaybookError, match=r"bad.yaml: match.severity"):
        load_playbooks(tmp_path)


def test_shipped_playbooks_load():
    from classifier.settings import REPO_ROOT

    pbs = load_playbooks(REPO_ROOT / "playbooks")
    assert pbs and all(pb.steps for pb in pbs)


def test_run_that_cannot_write_ends_failed_with_reason_not_running(settings, tmp_path, monkeypatch):
    """The store refusing one of a run's writes (SQLite ``database is locked``, as seen under load)
    must leave the run ``failed`` with the reason on the alert, never ``running``."""
    import sqlite3
    import threading as th

    pipe = _pipeline(tmp_path, monkeypatch, """
id: escalate
match: {}
steps: [{type: raise_severity}, {type: assign, to: duty-officer}]
""")
    store, real_put, calls = pipe.alerts.store, pipe.alerts.store.put, []

    def put(alert, **kw):
        if th.current_thread().name.startswith("playbook"):
            calls.append(1)
            if len(calls) == 2:  # the run is recorded as running; its first step's write fails
                raise sqlite3.OperationalError("database is locked")
        return real_put(alert, **kw)

    monkeypatch.setattr(store, "put", put)
    a = _alert_of_one_export(pipe)
    (run,) = a["playbook_runs"]
    assert run["status"] == "failed" and run["finished"]
    assert run["error"] == "run stopped: database is locked"
    assert all(s["status"] != "running" for s in run["steps"])
