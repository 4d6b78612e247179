"""行政区划代码 (GB/T 2260): structural rules only.

Which codes exist changes every year, so the table of real codes lives outside the kernel and is
passed in as `known`. Without it only the structure is checked.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from wanshi.kernel.identifiers._text import is_digits, normalise
from wanshi.kernel.identifiers.errors import InvalidDivisionCode

DivisionLevel = Literal["province", "prefecture", "county"]

# In the four municipalities digits 3–4 group districts (01) and counties (02) instead of naming a city.
_MUNICIPALITIES = frozenset({"11", "12", "31", "50"})
_PROVINCE_DIRECT = "90"
_STATISTICAL_LENGTH = 12


@dataclass(frozen=True)
class DivisionCodeInfo:
    code: str
    level: DivisionLevel
    kind: str
    parents: tuple[str, ...]  # nearest first, so parents[0] is the one to show as "上级"
    warnings: tuple[str, ...] = ()


def validate_division_code(value: str, known: Callable[[str], bool] | None = None) -> DivisionCodeInfo:
    code = normalise(value)
    if not code:
        raise InvalidDivisionCode("请填写行政区划代码", reason="empty")
    if len(code) == _STATISTICAL_LENGTH and is_digits(code):
        raise InvalidDivisionCode(
            "这是12位统计用区划代码（国家统计局），不是6位行政区划代码（GB/T 2260），两者不能混用",
            reason="statistical_code",
        )
    if len(code) != 6 or not is_digits(code):
        raise InvalidDivisionCode(f"行政区划代码应为6位数字，实际为“{code}”", reason="format")
    if code[0] not in "12345678":
        raise InvalidDivisionCode(f"行政区划代码第1位应为1–8（大区），实际为“{code[0]}”", reason="region")
    middle, last = code[2:4], code[4:6]
    if middle == "00" and last != "00":
        raise InvalidDivisionCode("行政区划代码第3–4位为00时第5–6位也应为00", reason="structure")
    if middle != "00" and not _is_assigned_middle(int(middle)):
        raise InvalidDivisionCode(
            f"行政区划代码第3–4位“{middle}”不在GB/T 2260规定的范围内（01–70、90）", reason="structure"
        )
    if known is not None and not known(code):
        raise InvalidDivisionCode(f"行政区划代码{code}不在行政区划表中", reason="unknown")

    warnings: list[str] = []
    if middle == "00":
        return DivisionCodeInfo(code, "province", "省级行政区", ())
    province = code[:2] + "0000"
    if last == "00":
        return DivisionCodeInfo(code, "prefecture", _prefecture_kind(code), (province,))
    if known is None and 71 <= int(last) <= 80:
        warnings.append(
            "第5–6位为71–80，可能是统计用区划代码中的开发区等功能区（如340171），"
            "不是GB/T 2260代码；请用行政区划表核对"
        )
    if middle == _PROVINCE_DIRECT:
        return DivisionCodeInfo(code, "county", "省直辖县级行政区", (province,), tuple(warnings))
    prefecture = code[:4] + "00"
    return DivisionCodeInfo(code, "county", _county_kind(int(last)), (prefecture, province), tuple(warnings))


def parent_codes(code: str) -> tuple[str, ...]:
    """Codes of the enclosing divisions, nearest first; a 省直辖县级 unit's parent is its province."""
    return validate_division_code(code).parents


def _is_assigned_middle(middle: int) -> bool:
    return 1 <= middle <= 70 or middle == int(_PROVINCE_DIRECT)


def _prefecture_kind(code: str) -> str:
    middle = int(code[2:4])
    if code[:2] in _MUNICIPALITIES:
        return "直辖市所辖区县"
    if middle == int(_PROVINCE_DIRECT):
        return "省直辖县级行政区划"
    if 21 <= middle <= 50:
        return "地区/州/盟"
    return "地级市"


def _county_kind(last: int) -> str:
    if last <= 20:
        return "市辖区"
    if last <= 80:
        return "县/旗"
    return "县级市"
