"""Session rows on a real SQLite file, with an injected clock: expiry, sign-out, forged cookies,
an OIDC token's expiry as the session's end, saved filters per user."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path

from soc.service.auth.principal import Principal
from soc.service.console.sessions import SessionStore

T0 = datetime(2026, 3, 1, 9, 0, tzinfo=timezone.utc)


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> datetime:
        return self.now


def test_sessions_expire_end_at_sign_out_and_refuse_forged_cookies(tmp_path: Path) -> None:
    clock = Clock()
    store = SessionStore(tmp_path, minutes=30, clock=clock)
    who = Principal("li", "data_owner", frozenset({"pop_basic"}), frozenset(), "abc123")
    cookie, session = store.create(who)
    assert session.expires_at == T0 + timedelta(minutes=30)
    found = store.get(cookie)
    assert found is not None and found.principal == who and found.csrf == session.csrf
    # the signature's first character (its last one can differ in padding bits only: same bytes)
    value, _, signature = cookie.rpartition(".")
    forged = f"{value}.{'B' if signature[0] == 'A' else 'A'}{signature[1:]}"
    assert store.get(forged) is None  # signature fails
    assert store.get(session.session_id) is None  # the bare id without signature is not a cookie
    clock.now = T0 + timedelta(minutes=30)
    assert store.get(cookie) is None  # expired, and the row is gone
    cookie2, s2 = store.create(who)
    store.delete(s2.session_id)
    assert store.get(cookie2) is None
    # another store on the same data dir (another worker) shares the signing secret and rows
    cookie3, _ = store.create(who)
    assert SessionStore(tmp_path, minutes=30, clock=clock).get(cookie3) is not None


def test_a_token_session_ends_with_the_token(tmp_path: Path) -> None:
    clock = Clock()
    store = SessionStore(tmp_path, minutes=480, clock=clock)
    who = Principal("wang", "soc_analyst", None, frozenset())
    cookie, session = store.create(who, not_after=T0 + timedelta(minutes=5))
    assert session.expires_at == T0 + timedelta(minutes=5)
    clock.now = T0 + timedelta(minutes=5, seconds=1)
    assert store.get(cookie) is None


def test_saved_filters_are_per_user(tmp_path: Path) -> None:
    store = SessionStore(tmp_path, minutes=30, clock=Clock())
    store.save_filter("li", "夜间导出", "status=new&q=export")
    store.save_filter("li", "夜间导出", "status=new&q=export&severity=high")  # same name: replaced
    store.save_filter("wang", "mine", "user=wang")
    assert store.filters("li") == [("夜间导出", "status=new&q=export&severity=high")]
    store.delete_filter("li", "夜间导出")
    assert store.filters("li") == [] and store.filters("wang") == [("mine", "user=wang")]
