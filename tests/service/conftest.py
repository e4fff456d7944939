"""One real uvicorn server for the whole session, with its own data dir and a key per role."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest
import yaml

from soc.service.auth.keys import KeyStore
from tests.service.live import LiveServer

ROLES = ("exchange_platform", "data_owner", "soc_analyst", "compliance_officer", "admin")


@dataclass
class Live:
    server: LiveServer
    root: Path
    keys: dict[str, str] = field(default_factory=dict)

    def client(self, key: str | None = None, **kw: object) -> httpx.Client:
        headers = {"Authorization": f"Bearer {self.keys.get(key, key)}"} if key else {}
        return httpx.Client(base_url=self.server.url, headers=headers, timeout=60, **kw)  # type: ignore[arg-type]


def write_config(root: Path) -> Path:
    sources = root / "sources"
    sources.mkdir(parents=True, exist_ok=True)
    config = root / "shuwei.yaml"
    config.write_text(yaml.safe_dump({
        "service": {
            "readable_roots": [str(sources)],
            "sql_allowlist": [f"sqlite:///{sources / 'registry.db'}"],
            "mask_max_records": 20_000,
            "max_body_bytes": 16 * 1024 * 1024,
        },
    }, allow_unicode=True), encoding="utf-8")
    return config


@pytest.fixture(scope="session")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Live]:
    root = tmp_path_factory.mktemp("service")
    config = write_config(root)
    data_dir = root / "var"
    store = KeyStore(data_dir)
    live = Live(LiveServer(data_dir, config), root)
    for role in ROLES:
        live.keys[role] = store.create(name=f"{role}-key", role=role)[0]
    live.keys["owner_pop"] = store.create(name="owner-pop", role="data_owner", datasets=["pop_basic"])[0]
    live.keys["platform_granted"] = store.create(name="gw-granted", role="exchange_platform",
                                                 grants=["decrypt", "detokenize"])[0]
    live.keys["admin_granted"] = store.create(name="admin-granted", role="admin",
                                              grants=["decrypt", "detokenize"])[0]
    live.keys["limited"] = store.create(name="slow", role="admin", rate=1, burst=2)[0]
    live.server.start()
    yield live
    live.server.stop()
