"""OIDC bearer tokens verified against the configured JWKS file; the role comes from a claim."""

from __future__ import annotations

import time
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric import rsa

from tests.service.conftest import JWT_KEY, Live
from tests.service.test_basics import assert_error


def token(key: Any = JWT_KEY, kid: str = "idp-1", **claims: Any) -> str:
    now = int(time.time())
    body = {"iss": "https://idp.example.gov.cn", "aud": "shuwei", "sub": "li.analyst", "iat": now,
            "exp": now + 300, "shuwei_role": "soc_analyst", **claims}
    return jwt.encode({k: v for k, v in body.items() if v is not None}, key, algorithm="RS256",
                      headers={"kid": kid})


def test_valid_token_maps_role_and_datasets(live: Live) -> None:
    with live.client(token()) as c:
        me = c.get("/v1/whoami").json()
        assert me == {"subject": "li.analyst", "role": "soc_analyst", "datasets": None, "grants": [], "key_id": None}
        assert c.get("/v1/alerts").status_code == 200
        assert_error(c.post("/v1/mask", json={"dataset": "d", "caller": {"user": "u", "role": "r"}, "records": []}), 403)
    owner = token(sub="wang.owner", shuwei_role="data_owner", shuwei_datasets=["pop_basic"])
    with live.client(owner) as c:
        assert c.get("/v1/whoami").json()["datasets"] == ["pop_basic"]


def test_bad_tokens_are_401(live: Live) -> None:
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    for bad in (token(exp=int(time.time()) - 10), token(key=other), token(aud="someone-else"),
                token(iss="https://evil.example"), token(shuwei_role=None), token(kid="unknown")):
        with live.client(bad) as c:
            assert_error(c.get("/v1/whoami"), 401)
    forged = jwt.encode({"sub": "x", "shuwei_role": "admin", "exp": int(time.time()) + 60}, "s" * 32,
                        algorithm="HS256")
    with live.client(forged) as c:
        assert_error(c.get("/v1/whoami"), 401)
