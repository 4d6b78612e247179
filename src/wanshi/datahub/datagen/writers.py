"""Writing generated chunks: into the analytical store, or to Parquet, CSV or JSON Lines files.

A writer thread takes each chunk while the next one is generated (pyarrow and numpy release the GIL), and
the queue between them holds one chunk, so memory stays flat whatever the number of rows.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Literal

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from wanshi.datahub.store.base import DatasetStore

Format = Literal["parquet", "csv", "jsonl"]
Encoding = Literal["utf-8", "utf-8-sig", "gb18030"]
Progress = Callable[[int], None]

_DONE = object()


def write_to_store(
    chunks: Iterable[pa.Table],
    store: DatasetStore,
    dataset: str,
    batch_prefix: str,
    progress: Progress | None = None,
) -> int:
    """One batch per chunk, named ``<prefix>-00000`` and up: re-running the same generation replaces, never
    doubles, the rows."""
    number = 0

    def write(table: pa.Table) -> None:
        nonlocal number
        store.write_batch(dataset, f"{batch_prefix}-{number:05d}", table)
        number += 1

    return _pipeline(chunks, write, progress)


def write_to_file(
    chunks: Iterable[pa.Table],
    path: Path,
    file_format: Format,
    encoding: Encoding = "utf-8",
    headers: dict[str, str] | None = None,
    progress: Progress | None = None,
) -> int:
    """``headers`` renames columns (for example to their Chinese names, as departments deliver files)."""
    renamed = (_rename(table, headers) for table in chunks) if headers else chunks
    path.parent.mkdir(parents=True, exist_ok=True)
    if file_format == "parquet":
        if encoding != "utf-8":
            raise ValueError("Parquet stores text as UTF-8 only")
        return _write_parquet(renamed, path, progress)
    with path.open("wb") as handle:
        if encoding == "utf-8-sig":
            handle.write("\ufeff".encode())
        writer = _csv_writer(handle, encoding) if file_format == "csv" else _jsonl_writer(handle, encoding)
        return _pipeline(renamed, writer, progress)


def _rename(table: pa.Table, headers: dict[str, str]) -> pa.Table:
    return table.rename_columns([headers.get(name, name) for name in table.column_names])


def _write_parquet(chunks: Iterable[pa.Table], path: Path, progress: Progress | None) -> int:
    with _parquet_writer(path) as holder:

        def write(table: pa.Table) -> None:
            if not holder:
                holder.append(pq.ParquetWriter(path, table.schema, compression="zstd"))
            holder[0].write_table(table)

        return _pipeline(chunks, write, progress)


@contextmanager
def _parquet_writer(path: Path) -> Iterator[list[pq.ParquetWriter]]:
    holder: list[pq.ParquetWriter] = []
    try:
        yield holder
    finally:
        if holder:
            holder[0].close()


def _transcode(data: bytes, encoding: Encoding) -> bytes:
    # Arrow writes UTF-8 only; GB18030 (not GBK) is needed because Kangxi radicals are outside GBK.
    return data if encoding != "gb18030" else data.decode("utf-8").encode("gb18030")


def _csv_writer(handle: IO[bytes], encoding: Encoding) -> Callable[[pa.Table], None]:
    first = True

    def write(table: pa.Table) -> None:
        nonlocal first
        sink = pa.BufferOutputStream()
        pacsv.write_csv(table, sink, pacsv.WriteOptions(include_header=first))
        first = False
        handle.write(_transcode(sink.getvalue().to_pybytes(), encoding))

    return write


def _jsonl_writer(handle: IO[bytes], encoding: Encoding) -> Callable[[pa.Table], None]:
    connection = duckdb.connect()

    def write(table: pa.Table) -> None:
        connection.register("chunk", table)
        lines = connection.sql(
            "SELECT to_json(chunk)::VARCHAR || chr(10) AS line FROM chunk"
        ).to_arrow_table()
        connection.unregister("chunk")
        for array in lines.column("line").cast(pa.string()).chunks:
            # The values buffer of a string array is its strings back to back: the file's bytes.
            offsets = np.frombuffer(array.buffers()[1], dtype=np.int32)[
                array.offset : array.offset + len(array) + 1
            ]
            data = array.buffers()[2].to_pybytes()[offsets[0] : offsets[-1]] if len(array) else b""
            handle.write(_transcode(data, encoding))

    return write


def _pipeline(
    chunks: Iterable[pa.Table], write: Callable[[pa.Table], None], progress: Progress | None
) -> int:
    handoff: queue.Queue[object] = queue.Queue(maxsize=1)
    failure: list[BaseException] = []

    def consume() -> None:
        while (item := handoff.get()) is not _DONE:
            if failure:
                continue  # drain so the producer never blocks after an error
            try:
                assert isinstance(item, pa.Table)
                write(item)
                if progress:
                    progress(item.num_rows)
            except BaseException as exc:  # re-raised in the calling thread
                failure.append(exc)

    worker = threading.Thread(target=consume, name="datagen-writer", daemon=True)
    worker.start()
    rows = 0
    try:
        for table in chunks:
            if failure:
                break
            handoff.put(table)
            rows += table.num_rows
    finally:
        handoff.put(_DONE)
        worker.join()
    if failure:
        raise failure[0]
    return rows
