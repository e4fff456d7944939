"""`shuwei apikey`: create, list and revoke API keys of the HTTP service."""

from __future__ import annotations

from typing import Optional

import typer

from classifier.audit import emit, make_event
from classifier.settings import ConfigError, get_settings
from soc.cli.common import FormatOption, OutputFormat, fail, print_json, print_table

app = typer.Typer(no_args_is_help=True)


def _split(text: Optional[str]) -> list[str] | None:
    if text is None:
        return None
    return [part.strip() for part in text.split(",") if part.strip()]


def _store():  # noqa: ANN202 - imported lazily so `shuwei --help` stays fast
    from soc.service.auth.keys import KeyStore

    return KeyStore(get_settings().ensure_data_dir())


def _matrix():  # noqa: ANN202
    from soc.service.auth.roles import RoleMatrix
    from soc.service.config import ServiceSettings

    settings = get_settings()
    options = ServiceSettings.from_settings(settings)
    return RoleMatrix.load(options.roles_file or settings.policy_dir / "roles.yaml")


@app.command("create")
def create(
    role: str = typer.Option(..., "--role", "-r", help="exchange_platform, data_owner, soc_analyst, "
                             "compliance_officer or admin"),
    name: str = typer.Option(..., "--name", "-n", help="who holds the key (the audit trail's user)"),
    datasets: Optional[str] = typer.Option(None, "--datasets", help="comma-separated datasets the key is "
                                           "limited to (data owners see only these)"),
    grant: list[str] = typer.Option([], "--grant", "-g", help="explicit grant, e.g. decrypt or "
                                    "detokenize (repeatable)"),
    rate: Optional[float] = typer.Option(None, "--rate", min=0, help="requests per second (overrides "
                                         "service.rate_limit.rate; 0 = unlimited)"),
    burst: Optional[int] = typer.Option(None, "--burst", min=0, help="burst size for --rate"),
    fmt: OutputFormat = FormatOption,
) -> None:
    """Create a key; it is printed ONCE (only a salted hash is stored)."""
    try:
        matrix = _matrix()
    except ConfigError as exc:
        fail(str(exc))
    if role not in matrix.roles:
        fail(f"--role: unknown role '{role}' (one of: {', '.join(sorted(matrix.roles))})")
    grants = sorted({g for item in grant for g in _split(item) or []})
    for g in grants:
        if g not in matrix.grant_required:
            fail(f"--grant: '{g}' is not a grantable permission (one of: {', '.join(sorted(matrix.grant_required))})")
        if g not in matrix.roles[role]:
            fail(f"--grant: role '{role}' may not hold '{g}' (policies/roles.yaml)")
    ds = _split(datasets)
    if not name.strip():
        fail("--name: must not be empty")
    secret, record = _store().create(name=name.strip(), role=role, datasets=ds, grants=grants, rate=rate, burst=burst)
    emit(make_event("permission_grant", user="shuwei-cli", target_user=record.name, role="admin",
                    extra={"api_key_id": record.key_id, "key_role": role, "grants": grants,
                           "datasets": ds}), get_settings().data_dir)
    if fmt == OutputFormat.json:
        print_json({**record.public(), "api_key": secret})
    else:
        typer.echo(f"key_id:  {record.key_id}\nname:    {record.name}\nrole:    {role}\n"
                   f"datasets: {','.join(ds) if ds is not None else '(all)'}\ngrants:  {','.join(grants) or '-'}")
        typer.echo(f"api key: {secret}")
        typer.echo("Store it now: it is shown only once.", err=True)


@app.command("list")
def list_keys(
    fmt: OutputFormat = FormatOption,
    limit: Optional[int] = typer.Option(None, "--limit", min=1, help="at most this many keys"),
) -> None:
    """List keys (never the secrets)."""
    rows = [k.public() for k in _store().list()]
    if limit is not None:
        rows = rows[:limit]
    if fmt == OutputFormat.json:
        print_json(rows)
        return
    for row in rows:
        row["datasets"] = ",".join(row["datasets"]) if row["datasets"] is not None else "(all)"
        row["grants"] = ",".join(row["grants"])
        row["status"] = "revoked" if row["revoked_at"] else "active"
    print_table(rows, ["key_id", "name", "role", "datasets", "grants", "status", "created_at"])


@app.command("revoke")
def revoke(key_id: str = typer.Argument(..., help="the key_id shown by create / list")) -> None:
    """Revoke a key; it stops working on the next request."""
    store = _store()
    record = store.get(key_id)
    if record is None:
        fail(f"no API key with key_id '{key_id}'")
    if not store.revoke(key_id):
        fail(f"API key '{key_id}' is already revoked")
    emit(make_event("permission_grant", user="shuwei-cli", target_user=record.name, role="admin",
                    extra={"api_key_id": key_id, "revoked": True}), get_settings().data_dir)
    typer.echo(f"revoked {key_id} ({record.name})")
