"""A generated day of exchange-platform audit traffic with injected attack scenarios.

Used by ``shuwei demo``, bench/soc and tests. Seeded (Faker + random.Random), so a run is
repeatable. Benign users work on a small personal set of datasets in office hours, with the
approvals (授权) their access needs; each scenario below is one attack pattern from issue 4,
played by its own account, and ``Traffic.scenarios`` records which events it injected so a
caller can count detected vs injected and alerts on benign users.
"""

from __future__ import annotations

import random
import zlib
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from typing import Any

from faker import Faker

TZ = timezone(timedelta(hours=8))
GOV_NETS_EXAMPLE = ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16")
ORGS = ("市公安局", "市卫健委", "市人社局", "市市场监管局", "市交通运输局", "市大数据局", "市民政局", "市住建局")
ROLES = ("analyst", "clerk", "auditor", "developer", "approver")
BROWSER = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36"
DIAGNOSES = ("高血压", "2型糖尿病", "慢性阻塞性肺疾病", "冠状动脉粥样硬化性心脏病", "支气管哮喘", "肺炎")


@dataclass(frozen=True)
class DatasetSpec:
    """A dataset of the exchange: its columns and a generator of sample rows for the catalog."""

    name: str
    columns: tuple[str, ...]
    kind: str  # which row maker (see _ROWS)
    canary: bool = False


DATASETS: tuple[DatasetSpec, ...] = (
    DatasetSpec("pop_basic", ("姓名", "公民身份号码", "手机号码", "住址", "出生日期"), "person"),
    DatasetSpec("medical_visits", ("姓名", "身份证号", "诊断", "就诊日期"), "medical"),
    DatasetSpec("housing_fund", ("姓名", "身份证号", "银行卡号", "缴存额"), "fund"),
    DatasetSpec("social_insurance", ("身份证号", "单位名称", "缴费基数"), "insurance"),
    DatasetSpec("vehicle_reg", ("号牌号码", "所有人", "联系电话"), "vehicle"),
    DatasetSpec("enterprise_reg", ("统一社会信用代码", "单位名称", "注册资本"), "enterprise"),
    DatasetSpec("network_assets", ("ip", "mac", "责任部门"), "network"),
    DatasetSpec("weather_obs", ("站点", "气温", "观测时间"), "weather"),
    DatasetSpec("public_notices", ("标题", "发布部门", "发布日期"), "notice"),
    DatasetSpec("canary_vip_citizens", ("姓名", "公民身份号码", "手机号码"), "person", canary=True),
)
# Public open-data items (公开目录) the catalog does not grade: give enumeration room to roam.
OPEN_DATASETS: tuple[str, ...] = tuple(f"open_{i:03d}" for i in range(60))


def sample_rows(spec: DatasetSpec, n: int, seed: int = 7) -> list[dict[str, Any]]:
    """Faker rows for grading ``spec`` in the catalog (classifier.classify)."""
    f = Faker("zh_CN")
    f.seed_instance(seed)
    r = random.Random(seed)
    makers = {
        "person": lambda: [f.name(), f.ssn(), f.phone_number(), f.address(), f.date_of_birth().isoformat()],
        "medical": lambda: [f.name(), f.ssn(), r.choice(DIAGNOSES), f.date_this_year().isoformat()],
        "fund": lambda: [f.name(), f.ssn(), f.credit_card_number(), str(r.randint(500, 5000))],
        "insurance": lambda: [f.ssn(), f.company(), str(r.randint(3000, 30000))],
        "vehicle": lambda: [f.license_plate(), f.name(), f.phone_number()],
        "enterprise": lambda: [_uscc(r), f.company(), str(r.randint(10, 10000) * 10000)],
        "network": lambda: [f.ipv4_private(), f.mac_address(), r.choice(ORGS)],
        "weather": lambda: [f"站点{r.randint(1, 90):02d}", f"{r.uniform(-5, 35):.1f}", f.date_time_this_year().isoformat()],
        "notice": lambda: [f.sentence(nb_words=6), r.choice(ORGS), f.date_this_year().isoformat()],
    }
    return [dict(zip(spec.columns, makers[spec.kind]())) for _ in range(n)]


def _uscc(r: random.Random) -> str:
    """A valid 统一社会信用代码 (GB 32100-2015 check character)."""
    chars = "0123456789ABCDEFGHJKLMNPQRTUWXY"
    body = "91" + "".join(r.choice("0123456789") for _ in range(6)) + "".join(r.choice(chars[:31]) for _ in range(9))
    total = sum(chars.index(c) * pow(3, i, 31) for i, c in enumerate(body))
    return body + chars[(31 - total % 31) % 31]


@dataclass
class Scenario:
    name: str
    description: str
    users: list[str]
    event_ids: list[str] = field(default_factory=list)


@dataclass
class Traffic:
    history: list[dict[str, Any]]  # earlier days: the users' baselines
    day: list[dict[str, Any]]      # the generated day, benign + attacks, in time order
    scenarios: list[Scenario]
    attackers: set[str]


class _Gen:
    def __init__(self, seed: int, n_users: int) -> None:
        self.r = random.Random(seed)
        fake = Faker("zh_CN")
        fake.seed_instance(seed)
        self.agents = [fake.user_agent() for _ in range(12)]
        self.n = 0
        graded = [d.name for d in DATASETS if not d.canary]
        self.columns = {d.name: d.columns for d in DATASETS}
        self.sensitive = {"pop_basic", "medical_visits", "housing_fund", "social_insurance",
                          "vehicle_reg", "canary_vip_citizens"}
        self.users: dict[str, dict[str, Any]] = {}
        r = self.r
        for i in range(n_users):
            uid = f"u{i:05d}"
            work = r.sample(graded, r.randint(1, 3)) + r.sample(OPEN_DATASETS, r.randint(1, 3))
            self.users[uid] = {"org": r.choice(ORGS), "role": r.choice(ROLES),
                               "ip": f"10.{r.randint(1, 250)}.{r.randint(0, 255)}.{r.randint(2, 254)}",
                               "agent": r.choice(self.agents), "work": work}
        for i in range(max(2, n_users // 100)):
            uid = f"svc_exchange_{i:02d}"
            self.users[uid] = {"org": "市大数据局", "role": "service", "agent": "exchange-sdk/2.3 (python)",
                               "ip": f"10.200.0.{10 + i}", "work": r.sample(graded, 3)}
        self.admins = [f"admin{i:02d}" for i in range(3)]
        for uid in self.admins:
            self.users[uid] = {"org": "市大数据局", "role": "admin", "ip": f"10.1.1.{r.randint(2, 60)}",
                               "agent": r.choice(self.agents), "work": ["network_assets"]}

    def event(self, ts: datetime, user: str, action: str, *, result: str = "success",
              **fields: Any) -> dict[str, Any]:
        self.n += 1
        u = self.users.get(user, {})
        ev: dict[str, Any] = {"ts": ts.isoformat(timespec="milliseconds"), "event_id": f"gw-{self.n:08d}",
                              "source": "exchange-gateway", "user": user, "role": u.get("role", "analyst"),
                              "org": u.get("org", "市大数据局"), "src_ip": u.get("ip", "10.9.9.9"),
                              "action": action, "result": result,
                              "session_id": f"s-{user}-{ts.date().isoformat()}",
                              "user_agent": u.get("agent", self.agents[0])}
        ev.update({k: v for k, v in fields.items() if v is not None})
        return ev

    def access(self, ts: datetime, user: str, dataset: str, action: str, rows: int,
               approval: bool = True, all_fields: bool = False, **extra: Any) -> dict[str, Any]:
        cols = self.columns.get(dataset, ("id", "title", "value"))
        fields = list(cols if all_fields else cols[: self.r.randint(1, len(cols))])
        approval_id = (f"APV-{zlib.crc32(f'{user}/{dataset}'.encode()) % 10**6:06d}"
                       if approval and dataset in self.sensitive else None)
        return self.event(ts, user, action, dataset=dataset, fields=fields, rows=rows,
                          bytes=rows * self.r.randint(120, 400), approval_id=approval_id,
                          purpose="业务办理" if approval_id else None, **extra)

    def benign(self, ts: datetime, user: str) -> dict[str, Any]:
        r, u = self.r, self.users[user]
        if user.startswith("svc_"):
            ds = r.choice(u["work"])
            return self.access(ts, user, ds, "api_call", r.randint(1, 200))
        off = not (9 <= ts.hour < 18)
        work = [d for d in u["work"] if d not in self.sensitive] if off else u["work"]
        if user in self.admins:
            p = r.random()
            if p < 0.05:
                target = f"u{r.randint(0, 99):05d}"
                return self.event(ts, user, "permission_grant", target_user=target, dataset=r.choice(
                    [d.name for d in DATASETS if not d.canary and d.name not in self.sensitive]))
            if p < 0.1:
                return self.event(ts, user, "config_change", extra={"setting": "gateway.rate_limit"})
        p = r.random()
        ds = r.choice(work or OPEN_DATASETS[:5])
        if p < 0.06:
            return self.event(ts, user, "login", result="denied" if r.random() < 0.003 else "success")
        if p < 0.10:
            return self.event(ts, user, "logout")
        if p < 0.70:
            return self.access(ts, user, ds, "query", r.randint(1, 200),
                               result="denied" if r.random() < 0.005 else "success")
        if p < 0.80:
            return self.access(ts, user, ds, "download", r.randint(10, 800))
        if p < 0.82:
            dest = f"10.{r.randint(1, 250)}.{r.randint(0, 255)}.{r.randint(2, 254)}"
            return self.access(ts, user, ds, "export", r.randint(50, 900), dest=dest)
        if p < 0.90:
            return self.access(ts, user, ds, "mask", r.randint(1, 500))
        if p < 0.91:
            return self.event(ts, user, "share_request", dataset=ds, purpose="业务协同")
        if p < 0.915 and u["role"] == "approver":
            return self.event(ts, user, "share_approve", dataset=ds, approval_id=f"APV-{r.randint(0, 10**6):06d}",
                              target_user=f"u{r.randint(0, 99):05d}")
        return self.access(ts, user, ds, "query", r.randint(1, 100))

    def office_time(self, day: date) -> datetime:
        r = self.r
        if r.random() < 0.96:
            secs = r.uniform(9 * 3600, 18 * 3600)
        else:
            secs = r.uniform(0, 86400)
        return datetime.combine(day, datetime.min.time(), TZ) + timedelta(seconds=secs)


def generate(events: int = 1_000_000, *, seed: int = 42, day: date = date(2026, 3, 2),
             history_days: int = 3, history_fraction: float = 0.1) -> Traffic:
    """``events`` benign events on ``day`` (a Monday) plus the attack scenarios, and
    ``history_days`` earlier days of lighter traffic for the behavioural baselines."""
    n_users = max(20, events // 100)
    g = _Gen(seed, n_users)
    r = g.r
    humans = sorted(u for u in g.users if u.startswith("u"))
    actors = humans[: max(1, len(humans) - 16)]  # the last 16 accounts play the attackers
    cast = humans[-16:] if len(humans) >= 36 else [f"u9{i:04d}" for i in range(16)]
    for uid in cast:
        g.users.setdefault(uid, {"org": "市民政局", "role": "analyst", "ip": f"10.77.0.{r.randint(2, 250)}",
                                 "agent": g.agents[1], "work": ["weather_obs", OPEN_DATASETS[0]]})
    g.users[cast[11]]["work"] = ["weather_obs", "public_notices", OPEN_DATASETS[1]]  # never L4
    benign_users = actors + [u for u in g.users if not u.startswith("u")]

    history: list[dict[str, Any]] = []
    workdays = [d for d in (day - timedelta(days=k) for k in range(1, 7 * history_days + 7))
                if d.isoweekday() <= 5][:history_days]
    for d in reversed(workdays):
        for user in list(g.users):  # everyone touches their whole working set: known baselines
            if user in cast[13:14]:
                continue
            for ds in g.users[user]["work"]:
                t = datetime.combine(d, datetime.min.time(), TZ) + timedelta(hours=10, minutes=r.randint(0, 400))
                history.append(g.access(t, user, ds, "api_call" if user.startswith("svc_") else "query",
                                        r.randint(1, 100)))
        for _ in range(int(events * history_fraction)):
            user = r.choice(benign_users + cast[:13])
            history.append(g.benign(g.office_time(d), user))
    dormant = cast[13]
    history.append(g.event(datetime.combine(day - timedelta(days=60), datetime.min.time(), TZ)
                           + timedelta(hours=10), dormant, "login"))
    history.sort(key=lambda e: e["ts"])

    day_users = benign_users + cast[:13]  # the dormant account stays silent until its scenario
    out = [g.benign(g.office_time(day), r.choice(day_users)) for _ in range(events)]
    scenarios = _attacks(g, day, cast)
    for sc_events, sc in scenarios:
        out.extend(sc_events)
        sc.event_ids = [e["event_id"] for e in sc_events]
    out.sort(key=lambda e: e["ts"])
    return Traffic(history, out, [sc for _, sc in scenarios], set(cast))


def _attacks(g: _Gen, day: date, cast: list[str]) -> list[tuple[list[dict[str, Any]], Scenario]]:
    at = lambda h, m=0, s=0: datetime.combine(day, datetime.min.time(), TZ) + timedelta(hours=h, minutes=m, seconds=s)  # noqa: E731
    out: list[tuple[list[dict[str, Any]], Scenario]] = []

    def add(name: str, desc: str, users: list[str], events: list[dict[str, Any]]) -> None:
        out.append((events, Scenario(name, desc, users)))

    a = cast
    add("bulk_export_l4", "export of 250,000 rows of an L4 dataset", [a[0]],
        [g.access(at(14, 5), a[0], "pop_basic", "export", 250_000, dest="10.3.3.3", all_fields=True)])
    add("no_approval", "downloads of L4 data with no approval_id", [a[1]],
        [g.access(at(10, 30 + i), a[1], "medical_visits", "download", 300, approval=False, all_fields=True) for i in range(3)])
    add("off_hours_sensitive", "L4 queries at 02:30 on a weekday night", [a[2]],
        [g.access(at(2, 30, i * 7), a[2], "housing_fund", "query", 80, all_fields=True) for i in range(4)])
    add("enumeration", "one user touches 40 datasets within 8 minutes", [a[3]],
        [g.access(at(11, 0, i * 12), a[3], OPEN_DATASETS[i % len(OPEN_DATASETS)] if i < 35 else
                  DATASETS[i - 35].name, "query", 5) for i in range(40)])
    ip = "10.66.6.6"
    add("brute_force", "15 denied logins then a success from one address", [a[4]],
        [g.event(at(15, 0, i * 9), a[4], "login", result="denied", src_ip=ip) for i in range(15)]
        + [g.event(at(15, 2, 30), a[4], "login", src_ip=ip)])
    add("decrypt_spike", "200 decrypt calls in 10 minutes", [a[5]],
        [g.access(at(16, 0, i * 3), a[5], "social_insurance", "decrypt", 50, all_fields=True) for i in range(200)])
    add("external_export", "export to an address outside government networks and a web mailbox",
        [a[6]], [g.access(at(13, 20), a[6], "vehicle_reg", "export", 4000, dest="203.0.113.50", all_fields=True),
                 g.access(at(13, 40), a[6], "enterprise_reg", "export", 900, dest="leaker@gmail.com", all_fields=True)])
    add("credential_many_ips", "one account logs in from 8 addresses within 30 minutes", [a[7]],
        [g.event(at(11, 30 + i * 3), a[7], "login", src_ip=f"10.{100 + i}.{i}.{7 + i}") for i in range(8)])
    admin = g.admins[0]
    add("grant_then_export", "a permission grant followed by a bulk export by the grantee", [a[8], admin],
        [g.event(at(17, 0), admin, "permission_grant", target_user=a[8], dataset="social_insurance"),
         g.access(at(17, 20), a[8], "social_insurance", "export", 60_000, dest="10.8.8.8", all_fields=True)])
    svc = "svc_exchange_00"
    add("service_interactive", "a service account logs in through a web browser", [svc],
        [g.event(at(12, 10), svc, "login", src_ip="10.44.4.4", user_agent=BROWSER)])
    add("honeytoken", "the canary dataset is queried", [a[9]],
        [g.access(at(10, 5), a[9], "canary_vip_citizens", "query", 10, all_fields=True)])
    add("volume_spike", "rows per hour far above the user's own baseline (L2 data)", [a[10]],
        [g.access(at(11, 10 + i), a[10], "network_assets", "download", 40_000, all_fields=True) for i in range(5)])
    add("first_l4_access", "a user with L1 history reads an L4 dataset", [a[11]],
        [g.access(at(14, 45), a[11], "medical_visits", "query", 3, all_fields=True)])
    add("dormant_account", "an account silent for 60 days is back", [a[13]],
        [g.event(at(9, 40), a[13], "login"), g.access(at(9, 45), a[13], "weather_obs", "query", 20, all_fields=True)])
    return out


def seed_catalog(settings: Any, rows: int = 200, seed: int = 7, only_new: bool = False) -> dict[str, str]:
    """Grade the traffic's datasets with the real classifier and record them in the catalog, so
    enrichment has data levels to add; returns dataset → grade. ``only_new`` leaves datasets the
    catalog already has (the demo's scanned sample files) as they are."""
    from classifier.catalog import Catalog
    from classifier.classify import classify_records

    catalog = Catalog.open(settings)
    try:
        reports = []
        for spec in DATASETS:
            if only_new and catalog.dataset_grade(spec.name) is not None:
                continue
            grades = classify_records(sample_rows(spec, rows, seed), spec.name, settings)
            columns: list[dict[str, Any]] = [{"name": n, "entity": g.entity, "category": g.category, "grade": g.grade}
                       for n, g in grades.items()]
            reports.append({"dataset": spec.name, "source": f"generated:{spec.name}",
                            "grade": max((c["grade"] for c in columns), default="L1"),
                            "rows_scanned": rows, "rows_total": rows, "columns": columns})
        catalog.record_scans(reports)
        return {spec.name: catalog.dataset_grade(spec.name) or "L1" for spec in DATASETS}
    finally:
        catalog.close()


def score(traffic: Traffic, alerts: list[dict[str, Any]]) -> dict[str, Any]:
    """Which injected scenarios raised an alert holding one of their events, and how many
    alerts name only benign users (false positives of the pack on this traffic)."""
    lines, detected = [], 0
    for sc in traffic.scenarios:
        ids = set(sc.event_ids)
        rules = sorted({a["rule_title"] for a in alerts if ids & set(a["event_ids"])})
        detected += bool(rules)
        lines.append(f"{'DETECTED' if rules else 'missed  '}  {sc.name:22s} {', '.join(rules) or '-'}")
    benign = [a for a in alerts if not set(a["users"]) & (traffic.attackers | _cast_extra(traffic))]
    by_rule: dict[str, int] = {}
    for a in benign:
        by_rule[a["rule_title"]] = by_rule.get(a["rule_title"], 0) + 1
    return {"detected": detected, "injected": len(traffic.scenarios), "lines": lines,
            "benign_alerts": len(benign), "benign_by_rule": by_rule}


def _cast_extra(traffic: Traffic) -> set[str]:
    """Accounts other than the cast that scenarios use (the granting admin, the service account)."""
    return {u for sc in traffic.scenarios for u in sc.users}
