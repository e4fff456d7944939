"""Parity on rules nobody on the team wrote: the SigmaHQ sample of tests/soc gives the same matches
hunted in Elasticsearch as in memory, over Windows-style events stored as they come (their fields
are not in the exchange mapping: ``dynamic: false`` keeps them in ``_source`` only)."""

from __future__ import annotations

from pathlib import Path

from bench.soc.windows_events import generate
from soc.detection import hunt
from soc.detection.es_hunt import es_hunt
from tests.es.test_hunt import signature
from tests.soc.test_detection_sigmahq import corpus, sample_rules  # noqa: F401  (corpus is a fixture)


def test_sigmahq_sample_parity_memory_elasticsearch(corpus: Path, make_store, tmp_path: Path) -> None:  # noqa: F811
    pack = sample_rules(corpus, tmp_path)
    events = generate(600, seed=3, bad_share=0.5)
    memory = [signature(m) for m in hunt(pack, events, backend="memory")]
    store = make_store()
    store.append(events)
    es = [signature(m) for m in es_hunt(pack, store)]
    assert len({m[0] for m in memory}) >= 3  # the sample really fires
    assert es == memory
