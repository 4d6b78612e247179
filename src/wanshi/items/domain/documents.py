"""What a version of each kind of record holds: a basic-directory entry, an implementation entry, a bundle."""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from pydantic import Field, field_validator

from wanshi.items.domain.codes import check_basic_code, check_body_code
from wanshi.items.domain.elements import (
    LABELS,
    Audience,
    Elements,
    ImplementerNature,
    Labelled,
    Part,
    parse_part,
)
from wanshi.items.domain.locks import Adjust


class RecordKind(StrEnum):
    BASIC = "basic"  # 基本目录 entry, set by the province
    IMPLEMENTATION = "implementation"  # 实施清单 entry of one body
    BUNDLE = "bundle"  # 一件事

    @property
    def label(self) -> str:
        return {"basic": "基本目录事项", "implementation": "实施清单事项", "bundle": "一件事"}[self.value]


class BasicDocument(Part):
    elements: Elements
    # How implementation lists may adjust each element; absent elements follow locks.DEFAULT_ADJUST.
    adjust: dict[str, Adjust] = Field(default_factory=dict)


class ImplementationDocument(Part):
    elements: Elements
    body_code: str
    body_nature: ImplementerNature = ImplementerNature.STATUTORY
    handling_no: int = Field(default=1, ge=1, le=9)
    business_no: int = Field(default=0, ge=0, le=99)
    # 业务办理项 name when an item is split into several handling situations (e.g. 新办 / 变更 / 延续).
    business_name: str = Field(default="", max_length=60)

    @field_validator("body_code")
    @classmethod
    def _body(cls, value: str) -> str:
        return check_body_code(value)


class LifeEvent(Labelled):
    """Life events (人生 / 企业全生命周期) the guide browses bundles by."""

    BIRTH = "birth"
    SCHOOL = "school"
    EMPLOYMENT = "employment"
    MARRIAGE = "marriage"
    HOUSING = "housing"
    RETIREMENT = "retirement"
    DEATH = "death"
    OPENING = "opening"
    OPERATING = "operating"
    CONSTRUCTION = "construction"
    CLOSING = "closing"


LABELS.update(
    {
        (LifeEvent, k): v
        for k, v in {
            "birth": "出生",
            "school": "入学",
            "employment": "就业",
            "marriage": "婚育",
            "housing": "安居",
            "retirement": "退休",
            "death": "身后事",
            "opening": "开办企业",
            "operating": "经营",
            "construction": "工程建设",
            "closing": "注销",
        }.items()
    }
)


class BundlePart(Part):
    """One item of a bundle: its basic code, and when it applies (blank: always)."""

    basic_code: str
    when: str = Field(default="", max_length=200)

    @field_validator("basic_code")
    @classmethod
    def _code(cls, value: str) -> str:
        return check_basic_code(value)


class BundleDocument(Part):
    name: str = Field(min_length=2, max_length=100)
    audience: Audience
    life_event: LifeEvent
    summary: str = Field(default="", max_length=4000)
    parts: tuple[BundlePart, ...] = Field(min_length=2, max_length=30)
    promised_days: int = Field(default=0, ge=0, le=365)
    keywords: tuple[str, ...] = Field(default=(), max_length=50)

    @field_validator("parts")
    @classmethod
    def _distinct(cls, value: tuple[BundlePart, ...]) -> tuple[BundlePart, ...]:
        codes = [p.basic_code for p in value]
        if len(set(codes)) != len(codes):
            raise ValueError("一件事中的事项重复")
        return value


DOCUMENTS: dict[RecordKind, type[Part]] = {
    RecordKind.BASIC: BasicDocument,
    RecordKind.IMPLEMENTATION: ImplementationDocument,
    RecordKind.BUNDLE: BundleDocument,
}


def parse_document(kind: RecordKind, data: Any) -> Part:
    return parse_part(DOCUMENTS[kind], data)
