"""电子证照标识 (GB/T 36904-2018).

`1.2.156.3005.2.<证照类型代码>.<颁证机构代码>.<流水号>.<版本号>.<校验位>`, where 证照类型代码 is the
defining authority's 统一社会信用代码 plus a 3-digit sequence and 颁证机构代码 is the issuer's.
"""

from __future__ import annotations

from dataclasses import dataclass

from wanshi.kernel.identifiers._text import ALNUM_VALUES, is_digits, normalise
from wanshi.kernel.identifiers.credit_code import validate_credit_code
from wanshi.kernel.identifiers.errors import InvalidCreditCode, InvalidLicenceId

PREFIX = "1.2.156.3005.2."
_ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
_PARTS = 5


@dataclass(frozen=True)
class LicenceIdInfo:
    value: str
    type_code: str
    defining_authority_code: str
    type_sequence: str
    issuer_code: str
    serial: str
    version: str
    check_char: str
    warnings: tuple[str, ...] = ()


def iso7064_mod37_36_check_char(data: str) -> str:
    """ISO 7064 hybrid MOD 37,36 over 0–9A–Z.

    The standard's text was not at hand: this algorithm was inferred from public examples and is
    pinned by the example in STANDARDS.md, so keep the computation here and nowhere else.
    """
    m = len(_ALPHABET)
    p = m
    for ch in data:
        if ch not in ALNUM_VALUES:
            raise InvalidLicenceId(f"电子证照标识中的“{ch}”无效：只能是数字或大写字母", reason="charset")
        s = (p + ALNUM_VALUES[ch]) % m or m
        p = (2 * s) % (m + 1)
    return _ALPHABET[(1 - p) % m]


def validate_licence_id(value: str) -> LicenceIdInfo:
    text = normalise(value)
    if not text:
        raise InvalidLicenceId("请填写电子证照标识", reason="empty")
    if not text.startswith(PREFIX):
        raise InvalidLicenceId(f"电子证照标识应以“{PREFIX}”开头", reason="prefix")
    parts = text[len(PREFIX) :].split(".")
    if len(parts) != _PARTS:
        raise InvalidLicenceId(
            f"电子证照标识在“{PREFIX}”之后应有证照类型代码、颁证机构代码、流水号、版本号、校验位共5段，"
            f"实际为{len(parts)}段",
            reason="format",
        )
    type_code, issuer_code, serial, version, actual = parts
    warnings = _check_parts(type_code, issuer_code, serial, version)
    if len(actual) != 1:
        raise InvalidLicenceId(f"电子证照标识的校验位应为1位，实际为{len(actual)}位", reason="format")
    expected = iso7064_mod37_36_check_char(type_code + issuer_code + serial + version)
    if actual != expected:
        raise InvalidLicenceId(
            f"电子证照标识校验位错误：应为“{expected}”，实际为“{actual}”",
            reason="check_char",
            expected=expected,
        )
    return LicenceIdInfo(
        value=text,
        type_code=type_code,
        defining_authority_code=type_code[:18],
        type_sequence=type_code[18:],
        issuer_code=issuer_code,
        serial=serial,
        version=version,
        check_char=actual,
        warnings=warnings,
    )


def build_licence_id(type_code: str, issuer_code: str, serial: str, version: str) -> str:
    parts = tuple(normalise(part) for part in (type_code, issuer_code, serial, version))
    _check_parts(*parts)
    # The dots separate the parts for people; the check character covers only the characters.
    return f"{PREFIX}{'.'.join(parts)}.{iso7064_mod37_36_check_char(''.join(parts))}"


def _check_parts(type_code: str, issuer_code: str, serial: str, version: str) -> tuple[str, ...]:
    if len(type_code) != 21 or not is_digits(type_code[18:]):
        raise InvalidLicenceId(
            "证照类型代码应为21位：定义机构的18位统一社会信用代码加3位数字顺序号", reason="type_code"
        )
    warnings = _credit_code_warnings(type_code[:18], "证照类型代码") + _credit_code_warnings(
        issuer_code, "颁证机构代码"
    )
    for label, part in (("流水号", serial), ("版本号", version)):
        if not part or any(ch not in ALNUM_VALUES for ch in part):
            raise InvalidLicenceId(f"电子证照标识的{label}应由数字或大写字母组成", reason="format")
    return warnings


def _credit_code_warnings(code: str, label: str) -> tuple[str, ...]:
    # Codes from early pilots are still on issued licences, so a wrong check character only warns.
    try:
        return tuple(f"{label}：{w}" for w in validate_credit_code(code, strict_check=False).warnings)
    except InvalidCreditCode as exc:
        raise InvalidLicenceId(f"{label}：{exc.message}", reason="credit_code") from None
