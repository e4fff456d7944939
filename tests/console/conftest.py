"""One real ``shuwei serve`` for the console tests: keys per role, a scanned dataset, alerts from
ingested events, a pending share approval — and hostile text (``<script>``) in a rule title, a
column name and, through the pages, in notes."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

from classifier.settings import load_settings
from soc.detection.match import Match
from soc.service.auth.keys import KeyStore
from tests.service.conftest import POP_CSV, ROLES, write_config, write_jwks
from tests.service.live import LiveServer

XSS = '<script>alert("x")</script>'
HOSTILE_CSV = f"序号,{XSS}\n1,a\n2,b\n"
TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')


@dataclass
class Console:
    server: LiveServer
    root: Path
    keys: dict[str, str] = field(default_factory=dict)
    hostile_alert: str = ""

    @property
    def url(self) -> str:
        return self.server.url

    def anonymous(self) -> httpx.Client:
        return httpx.Client(base_url=self.server.url, timeout=60, follow_redirects=False)

    def signed_in(self, who: str) -> tuple[httpx.Client, str]:
        """A client holding a session of ``who``'s key, and that session's CSRF token."""
        c = self.anonymous()
        form = c.get("/console/signin")
        token = TOKEN.search(form.text)
        assert token, form.text
        r = c.post("/console/signin", data={"csrf_token": token.group(1), "api_key": self.keys[who],
                                            "next": "/console/"})
        assert r.status_code == 303 and "shuwei_console" in c.cookies, r.text
        page = c.get("/console/")
        csrf = TOKEN.search(page.text)
        assert csrf, page.text
        return c, csrf.group(1)

    def api(self, who: str) -> httpx.Client:
        return httpx.Client(base_url=self.server.url, timeout=60,
                            headers={"Authorization": f"Bearer {self.keys[who]}"})


def event(**kw: object) -> dict[str, object]:
    base: dict[str, object] = {"ts": "2026-03-02T10:15:02+08:00", "event_id": f"c-{uuid.uuid4().hex}",
                               "source": "exchange-gateway", "user": "u7001", "action": "query",
                               "result": "success", "dataset": "pop_basic", "rows": 3}
    base.update(kw)
    return base


def _hostile_alert(data_dir: Path, config: Path) -> str:
    """An alert whose rule title is a script tag, written to the real alert store before start."""
    from soc.ingest import IngestPipeline

    settings = load_settings(config, environ={"SHUWEI_DATA_DIR": str(data_dir)})
    pipeline = IngestPipeline.from_settings(settings)
    try:
        match = Match(rule_id="custom-xss", rule_title=XSS, level="high", tags=["attack.t1"], event_id=None,
                      line=None, ts="2026-03-01T08:00:00+08:00", group={"user": "u-xss"})
        alert, _ = pipeline.alerts.record(match, {})
        return str(alert["id"])
    finally:
        pipeline.close()


def start_console(root: Path) -> Console:
    config = write_config(root, write_jwks(root))
    data_dir = root / "var"
    store = KeyStore(data_dir)
    # behind a TLS proxy as operators run it: X-Forwarded-Proto from loopback is trusted
    console = Console(LiveServer(data_dir, config, args=["--proxy-headers", "--forwarded-allow-ips", "127.0.0.1"]),
                      root)
    for role in ROLES:
        console.keys[role] = store.create(name=f"{role}-key", role=role)[0]
    console.keys["owner_pop"] = store.create(name="owner-pop", role="data_owner", datasets=["pop_basic"])[0]
    console.hostile_alert = _hostile_alert(data_dir, config)
    (root / "sources" / "pop_basic.csv").write_text(POP_CSV, encoding="utf-8")
    (root / "sources" / "hostile.csv").write_text(HOSTILE_CSV, encoding="utf-8")
    console.server.start()
    with console.api("admin") as c:
        for source in ("pop_basic.csv", "hostile.csv"):
            assert c.post("/v1/datasets/scans", json={"source": source}).status_code == 200
    with console.api("exchange_platform") as c:
        events = [event(user=f"u{i}", action="export", rows=50, dest="someone@example.com") for i in range(3)]
        r = c.post("/v1/audit/events", json=events)
        assert r.status_code == 200 and r.json()["alerts"], r.text
        r = c.post("/v1/approvals", json={"dataset": "pop_basic", "fields": ["联系电话"], "purpose": "研究",
                                          "consumer": {"org": "市卫健委", "role": "researcher"},
                                          "valid_from": "2026-01-01", "valid_until": "2099-12-31"})
        assert r.status_code == 201, r.text
    return console


@pytest.fixture(scope="session")
def console(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Console]:
    live = start_console(tmp_path_factory.mktemp("console"))
    yield live
    live.server.stop()
