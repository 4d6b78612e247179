"""居民身份证号码 (GB 11643-1999): address code, birth date, sequence and an ISO 7064 MOD 11-2 check."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import Literal

from wanshi.kernel import clock
from wanshi.kernel.identifiers._text import is_digits, normalise
from wanshi.kernel.identifiers.division_code import validate_division_code
from wanshi.kernel.identifiers.errors import InvalidDivisionCode, InvalidResidentId

_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_CHECK_CHARS = "10X98765432"
_LEGACY_LENGTH = 15
# Cards exist only since 1984; an earlier year is possible for the very old but worth a second look.
_UNUSUAL_BIRTH_YEAR = 1900

Sex = Literal["male", "female"]


@dataclass(frozen=True)
class ResidentIdInfo:
    value: str
    division_code: str
    birth_date: date
    sex: Sex
    warnings: tuple[str, ...] = ()


def resident_id_check_char(first17: str) -> str:
    first17 = normalise(first17)
    if len(first17) != 17 or not is_digits(first17):
        raise InvalidResidentId("计算校验码需要身份证号码的前17位数字", reason="format")
    return _CHECK_CHARS[sum(int(ch) * w for ch, w in zip(first17, _WEIGHTS, strict=True)) % 11]


def validate_resident_id(
    value: str,
    *,
    known_division: Callable[[str], bool] | None = None,
    today: date | None = None,
) -> ResidentIdInfo:
    """Check a number; `known_division` tells whether an address code is in the current division table."""
    number = normalise(value)
    if not number:
        raise InvalidResidentId("请填写居民身份证号码", reason="empty")
    if len(number) == _LEGACY_LENGTH and is_digits(number):
        raise InvalidResidentId("这是15位旧身份证号码，请填写18位居民身份证号码", reason="legacy_15")
    if len(number) != 18:
        raise InvalidResidentId(f"居民身份证号码应为18位，实际为{len(number)}位", reason="length")
    for position, ch in enumerate(number[:17], start=1):
        if not is_digits(ch):
            raise InvalidResidentId(
                f"居民身份证号码第{position}位“{ch}”无效：前17位只能是数字",
                reason="charset",
                position=position,
            )
    actual = number[17]
    if actual not in _CHECK_CHARS:
        raise InvalidResidentId(
            f"居民身份证号码第18位（校验码）只能是数字或X，实际为“{actual}”", reason="charset", position=18
        )
    birth_date = _birth_date(number[6:14])
    if birth_date > (today or clock.today_in_china()):
        raise InvalidResidentId(f"出生日期{birth_date.isoformat()}晚于今天", reason="birth_date")
    expected = resident_id_check_char(number[:17])
    if actual != expected:
        raise InvalidResidentId(
            f"居民身份证号码校验码错误：按前17位应为“{expected}”，实际为“{actual}”，请检查是否输错",
            reason="check_char",
            expected=expected,
        )

    warnings: list[str] = []
    division = number[:6]
    # People keep their number when their county is merged or renamed, so an old code is normal.
    try:
        warnings.extend(validate_division_code(division, known_division).warnings)
    except InvalidDivisionCode as exc:
        hint = "（可能为历史区划代码）" if exc.details.get("reason") == "unknown" else ""
        warnings.append(f"地址码：{exc.message}{hint}")
    if birth_date.year < _UNUSUAL_BIRTH_YEAR:
        warnings.append(f"出生年份{birth_date.year}早于{_UNUSUAL_BIRTH_YEAR}年，请核对")
    sex: Sex = "male" if int(number[16]) % 2 == 1 else "female"
    return ResidentIdInfo(number, division, birth_date, sex, tuple(warnings))


def generate_resident_id(division_code: str, birth_date: date, sequence: int) -> str:
    """A valid number; an odd sequence (000–999) is a man, an even one a woman."""
    division = validate_division_code(division_code).code
    if not 0 <= sequence <= 999:
        raise InvalidResidentId(f"顺序码应在0–999之间，实际为{sequence}", reason="sequence")
    first17 = f"{division}{birth_date:%Y%m%d}{sequence:03d}"
    # Validating the result rejects birth dates in the future with the usual message.
    return validate_resident_id(first17 + resident_id_check_char(first17)).value


def upgrade_15_to_18(value: str) -> str:
    """The 18-digit form of a first-generation 15-digit number, whose YYMMDD is read as 19YY."""
    number = normalise(value)
    if len(number) != _LEGACY_LENGTH or not is_digits(number):
        raise InvalidResidentId("15位旧身份证号码应为15位数字", reason="format")
    first17 = f"{number[:6]}19{number[6:]}"
    _birth_date(first17[6:14])  # an impossible date must not come out with a valid check character
    return first17 + resident_id_check_char(first17)


def _birth_date(yyyymmdd: str) -> date:
    try:
        return date(int(yyyymmdd[:4]), int(yyyymmdd[4:6]), int(yyyymmdd[6:8]))
    except ValueError:
        raise InvalidResidentId(f"出生日期“{yyyymmdd}”不是有效日期", reason="birth_date") from None
