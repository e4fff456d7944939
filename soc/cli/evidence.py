"""`shuwei evidence` subcommands: graded-protection evidence for auditors."""

from __future__ import annotations

import enum
from pathlib import Path
from typing import Optional

import typer

from classifier import audit
from classifier.settings import ConfigError, get_settings
from soc.cli.common import EXIT_FINDINGS, FormatOption, OutputFormat, fail, print_json, print_table

app = typer.Typer(no_args_is_help=True)


class ReportFormat(str, enum.Enum):
    json = "json"
    markdown = "markdown"


def _report() -> dict:
    from soc.evidence import build_report, load_controls
    from soc.evidence.collectors import COLLECTORS

    settings = get_settings()
    path = Path(settings.section("evidence").get("controls_file")
                or settings.policy_dir / "controls.yaml")
    try:
        return build_report(settings, load_controls(path, set(COLLECTORS)))
    except ConfigError as exc:
        fail(str(exc))


@app.command("export")
def export(
    out: Optional[Path] = typer.Option(None, "--out", "-o", help="write here (default: stdout)"),
    fmt: ReportFormat = typer.Option(ReportFormat.json, "--format", "-f", help="json or markdown"),
    by: str = typer.Option("cli", "--by", help="who exports (recorded in the audit trail)"),
) -> None:
    """Export the evidence report: each control of the map with its status and evidence."""
    from soc.evidence import render_markdown

    report = _report()
    if fmt is ReportFormat.markdown:
        text = render_markdown(report)
    else:
        import json

        text = json.dumps(report, ensure_ascii=False, indent=2, default=str)
    if out is None:
        typer.echo(text)
    else:
        try:
            out.write_text(text + "\n", encoding="utf-8")
        except OSError as exc:
            fail(f"{out}: cannot write: {exc.strerror}")
        typer.echo(f"wrote {out}: {report['summary']['met']} of {report['summary']['controls']} "
                   "controls met", err=True)
    audit.emit(audit.make_event("export", user=by, dataset="shuwei_evidence",
                                dest=str(out) if out else "stdout",
                                extra={"operation": "evidence_export", **report["summary"]}))


@app.command("check")
def check(fmt: OutputFormat = FormatOption) -> None:
    """Show each control's status; exit 1 when any control has a gap."""
    report = _report()
    if fmt is OutputFormat.json:
        print_json(report["controls"])
    else:
        print_table([{**c, "gaps": ",".join(c["gaps"])} for c in report["controls"]],
                    ["status", "standard", "clause", "id", "gaps"])
    if report["summary"]["gap"]:
        raise typer.Exit(EXIT_FINDINGS)
