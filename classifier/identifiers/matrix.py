"""Arrow string arrays as numpy character matrices, for checksums without a Python loop."""

from __future__ import annotations

import numpy as np
import pyarrow as pa


def fixed_width(values: pa.Array, width: int) -> np.ndarray:
    """ASCII strings of one length as an (n, width) uint8 matrix, without a Python loop."""
    arr = values.combine_chunks() if isinstance(values, pa.ChunkedArray) else values
    n = len(arr)
    if n == 0:
        return np.zeros((0, width), dtype=np.uint8)
    offsets = np.frombuffer(arr.buffers()[1], dtype=np.int32)[arr.offset:arr.offset + n + 1]
    data = np.frombuffer(arr.buffers()[2], dtype=np.uint8)
    return data[offsets[0]:offsets[-1]].reshape(n, width)
