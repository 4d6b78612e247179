"""The vectorised kernels agree with the scalar validators of wanshi.kernel.identifiers."""

from __future__ import annotations

from datetime import date

import pyarrow as pa
from hypothesis import given, settings
from hypothesis import strategies as st

from wanshi.datahub.quality.kernels import credit_code_valid, in_codes, resident_id_facts, resident_id_valid
from wanshi.kernel.identifiers import (
    InvalidIdentifier,
    credit_code_check_char,
    resident_id_check_char,
    validate_credit_code,
    validate_resident_id,
)
from wanshi.kernel.identifiers._text import normalise
from wanshi.kernel.identifiers.credit_code import CHARSET

TODAY = date(2026, 6, 30)


def scalar_resident(value: str | None) -> bool:
    # The raw check accepts only the canonical form; the scalar validator normalises first.
    if value is None or normalise(value) != value:
        return False
    try:
        validate_resident_id(value, today=TODAY)
    except InvalidIdentifier:
        return False
    return True


def scalar_credit(value: str | None) -> bool:
    if value is None or normalise(value) != value:
        return False
    try:
        validate_credit_code(value)
    except InvalidIdentifier:
        return False
    return True


digits = st.text("0123456789", min_size=1, max_size=1)


def _resident_id(division: str, day: date, seq: int) -> str:
    first17 = f"{division}{day.year:04d}{day.month:02d}{day.day:02d}{seq:03d}"  # %Y drops zeros before 1000
    return first17 + resident_id_check_char(first17)


valid_ids = st.builds(
    _resident_id,
    st.sampled_from(["340524", "360426", "110101", "340181"]),
    st.dates(date(1, 1, 1), TODAY),
    st.integers(0, 999),
)
near_ids = st.text("0123456789X", min_size=18, max_size=18)
odd_strings = st.one_of(
    st.none(),
    st.text(min_size=0, max_size=20),
    st.text("0123456789Xx ０１２３４５６７８９Ｘ", min_size=16, max_size=19),
)
credit_chars = st.text(CHARSET, min_size=17, max_size=17)
valid_credit = credit_chars.map(lambda f: f + credit_code_check_char(f))


def check_ids(values: list[str | None]) -> None:
    got = resident_id_valid(pa.array(values, pa.string()), today=TODAY).tolist()
    assert got == [scalar_resident(v) for v in values]


def check_credit(values: list[str | None]) -> None:
    got = credit_code_valid(pa.array(values, pa.string())).tolist()
    assert got == [scalar_credit(v) for v in values]


def test_known_examples() -> None:
    check_ids(
        [
            "34052419800101001X",
            "360426199101010071",
            "360426199101010072",
            None,
            "",
            "３４０５２４１９８００１０１００１Ｘ",
        ]
    )
    assert resident_id_valid(pa.array(["34052419800101001X"]), today=TODAY).tolist() == [True]
    check_credit(["91110000600037341L", "91350100M0001TGQXM", None, "91110000600037341l"])
    assert credit_code_valid(pa.array(["91110000600037341L"])).tolist() == [True]
    # An early pilot code: the main check fails, so it is invalid with or without the org-code check.
    assert credit_code_valid(pa.array(["91350100M0001TGQXM"]), check_org_code=False).tolist() == [False]


@settings(max_examples=200)
@given(st.lists(st.one_of(valid_ids, near_ids, odd_strings), max_size=40))
def test_resident_ids_agree(values: list[str | None]) -> None:
    check_ids(values)


@settings(max_examples=200)
@given(st.lists(st.one_of(valid_credit, credit_chars.map(lambda f: f + "0"), odd_strings), max_size=40))
def test_credit_codes_agree(values: list[str | None]) -> None:
    check_credit(values)


@given(st.lists(valid_ids, min_size=1, max_size=10), st.integers(0, 5))
def test_sliced_and_chunked_arrays(values: list[str], offset: int) -> None:
    array = pa.array(["x", *values, "y"]).slice(1, len(values))
    assert resident_id_valid(array, today=TODAY).all()
    chunked = pa.chunked_array(
        [pa.array(values[:offset], pa.string()), pa.array(values[offset:], pa.string())]
    )
    assert resident_id_valid(chunked, today=TODAY).all()
    assert resident_id_valid(array.cast(pa.large_string()), today=TODAY).all()


def test_full_width_is_invalid_raw_but_valid_after_normalising() -> None:
    full = "３４０５２４１９８００１０１００１Ｘ"
    assert resident_id_valid(pa.array([full]), today=TODAY).tolist() == [False]
    assert resident_id_valid(pa.array([normalise(full)]), today=TODAY).tolist() == [True]


def test_birth_date_after_today_and_impossible_dates_fail() -> None:
    future = "34052420300101" + "001"
    feb29 = "34052419000229" + "001"  # 1900 was not a leap year
    leap = "34052420000229" + "001"
    month13 = "34052419801301" + "001"
    day32 = "34052419801232" + "001"
    values = [v + resident_id_check_char(v) for v in (future, feb29, leap, month13, day32)]
    assert resident_id_valid(pa.array(values), today=TODAY).tolist() == [False, False, True, False, False]


@settings(max_examples=30)
@given(st.lists(valid_ids, min_size=200, max_size=400), st.lists(st.tuples(st.integers(0, 199), odd_strings)))
def test_long_columns_with_a_few_odd_rows(values: list[str], odd: list[tuple[int, str | None]]) -> None:
    # Few odd rows take the block-copy path of fixed_width_bytes, many take Arrow's rewrite: both agree.
    mixed: list[str | None] = list(values)
    for position, value in odd:
        mixed[position] = value
    check_ids(mixed)


codes_alphabet = st.text("男女01349X", min_size=1, max_size=3)


@settings(max_examples=150)
@given(
    st.lists(st.one_of(st.none(), codes_alphabet), max_size=80),
    st.lists(codes_alphabet, min_size=1, max_size=8),
)
def test_in_codes_agrees_with_arrow_is_in(values: list[str | None], codes: list[str]) -> None:
    found = in_codes(pa.array(values, pa.string()), codes)
    widths = {len(c.encode()) for c in codes}
    if len(widths) != 1 or max(widths) > 8 or len(set(codes)) > 4:
        assert found is None  # the caller uses Arrow's hash set
        return
    assert found is not None
    assert found.tolist() == [v is not None and v in codes for v in values]


@settings(max_examples=150)
@given(st.lists(st.one_of(near_ids, odd_strings), max_size=40))
def test_id_keys_are_one_to_one_on_the_canonical_form(values: list[str | None]) -> None:
    facts = resident_id_facts(pa.array(values, pa.string()), today=TODAY, with_keys=True)
    keys, exact = facts.keys, facts.canonical
    assert keys is not None
    assert exact is not None
    canonical = [v for v, e in zip(values, exact.tolist(), strict=True) if e]
    assert all(len(v) == 18 and v[:17].isdigit() and v[17] in "0123456789X" for v in canonical if v)
    assert len(
        [
            v
            for v in values
            if v and len(v) == 18 and v[:17].isascii() and v[:17].isdigit() and v[17] in "0123456789X"
        ]
    ) == len(canonical)
    by_key = {int(k): v for k, v, e in zip(keys, values, exact.tolist(), strict=True) if e}
    assert len(by_key) == len(set(canonical))
    assert all(int(k) < 2**63 for k in keys[exact])
