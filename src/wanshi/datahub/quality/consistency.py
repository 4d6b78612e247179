"""Cross-source consistency (一数一源): the same person or enterprise held by several departments.

A declarative configuration names the sources (store datasets, or catalogue resources the services resolve
to their mounted datasets), the key that identifies the person or enterprise in all of them, and for each
compared field the source that is authoritative for it (姓名 from the public-security population registry,
住所 from the civil-affairs one, ...). Every other source's value is compared with the authoritative one;
a disagreement is flagged (key, field, source value, authoritative value, source), never corrected here:
the non-authoritative provider fixes its data and reloads.

Everything runs in DuckDB SQL over the datasets (joins and aggregates, vectorised); no row passes through
Python. Values are compared as trimmed text, so ``2020-01-01`` in a DATE column equals the same text in a
VARCHAR column; an empty string counts as missing. A key missing from the authoritative source, or whose
authoritative value is missing, is not compared: there is nothing to say which value is right.
Keys are expected to be unique per source (that is a ``unique`` rule's job): a duplicated key is compared
once per copy.

Configuration (YAML or JSON)::

    name: person_basic
    key: id_number
    sources:
      police: {resource: "101001001/000001"}          # or {dataset: population_police}
      civil:  {resource: "101001002/000001", columns: {name: xm}}
    fields:
      name: police        # field: the alias of its authoritative source
      address: civil
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import duckdb
import pyarrow as pa
import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from wanshi.datahub.store.parquet import ParquetDuckDBStore
from wanshi.kernel.errors import ValidationFailed

NAME = r"^[a-z][a-z0-9_]{0,39}$"
ALIAS = r"^[a-z][a-z0-9_]{0,29}$"
COLUMN = r"^[A-Za-z_][A-Za-z0-9_]{0,62}$"
DATASET = r"^[a-z][a-z0-9_]{0,62}$"
SAMPLE_SIZE = 20
MAX_SOURCES = 10
MAX_FIELDS = 100
FLAG_SCHEMA = pa.schema(
    [
        ("key", pa.string()),
        ("field", pa.string()),
        ("source", pa.string()),
        ("source_value", pa.string()),
        ("authoritative_value", pa.string()),
        ("authority", pa.string()),
    ]
)


class ConsistencyError(ValidationFailed):
    code = "quality_consistency_invalid"
    default_message = "跨源比对配置有误"


class SourceSpec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    resource: str = Field(default="", max_length=20)
    dataset: str = Field(default="", pattern=r"^$|" + DATASET)
    key: str | None = Field(default=None, pattern=COLUMN)  # the key's column here, if named differently
    columns: dict[str, str] = Field(default_factory=dict)  # compared field -> its column here

    @model_validator(mode="after")
    def _one_place(self) -> SourceSpec:
        if bool(self.resource) == bool(self.dataset):
            raise ValueError("source_place")
        return self


class ConsistencyConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(pattern=NAME)
    key: str = Field(pattern=COLUMN)
    sources: dict[str, SourceSpec]
    fields: dict[str, str]  # compared field -> alias of its authoritative source
    output: str = Field(default="", pattern=r"^$|" + DATASET)

    @model_validator(mode="after")
    def _coherent(self) -> ConsistencyConfig:
        if not 2 <= len(self.sources) <= MAX_SOURCES:
            raise ValueError("sources_count")
        if not 1 <= len(self.fields) <= MAX_FIELDS:
            raise ValueError("fields_count")
        for alias, spec in self.sources.items():
            if not re.fullmatch(ALIAS, alias):
                raise ValueError(f"bad_alias:{alias}")
            for field, column in spec.columns.items():
                if field not in self.fields or not re.fullmatch(COLUMN, column):
                    raise ValueError(f"bad_column:{alias}.{field}")
        for field, authority in self.fields.items():
            if not re.fullmatch(COLUMN, field):
                raise ValueError(f"bad_field:{field}")
            if authority not in self.sources:
                raise ValueError(f"unknown_authority:{field}")
        return self

    @property
    def flags_dataset(self) -> str:
        return self.output or f"quality_consistency_{self.name}"

    def column(self, alias: str, field: str) -> str:
        return self.sources[alias].columns.get(field, field)

    def key_column(self, alias: str) -> str:
        return self.sources[alias].key or self.key


_REASONS = {
    "syntax": "无法解析",
    "not_mapping": "顶层应为对象（包含 name、key、sources、fields）",
    "missing": "缺少必填项",
    "unknown_key": "含有未知的配置项",
    "bad_value": "取值无效",
    "source_place": "每个来源须且只能指定 resource（资源代码）或 dataset（数据集）之一",
    "sources_count": f"须有 2–{MAX_SOURCES} 个来源",
    "fields_count": f"须比对 1–{MAX_FIELDS} 个字段",
    "bad_alias": "来源别名须以小写字母开头，只含小写字母、数字和下划线",
    "bad_column": "列映射只能指向比对字段，列名须为有效字段名",
    "bad_field": "比对字段名无效",
    "unknown_authority": "权威来源须是 sources 中的来源别名",
}


def load_config(text: str) -> ConsistencyConfig:
    """A configuration from YAML or JSON text; mistakes raise ``ConsistencyError`` in Chinese with a
    stable ``details["reason"]``."""
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ConsistencyError(f"比对配置{_REASONS['syntax']}：{exc}", reason="syntax") from None
    return parse_config(data)


def parse_config(data: Any) -> ConsistencyConfig:
    if not isinstance(data, dict):
        raise ConsistencyError(f"比对配置：{_REASONS['not_mapping']}", reason="not_mapping")
    try:
        return ConsistencyConfig.model_validate(data)
    except ValidationError as exc:
        error = exc.errors()[0]
        where = ".".join(str(p) for p in error["loc"])
        kind = error["type"]
        subject = ""
        if kind == "missing":
            reason = "missing"
        elif kind == "extra_forbidden":
            reason = "unknown_key"
        elif kind == "value_error":
            code, _sep, subject = str(error.get("ctx", {}).get("error", "")).partition(":")
            reason = code if code in _REASONS else "bad_value"
        else:
            reason = "bad_value"
        at = f"“{subject or where}”" if (subject or where) else ""
        raise ConsistencyError(
            f"比对配置{at}：{_REASONS[reason]}", reason=reason, field=subject or where
        ) from None


@dataclass(frozen=True)
class FieldComparison:
    """One non-authoritative source's values of one field against the authoritative source's."""

    source: str
    field: str
    authority: str
    compared: int
    disagreed: int
    sample_keys: tuple[str, ...]

    @property
    def rate(self) -> float:
        return self.disagreed / self.compared if self.compared else 0.0


@dataclass(frozen=True)
class ConsistencyReport:
    name: str
    rows: dict[str, int]  # rows per source alias
    comparisons: tuple[FieldComparison, ...]
    flagged: pa.Table  # FLAG_SCHEMA
    seconds: float

    def comparison(self, source: str, field: str) -> FieldComparison:
        return next(c for c in self.comparisons if c.source == source and c.field == field)

    def for_source(self, source: str) -> tuple[FieldComparison, ...]:
        return tuple(c for c in self.comparisons if c.source == source)


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _view(alias: str) -> str:
    return _quote(f"src_{alias}")


@contextmanager
def _connect(
    config: ConsistencyConfig, tables: Mapping[str, pa.Table], store: ParquetDuckDBStore | None,
    datasets: Mapping[str, str],
) -> Iterator[duckdb.DuckDBPyConnection]:  # fmt: skip
    conn = store.connect() if store is not None else duckdb.connect()
    try:
        present = set(store.datasets()) if store is not None else set()
        for alias, spec in config.sources.items():
            if alias in tables:
                conn.register(f"src_{alias}", tables[alias])
                continue
            dataset = datasets.get(alias) or spec.dataset
            if store is None or dataset not in present:
                raise ConsistencyError(
                    f"来源“{alias}”的数据集“{dataset or spec.resource}”不存在或没有数据",
                    code="quality_consistency_no_data",
                    reason="no_data",
                    field=alias,
                )
            conn.execute(f"CREATE TEMP VIEW {_view(alias)} AS SELECT * FROM {_quote(dataset)}")  # noqa: S608
        yield conn
    finally:
        conn.close()


def _columns(conn: duckdb.DuckDBPyConnection, alias: str) -> set[str]:
    return {str(row[0]) for row in conn.execute(f"DESCRIBE {_view(alias)}").fetchall()}


def _value(column: str) -> str:
    return f"NULLIF(trim(CAST({_quote(column)} AS VARCHAR)), '')"


def _select(key: str, column: str, alias: str) -> str:
    # Names are checked against COLUMN and ALIAS patterns and quoted: no injection.
    return f"SELECT {_value(key)} AS k, {_value(column)} AS v FROM {_view(alias)}"  # noqa: S608


def _pairs(config: ConsistencyConfig, conn: duckdb.DuckDBPyConnection) -> list[tuple[str, str, str, str]]:
    """(source, field, authority, SQL of the joined values) for every comparable pair."""
    columns = {alias: _columns(conn, alias) for alias in config.sources}
    for alias in config.sources:
        if config.key_column(alias) not in columns[alias]:
            raise ConsistencyError(
                f"来源“{alias}”没有键字段“{config.key_column(alias)}”",
                code="quality_consistency_no_key",
                reason="no_key",
                field=alias,
            )
    pairs = []
    for field, authority in config.fields.items():
        if config.column(authority, field) not in columns[authority]:
            raise ConsistencyError(
                f"权威来源“{authority}”没有字段“{config.column(authority, field)}”",
                code="quality_consistency_no_field",
                reason="no_field",
                field=field,
            )
        for source in config.sources:
            if source == authority or config.column(source, field) not in columns[source]:
                continue  # a source that does not hold the field has nothing to disagree about
            mine = _select(config.key_column(source), config.column(source, field), source)
            theirs = _select(config.key_column(authority), config.column(authority, field), authority)
            joined = (
                f"SELECT s.k AS k, s.v AS sv, a.v AS av FROM ({mine}) s JOIN ({theirs}) a ON s.k = a.k "  # noqa: S608
                "WHERE a.v IS NOT NULL AND s.k IS NOT NULL"
            )
            pairs.append((source, field, authority, joined))
    return pairs


def _count_sql(source: str, field: str, joined: str) -> str:
    # Only checked names and quoted literals reach the SQL.
    return (
        f"SELECT {_literal(source)} AS source, {_literal(field)} AS field, count(*) AS compared, "  # noqa: S608
        f"count(*) FILTER (WHERE sv IS DISTINCT FROM av) AS disagreed FROM ({joined})"
    )


def _flag_sql(source: str, field: str, authority: str, joined: str) -> str:
    return (
        f"SELECT k AS key, {_literal(field)} AS field, {_literal(source)} AS source, "  # noqa: S608
        f"sv AS source_value, av AS authoritative_value, {_literal(authority)} AS authority "
        f"FROM ({joined}) WHERE sv IS DISTINCT FROM av"
    )


def check_consistency(
    config: ConsistencyConfig,
    *,
    tables: Mapping[str, pa.Table] | None = None,
    store: ParquetDuckDBStore | None = None,
    datasets: Mapping[str, str] | None = None,
    sample_size: int = SAMPLE_SIZE,
) -> ConsistencyReport:
    """Compare every non-authoritative source with the authoritative one, field by field.

    Sources come from ``tables`` (alias -> Arrow table) or from the ``store``, under ``datasets[alias]``
    (the services resolve catalogue resources to their mounted datasets) or the configuration's dataset.
    """
    started = time.perf_counter()
    tables = tables or {}
    with _connect(config, tables, store, datasets or {}) as conn:
        rows = {
            alias: int(conn.execute(f"SELECT count(*) FROM {_view(alias)}").fetchone()[0])  # type: ignore[index]  # noqa: S608
            for alias in config.sources
        }
        pairs = _pairs(config, conn)
        if not pairs:
            return ConsistencyReport(config.name, rows, (), FLAG_SCHEMA.empty_table(), 0.0)
        counts_sql = " UNION ALL ".join(_count_sql(s, f, joined) for s, f, _a, joined in pairs)
        flags_sql = " UNION ALL ".join(_flag_sql(s, f, a, joined) for s, f, a, joined in pairs)
        counts = {(str(r[0]), str(r[1])): (int(r[2]), int(r[3])) for r in conn.execute(counts_sql).fetchall()}
        flagged = conn.sql(f"{flags_sql} ORDER BY source, field, key").to_arrow_table().cast(FLAG_SCHEMA)
        conn.register("flagged", flagged)
        samples = {
            (str(r[0]), str(r[1])): tuple(str(k) for k in r[2])
            for r in conn.execute(
                "SELECT source, field, list(key ORDER BY key)[1:?] FROM flagged GROUP BY source, field",
                [int(sample_size)],
            ).fetchall()
        }
    comparisons = tuple(
        FieldComparison(s, f, a, *counts[(s, f)], samples.get((s, f), ())) for s, f, a, _joined in pairs
    )
    return ConsistencyReport(config.name, rows, comparisons, flagged, time.perf_counter() - started)


def write_flags(store: ParquetDuckDBStore, config: ConsistencyConfig, batch: str, flagged: pa.Table) -> int:
    """The flagged rows as one batch of the configuration's dataset; writing the same batch replaces it."""
    return store.write_batch(config.flags_dataset, batch, flagged)
