from __future__ import annotations

from datetime import date

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from wanshi.kernel.errors import ValidationFailed
from wanshi.kernel.identifiers import (
    InvalidDivisionCode,
    InvalidIdentifier,
    InvalidResidentId,
    generate_resident_id,
    resident_id_check_char,
    upgrade_15_to_18,
    validate_resident_id,
)

ID_CHARS = "0123456789X"


@st.composite
def division_codes(draw: st.DrawFn) -> str:
    """Structurally valid GB/T 2260 codes of every level."""
    province = f"{draw(st.integers(1, 8))}{draw(st.integers(0, 9))}"
    middle = draw(st.sampled_from(["00", "90", *(f"{i:02d}" for i in range(1, 71))]))
    last = "00" if middle == "00" else f"{draw(st.integers(0, 99)):02d}"
    return province + middle + last


resident_ids = st.builds(
    generate_resident_id,
    division_codes(),
    st.dates(min_value=date(1900, 1, 1), max_value=date(2020, 12, 31)),
    st.integers(0, 999),
)


def with_check(first17: str) -> str:
    return first17 + resident_id_check_char(first17)


@pytest.mark.parametrize(
    ("number", "division", "birth", "sex"),
    [
        ("34052419800101001X", "340524", date(1980, 1, 1), "male"),
        ("360426199101010071", "360426", date(1991, 1, 1), "male"),
    ],
)
def test_standard_examples_are_valid(number: str, division: str, birth: date, sex: str) -> None:
    info = validate_resident_id(number)
    assert (info.value, info.division_code, info.birth_date, info.sex, info.warnings) == (
        number,
        division,
        birth,
        sex,
        (),
    )


def test_check_chars_of_the_examples() -> None:
    assert resident_id_check_char("34052419800101001") == "X"
    assert resident_id_check_char("36042619910101007") == "1"


def test_even_sequence_is_female() -> None:
    assert validate_resident_id(with_check("34052419800101002")).sex == "female"


def test_input_is_normalised() -> None:
    assert validate_resident_id(" ３４０５２４１９８００１０１００１ｘ\u3000").value == "34052419800101001X"
    assert validate_resident_id("34052419800101001x").value == "34052419800101001X"


def test_error_is_a_validation_failure_with_a_stable_code() -> None:
    with pytest.raises(InvalidResidentId) as caught:
        validate_resident_id("340524198001010011")
    assert isinstance(caught.value, InvalidIdentifier)
    assert isinstance(caught.value, ValidationFailed)
    assert caught.value.code == "invalid_resident_id"
    assert caught.value.http_status == 422


def test_wrong_check_char_names_the_expected_one() -> None:
    with pytest.raises(InvalidResidentId) as caught:
        validate_resident_id("340524198001010011")
    assert caught.value.details == {"reason": "check_char", "expected": "X"}
    assert "“X”" in caught.value.message
    assert "校验码" in caught.value.message


@pytest.mark.parametrize(
    ("value", "reason", "fragment"),
    [
        ("", "empty", "请填写"),
        ("3405241980010100", "length", "应为18位，实际为16位"),
        ("340524800101001", "legacy_15", "15位"),
        ("34052419800101A01X", "charset", "第15位"),
        ("34052419800101001Y", "charset", "第18位"),
        ("34052419800230001X", "birth_date", "19800230"),
        ("34052419801301001X", "birth_date", "不是有效日期"),
    ],
)
def test_each_kind_of_error_says_what_is_wrong(value: str, reason: str, fragment: str) -> None:
    with pytest.raises(InvalidResidentId) as caught:
        validate_resident_id(value)
    assert caught.value.details["reason"] == reason
    assert fragment in caught.value.message


def test_future_birth_date_is_rejected_and_today_is_not() -> None:
    number = with_check("34052420300101001")
    with pytest.raises(InvalidResidentId) as caught:
        validate_resident_id(number, today=date(2029, 12, 31))
    assert caught.value.details["reason"] == "birth_date"
    assert "晚于今天" in caught.value.message
    assert validate_resident_id(number, today=date(2030, 1, 1)).birth_date == date(2030, 1, 1)


def test_unknown_address_code_only_warns() -> None:
    info = validate_resident_id("34052419800101001X", known_division=lambda code: False)
    assert len(info.warnings) == 1
    assert "340524" in info.warnings[0]
    assert "历史区划代码" in info.warnings[0]
    assert validate_resident_id("34052419800101001X", known_division={"340524"}.__contains__).warnings == ()


def test_structurally_impossible_address_code_only_warns() -> None:
    info = validate_resident_id(with_check("00000019800101001"))
    assert len(info.warnings) == 1
    assert info.warnings[0].startswith("地址码：")


def test_very_early_birth_year_warns() -> None:
    info = validate_resident_id(with_check("34052418990101001"))
    assert any("1899" in w for w in info.warnings)


def test_upgrade_15_to_18() -> None:
    assert upgrade_15_to_18("340524800101001") == "34052419800101001X"
    assert upgrade_15_to_18("３６０４２６９１０１０１００７") == "360426199101010071"


@pytest.mark.parametrize("value", ["34052480010100", "34052480010100A", "340524800230001"])
def test_upgrade_rejects_bad_legacy_numbers(value: str) -> None:
    with pytest.raises(InvalidResidentId):
        upgrade_15_to_18(value)


def test_generate_rejects_bad_parts() -> None:
    with pytest.raises(InvalidResidentId, match="顺序码"):
        generate_resident_id("340524", date(1980, 1, 1), 1000)
    with pytest.raises(InvalidDivisionCode):
        generate_resident_id("347100", date(1980, 1, 1), 1)


@given(
    division_codes(), st.dates(min_value=date(1900, 1, 1), max_value=date(2020, 12, 31)), st.integers(0, 999)
)
def test_generated_numbers_validate_to_their_parts(division: str, birth: date, sequence: int) -> None:
    info = validate_resident_id(generate_resident_id(division, birth, sequence))
    assert info.division_code == division
    assert info.birth_date == birth
    assert info.value[14:17] == f"{sequence:03d}"
    assert info.sex == ("male" if sequence % 2 else "female")


# MOD 11-2: every weight (2^k mod 11) is non-zero and any two differ by less than 11 in value, and 11
# is prime, so a single substitution always changes the sum mod 11. Adjacent weights satisfy
# w[i] = 2 * w[i+1] (mod 11), so swapping different a, b changes the sum by (a - b) * w[i+1] != 0.
@given(resident_ids, st.integers(0, 17), st.sampled_from(ID_CHARS))
def test_any_single_substitution_is_detected(number: str, position: int, replacement: str) -> None:
    assume(number[position] != replacement)
    with pytest.raises(InvalidResidentId):
        validate_resident_id(number[:position] + replacement + number[position + 1 :])


@given(resident_ids, st.integers(0, 16))
def test_any_adjacent_transposition_is_detected(number: str, position: int) -> None:
    a, b = number[position], number[position + 1]
    assume(a != b)
    with pytest.raises(InvalidResidentId):
        validate_resident_id(number[:position] + b + a + number[position + 2 :])
