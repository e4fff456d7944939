"""Runs playbook steps for new alerts, off the ingest path, recording every run on its alert.

The alert is stored before any playbook starts, so a failing webhook or mail server can never lose
it. A failed step is retried with exponential backoff; after the last attempt it stays on the
alert as ``failed`` with the error, and the remaining steps still run (a dead mail relay must not
stop the user from being suspended).
"""

from __future__ import annotations

import logging
import smtplib
import threading
import time
import uuid
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import datetime, timezone
from email.message import EmailMessage
from typing import Any
from urllib.parse import urlsplit

import httpx

from soc.alerts.manager import AlertError, AlertManager
from soc.config import SocConfig
from soc.playbooks.model import (AssignStep, HookStep, LogStep, MailStep, Playbook, RaiseSeverityStep,
                                 WebhookStep)

log = logging.getLogger("shuwei.playbook")
ACTOR = "playbook"
_FINAL_ATTEMPTS = 5  # tries to record a run's failure (backoff from soc.playbook_backoff_seconds)


class StepFailed(RuntimeError):
    """One attempt of a step failed; the message is safe to show (no URL secrets)."""


class StepNotConfigured(StepFailed):
    """The step cannot work until someone configures it: retrying would only delay the others."""


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds")


def _where(url: str) -> str:
    """Scheme, host and path only: query strings and credentials often carry tokens."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.hostname or ''}{f':{parts.port}' if parts.port else ''}{parts.path}"


def _public(alert: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in alert.items() if k not in ("history", "playbook_runs")}


class PlaybookRunner:
    """Matches alerts to playbooks and runs them on a small thread pool."""

    def __init__(self, playbooks: list[Playbook], manager: AlertManager, cfg: SocConfig,
                 *, workers: int = 2) -> None:
        self.playbooks = playbooks
        self.manager = manager
        self.cfg = cfg
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="playbook")
        self._pending: set[Future[dict[str, Any]]] = set()
        self._lock = threading.Lock()
        self._http = httpx.Client(timeout=5.0)

    def submit(self, alert: dict[str, Any]) -> int:
        """Start every matching playbook for ``alert``; returns how many were started."""
        started = 0
        for pb in self.playbooks:
            if pb.matches(alert):
                fut = self._pool.submit(self.run, pb, alert["id"])
                with self._lock:
                    self._pending.add(fut)
                fut.add_done_callback(self._done)
                started += 1
        return started

    def _done(self, fut: Future[dict[str, Any]]) -> None:
        with self._lock:
            self._pending.discard(fut)
        if (exc := fut.exception()) is not None:
            log.error("playbook run crashed: %s", exc)

    def wait(self) -> None:
        """Block until every submitted run has finished (CLI exit, tests, shutdown)."""
        while True:
            with self._lock:
                pending = list(self._pending)
            if not pending:
                return
            for fut in pending:
                fut.exception()

    def close(self) -> None:
        self.wait()
        self._pool.shutdown(wait=True)
        self._http.close()

    # -- one run --------------------------------------------------------------------------------
    def run(self, pb: Playbook, alert_id: str) -> dict[str, Any]:
        """Run ``pb`` on the alert. Whatever goes wrong outside a step (the store refusing a write,
        a bug), the run ends ``failed`` with the reason on the alert: never left ``running``."""
        run: dict[str, Any] = {"id": f"run-{uuid.uuid4().hex[:12]}", "playbook": pb.id,
                               "status": "running", "started": _now(), "finished": None, "steps": []}
        try:
            return self._run(pb, alert_id, run)
        except Exception as exc:
            run["status"], run["finished"] = "failed", _now()
            run["error"] = f"run stopped: {_safe_error(exc)}"
            for record in run["steps"]:
                if record["status"] in ("running", "retrying"):
                    record["status"] = "failed"
            self._record_final(alert_id, run)
            raise

    def _record_final(self, alert_id: str, run: dict[str, Any]) -> None:
        """The failed state of a run, retried while the store is briefly unavailable."""
        for attempt in range(_FINAL_ATTEMPTS):
            try:
                self.manager.record_run(alert_id, run)
                return
            except Exception as exc:  # the store itself: nothing left to record the error on
                if attempt == _FINAL_ATTEMPTS - 1:
                    log.error("playbook run %s on %s: its failure could not be recorded: %s",
                              run["id"], alert_id, _safe_error(exc))
                    return
                time.sleep(self.cfg.playbook_backoff_seconds * 2 ** attempt)

    def _run(self, pb: Playbook, alert_id: str, run: dict[str, Any]) -> dict[str, Any]:
        self.manager.record_run(alert_id, run)
        for index, step in enumerate(pb.steps):
            record = {"step": step.name or f"{index + 1}:{step.type}", "type": step.type,
                      "status": "running", "attempts": 0, "error": None}
            run["steps"].append(record)
            attempts = 1 + self.cfg.playbook_retries
            for attempt in range(1, attempts + 1):
                record["attempts"] = attempt
                try:
                    self._execute(step, alert_id)
                except (StepFailed, AlertError, httpx.HTTPError, OSError, smtplib.SMTPException) as exc:
                    record["error"] = _safe_error(exc)
                    if attempt == attempts or isinstance(exc, StepNotConfigured):
                        record["status"] = "failed"
                        break
                    record["status"] = "retrying"
                    self.manager.record_run(alert_id, run)
                    time.sleep(self.cfg.playbook_backoff_seconds * 2 ** (attempt - 1))
                else:
                    record["status"], record["error"] = "ok", None
                    break
            self.manager.record_run(alert_id, run)
        run["status"] = "failed" if any(s["status"] == "failed" for s in run["steps"]) else "ok"
        run["finished"] = _now()
        self.manager.record_run(alert_id, run)
        return run

    def _execute(self, step: Any, alert_id: str) -> None:
        alert = self.manager.get(alert_id)
        if isinstance(step, WebhookStep):
            self._post(step.url, _public(alert), step.headers)
        elif isinstance(step, HookStep):
            url = getattr(self.cfg.hooks, step.type)
            if not url:
                raise StepNotConfigured(f"no exchange-platform hook configured under soc.hooks.{step.type}")
            self._post(url, {"action": step.type, "users": alert["users"], "alert_id": alert["id"],
                             "rule_id": alert["rule_id"], "severity": alert["severity"]}, {})
        elif isinstance(step, MailStep):
            self._mail(step, alert)
        elif isinstance(step, LogStep):
            log.warning(step.message.format_map(_Fmt(alert)))
        elif isinstance(step, RaiseSeverityStep):
            self.manager.raise_severity(alert_id, ACTOR, step.to)
        elif isinstance(step, AssignStep):
            if alert["assignee"] != step.to and alert["status"] not in ("resolved", "false_positive"):
                self.manager.assign(alert_id, step.to, ACTOR)

    def _post(self, url: str, payload: dict[str, Any], headers: dict[str, str]) -> None:
        resp = self._http.post(url, json=payload, headers=headers)
        if resp.status_code >= 300:
            raise StepFailed(f"HTTP {resp.status_code} from {_where(url)}")

    def _mail(self, step: MailStep, alert: dict[str, Any]) -> None:
        smtp = self.cfg.smtp
        msg = EmailMessage()
        msg["From"] = smtp.sender
        msg["To"] = ", ".join(step.to)
        msg["Subject"] = step.subject.format_map(_Fmt(alert))
        lines = [f"{k}: {alert.get(k)}" for k in ("id", "rule_id", "rule_title", "severity", "status",
                                                   "first_seen", "last_seen", "count", "group",
                                                   "users", "datasets")]
        msg.set_content("\n".join(lines) + "\n")
        with smtplib.SMTP(smtp.host, smtp.port, timeout=smtp.timeout) as client:
            client.send_message(msg)


class _Fmt(dict[str, Any]):
    """str.format_map over an alert that leaves unknown {names} as they are."""

    def __missing__(self, key: str) -> str:
        return "{" + key + "}"


def _safe_error(exc: BaseException) -> str:
    if isinstance(exc, httpx.HTTPError):
        req = getattr(exc, "_request", None)
        where = _where(str(req.url)) if req is not None else "webhook"
        return f"{type(exc).__name__} calling {where}"
    return str(exc) or type(exc).__name__
