"""Evaluate a rule set over a dataset in one streaming pass.

ONE DuckDB query streams the dataset as Arrow record batches: the row key, the columns the per-batch rules
need, and every rule that needs the whole dataset or SQL casts (unique, referential, ranges and cross-field
checks over text columns) compiled to an expression that is TRUE when a row fails, FALSE when it passes and
NULL when the rule does not apply, packed as bits of UBIGINT columns (failed, skipped). Row-local rules on
well-typed columns (not null, format, code tables, typed ranges, cross-field on a date column, the identifier
checksums) run on each batch with numpy over the Arrow buffers and Arrow compute: measured 2–6x faster per
core than the same expressions in DuckDB. Batches are evaluated in threads while DuckDB produces the next,
so memory is bounded by the batch size, not the dataset (the exception: ``unique`` needs DuckDB's hash
table of the column's values, which spills to disk under the store's memory limit).
"""

from __future__ import annotations

import functools
import time
from collections import deque
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import TypeAlias

import duckdb
import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from wanshi.datahub.quality.kernels import (
    ResidentFacts,
    bool_values,
    credit_code_valid,
    in_codes,
    null_mask,
    resident_id_facts,
)
from wanshi.datahub.quality.patterns import Matcher, blank, compile_format
from wanshi.datahub.quality.rules import (
    CodeTableRule,
    CrossFieldRule,
    FormatRule,
    IdChecksumRule,
    NotNullRule,
    RangeRule,
    ReferentialRule,
    Rule,
    RuleSet,
    Severity,
    TimelinessRule,
    UniqueRule,
    UsccChecksumRule,
)
from wanshi.datahub.store.parquet import ParquetDuckDBStore
from wanshi.kernel.errors import ValidationFailed

BATCH_ROWS = 1 << 18  # measured: same speed as 1 << 20 with about a third less peak memory
SAMPLE_SIZE = 20
_BITS = 64
# How much a failure of each severity lowers the score; information rules are reported, not scored.
SEVERITY_WEIGHTS: Mapping[Severity, float] = {"error": 1.0, "warning": 0.5, "info": 0.0}


class QualityError(ValidationFailed):
    code = "quality_check_failed"
    default_message = "无法执行质量检查"


@dataclass(frozen=True)
class DatasetMetadata:
    """What the catalogue knows about the newest load, for timeliness rules."""

    last_loaded_at: datetime | None
    update_cycle: timedelta | None = None


@dataclass(frozen=True)
class RuleResult:
    rule_id: str
    kind: str
    field: str
    severity: Severity
    message: str
    checked: int
    failed: int
    sample_keys: tuple[object, ...]

    @property
    def failure_rate(self) -> float:
        return self.failed / self.checked if self.checked else 0.0


@dataclass(frozen=True)
class QualityReport:
    dataset: str
    rows: int
    results: tuple[RuleResult, ...]
    score: float  # 0–100: 100 minus the severity-weighted mean failure rate, in percent
    seconds: float
    failures_written: int = 0

    def result(self, rule_id: str) -> RuleResult:
        return next(r for r in self.results if r.rule_id == rule_id)


@dataclass
class _Tally:
    checked: int = 0
    failed: int = 0
    samples: list[object] = field(default_factory=list)


Source: TypeAlias = ParquetDuckDBStore | pa.Table | duckdb.DuckDBPyRelation


def check_quality(
    rule_set: RuleSet,
    source: Source,
    *,
    code_tables: Mapping[str, Sequence[str]] | None = None,
    references: Mapping[str, pa.Table] | None = None,
    metadata: DatasetMetadata | None = None,
    now: datetime | None = None,
    sample_size: int = SAMPLE_SIZE,
    batch_rows: int = BATCH_ROWS,
    failures_store: ParquetDuckDBStore | None = None,
    failures_dataset: str = "quality_failure",
    failures_batch: str | None = None,
    threads: int = 2,
) -> QualityReport:
    """Run every rule of ``rule_set`` over its dataset in ``source``.

    ``source`` is the store (the dataset is the view named ``rule_set.dataset``), an Arrow table, or a
    DuckDB relation. ``code_tables`` resolves ``code_table`` rules' ``table`` (e.g. "division");
    ``references`` supplies referential rules' datasets when the source is not the store. With
    ``failures_store`` every failing (rule, key) pair is written there as one batch, for tickets.
    """
    started = time.perf_counter()
    now = now or datetime.now(UTC)
    with _Executor.open(rule_set.dataset, source, references or {}) as executor:
        plan = _Plan.build(rule_set, executor.schema(), code_tables or {}, now.date())
        tallies = {rule.id: _Tally() for rule in rule_set.rules}
        failures: list[pa.Table] | None = [] if failures_store is not None else None
        rows = 0
        seen: list[tuple[pa.Array, list[_Fingerprints]]] = []
        with ThreadPoolExecutor(max_workers=threads) as pool:
            pending: deque[Future[list[_Evaluated]]] = deque()

            def drain(limit: int) -> None:
                nonlocal rows
                while len(pending) > limit:
                    for keys, outcomes, prints in pending.popleft().result():
                        rows += len(keys)
                        for outcome in outcomes:
                            _record(outcome, tallies[outcome.rule.id], keys, sample_size, failures)
                        if prints:
                            seen.append((keys, prints))

            # At most `threads` units are in flight, so memory stays bounded by the batch or file size.
            for unit in executor.units(plan, batch_rows, threads):
                pending.append(pool.submit(unit))
                drain(threads)
            drain(0)
            for number, unique in enumerate(plan.unique_rules):
                batches = [(keys, prints[number]) for keys, prints in seen]
                for keys, outcome in _duplicates(unique, batches, pool):
                    _record(outcome, tallies[unique.id], keys, sample_size, failures)
    for rule in rule_set.rules:
        if isinstance(rule, TimelinessRule):
            _timeliness(rule, metadata, now, tallies[rule.id])
    written = 0
    if failures_store is not None and failures is not None:
        table = pa.concat_tables(failures) if failures else _FAILURE_SCHEMA.empty_table()
        written = failures_store.write_batch(
            failures_dataset, failures_batch or now.strftime("%Y%m%dT%H%M%S"), table
        )
    results = tuple(
        RuleResult(
            r.id, r.kind, r.field, r.severity, r.message,
            tallies[r.id].checked, tallies[r.id].failed, tuple(tallies[r.id].samples),
        )
        for r in rule_set.rules
    )  # fmt: skip
    return QualityReport(
        rule_set.dataset, rows, results, _score(results), time.perf_counter() - started, written
    )


def _score(results: Sequence[RuleResult]) -> float:
    weights = [(SEVERITY_WEIGHTS[r.severity], r.failure_rate) for r in results if r.checked]
    total = sum(w for w, _ in weights)
    return 100.0 if not total else 100.0 * (1 - sum(w * rate for w, rate in weights) / total)


def _timeliness(rule: TimelinessRule, meta: DatasetMetadata | None, now: datetime, tally: _Tally) -> None:
    max_age = (
        timedelta(days=rule.max_age_days) if rule.max_age_days else (meta.update_cycle if meta else None)
    )
    if meta is None or max_age is None:
        return  # nothing to judge by: reported as 0 checked rather than guessed
    tally.checked = 1
    if meta.last_loaded_at is None or now - meta.last_loaded_at > max_age:
        tally.failed = 1


class _Executor:
    """Runs SQL in which the dataset is visible under its name, over any of the accepted sources."""

    def __init__(
        self,
        dataset: str,
        conn: duckdb.DuckDBPyConnection | None,
        relation: duckdb.DuckDBPyRelation | None,
        files: Sequence[Path] = (),
    ) -> None:
        self.dataset = dataset
        self._conn = conn
        self._relation = relation
        self._files = files

    @classmethod
    @contextmanager
    def open(cls, dataset: str, source: Source, references: Mapping[str, pa.Table]) -> Iterator[_Executor]:
        if isinstance(source, duckdb.DuckDBPyRelation):
            if references:
                raise QualityError("DuckDB 关系作为数据源时，参照数据须在同一连接中", reason="references")
            yield cls(dataset, None, source)
            return
        if isinstance(source, ParquetDuckDBStore):
            if dataset not in source.datasets():
                raise QualityError(f"数据集“{dataset}”不存在或没有数据", reason="no_dataset", dataset=dataset)
            conn, files = source.connect(), source.files(dataset)
        else:
            conn, files = duckdb.connect(), []
            conn.register(dataset, source)
        try:
            for name, table in references.items():
                conn.register(name, table)
            yield cls(dataset, conn, None, files)
        finally:
            conn.close()

    def _result(self, sql: str) -> duckdb.DuckDBPyRelation:
        # Relations, not execute(): a DB-API result copies the rows once more on the way to Arrow.
        result = self._relation.query(self.dataset, sql) if self._relation is not None else None
        if result is None:
            assert self._conn is not None
            result = self._conn.sql(sql)
        return result

    def schema(self) -> pa.Schema:
        return self._result(f"SELECT * FROM {_quote(self.dataset)} LIMIT 0").to_arrow_table().schema  # noqa: S608

    def units(self, plan: _Plan, batch_rows: int, threads: int) -> Iterator[Callable[[], list[_Evaluated]]]:
        """Work for the thread pool. A store's dataset is split by batch file, each read and evaluated by
        one thread with its own cursor, so reading runs on every core (one DuckDB stream feeding the
        threads kept them waiting: measured about one busy core of two). Rules that look into other
        datasets keep the single stream, where each subquery is built once, and so do datasets of fewer
        files than threads. Other sources stream their
        batches to the threads while DuckDB produces the next."""
        if len(self._files) >= threads and self._conn is not None and self._files_match(plan):
            conn = self._conn
            if not plan.sql_rules:
                for path in self._files:
                    yield functools.partial(_evaluate_file, plan, path, conn.cursor(), batch_rows)
                return
            for path in self._files:
                source = "read_parquet('" + str(path).replace("'", "''") + "')"
                yield functools.partial(
                    _evaluate_stream, plan, conn.cursor(), plan.sql_over(source), batch_rows
                )
            return
        try:
            for batch in self._result(plan.sql).to_arrow_reader(batch_rows):
                yield functools.partial(lambda b: [plan.evaluate(b)], batch)
        except duckdb.Error as exc:
            raise QualityError(f"质量检查查询失败：{exc}", reason="query") from exc

    def _files_match(self, plan: _Plan) -> bool:
        """Whether every batch file holds the plan's columns with the dataset's types, so that files can
        be read one by one (the dataset's view unifies files of other shapes; the single stream reads
        those) and no rule looks into other datasets (their subqueries are built once in the stream)."""
        if plan.needs_other_datasets:
            return False
        for path in self._files:
            schema = pq.read_schema(path)
            for name, kind in plan.columns.items():
                if name not in schema.names or not _same_type(schema.field(name).type, kind):
                    return False
        return True


def _same_type(stored: pa.DataType, seen: pa.DataType) -> bool:
    if pa.types.is_dictionary(stored):
        stored = stored.value_type
    texts = (pa.types.is_string, pa.types.is_large_string, pa.types.is_string_view)
    return stored == seen or (any(t(stored) for t in texts) and any(t(seen) for t in texts))


_Evaluated: TypeAlias = tuple[pa.Array, list["_Outcome"], list["_Fingerprints"]]


def _evaluate_file(
    plan: _Plan, path: Path, cursor: duckdb.DuckDBPyConnection, batch_rows: int
) -> list[_Evaluated]:
    """Every row rule over one batch file read with pyarrow: measured a third less CPU than the same
    columns through DuckDB, and columns of codes stay dictionaries."""
    with cursor:
        # Memory-mapped: the compressed pages are decoded from the page cache without a copy first.
        reader = pq.ParquetFile(path, read_dictionary=plan.code_columns, memory_map=True)
        columns = [plan.key, *(name for name in plan.columns if name != plan.key)]
        batches = reader.iter_batches(batch_rows, columns=columns, use_threads=False)
        return [plan.evaluate(plan.prepare(batch, cursor), cursor) for batch in batches]


def _evaluate_stream(
    plan: _Plan, cursor: duckdb.DuckDBPyConnection, sql: str, batch_rows: int
) -> list[_Evaluated]:
    try:
        with cursor:
            return [plan.evaluate(batch) for batch in cursor.sql(sql).to_arrow_reader(batch_rows)]
    except duckdb.Error as exc:
        raise QualityError(f"质量检查查询失败：{exc}", reason="query") from exc


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _literal(value: object) -> str:
    if isinstance(value, date):
        return f"DATE '{value.isoformat()}'"
    if isinstance(value, int | float):
        return repr(value)
    return "'" + str(value).replace("'", "''") + "'"


_FAILURE_SCHEMA = pa.schema([("rule_id", pa.string()), ("row_key", pa.string()), ("severity", pa.string())])


Mask: TypeAlias = npt.NDArray[np.bool_]


@dataclass
class _Outcome:
    """One rule over one batch: rows checked and the positions of the failing rows."""

    rule: Rule
    checked: int
    failed: npt.NDArray[np.intp]


class _Batch:
    """A record batch with what is derived from its columns once and shared by several rules: the parsed
    identifier columns and the masks of text columns equal to a value."""

    def __init__(self, batch: pa.RecordBatch, today: date, keyed: frozenset[str] = frozenset()) -> None:
        self.batch = batch
        self.n = batch.num_rows
        self.today = today
        self.keyed = keyed  # ID columns whose exact keys a unique rule needs
        self._ids: dict[str, ResidentFacts] = {}
        self._equal: dict[tuple[str, str], Mask] = {}

    def column(self, name: str) -> pa.Array:
        values = self.batch.column(name)
        if pa.types.is_dictionary(values.type):
            return values.dictionary_decode()
        return values

    def coded(self, name: str, test: Callable[[pa.Array], Mask]) -> Mask:
        """``test`` over a column, once per distinct value when the column was read as a dictionary."""
        values = self.batch.column(name)
        if not pa.types.is_dictionary(values.type):
            return test(values)
        per_value = test(values.dictionary)
        indices = np.asarray(values.indices.fill_null(0).to_numpy(), dtype=np.intp)
        result: Mask = per_value[indices] if len(per_value) else np.zeros(len(values), dtype=np.bool_)
        return result

    def resident(self, name: str) -> ResidentFacts:
        if name not in self._ids:
            self._ids[name] = resident_id_facts(
                self.column(name), today=self.today, with_keys=name in self.keyed
            )
        return self._ids[name]

    def equal(self, name: str, value: str) -> Mask:
        if (name, value) not in self._equal:
            self._equal[name, value] = self.coded(name, lambda values: _in(values, [value])) & ~self.nulls(
                name
            )
        return self._equal[name, value]

    def nulls(self, name: str) -> Mask:
        values = self.batch.column(name)
        return null_mask(values) if values.null_count else np.zeros(len(values), dtype=np.bool_)


def _outcome(rule: Rule, n: int, fail: Mask, skip: Mask | None = None) -> _Outcome:
    if skip is None:
        return _Outcome(rule, n, np.flatnonzero(fail))
    return _Outcome(rule, n - int(np.count_nonzero(skip)), np.flatnonzero(fail & ~skip))


def _bools(array: pa.Array | pa.ChunkedArray) -> Mask:
    return bool_values(array, null=False)


def _is_text(kind: pa.DataType) -> bool:
    return bool(pa.types.is_string(kind) or pa.types.is_large_string(kind))


def _arrow_capable(rule: Rule, types: Mapping[str, pa.DataType]) -> bool:
    """Whether the rule runs on the Arrow batch (numpy and Arrow compute: measured 2–6x faster per core
    than the same expression in DuckDB) or needs SQL (whole-dataset rules, casts between types)."""
    kind = types[rule.field]
    if isinstance(rule, NotNullRule):
        return True
    if isinstance(rule, FormatRule | CodeTableRule):
        return _is_text(kind)
    if isinstance(rule, RangeRule):
        bound = rule.min if rule.min is not None else rule.max
        return bool(
            pa.types.is_date32(kind)
            if isinstance(bound, date)
            else pa.types.is_integer(kind) or pa.types.is_floating(kind)
        )
    if isinstance(rule, CrossFieldRule):
        other = types[rule.other]
        return _is_text(kind) and (
            pa.types.is_date32(other) if rule.check == "id_birth_date" else _is_text(other)
        )
    return isinstance(rule, IdChecksumRule | UsccChecksumRule)


def _in(values: pa.Array, codes: list[str]) -> Mask:
    found = in_codes(values, codes)
    return found if found is not None else _bools(pc.is_in(values, value_set=pa.array(codes, pa.string())))


def _evaluate(rule: Rule, b: _Batch, codes: pa.Array | None, matcher: Matcher | None) -> _Outcome:
    n = b.n
    if isinstance(rule, CodeTableRule):
        assert codes is not None
        listed = codes.to_pylist()
        return _outcome(rule, n, ~b.coded(rule.field, lambda v: _in(v, listed)), b.nulls(rule.field))
    if isinstance(rule, NotNullRule) and rule.blank_is_null:
        values = b.batch.column(rule.field)
        kind = values.type.value_type if pa.types.is_dictionary(values.type) else values.type
        if _is_text(kind):
            return _outcome(rule, n, b.coded(rule.field, blank) | b.nulls(rule.field))
    values = b.column(rule.field)
    if isinstance(rule, IdChecksumRule | UsccChecksumRule):
        if isinstance(rule, IdChecksumRule):
            valid = b.resident(rule.field).valid
        else:
            valid = credit_code_valid(values, check_org_code=rule.check_org_code)
        return _outcome(rule, n, ~valid, null_mask(values) if rule.skip_null and values.null_count else None)
    nulls = null_mask(values) if values.null_count else None
    if isinstance(rule, NotNullRule):
        return _outcome(rule, n, nulls if nulls is not None else np.zeros(n, dtype=np.bool_))
    if isinstance(rule, FormatRule):
        assert matcher is not None
        return _outcome(rule, n, ~matcher(values), nulls)
    if isinstance(rule, RangeRule):
        numbers = values.cast(pa.int32()) if pa.types.is_date32(values.type) else values
        fail = np.zeros(n, dtype=np.bool_)
        for bound, op in ((rule.min, pc.less), (rule.max, pc.greater)):
            if bound is not None:
                limit = (bound - _EPOCH).days if isinstance(bound, date) else bound
                fail |= _bools(pc.fill_null(op(numbers, limit), False))
        return _outcome(rule, n, fail, nulls)
    assert isinstance(rule, CrossFieldRule)
    facts = b.resident(rule.field)
    other = b.column(rule.other)
    if rule.check == "id_birth_date":
        days = np.asarray(other.cast(pa.int32()).fill_null(0).to_numpy(), dtype=np.int32)
        applicable = facts.digits & ~null_mask(other) if other.null_count else facts.digits
        return _outcome(rule, n, applicable & (facts.birth != _yyyymmdd(days)), ~applicable)
    male, female = b.equal(rule.other, rule.male), b.equal(rule.other, rule.female)
    applicable = facts.digits & (male | female)
    return _outcome(rule, n, applicable & ((facts.sex_digit % 2 == 1) != male), ~applicable)


_EPOCH = date(1970, 1, 1)


# Days since 1970-01-01 from 1800 to 2199 as YYYYMMDD: one gather instead of fifteen passes of arithmetic.
_TABLE_FIRST = (date(1800, 1, 1) - _EPOCH).days
_TABLE_LAST = (date(2199, 12, 31) - _EPOCH).days


def _yyyymmdd(days: npt.NDArray[np.int32]) -> npt.NDArray[np.int32]:
    """Days since 1970-01-01 as YYYYMMDD numbers."""
    inside = (days >= _TABLE_FIRST) & (days <= _TABLE_LAST)
    stamp = _YYYYMMDD[np.clip(days, _TABLE_FIRST, _TABLE_LAST) - _TABLE_FIRST]
    if not bool(inside.all()):
        outside = np.flatnonzero(~inside)
        stamp[outside] = _civil(days[outside].astype(np.int64)).astype(np.int32)
    return stamp


def _civil(days: npt.NDArray[np.int64]) -> npt.NDArray[np.int64]:
    """Days since 1970-01-01 as YYYYMMDD, in integer arithmetic (H. Hinnant's civil_from_days)."""
    z = days + 719468
    era = np.floor_divide(z, 146097)
    doe = z - era * 146097
    yoe = (doe - doe // 1460 + doe // 36524 - doe // 146096) // 365
    doy = doe - (365 * yoe + yoe // 4 - yoe // 100)
    mp = (5 * doy + 2) // 153
    day = doy - (153 * mp + 2) // 5 + 1
    month = np.where(mp < 10, mp + 3, mp - 9)
    year = yoe + era * 400 + (month <= 2)
    stamp: npt.NDArray[np.int64] = year * 10000 + month * 100 + day
    return stamp


_YYYYMMDD = _civil(np.arange(_TABLE_FIRST, _TABLE_LAST + 1, dtype=np.int64)).astype(np.int32)


@dataclass
class _Plan:
    select: str
    dataset: str
    key: str
    columns: dict[str, pa.DataType]  # what the Arrow rules read, with the dataset's types
    sql_rules: list[Rule]
    arrow_rules: list[Rule]
    unique_rules: list[UniqueRule]
    codes: dict[str, pa.Array]
    matchers: dict[str, Matcher]
    today: date
    words: int

    @classmethod
    def build(
        cls, rule_set: RuleSet, schema: pa.Schema, code_tables: Mapping[str, Sequence[str]], today: date
    ) -> _Plan:
        types = {f.name: f.type for f in schema}
        missing = [
            (r.id, name)
            for r in rule_set.rules
            if not isinstance(r, TimelinessRule)
            for name in _fields(r)
            if name not in types
        ]
        if rule_set.key not in types:
            missing.insert(0, ("key", rule_set.key))
        if missing:
            rule_id, name = missing[0]
            raise QualityError(
                f"数据集“{rule_set.dataset}”没有字段“{name}”（规则“{rule_id}”）",
                reason="no_field",
                field=name,
            )
        ds = _quote(rule_set.dataset)
        sql_rules: list[Rule] = []
        expressions: list[str] = []
        arrow_rules: list[Rule] = []
        unique_rules: list[UniqueRule] = []
        codes: dict[str, pa.Array] = {}
        columns: list[str] = []
        for rule in rule_set.rules:
            if isinstance(rule, TimelinessRule):
                continue
            if isinstance(rule, CodeTableRule):
                codes[rule.id] = pa.array(_codes(rule, code_tables), pa.string())
            if isinstance(rule, UniqueRule):
                unique_rules.append(rule)
            elif _arrow_capable(rule, types):
                arrow_rules.append(rule)
                columns += [c for c in _fields(rule) if c not in columns]
            else:
                sql_rules.append(rule)
                expressions.append(_expression(rule, ds, types, codes.get(rule.id)))
        words = -(-len(expressions) // _BITS)
        select = [f"{_quote(rule_set.key)} AS __key"]
        select += [_quote(name) for name in columns if name != "__key"]
        for word in range(words):
            chunk = expressions[word * _BITS : (word + 1) * _BITS]
            select.append(_bits(chunk, "IS TRUE") + f" AS __fail{word}")
            select.append(_bits(chunk, "IS NULL") + f" AS __skip{word}")
        for number, rule in enumerate(unique_rules):
            select += _fingerprints(_quote(rule.field), number)
        matchers = {r.id: compile_format(r.pattern) for r in arrow_rules if isinstance(r, FormatRule)}
        return cls(
            ", ".join(select), ds, rule_set.key,
            {name: types[name] for name in [*columns, *(r.field for r in unique_rules)]},
            sql_rules, arrow_rules, unique_rules, codes, matchers, today, words,
        )  # fmt: skip

    @property
    def code_columns(self) -> list[str]:
        """Columns only compared with a few codes (code tables, the sex beside an ID number): read from
        Parquet as dictionaries, they are checked once per distinct value instead of once per row."""
        coded = {r.field for r in self.arrow_rules if isinstance(r, CodeTableRule)}
        coded |= {r.other for r in self.arrow_rules if isinstance(r, CrossFieldRule) and r.check == "id_sex"}
        other = {r.field for r in self.arrow_rules if not isinstance(r, CodeTableRule | NotNullRule)}
        other |= {r.field for r in self.unique_rules}
        return sorted(coded - other)

    def prepare(self, batch: pa.RecordBatch, cursor: duckdb.DuckDBPyConnection) -> pa.RecordBatch:
        """A batch read from Parquet in the shape the SQL stream gives: the key as ``__key``, and the
        fingerprints of the unique rules' columns."""
        names = ["__key" if name == self.key else name for name in batch.schema.names]
        columns = list(batch.columns)
        if self.key in self.columns:
            # A rule checks the key column itself: it is read once and serves under both names.
            columns.append(batch.column(self.key))
            names.append(self.key)
        for number, rule in enumerate(self.unique_rules):
            if rule.field not in self.keyed_columns:
                first, second = _hashed(batch.column(rule.field), cursor)
                columns += [first, second]
                names += [f"__h{number}", f"__g{number}"]
        return pa.RecordBatch.from_arrays(columns, names=names)

    @property
    def keyed_columns(self) -> frozenset[str]:
        """Unique rules' columns that the rule set declares as 居民身份证号码 (an ID checksum or cross-field
        rule checks them) and that hold text: their exact keys replace hashing when read from Parquet."""
        declared = {r.field for r in self.arrow_rules if isinstance(r, IdChecksumRule | CrossFieldRule)}
        return frozenset(
            r.field for r in self.unique_rules if r.field in declared and _is_text(self.columns[r.field])
        )

    @property
    def sql(self) -> str:
        return self.sql_over(self.dataset)

    def sql_over(self, source: str) -> str:
        return f"SELECT {self.select} FROM {source}"  # noqa: S608

    @property
    def needs_other_datasets(self) -> bool:
        return any(isinstance(rule, ReferentialRule) for rule in self.sql_rules)

    def evaluate(self, batch: pa.RecordBatch, cursor: duckdb.DuckDBPyConnection | None = None) -> _Evaluated:
        """Every rule over one batch; safe to run for several batches at once in threads. Unique rules
        only hand back their fingerprints here: they are decided once every batch has been seen. Batches
        read from Parquet (``cursor`` given) carry no fingerprints for ID columns: their exact keys come
        from the same parse as the checksum."""
        b = _Batch(batch, self.today, self.keyed_columns if cursor is not None else frozenset())
        n = b.n
        outcomes: list[_Outcome] = []
        for word in range(self.words):
            fail = np.asarray(batch.column(f"__fail{word}").to_numpy(zero_copy_only=False), dtype=np.uint64)
            skip = np.asarray(batch.column(f"__skip{word}").to_numpy(zero_copy_only=False), dtype=np.uint64)
            # Only rows with a set bit need per-rule work; in real data that is a small minority.
            rows = np.flatnonzero(fail | skip)
            fail, skip = fail[rows], skip[rows]
            for bit, rule in enumerate(self.sql_rules[word * _BITS : (word + 1) * _BITS]):
                mask = np.uint64(1 << bit)
                skipped = int(np.count_nonzero(skip & mask))
                outcomes.append(_Outcome(rule, n - skipped, rows[(fail & mask) != 0]))
        outcomes += [
            _evaluate(rule, b, self.codes.get(rule.id), self.matchers.get(rule.id))
            for rule in self.arrow_rules
        ]
        prints = [
            _Fingerprints.of(batch, number)
            if f"__h{number}" in batch.schema.names
            else _id_fingerprints(b, rule.field, cursor)
            for number, rule in enumerate(self.unique_rules)
        ]
        return batch.column("__key"), outcomes, prints


def _codes(rule: CodeTableRule, code_tables: Mapping[str, Sequence[str]]) -> Sequence[str]:
    if rule.values is not None:
        return rule.values
    assert rule.table is not None
    if rule.table not in code_tables:
        raise QualityError(
            f"规则“{rule.id}”引用的代码表“{rule.table}”未提供", reason="no_code_table", rule=rule.id
        )
    return code_tables[rule.table]


def _record(
    outcome: _Outcome, tally: _Tally, keys: pa.Array, sample_size: int, failures: list[pa.Table] | None
) -> None:
    failed = outcome.failed
    tally.checked += outcome.checked
    tally.failed += len(failed)
    if len(tally.samples) < sample_size and len(failed):
        tally.samples.extend(keys.take(failed[: sample_size - len(tally.samples)]).to_pylist())
    if failures is not None and len(failed):
        failing = keys.take(failed).cast(pa.string())
        count = len(failing)
        columns = [
            pa.repeat(pa.scalar(outcome.rule.id), count),
            failing,
            pa.repeat(pa.scalar(outcome.rule.severity), count),
        ]
        failures.append(pa.table(columns, schema=_FAILURE_SCHEMA))


# Two independent 64-bit hashes per value: DuckDB computes them while it streams (a few ns a row), and a
# collision of both for two different values among n rows has probability about n² / 2^129 (1e-24 at
# 100M rows), far below a disk's undetected error rate; finding the equal pairs by sorting 8-byte
# numbers is several times cheaper than DuckDB's GROUP BY over the strings themselves.
_SECOND_SEED = 0x9E3779B97F4A7C15


def _fingerprints(column: str, number: int) -> list[str]:
    present = f"{column} IS NOT NULL"
    return [
        f"CASE WHEN {present} THEN hash({column}) END AS __h{number}",
        f"CASE WHEN {present} THEN hash({column}, {_SECOND_SEED}::UBIGINT) END AS __g{number}",
    ]


def _hashed(values: pa.Array, cursor: duckdb.DuckDBPyConnection) -> tuple[pa.Array, pa.Array]:
    """The two fingerprints of each value, by DuckDB's hash as in the SQL stream (NULL for NULL)."""
    table = pa.table({"v": values})
    found = cursor.from_arrow(table).project(", ".join(_fingerprints('"v"', 0))).to_arrow_table()
    return found.column(0).combine_chunks(), found.column(1).combine_chunks()


_HASHED = np.uint64(1 << 63)


def _id_fingerprints(b: _Batch, field: str, cursor: duckdb.DuckDBPyConnection | None) -> _Fingerprints:
    """ID numbers of the canonical form are their own exact key (below 2^63, second fingerprint 0): no
    hashing for the bulk of the rows (measured: DuckDB's hashing was a seventh of a check's CPU). The rest
    are hashed, with the top bit set so that they can never meet a canonical key."""
    assert cursor is not None
    facts = b.resident(field)
    assert facts.keys is not None
    assert facts.canonical is not None
    values = b.column(field)
    valid = ~null_mask(values) if values.null_count else np.ones(b.n, dtype=np.bool_)
    keys, second = facts.keys.copy(), np.zeros(b.n, dtype=np.uint64)
    rest = np.flatnonzero(valid & ~facts.canonical)
    if len(rest):
        first_rest, second_rest = _hashed(values.take(pa.array(rest)), cursor)
        keys[rest] = _u64(first_rest) | _HASHED
        second[rest] = _u64(second_rest)
    rows = np.flatnonzero(valid)
    return _Fingerprints.build(keys[rows], second[rows], rows.astype(np.int32))


_BUCKET_BITS = 4
_BUCKETS = 1 << _BUCKET_BITS
# Fibonacci hashing spreads values over the buckets: exact ID keys are far from uniform in their top bits.
_MIX = np.uint64(0x9E3779B97F4A7C15)


@dataclass(frozen=True)
class _Fingerprints:
    """One batch's fingerprints of a unique rule's column (non-null rows only), grouped by bucket as they
    arrive (a cheap stable radix pass on the worker threads), so that the final search for repeated values
    sorts sixteen small arrays in parallel instead of one large one."""

    first: npt.NDArray[np.uint64]  # grouped by bucket
    second: npt.NDArray[np.uint64]
    rows: npt.NDArray[np.int32]  # each value's row in the batch
    bounds: npt.NDArray[np.intp]  # bucket b is [bounds[b], bounds[b + 1])

    @classmethod
    def of(cls, batch: pa.RecordBatch, number: int) -> _Fingerprints:
        first, second = batch.column(f"__h{number}"), batch.column(f"__g{number}")
        if first.null_count:
            rows = np.flatnonzero(~null_mask(first)).astype(np.int32)
            first, second = first.drop_null(), second.drop_null()
        else:
            rows = np.arange(batch.num_rows, dtype=np.int32)
        return cls.build(_u64(first), _u64(second), rows)

    @classmethod
    def build(
        cls, first: npt.NDArray[np.uint64], second: npt.NDArray[np.uint64], rows: npt.NDArray[np.int32]
    ) -> _Fingerprints:
        buckets = ((first * _MIX) >> np.uint64(64 - _BUCKET_BITS)).astype(np.uint8)
        order = np.argsort(buckets, kind="stable")  # radix sort for one-byte keys
        bounds = np.searchsorted(buckets[order], np.arange(_BUCKETS + 1), side="left")
        return cls(first[order], second[order], rows[order], bounds)

    def bucket(self, number: int) -> npt.NDArray[np.uint64]:
        return self.first[self.bounds[number] : self.bounds[number + 1]]


def _u64(array: pa.Array) -> npt.NDArray[np.uint64]:
    return np.asarray(array.to_numpy(zero_copy_only=False), dtype=np.uint64)


def _duplicates(
    rule: UniqueRule, batches: list[tuple[pa.Array, _Fingerprints]], pool: ThreadPoolExecutor
) -> Iterator[tuple[pa.Array, _Outcome]]:
    """Each batch's outcome for a unique rule: the rows whose value occurs more than once overall."""
    prints = [p for _, p in batches]
    repeated = np.sort(np.concatenate(list(pool.map(lambda b: _repeated_in(prints, b), range(_BUCKETS)))))

    # A table of the repeated hashes' low bits rules out almost every row with one lookup each (a binary
    # search per row over the repeated hashes measured ten times slower); the few left are searched.
    mask = np.uint64(_filter_size(len(repeated)) - 1)
    possible = np.zeros(int(mask) + 1, dtype=np.bool_)
    possible[(repeated & mask).astype(np.intp)] = True

    def candidates(p: _Fingerprints) -> npt.NDArray[np.intp]:
        if not len(repeated):
            return np.zeros(0, dtype=np.intp)
        maybe = np.flatnonzero(possible[(p.first & mask).astype(np.intp)])
        at = np.minimum(np.searchsorted(repeated, p.first[maybe]), len(repeated) - 1)
        found: npt.NDArray[np.intp] = maybe[repeated[at] == p.first[maybe]]
        return found

    found = list(pool.map(candidates, prints))
    # Rows that share the first hash are duplicates only if they share the second one as well: sorted by
    # both (lexsort; numpy's unique over rows measured several times slower), equal neighbours repeat.
    empty = np.zeros(0, np.uint64)
    first = np.concatenate([p.first[c] for p, c in zip(prints, found, strict=True)] or [empty])
    second = np.concatenate([p.second[c] for p, c in zip(prints, found, strict=True)] or [empty])
    order = np.lexsort((second, first))
    same = (first[order][1:] == first[order][:-1]) & (second[order][1:] == second[order][:-1])
    repeats = np.zeros(len(order), dtype=np.bool_)
    repeats[order[1:][same]] = True
    repeats[order[:-1][same]] = True
    start = 0
    for (keys, p), c in zip(batches, found, strict=True):
        failed = np.sort(p.rows[c[repeats[start : start + len(c)]]]).astype(np.intp)
        yield keys, _Outcome(rule, len(p.rows), failed)
        start += len(c)


def _filter_size(repeated: int) -> int:
    """A power of two about 64 times the number of repeated hashes (few false candidates), from 64k
    (fits the CPU's cache) to 16M entries."""
    return 1 << min(24, max(16, (repeated * 64).bit_length()))


def _repeated_in(prints: list[_Fingerprints], bucket: int) -> npt.NDArray[np.uint64]:
    """The values of one bucket that occur more than once (numpy releases the GIL while sorting). A count
    per slot of a table eight times the bucket's size first rules out most values that occur once (a value
    alone in its slot cannot repeat), so only about one in eight is sorted."""
    values = np.concatenate([p.bucket(bucket) for p in prints] or [np.zeros(0, np.uint64)])
    if len(values) > _PREFILTER_FROM:
        bits = (len(values) * 8).bit_length()
        slots = ((values * _SLOT_MIX) >> np.uint64(64 - bits)).astype(np.intp)
        values = values[np.bincount(slots, minlength=1 << bits)[slots] > 1]
    ordered = np.sort(values)
    return np.unique(ordered[1:][ordered[1:] == ordered[:-1]])


_PREFILTER_FROM = 1 << 16
_SLOT_MIX = np.uint64(0xC2B2AE3D27D4EB4F)  # independent of the bucket's multiplier


def _bits(expressions: list[str], test: str) -> str:
    if not expressions:
        return "0::UBIGINT"
    return " | ".join(f"((({e}) {test})::UBIGINT << {i})" for i, e in enumerate(expressions))


def _fields(rule: Rule) -> tuple[str, ...]:
    return (rule.field, rule.other) if isinstance(rule, CrossFieldRule) else (rule.field,)


def _expression(rule: Rule, ds: str, types: Mapping[str, pa.DataType], codes: pa.Array | None) -> str:
    """SQL that is TRUE when the row fails the rule, FALSE when it passes, NULL when it does not apply."""
    f = _quote(rule.field)
    is_text = _is_text(types[rule.field])
    if isinstance(rule, NotNullRule):
        blank = f" OR trim({f}) = ''" if rule.blank_is_null and is_text else ""
        return f"({f} IS NULL{blank})"
    if isinstance(rule, FormatRule):
        return f"NOT regexp_full_match({f}::VARCHAR, {_literal(rule.pattern)})"
    if isinstance(rule, CodeTableRule):
        assert codes is not None
        if not len(codes):
            return f"({f} IS NOT NULL)"
        listed = ", ".join(_literal(c) for c in codes.to_pylist())
        return f"NOT ({f}::VARCHAR IN ({listed}))"
    if isinstance(rule, RangeRule):
        bound = rule.min if rule.min is not None else rule.max
        value = f"TRY_CAST({f} AS DATE)" if isinstance(bound, date) else f"TRY_CAST({f} AS DOUBLE)"
        tests = []
        if rule.min is not None:
            tests.append(f"{value} < {_literal(rule.min)}")
        if rule.max is not None:
            tests.append(f"{value} > {_literal(rule.max)}")
        return "(" + " OR ".join(tests) + ")"
    if isinstance(rule, ReferentialRule):
        column, other = _quote(rule.column), _quote(rule.dataset)
        return f"NOT ({f} IN (SELECT {column} FROM {other} WHERE {column} IS NOT NULL))"  # noqa: S608
    if isinstance(rule, CrossFieldRule):
        o = _quote(rule.other)
        if rule.check == "id_birth_date":
            day = f"TRY_CAST({o} AS DATE)"
            encoded = f"(year({day}) * 10000 + month({day}) * 100 + day({day}))"
            return f"(TRY_CAST(substr({f}, 7, 8) AS INTEGER) <> {encoded})"
        parity = f"(TRY_CAST(substr({f}, 17, 1) AS INTEGER) % 2 = 1)"
        sex = f"CASE {o} WHEN {_literal(rule.male)} THEN TRUE WHEN {_literal(rule.female)} THEN FALSE END"
        return f"(CASE WHEN length({f}) = 18 THEN {parity} <> {sex} END)"
    raise AssertionError(rule)  # every other kind is a kernel or metadata rule
