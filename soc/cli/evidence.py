"""`shuwei evidence` subcommands: the signed evidence pack for assessors (等保 2.0, 密评)."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Optional

import typer

from classifier import audit
from classifier.settings import ConfigError, get_settings
from soc.cli.common import EXIT_FINDINGS, FormatOption, OutputFormat, fail, print_json, print_table

app = typer.Typer(no_args_is_help=True)

SystemOption = typer.Option(None, "--system", help="the system under assessment (default: evidence.system)")
LevelOption = typer.Option(3, "--level", help="protection level of the 测评项 (the map holds level 3)")
FromOption = typer.Option(None, "--from", help="period start, YYYY-MM-DD (default: 180 days before --to)")
ToOption = typer.Option(None, "--to", help="period end, YYYY-MM-DD inclusive (default: now)")


def _scope(system: str | None, level: int, start: str | None, end: str | None) -> Any:
    from soc.evidence.scope import make_scope

    try:
        return make_scope(get_settings(), system=system, level=level, start=start, end=end)
    except ConfigError as exc:
        fail(str(exc))


@app.command("export")
def export(
    out: Path = typer.Option(..., "--out", "-o", help="the pack to write (zip); its public key goes beside it"),
    system: Optional[str] = SystemOption, level: int = LevelOption,
    start: Optional[str] = FromOption, end: Optional[str] = ToOption,
    by: str = typer.Option("cli", "--by", help="who exports (recorded in the audit trail)"),
) -> None:
    """Write the signed evidence pack: report.html/.pdf, items/<测评项>/…, manifest.json, signature.json."""
    from crypto.errors import CryptoError
    from soc.evidence.pack import build_pack, export_event, write_pack

    settings = get_settings()
    scope = _scope(system, level, start, end)
    try:
        pack = build_pack(settings, scope)
        key_file = write_pack(pack, out)
    except (ConfigError, CryptoError) as exc:
        fail(f"evidence export: {exc}")
    except OSError as exc:
        fail(f"{out}: cannot write: {exc.strerror}")
    s = pack.report["summary"]
    typer.echo(f"wrote {out}: {s['items']} 测评项 — " + ", ".join(f"{j} {s[j]}" for j in
                                                               ("符合", "部分符合", "不符合", "不适用")))
    typer.echo(f"  {pack.pdf_note}")
    typer.echo(f"  sha256 {pack.sha256}")
    typer.echo(f"  public key {key_file} (fingerprint {pack.public_key['fingerprint_sha256']})")
    audit.emit(export_event(pack, user=by, dest=str(out)), settings.data_dir)


@app.command("verify")
def verify(
    pack: Path = typer.Argument(..., help="the pack (zip)"),
    public_key: Optional[Path] = typer.Option(None, "--public-key",
                                              help="the exported public key (default: <pack>.pubkey.json beside it)"),
) -> None:
    """Check every file against the manifest and the manifest's Ed25519 and SM2 signatures; exit 1
    naming each changed, added or missing file and each bad or missing signature."""
    from soc.evidence.pack import verify_pack

    result = verify_pack(pack, public_key)
    if result.ok:
        typer.echo(f"ok: {pack}: {result.files} file(s) match the manifest; Ed25519 and SM2 signatures verify "
                   f"under key {result.key} (fingerprint {result.fingerprint})")
        return
    for problem in result.problems:
        typer.echo(f"{pack}: {problem}")
    typer.echo(f"FAILED: {len(result.problems)} problem(s)", err=True)
    raise typer.Exit(EXIT_FINDINGS)


@app.command("public-key")
def public_key(
    out: Optional[Path] = typer.Option(None, "--out", "-o", help="write here (default: stdout)"),
) -> None:
    """The evidence signing key's public half (what `verify --public-key` takes), e.g. for a pack
    downloaded from POST /v1/evidence/export. Compare its fingerprint with the pack's header."""
    import json

    from crypto.errors import CryptoError
    from soc.evidence.signing import EvidenceSigner

    try:
        doc = EvidenceSigner.from_settings(get_settings()).public.document()
    except CryptoError as exc:
        fail(f"evidence public-key: {exc}")
    text = json.dumps(doc, ensure_ascii=False, indent=2)
    if out is None:
        typer.echo(text)
        return
    try:
        out.write_text(text + "\n", encoding="utf-8")
    except OSError as exc:
        fail(f"{out}: cannot write: {exc.strerror}")
    typer.echo(f"wrote {out} (fingerprint {doc['fingerprint_sha256']})")


@app.command("check")
def check(
    fmt: OutputFormat = FormatOption,
    system: Optional[str] = SystemOption, level: int = LevelOption,
    start: Optional[str] = FromOption, end: Optional[str] = ToOption,
) -> None:
    """Judge every 测评项 from live evidence; exit 1 unless all are 符合 or 不适用."""
    from soc.evidence.pack import control_map
    from soc.evidence.report import build_report, conforms

    settings = get_settings()
    try:
        report = build_report(settings, control_map(settings), _scope(system, level, start, end))
    except ConfigError as exc:
        fail(str(exc))
    if fmt is OutputFormat.json:
        print_json(report)
    else:
        s = report["summary"]
        typer.echo(f"{report['scope']['system']}, level {report['scope']['level']}, "
                   f"{report['scope']['from']}..{report['scope']['to']}: " +
                   ", ".join(f"{j} {s[j]}" for j in ("符合", "部分符合", "不符合", "不适用")))
        print_table(report["items"], ["judgement", "item", "clause", "reason"])
    if not conforms(report):
        raise typer.Exit(EXIT_FINDINGS)


@app.command("not-applicable")
def not_applicable(
    item: str = typer.Argument(..., help="the 测评项 id (policies/controls.yaml), e.g. 8.1.5.4c"),
    reason: str = typer.Option(..., "--reason", help="why it does not apply to this system"),
    by: str = typer.Option(..., "--by", help="the compliance officer recording it"),
    withdraw: bool = typer.Option(False, "--withdraw", help="judge the item from its evidence again"),
) -> None:
    """Record 不适用 for one 测评项 with the reason (audited); --withdraw undoes it."""
    from soc.evidence import applicability
    from soc.evidence.pack import control_map

    settings = get_settings()
    try:
        known = [c.id for c in control_map(settings).controls]
    except ConfigError as exc:
        fail(str(exc))
    if item not in known:
        fail(f"unknown 测评项 '{item}'; known: {', '.join(known)}")
    try:
        applicability.record(settings.ensure_data_dir(), item, reason=reason, by=by, applicable=withdraw)
    except ValueError as exc:
        fail(str(exc))
    typer.echo(f"{item}: {'judged from its evidence again' if withdraw else '不适用'} (recorded by {by})")
