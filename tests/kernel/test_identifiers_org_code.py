from __future__ import annotations

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from wanshi.kernel.identifiers import (
    InvalidOrgCode,
    generate_org_code,
    org_code_check_char,
    validate_org_code,
)

ALNUM = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
bodies = st.text(ALNUM, min_size=8, max_size=8)


def value(ch: str) -> int:
    return ALNUM.index(ch)


def test_standard_example() -> None:
    assert org_code_check_char("60003734") == "1"
    for written in ("60003734-1", "600037341", " ６０００３７３４－１ "):
        info = validate_org_code(written)
        assert (info.value, info.body, info.check_char, info.display) == (
            "600037341",
            "60003734",
            "1",
            "60003734-1",
        )


@pytest.mark.parametrize(
    ("body", "check"),
    # Worked by hand: 4*3 = 12 ≡ 1 -> 11 - 1 = 10 -> X; a sum ≡ 0 gives 11 -> 0; A counts as 10.
    [("40000000", "X"), ("00000000", "0"), ("A0000000", "3"), ("12345678", "8")],
)
def test_check_char_special_values(body: str, check: str) -> None:
    assert org_code_check_char(body) == check
    assert generate_org_code(body.lower()) == body + check


def test_wrong_check_names_the_expected_one() -> None:
    with pytest.raises(InvalidOrgCode) as caught:
        validate_org_code("60003734-2")
    assert caught.value.code == "invalid_org_code"
    assert caught.value.details == {"reason": "check_char", "expected": "1"}
    assert "“1”" in caught.value.message


@pytest.mark.parametrize(
    ("written", "reason"),
    [
        ("", "empty"),
        ("6000373-41", "length"),
        ("60003734--1", "length"),
        ("6000373", "length"),
        ("6000#734-1", "charset"),
        ("60003734-A", "charset"),
    ],
)
def test_malformed_codes(written: str, reason: str) -> None:
    with pytest.raises(InvalidOrgCode) as caught:
        validate_org_code(written)
    assert caught.value.details["reason"] == reason


@given(bodies)
def test_generated_codes_validate(body: str) -> None:
    code = generate_org_code(body)
    info = validate_org_code(code)
    assert info.body == body
    assert info.check_char in "0123456789X"
    assert validate_org_code(info.display) == info


# Weights 3 7 9 10 5 8 4 2 are non-zero mod 11, but body characters take values 0..35: a
# substitution is detected exactly when the values differ by something other than a multiple of 11
# (so always between digits), e.g. 6 -> H (6 + 11) goes unnoticed.
@given(bodies, st.integers(0, 7), st.sampled_from(ALNUM))
def test_body_substitution_is_detected_unless_values_differ_by_a_multiple_of_11(
    body: str, position: int, replacement: str
) -> None:
    assume(body[position] != replacement)
    code = generate_org_code(body)
    changed = code[:position] + replacement + code[position + 1 :]
    if (value(replacement) - value(body[position])) % 11:
        with pytest.raises(InvalidOrgCode):
            validate_org_code(changed)
    else:
        assert validate_org_code(changed).value == changed


def test_the_known_blind_spot() -> None:
    assert validate_org_code("H0003734-1").body == "H0003734"


@given(bodies, st.sampled_from("0123456789X"))
def test_check_char_substitution_is_detected(body: str, replacement: str) -> None:
    code = generate_org_code(body)
    assume(code[8] != replacement)
    with pytest.raises(InvalidOrgCode):
        validate_org_code(code[:8] + replacement)


# Adjacent weight differences (-4 -2 -1 5 -3 4 2, and 2 - 1 for the last body char and the check)
# are non-zero mod 11, so a swap is detected exactly when the two values are not congruent mod 11.
@given(bodies, st.integers(0, 6))
def test_body_transposition_is_detected_unless_values_are_congruent_mod_11(body: str, position: int) -> None:
    a, b = body[position], body[position + 1]
    assume(a != b)
    code = generate_org_code(body)
    changed = code[:position] + b + a + code[position + 2 :]
    if (value(a) - value(b)) % 11:
        with pytest.raises(InvalidOrgCode):
            validate_org_code(changed)
    else:
        assert validate_org_code(changed).value == changed


@given(st.text("0123456789", min_size=8, max_size=8))
def test_swapping_a_digit_with_a_digit_check_is_detected(body: str) -> None:
    code = generate_org_code(body)
    assume(code[8] != "X" and code[7] != code[8])
    with pytest.raises(InvalidOrgCode):
        validate_org_code(code[:7] + code[8] + code[7])
