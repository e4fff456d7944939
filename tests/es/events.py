"""Deterministic contract-v1 events that exercise every rule in tests/es/rules both ways:
mixed case, non-address ``src_ip`` values, nulls, arrays, ``extra``, and bursts for windows."""

from __future__ import annotations

import random
from datetime import datetime, timedelta, timezone
from typing import Any

TZ = timezone(timedelta(hours=8))
USERS = ["u1001", "U1002", "svc_batch", "SVC_Report", "alice", "Bob"]
ACTIONS = ["login", "query", "download", "export", "permission_grant", "share_request"]


def make_events(n: int, seed: int = 7, start: datetime | None = None) -> list[dict[str, Any]]:
    rnd = random.Random(seed)
    t = start or datetime(2026, 3, 2, 8, 0, tzinfo=TZ)
    out: list[dict[str, Any]] = []
    for i in range(n):
        t += timedelta(seconds=rnd.choice([1, 5, 20, 60, 240]))
        user = rnd.choice(USERS)
        action = rnd.choice(ACTIONS)
        e: dict[str, Any] = {
            "ts": t.isoformat(), "event_id": f"ev-{seed}-{i:07d}", "source": "exchange-gateway",
            "user": user, "action": action,
            "result": rnd.choice(["success", "success", "denied"]),
            "role": rnd.choice(["analyst", "admin"]), "org": rnd.choice(["dept-11", "DEPT-21x", "dept-3"]),
            "src_ip": rnd.choice(["10.1.2.3", "192.168.7.9", "8.8.4.4", "2001:db8::1", "unknown", " 10.9.9.9"]),
            "dataset": rnd.choice(["hr_Salary_2026", "HR_salaries", "tax", "permits", "health", "land"]),
            "rows": rnd.choice([0, 10, 999, 1000, 5000, 30000, 80000]),
            "bytes": rnd.choice([5, 99, 100, 2048, 1_000_000]),
            "off_hours": rnd.random() < 0.3,
        }
        if rnd.random() < 0.5:
            e["fields"] = rnd.sample(["name", "phone", "id_no", "address"], k=rnd.randint(1, 3))
            e["sensitive_fields"] = [f for f in e["fields"] if f in ("phone", "id_no")]
        if rnd.random() < 0.4:
            e["approval_id"] = f"AP-{i}"
        if action == "export":
            e["dest"] = rnd.choice(["x@GMAIL.com", "ftp.example.org", "y@gmail.com.evil", "10.0.0.5"])
        if rnd.random() < 0.3:
            e["user_agent"] = rnd.choice(["Curl/8.1", "curl/8.1", "Mozilla/5.0"])
        if rnd.random() < 0.2:
            e["purpose"] = rnd.choice(["audit", None, "drop table users", "DROP TABLE x"])
        if rnd.random() < 0.3:
            e["extra"] = {"channel": rnd.choice(["VPN", "vpn", "lan"]), "n": rnd.randint(0, 3)}
        if action == "permission_grant":
            e["target_user"] = rnd.choice([user, user.upper(), "other"])
        out.append(e)
    return out
