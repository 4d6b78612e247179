from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from wanshi.kernel.identifiers import InvalidDivisionCode, parent_codes, validate_division_code

# STANDARDS.md: 安徽省 and its 16 cities; 340181 is 巢湖市 after 2011.
ANHUI = {
    "340000",
    *(f"34{n:02d}00" for n in (1, 2, 3, 4, 5, 6, 7, 8, 10, 11, 12, 13, 15, 16, 17, 18)),
    "340181",
}


@st.composite
def division_codes(draw: st.DrawFn) -> str:
    province = f"{draw(st.integers(1, 8))}{draw(st.integers(0, 9))}"
    middle = draw(st.sampled_from(["00", "90", *(f"{i:02d}" for i in range(1, 71))]))
    last = "00" if middle == "00" else f"{draw(st.integers(0, 99)):02d}"
    return province + middle + last


@pytest.mark.parametrize(
    ("code", "level", "kind", "parents"),
    [
        ("340000", "province", "省级行政区", ()),
        ("340100", "prefecture", "地级市", ("340000",)),
        ("341800", "prefecture", "地级市", ("340000",)),
        ("652300", "prefecture", "地区/州/盟", ("650000",)),
        ("429000", "prefecture", "省直辖县级行政区划", ("420000",)),
        ("110100", "prefecture", "直辖市所辖区县", ("110000",)),
        ("340102", "county", "市辖区", ("340100", "340000")),
        ("340121", "county", "县/旗", ("340100", "340000")),
        ("340181", "county", "县级市", ("340100", "340000")),
        ("429004", "county", "省直辖县级行政区", ("420000",)),
    ],
)
def test_levels_kinds_and_parents(code: str, level: str, kind: str, parents: tuple[str, ...]) -> None:
    info = validate_division_code(code)
    assert (info.code, info.level, info.kind, info.parents, info.warnings) == (code, level, kind, parents, ())
    assert parent_codes(code) == parents


def test_ranges_of_digits_3_and_4() -> None:
    assert validate_division_code("345100").kind == "地级市"
    assert validate_division_code("347000").kind == "地级市"
    assert validate_division_code("342100").kind == "地区/州/盟"
    assert validate_division_code("345000").kind == "地区/州/盟"


def test_ranges_of_digits_5_and_6() -> None:
    assert validate_division_code("340120").kind == "市辖区"
    assert validate_division_code("340180").kind == "县/旗"
    assert validate_division_code("340199").kind == "县级市"


def test_twelve_digit_statistical_code_is_rejected_clearly() -> None:
    with pytest.raises(InvalidDivisionCode) as caught:
        validate_division_code("340171000000")
    assert caught.value.code == "invalid_division_code"
    assert caught.value.details["reason"] == "statistical_code"
    assert "12位统计用区划代码" in caught.value.message


def test_development_zone_code_warns_without_a_table_and_fails_with_one() -> None:
    info = validate_division_code("340171")
    assert len(info.warnings) == 1
    assert "开发区" in info.warnings[0]
    with pytest.raises(InvalidDivisionCode) as caught:
        validate_division_code("340171", ANHUI.__contains__)
    assert caught.value.details["reason"] == "unknown"


def test_known_table() -> None:
    assert validate_division_code("340181", ANHUI.__contains__).level == "county"
    for gone in ("340900", "341400"):
        with pytest.raises(InvalidDivisionCode, match=gone):
            validate_division_code(gone, known=ANHUI.__contains__)


def test_input_is_normalised() -> None:
    assert validate_division_code(" ３４０１８１ ").code == "340181"


@pytest.mark.parametrize(
    ("code", "reason"),
    [
        ("", "empty"),
        ("34018", "format"),
        ("3401810", "format"),
        ("34O181", "format"),
        ("040000", "region"),
        ("940000", "region"),
        ("340001", "structure"),
        ("347100", "structure"),
        ("348900", "structure"),
        ("349100", "structure"),
    ],
)
def test_structural_errors(code: str, reason: str) -> None:
    with pytest.raises(InvalidDivisionCode) as caught:
        validate_division_code(code)
    assert caught.value.details["reason"] == reason


def test_parent_codes_validates_its_input() -> None:
    with pytest.raises(InvalidDivisionCode):
        parent_codes("340001")


@given(division_codes())
def test_parents_form_a_chain_up_to_the_province(code: str) -> None:
    info = validate_division_code(code)
    parents = parent_codes(code)
    assert len(parents) == {"province": 0, "prefecture": 1, "county": 2 - (code[2:4] == "90")}[info.level]
    if parents:
        assert parents[-1] == code[:2] + "0000"
        assert parent_codes(parents[0]) == parents[1:]
