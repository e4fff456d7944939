"""Parquet, read batch by batch with pyarrow; every column is cast to text for detection."""

from __future__ import annotations

import json
from collections.abc import Iterator


import pyarrow as pa
import pyarrow.parquet as pq

from classifier.errors import InputError
from classifier.readers.base import FileSource, check_file


def as_text(column: pa.Array) -> pa.Array:
    """Primitive types cast natively; nested ones become JSON text."""
    try:
        return column.cast(pa.string())
    except (pa.ArrowNotImplementedError, pa.ArrowInvalid):
        return pa.array([None if v is None else json.dumps(v, ensure_ascii=False, default=str)
                         for v in column.to_pylist()], type=pa.string())


class ParquetSource(FileSource):
    def open(self) -> tuple[list[str], Iterator[pa.RecordBatch], bool]:
        check_file(self.path)
        try:
            pf = pq.ParquetFile(self.path)
        except (pa.ArrowInvalid, OSError) as exc:
            raise InputError(str(self.path), f"not a readable Parquet file ({type(exc).__name__})") from None
        names = list(pf.schema_arrow.names)
        if pf.metadata.num_rows == 0:
            raise InputError(str(self.path), "no rows")

        def batches() -> Iterator[pa.RecordBatch]:
            try:
                for batch in pf.iter_batches(batch_size=self.options.batch_rows):
                    yield pa.RecordBatch.from_arrays([as_text(c) for c in batch.columns], names=names)
            except (pa.ArrowInvalid, OSError) as exc:
                raise InputError(str(self.path), f"corrupt Parquet data ({type(exc).__name__})") from None

        return names, batches(), True
