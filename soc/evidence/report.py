"""The evidence report an auditor receives: controls with their status, and the evidence behind."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from classifier.settings import Settings
from soc.evidence.collectors import COLLECTORS, Sources
from soc.evidence.controls import ControlMap

REPORT_VERSION = 1


def build_report(settings: Settings, controls: ControlMap) -> dict[str, Any]:
    """Run each collector the map needs once; a control is met only when all its evidence is."""
    sources = Sources(settings)
    try:
        evidence = {name: COLLECTORS[name](sources).as_dict() for name in controls.collectors()}
    finally:
        sources.close()
    rows = []
    for c in controls.controls:
        gaps = [e for e in c.evidence if evidence[e]["status"] != "met"]
        rows.append({"id": c.id, "standard": c.standard, "clause": c.clause, "title": c.title,
                     "status": "gap" if gaps else "met", "evidence": list(c.evidence), "gaps": gaps})
    return {
        "report_version": REPORT_VERSION,
        "generated_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "summary": {"controls": len(rows), "met": sum(r["status"] == "met" for r in rows),
                    "gap": sum(r["status"] == "gap" for r in rows)},
        "controls": rows,
        "evidence": evidence,
    }


def render_markdown(report: dict[str, Any]) -> str:
    """A readable document for the assessor (测评机构); the JSON stays the machine-readable record."""
    s = report["summary"]
    out = [
        "# Shuwei graded-protection evidence (等保 2.0 / 密评 / 数据分类分级)",
        "",
        f"Generated {report['generated_at']}: {s['met']} of {s['controls']} controls met, "
        f"{s['gap']} with gaps.",
        "",
        "| standard | clause | control | status | evidence |",
        "|---|---|---|---|---|",
    ]
    for c in report["controls"]:
        mark = "met" if c["status"] == "met" else f"**gap** ({', '.join(c['gaps'])})"
        out.append(f"| {c['standard']} | {c['clause']} | {c['title']} | {mark} | "
                   f"{', '.join(c['evidence'])} |")
    out.append("")
    for name, ev in report["evidence"].items():
        out += [f"## {name}: {ev['status']}", "", ev["summary"], ""]
        for key, value in ev["details"].items():
            if isinstance(value, list) and value and isinstance(value[0], dict):
                cols = list(value[0])
                out += [f"**{key}**", "", "| " + " | ".join(cols) + " |",
                        "|" + "---|" * len(cols)]
                out += ["| " + " | ".join(str(row.get(k, "")) for k in cols) + " |" for row in value]
                out.append("")
            else:
                out.append(f"- {key}: {value}")
        out.append("")
    return "\n".join(out)
