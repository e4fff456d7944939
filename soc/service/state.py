"""Everything a request needs, built once per worker process and kept on ``app.state.shuwei``.

Backends (catalog, masking engine, ingest pipeline) are opened lazily on first use so the service
starts — and ``/healthz`` answers — even while one of them cannot be opened; ``/readyz`` tells.
"""

from __future__ import annotations

import fcntl
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from classifier import audit
from classifier.settings import Settings
from soc.service.auth.jwt_auth import JwtVerifier
from soc.service.auth.keys import KeyStore
from soc.service.auth.roles import RoleMatrix
from soc.service.config import ServiceSettings
from soc.service.ratelimit import RateLimiter
from soc.service.selfaudit import SelfAudit


class Backends:
    """Lazily opened, thread-safe singletons of the other areas' engines."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._lock = threading.Lock()
        self._made: dict[str, Any] = {}
        self._ingest_lock = threading.Lock()
        self._grades: dict[str, tuple[float, Any]] = {}
        self._lock_path = settings.ensure_data_dir() / "soc.ingest.lock"

    def _get(self, name: str, factory: Callable[[], Any]) -> Any:
        value = self._made.get(name)
        if value is None:
            with self._lock:
                value = self._made.get(name)
                if value is None:
                    value = factory()
                    self._made[name] = value
        return value

    def loaded(self, name: str) -> Any:
        """The backend if it is already open (lets the event loop skip a thread hop), else None."""
        return self._made.get(name)

    def masking(self) -> Any:
        from crypto.engine import MaskingEngine

        return self._get("masking", lambda: MaskingEngine.from_settings(self.settings))

    def keys(self) -> Any:
        """Managed keys for /v1/tokenize, /v1/encrypt and their reverse: the masking engine's when
        it is open (shared caches), else their own — they need no masking policy."""
        engine = self._made.get("masking")
        if engine is not None:
            return engine.keys
        from crypto.keys import ManagedKeys

        return self._get("keys", lambda: ManagedKeys(self.settings))

    def keyring(self) -> Any:
        """The crypto keyring, opened with the master key (readiness: without it every hash,
        token and ciphertext call fails); a changed keyring file is re-verified."""
        ring = self.keys().keyring
        ring.refresh()
        return ring

    def field_grades(self, dataset: str, ttl: float) -> dict[str, Any] | None:
        """Catalog grades of ``dataset``, cached for ``ttl`` seconds (a review shows within ``ttl``).

        Every mask call would otherwise read and parse the latest scan under the catalog's one
        connection lock — measured as the largest share of a single-record /v1/mask call.
        """
        now = time.monotonic()
        hit = self._grades.get(dataset)
        if hit is not None and now - hit[0] < ttl:
            return hit[1]
        grades = self.catalog().field_grades(dataset)
        if len(self._grades) > 10_000:
            self._grades.clear()
        self._grades[dataset] = (now, grades)
        return grades

    def catalog(self) -> Any:
        from classifier.catalog import Catalog

        return self._get("catalog", lambda: Catalog.open(self.settings))

    def pipeline(self) -> Any:
        from soc.ingest import IngestPipeline

        return self._get("pipeline", lambda: IngestPipeline.from_settings(self.settings))

    def ingest(self, events: list[Any], *, origin: str) -> Any:
        """One ingest at a time: per process (the streaming detector keeps state between batches)
        and across worker processes, through a blocking file lock — SQLite's own busy handler
        polls with sleeps of up to 100 ms, which showed up as second-long tails with 2 workers."""
        pipeline = self.pipeline()
        with self._exclusive():
            return pipeline.ingest(events, origin=origin)

    def drain_outbox(self) -> Any:
        """Ingest new lines of <data_dir>/audit/outbox.jsonl (events of CLI runs, e.g. new keys)."""
        pipeline = self.pipeline()
        with self._exclusive():
            return pipeline.ingest_outbox(self.settings.data_dir)

    @contextmanager
    def _exclusive(self) -> Iterator[None]:
        with self._ingest_lock, open(self._lock_path, "a+b") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)

    def alerts(self) -> Any:
        """The pipeline's AlertManager: the same store (and lock) detections write through."""
        return self.pipeline().alerts


def load_config(settings: Settings) -> tuple[ServiceSettings, RoleMatrix, JwtVerifier | None]:
    """The service's own configuration, validated (ConfigError names file and field)."""
    options = ServiceSettings.from_settings(settings)
    roles = RoleMatrix.load(options.roles_file or settings.policy_dir / "roles.yaml")
    return options, roles, JwtVerifier(options.jwt) if options.jwt.jwks_file else None


class ServiceState:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.options, self.roles, self.jwt = load_config(settings)
        settings.ensure_data_dir()
        self.keys = KeyStore(settings.data_dir)
        self.limiter = RateLimiter()
        self.backends = Backends(settings)
        self.audit = SelfAudit(lambda events: self.backends.ingest(events, origin="shuwei-service"),
                               settings.data_dir, idle=self.backends.drain_outbox)

    def install_audit_sink(self) -> None:
        """Route every ``classifier.audit.emit`` of this process into the SOC (see selfaudit)."""
        audit.set_audit_sink(self.audit.emit)

    def record(self, action: str, principal: Any, *, request_id: str | None, wait: bool = True,
               result: str = "success", extra: dict[str, Any] | None = None, **fields: Any) -> None:
        """Emit one audit event about a call; ``wait=False`` from the event loop (never block it)."""
        event = self.call_event(action, principal, request_id=request_id, result=result, extra=extra, **fields)
        if wait:
            self.audit.emit(event)
        else:
            self.audit.submit(event)

    @staticmethod
    def call_event(action: str, principal: Any, *, request_id: str | None, result: str = "success",
                   extra: dict[str, Any] | None = None, **fields: Any) -> dict[str, Any]:
        """The audit event (``source: shuwei``) describing one API call by ``principal``."""
        return audit.make_event(action, user=principal.subject, role=principal.role, result=result,
                                extra={"api_key_id": principal.key_id, "request_id": request_id,
                                       **(extra or {})}, **fields)

    def alert_counts(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for alert in self.backends.alerts().list():
            counts[alert["status"]] = counts.get(alert["status"], 0) + 1
        return counts
