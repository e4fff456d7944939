"""Value modifiers and condition forms, each against hand-checked expectations, on both the
streaming evaluator and the SQLite hunt (matching_lines asserts they agree)."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest

from soc.detection import RulePack, hunt
from tests.soc.detection_helpers import matching_lines, write_rule


def sel(**items: object) -> dict:
    return {"sel": {k.replace("__", "|"): v for k, v in items.items()}, "condition": "sel"}


def test_plain_value_is_case_insensitive_and_exact(tmp_path: Path) -> None:
    events = [{"user": "Alice"}, {"user": "alice"}, {"user": "alice2"}, {"user": ["bob", "ALICE"]},
              {"other": "alice"}, {"user": 5}]
    assert matching_lines(tmp_path, sel(user="alice"), events) == [1, 2, 4]


def test_wildcards_and_escapes(tmp_path: Path) -> None:
    events = [{"f": "report-2026.csv"}, {"f": "report_x.csv"}, {"f": "REPORT.CSV"},
              {"f": "a*b"}, {"f": "axb"}, {"f": "a?b"}]
    assert matching_lines(tmp_path, sel(f="report?2026.*"), events) == [1]
    assert matching_lines(tmp_path, sel(f="report*.csv"), events) == [1, 2, 3]
    assert matching_lines(tmp_path, sel(f="a\\*b"), events) == [4]
    assert matching_lines(tmp_path, sel(f="a\\?b"), events) == [6]
    assert matching_lines(tmp_path, sel(f="a?b"), events) == [4, 5, 6]


def test_contains_startswith_endswith_all(tmp_path: Path) -> None:
    events = [{"ua": "curl/8.5 (linux)"}, {"ua": "Mozilla curl"}, {"ua": "python-requests"}]
    assert matching_lines(tmp_path, sel(ua__contains="CURL"), events) == [1, 2]
    assert matching_lines(tmp_path, sel(ua__startswith="curl/"), events) == [1]
    assert matching_lines(tmp_path, sel(ua__endswith="curl"), events) == [2]
    assert matching_lines(tmp_path, sel(ua__contains__all=["curl", "linux"]), events) == [1]
    assert matching_lines(tmp_path, sel(ua__contains=["requests", "mozilla"]), events) == [2, 3]


def test_cased(tmp_path: Path) -> None:
    events = [{"d": "Secret"}, {"d": "secret"}, {"d": "xSecretx"}]
    assert matching_lines(tmp_path, sel(d__cased="Secret"), events) == [1]
    assert matching_lines(tmp_path, sel(d__cased__contains="Secret"), events) == [1, 3]


def test_regex_and_flags(tmp_path: Path) -> None:
    events = [{"q": "UNION SELECT x"}, {"q": "union select"}, {"q": "a\nunion"}, {"q": "x\ny"}]
    assert matching_lines(tmp_path, sel(q__re="union\\s+select"), events) == [2]
    assert matching_lines(tmp_path, sel(q__re__i="union\\s+select"), events) == [1, 2]
    assert matching_lines(tmp_path, sel(q__re__m="^union$"), events) == [3]
    assert matching_lines(tmp_path, sel(q__re="^union$"), events) == []
    assert matching_lines(tmp_path, sel(q__re__s="x.y"), events) == [4]
    assert matching_lines(tmp_path, sel(q__re="x.y"), events) == []


def test_cidr_v4_v6(tmp_path: Path) -> None:
    events = [{"ip": "10.1.2.3"}, {"ip": "11.0.0.1"}, {"ip": "fd00::1"}, {"ip": "FD00:0:0::2"},
              {"ip": "2001:db8::1"}, {"ip": "not an ip"}, {"ip": 167837955}]
    assert matching_lines(tmp_path, sel(ip__cidr=["10.0.0.0/8", "fd00::/8"]), events) == [1, 3, 4]
    assert matching_lines(tmp_path, {"sel": {"ip|cidr": "10.0.0.0/8"}, "f": {"ip|exists": True},
                                     "condition": "f and not sel"}, events) == [2, 3, 4, 5, 6, 7]


def test_numeric_comparisons(tmp_path: Path) -> None:
    events = [{"rows": 9}, {"rows": 10}, {"rows": 11.5}, {"rows": "50"}, {"rows": True}, {}]
    assert matching_lines(tmp_path, sel(rows__gt=10), events) == [3]
    assert matching_lines(tmp_path, sel(rows__gte=10), events) == [2, 3]
    assert matching_lines(tmp_path, sel(rows__lt=10), events) == [1]
    assert matching_lines(tmp_path, sel(rows__lte=10), events) == [1, 2]
    assert matching_lines(tmp_path, sel(rows=10), events) == [2]


def test_neq(tmp_path: Path) -> None:
    events = [{"role": "admin"}, {"role": "analyst"}, {}]
    # pySigma models neq as the negated item: an absent field is "not equal" too
    assert matching_lines(tmp_path, sel(role__neq="ADMIN"), events) == [2, 3]


def test_exists_and_null(tmp_path: Path) -> None:
    events = [{"a": "x"}, {"a": None}, {}, {"a": ""}, {"a": []}]
    assert matching_lines(tmp_path, sel(a__exists=True), events) == [1, 4, 5]
    assert matching_lines(tmp_path, sel(a__exists=False), events) == [2, 3]
    assert matching_lines(tmp_path, sel(a=None), events) == [2, 3]
    assert matching_lines(tmp_path, sel(a=""), events) == [4]


def test_base64_and_base64offset(tmp_path: Path) -> None:
    plain = "drop table"
    events = [{"p": base64.b64encode(plain.encode()).decode()},
              {"p": "eHg" + base64.b64encode(b"x" + plain.encode()).decode()[2:]},
              {"p": base64.b64encode(b"zz" + plain.encode()).decode()},
              {"p": plain}]
    assert matching_lines(tmp_path, sel(p__base64=plain), events) == [1]
    assert matching_lines(tmp_path, sel(p__base64offset__contains=plain), events) == [1, 2, 3]


@pytest.mark.parametrize(("modifier", "expected"),
                         [("wide", [1]), ("utf16le", [1]), ("utf16", [2]), ("utf16be", [3])])
def test_utf16_family(tmp_path: Path, modifier: str, expected: list[int]) -> None:
    """Memory matches; SQLite cannot hold U+0000 in JSON text, so that backend reports the
    rule instead of silently matching nothing."""
    wide = "abc".encode("utf-16le").decode("utf-8")
    events = [{"s": wide}, {"s": "\ufeff" + wide}, {"s": "abc".encode("utf-16be").decode("utf-8")},
              {"s": "abc"}]
    pack = RulePack.load(write_rule(tmp_path, sel(**{f"s__{modifier}": "abc"})))
    assert [m.line for m in hunt(pack, events, backend="memory")] == expected
    sql = hunt(pack, events, backend="sqlite")
    assert list(sql) == [] and "NUL" in sql.errors[0].reason


def test_windash(tmp_path: Path) -> None:
    events = [{"c": "net -user"}, {"c": "net /user"}, {"c": "net \u2013user"}, {"c": "net user"}]
    assert matching_lines(tmp_path, sel(c__windash__contains=" -user"), events) == [1, 2, 3]


def test_expand_placeholders_from_config(tmp_path: Path) -> None:
    events = [{"dest": "a@hz.gov.cn"}, {"dest": "b@gmail.com"}, {"dest": "c@zj.gov.cn"}]
    got = matching_lines(tmp_path, sel(dest__expand="*@%gov_domains%"), events,
                         placeholders={"gov_domains": ["hz.gov.cn", "zj.gov.cn"]})
    assert got == [1, 3]


def test_fieldref(tmp_path: Path) -> None:
    events = [{"user": "u7", "target_user": "U7"}, {"user": "u7", "target_user": "u8"},
              {"user": "u7"}, {"user": "u7", "target_user": ["x", "u7"]}]
    assert matching_lines(tmp_path, sel(target_user__fieldref="user"), events) == [1, 4]
    events2 = [{"a": "prefix-u7", "b": "prefix"}, {"a": "x", "b": "prefix"}]
    assert matching_lines(tmp_path, sel(a__fieldref__startswith="b"), events2) == [1]


def test_keyword_search(tmp_path: Path) -> None:
    events = [{"msg": "the Canary was touched"}, {"extra": {"deep": ["x", "CANARY-1"]}},
              {"canary": "key names are not searched"}, {"n": 42017}]
    assert matching_lines(tmp_path, {"keywords": ["canary"], "condition": "keywords"}, events) == [1, 2]
    assert matching_lines(tmp_path, {"keywords": [4201], "condition": "keywords"}, events) == [4]
    assert matching_lines(tmp_path, {"keywords": ["can*ouch"], "condition": "keywords"}, events) == [1]


def test_nested_fields_and_lists(tmp_path: Path) -> None:
    events = [{"extra": {"op": {"name": "detokenize"}}}, {"extra": {"op": "detokenize"}},
              {"extra.op.name": "detokenize"}, {"fields": ["name", "id_card"]}]
    assert matching_lines(tmp_path, sel(**{"extra.op.name": "detokenize"}), events) == [1]
    assert matching_lines(tmp_path, sel(fields="ID_CARD"), events) == [4]


def test_one_of_all_of_them_and_not(tmp_path: Path) -> None:
    det = {"sel_a": {"a": 1}, "sel_b": {"b": 2}, "filter": {"c": 3}}
    events = [{"a": 1}, {"a": 1, "b": 2}, {"a": 1, "b": 2, "c": 3}, {"c": 3}]
    assert matching_lines(tmp_path, {**det, "condition": "1 of sel_*"}, events) == [1, 2, 3]
    assert matching_lines(tmp_path, {**det, "condition": "all of sel_*"}, events) == [2, 3]
    assert matching_lines(tmp_path, {**det, "condition": "all of sel_* and not filter"}, events) == [2]
    assert matching_lines(tmp_path, {**det, "condition": "1 of them"}, events) == [1, 2, 3, 4]
    assert matching_lines(tmp_path, {**det, "condition": "all of them"}, events) == [3]
    assert matching_lines(tmp_path, {**det, "condition": "not (sel_a or filter)"}, events) == []


def test_list_of_maps_is_or(tmp_path: Path) -> None:
    det = {"sel": [{"a": 1, "b": 2}, {"c": 3}], "condition": "sel"}
    assert matching_lines(tmp_path, det, [{"a": 1}, {"a": 1, "b": 2}, {"c": 3}]) == [2, 3]


def test_bool_values(tmp_path: Path) -> None:
    events = [{"off_hours": True}, {"off_hours": False}, {"off_hours": 1}, {"off_hours": "true"}]
    assert matching_lines(tmp_path, sel(off_hours=True), events) == [1]
    assert matching_lines(tmp_path, sel(off_hours=False), events) == [2]


@pytest.mark.parametrize("events", [[{"a": "x"}], []])
def test_no_events_no_matches(tmp_path: Path, events: list) -> None:
    assert matching_lines(tmp_path, sel(a="y"), events) == []


def test_expand_in_regex_and_wildcard_values(tmp_path: Path) -> None:
    events = [{"ua": "curl/8"}, {"ua": "wget/1"}, {"ua": "Mozilla"}]
    got = matching_lines(tmp_path, sel(ua__re__expand="^%tools%/"), events,
                         placeholders={"tools": ["curl", "wget"]})
    assert got == [1, 2]
    got = matching_lines(tmp_path, sel(ua__expand="%agents%"), events,
                         placeholders={"agents": ["moz*"]})
    assert got == [3]


def test_backslashes_and_sql_metacharacters_are_literal(tmp_path: Path) -> None:
    events = [{"p": "C:\\Windows\\x"}, {"p": "C:Windowsx"}, {"p": "50%_off"}, {"p": "50ab_off"},
              {"p": "it's"}]
    assert matching_lines(tmp_path, sel(p="C:\\Windows\\x"), events) == [1]
    assert matching_lines(tmp_path, sel(p__contains="\\windows\\"), events) == [1]
    assert matching_lines(tmp_path, sel(p="50%_off"), events) == [3]
    assert matching_lines(tmp_path, sel(p__startswith="50%"), events) == [3]
    assert matching_lines(tmp_path, sel(p="it's"), events) == [5]
