from __future__ import annotations

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from wanshi.kernel.identifiers import (
    InvalidCreditCode,
    credit_code_check_char,
    generate_credit_code,
    org_code_check_char,
    validate_credit_code,
)
from wanshi.kernel.identifiers.credit_code import CHARSET

PILOT = "91350100M0001TGQXM"
BODY = "12345678"


@st.composite
def division_codes(draw: st.DrawFn) -> str:
    """Structurally valid GB/T 2260 codes of every level."""
    province = f"{draw(st.integers(1, 8))}{draw(st.integers(0, 9))}"
    middle = draw(st.sampled_from(["00", "90", *(f"{i:02d}" for i in range(1, 71))]))
    last = "00" if middle == "00" else f"{draw(st.integers(0, 99)):02d}"
    return province + middle + last


charset_chars = st.sampled_from(CHARSET)
credit_codes = st.builds(
    generate_credit_code,
    charset_chars,
    charset_chars,
    division_codes(),
    st.text(CHARSET, min_size=8, max_size=8),
)


def with_check(first17: str) -> str:
    return first17 + credit_code_check_char(first17)


def test_charset_is_the_standard_one() -> None:
    assert len(CHARSET) == 31
    assert not set("IOSVZ") & set(CHARSET)


def test_standard_example() -> None:
    info = validate_credit_code("91110000600037341L")
    assert info.value == "91110000600037341L"
    assert (info.authority_code, info.authority_name) == ("9", "工商")
    assert (info.category_code, info.category_name) == ("1", "企业")
    assert info.division_code == "110000"
    assert info.org_code == "600037341"
    assert info.warnings == ()
    assert credit_code_check_char("91110000600037341") == "L"


def test_input_is_normalised() -> None:
    assert validate_credit_code(" ９１１１００００６０００３７３４１ｌ ").value == "91110000600037341L"


def test_pilot_code_is_rejected_when_strict() -> None:
    with pytest.raises(InvalidCreditCode) as caught:
        validate_credit_code(PILOT)
    assert caught.value.code == "invalid_credit_code"
    assert caught.value.details == {"reason": "check_char", "expected": "1"}
    assert "“1”" in caught.value.message


def test_pilot_code_is_a_warning_when_lenient() -> None:
    info = validate_credit_code(PILOT, strict_check=False)
    assert info.value == PILOT
    assert info.org_code == "M0001TGQX"
    assert len(info.warnings) == 1
    assert info.warnings[0].startswith("校验位不符（可能为早期试点代码）")


def test_any_charset_char_is_accepted_in_positions_1_and_2() -> None:
    info = validate_credit_code(generate_credit_code("N", "Q", "340100", "MA2RXXXX"))
    assert (info.authority_code, info.authority_name) == ("N", None)
    assert (info.category_code, info.category_name) == ("Q", None)


@pytest.mark.parametrize(
    ("authority", "category", "name"),
    [("1", "1", "机关"), ("5", "3", "基金会"), ("9", "2", "个体工商户"), ("9", "3", "农民专业合作社")],
)
def test_category_names_depend_on_the_authority(authority: str, category: str, name: str) -> None:
    info = validate_credit_code(generate_credit_code(authority, category, "340100", "12345678"))
    assert info.category_name == name


def test_wrong_embedded_org_code_check() -> None:
    wrong = "0" if org_code_check_char(BODY) != "0" else "1"
    code = with_check(f"91340100{BODY}{wrong}")
    with pytest.raises(InvalidCreditCode) as caught:
        validate_credit_code(code)
    assert caught.value.details["reason"] == "org_code_check_char"
    assert "组织机构代码" in caught.value.message
    info = validate_credit_code(code, strict_check=False)
    assert len(info.warnings) == 1
    assert "组织机构代码" in info.warnings[0]


def test_odd_division_code_only_warns_even_when_strict() -> None:
    info = validate_credit_code(with_check(f"91347100{BODY}{org_code_check_char(BODY)}"))
    assert len(info.warnings) == 1
    assert info.warnings[0].startswith("第3–8位行政区划码")


@pytest.mark.parametrize(
    ("value", "reason", "fragment"),
    [
        ("", "empty", "请填写"),
        ("9111000060003734", "length", "实际为16位"),
        ("110000600037341", "length", "工商注册号"),
        ("91110000600037341I", "charset", "第18位"),
        ("91O10000600037341L", "charset", "第3位"),
    ],
)
def test_each_kind_of_error_says_what_is_wrong(value: str, reason: str, fragment: str) -> None:
    with pytest.raises(InvalidCreditCode) as caught:
        validate_credit_code(value)
    assert caught.value.details["reason"] == reason
    assert fragment in caught.value.message


def test_generate_rejects_bad_parts() -> None:
    with pytest.raises(InvalidCreditCode):
        generate_credit_code("91", "1", "340100", "12345678")
    with pytest.raises(InvalidCreditCode, match="第9位"):
        generate_credit_code("9", "1", "340100", "I2345678")


@given(charset_chars, charset_chars, division_codes(), st.text(CHARSET, min_size=8, max_size=8))
def test_generated_codes_validate_to_their_parts(
    authority: str, category: str, division: str, body: str
) -> None:
    info = validate_credit_code(generate_credit_code(authority, category, division, body))
    assert info.authority_code == authority
    assert info.category_code == category
    assert info.division_code == division
    assert info.org_code[:8] == body
    assert info.org_code[8] == org_code_check_char(body)


# MOD 31 with weights 3^k mod 31: every weight is non-zero, values differ by less than 31 and 31 is
# prime, so a single substitution always changes the sum. Adjacent weights are w and 3w, so swapping
# different a, b changes it by 2w(a - b) != 0; the last pair has weights 28 and 1 (the check itself).
@given(credit_codes, st.integers(0, 17), charset_chars)
def test_any_single_substitution_is_detected(code: str, position: int, replacement: str) -> None:
    assume(code[position] != replacement)
    with pytest.raises(InvalidCreditCode):
        validate_credit_code(code[:position] + replacement + code[position + 1 :])


@given(credit_codes, st.integers(0, 16))
def test_any_adjacent_transposition_is_detected(code: str, position: int) -> None:
    a, b = code[position], code[position + 1]
    assume(a != b)
    with pytest.raises(InvalidCreditCode):
        validate_credit_code(code[:position] + b + a + code[position + 2 :])
