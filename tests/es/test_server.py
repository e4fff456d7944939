"""The test server is a real Elasticsearch of the documented version, not running as root."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.es.conftest import EsHandle
from tests.es.es_server import ES_VERSION


def test_real_single_node_cluster(es_server: EsHandle) -> None:
    client = es_server.client()
    health = client.cluster.health(wait_for_status="yellow", timeout="10s")
    assert health["number_of_nodes"] == 1
    node = next(iter(client.nodes.info(metric="process,jvm")["nodes"].values()))
    if es_server.server is None:
        pytest.skip("external SHUWEI_TEST_ES_URL server: version and user are the operator's choice")
    assert node["version"] == ES_VERSION
    status = Path(f"/proc/{node['process']['id']}/status").read_text()
    uid = int(next(line for line in status.splitlines() if line.startswith("Uid:")).split()[1])
    assert uid != 0 and (os.geteuid() != 0 or uid != os.geteuid())
