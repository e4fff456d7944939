"""``python -m bench.service.console``: console page renders on a real ``shuwei serve``.

Seeds 10,000 alerts (through the AlertManager into the real alert store) and 500 datasets of 12
columns (hand-built scan reports into the real catalog), then times the alerts list (first page
of 100, counts, histogram over all 10,000), a filtered list, the live summary and the catalog page,
signed in as admin — and the list right after a triage change, when the decoded alerts are read
again. The baseline is ``/healthz`` on the same server in the same run. Target: ≤ 300 ms.
"""

from __future__ import annotations

import argparse
import re
import secrets
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import httpx
import yaml

from classifier.settings import load_settings
from soc.detection.match import Match
from soc.service.auth.keys import KeyStore
from tests.service.live import LiveServer

TARGET_MS = 300.0
ENTITIES = ("CN_RESIDENT_ID", "CN_MOBILE", "PERSON_NAME", "ADDRESS", None, "EMAIL_ADDRESS")
SEVERITY_LEVELS = ("low", "medium", "high", "critical")


def seed(data_dir: Path, config: Path, alerts: int, datasets: int) -> None:
    from classifier.catalog import Catalog
    from soc.ingest import IngestPipeline

    settings = load_settings(config, environ={"SHUWEI_DATA_DIR": str(data_dir)})
    pipeline = IngestPipeline.from_settings(settings, detection=False, playbooks=False)
    try:
        for i in range(alerts):
            day = 1 + i % 28
            ts = f"2026-02-{day:02d}T{i % 24:02d}:00:00+08:00"
            match = Match(rule_id=f"rule-{i % 40}", rule_title=f"规则 Rule {i % 40}", level=SEVERITY_LEVELS[i % 4],
                          tags=[], event_id=None, line=None, ts=ts, group={"user": f"u{i}"})
            pipeline.alerts.record(match, {})
    finally:
        pipeline.close()
    catalog = Catalog.open(settings)
    reports = [{"dataset": f"ds_{n:03d}", "source": f"/data/ds_{n:03d}.csv", "rows_total": 1000 + n,
                "columns": [{"name": f"col_{c}", "entity": ENTITIES[(n + c) % len(ENTITIES)], "confidence": 0.9,
                             "evidence": ["1101**********002X"], "reasons": ["value pattern"]} for c in range(12)]}
               for n in range(datasets)]
    catalog.record_scans(reports)
    catalog.close()


def _median_ms(client: httpx.Client, path: str, repeat: int, before: Callable[[], None] | None = None) -> float:
    times = []
    for _ in range(repeat):
        if before is not None:
            before()
        start = time.perf_counter()
        r = client.get(path)
        times.append((time.perf_counter() - start) * 1000)
        assert r.status_code == 200, (path, r.status_code)
    return statistics.median(times)


def _report(label: str, ms: float, base: float) -> None:
    verdict = "PASS" if ms <= TARGET_MS else "MISS"
    print(f"{label:32s} median {ms:7.1f} ms  ({ms / base:5.1f}x /healthz)  target ≤ {TARGET_MS:.0f} ms  {verdict}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--alerts", type=int, default=10_000)
    ap.add_argument("--datasets", type=int, default=500)
    ap.add_argument("--repeat", type=int, default=15)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="shuwei-bench-console-") as tmp:
        root = Path(tmp)
        config = root / "shuwei.yaml"
        config.write_text(yaml.safe_dump({"service": {}}), encoding="utf-8")
        data_dir = root / "var"
        key = KeyStore(data_dir).create(name="bench-admin", role="admin")[0]
        t0 = time.perf_counter()
        seed(data_dir, config, args.alerts, args.datasets)
        print(f"seeded {args.alerts:,} alerts and {args.datasets} datasets in {time.perf_counter() - t0:.1f} s")
        server = LiveServer(data_dir, config, log=root / "server.log")
        server.master_key = secrets.token_hex(32)
        server.start()
        try:
            with httpx.Client(base_url=server.url, timeout=120) as c:
                token = re.search(r'name="csrf_token" value="([^"]+)"', c.get("/console/signin").text)
                assert token
                c.post("/console/signin", data={"csrf_token": token.group(1), "api_key": key})
                for path in ("/console/alerts", "/console/datasets"):  # warm: open the stores once
                    c.get(path)
                base = _median_ms(c, "/healthz", args.repeat)
                print(f"baseline GET /healthz: median {base:.1f} ms")
                for label, path in (("alerts list (10,000)", "/console/alerts"),
                                    ("alerts list filtered + grouped", "/console/alerts?severity=high&group=rule"),
                                    ("alerts live summary", "/console/alerts/summary"),
                                    ("catalog (500 datasets)", "/console/datasets")):
                    _report(label, _median_ms(c, path, args.repeat), base)
                api = httpx.Client(base_url=server.url, timeout=120, headers={"Authorization": f"Bearer {key}"})
                alert_id = api.get("/v1/alerts", params={"limit": 1}).json()["items"][0]["id"]

                def change() -> None:  # a triage note: the next view decodes all 10,000 again
                    assert api.patch(f"/v1/alerts/{alert_id}", json={"notes": "bench"}).status_code == 200

                _report("alerts list after a change", _median_ms(c, "/console/alerts", args.repeat, change), base)
                api.close()
        finally:
            server.stop()


if __name__ == "__main__":
    main()
