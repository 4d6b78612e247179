"""The bulk work of a linkage run on DuckDB: read, normalise, link with Splink, cluster, choose golden values.

Records of every input dataset are read through the store's one interface, normalised with Arrow kernels
(NFKC folds full-width characters and Kangxi radicals, all whitespace goes, identifiers are upper-cased),
numbered in input order and handed to Splink in a DuckDB connection of their own. The model (comparisons,
m and u probabilities, blocking rules) is a JSON file in this package: nothing is trained or fetched at run
time, so the same input always gives the same clusters. Only the prior, the share of random pairs that
match, is estimated from the data (the pairs agreeing on the entity's key), because it shrinks with the
number of records and a fixed prior would be wrong at every scale but one.
"""

from __future__ import annotations

import json
import logging
import re
import shutil
import tempfile
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from wanshi.datahub.masterdata.domain import (
    LABEL_DUPLICATE_COLUMN,
    LABEL_ID_COLUMN,
    Decision,
    EntitySpec,
    MasterdataError,
    PairCounts,
    Survivorship,
)
from wanshi.datahub.store import DatasetStore

Stage = Callable[[str], None]

# Share of truly matching pairs assumed to agree exactly on the key (ID number, credit code): the rest
# carry a mistyped key or none. Dividing by it turns the pairs counted on the key into an estimate of all
# matches. Measured on generated departments' records (docs/masterdata.md): about three in four.
KEY_RECALL = 0.75
# Identifiers compared upper-case (the check character X, the letters of a credit code).
UPPER_FIELDS = frozenset({"id_number", "credit_code", "legal_rep_id_number"})
# Resident ID numbers, whose 15-digit form of before 1999 is upgraded to the 18-digit one (GB 11643).
RESIDENT_ID_FIELDS = frozenset({"id_number", "legal_rep_id_number"})
_ID_WEIGHTS = np.array([7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2], dtype=np.int64)
_ID_CHECK = np.frombuffer(b"10X98765432", dtype=np.uint8)
# Rows per part of an output written to the store: a part is what is in memory at a time.
PART_ROWS = 1_000_000
_LOWEST_PRIORITY = 1_000_000
_ROW_COLUMN = "_row"
_SOURCE_COLUMN = "_source"
_LOADED_AT_COLUMN = "_loaded_at"
_BATCH_COLUMN = "batch"

# "batch" itself is the store's own partition column of the output datasets, hence "load_batch".
LINEAGE_COLUMNS = ("dataset", "source", "origin", "load_batch", "row", "loaded_at")


@cache
def load_model(name: str) -> str:
    return resources.files("wanshi.datahub.masterdata").joinpath("models", name).read_text(encoding="utf-8")


def model_settings(spec: EntitySpec, prior: float) -> dict[str, Any]:
    settings: dict[str, Any] = json.loads(load_model(spec.model))
    settings["probability_two_random_records_match"] = prior
    settings["retain_matching_columns"] = False
    settings["retain_intermediate_calculation_columns"] = False
    return settings


def _quoted(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def check_inputs(
    store: DatasetStore, datasets: Sequence[str], spec: EntitySpec, source_column: str | None
) -> dict[str, set[str]]:
    """The columns of each dataset, once each is known to exist and to hold the entity's required fields."""
    known = set(store.datasets())
    found: dict[str, set[str]] = {}
    for dataset in datasets:
        if dataset not in known:
            raise MasterdataError(f"分析库中没有数据集 {dataset}", field="datasets")
        columns = set(store.query(f"SELECT * FROM {_quoted(dataset)} LIMIT 0").column_names)  # noqa: S608
        absent = [f for f in spec.required if f not in columns]
        if absent:
            raise MasterdataError(
                f"数据集 {dataset} 缺少{spec.label}主数据必需的列：{'、'.join(absent)}",
                code="masterdata_missing_columns",
                field="datasets",
            )
        if source_column and source_column not in columns:
            raise MasterdataError(
                f"数据集 {dataset} 没有来源列 {source_column}",
                code="masterdata_missing_columns",
                field="source",
            )
        found[dataset] = columns
    return found


def read_records(
    store: DatasetStore, datasets: Sequence[str], spec: EntitySpec, source_column: str | None
) -> pa.Table:
    """Every record of the datasets with the entity's fields as normalised text, its lineage, its label
    group (the generator's labels, where present) and ``unique_id`` numbering the records in input order."""
    columns = check_inputs(store, datasets, spec, source_column)
    table = pa.concat_tables(_read(store, name, columns[name], spec, source_column) for name in datasets)
    normalised = {name: normalise(table.column(name), name in UPPER_FIELDS) for name in spec.fields}
    for name in RESIDENT_ID_FIELDS & normalised.keys():
        normalised[name] = upgrade_old_ids(normalised[name])
    for name, column in normalised.items():
        table = table.set_column(table.schema.get_field_index(name), name, column)
    return table.add_column(0, "unique_id", pa.array(np.arange(table.num_rows, dtype=np.int64)))


def _read(
    store: DatasetStore, dataset: str, columns: set[str], spec: EntitySpec, source_column: str | None
) -> pa.Table:
    def text(name: str) -> str:
        return f"CAST({_quoted(name)} AS VARCHAR)" if name in columns else "CAST(NULL AS VARCHAR)"

    name_sql = _literal(dataset)
    source = f"coalesce({text(source_column)}, {name_sql})" if source_column else name_sql
    has_labels = {LABEL_ID_COLUMN, LABEL_DUPLICATE_COLUMN} <= columns
    label = (
        f"CAST(coalesce({_quoted(LABEL_DUPLICATE_COLUMN)}, {_quoted(LABEL_ID_COLUMN)}) AS BIGINT)"
        if has_labels
        else "CAST(NULL AS BIGINT)"
    )
    loaded = (
        f"CAST({_quoted(_LOADED_AT_COLUMN)} AS TIMESTAMPTZ)"
        if _LOADED_AT_COLUMN in columns
        else "CAST(NULL AS TIMESTAMPTZ)"
    )
    row = f"CAST({_quoted(_ROW_COLUMN)} AS BIGINT)" if _ROW_COLUMN in columns else "CAST(NULL AS BIGINT)"
    fields = ", ".join(f"{text(name)} AS {_quoted(name)}" for name in spec.fields)
    # No ORDER BY: DuckDB keeps the files' order (preserve_insertion_order), which is what numbers records.
    sql = (
        f"SELECT {fields}, {name_sql} AS dataset, {source} AS source, {text(_SOURCE_COLUMN)} AS origin, "  # noqa: S608
        f"CAST({_quoted(_BATCH_COLUMN)} AS VARCHAR) AS load_batch, {row} AS row, {loaded} AS loaded_at, "
        f"{label} AS label_group FROM {_quoted(dataset)}"
    )
    table = store.query(sql)
    if _ROW_COLUMN not in columns:
        positions = _positions(table.column("load_batch"))
        table = table.set_column(table.schema.get_field_index("row"), "row", positions)
    return table


def _positions(batches: pa.ChunkedArray) -> pa.Array:
    """1-based position of each row inside its batch (a batch's rows are contiguous: one file each)."""
    values = batches.to_numpy(zero_copy_only=False)
    n = len(values)
    if not n:
        return pa.array([], pa.int64())
    starts = np.flatnonzero(np.r_[True, values[1:] != values[:-1]])
    lengths = np.diff(np.r_[starts, n])
    return pa.array(np.arange(n) - np.repeat(starts, lengths) + 1)


def normalise(column: pa.ChunkedArray, upper: bool) -> pa.ChunkedArray:
    """NFKC (full-width digits and letters, Kangxi radicals, the ideographic space), no whitespace at all,
    empty as null; identifiers upper-case."""
    text = pc.utf8_normalize(column.cast(pa.string()), "NFKC")
    text = pc.replace_substring_regex(text, r"\s+", "")
    if upper:
        text = pc.utf8_upper(text)
    result: pa.ChunkedArray = pc.if_else(pc.equal(text, ""), pa.scalar(None, pa.string()), text)
    return result


def upgrade_old_ids(column: pa.ChunkedArray) -> pa.ChunkedArray:
    """15-digit resident ID numbers (issued until 1999, to people born in the 1900s) as the 18-digit number
    the same person holds now: the century "19" inserted and the check character added (GB 11643)."""
    old = pc.fill_null(pc.match_substring_regex(column, r"^\d{15}$"), False)
    rows = np.flatnonzero(old.to_numpy(zero_copy_only=False))
    if not len(rows):
        return column
    digits = np.frombuffer(
        "".join(column.take(pa.array(rows)).to_pylist()).encode("ascii"), dtype=np.uint8
    ).reshape(-1, 15)
    upgraded = np.empty((len(rows), 18), dtype=np.uint8)
    upgraded[:, :6] = digits[:, :6]
    upgraded[:, 6:8] = np.frombuffer(b"19", dtype=np.uint8)
    upgraded[:, 8:17] = digits[:, 6:]
    upgraded[:, 17] = _ID_CHECK[((upgraded[:, :17].astype(np.int64) - ord("0")) @ _ID_WEIGHTS) % 11]
    values = pa.StringArray.from_buffers(
        len(rows),
        pa.py_buffer(np.arange(0, 18 * (len(rows) + 1), 18, dtype=np.int32)),
        pa.py_buffer(upgraded.tobytes()),
    )
    index = np.arange(len(column), dtype=np.int64)
    index[rows] = len(column) + np.arange(len(rows))
    combined = pa.concat_arrays([column.combine_chunks(), values])
    return pa.chunked_array([combined.take(pa.array(index))])


@dataclass(frozen=True)
class Linked:
    rows: int
    clusters: int
    linked_clusters: int
    pairs: PairCounts | None


# Receives each output in parts of at most PART_ROWS rows as soon as each is built, so that only one part
# is in memory at a time: "clusters", "golden", then "lineage".
Sink = Callable[[str, pa.Table], None]


@contextmanager
def _quiet_splink() -> Iterator[None]:
    """Splink narrates every step at INFO; the run's own progress and audit entry say what matters."""
    logger = logging.getLogger("splink")
    level = logger.level
    logger.setLevel(logging.WARNING)
    try:
        yield
    finally:
        logger.setLevel(level)


_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([KMGT]?I?B)?\s*$", re.IGNORECASE)
_UNITS = {
    "": 1,
    "B": 1,
    "KB": 1e3,
    "MB": 1e6,
    "GB": 1e9,
    "TB": 1e12,
    "KIB": 2**10,
    "MIB": 2**20,
    "GIB": 2**30,
}
_UNITS["TIB"] = 2**40


def linkage_memory_limit(memory_limit: str) -> str:
    """DuckDB's share of the run's memory budget: half of it. DuckDB fills whatever limit it is given
    (survivorship sorts eight rows per record), and the rest of the process needs the other half: the
    records on their way in, Splink, the output parts on their way out. A limit DuckDB would read but this
    does not is passed on unchanged."""
    match = _SIZE.match(memory_limit)
    if not match:
        return memory_limit
    size = float(match.group(1)) * _UNITS[(match.group(2) or "").upper()]
    return f"{max(int(size / 2 / 2**20), 1)}MiB"


@contextmanager
def _connection(threads: int | None, memory_limit: str | None) -> Iterator[duckdb.DuckDBPyConnection]:
    # A spill folder of our own: an in-memory DuckDB would otherwise spill into ./.tmp of the working folder.
    spill = Path(tempfile.mkdtemp(prefix="wanshi-masterdata-"))
    config: dict[str, Any] = {"temp_directory": str(spill)}
    if threads:
        config["threads"] = threads
    if memory_limit:
        config["memory_limit"] = linkage_memory_limit(memory_limit)
    conn = duckdb.connect(config=config)
    try:
        yield conn
    finally:
        conn.close()
        shutil.rmtree(spill, ignore_errors=True)


def estimate_prior(conn: duckdb.DuckDBPyConnection, key: str, n: int) -> float:
    """The probability that two random records match: pairs agreeing on the key, over KEY_RECALL, over all
    pairs; at least one pair, so that a set without any duplicate can still link what is overwhelming."""
    found = conn.sql(
        f"SELECT coalesce(sum(c * (c - 1) // 2), 0) FROM (SELECT count(*) AS c FROM records "  # noqa: S608
        f"WHERE {_quoted(key)} IS NOT NULL GROUP BY {_quoted(key)})"
    ).fetchall()
    agreeing = int(found[0][0]) if found else 0
    total = n * (n - 1) / 2
    return min(max(agreeing / KEY_RECALL, 1.0) / total, 0.5)


def link(
    store: DatasetStore,
    datasets: Sequence[str],
    spec: EntitySpec,
    survivorship: Survivorship,
    threshold: float,
    run_id: int,
    sink: Sink,
    *,
    source_column: str | None = None,
    threads: int | None = None,
    memory_limit: str | None = None,
    stage: Stage | None = None,
) -> Linked:
    from splink import DuckDBAPI, Linker

    def say(what: str) -> None:
        if stage is not None:
            stage(what)

    say("读取并标准化记录")
    records = read_records(store, datasets, spec, source_column)
    n = records.num_rows
    if n < 2:
        raise MasterdataError("至少需要两条记录才能匹配", field="datasets")
    with _connection(threads, memory_limit) as conn, _quiet_splink():
        conn.register("records_arrow", records)
        conn.execute("CREATE TABLE records AS SELECT * FROM records_arrow")
        conn.unregister("records_arrow")
        del records  # DuckDB holds its own copy now (and may spill it)
        prior = estimate_prior(conn, spec.key, n)
        linker = Linker(
            "records",
            model_settings(spec, prior),
            db_api=DuckDBAPI(connection=conn),
            set_up_basic_logging=False,
        )
        say("匹配记录对")
        predictions = linker.inference.predict(threshold_match_probability=threshold)
        say("聚类")
        clustered = linker.clustering.cluster_pairwise_predictions_at_threshold(predictions, threshold)
        conn.execute(
            "CREATE TABLE clustered AS SELECT c.cluster_id::BIGINT AS cluster_id, r.* FROM "  # noqa: S608
            f"{clustered.physical_name} AS c JOIN records AS r USING (unique_id)"
        )
        for table in (clustered, predictions):
            table.drop_table_from_database_and_remove_from_cache()
        conn.execute("DROP TABLE records")
        say("生成黄金记录")
        _survivors(conn, spec, survivorship)
        say("写入分析库")
        _write_parts(sink, "clusters", _clusters(conn, spec, run_id))
        _write_parts(sink, "golden", _golden(conn, spec, run_id))
        _write_parts(
            sink,
            "lineage",
            conn.sql(
                f"SELECT {run_id}::BIGINT AS run_id, * EXCLUDE (field_order) FROM lineage "  # noqa: S608
                "ORDER BY cluster_id, field_order"
            ),
        )
        return Linked(
            rows=n,
            clusters=_scalar(conn, "SELECT count(DISTINCT cluster_id) FROM clustered"),
            linked_clusters=_scalar(
                conn, "SELECT count(*) FROM (SELECT cluster_id FROM clustered GROUP BY 1 HAVING count(*) > 1)"
            ),
            pairs=pair_counts(conn, "clustered"),
        )


def _scalar(conn: duckdb.DuckDBPyConnection, sql: str) -> int:
    rows = conn.sql(sql).fetchall()
    return int(rows[0][0]) if rows and rows[0][0] is not None else 0


def pair_counts(conn: duckdb.DuckDBPyConnection, table: str) -> PairCounts | None:
    """Pairs among the labelled records of ``table`` (cluster_id, label_group); None without labels."""
    labelled = f"(SELECT cluster_id, label_group FROM {table} WHERE label_group IS NOT NULL)"  # noqa: S608

    def pairs(keys: str) -> int:
        return _scalar(
            conn,
            f"SELECT coalesce(sum(c * (c - 1) // 2), 0) FROM "  # noqa: S608
            f"(SELECT count(*) AS c FROM {labelled} GROUP BY {keys})",
        )

    if not _scalar(conn, f"SELECT count(*) FROM {labelled}"):  # noqa: S608
        return None
    return PairCounts(
        predicted=pairs("cluster_id"), labelled=pairs("label_group"), correct=pairs("cluster_id, label_group")
    )


def _survivors(conn: duckdb.DuckDBPyConnection, spec: EntitySpec, survivorship: Survivorship) -> None:
    """The table ``lineage``: one row per cluster and field with the value chosen and where it came from.

    Candidates are the distinct non-null values of a field in a cluster. A value's best record is the one
    from the most authoritative source, then the latest load, then the first in input order; values are
    ranked by their best record's priority, then its load time, then how many records hold the value,
    then the value itself (a stable tie-break). ``decision`` names the criterion that separated the winner
    from the runner-up.
    """
    conn.execute("CREATE TABLE priority (field VARCHAR, source VARCHAR, rank INTEGER)")
    ranks = survivorship.ranks(spec.fields)
    if ranks:
        conn.executemany("INSERT INTO priority VALUES (?, ?, ?)", ranks)
    conn.execute("CREATE TABLE field_order (field VARCHAR, field_order INTEGER)")
    conn.executemany("INSERT INTO field_order VALUES (?, ?)", [(n, i) for i, n in enumerate(spec.fields)])
    lineage = ", ".join(LINEAGE_COLUMNS)
    fields = ", ".join(_quoted(name) for name in spec.fields)
    conn.execute(
        f"""
        CREATE TABLE lineage AS
        WITH sizes AS (SELECT cluster_id, count(*) AS records FROM clustered GROUP BY cluster_id),
        candidates AS (
            UNPIVOT (SELECT cluster_id, unique_id, {lineage}, {fields} FROM clustered)
            ON {fields} INTO NAME field VALUE value
        ),
        prioritised AS (
            SELECT c.*, coalesce(p.rank, {_LOWEST_PRIORITY}) AS priority
            FROM candidates AS c LEFT JOIN priority AS p ON p.field = c.field AND p.source = c.source
        ),
        best AS (
            SELECT *, count(*) OVER same_value AS frequency FROM prioritised
            WINDOW same_value AS (PARTITION BY cluster_id, field, value)
            QUALIFY row_number() OVER (
                PARTITION BY cluster_id, field, value ORDER BY priority, loaded_at DESC NULLS LAST, unique_id
            ) = 1
        ),
        ranked AS (
            SELECT *,
                row_number() OVER (
                    PARTITION BY cluster_id, field
                    ORDER BY priority, loaded_at DESC NULLS LAST, frequency DESC, value
                ) AS position,
                count(*) OVER (PARTITION BY cluster_id, field) AS values_count
            FROM best
        )
        SELECT w.cluster_id, w.field, o.field_order, w.value,
            CASE
                WHEN s.records = 1 THEN '{Decision.SINGLE.value}'
                WHEN w.values_count = 1 THEN '{Decision.AGREED.value}'
                WHEN w.priority < r.priority THEN '{Decision.PRIORITY.value}'
                WHEN w.loaded_at IS NOT NULL AND (r.loaded_at IS NULL OR w.loaded_at > r.loaded_at)
                    THEN '{Decision.RECENT.value}'
                WHEN w.frequency > r.frequency THEN '{Decision.FREQUENT.value}'
                ELSE '{Decision.TIE.value}'
            END AS decision,
            w.values_count AS candidates, w.frequency AS supporting_records,
            w.unique_id, {", ".join(f"w.{c}" for c in LINEAGE_COLUMNS)}
        FROM ranked AS w
        JOIN sizes AS s USING (cluster_id)
        JOIN field_order AS o USING (field)
        LEFT JOIN ranked AS r ON r.cluster_id = w.cluster_id AND r.field = w.field AND r.position = 2
        WHERE w.position = 1
        """  # noqa: S608
    )


def _write_parts(sink: Sink, kind: str, relation: duckdb.DuckDBPyRelation) -> None:
    """The relation's rows handed to ``sink`` in tables of at most PART_ROWS rows, in order."""
    pending: list[pa.RecordBatch] = []
    rows = 0
    for batch in relation.to_arrow_reader(batch_size=PART_ROWS):
        if rows + batch.num_rows > PART_ROWS and pending:
            sink(kind, pa.Table.from_batches(pending))
            pending, rows = [], 0
        pending.append(batch)
        rows += batch.num_rows
    if pending:
        sink(kind, pa.Table.from_batches(pending))


def _clusters(conn: duckdb.DuckDBPyConnection, spec: EntitySpec, run_id: int) -> duckdb.DuckDBPyRelation:
    return conn.sql(
        f"SELECT {run_id}::BIGINT AS run_id, cluster_id, unique_id, {_quoted(spec.key)}, "  # noqa: S608
        f"{', '.join(LINEAGE_COLUMNS)}, label_group FROM clustered ORDER BY cluster_id, unique_id"
    )


def _golden(conn: duckdb.DuckDBPyConnection, spec: EntitySpec, run_id: int) -> duckdb.DuckDBPyRelation:
    values = ", ".join(
        f"max(value) FILTER (WHERE field = {_literal(name)}) AS {_quoted(name)}" for name in spec.fields
    )
    fields = ", ".join(f"g.{_quoted(name)}" for name in spec.fields)
    return conn.sql(
        f"""
        SELECT {run_id}::BIGINT AS run_id, s.cluster_id, s.records, s.sources, {fields}
        FROM (
            SELECT cluster_id, count(*) AS records, list(DISTINCT source ORDER BY source) AS sources
            FROM clustered GROUP BY cluster_id
        ) AS s
        LEFT JOIN (SELECT cluster_id, {values} FROM lineage GROUP BY cluster_id) AS g USING (cluster_id)
        ORDER BY s.cluster_id
        """  # noqa: S608
    )
