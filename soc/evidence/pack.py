"""The evidence pack an assessor (测评机构) receives, and its verification.

Layout of the zip::

    report.html                    the report (Chinese headings with English, A4 print CSS)
    report.pdf                     printed from report.html by headless Chromium, when installed
    report.json                    the whole report, machine-readable
    items/<测评项>/record.json      item, requirement, collectors, judgement, reason, record_text, files
    items/<测评项>/<collector>.json the evidence: status, summary, details, tables
    items/<测评项>/<collector>.<table>.csv   each table of that evidence as CSV (UTF-8 with BOM)
    manifest.json                  every file above: size, SHA-256, SM3
    signature.json                 Ed25519 and SM2 signatures over manifest.json, public keys only

Python API (the CLI, the HTTP service and the web console call these): :func:`build_pack` and
:func:`verify_pack`.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import os
import zipfile
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import hashes

from classifier import audit
from classifier.settings import Settings
from soc.evidence import charts, pdf
from soc.evidence.controls import ControlMap, load_controls
from soc.evidence.report import COLLECTOR_TITLES, JUDGEMENT, JUDGEMENTS, build_report
from soc.evidence.scope import Scope
from soc.evidence.signing import EvidenceSigner, PublicKeys, check

MANIFEST, SIGNATURE = "manifest.json", "signature.json"
MANIFEST_FORMAT = "shuwei-evidence-manifest/1"
MAX_HTML_ROWS = 25  # per table in the HTML; the CSV beside it has every row
_FIXED_TIME = (2020, 1, 1, 0, 0, 0)  # zip entry times: the pack's bytes depend on its content only


def control_map(settings: Settings) -> ControlMap:
    from soc.evidence.collectors import COLLECTORS

    path = Path(settings.section("evidence").get("controls_file") or settings.policy_dir / "controls.yaml")
    return load_controls(path, set(COLLECTORS))


def show(value: Any) -> str:
    """A value as an assessor reads it (no Python reprs: lists joined, dicts as k: v)."""
    if value is None or value == "":
        return "—"
    if isinstance(value, bool):
        return "是 yes" if value else "否 no"
    if isinstance(value, float):
        return f"{value:,.1f}"
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, (list, tuple, set)):
        return ", ".join(show(v) for v in value) or "—"
    if isinstance(value, dict):
        return ", ".join(f"{k}: {show(v)}" for k, v in value.items()) or "—"
    return str(value)


def _csv(rows: list[dict[str, Any]]) -> bytes:
    buf = io.StringIO()
    cols = list(dict.fromkeys(k for r in rows for k in r))
    writer = csv.DictWriter(buf, fieldnames=cols, lineterminator="\r\n")
    writer.writeheader()
    for r in rows:
        writer.writerow({k: ("" if r.get(k) is None else r[k] if not isinstance(r.get(k), (list, dict))
                             else json.dumps(r[k], ensure_ascii=False)) for k in cols})
    return ("\ufeff" + buf.getvalue()).encode("utf-8")  # BOM: Excel opens the Chinese right


def _json(data: Any) -> bytes:
    return (json.dumps(data, ensure_ascii=False, indent=2, default=str) + "\n").encode("utf-8")


MAX_CHART_DAYS = 400  # a longer period charts only the days with data


def _period_days(scope: dict[str, Any], seen: set[str]) -> list[str]:
    """Every day of the period, so days without events show as gaps."""
    first, last = date.fromisoformat(scope["from"]), date.fromisoformat(scope["to"])
    if (last - first).days >= MAX_CHART_DAYS:
        return sorted(seen)
    return [(first + timedelta(days=n)).isoformat() for n in range((last - first).days + 1)]


def _charts(report: dict[str, Any]) -> list[tuple[str, Any]]:
    ev = report["evidence"]
    out = []
    if "alert_handling" in ev:
        rows = ev["alert_handling"]["tables"]["alerts"]
        days = _period_days(report["scope"], {r["day"] for r in rows}) if rows else []
        sevs = [s for s in ("critical", "high", "medium", "low", "informational")
                if any(r["severity"] == s for r in rows)]
        series = {s: [float(sum(r["day"] == d and r["severity"] == s for r in rows)) for d in days] for s in sevs}
        out.append(("每日告警（按严重程度） Alerts per day by severity", charts.stacked_bars("alerts per day", days, series)))
    if "classification" in ev:
        grades = ev["classification"]["details"].get("fields_by_grade", {})
        out.append(("字段分级分布 Fields by grade",
                    charts.hbars("fields by grade", [(g, float(n)) for g, n in sorted(grades.items(), reverse=True)])))
    if "audit_trail" in ev:
        per_day = {r["day"]: r["events"] for r in ev["audit_trail"]["tables"]["events_per_day"]}
        days = _period_days(report["scope"], set(per_day)) if per_day else []
        out.append(("每日审计事件 Events ingested per day",
                    charts.stacked_bars("events per day", days,
                                        {"events": [float(per_day.get(d, 0)) for d in days]})))
    if "key_management" in ev:
        rows = [r for r in ev["key_management"]["tables"].get("keys", []) if r["state"] != "destroyed"]
        out.append(("密钥使用时长（天） Key ages in days",
                    charts.hbars("key ages", [(f"{r['key_id']} v{r['version']} ({r['state']})",
                                               float(r["age_days"])) for r in rows], " d")))
    return out


def render_html(report: dict[str, Any], files: dict[str, list[str]], key: PublicKeys, pdf_note: str) -> str:
    from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

    env = Environment(loader=PackageLoader("soc.evidence", "templates"), autoescape=select_autoescape(["j2"]),
                      undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True)
    standards = list(dict.fromkeys(f"{i['standard']}" for i in report["items"]))
    return env.get_template("report.html.j2").render(
        scope=report["scope"], summary=report["summary"], items=report["items"], evidence=report["evidence"],
        judgements=JUDGEMENTS, status_judgement=JUDGEMENT, titles=COLLECTOR_TITLES, charts=_charts(report),
        files=files, key=key, pdf_note=pdf_note, standards=standards, show=show, max_rows=MAX_HTML_ROWS)


def _item_files(report: dict[str, Any]) -> dict[str, dict[str, bytes]]:
    """Per item, its evidence files (record.json is added once their names are known)."""
    out: dict[str, dict[str, bytes]] = {}
    for item in report["items"]:
        files: dict[str, bytes] = {}
        for name in item["collectors"]:
            ev = report["evidence"][name]
            files[f"{name}.json"] = _json({"collector": name, **ev})
            for table, rows in ev["tables"].items():
                if rows:
                    files[f"{name}.{table}.csv"] = _csv(rows)
        out[item["item"]] = files
    return out


def _digests(data: bytes) -> dict[str, Any]:
    sm3 = hashes.Hash(hashes.SM3())
    sm3.update(data)
    return {"size": len(data), "sha256": hashlib.sha256(data).hexdigest(), "sm3": sm3.finalize().hex()}


@dataclass
class Pack:
    data: bytes  # the zip
    sha256: str
    report: dict[str, Any]
    public_key: dict[str, Any]  # the document exported beside the pack
    pdf_note: str
    files: list[str] = field(default_factory=list)


def build_pack(settings: Settings, scope: Scope) -> Pack:
    """Collect, judge, render, print and sign. Raises ``ConfigError`` (control map, level) and
    ``crypto.errors.CryptoError`` (no master key: the pack cannot be signed)."""
    controls = control_map(settings)
    signer = EvidenceSigner.from_settings(settings)  # first: no work is wasted on an unsignable pack
    report = build_report(settings, controls, scope)
    per_item = _item_files(report)
    names = {item: ["record.json", *files] for item, files in per_item.items()}
    if str(settings.section("evidence").get("pdf", "auto")).lower() in ("off", "false", "no"):
        browser, note = None, pdf.SWITCHED_OFF
    else:
        browser = pdf.find_browser()
        note = "report.pdf printed from report.html by headless Chromium" if browser else pdf.MISSING
    html = render_html(report, names, signer.public, note)
    pdf_bytes = None
    if browser:
        pdf_bytes, printed = pdf.print_pdf(html)
        if pdf_bytes is None:  # say why in the report itself
            note = printed
            html = render_html(report, names, signer.public, note)
    report["pdf"] = note
    files: dict[str, bytes] = {"report.html": html.encode("utf-8"), "report.json": _json(report)}
    if pdf_bytes is not None:
        files["report.pdf"] = pdf_bytes
    for item in report["items"]:
        record = {k: item[k] for k in ("item", "standard", "clause", "assessment", "requirement", "collectors",
                                        "judgement", "reason", "record_text", "not_applicable")}
        record["files"] = names[item["item"]][1:]
        record["scope"] = report["scope"]
        files[f"items/{item['item']}/record.json"] = _json(record)
        for fname, data in per_item[item["item"]].items():
            files[f"items/{item['item']}/{fname}"] = data
    manifest = _json({"format": MANIFEST_FORMAT, "scope": report["scope"], "summary": report["summary"],
                      "files": [{"path": p, **_digests(d)} for p, d in sorted(files.items())]})
    signature = _json(signer.sign(manifest))
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for path, data in [*sorted(files.items()), (MANIFEST, manifest), (SIGNATURE, signature)]:
            info = zipfile.ZipInfo(path, _FIXED_TIME)
            info.external_attr = 0o644 << 16  # readable when unpacked (the default is 0600)
            zf.writestr(info, data, zipfile.ZIP_DEFLATED)
    data = buf.getvalue()
    return Pack(data, hashlib.sha256(data).hexdigest(), report, signer.public.document(), note, sorted(files))


def public_key_path(pack_path: Path) -> Path:
    """Where the public key is exported: beside the pack, ``<name>.pubkey.json``."""
    return pack_path.with_name(pack_path.stem + ".pubkey.json")


def write_pack(pack: Pack, out: Path) -> Path:
    """Write the zip (atomically) and its public key beside it; returns the key file's path."""
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(out.name + ".tmp")
    tmp.write_bytes(pack.data)
    os.replace(tmp, out)
    key = public_key_path(out)
    key.write_text(json.dumps(pack.public_key, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    return key


def export_event(pack: Pack, *, user: str, dest: str, **fields: Any) -> dict[str, Any]:
    """The audit event of an export: ``export`` with the pack's SHA-256."""
    return audit.make_event("export", user=user, dataset="shuwei_evidence", dest=dest, **fields, extra={
        "operation": "evidence_pack", "sha256": pack.sha256, "bytes": len(pack.data),
        "key_id": pack.public_key["key_id"], "key_version": pack.public_key["key_version"],
        "period": f"{pack.report['scope']['from']}..{pack.report['scope']['to']}",
        **{k: v for k, v in pack.report["summary"].items()}})


@dataclass
class Verification:
    problems: list[str]
    files: int = 0
    fingerprint: str | None = None
    key: str | None = None

    @property
    def ok(self) -> bool:
        return not self.problems


def verify_pack(path: Path, public_key: Path | None = None) -> Verification:
    """Every changed, added or missing file and every bad or missing signature, by name."""
    result = Verification([])
    problems = result.problems
    try:
        zf = zipfile.ZipFile(path)
    except (OSError, zipfile.BadZipFile) as exc:
        return Verification([f"{path}: not a readable zip ({exc.__class__.__name__}: {exc})"])
    with zf:
        entries = zf.namelist()
        for name in sorted({n for n in entries if entries.count(n) > 1}):
            problems.append(f"added: {name} (a second entry with the same name)")
        contents: dict[str, bytes] = {}
        for name in dict.fromkeys(entries):
            try:
                contents[name] = zf.read(name)
            except (zipfile.BadZipFile, OSError, ValueError) as exc:  # CRC error: the entry was altered
                problems.append(f"changed: {name} (unreadable: {exc})")
    manifest_bytes = contents.pop(MANIFEST, None)
    signature_bytes = contents.pop(SIGNATURE, None)
    if manifest_bytes is None:
        problems.append(f"missing: {MANIFEST} (nothing can be checked)")
        return result
    try:
        manifest = json.loads(manifest_bytes)
        listed = {f["path"]: f for f in manifest["files"]}
    except (ValueError, KeyError, TypeError):
        problems.append(f"changed: {MANIFEST} is not a Shuwei manifest")
        return result
    result.files = len(listed)
    for name, entry in sorted(listed.items()):
        data = contents.get(name)
        if data is None:
            if not any(p.startswith(f"changed: {name} ") for p in problems):
                problems.append(f"missing: {name}")
        elif {k: entry.get(k) for k in ("size", "sha256", "sm3")} != _digests(data):
            problems.append(f"changed: {name} (size/SHA-256/SM3 differ from the manifest)")
    for name in sorted(set(contents) - set(listed)):
        problems.append(f"added: {name} (not in the manifest)")
    if signature_bytes is None:
        problems.append(f"missing signature: {SIGNATURE}")
        return result
    key_file = public_key or public_key_path(path)
    try:
        trusted = PublicKeys.from_document(json.loads(key_file.read_text(encoding="utf-8")))
    except OSError:
        problems.append(f"missing public key: {key_file} (give the exported key with --public-key)")
        return result
    except (ValueError, KeyError, TypeError) as exc:
        problems.append(f"{key_file}: not an evidence public key ({exc})")
        return result
    result.fingerprint, result.key = trusted.fingerprint, f"{trusted.key_id} v{trusted.version}"
    try:
        signature = json.loads(signature_bytes)
    except ValueError:
        problems.append(f"bad signature: {SIGNATURE} is not JSON")
        return result
    if not isinstance(signature, dict):
        problems.append(f"bad signature: {SIGNATURE} is not a signature document")
        return result
    if signature.get("fingerprint_sha256") != trusted.fingerprint:
        problems.append(f"bad signature: signed by key fingerprint {str(signature.get('fingerprint_sha256'))[:16]}…, "
                        f"not the exported key's {trusted.fingerprint[:16]}…")
    problems.extend(check(manifest_bytes, signature, trusted))
    return result
