"""Every role (and the key variants that matter: explicit grants, dataset scope) × every endpoint.

The expected matrix is written out here independently of policies/roles.yaml, so a change to the
YAML that widens or narrows access shows up as a failing test to review.
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.service.conftest import Live

# Who may pass authorization on each endpoint (any status but 401/403 counts as "allowed").
ALL = {"exchange_platform", "data_owner", "owner_pop", "soc_analyst", "compliance_officer", "admin",
       "platform_granted", "admin_granted"}
PLATFORM = {"exchange_platform", "platform_granted"}
ADMINS = {"admin", "admin_granted"}
EXPECTED: dict[tuple[str, str], set[str]] = {
    ("GET", "/v1/whoami"): ALL,
    ("POST", "/v1/mask"): PLATFORM | ADMINS,
    ("POST", "/v1/tokenize"): PLATFORM | ADMINS,
    ("POST", "/v1/encrypt"): PLATFORM | ADMINS,
    ("POST", "/v1/detokenize"): {"platform_granted", "admin_granted"},  # explicit grant only
    ("POST", "/v1/decrypt"): {"platform_granted", "admin_granted"},
    ("POST", "/v1/audit/events"): PLATFORM | ADMINS | {"soc_analyst"},
    ("GET", "/v1/alerts"): ADMINS | {"soc_analyst", "compliance_officer"},
    ("GET", "/v1/alerts/{alert_id}"): ADMINS | {"soc_analyst", "compliance_officer"},
    ("PATCH", "/v1/alerts/{alert_id}"): ADMINS | {"soc_analyst"},
    ("GET", "/v1/datasets"): ADMINS | {"data_owner", "owner_pop", "soc_analyst", "compliance_officer"},
    # pop_basic: an owner key without that dataset is refused; the scoped owner passes
    ("GET", "/v1/datasets/{dataset}"): ADMINS | {"owner_pop", "soc_analyst", "compliance_officer"},
    ("GET", "/v1/datasets/drift"): ADMINS | {"data_owner", "owner_pop", "compliance_officer"},
    ("POST", "/v1/datasets/scans"): ADMINS | {"owner_pop"},
    ("POST", "/v1/datasets/{dataset}/review"): ADMINS | {"owner_pop"},
    ("POST", "/v1/approvals"): PLATFORM | ADMINS,
    ("GET", "/v1/approvals"): PLATFORM | ADMINS | {"data_owner", "owner_pop", "compliance_officer"},
    # an unknown id: 404 for whoever holds the permission
    ("GET", "/v1/approvals/{approval_id}"): PLATFORM | ADMINS | {"data_owner", "owner_pop", "compliance_officer"},
    ("POST", "/v1/approvals/{approval_id}/decision"): ADMINS | {"data_owner", "owner_pop"},
    ("POST", "/v1/evidence/export"): ADMINS | {"compliance_officer"},
    ("POST", "/v1/trace"): ADMINS | {"compliance_officer"},
}

RECORD = {"姓名": "张三", "联系电话": "13812345678"}


def request_for(method: str, path: str) -> dict[str, Any]:
    url = (path.replace("{dataset}", "pop_basic").replace("{alert_id}", "alert-0000")
           .replace("{approval_id}", "AP-2026-0000"))
    bodies: dict[str, Any] = {
        "/v1/mask": {"dataset": "pop_basic", "caller": {"user": "u1", "role": "analyst"}, "records": [RECORD]},
        "/v1/tokenize": {"dataset": "pop_basic", "field": "联系电话", "values": ["13812345678"]},
        "/v1/detokenize": {"dataset": "pop_basic", "field": "联系电话", "values": ["13812345678"]},
        "/v1/encrypt": {"dataset": "pop_basic", "field": "姓名", "values": ["张三"]},
        "/v1/decrypt": {"dataset": "pop_basic", "field": "姓名", "values": ["sw1:bad"]},
        "/v1/audit/events": [],
        "/v1/alerts/alert-0000": {"notes": "looked at it"},
        "/v1/datasets/scans": {"source": "pop_basic.csv"},
        "/v1/datasets/pop_basic/review": {"column": "姓名", "comment": "ok", "accept": True},
        "/v1/approvals": {"dataset": "pop_basic", "fields": ["出生日期"], "purpose": "研究",
                          "consumer": {"org": "市卫健委", "role": "researcher"},
                          "valid_from": "2026-01-01", "valid_until": "2099-12-31"},
        "/v1/approvals/AP-2026-0000/decision": {"operation": "approve"},
        "/v1/evidence/export": {"system": "test platform"},
        "/v1/trace": {"records": [RECORD]},
    }
    req: dict[str, Any] = {"method": method, "url": url}
    if method in ("POST", "PATCH"):
        req["json"] = bodies[url]
    return req


def test_matrix_covers_every_endpoint(live: Live) -> None:
    with live.client() as c:
        spec = c.get("/openapi.json").json()
    served = {(m.upper(), p) for p, ops in spec["paths"].items() for m in ops if p.startswith("/v1/")}
    assert served == set(EXPECTED)


@pytest.mark.parametrize("endpoint", sorted(EXPECTED), ids=lambda e: f"{e[0]} {e[1]}")
def test_role_matrix(live: Live, endpoint: tuple[str, str], demo_sources: None) -> None:
    method, path = endpoint
    req = request_for(method, path)
    with httpx.Client(base_url=live.server.url, timeout=120) as c:
        assert c.request(**req).status_code == 401
        for who in sorted(ALL):
            resp = c.request(**req, headers={"Authorization": f"Bearer {live.keys[who]}"})
            allowed = resp.status_code not in (401, 403)
            assert resp.status_code < 500, f"{who} {method} {path}: {resp.text}"
            assert allowed == (who in EXPECTED[endpoint]), f"{who} {method} {path}: {resp.status_code} {resp.text}"
