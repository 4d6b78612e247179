"""What the registries answer, decided from one record: result codes, name comparison, masking, fields.

Pure Python: the lookup itself (the index over the analytical store) and the call log live elsewhere.
"""

from __future__ import annotations

import hashlib
import hmac
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum

PURPOSE_MAX = 200
PURPOSE_MIN = 2
MASK_KEEP = 4


class Operation(StrEnum):
    VERIFY_PERSON = "verify_person"
    VERIFY_ENTERPRISE = "verify_enterprise"
    PERSON_PREFILL = "person_prefill"
    ENTERPRISE_PREFILL = "enterprise_prefill"
    ELICENCE_LOOKUP = "elicence_lookup"
    CREDIT_LOOKUP = "credit_lookup"

    @property
    def label(self) -> str:
        return OPERATION_LABELS[self]


OPERATION_LABELS = {
    Operation.VERIFY_PERSON: "人员身份核验",
    Operation.VERIFY_ENTERPRISE: "企业身份核验",
    Operation.PERSON_PREFILL: "人员信息预填",
    Operation.ENTERPRISE_PREFILL: "企业信息预填",
    Operation.ELICENCE_LOOKUP: "电子证照查询",
    Operation.CREDIT_LOOKUP: "信用记录查询",
}


class Result(StrEnum):
    """Stable result codes, also written to the call log."""

    MATCH = "match"
    NAME_MISMATCH = "name_mismatch"
    LEGAL_REP_MISMATCH = "legal_rep_mismatch"
    NOT_FOUND = "not_found"
    ID_INVALID = "id_invalid"
    CODE_INVALID = "code_invalid"
    # The identity matches, but the registry records the person or entity as no longer active.
    DECEASED = "deceased"
    CANCELLED = "cancelled"
    DEREGISTERED = "deregistered"
    REVOKED = "revoked"
    # Lookups that return data (prefill, e-licences, credit) rather than a verdict.
    FOUND = "found"
    DENIED = "denied"
    REFUSED = "refused"
    UNAVAILABLE = "unavailable"

    @property
    def label(self) -> str:
        return RESULT_LABELS[self]


RESULT_LABELS = {
    Result.MATCH: "一致",
    Result.NAME_MISMATCH: "姓名或名称不一致",
    Result.LEGAL_REP_MISMATCH: "法定代表人不一致",
    Result.NOT_FOUND: "库中无此记录",
    Result.ID_INVALID: "身份证号码无效",
    Result.CODE_INVALID: "统一社会信用代码无效",
    Result.DECEASED: "已死亡",
    Result.CANCELLED: "户籍已注销",
    Result.DEREGISTERED: "已注销",
    Result.REVOKED: "已吊销",
    Result.FOUND: "已返回",
    Result.DENIED: "无权调用",
    Result.REFUSED: "请求有误",
    Result.UNAVAILABLE: "索引不可用",
}

# What a form may be prefilled with. Not offered: lineage and bookkeeping columns, and the legal
# representative's ID number (a person's identifier is fetched through the population registry only).
PERSON_FIELDS = ("name", "sex", "birth_date", "ethnicity", "household_division", "address", "phone", "status")
ENTERPRISE_FIELDS = (
    "name",
    "entity_type",
    "legal_rep_name",
    "registered_capital",
    "established_date",
    "status",
    "division",
    "address",
    "industry",
    "business_scope",
)
FIELD_LABELS = {
    "name": "姓名/名称",
    "sex": "性别",
    "birth_date": "出生日期",
    "ethnicity": "民族",
    "household_division": "户籍地行政区划代码",
    "address": "住址",
    "phone": "手机号码",
    "status": "状态",
    "entity_type": "类型",
    "legal_rep_name": "法定代表人",
    "registered_capital": "注册资本（万元）",
    "established_date": "成立日期",
    "division": "登记机关行政区划代码",
    "industry": "行业门类",
    "business_scope": "经营范围",
}
_PERSON_INACTIVE = {"死亡": Result.DECEASED, "注销": Result.CANCELLED}
# 吊销 first: "吊销，未注销" is a revoked licence whose entity still exists.
_ENTERPRISE_INACTIVE = (("吊销", Result.REVOKED), ("注销", Result.DEREGISTERED))


def normalise_name(value: str | None) -> str:
    """Names compare after NFKC (full-width brackets, Kangxi radicals) with all whitespace removed."""
    if value is None:
        return ""
    return "".join(unicodedata.normalize("NFKC", value).split())


def normalise_key(value: str) -> str:
    return unicodedata.normalize("NFKC", value).strip().upper()


def mask(subject: str) -> str:
    """3401**********1234: enough to tell calls apart by eye, too little to recover the number."""
    if len(subject) <= 2 * MASK_KEEP:
        return "*" * len(subject)
    return subject[:MASK_KEEP] + "*" * (len(subject) - 2 * MASK_KEEP) + subject[-MASK_KEEP:]


def subject_hash(key: bytes, subject: str) -> str:
    """A keyed hash: the same subject always gives the same value (calls can be traced per person) but the
    number cannot be recovered by hashing all 10^17 candidates without the platform secret."""
    return hmac.new(key, subject.encode(), hashlib.sha256).hexdigest()


def person_state(status: str | None) -> Result | None:
    """The inactive state a population record's status names, if any."""
    text = normalise_name(status)
    return next((result for word, result in _PERSON_INACTIVE.items() if word in text), None)


def enterprise_state(status: str | None) -> Result | None:
    text = normalise_name(status)
    return next((result for word, result in _ENTERPRISE_INACTIVE if word in text), None)


@dataclass(frozen=True)
class Verdict:
    result: Result
    # The identity (number and name, and legal representative when asked) is the registry's.
    matched: bool
    status: str


def judge_person(record: Mapping[str, str | None] | None, name: str) -> Verdict:
    if record is None:
        return Verdict(Result.NOT_FOUND, False, "")
    status = record.get("status") or ""
    if normalise_name(record.get("name")) != normalise_name(name):
        return Verdict(Result.NAME_MISMATCH, False, status)
    return Verdict(person_state(status) or Result.MATCH, True, status)


def judge_enterprise(
    record: Mapping[str, str | None] | None, name: str, legal_representative: str | None
) -> Verdict:
    if record is None:
        return Verdict(Result.NOT_FOUND, False, "")
    status = record.get("status") or ""
    if normalise_name(record.get("name")) != normalise_name(name):
        return Verdict(Result.NAME_MISMATCH, False, status)
    if legal_representative is not None and normalise_name(record.get("legal_rep_name")) != normalise_name(
        legal_representative
    ):
        return Verdict(Result.LEGAL_REP_MISMATCH, False, status)
    return Verdict(enterprise_state(status) or Result.MATCH, True, status)


def unknown_fields(asked: tuple[str, ...], allowed: tuple[str, ...]) -> list[str]:
    return [f for f in asked if f not in allowed]
