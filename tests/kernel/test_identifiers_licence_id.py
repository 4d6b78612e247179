from __future__ import annotations

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from wanshi.kernel.identifiers import (
    InvalidLicenceId,
    build_licence_id,
    generate_credit_code,
    iso7064_mod37_36_check_char,
    validate_licence_id,
)
from wanshi.kernel.identifiers.credit_code import CHARSET

EXAMPLE = "1.2.156.3005.2.11100000000013338W032.11220000013544541J.2430599.001.F"
ALNUM = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"


def test_standard_example_check_char() -> None:
    assert (
        iso7064_mod37_36_check_char("11100000000013338W032" + "11220000013544541J" + "2430599" + "001") == "F"
    )


def test_standard_example_is_valid() -> None:
    info = validate_licence_id(EXAMPLE)
    assert info.value == EXAMPLE
    assert info.type_code == "11100000000013338W032"
    assert info.defining_authority_code == "11100000000013338W"
    assert info.type_sequence == "032"
    assert info.issuer_code == "11220000013544541J"
    assert (info.serial, info.version, info.check_char) == ("2430599", "001", "F")
    assert info.warnings == ()


def test_build_reproduces_the_example() -> None:
    assert build_licence_id("11100000000013338W032", "11220000013544541J", "2430599", "001") == EXAMPLE


def test_input_is_normalised() -> None:
    assert validate_licence_id(" " + EXAMPLE.lower() + " ").value == EXAMPLE
    assert validate_licence_id(EXAMPLE.replace(".", "．")).value == EXAMPLE


def test_wrong_check_char_names_the_expected_one() -> None:
    with pytest.raises(InvalidLicenceId) as caught:
        validate_licence_id(EXAMPLE[:-1] + "W")
    assert caught.value.code == "invalid_licence_id"
    assert caught.value.details == {"reason": "check_char", "expected": "F"}
    assert "“F”" in caught.value.message


def test_pilot_credit_code_in_a_licence_only_warns() -> None:
    info = validate_licence_id(build_licence_id("11100000000013338W032", "91350100M0001TGQXM", "1", "001"))
    assert len(info.warnings) == 1
    assert info.warnings[0].startswith("颁证机构代码：校验位不符")


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("", "empty"),
        ("1.2.156.3005.1.11100000000013338W032.11220000013544541J.2430599.001.F", "prefix"),
        ("1.2.156.3005.2.11100000000013338W032.11220000013544541J.2430599.F", "format"),
        ("1.2.156.3005.2.11100000000013338W32.11220000013544541J.2430599.001.F", "type_code"),
        ("1.2.156.3005.2.11100000000013338W03A.11220000013544541J.2430599.001.F", "type_code"),
        ("1.2.156.3005.2.11100000000013338W032.1122000001354454.2430599.001.F", "credit_code"),
        ("1.2.156.3005.2.11100000000013338W032.11220000013544541J.2430-599.001.F", "format"),
        ("1.2.156.3005.2.11100000000013338W032.11220000013544541J.2430599..F", "format"),
        ("1.2.156.3005.2.11100000000013338W032.11220000013544541J.2430599.001.FF", "format"),
    ],
)
def test_malformed_ids(value: str, reason: str) -> None:
    with pytest.raises(InvalidLicenceId) as caught:
        validate_licence_id(value)
    assert caught.value.details["reason"] == reason


def test_build_rejects_bad_parts() -> None:
    with pytest.raises(InvalidLicenceId, match="流水号"):
        build_licence_id("11100000000013338W032", "11220000013544541J", "24.30599", "001")


def test_check_rejects_characters_outside_its_alphabet() -> None:
    with pytest.raises(InvalidLicenceId):
        iso7064_mod37_36_check_char("1.2")


credit_codes = st.builds(
    generate_credit_code,
    st.sampled_from(CHARSET),
    st.sampled_from(CHARSET),
    st.sampled_from(["340000", "340100", "340181", "110000"]),
    st.text(CHARSET, min_size=8, max_size=8),
)
licence_ids = st.builds(
    build_licence_id,
    st.builds(lambda code, n: f"{code}{n:03d}", credit_codes, st.integers(0, 999)),
    credit_codes,
    st.text(ALNUM, min_size=1, max_size=20),
    st.text(ALNUM, min_size=1, max_size=3),
)


@given(licence_ids)
def test_built_ids_validate(licence_id: str) -> None:
    info = validate_licence_id(licence_id)
    assert info.value == licence_id
    assert info.warnings == ()


# ISO 7064 hybrid systems detect every single substitution. They do not catch every adjacent
# transposition (a search finds undetected ones), so that is not asserted.
@given(licence_ids, st.data())
def test_any_single_substitution_is_detected(licence_id: str, data: st.DataObject) -> None:
    positions = [i for i, ch in enumerate(licence_id) if i >= len("1.2.156.3005.2.") and ch != "."]
    position = data.draw(st.sampled_from(positions))
    replacement = data.draw(st.sampled_from(ALNUM))
    assume(licence_id[position] != replacement)
    with pytest.raises(InvalidLicenceId):
        validate_licence_id(licence_id[:position] + replacement + licence_id[position + 1 :])
