"""``shuwei demo --serve``: leave the HTTP service running on the demo's data, with a key per role."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

from classifier.settings import Settings
from soc.service.auth.keys import KeyStore
from soc.service.auth.roles import ROLES


def demo_settings(settings: Settings, samples_dir: Path) -> Settings:
    """The demo's settings with the sample directory as the service's one readable root."""
    service = dict(settings.section("service"))
    service.setdefault("readable_roots", [str(samples_dir)])
    merged = Settings.model_validate({**settings.model_dump(), "service": service})
    merged.source_file = settings.source_file
    return merged


def serve_demo(ctx: dict[str, Any], host: str = "127.0.0.1", port: int = 8080) -> None:
    import uvicorn

    from soc import logsetup
    from soc.service.app import create_app

    settings: Settings = ctx["settings"]
    datasets = sorted({c["dataset"] for c in ctx.get("catalog", [])})
    samples = Path(settings.data_dir) / "samples"
    store = KeyStore(settings.ensure_data_dir())
    typer.echo(f"\n== HTTP service (shuwei serve) on http://{host}:{port} — OpenAPI at /docs")
    hint = ctx["hint"]
    typer.echo(f"API keys created for this demo (shown once; `{hint('apikey list')}` / "
               f"`{hint('apikey revoke KEY_ID')}` manage them):")
    keys: dict[str, str] = {}
    for role in ROLES:
        grants = ["decrypt", "detokenize"] if role in ("exchange_platform", "admin") else []
        scoped = datasets if role == "data_owner" else None
        keys[role], record = store.create(name=f"demo-{role}", role=role, datasets=scoped, grants=grants)
        extra = f" datasets={','.join(scoped)}" if scoped else ""
        extra += f" grants={','.join(grants)}" if grants else ""
        typer.echo(f"  {role:<19} {keys[role]}{extra}")
    body = ('{"dataset": "pop_basic", "caller": {"user": "u1024", "role": "analyst", "purpose": "疫苗接种统计"}, '
            '"records": [{"姓名": "欧阳娜娜", "公民身份号码": "11010519491231002X", "联系电话": "13812345678"}]}')
    typer.echo("\nTry:")
    typer.echo(f"  curl -s -H 'Authorization: Bearer {keys['exchange_platform']}' -H 'Content-Type: application/json' "
               f"-d '{body}' http://{host}:{port}/v1/mask")
    typer.echo(f"  curl -s -H 'Authorization: Bearer {keys['soc_analyst']}' 'http://{host}:{port}/v1/alerts?limit=5'")
    typer.echo(f"\nWeb console 控制台: http://{host}:{port}/console/ — sign in with a key above; each role sees its "
               "own pages (soc_analyst: alerts; data_owner: its datasets and approvals; exchange_platform: masking "
               "try-it and approvals; compliance_officer: alerts, datasets, approvals read-only; admin: all, and keys)")
    typer.echo("Ctrl-C stops the service.")
    app = create_app(demo_settings(settings, samples))
    level, fmt = logsetup.current()  # the CLI root's --log-level/--log-format, as for `shuwei serve`
    uvicorn.run(app, host=host, port=port, log_config=logsetup.dict_config(level, fmt), log_level=level,
                access_log=False, server_header=False)
