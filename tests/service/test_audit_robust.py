"""POST /v1/audit/events on the live server with extreme events (issue 15 item 5): never a 500,
the valid events of a batch stored, each bad one rejected with its index and field, and no
rejection echoing the submitted value. Array and NDJSON bodies, property-tested."""

from __future__ import annotations

import json
import uuid

from hypothesis import HealthCheck, given, settings as hsettings, strategies as st

from tests.service.conftest import Live
from tests.soc.extreme_events import Case, cases


def _valid() -> bytes:
    return json.dumps({"ts": "2026-03-02T10:15:02+08:00", "event_id": f"v-{uuid.uuid4().hex}",
                       "source": "exchange-gateway", "user": "u7001", "action": "query",
                       "result": "success"}).encode()


def _check(batch: list[Case], body: dict) -> None:
    expected = [(i, c.field or None) for i, c in enumerate(batch) if c.field is not None]
    assert [(r["index"], r["field"]) for r in body["rejected"]] == expected
    assert body["accepted"] == sum(c.field is None for c in batch)
    for r, c in zip(body["rejected"], [c for c in batch if c.field is not None]):
        assert len(c.secret) < 4 or c.secret not in r["reason"], r


def test_valid_event_beside_each_crashing_input_is_stored(live: Live) -> None:
    bad = [b'{"extra": ' + b"[" * 10_000 + b"]" * 10_000 + b"}",
           _valid()[:-1] + b', "rows": ' + b"9" * 5000 + b"}",
           _valid()[:-1] + b', "rows": 9223372036854775808}',
           _valid()[:-1] + b', "bytes": 9223372036854775808}',
           _valid().replace(b"2026-03-02T10:15:02+08:00", b"9999-12-31T23:59:59-23:59"),
           _valid().replace(b"2026-03-02T10:15:02+08:00", b"0001-01-01T00:00:00+14:00"),
           _valid().replace(b"2026-03-02T10:15:02+08:00", b"6228480402564890018")]
    with live.client("exchange_platform") as c:
        for item in bad:
            r = c.post("/v1/audit/events", content=b"[" + _valid() + b"," + item + b"]",
                       headers={"content-type": "application/json"})
            assert r.status_code == 200, r.text
            body = r.json()
            assert body["accepted"] == 1, body
            assert [x["index"] for x in body["rejected"]] == [1]
            assert "6228480402564890018" not in r.text


@hsettings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(cases(), min_size=1, max_size=5), st.booleans())
def test_property_api_batches(live: Live, batch: list[Case], ndjson: bool) -> None:
    if ndjson:
        content, ctype = b"\n".join(c.line for c in batch), "application/x-ndjson"
    else:
        content, ctype = b"[" + b",".join(c.line for c in batch) + b"]", "application/json"
    with live.client("exchange_platform") as c:
        r = c.post("/v1/audit/events", content=content, headers={"content-type": ctype})
    assert r.status_code == 200, r.text
    _check(batch, r.json())
