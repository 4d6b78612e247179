"""统一社会信用代码 (GB 32100-2015).

Layout: 登记管理部门代码 (1) + 机构类别代码 (1) + 行政区划码 (6) + 组织机构代码 (9) + check (1).
Imports meet early pilot codes whose check character does not match; `strict_check=False` turns
check failures into warnings for them, forms keep the default and reject.
"""

from __future__ import annotations

from dataclasses import dataclass

from wanshi.kernel.identifiers._text import is_digits, normalise
from wanshi.kernel.identifiers.division_code import validate_division_code
from wanshi.kernel.identifiers.errors import InvalidCreditCode, InvalidDivisionCode
from wanshi.kernel.identifiers.org_code import org_code_check_char

CHARSET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_VALUES = {ch: i for i, ch in enumerate(CHARSET)}
_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
_LEGACY_REGISTRATION_LENGTH = 15

# Only the codes listed in STANDARDS.md; other authorities exist, their codes are accepted unnamed.
_AUTHORITY_NAMES = {"1": "机构编制", "5": "民政", "9": "工商", "Y": "其他"}
_CATEGORY_NAMES = {
    "11": "机关",
    "12": "事业单位",
    "13": "群众团体",
    "19": "其他",
    "51": "社会团体",
    "52": "民办非企业单位",
    "53": "基金会",
    "59": "其他",
    "91": "企业",
    "92": "个体工商户",
    "93": "农民专业合作社",
}


@dataclass(frozen=True)
class CreditCodeInfo:
    value: str
    authority_code: str
    authority_name: str | None
    category_code: str  # position 2 alone; its name depends on the authority code too
    category_name: str | None
    division_code: str
    org_code: str
    warnings: tuple[str, ...] = ()


def credit_code_check_char(first17: str) -> str:
    first17 = normalise(first17)
    if len(first17) != 17:
        raise InvalidCreditCode("计算校验码需要统一社会信用代码的前17位", reason="format")
    _check_charset(first17)
    return CHARSET[(31 - sum(_VALUES[ch] * w for ch, w in zip(first17, _WEIGHTS, strict=True)) % 31) % 31]


def validate_credit_code(value: str, *, strict_check: bool = True) -> CreditCodeInfo:
    code = normalise(value)
    if not code:
        raise InvalidCreditCode("请填写统一社会信用代码", reason="empty")
    if len(code) != 18:
        hint = (
            "；15位数字可能是旧的工商注册号"
            if len(code) == _LEGACY_REGISTRATION_LENGTH and is_digits(code)
            else ""
        )
        raise InvalidCreditCode(f"统一社会信用代码应为18位，实际为{len(code)}位{hint}", reason="length")
    _check_charset(code)

    warnings: list[str] = []
    expected = credit_code_check_char(code[:17])
    if code[17] != expected:
        if strict_check:
            raise InvalidCreditCode(
                f"统一社会信用代码校验码错误：应为“{expected}”，实际为“{code[17]}”，请检查是否输错",
                reason="check_char",
                expected=expected,
            )
        warnings.append(f"校验位不符（可能为早期试点代码）：应为“{expected}”，实际为“{code[17]}”")

    org_code = code[8:17]
    org_expected = org_code_check_char(org_code[:8])
    if org_code[8] != org_expected:
        message = f"第9–17位组织机构代码的校验码应为“{org_expected}”，实际为“{org_code[8]}”"
        if strict_check:
            raise InvalidCreditCode(
                f"统一社会信用代码{message}", reason="org_code_check_char", expected=org_expected
            )
        warnings.append(message)

    division = code[2:8]
    # Registration offices keep codes issued under since-changed divisions, so this only warns.
    try:
        warnings.extend(validate_division_code(division).warnings)
    except InvalidDivisionCode as exc:
        warnings.append(f"第3–8位行政区划码：{exc.message}")

    return CreditCodeInfo(
        value=code,
        authority_code=code[0],
        authority_name=_AUTHORITY_NAMES.get(code[0]),
        category_code=code[1],
        category_name=_CATEGORY_NAMES.get(code[:2]),
        division_code=division,
        org_code=org_code,
        warnings=tuple(warnings),
    )


def generate_credit_code(authority: str, category: str, division: str, org_code_body8: str) -> str:
    """A valid code from its parts; the embedded 组织机构代码 gets its own check character."""
    authority, category, body = normalise(authority), normalise(category), normalise(org_code_body8)
    if len(authority) != 1 or len(category) != 1:
        raise InvalidCreditCode("登记管理部门代码和机构类别代码各为1位", reason="format")
    if len(body) != 8:
        raise InvalidCreditCode(f"组织机构代码本体应为8位，实际为{len(body)}位", reason="format")
    division_code = validate_division_code(division).code
    first17 = f"{authority}{category}{division_code}{body}{org_code_check_char(body)}"
    return first17 + credit_code_check_char(first17)


def _check_charset(code: str) -> None:
    for position, ch in enumerate(code, start=1):
        if ch not in _VALUES:
            raise InvalidCreditCode(
                f"统一社会信用代码第{position}位“{ch}”无效：只能是数字或大写字母（不使用I、O、S、V、Z）",
                reason="charset",
                position=position,
            )
