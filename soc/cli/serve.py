"""`shuwei serve`: the HTTP service under uvicorn."""

from __future__ import annotations

import os
import shutil
import tempfile
from typing import Optional

import typer

from classifier.settings import CONFIG_ENV, ConfigError, get_settings
from soc import logsetup
from soc.cli.common import LogFormat, LogLevel, fail


def serve(
    host: str = typer.Option("127.0.0.1", "--host", help="address to bind (0.0.0.0 for all)"),
    port: int = typer.Option(8080, "--port", "-p", min=0, max=65535, help="TCP port"),
    workers: int = typer.Option(1, "--workers", "-w", min=1, help="worker processes"),
    proxy_headers: bool = typer.Option(False, "--proxy-headers",
                                       help="trust X-Forwarded-For/-Proto from --forwarded-allow-ips"),
    forwarded_allow_ips: Optional[str] = typer.Option(None, "--forwarded-allow-ips",
                                                      help="comma-separated proxy addresses to trust"),
    log_level: Optional[LogLevel] = typer.Option(None, "--log-level", help="log level of the service and "
                                                 "uvicorn (default: the root --log-level, else warning)"),
    log_format: Optional[LogFormat] = typer.Option(None, "--log-format", help="text or json lines on stderr "
                                                   "(default: the root --log-format, else text)"),
) -> None:
    """Run the HTTP API (OpenAPI at /docs) on the embedded SQLite stores of data_dir."""
    import uvicorn

    from soc.service.state import load_config

    try:
        settings = get_settings()
        load_config(settings)  # fail fast, with a one-line error, on a bad configuration
    except ConfigError as exc:
        fail(str(exc))
    settings.ensure_data_dir()
    # Workers re-read the configuration: hand them the resolved file and data dir.
    if settings.source_file is not None:
        os.environ[CONFIG_ENV] = str(settings.source_file.resolve())
    os.environ["SHUWEI_DATA_DIR"] = str(settings.data_dir.resolve())
    metrics_dir = None
    if workers > 1:
        metrics_dir = tempfile.mkdtemp(prefix="shuwei-metrics-")
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = metrics_dir
    typer.echo(f"Shuwei service on http://{host}:{port} (OpenAPI: /docs), data in {settings.data_dir}", err=True)
    level = log_level.value if log_level else logsetup.current()[0]
    fmt = log_format.value if log_format else logsetup.current()[1]
    try:
        # uvicorn applies the same logging set-up in every worker process it starts.
        uvicorn.run("soc.service.app:app_factory", factory=True, host=host, port=port, workers=workers,
                    proxy_headers=proxy_headers, forwarded_allow_ips=forwarded_allow_ips,
                    log_config=logsetup.dict_config(level, fmt), log_level=level, access_log=False,
                    server_header=False)
    finally:
        if metrics_dir:
            shutil.rmtree(metrics_dir, ignore_errors=True)


if __name__ == "__main__":
    # `python -m soc.cli.serve` skips importing every other CLI area (workers re-import __main__).
    typer.run(serve)
