"""组织机构代码 (GB 11714-1997): 8 body characters and a MOD 11 check character.

It survives as positions 9–17 of the 统一社会信用代码 and in older records and certificates.
"""

from __future__ import annotations

from dataclasses import dataclass

from wanshi.kernel.identifiers._text import ALNUM_VALUES, normalise
from wanshi.kernel.identifiers.errors import InvalidOrgCode

_WEIGHTS = (3, 7, 9, 10, 5, 8, 4, 2)
_BODY_LENGTH = 8


@dataclass(frozen=True)
class OrgCodeInfo:
    value: str  # 9 characters without the hyphen, the form used inside the credit code
    body: str
    check_char: str

    @property
    def display(self) -> str:
        """The printed form on certificates, e.g. 60003734-1."""
        return f"{self.body}-{self.check_char}"


def org_code_check_char(body: str) -> str:
    body = normalise(body)
    _check_body(body)
    c = 11 - sum(ALNUM_VALUES[ch] * w for ch, w in zip(body, _WEIGHTS, strict=True)) % 11
    return {10: "X", 11: "0"}.get(c, str(c))


def validate_org_code(value: str) -> OrgCodeInfo:
    code = normalise(value)
    if not code:
        raise InvalidOrgCode("请填写组织机构代码", reason="empty")
    if len(code) == _BODY_LENGTH + 2 and code[_BODY_LENGTH] == "-":
        code = code[:_BODY_LENGTH] + code[_BODY_LENGTH + 1 :]
    if len(code) != _BODY_LENGTH + 1:
        raise InvalidOrgCode(
            f"组织机构代码应为9位（8位本体代码+1位校验码，可写作XXXXXXXX-X），实际为{len(code)}位",
            reason="length",
        )
    body, actual = code[:_BODY_LENGTH], code[_BODY_LENGTH]
    _check_body(body)
    if actual not in "0123456789X":
        raise InvalidOrgCode(f"组织机构代码第9位（校验码）只能是数字或X，实际为“{actual}”", reason="charset")
    expected = org_code_check_char(body)
    if actual != expected:
        raise InvalidOrgCode(
            f"组织机构代码校验码错误：应为“{expected}”，实际为“{actual}”",
            reason="check_char",
            expected=expected,
        )
    return OrgCodeInfo(code, body, actual)


def generate_org_code(body: str) -> str:
    """The 9-character code (no hyphen) for an 8-character body."""
    body = normalise(body)
    return body + org_code_check_char(body)


def _check_body(body: str) -> None:
    if len(body) != _BODY_LENGTH:
        raise InvalidOrgCode(f"组织机构代码本体应为8位，实际为{len(body)}位", reason="length")
    for position, ch in enumerate(body, start=1):
        if ch not in ALNUM_VALUES:
            raise InvalidOrgCode(
                f"组织机构代码第{position}位“{ch}”无效：只能是数字或大写字母",
                reason="charset",
                position=position,
            )
