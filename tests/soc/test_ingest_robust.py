"""Ingest never crashes on extreme input and never loses the valid events next to it (issue 15,
items 5 and 6): per-line verdicts on the pipeline and on `shuwei soc ingest`, property-tested."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings as hsettings, strategies as st
from typer.testing import CliRunner

from soc.cli.main import app
from soc.ingest import IngestPipeline
from tests.soc.extreme_events import Case, cases
from tests.soc.pipeline_helpers import event

EXTREME = [
    ('{"extra": ' + "[" * 10_000 + "]" * 10_000 + "}", "extra", "nested deeper than 64"),
    (json.dumps(event(2))[:-1] + ', "rows": ' + "9" * 5000 + "}", "rows", "5,000 digits"),
    (json.dumps(event(2, rows=2**63)), "rows", "less than or equal to 9223372036854775807"),
    (json.dumps(event(2, bytes=2**63)), "bytes", "less than or equal to 9223372036854775807"),
    (json.dumps(event(2, ts="9999-12-31T23:59:59-23:59")), "ts", "between 0001-01-02 and 9999-12-30"),
    (json.dumps(event(2, ts="0001-01-01T00:00:00+14:00")), "ts", "between 0001-01-02 and 9999-12-30"),
    (json.dumps(event(2, ts="6228480402564890018")), "ts", "RFC 3339"),
]


@pytest.fixture()
def pipe(settings):
    p = IngestPipeline.from_settings(settings, detection=False, playbooks=False)
    yield p
    p.close()


@pytest.mark.parametrize(("line", "field", "reason"), EXTREME)
def test_extreme_line_rejected_by_number_and_field_neighbours_stored(pipe, tmp_path: Path, line, field, reason):
    path = tmp_path / "events.jsonl"
    path.write_text("\n".join([json.dumps(event(1)), line, json.dumps(event(3))]) + "\n", encoding="utf-8")
    res = pipe.ingest_file(path)
    assert res.accepted == 2
    assert [(r["line"], r["field"]) for r in res.rejected] == [(2, field)]
    assert reason in res.rejected[0]["reason"]
    assert "6228480402564890018" not in res.rejected[0]["reason"]  # values are never echoed
    assert {e["event_id"] for e in pipe.store.iter_events()} == {"t-000001", "t-000003"}


def test_invalid_utf8_line_rejected_by_number_rest_stored(pipe, tmp_path: Path):
    path = tmp_path / "events.jsonl"
    path.write_bytes(json.dumps(event(1)).encode() + b"\n" + b'{"user": "\xff\xfe"}\n'
                     + json.dumps(event(3)).encode() + b"\n")
    res = pipe.ingest_file(path)
    assert res.accepted == 2
    assert [(r["line"], r["field"]) for r in res.rejected] == [(2, None)]
    assert "UTF-8" in res.rejected[0]["reason"]


def test_big_integers_in_extra_are_kept_exactly(pipe, tmp_path: Path):
    path = tmp_path / "events.jsonl"
    big = 2**64 + 1  # orjson alone would turn this into a float
    path.write_text(json.dumps(event(1, extra={"n": big, "m": -(2**63) - 1})) + "\n", encoding="utf-8")
    assert pipe.ingest_file(path).accepted == 1
    [stored] = list(pipe.store.iter_events())
    assert stored["extra"] == {"n": big, "m": -(2**63) - 1}


def _check(cases_: list[Case], rejected: list[dict], accepted: int, key: str) -> None:
    first = 1 if key == "line" else 0
    expected = [(i + first, c.field or None) for i, c in enumerate(cases_) if c.field is not None]
    assert [(r[key], r["field"]) for r in rejected] == expected
    assert accepted == sum(c.field is None for c in cases_)
    for r, c in zip(rejected, [c for c in cases_ if c.field is not None]):
        assert len(c.secret) < 4 or c.secret not in r["reason"], r


@hsettings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(cases(), min_size=1, max_size=6))
def test_property_pipeline_file(pipe, tmp_path: Path, batch: list[Case]):
    path = tmp_path / "events.jsonl"
    path.write_bytes(b"\n".join(c.line for c in batch) + b"\n")
    before = pipe.store.count()
    res = pipe.ingest_file(path)
    _check(batch, res.rejected, res.accepted, "line")
    assert pipe.store.count() - before == res.accepted


@hsettings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(cases(), min_size=1, max_size=6))
def test_property_cli_ingest(settings, tmp_path: Path, batch: list[Case]):
    """`shuwei soc ingest FILE --format json`: exit 0 or 2 (rejections), never a traceback."""
    path = tmp_path / "events.jsonl"
    path.write_bytes(b"\n".join(c.line for c in batch) + b"\n")
    result = CliRunner().invoke(app, ["soc", "ingest", str(path), "--format", "json"])
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    assert "Traceback" not in result.output
    summary = json.loads(result.stdout)
    assert result.exit_code == (2 if summary["rejected"] else 0)
    _check(batch, summary["rejected"], summary["accepted"], "line")
