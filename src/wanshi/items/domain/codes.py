"""Codes of service items.

基本编码 follows the observed shape of STANDARDS.md: three digits of the responsible department, one
character of the catalogue class, ten digits (``511A0138000000``). 实施编码 joins, with hyphens: the
基本编码, the implementing division's 12-digit code (the 6-digit code padded with zeros), ``000``, the
implementing body's 统一社会信用代码, the 办理项 number and the two-digit 业务办理项 number
(``511A0138000000-511602000000-000-115113010833722043-1-00``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from wanshi.kernel.errors import ValidationFailed
from wanshi.kernel.identifiers.credit_code import validate_credit_code
from wanshi.kernel.identifiers.errors import InvalidCreditCode

BASIC_CODE = re.compile(r"^[0-9]{3}[0-9A-Z][0-9]{10}$")
BUNDLE_CODE = re.compile(r"^[A-Z][A-Z0-9]{1,11}-[0-9]{3}$")
IMPLEMENTATION_CODE = re.compile(
    r"^(?P<basic>[0-9]{3}[0-9A-Z][0-9]{10})-(?P<division>[0-9]{6})000000-000-(?P<body>[0-9A-Z]{18})"
    r"-(?P<handling>[1-9])-(?P<business>[0-9]{2})$"
)


def check_basic_code(code: str) -> str:
    code = code.strip().upper()
    if not BASIC_CODE.match(code):
        raise ValidationFailed(
            f"基本编码“{code}”格式有误：应为 3 位部门码、1 位类别码和 10 位数字，共 14 位",
            code="item_code_invalid",
        )
    return code


def check_bundle_code(code: str) -> str:
    code = code.strip().upper()
    if not BUNDLE_CODE.match(code):
        raise ValidationFailed(
            f"一件事编码“{code}”格式有误：应为字母开头的前缀、连字符和 3 位序号，如 LIFE-001",
            code="bundle_code_invalid",
        )
    return code


def check_body_code(code: str) -> str:
    """The implementing body's 统一社会信用代码, check character included."""
    try:
        return validate_credit_code(code.strip().upper()).value
    except InvalidCreditCode as exc:
        raise ValidationFailed(
            f"实施主体的统一社会信用代码有误：{exc.message}", code="item_body_code_invalid"
        ) from exc


@dataclass(frozen=True)
class ImplementationCode:
    basic_code: str
    division_code: str
    body_code: str
    handling_no: int = 1
    business_no: int = 0

    def __str__(self) -> str:
        return (
            f"{self.basic_code}-{self.division_code}000000-000-{self.body_code}"
            f"-{self.handling_no}-{self.business_no:02d}"
        )


def parse_implementation_code(code: str) -> ImplementationCode:
    m = IMPLEMENTATION_CODE.match(code.strip().upper())
    if m is None:
        raise ValidationFailed(f"实施编码“{code}”格式有误", code="item_code_invalid")
    return ImplementationCode(m["basic"], m["division"], m["body"], int(m["handling"]), int(m["business"]))
