"""The console over real HTTP: every route × every role, sessions, CSRF, cookie flags, CSP,
escaping of hostile text, and the audit event a console action leaves (the API twin's)."""

from __future__ import annotations

import time
from contextlib import closing
from typing import Any

import httpx
import pytest

from tests.console.conftest import XSS, Console

ALL = {"exchange_platform", "data_owner", "owner_pop", "soc_analyst", "compliance_officer", "admin"}
READ_ALERTS = {"soc_analyst", "compliance_officer", "admin"}
READ_DATA = {"data_owner", "owner_pop", "soc_analyst", "compliance_officer", "admin"}
APPROVALS = {"exchange_platform", "data_owner", "owner_pop", "compliance_officer", "admin"}
MASK = {"exchange_platform", "admin"}
EVIDENCE = {"compliance_officer", "admin"}
# Written out independently of policies/roles.yaml (as tests/service/test_role_matrix.py does).
EXPECTED: dict[tuple[str, str], set[str]] = {
    ("GET", "/console/"): ALL,
    ("GET", "/console/overview/chain"): READ_ALERTS,
    ("GET", "/console/alerts"): READ_ALERTS,
    ("GET", "/console/alerts/summary"): READ_ALERTS,
    ("POST", "/console/alerts/bulk"): {"soc_analyst", "admin"},
    ("POST", "/console/alerts/filters"): READ_ALERTS,
    ("POST", "/console/alerts/filters/delete"): READ_ALERTS,
    ("GET", "/console/alerts/{alert_id}"): READ_ALERTS,
    ("GET", "/console/alerts/{alert_id}/activity"): READ_ALERTS,
    ("GET", "/console/datasets"): READ_DATA,
    ("GET", "/console/datasets/drift"): {"data_owner", "owner_pop", "compliance_officer", "admin"},
    # pop_basic: an owner key without that dataset is refused; the scoped owner passes
    ("GET", "/console/datasets/{dataset}"): READ_DATA - {"data_owner"},
    ("POST", "/console/datasets/{dataset}/review"): {"owner_pop", "admin"},
    ("POST", "/console/datasets/{dataset}/scan"): {"owner_pop", "admin"},
    ("GET", "/console/approvals"): APPROVALS,
    ("POST", "/console/approvals/{approval_id}/decision"): {"data_owner", "owner_pop", "admin"},
    ("POST", "/console/approvals/trace"): EVIDENCE,
    ("GET", "/console/masking"): MASK,
    ("POST", "/console/masking/try"): MASK,
    ("GET", "/console/evidence"): EVIDENCE,
    ("GET", "/console/evidence/check"): EVIDENCE,
    ("POST", "/console/evidence/export"): EVIDENCE,
    ("POST", "/console/evidence/verify"): EVIDENCE,
    ("GET", "/console/keys"): {"admin"},
    ("POST", "/console/keys/{key_id}/rotate"): {"admin"},
}
PUBLIC = {("GET", "/console"), ("GET", "/console/signin"), ("POST", "/console/signin"),
          ("POST", "/console/signout")}
# Harmless bodies: each is refused by the page's own checks (400/404), never carried out.
BODIES: dict[str, dict[str, str]] = {
    "/console/alerts/bulk": {"op": "note"},
    "/console/alerts/filters": {"name": ""},
    "/console/alerts/filters/delete": {"name": "nothing-saved-by-this-name"},
    "/console/datasets/{dataset}/review": {"column": "no-such-column", "comment": "x", "decision": "accept"},
    "/console/datasets/{dataset}/scan": {},
    "/console/approvals/{approval_id}/decision": {"operation": "approve"},
    "/console/masking/try": {"record": "{not json"},
    "/console/keys/{key_id}/rotate": {"confirm": ""},
    "/console/evidence/export": {"from": "2026-12-01", "to": "2026-01-01"},
    "/console/evidence/verify": {},
    "/console/approvals/trace": {},
}


def _url(path: str, alert_id: str, dataset: str = "pop_basic") -> str:
    return (path.replace("{alert_id}", alert_id).replace("{dataset}", dataset)
            .replace("{approval_id}", "AP-2026-9999").replace("{key_id}", "no-such-key"))


def test_walk_covers_every_console_route() -> None:
    from soc.service.console import ROUTERS

    served = {(m, r.path) for router in ROUTERS for r in router.routes for m in getattr(r, "methods", ()) or ()
              if m != "HEAD"}
    assert served == set(EXPECTED) | PUBLIC


@pytest.mark.parametrize("who", sorted(ALL))
def test_every_route_with_every_role(console: Console, who: str) -> None:
    client, csrf = console.signed_in(who)
    with closing(client):
        for (method, path), allowed in sorted(EXPECTED.items()):
            url = _url(path, console.hostile_alert)
            if method == "GET":
                r = client.get(url)
            else:
                r = client.post(url, data={"csrf_token": csrf, **BODIES.get(path, {})})
            assert r.status_code not in (401, 500), (who, method, url, r.status_code)
            assert "built-in method" not in r.text and "bound method" not in r.text, (who, url)  # a template slip
            assert not r.headers.get("location", "").startswith("/console/signin"), (who, method, url)
            if who in allowed:
                assert r.status_code != 403, (who, method, url, r.text[:500])
            else:
                assert r.status_code == 403, (who, method, url, r.status_code)
                assert "无权访问 Forbidden" in r.text


def test_without_a_session_every_route_asks_to_sign_in(console: Console) -> None:
    with console.anonymous() as c:
        for method, path in sorted(EXPECTED):
            r = c.request(method, _url(path, console.hostile_alert), data={} if method == "POST" else None)
            assert r.status_code == 303, (method, path, r.status_code)
            assert r.headers["location"].startswith("/console/signin?next=")
        r = c.get("/console/alerts/summary", headers={"HX-Request": "true"})
        assert r.status_code == 401 and r.headers["HX-Redirect"].startswith("/console/signin")


def _token(c: httpx.Client) -> str:
    return c.get("/console/signin").text.split('name="csrf_token" value="')[1].split('"')[0]


def test_sign_in_refuses_bad_keys_and_forms_then_sign_out_ends_the_session(console: Console) -> None:
    with console.anonymous() as c:
        r = c.post("/console/signin", data={"csrf_token": _token(c), "api_key": "swk_000000000000_" + "x" * 43})
        assert r.status_code == 401 and "Sign-in failed" in r.text
        _token(c)
        assert c.post("/console/signin", data={"csrf_token": "forged", "api_key": console.keys["admin"]}
                      ).status_code == 403
        # no open redirect: next must be a console path
        r = c.post("/console/signin", data={"csrf_token": _token(c), "api_key": console.keys["admin"],
                                            "next": "https://evil.example/"})
        assert r.status_code == 303 and r.headers["location"] == "/console/"
        cookie = c.cookies["shuwei_console"]
        csrf = c.get("/console/").text.split('name="csrf_token" value="')[1].split('"')[0]
        assert c.post("/console/signout", data={"csrf_token": "wrong"}).status_code == 403
        assert c.get("/console/keys").status_code == 200
        assert c.post("/console/signout", data={"csrf_token": csrf}).status_code == 303
    # the old cookie names a deleted row: signed out for good; a tampered cookie is refused too
    for value in (cookie, cookie[:-2] + ("xx" if not cookie.endswith("xx") else "yy")):
        with httpx.Client(base_url=console.url, cookies={"shuwei_console": value}, follow_redirects=False) as c:
            assert c.get("/console/").status_code == 303, value


def test_session_cookie_flags(console: Console) -> None:
    with console.anonymous() as c:
        form = c.get("/console/signin")
        pre = form.headers["set-cookie"].lower()
        assert "httponly" in pre and "samesite=strict" in pre and "path=/console" in pre
        token = form.text.split('name="csrf_token" value="')[1].split('"')[0]
        r = c.post("/console/signin", data={"csrf_token": token, "api_key": console.keys["soc_analyst"]})
        cookie = next(v for k, v in r.headers.multi_items() if k == "set-cookie" and v.startswith("shuwei_console="))
        flags = [f.strip().lower() for f in cookie.split(";")]
        assert "httponly" in flags and "samesite=strict" in flags and "path=/console" in flags
        assert any(f.startswith("max-age=") and int(f.split("=")[1]) > 0 for f in flags)
        assert "secure" not in flags  # plain HTTP: a Secure cookie would never come back
        value = cookie.split(";")[0].split("=", 1)[1]
        assert "." in value  # itsdangerous signature after the session id
    # behind the TLS proxy (--proxy-headers, X-Forwarded-Proto: https) both cookies are Secure
    with httpx.Client(base_url=console.url, follow_redirects=False, headers={"X-Forwarded-Proto": "https"}) as c:
        form = c.get("/console/signin")
        assert "secure" in [f.strip().lower() for f in form.headers["set-cookie"].split(";")]
        token = form.text.split('name="csrf_token" value="')[1].split('"')[0]
        r = c.post("/console/signin", data={"csrf_token": token, "api_key": console.keys["soc_analyst"]},
                   headers={"Cookie": f"shuwei_console_signin={form.cookies['shuwei_console_signin']}"})
        cookie = next(v for k, v in r.headers.multi_items() if k == "set-cookie" and v.startswith("shuwei_console="))
        assert "secure" in [f.strip().lower() for f in cookie.split(";")]


def test_state_changing_requests_need_the_csrf_token(console: Console) -> None:
    client, csrf = console.signed_in("admin")
    with closing(client):
        for (method, path) in EXPECTED:
            if method != "POST":
                continue
            url = _url(path, console.hostile_alert)
            for data, headers in (({}, {}), ({"csrf_token": "forged"}, {}), ({}, {"X-CSRF-Token": "forged"})):
                r = client.post(url, data={**BODIES.get(path, {}), **data}, headers=headers)
                assert r.status_code == 403 and "CSRF" in r.text, (url, data, headers, r.status_code)
        r = client.post("/console/alerts/bulk", data=BODIES["/console/alerts/bulk"], headers={"X-CSRF-Token": csrf})
        assert r.status_code == 400  # the header form (htmx) passes; the empty selection is then refused


def test_csp_and_security_headers_on_every_console_response(console: Console) -> None:
    client, _ = console.signed_in("admin")
    with closing(client):
        for url in ("/console/", "/console/alerts", "/console/static/htmx.min.js", "/console/signin",
                    "/console/alerts/no-such-alert"):
            r = client.get(url)
            csp = r.headers["content-security-policy"]
            assert "script-src 'self'" in csp and "style-src 'self'" in csp and "default-src 'none'" in csp
            assert "unsafe-inline" not in csp and "unsafe-eval" not in csp and "frame-ancestors 'none'" in csp
            assert r.headers["x-content-type-options"] == "nosniff" and r.headers["x-frame-options"] == "DENY"
            if r.headers["content-type"].startswith("text/html"):
                html = r.text
                assert "<script>" not in html and " style=" not in html and "<style" not in html
                assert " on" + "click=" not in html
        assert "content-security-policy" not in client.get("/healthz").headers  # the API is not the console


def test_a_console_error_is_a_page_and_an_api_error_stays_json(console: Console) -> None:
    client, _ = console.signed_in("soc_analyst")
    with closing(client):
        for method, url, status in (("GET", "/console/no-such-page", 404), ("DELETE", "/console/alerts", 405)):
            r = client.request(method, url)
            assert r.status_code == status and r.headers["content-type"].startswith("text/html"), url
            assert f"({status})" in r.text and "/console/alerts" in r.text  # the page, with the role's nav
            assert r.headers["x-request-id"] in r.text  # what to quote to the operator
        # htmx partials, static files and the API keep the machine-readable error.
        r = client.get("/console/no-such-page", headers={"HX-Request": "true"})
        assert r.status_code == 404 and r.headers["content-type"].startswith("application/json")
        assert client.get("/console/static/nope.js").headers["content-type"].startswith("application/json")
        r = client.get("/v1/no-such-endpoint")
        assert r.status_code == 404 and r.json()["error"]["code"] == "not_found"


def test_hostile_text_is_escaped_in_rule_titles_column_names_and_notes(console: Console) -> None:
    client, csrf = console.signed_in("admin")
    escaped = "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;"
    with closing(client):
        aid = console.hostile_alert
        r = client.post("/console/alerts/bulk", data={"csrf_token": csrf, "op": "note", "ids": aid, "note": XSS,
                                                      "back": f"/console/alerts/{aid}"})
        assert r.status_code == 303, r.text
        pages = [client.get("/console/alerts"), client.get(f"/console/alerts/{aid}"),
                 client.get(f"/console/alerts/{aid}/activity"), client.get("/console/datasets/hostile"),
                 client.get("/console/alerts", params={"q": XSS})]
        for page in pages:
            assert page.status_code == 200
            assert XSS not in page.text and "<script>" not in page.text, page.url
        assert escaped in pages[1].text and escaped in pages[3].text and escaped in pages[4].text


def _audit_events(console: Console, wanted: Any, timeout: float = 30) -> list[dict[str, Any]]:
    """Audit events (source shuwei) in the real event store, waiting for the service's batches."""
    from classifier.settings import load_settings
    from soc.config import soc_config
    from soc.ingest import make_stores

    settings = load_settings(console.server.config, environ={"SHUWEI_DATA_DIR": str(console.server.data_dir)})
    deadline = time.monotonic() + timeout
    while True:
        store, alerts = make_stores(settings, soc_config(settings))
        try:
            found = [e for e in store.iter_events() if e.get("source") == "shuwei" and wanted(e)]
        finally:
            for obj in (store, alerts):
                if hasattr(obj, "close"):
                    obj.close()
        if found or time.monotonic() > deadline:
            return found
        time.sleep(0.5)


def test_a_console_triage_is_the_api_twins_audit_event(console: Console) -> None:
    with console.api("soc_analyst") as api:
        aid = next(a["id"] for a in api.get("/v1/alerts").json()["items"] if a["id"] != console.hostile_alert)
    client, csrf = console.signed_in("soc_analyst")
    with closing(client):
        r = client.post("/console/alerts/bulk", data={"csrf_token": csrf, "op": "note", "ids": aid,
                                                      "note": "checked in the console"})
        assert r.status_code == 303 and "changed=1" in r.headers["location"]
    events = _audit_events(console, lambda e: (e.get("extra") or {}).get("alert_id") == aid)
    assert events, "no audit event for the console's note"
    ev = events[-1]
    assert ev["action"] == "api_call" and ev["user"] == "soc_analyst-key" and ev["role"] == "soc_analyst"
    assert ev["extra"]["endpoint"] == "PATCH /v1/alerts" and ev["extra"]["change"] == {"notes": "checked in the console"}


def test_oidc_token_sign_in_ends_with_the_token(console: Console) -> None:
    """A session from an OIDC token is the token's principal and never outlives its ``exp``."""
    import sqlite3

    from tests.service.test_jwt import token

    with console.anonymous() as c:
        r = c.post("/console/signin", data={"csrf_token": _token(c), "api_key": token(sub="wang.li")})
        assert r.status_code == 303, r.text
        page = c.get("/console/alerts")
        assert page.status_code == 200 and "wang.li" in page.text
        assert c.get("/console/keys").status_code == 403  # soc_analyst per the token's role claim
    with sqlite3.connect(console.server.data_dir / "service.db") as db:
        created, expires = db.execute("SELECT created_at, expires_at FROM console_sessions WHERE subject = ?",
                                      ("wang.li",)).fetchone()
    from datetime import datetime

    assert (datetime.fromisoformat(expires) - datetime.fromisoformat(created)).total_seconds() <= 301


def test_evidence_check_export_list_and_verify(console: Console) -> None:
    import io
    import zipfile

    client, csrf = console.signed_in("compliance_officer")
    with closing(client):
        page = client.get("/console/evidence/check")
        assert page.status_code == 200 and "测评项" in page.text and "判定 Judgement" in page.text
        r = client.post("/console/evidence/export", data={"csrf_token": csrf})
        assert r.status_code == 200 and r.headers["content-type"] == "application/zip", r.text[:300]
        digest = r.headers["X-Evidence-SHA256"]
        pack = r.content
        ok = client.post("/console/evidence/verify", data={"csrf_token": csrf},
                         files={"pack": ("evidence.zip", pack, "application/zip")})
        assert ok.status_code == 200 and "通过 OK" in ok.text and "FAILED" not in ok.text, ok.text
        tampered = io.BytesIO()
        with zipfile.ZipFile(io.BytesIO(pack)) as src, zipfile.ZipFile(tampered, "w") as dst:
            for info in src.infolist():
                data = src.read(info.filename)
                dst.writestr(info, data + b"<!-- edited -->" if info.filename == "report.html" else data)
            dst.writestr("extra.txt", XSS)
            dst.writestr(XSS, b"x")  # a hostile entry name shows up in the problems, as text
        bad = client.post("/console/evidence/verify", data={"csrf_token": csrf},
                          files={"pack": ("tampered.zip", tampered.getvalue(), "application/zip")})
        assert bad.status_code == 200 and "FAILED" in bad.text
        assert "changed: report.html" in bad.text and "added: extra.txt" in bad.text
        assert "shuwei-verify-" not in bad.text  # the temporary path is never shown
        assert XSS not in bad.text and "added: &lt;script&gt;" in bad.text
    events = _audit_events(console, lambda e: (e.get("extra") or {}).get("sha256") == digest)
    assert events and events[-1]["action"] == "export" and events[-1]["user"] == "compliance_officer-key"
    client, _ = console.signed_in("admin")
    with closing(client):
        assert digest in client.get("/console/evidence").text


def test_a_leak_uploaded_on_the_approvals_page_is_traced_alerted_and_escaped(console: Console) -> None:
    import csv
    import io
    import random

    rng = random.Random(14)
    records = [{"受理日期": f"2025-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}",
                "缴费金额": f"{rng.uniform(1, 3000):.2f}", "事项": rng.choice(["社保", "公积金", "户籍"])}
               for _ in range(400)]
    caller = {"user": "u-leaker", "role": "analyst", "org": XSS, "purpose": "统计"}
    with console.api("exchange_platform") as api:
        r = api.post("/v1/mask", json={"dataset": "fees_console", "caller": caller, "records": records})
        assert r.status_code == 200, r.text
        release = r.headers["x-release-id"]
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=["缴费金额", "受理日期"], extrasaction="ignore", lineterminator="\n")
    writer.writeheader()
    writer.writerows(rng.sample(r.json()["records"], 50))
    client, csrf = console.signed_in("compliance_officer")
    with closing(client):
        assert 'action="/console/approvals/trace"' in client.get("/console/approvals").text
        page = client.post("/console/approvals/trace", data={"csrf_token": csrf, "dataset": "fees_console"},
                           files={"leak": ("leak.csv", out.getvalue().encode(), "text/csv")})
        assert page.status_code == 200, page.text
        assert "已溯源 Traced" in page.text and release in page.text and "u-leaker" in page.text
        assert XSS not in page.text and "&lt;script&gt;" in page.text  # the recipient's org, escaped
        ragged = client.post("/console/approvals/trace", data={"csrf_token": csrf},
                             files={"leak": ("bad.csv", b"a,b\n1\n", "text/csv")})
        assert ragged.status_code == 422 and "bad.csv: body:2:" in ragged.text
    events = _audit_events(console, lambda e: (e.get("extra") or {}).get("operation") == "trace"
                           and (e.get("extra") or {}).get("release_id") == release)
    assert events and events[-1]["user"] == "compliance_officer-key" and events[-1]["extra"]["verdict"] == "traced"
    with console.api("compliance_officer") as api:
        deadline = time.monotonic() + 30
        while True:
            items = api.get("/v1/alerts", params={"limit": 500}).json()["items"]
            if any(a["rule_title"] == "Leak traced to a release" and a["group"].get("release_id") == release
                   for a in items) or time.monotonic() > deadline:
                break
            time.sleep(0.3)
    assert any(a["group"].get("release_id") == release for a in items if a["rule_title"] == "Leak traced to a release")
