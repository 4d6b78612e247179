"""Lookups over the analytical store: the registry indexes, and the store-backed e-licence and credit readers.

A registry index is a DuckDB database file holding one row per identifier, sorted and with a unique ART
index on the key, so a lookup touches a few pages instead of scanning the dataset (measured in
bench/registry.py). When a number occurs more than once the newest load wins: by the ingest lineage
(``_loaded_at``) where the dataset has it, else by the highest batch id, then the lowest ``record_id``.
``reindex`` rebuilds the index from the dataset into a temporary file and renames it into place, so
readers see the old index or the new one, never half of either; each index has a manifest recording the
dataset's fingerprint when it was built, from which its staleness is judged.
"""

from __future__ import annotations

import json
import os
import threading
import time
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from datetime import datetime
from enum import StrEnum
from pathlib import Path
from typing import Any, Protocol

import duckdb
import pyarrow as pa

from wanshi.datahub.store import DatasetStore, ParquetDuckDBStore
from wanshi.datahub.store.base import check_dataset
from wanshi.kernel import clock
from wanshi.kernel.errors import NotFound, WanshiError

KEY = "key"
TABLE = "entry"


class IndexUnavailable(WanshiError):
    code = "registry_index_missing"
    http_status = 503
    default_message = "基础库索引尚未建立，请管理员运行 wanshi registry reindex"


class Kind(StrEnum):
    PERSON = "person"
    ENTERPRISE = "enterprise"

    @property
    def label(self) -> str:
        return "人口库" if self is Kind.PERSON else "法人库"


@dataclass(frozen=True)
class IndexSpec:
    kind: Kind
    dataset: str
    key_column: str
    fields: tuple[str, ...]


@dataclass(frozen=True)
class IndexStatus:
    kind: Kind
    dataset: str
    built: bool
    built_at: datetime | None
    rows: int
    # Records whose number occurs more than once in the dataset: the index keeps the newest one.
    duplicates: int
    build_seconds: float
    # The dataset changed (a load, a replaced batch) since the index was built, or the index is missing.
    stale: bool


class _Reader:
    """One read-only connection per index file, reopened when a rebuild has replaced the file."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.lock = threading.Lock()
        self.conn: duckdb.DuckDBPyConnection | None = None
        self.identity: tuple[int, int] | None = None

    def fetch(self, sql: str, params: list[Any]) -> tuple[list[str], tuple[Any, ...] | None]:
        with self.lock:
            try:
                stat = self.path.stat()
            except FileNotFoundError:
                self._close()
                raise IndexUnavailable() from None
            identity = (stat.st_ino, stat.st_mtime_ns)
            if self.conn is None or identity != self.identity:
                self._close()
                self.conn = duckdb.connect(str(self.path), read_only=True, config={"threads": 1})
                self.identity = identity
            cursor = self.conn.execute(sql, params)
            columns = [d[0] for d in cursor.description or ()]
            return columns, cursor.fetchone()

    def _close(self) -> None:
        if self.conn is not None:
            self.conn.close()
        self.conn, self.identity = None, None


_READERS: dict[Path, _Reader] = {}
_READERS_LOCK = threading.Lock()


def _reader(path: Path) -> _Reader:
    with _READERS_LOCK:
        found = _READERS.get(path)
        if found is None:
            found = _READERS[path] = _Reader(path)
        return found


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _scalar(conn: duckdb.DuckDBPyConnection, sql: str) -> int:
    row = conn.execute(sql).fetchone()
    return int(row[0]) if row is not None else 0


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _fingerprint(store: DatasetStore, dataset: str) -> dict[str, Any]:
    """What changes whenever the dataset's rows can have changed."""
    batches = store.batches(dataset)
    found: dict[str, Any] = {"batches": batches, "rows": store.count(dataset) if batches else 0}
    if isinstance(store, ParquetDuckDBStore):
        # A batch re-written under the same id keeps the list and maybe the count: its file does not.
        files = []
        for batch in batches:
            stat = (store.root / dataset / f"batch={batch}" / "data.parquet").stat()
            files.append([batch, stat.st_size, stat.st_mtime_ns])
        found["files"] = files
    return found


class RegistryIndex:
    def __init__(self, folder: Path, spec: IndexSpec) -> None:
        self.folder = folder
        self.spec = spec
        self.path = folder / f"{spec.kind.value}.duckdb"
        self.manifest_path = folder / f"{spec.kind.value}.json"

    # --- lookups ------------------------------------------------------------------------------------------
    def lookup(self, key: str) -> dict[str, str | None] | None:
        columns = ", ".join(_quote(f) for f in self.spec.fields)
        sql = f"SELECT {columns} FROM {TABLE} WHERE {KEY} = ?"  # noqa: S608 - fixed field names, quoted
        names, row = _reader(self.path).fetch(sql, [key])
        if row is None:
            return None
        return {n: (None if v is None else str(v)) for n, v in zip(names, row, strict=True)}

    def built_at(self) -> datetime | None:
        manifest = self._manifest()
        return datetime.fromisoformat(manifest["built_at"]) if manifest else None

    # --- state --------------------------------------------------------------------------------------------
    def _manifest(self) -> dict[str, Any] | None:
        try:
            data: dict[str, Any] = json.loads(self.manifest_path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return None
        return data

    def status(self, store: DatasetStore) -> IndexStatus:
        manifest = self._manifest()
        if manifest is None or not self.path.exists():
            return IndexStatus(self.spec.kind, self.spec.dataset, False, None, 0, 0, 0.0, True)
        stale = manifest.get("dataset") != self.spec.dataset or manifest.get("fingerprint") != _fingerprint(
            store, self.spec.dataset
        )
        return IndexStatus(
            kind=self.spec.kind,
            dataset=self.spec.dataset,
            built=True,
            built_at=datetime.fromisoformat(manifest["built_at"]),
            rows=int(manifest["rows"]),
            duplicates=int(manifest["duplicates"]),
            build_seconds=float(manifest["build_seconds"]),
            stale=stale,
        )

    # --- building -----------------------------------------------------------------------------------------
    def build(self, store: DatasetStore) -> IndexStatus:
        dataset = check_dataset(self.spec.dataset)
        if dataset not in store.datasets():
            raise NotFound(
                f"分析库中没有数据集“{dataset}”，无法建立{self.spec.kind.label}索引",
                code="registry_dataset_missing",
            )
        started = time.perf_counter()
        fingerprint = _fingerprint(store, dataset)
        self.folder.mkdir(parents=True, exist_ok=True)
        temporary = self.folder / f".{self.path.name}.{os.getpid()}.{threading.get_ident()}.tmp"
        temporary.unlink(missing_ok=True)
        try:
            source_rows, rows = self._write(store, dataset, temporary)
            with temporary.open("rb+") as handle:
                os.fsync(handle.fileno())
            temporary.replace(self.path)
        finally:
            temporary.unlink(missing_ok=True)
        built = IndexStatus(
            kind=self.spec.kind,
            dataset=dataset,
            built=True,
            built_at=clock.now(),
            rows=rows,
            duplicates=source_rows - rows,
            build_seconds=round(time.perf_counter() - started, 3),
            stale=False,
        )
        self._write_manifest(built, fingerprint)
        return built

    def _write_manifest(self, built: IndexStatus, fingerprint: dict[str, Any]) -> None:
        data = {
            **asdict(built),
            "kind": built.kind.value,
            "built_at": built.built_at.isoformat() if built.built_at else None,
            "fingerprint": fingerprint,
        }
        temporary = self.manifest_path.with_suffix(".json.tmp")
        temporary.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
        temporary.replace(self.manifest_path)

    def _select(self, columns: set[str], source: str) -> str:
        """One row per key, the newest load first; a field the dataset lacks is null."""
        key = f"upper(trim(CAST({_quote(self.spec.key_column)} AS VARCHAR)))"
        fields = ", ".join(
            f"CAST({_quote(f)} AS VARCHAR) AS {_quote(f)}"
            if f in columns
            else f"NULL::VARCHAR AS {_quote(f)}"
            for f in self.spec.fields
        )
        order = [f"{_quote(c)} DESC NULLS LAST" for c in ("_loaded_at", "batch") if c in columns] + [
            f"{_quote(c)}" for c in ("record_id",) if c in columns
        ]
        order_by = f"ORDER BY {', '.join(order)}" if order else ""
        return (
            f"SELECT {key} AS {KEY}, {fields}, row_number() OVER (PARTITION BY {key} {order_by}) AS _n "  # noqa: S608
            f"FROM {source} WHERE {_quote(self.spec.key_column)} IS NOT NULL"
        )

    def _write(self, store: DatasetStore, dataset: str, target: Path) -> tuple[int, int]:
        if isinstance(store, ParquetDuckDBStore):
            # Streams from the Parquet files into the index file without holding the dataset in memory.
            conn = store.connect()
            source = _quote(dataset)
        else:
            conn = duckdb.connect()
            conn.register("source_rows", store.query(f"SELECT * FROM {_quote(dataset)}"))  # noqa: S608
            source = "source_rows"
        try:
            spill = self.folder / ".spill"
            conn.execute(f"SET temp_directory = {_literal(str(spill))}")
            columns = {str(r[0]) for r in conn.execute(f"DESCRIBE {source}").fetchall()}
            if self.spec.key_column not in columns:
                raise NotFound(
                    f"数据集“{dataset}”没有字段 {self.spec.key_column}", code="registry_dataset_missing"
                )
            conn.execute(f"ATTACH {_literal(str(target))} AS idx")
            # Every name in these statements is a constant or a checked, quoted identifier.
            conn.execute(
                f"CREATE TABLE idx.{TABLE} AS SELECT * EXCLUDE (_n) "  # noqa: S608
                f"FROM ({self._select(columns, source)}) WHERE _n = 1 ORDER BY {KEY}"
            )
            conn.execute(f"CREATE UNIQUE INDEX ix_{TABLE}_{KEY} ON idx.{TABLE} ({KEY})")
            key = _quote(self.spec.key_column)
            source_rows = _scalar(conn, f"SELECT count(*) FROM {source} WHERE {key} IS NOT NULL")  # noqa: S608
            rows = _scalar(conn, f"SELECT count(*) FROM idx.{TABLE}")  # noqa: S608
            conn.execute("DETACH idx")
        finally:
            conn.close()
        return source_rows, rows


# --- e-licences and credit: store-backed readers until their own contexts exist ---------------------------
@dataclass(frozen=True)
class LicenceEntry:
    """One e-licence (电子证照) held by a person or an organisation (GB/T 36903 metadata, in part)."""

    licence_id: str
    licence_type: str
    licence_name: str
    number: str
    issuer: str
    issued_date: str
    valid_until: str
    status: str


@dataclass(frozen=True)
class CreditEntry:
    """One credit record (信用记录): a commendation, a penalty or a 失信 listing, by its authority."""

    record_type: str
    title: str
    authority: str
    decided_date: str
    valid_until: str
    status: str


class ElicenceIndex(Protocol):
    def licences_of(self, holder_code: str) -> tuple[LicenceEntry, ...]: ...


class CreditRegistry(Protocol):
    def records_of(self, subject_code: str) -> tuple[CreditEntry, ...]: ...


ELICENCE_DATASET = "elicence_index"
CREDIT_DATASET = "credit_record"


def _rows_for(store: DatasetStore, dataset: str, column: str, value: str) -> list[Mapping[str, Any]]:
    if dataset not in store.datasets():
        return []
    table: pa.Table = store.query(
        f"SELECT * FROM {_quote(dataset)} WHERE {_quote(column)} = ?",  # noqa: S608 - constant names
        [value],
    )
    return list(table.to_pylist())


def _text(row: Mapping[str, Any], name: str) -> str:
    value = row.get(name)
    return "" if value is None else str(value)


class StoreElicenceIndex:
    """Reads dataset ``elicence_index`` (holder_code, licence_id, licence_type, licence_name, number,
    issuer, issued_date, valid_until, status); nothing when it does not exist yet. The e-licence issue
    replaces this with its own index."""

    def __init__(self, store: DatasetStore, dataset: str = ELICENCE_DATASET) -> None:
        self.store = store
        self.dataset = dataset

    def licences_of(self, holder_code: str) -> tuple[LicenceEntry, ...]:
        rows = _rows_for(self.store, self.dataset, "holder_code", holder_code)
        return tuple(
            LicenceEntry(**{f: _text(r, f) for f in LicenceEntry.__dataclass_fields__}) for r in rows
        )


class StoreCreditRegistry:
    """Reads dataset ``credit_record`` (subject_code, record_type, title, authority, decided_date,
    valid_until, status); nothing when it does not exist yet."""

    def __init__(self, store: DatasetStore, dataset: str = CREDIT_DATASET) -> None:
        self.store = store
        self.dataset = dataset

    def records_of(self, subject_code: str) -> tuple[CreditEntry, ...]:
        rows = _rows_for(self.store, self.dataset, "subject_code", subject_code)
        return tuple(CreditEntry(**{f: _text(r, f) for f in CreditEntry.__dataclass_fields__}) for r in rows)
