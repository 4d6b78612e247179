"""A form record: the draft a department designs, and the versions it has published."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any


class FormKind(StrEnum):
    FORM = "form"
    FRAGMENT = "fragment"
    TEMPLATE = "template"

    @property
    def label(self) -> str:
        return {"form": "申请表单", "fragment": "共享字段组", "template": "表单模板"}[self.value]

    @property
    def shared(self) -> bool:
        """Fragments and templates are there for every department to build on."""
        return self is not FormKind.FORM


class EventKind(StrEnum):
    CREATED = "created"
    SAVED = "saved"
    PUBLISHED = "published"
    ARCHIVED = "archived"
    RESTORED = "restored"

    @property
    def label(self) -> str:
        return {
            "created": "创建",
            "saved": "保存草稿",
            "published": "发布",
            "archived": "停用",
            "restored": "恢复使用",
        }[self.value]


@dataclass(frozen=True)
class FormRecord:
    id: int
    key: str
    kind: FormKind
    organisation_id: int
    division_code: str
    title: str
    draft: dict[str, Any]
    revision: int
    latest_version: int | None
    draft_changed: bool
    archived: bool
    created_by: str
    created_at: datetime
    updated_by: str
    updated_at: datetime


@dataclass(frozen=True)
class FormVersion:
    record_id: int
    key: str
    # The owner's division: a 行政区划 field offers the divisions of its province.
    division_code: str
    number: int
    document: dict[str, Any]
    note: str
    published_by: str
    published_at: datetime


@dataclass(frozen=True)
class FormEvent:
    kind: EventKind
    revision: int
    version: int | None
    note: str
    actor: str
    at: datetime
