"""Coercion, normalisation and checks of the aggregation pipeline, without a database."""

from __future__ import annotations

import random
from datetime import UTC, date, datetime
from decimal import Decimal

import numpy as np
import pyarrow as pa
import pytest
from hypothesis import given
from hypothesis import strategies as st

from wanshi.datahub.ingest.domain import (
    FieldMapping,
    FieldSpec,
    FieldType,
    TargetSchema,
    load_key,
    parse_schema,
)
from wanshi.datahub.ingest.transform import (
    Deduplicator,
    HashedLines,
    Lineage,
    coerce,
    normalise,
    resident_id_invalid,
    transform_chunk,
)
from wanshi.kernel.errors import ValidationFailed
from wanshi.kernel.identifiers import InvalidResidentId, generate_resident_id, validate_resident_id

TODAY = date(2026, 1, 1)


def _coerce(values: list[str | None], kind: FieldType, **extra: object) -> list[object]:
    spec = FieldSpec("f", "字段", kind, **extra)  # type: ignore[arg-type]
    return coerce(normalise(pa.array(values, pa.string())), spec).to_pylist()


def test_normalise_maps_kangxi_radicals_full_width_and_trims() -> None:
    values = ["李⼤⼒", "　张三　", "ＡＢＣ１２３", "plain", "  ", "王\u00a0五"]
    assert normalise(pa.array(values)).to_pylist() == ["李大力", "张三", "ABC123", "plain", None, "王 五"]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2020年10月24日", date(2020, 10, 24)),
        ("2020年1月5日", date(2020, 1, 5)),
        ("2020/10/24", date(2020, 10, 24)),
        ("2020.1.5", date(2020, 1, 5)),
        ("20201024", date(2020, 10, 24)),
        ("2020-10-24", date(2020, 10, 24)),
        ("２０２０－１０－２４", date(2020, 10, 24)),
        ("2020-02-30", None),
        ("2021-02-29", None),
        ("24/10/2020", None),
        ("yesterday", None),
    ],
)
def test_dates(text: str, expected: date | None) -> None:
    assert _coerce([text], FieldType.DATE) == [expected]


def test_datetimes() -> None:
    assert _coerce(
        ["2020-10-24 08:30:15", "2020/10/24 8:30", "20201024", "2020-10-24 25:00"], FieldType.DATETIME
    ) == [
        datetime(2020, 10, 24, 8, 30, 15),
        datetime(2020, 10, 24, 8, 30),
        datetime(2020, 10, 24),
        None,
    ]


def test_numbers_with_full_width_digits_and_thousands_separators() -> None:
    assert _coerce(["１２３", "1,234,567", "-42", "1,23", "12a", "１２，３４５"], FieldType.INTEGER) == [
        123,
        1234567,
        -42,
        None,
        None,
        12345,
    ]
    assert _coerce(["１２，３４５.５", "0.125", "7", "-3.10"], FieldType.DECIMAL, scale=2) == [
        Decimal("12345.50"),
        None,
        Decimal("7.00"),
        Decimal("-3.10"),
    ]


def test_booleans() -> None:
    assert _coerce(["是", "否", "TRUE", "0", "也许"], FieldType.BOOLEAN) == [True, False, True, False, None]


def test_vectorised_resident_id_check_agrees_with_the_kernel() -> None:
    rng = random.Random(7)
    values: list[str | None] = [None, "", "abc", "34010219900230011X"]
    for i in range(300):
        number = generate_resident_id("340102", date(1950 + i % 70, 1 + i % 12, 1 + i % 28), i % 1000)
        if i % 3 == 0:
            number = number[:17] + rng.choice("0123456789X")
        if i % 7 == 0:
            number = number[:10] + "13" + number[12:]
        values.append(number)
    flagged = resident_id_invalid(normalise(pa.array(values, pa.string())), TODAY).to_pylist()
    for value, bad in zip(values, flagged, strict=True):
        if not value:
            assert bad is False
            continue
        try:
            validate_resident_id(value, today=TODAY)
            expected = False
        except InvalidResidentId:
            expected = True
        assert bad is expected, value


def test_a_chunk_splits_into_stored_and_quarantined_rows_with_reasons() -> None:
    schema = parse_schema(
        {
            "fields": [
                {"name": "name", "label": "姓名", "required": True, "max_length": 4},
                {"name": "age", "label": "年龄", "type": "integer"},
            ]
        }
    )
    raw = pa.table({"姓名": ["张三", "", "欧阳娜娜娜", "张三"], "age": ["3", "x", "4", "3"]})
    columns = FieldMapping({"name": "姓名"}).resolve(schema, raw.column_names)
    at = datetime(2026, 1, 1, tzinfo=UTC)
    keep = Deduplicator().first_copies(raw)
    result = transform_chunk(raw, schema, columns, Lineage("f.csv", at), 1, keep, TODAY)
    assert result.counts.read == 4
    assert result.counts.duplicate == 1
    assert result.stored.to_pylist() == [
        {"name": "张三", "age": 3, "_source": "f.csv", "_loaded_at": at, "_row": 1}
    ]
    bad = result.quarantined.to_pylist()
    assert [r["_row"] for r in bad] == [2, 3]
    assert bad[0]["_reason_codes"] == "name:required;age:not_integer"
    assert bad[0]["_reasons"] == "姓名（name）必填项为空；年龄（age）不是整数"
    assert bad[1]["_reason_codes"] == "name:too_long"
    assert bad[1]["姓名"] == "欧阳娜娜娜"


def test_duplicates_are_recognised_across_chunks() -> None:
    dedupe = Deduplicator()
    first = pa.table({"a": ["1", "2"], "b": ["x", "y"]})
    second = pa.table({"a": ["2", "3", "3"], "b": ["y", "z", "z"]})
    assert dedupe.first_copies(first).tolist() == [True, True]
    assert dedupe.first_copies(second).tolist() == [False, True, False]


@given(st.lists(st.lists(st.integers(0, 200), max_size=30), max_size=8))
def test_first_copies_match_a_set_whatever_the_hashes(chunks: list[list[int]]) -> None:
    # Small values share the seen-bits table's slots, so the exact check behind it is exercised too.
    dedupe = Deduplicator()
    seen: set[int] = set()
    for chunk in chunks:
        hashes = np.asarray(chunk, dtype=np.uint64)
        unique, first = np.unique(hashes, return_index=True)
        expected = []
        for value in chunk:
            expected.append(value not in seen)
            seen.add(value)
        assert dedupe.keep(HashedLines(unique, first, len(chunk))).tolist() == expected


def test_schema_and_load_identity() -> None:
    with pytest.raises(ValidationFailed):
        parse_schema({"fields": [{"name": "Bad"}]})
    with pytest.raises(ValidationFailed):
        parse_schema({"fields": [{"name": "a", "type": "money"}]})
    schema = TargetSchema((FieldSpec("a", "甲"),))
    assert load_key("h", "d", schema, FieldMapping()) == load_key("h", "d", schema, FieldMapping())
    assert load_key("h", "d", schema, FieldMapping()) != load_key("h", "d", schema, FieldMapping({"a": "A"}))
    with pytest.raises(ValidationFailed):
        FieldMapping({"zzz": "x"}).resolve(schema, ["a"])
