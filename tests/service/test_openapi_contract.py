"""What the OpenAPI document promises, checked on the cases Schemathesis first found wrong."""

from __future__ import annotations

import pytest

from tests.service.conftest import Live
from tests.service.test_basics import assert_error

JSON_ROUTES = [("POST", "/v1/mask"), ("POST", "/v1/tokenize"), ("POST", "/v1/detokenize"),
               ("POST", "/v1/encrypt"), ("POST", "/v1/decrypt"), ("POST", "/v1/datasets/scans"),
               ("POST", "/v1/datasets/pop_basic/review"), ("PATCH", "/v1/alerts/a1")]


@pytest.mark.parametrize("ctype", ["text/plain", "application/x-www-form-urlencoded", "application/xml"])
@pytest.mark.usefixtures("default_keys")
def test_json_routes_answer_415_to_another_media_type(live: Live, ctype: str) -> None:
    with live.client("admin_granted") as c:
        for method, path in JSON_ROUTES:
            err = assert_error(c.request(method, path, content=b'{"dataset": "pop_basic"}',
                                         headers={"Content-Type": ctype}), 415)
            assert err["field"] == "Content-Type" and ctype in err["message"], path
        # JSON with a charset is JSON; a malformed JSON body stays a 400.
        ok = c.post("/v1/tokenize", content=b'{"dataset": "pop_basic", "field": "f", "values": ["13812345678"]}',
                    headers={"Content-Type": "application/json; charset=utf-8"})
        assert ok.status_code == 200, ok.text
        assert_error(c.post("/v1/tokenize", content=b"{", headers={"Content-Type": "application/json"}), 400)


def test_every_documented_status_and_allow_header(live: Live) -> None:
    spec = live.client().get("/openapi.json").json()
    assert "401" in spec["paths"]["/v1/whoami"]["get"]["responses"]
    for method, path in JSON_ROUTES:
        template = path.replace("pop_basic", "{dataset}").replace("a1", "{alert_id}")
        assert "415" in spec["paths"][template][method.lower()]["responses"], path
    with live.client() as c:
        assert_error(c.get("/v1/whoami"), 401)
    with live.client("admin") as c:
        r = c.options("/v1/alerts/a1")
        assert r.status_code == 405 and set(r.headers["allow"].split(", ")) == {"GET", "PATCH"}
        r = c.options("/v1/datasets/scans")  # the concrete path, not /v1/datasets/{dataset}
        assert r.status_code == 405 and r.headers["allow"] == "POST"
        assert_error(c.get("/v1/alerts", params={"until": "0.5"}), 400)
        assert_error(c.get("/v1/alerts", params={"since": "2026-13-01T00:00:00Z"}), 400)
        for valid in ("2026-03-01T09:15:02+08:00", "0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59-23:59"):
            assert c.get("/v1/alerts", params={"since": valid}).status_code == 200, valid
        assert_error(c.post("/v1/audit/events", json={}), 400)  # the contract's body is an array
        assert_error(c.get("/v1/datasets", params={"offset": -1}), 400)
        err = assert_error(c.patch("/v1/alerts/a1", json={"notes": None}), 400)
        assert err["field"] == "notes"
        assert assert_error(c.patch("/v1/alerts/a1", json={"assignee": ""}), 400)["field"] == "assignee"
        assert_error(c.post("/v1/encrypt", json={"dataset": "d", "field": "f", "values": ["1"],
                                                 "deterministic": 0}), 400)
