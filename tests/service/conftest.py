"""One real uvicorn server for the whole session, with its own data dir and a key per role."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import jwt
import pytest
import yaml
from cryptography.hazmat.primitives.asymmetric import rsa

from crypto.keyring import Keyring
from crypto.masterkey import LocalMasterKey
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


def write_config(root: Path, jwks_file: Path | None = None) -> Path:
    sources = root / "sources"
    sources.mkdir(parents=True, exist_ok=True)
    config = root / "shuwei.yaml"
    jwt_opts = {"jwks_file": str(jwks_file), "issuer": "https://idp.example.gov.cn", "audience": "shuwei"}
    config.write_text(yaml.safe_dump({
        "service": {
            **({"jwt": jwt_opts} if jwks_file else {}),
            "readable_roots": [str(sources)],
            "sql_allowlist": [f"sqlite:///{sources / 'registry.db'}"],
            "mask_max_records": 20_000,
            "max_body_bytes": 16 * 1024 * 1024,
        },
    }, allow_unicode=True), encoding="utf-8")
    return config


JWT_KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)


def write_jwks(root: Path) -> Path:
    """The identity provider's public key set, as an operator would download it once."""
    jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(JWT_KEY.public_key()))
    path = root / "jwks.json"
    path.write_text(json.dumps({"keys": [{**jwk, "kid": "idp-1", "use": "sig", "alg": "RS256"}]}), encoding="utf-8")
    return path


@pytest.fixture(scope="session")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Live]:
    root = tmp_path_factory.mktemp("service")
    config = write_config(root, write_jwks(root))
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


POP_CSV = """姓名,公民身份号码,联系电话,地址
张三,11010519491231002X,13812345678,北京市东城区景山前街4号
李四,110105194912310021,13912345678,上海市黄浦区南京东路100号
王五,440305199001011234,13512345678,广东省深圳市南山区科技园路1号
"""


def admin_keyring(live: Live) -> Keyring:
    """What `shuwei crypto keys ...` opens on the server's data dir: keys are an admin's job."""
    return Keyring(live.server.data_dir / "keyring.json", LocalMasterKey(bytes.fromhex(live.server.master_key)),
                   actor="test-admin")


@pytest.fixture(scope="session")
def default_keys(live: Live) -> None:
    """The keys an admin creates before tokenize/encrypt can answer (API calls never create them)."""
    ring = admin_keyring(live)
    for key_id in ("fpe", "default"):
        ring.ensure(key_id)


@pytest.fixture(scope="session")
def demo_sources(live: Live) -> None:
    """A small CSV below the readable root, scanned once so pop_basic is in the catalog."""
    path = live.root / "sources" / "pop_basic.csv"
    if not path.exists():
        path.write_text(POP_CSV, encoding="utf-8")
        with live.client("admin") as c:
            resp = c.post("/v1/datasets/scans", json={"source": "pop_basic.csv"})
            assert resp.status_code == 200, resp.text
