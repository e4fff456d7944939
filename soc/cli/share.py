"""`shuwei share`: stored share approvals (授权, 事前管审批) and the release ledger (事中全留痕).

The CLI works on the local data directory, so its operator acts as an admin would: ``--by``
(default: the login name) names who requests or decides, and the requester can never approve.
"""

from __future__ import annotations

from datetime import date, datetime, timezone
from typing import Any, Optional

import typer

from zoneinfo import ZoneInfo

from classifier import audit
from classifier.dates import parse_date, parse_when
from classifier.settings import get_settings
from classifier.whoami import current_user
from crypto.share import approvals as store, releases
from crypto.share.approvals import Consumer, Operation, ShareError, StoredApproval
from soc.cli.common import EXIT_FINDINGS, FormatOption, OutputFormat, fail, print_json, print_table

app = typer.Typer(no_args_is_help=True)
BY = typer.Option(None, "--by", help="who requests or decides (default: the login name)")
COLUMNS = ["approval_id", "dataset", "fields", "consumer", "purpose", "valid_from", "valid_until", "state",
           "requested_by", "decided_by"]


def _now() -> datetime:
    return datetime.now(timezone.utc).astimezone()


def _date(text: str, option: str) -> date:
    try:
        value = parse_date(text)
    except ValueError:
        value = None
    if value is None:
        fail(f"{option}: '{text}' is not a date (YYYY-MM-DD)")
    return value


def _show(items: list[StoredApproval], fmt: OutputFormat, *, single: bool = False) -> None:
    today = date.today()
    docs = [a.to_dict(today) for a in items]
    if fmt is OutputFormat.json:
        print_json(docs[0] if single else docs)
        return
    rows = [{**d, "fields": ",".join(d["fields"]),
             "consumer": "/".join(str(d["consumer"][k]) for k in ("org", "role", "user") if d["consumer"][k])}
            for d in docs]
    print_table(rows, COLUMNS)


def _emit(event: dict[str, Any]) -> None:
    audit.emit(event, get_settings().data_dir)


@app.command("request")
def request(
    dataset: str = typer.Option(..., "--dataset", "-d", help="dataset id in the catalog"),
    fields: str = typer.Option(..., "--fields", help="comma-separated fields to receive in clear"),
    org: str = typer.Option(..., "--org", help="consumer organisation"),
    role: str = typer.Option(..., "--role", "-r", help="consumer role (masking policy roles:)"),
    user: Optional[str] = typer.Option(None, "--user", help="one consumer account (default: every user of org and role)"),
    purpose: str = typer.Option(..., "--purpose", help="declared purpose of use"),
    valid_from: str = typer.Option(..., "--from", help="first day of validity, YYYY-MM-DD"),
    valid_until: str = typer.Option(..., "--until", help="last day of validity, YYYY-MM-DD"),
    by: Optional[str] = BY, fmt: OutputFormat = FormatOption,
) -> None:
    """Request an approval (state pending); prints it with its id."""
    actor = by or current_user()
    try:
        approval = store.request(get_settings().data_dir, dataset=dataset, fields=fields.split(","),
                                 consumer=Consumer(org, role, user), purpose=purpose,
                                 valid_from=_date(valid_from, "--from"), valid_until=_date(valid_until, "--until"),
                                 requested_by=actor, now=_now())
    except ShareError as exc:
        fail(str(exc))
    _emit(store.event(approval, "request", actor))
    _show([approval], fmt, single=True)


def _decide(approval_id: str, operation: Operation, by: Optional[str], comment: Optional[str],
            fmt: OutputFormat) -> None:
    actor = by or current_user()
    data_dir = get_settings().data_dir
    try:
        approval = store.decide(data_dir, approval_id, operation, decided_by=actor, now=_now(),
                                today=date.today(), comment=comment)
    except ShareError as exc:
        if exc.code in ("not_found", "storage"):
            fail(str(exc))
        # A refused decision is audited too: the SOC's self-approval rule sees the attempt.
        _emit(store.event(store.get(data_dir, approval_id), operation, actor, result="denied", reason=str(exc)))
        fail(str(exc), EXIT_FINDINGS)
    _emit(store.event(approval, operation, actor, extra={"state": approval.state(date.today())}))
    _show([approval], fmt, single=True)


COMMENT = typer.Option(None, "--comment", help="note kept with the decision")


@app.command("approve")
def approve(approval_id: str = typer.Argument(...), by: Optional[str] = BY, comment: Optional[str] = COMMENT,
            fmt: OutputFormat = FormatOption) -> None:
    """Approve a pending request (data owner or admin; never the requester)."""
    _decide(approval_id, "approve", by, comment, fmt)


@app.command("reject")
def reject(approval_id: str = typer.Argument(...), by: Optional[str] = BY, comment: Optional[str] = COMMENT,
           fmt: OutputFormat = FormatOption) -> None:
    """Reject a pending request."""
    _decide(approval_id, "reject", by, comment, fmt)


@app.command("revoke")
def revoke(approval_id: str = typer.Argument(...), by: Optional[str] = BY, comment: Optional[str] = COMMENT,
           fmt: OutputFormat = FormatOption) -> None:
    """Revoke an approved approval: it stops granting at once."""
    _decide(approval_id, "revoke", by, comment, fmt)


@app.command("list")
def list_(dataset: Optional[str] = typer.Option(None, "--dataset", "-d"),
          state: Optional[str] = typer.Option(None, "--state", help="pending, approved, rejected, revoked, expired"),
          fmt: OutputFormat = FormatOption) -> None:
    """Stored approvals (oldest first)."""
    if state is not None and state not in store.STATES:
        fail(f"--state: '{state}' is not one of {', '.join(store.STATES)}")
    chosen = next((s for s in store.STATES if s == state), None)
    try:
        found = store.list_approvals(get_settings().data_dir, date.today(), dataset=dataset, state=chosen)
    except ShareError as exc:
        fail(str(exc))
    _show(found, fmt)


@app.command("show")
def show(approval_id: str = typer.Argument(...), fmt: OutputFormat = FormatOption) -> None:
    """One approval."""
    try:
        approval = store.get(get_settings().data_dir, approval_id)
    except ShareError as exc:
        fail(str(exc))
    _show([approval], fmt, single=True)


@app.command("releases")
def releases_(dataset: Optional[str] = typer.Option(None, "--dataset", "-d"),
              org: Optional[str] = typer.Option(None, "--org", help="consumer organisation"),
              since: Optional[str] = typer.Option(None, "--since", help="date or ISO 8601 time; the configured time zone if no offset"),
              fmt: OutputFormat = FormatOption) -> None:
    """The release ledger: every masked release, oldest first (never the values)."""
    after = None
    if since is not None:
        try:
            after = parse_when(since, ZoneInfo(get_settings().timezone))
        except ValueError as exc:
            fail(f"--since: {exc}")
    try:
        found = [r.to_dict() for r in releases.list_releases(get_settings().data_dir, dataset=dataset, org=org,
                                                             since=after)]
    except ShareError as exc:
        fail(str(exc))
    if fmt is OutputFormat.json:
        print_json(found)
        return
    print_table([{**r, "user": r["caller"]["user"], "role": r["caller"]["role"], "org": r["caller"]["org"],
                  "approval": r["caller"]["approval_id"],
                  "fields": ", ".join(f"{f}:{s}" for f, s in r["fields"].items())} for r in found],
                ["release_id", "at", "dataset", "user", "role", "org", "approval", "rows", "fields"])
