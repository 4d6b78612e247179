from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from wanshi.datahub.store import ParquetDuckDBStore, StoreError


def _rows(n: int, start: int = 0) -> pa.Table:
    ids = list(range(start, start + n))
    return pa.table({"id": ids, "name": [f"张{i}" for i in ids]})


def test_batches_replace_instead_of_doubling(tmp_path: Path) -> None:
    store = ParquetDuckDBStore(tmp_path)
    store.write_batch("population", "b1", _rows(3))
    store.write_batch("population", "b1", _rows(3))
    store.write_batch("population", "b2", _rows(2, start=3))
    assert store.count("population") == 5
    assert store.batches("population") == ["b1", "b2"]
    result = store.query("SELECT batch, count(*) AS n FROM population GROUP BY batch ORDER BY batch")
    assert result.to_pylist() == [{"batch": "b1", "n": 3}, {"batch": "b2", "n": 2}]
    assert store.delete_batch("population", "b1")
    assert store.count("population") == 2
    assert store.query("SELECT name FROM population WHERE id = ?", [4]).to_pylist() == [{"name": "张4"}]


def test_a_crashed_write_leaves_nothing_visible(tmp_path: Path) -> None:
    store = ParquetDuckDBStore(tmp_path)
    (tmp_path / "population" / "batch=b9").mkdir(parents=True)
    (tmp_path / "population" / "batch=b9" / ".data.parquet.123.1.tmp").write_bytes(b"half a file")
    assert store.batches("population") == []
    assert store.datasets() == []


@pytest.mark.parametrize("name", ["Population", "1abc", "a-b", "x" * 70, "../etc"])
def test_bad_dataset_names_are_refused(tmp_path: Path, name: str) -> None:
    with pytest.raises(StoreError):
        ParquetDuckDBStore(tmp_path).write_batch(name, "b1", _rows(1))


@pytest.mark.parametrize("compression", ["lz4", "zstd", "none"])
def test_batches_are_written_with_the_chosen_compression(tmp_path: Path, compression: str) -> None:
    store = ParquetDuckDBStore(tmp_path, compression=compression)
    store.write_batch("people", "b1", pa.table({"a": [1, 2, 3]}))
    (path,) = store.files("people")
    codec = pq.ParquetFile(path).metadata.row_group(0).column(0).compression
    assert codec == {"lz4": "LZ4", "zstd": "ZSTD", "none": "UNCOMPRESSED"}[compression]
    assert store.query("SELECT sum(a) AS s FROM people").to_pylist() == [{"s": 6}]


def test_an_unknown_compression_is_refused() -> None:
    with pytest.raises(StoreError) as refused:
        ParquetDuckDBStore(Path("/nonexistent"), compression="gzip")
    assert "gzip" in refused.value.message
