"""Reservoir sampling (Algorithm R) over the whole stream, vectorised per batch, seeded for repeatability."""

from __future__ import annotations

from typing import Any

import numpy as np
import pyarrow as pa


class Reservoir:
    """A uniform sample of ``size`` rows from a stream of unknown length, not its head."""

    def __init__(self, size: int, seed: int) -> None:
        self.size = size
        self.rng = np.random.default_rng(seed)
        self.rows: list[dict[str, Any]] = []
        self.seen = 0

    def offer(self, batch: pa.RecordBatch) -> None:
        k = batch.num_rows
        fill = max(0, min(k, self.size - len(self.rows)))
        if fill:
            self.rows.extend(batch.slice(0, fill).to_pylist())
        if fill < k:
            pos = np.arange(fill, k)
            slots = self.rng.integers(0, self.seen + pos + 1)  # row i replaces slot j ∈ [0, i] if j < size
            chosen = slots < self.size
            if chosen.any():
                slots, pos = slots[chosen], pos[chosen]
                # several rows of one batch may hit the same slot: the later row wins, as in sequence
                _, last_rev = np.unique(slots[::-1], return_index=True)
                keep = len(slots) - 1 - last_rev
                for slot, row in zip(slots[keep], batch.take(pa.array(pos[keep])).to_pylist()):
                    self.rows[int(slot)] = row
        self.seen += k

    def column(self, name: str) -> list[Any]:
        return [row.get(name) for row in self.rows]
