"""Each rule kind finds exactly the rows it should, on every source and on both evaluation paths."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pyarrow as pa
import pytest
from hypothesis import given
from hypothesis import strategies as st

from wanshi.datahub.quality import DatasetMetadata, QualityError, check_quality, parse_rules
from wanshi.datahub.store import ParquetDuckDBStore

NOW = datetime(2026, 6, 30, 12, tzinfo=UTC)


def people() -> pa.Table:
    return pa.table(
        {
            "pid": [1, 2, 3, 4, 5, 6],
            "id_number": [
                "34052419800101001X",  # valid, male, 1980-01-01
                "360426199101010071",  # valid, male, 1991-01-01
                "360426199101010071",  # duplicate of 2
                None,
                "340524198001010011",  # wrong check char
                "３４０５２４１９８００１０１００１Ｘ",  # full-width: invalid raw
            ],
            "name": ["张三", "李四", " ", None, "王五", "赵六A"],
            "birth_date": pa.array(
                [
                    date(1980, 1, 1),
                    date(1991, 1, 1),
                    date(1991, 1, 2),
                    date(1800, 1, 1),
                    None,
                    date(1980, 1, 1),
                ]
            ),
            "sex": ["男", "女", "男", "x", "男", "男"],
            "division": ["340524", "360426", "360426", "999999", None, "340524"],
            "income": [1000.0, -5.0, 20.0, None, 99999.0, 0.0],
            "uscc": [
                "91110000600037341L",
                "91350100M0001TGQXM",
                None,
                "91110000600037341L",
                "x",
                "91110000600037341L",
            ],
        }
    )


RULES: list[dict[str, Any]] = [
    {"id": "id.not_null", "kind": "not_null", "field": "id_number"},
    {"id": "name.not_null", "kind": "not_null", "field": "name"},
    {"id": "name.format", "kind": "format", "field": "name", "pattern": r"\p{Han}{2,4}"},
    {"id": "sex.code", "kind": "code_table", "field": "sex", "values": ["男", "女"]},
    {"id": "division.code", "kind": "code_table", "field": "division", "table": "division"},
    {"id": "id.checksum", "kind": "id_checksum", "field": "id_number"},
    {"id": "id.checksum_skip", "kind": "id_checksum", "field": "id_number", "skip_null": True},
    {"id": "uscc.checksum", "kind": "uscc_checksum", "field": "uscc", "skip_null": True},
    {
        "id": "uscc.main_only",
        "kind": "uscc_checksum",
        "field": "uscc",
        "skip_null": True,
        "check_org_code": False,
    },
    {"id": "birth.range", "kind": "range", "field": "birth_date", "min": "1900-01-01", "max": "2026-06-30"},
    {"id": "income.range", "kind": "range", "field": "income", "min": 0, "max": 50000},
    {"id": "id.unique", "kind": "unique", "field": "id_number"},
    {
        "id": "division.ref",
        "kind": "referential",
        "field": "division",
        "dataset": "division_table",
        "column": "code",
    },
    {
        "id": "id.birth",
        "kind": "cross_field",
        "check": "id_birth_date",
        "field": "id_number",
        "other": "birth_date",
    },
    {"id": "id.sex", "kind": "cross_field", "check": "id_sex", "field": "id_number", "other": "sex"},
    {"id": "fresh", "kind": "timeliness", "field": "loaded_at", "max_age_days": 1},
]
# rule id -> (rows checked, keys of the failing rows)
EXPECTED = {
    "id.not_null": (6, [4]),
    "name.not_null": (6, [3, 4]),
    "name.format": (5, [3, 6]),
    "sex.code": (6, [4]),
    "division.code": (5, [4]),
    "id.checksum": (6, [4, 5, 6]),
    "id.checksum_skip": (5, [5, 6]),
    "uscc.checksum": (5, [2, 5]),
    "uscc.main_only": (5, [2, 5]),
    "birth.range": (5, [4]),
    "income.range": (5, [2, 5]),
    "id.unique": (5, [2, 3]),
    "division.ref": (5, [2, 3, 4]),
    "id.birth": (3, [3]),
    "id.sex": (4, [2]),
    "fresh": (1, []),
}
CODES = {"division": ["340524", "360426"]}
DIVISIONS = pa.table({"code": ["340524", "340000"]})


def rule_set(dataset: str = "people", rules: list[dict[str, Any]] | None = None) -> Any:
    return parse_rules(
        {"dataset": dataset, "key": "pid", "rules": [{"message": "有误", **r} for r in rules or RULES]}
    )


def check(report: Any) -> None:
    got = {r.rule_id: (r.checked, sorted(r.sample_keys)) for r in report.results}
    assert got == EXPECTED
    for result in report.results:
        assert result.failed == len(EXPECTED[result.rule_id][1])


def test_every_rule_kind_on_an_arrow_table() -> None:
    report = check_quality(
        rule_set(), people(), code_tables=CODES, references={"division_table": DIVISIONS},
        metadata=DatasetMetadata(NOW - timedelta(hours=2)), now=NOW,
    )  # fmt: skip
    check(report)
    assert report.rows == 6
    assert 0 < report.score < 100


def test_text_columns_take_the_sql_path_with_the_same_results() -> None:
    # Dates and numbers stored as text cannot use the Arrow kernels; the SQL expressions must agree.
    table = people()
    table = table.set_column(3, "birth_date", table.column("birth_date").cast(pa.string()))
    table = table.set_column(6, "income", table.column("income").cast(pa.string()))
    report = check_quality(
        rule_set(), table, code_tables=CODES, references={"division_table": DIVISIONS},
        metadata=DatasetMetadata(NOW), now=NOW,
    )  # fmt: skip
    check(report)


def test_store_dataset_and_failures_written_back(tmp_path: Path) -> None:
    store = ParquetDuckDBStore(tmp_path, threads=1)
    table = people()
    store.write_batch("people", "b1", table.slice(0, 3))
    store.write_batch("people", "b2", table.slice(3))
    store.write_batch("division_table", "v1", DIVISIONS)
    report = check_quality(
        rule_set(), store, code_tables=CODES, metadata=DatasetMetadata(NOW), now=NOW,
        failures_store=store, failures_dataset="quality_failure", failures_batch="run1", batch_rows=2,
    )  # fmt: skip
    check(report)
    written = store.query("SELECT rule_id, row_key FROM quality_failure ORDER BY rule_id, row_key")
    expected = sorted((rule, str(key)) for rule, (_, keys) in EXPECTED.items() for key in keys)
    assert sorted(zip(*written.to_pydict().values(), strict=True)) == expected
    assert report.failures_written == len(expected)


def test_store_files_are_read_in_parallel_with_the_same_results(tmp_path: Path) -> None:
    # Without rules that look into other datasets each batch file is read by its own thread; the duplicate
    # pair (rows 2 and 3) lies across two files and must still be found.
    store = ParquetDuckDBStore(tmp_path, threads=1)
    table = people()
    for number, (start, length) in enumerate(((0, 2), (2, 1), (3, 3))):
        store.write_batch("people", f"b{number}", table.slice(start, length))
    rules = rule_set(rules=[r for r in RULES if r["kind"] != "referential"])
    report = check_quality(
        rules, store, code_tables=CODES, metadata=DatasetMetadata(NOW), now=NOW, batch_rows=2
    )
    expected = check_quality(rules, table, code_tables=CODES, metadata=DatasetMetadata(NOW), now=NOW)
    assert report.rows == 6
    assert [(r.rule_id, r.checked, r.failed, sorted(r.sample_keys)) for r in report.results] == [
        (r.rule_id, r.checked, r.failed, sorted(r.sample_keys)) for r in expected.results
    ]
    assert report.result("id.unique").sample_keys == (2, 3)


def test_unique_over_files_mixes_exact_keys_and_hashes(tmp_path: Path) -> None:
    # Canonical ID numbers are their own keys, others are hashed: duplicates are found in both kinds, and a
    # canonical value never meets a non-canonical one.
    store = ParquetDuckDBStore(tmp_path, threads=1)
    ids = ["34052419800101001X", "３４０５２４１９８００１０１００１Ｘ", "34052419800101001x", "x", "x", None]
    for number, (start, length) in enumerate(((0, 2), (2, 2), (4, 2))):
        part = pa.table(
            {"pid": list(range(start + 1, start + length + 1)), "id_number": ids[start : start + length]}
        )
        store.write_batch("people", f"b{number}", part)
    rules = rule_set(rules=[RULES[5], {"id": "id.unique", "kind": "unique", "field": "id_number"}])
    report = check_quality(rules, store, now=NOW)
    assert sorted(report.result("id.unique").sample_keys) == [4, 5]
    assert report.result("id.unique").checked == 5


def test_batch_files_of_other_shapes_are_read_through_the_unified_view(tmp_path: Path) -> None:
    # One file stores birth dates as text: DuckDB's view unifies the files, so the single stream is used.
    store = ParquetDuckDBStore(tmp_path, threads=1)
    table = people()
    text_dates = table.set_column(3, "birth_date", table.column("birth_date").cast(pa.string()))
    store.write_batch("people", "b0", text_dates.slice(0, 3))
    store.write_batch("people", "b1", table.slice(3))
    store.write_batch("people", "b2", table.slice(6))
    rules = rule_set(rules=[r for r in RULES if r["kind"] != "referential"])
    report = check_quality(rules, store, code_tables=CODES, metadata=DatasetMetadata(NOW), now=NOW)
    assert report.rows == 6
    assert report.result("birth.range").sample_keys == (4,)
    assert sorted(report.result("id.unique").sample_keys) == [2, 3]


def test_duckdb_relation_source() -> None:
    conn = duckdb.connect()
    conn.register("division_table", DIVISIONS)
    relation = conn.from_arrow(people())
    report = check_quality(rule_set(), relation, code_tables=CODES, metadata=DatasetMetadata(NOW), now=NOW)
    check(report)


def test_samples_are_bounded_and_timeliness_follows_metadata() -> None:
    rules = [
        {"id": "id.checksum", "kind": "id_checksum", "field": "id_number"},
        {"id": "fresh", "kind": "timeliness", "field": "loaded_at"},
    ]
    stale = DatasetMetadata(NOW - timedelta(days=10), update_cycle=timedelta(days=7))
    report = check_quality(rule_set(rules=rules), people(), metadata=stale, now=NOW, sample_size=2)
    assert report.result("id.checksum").failed == 3
    assert len(report.result("id.checksum").sample_keys) == 2
    assert (report.result("fresh").checked, report.result("fresh").failed) == (1, 1)
    unknown = check_quality(rule_set(rules=rules), people(), now=NOW)
    assert unknown.result("fresh").checked == 0


def test_missing_field_and_code_table_are_clear_errors() -> None:
    with pytest.raises(QualityError) as missing:
        check_quality(rule_set(rules=[{"id": "a", "kind": "not_null", "field": "nope"}]), people())
    assert missing.value.details["reason"] == "no_field"
    assert "nope" in missing.value.message
    with pytest.raises(QualityError) as table:
        check_quality(rule_set(rules=[RULES[4]]), people())
    assert table.value.details["reason"] == "no_code_table"
    with pytest.raises(QualityError) as dataset:
        check_quality(rule_set(), ParquetDuckDBStore(Path("/nonexistent-wanshi")))
    assert dataset.value.details["reason"] == "no_dataset"


@given(st.lists(st.dates(date(1, 1, 1), date(9999, 12, 31)), min_size=1, max_size=50))
def test_birth_date_arithmetic_matches_the_calendar(days: list[date]) -> None:
    from wanshi.datahub.quality.engine import _yyyymmdd

    since_epoch = np.array([(d - date(1970, 1, 1)).days for d in days], dtype=np.int64)
    assert _yyyymmdd(since_epoch).tolist() == [d.year * 10000 + d.month * 100 + d.day for d in days]


def test_unique_over_a_million_values_finds_exactly_the_repeated_ones() -> None:
    # Large enough that each bucket's count table rules values out before the sort.
    values = np.arange(1_200_000, dtype=np.int64)
    repeated_at = np.array([5, 70_000, 654_321, 1_199_999])
    values[repeated_at + 0] = values[repeated_at - 3]
    table = pa.table({"pid": np.arange(len(values)), "code": values})
    rules = parse_rules(
        {
            "dataset": "codes",
            "key": "pid",
            "rules": [{"id": "u", "kind": "unique", "field": "code", "message": "重复"}],
        }
    )
    report = check_quality(rules, table, now=NOW, sample_size=10)
    expected = sorted([*repeated_at.tolist(), *(repeated_at - 3).tolist()])
    assert (report.result("u").failed, sorted(report.result("u").sample_keys)) == (8, expected)


def test_a_rule_on_the_key_column_itself_over_several_files(tmp_path: Path) -> None:
    """The key is read once from each file and must still reach the rules that check it."""
    store = ParquetDuckDBStore(tmp_path, threads=1)
    table = people().filter(pa.array([v is not None for v in people().column("uscc").to_pylist()]))
    store.write_batch("people", "b0", table.slice(0, 2))
    store.write_batch("people", "b1", table.slice(2))
    rules = parse_rules(
        {
            "dataset": "people",
            "key": "uscc",
            "rules": [{"id": "uscc.checksum", "kind": "uscc_checksum", "field": "uscc", "message": "有误"}],
        }
    )
    report = check_quality(rules, store, now=NOW, batch_rows=2)
    expected = check_quality(rules, table, now=NOW)
    assert report.rows == 5
    assert report.result("uscc.checksum").failed == expected.result("uscc.checksum").failed == 2
    assert sorted(report.result("uscc.checksum").sample_keys) == ["91350100M0001TGQXM", "x"]
