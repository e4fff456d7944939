"""Start one real Elasticsearch for the ES tests only (this conftest is not seen by other areas).

``SHUWEI_TEST_ES_URL`` points the tests at a server you already run instead. Without one, the
server is fetched from Maven Central and started (see ``tests/es/es_server.py``). When that is
impossible the tests are skipped with the reason — except under ``CI=true``, where they fail.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator

import pytest
from elasticsearch import Elasticsearch

from tests.es.es_server import EsServer, EsUnavailable

HOW_TO_ENABLE = (
    "ES tests need Maven (to fetch org.elasticsearch.distribution.integ-test-zip 8.19.21 from Maven "
    "Central) and Java 17+; or set SHUWEI_TEST_ES_URL to a running Elasticsearch 8.x"
)


class EsHandle:
    """The test server: its URL, and for the server we started, stop/start to test outages."""

    def __init__(self, url: str, server: EsServer | None) -> None:
        self.url = url
        self.server = server

    def client(self) -> Elasticsearch:
        return Elasticsearch(self.url, request_timeout=30)


@pytest.fixture(scope="session")
def es_server() -> Iterator[EsHandle]:
    if url := os.environ.get("SHUWEI_TEST_ES_URL"):
        yield EsHandle(url, None)
        return
    try:
        server = EsServer()
        server.start()
    except EsUnavailable as exc:
        if os.environ.get("CI") == "true":
            pytest.fail(f"Elasticsearch did not start under CI: {exc}", pytrace=False)
        pytest.skip(f"Elasticsearch unavailable: {exc}. {HOW_TO_ENABLE}")
    try:
        yield EsHandle(server.url, server)
    finally:
        server.cleanup()


@pytest.fixture()
def es_prefix(es_server: EsHandle) -> Iterator[str]:
    """A unique index prefix per test; its indices and templates are deleted afterwards."""
    prefix = f"t{uuid.uuid4().hex[:10]}"
    yield prefix
    client = es_server.client()
    client.options(ignore_status=404).indices.delete(index=f"{prefix}-*", expand_wildcards="all")
    client.options(ignore_status=404).indices.delete_index_template(name=f"{prefix}-*")
    client.close()


@pytest.fixture()
def make_store(es_server: EsHandle, es_prefix: str, tmp_path):  # type: ignore[no-untyped-def]
    """Build an EsEventStore on the test server under this test's prefix (closed afterwards)."""
    from soc.store.es import EsConfig, EsEventStore, make_client

    stores = []

    def factory(**options: object) -> EsEventStore:
        cfg = EsConfig(url=es_server.url, index_prefix=es_prefix, replicas=0, **options)
        store = EsEventStore(make_client(cfg), cfg, tmp_path / f"spool{len(stores)}.db")
        stores.append(store)
        return store

    yield factory
    for store in stores:
        store.close()
