"""DuckDB over Parquet: one folder per dataset, one Hive-style folder per batch, written atomically.

Layout: <root>/<dataset>/batch=<id>/data.parquet — DuckDB reads the batch id back as a column.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq

from wanshi.datahub.store.base import StoreError, check_batch, check_dataset

DATA_FILE = "data.parquet"
ROW_GROUP_ROWS = 1 << 17


# LZ4 by default: decoding is what checks and queries spend most on, and LZ4 decodes the generated
# population in about 70 % of zstd's CPU time (pyarrow, 4M rows: 0.36 s against 0.49 s) and compresses
# several times faster, for files about 1.7x the size. zstd suits a store where disk matters more.
COMPRESSIONS = ("lz4", "zstd", "snappy", "none")


class ParquetDuckDBStore:
    def __init__(
        self, root: Path, *, threads: int | None = None, memory_limit: str = "2GB", compression: str = "lz4"
    ) -> None:
        if compression not in COMPRESSIONS:
            choices = "、".join(COMPRESSIONS)
            raise StoreError(f"不支持的压缩方式“{compression}”，可用：{choices}", field="compression")
        self.root = root
        self.threads = threads or os.cpu_count() or 1
        self.memory_limit = memory_limit
        self.compression = compression
        self._lock = threading.Lock()

    def _folder(self, dataset: str) -> Path:
        return self.root / check_dataset(dataset)

    def _file(self, dataset: str, batch_id: str) -> Path:
        return self._folder(dataset) / f"batch={check_batch(batch_id)}" / DATA_FILE

    def write_batch(self, dataset: str, batch_id: str, rows: pa.Table) -> int:
        target = self._file(dataset, batch_id)
        target.parent.mkdir(parents=True, exist_ok=True)
        temporary = target.with_name(f".{target.name}.{os.getpid()}.{threading.get_ident()}.tmp")
        try:
            # Row groups of 128k rows let DuckDB scan one file on several threads.
            pq.write_table(rows, temporary, compression=self.compression, row_group_size=ROW_GROUP_ROWS)
            with temporary.open("rb+") as handle:
                os.fsync(handle.fileno())
            # rename() is atomic: readers see the old batch or the new one, never half of either.
            temporary.replace(target)
        finally:
            temporary.unlink(missing_ok=True)
        return int(rows.num_rows)

    def delete_batch(self, dataset: str, batch_id: str) -> bool:
        target = self._file(dataset, batch_id)
        if not target.exists():
            return False
        target.unlink()
        return True

    def batches(self, dataset: str) -> list[str]:
        folder = self._folder(dataset)
        if not folder.exists():
            return []
        return sorted(p.parent.name[len("batch=") :] for p in folder.glob(f"batch=*/{DATA_FILE}"))

    def datasets(self) -> list[str]:
        if not self.root.exists():
            return []
        return sorted(
            p.name for p in self.root.iterdir() if p.is_dir() and any(p.glob(f"batch=*/{DATA_FILE}"))
        )

    def count(self, dataset: str) -> int:
        files = self.files(dataset)
        return sum(pq.ParquetFile(f).metadata.num_rows for f in files)

    def files(self, dataset: str) -> list[Path]:
        """The dataset's batch files, in batch order."""
        folder = self._folder(dataset)
        return sorted(folder.glob(f"batch=*/{DATA_FILE}")) if folder.exists() else []

    def connect(self) -> duckdb.DuckDBPyConnection:
        """A fresh in-memory DuckDB connection with a view per dataset (the batch column included)."""
        conn = duckdb.connect(config={"threads": self.threads, "memory_limit": self.memory_limit})
        for name in self.datasets():
            pattern = str(self._folder(name) / "batch=*" / DATA_FILE).replace("'", "''")
            # Dataset names are checked against DATASET_NAME and the path is quoted: no injection.
            conn.execute(
                f"CREATE VIEW \"{name}\" AS SELECT * FROM read_parquet('{pattern}', "  # noqa: S608
                "hive_partitioning = true, union_by_name = true)"
            )
        return conn

    def query(self, sql: str, params: Sequence[Any] = ()) -> pa.Table:
        with self._lock:
            conn = self.connect()
            try:
                # sql() builds the Arrow table directly; an execute() result would be copied once more.
                return conn.sql(sql, params=list(params) or None).to_arrow_table()
            finally:
                conn.close()
