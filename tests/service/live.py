"""A real ``shuwei serve`` subprocess on a free loopback port, for tests and benchmarks."""

from __future__ import annotations

import os
import secrets
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class LiveServer:
    """Start, ``kill -9`` and restart the service exactly as an operator would run it."""

    def __init__(self, data_dir: Path, config: Path, workers: int = 1, log: Path | None = None,
                 args: Sequence[str] = ()) -> None:
        self.data_dir = data_dir
        self.config = config
        self.workers = workers
        self.args = list(args)  # more `shuwei serve` options, e.g. --log-format json
        self.port = free_port()
        self.log = log or data_dir.parent / "server.log"
        self.proc: subprocess.Popen[bytes] | None = None
        self.master_key = os.environ.get("SHUWEI_MASTER_KEY") or secrets.token_hex(32)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("SHUWEI_")}
        env.update(SHUWEI_DATA_DIR=str(self.data_dir), SHUWEI_CONFIG=str(self.config),
                   SHUWEI_MASTER_KEY=self.master_key)
        return env

    def start(self, timeout: float = 60) -> None:
        cmd = [sys.executable, "-m", "soc.cli.serve", "--host", "127.0.0.1", "--port", str(self.port),
               "--workers", str(self.workers), *self.args]
        with open(self.log, "ab") as log:
            self.proc = subprocess.Popen(cmd, cwd=REPO, env=self.env(), stdout=log, stderr=subprocess.STDOUT,
                                         start_new_session=True)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited with {self.proc.returncode}: {self.log.read_text()[-2000:]}")
            try:
                if httpx.get(self.url + "/healthz", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        raise RuntimeError(f"server did not answer within {timeout}s: {self.log.read_text()[-2000:]}")

    def kill9(self) -> None:
        """SIGKILL the whole process group (uvicorn and its workers): no clean shutdown at all."""
        assert self.proc is not None
        os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait(timeout=10)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.kill9()
