"""Records of the catalogue and their versions: one lifecycle for basic entries, implementation entries and
bundles.

Lifecycle of a version::

    draft ──submit──▶ submitted ──publish──▶ published ──(next publish)──▶ superseded
      ▲                  │
      └─ returned ◀──return (reasons)

A record is what readers see: until its first publication its state is its working version's status;
afterwards it stays ``published`` (readers get the published version) while a next version goes through the
same steps beside it and replaces it only when published. ``withdrawn`` (取消) is final and keeps the code
taken, so a case or a bundle that named the item never silently points at another.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from wanshi.items.domain.documents import RecordKind
from wanshi.items.domain.elements import LABELS, Labelled
from wanshi.kernel.errors import Conflict


class VersionStatus(Labelled):
    DRAFT = "draft"
    SUBMITTED = "submitted"
    RETURNED = "returned"
    PUBLISHED = "published"
    SUPERSEDED = "superseded"


class RecordState(Labelled):
    DRAFT = "draft"
    SUBMITTED = "submitted"
    RETURNED = "returned"
    PUBLISHED = "published"
    WITHDRAWN = "withdrawn"


class EventKind(Labelled):
    CREATED = "created"
    EDITED = "edited"
    SUBMITTED = "submitted"
    RETURNED = "returned"
    PUBLISHED = "published"
    VERSION_STARTED = "version_started"
    WITHDRAWN = "withdrawn"
    PROVINCE_CHANGED = "province_changed"
    IMPORTED = "imported"


LABELS.update(
    {
        (VersionStatus, "draft"): "草稿",
        (VersionStatus, "submitted"): "待审核",
        (VersionStatus, "returned"): "已退回",
        (VersionStatus, "published"): "已发布",
        (VersionStatus, "superseded"): "已被新版本替代",
        (RecordState, "draft"): "草稿",
        (RecordState, "submitted"): "待审核",
        (RecordState, "returned"): "已退回",
        (RecordState, "published"): "已发布",
        (RecordState, "withdrawn"): "已取消",
        (EventKind, "created"): "新建",
        (EventKind, "edited"): "修改",
        (EventKind, "submitted"): "提交审核",
        (EventKind, "returned"): "退回",
        (EventKind, "published"): "发布",
        (EventKind, "version_started"): "新建版本",
        (EventKind, "withdrawn"): "取消",
        (EventKind, "province_changed"): "随省级基本目录调整",
        (EventKind, "imported"): "导入",
    }
)

EDITABLE = frozenset({VersionStatus.DRAFT, VersionStatus.RETURNED})


class TransitionRefused(Conflict):
    code = "item_transition_refused"
    default_message = "事项当前状态不允许此操作，请刷新后重试"


@dataclass(frozen=True)
class Version:
    record_id: int
    number: int
    status: VersionStatus
    document: dict[str, Any]
    created_by: str
    created_at: datetime
    updated_at: datetime
    submitted_at: datetime | None = None
    reviewed_by: str = ""
    reviewed_at: datetime | None = None
    review_note: str = ""

    def _refuse(self, what: str) -> TransitionRefused:
        return TransitionRefused(
            f"版本 {self.number} {self.status.label}，不能{what}", status=self.status.value, action=what
        )

    def edited(self, document: dict[str, Any], at: datetime) -> Version:
        if self.status not in EDITABLE:
            raise self._refuse("修改")
        return replace(self, document=document, updated_at=at)

    def submitted(self, at: datetime) -> Version:
        if self.status not in EDITABLE:
            raise self._refuse("提交审核")
        return replace(self, status=VersionStatus.SUBMITTED, submitted_at=at, updated_at=at)

    def reviewed(self, publish: bool, reviewer: str, note: str, at: datetime) -> Version:
        if self.status is not VersionStatus.SUBMITTED:
            raise self._refuse("审核")
        status = VersionStatus.PUBLISHED if publish else VersionStatus.RETURNED
        return replace(
            self, status=status, reviewed_by=reviewer, reviewed_at=at, review_note=note, updated_at=at
        )

    def superseded(self, at: datetime) -> Version:
        return replace(self, status=VersionStatus.SUPERSEDED, updated_at=at)


@dataclass(frozen=True)
class Record:
    id: int
    kind: RecordKind
    code: str
    # An implementation entry's basic code; a basic entry's own code; empty for a bundle.
    basic_code: str
    # The responsible department (basic), the implementing body, the compiling bureau (bundle).
    organisation_id: int
    # The tenant: the province for basic entries, the body's division otherwise.
    division_code: str
    state: RecordState
    published_version: int | None
    working_version: int | None
    name: str
    created_by: str
    created_at: datetime
    updated_at: datetime
    lock: int = 0
    withdrawn_reason: str = ""

    def follow(self, working: Version, name: str, at: datetime) -> Record:
        """The record after its working version changed: an unpublished record wears that version's status."""
        if self.state is RecordState.WITHDRAWN:
            raise TransitionRefused("事项已取消，不能再修改", state=self.state.value)
        if working.status is VersionStatus.PUBLISHED:
            return replace(
                self,
                state=RecordState.PUBLISHED,
                published_version=working.number,
                working_version=None,
                name=name,
                updated_at=at,
            )
        if self.published_version is not None:
            return replace(self, working_version=working.number, updated_at=at)
        return replace(
            self,
            state=RecordState(working.status.value),
            working_version=working.number,
            name=name,
            updated_at=at,
        )

    def start_version(self, at: datetime) -> tuple[Record, int]:
        if self.state is not RecordState.PUBLISHED:
            raise TransitionRefused("只有已发布的事项才能新建版本", state=self.state.value)
        if self.working_version is not None:
            raise Conflict(
                f"版本 {self.working_version} 尚未发布，请在该版本上修改", code="item_version_open"
            )
        assert self.published_version is not None
        number = self.published_version + 1
        return replace(self, working_version=number, updated_at=at), number

    def withdrawn(self, reason: str, at: datetime) -> Record:
        if self.state is not RecordState.PUBLISHED:
            raise TransitionRefused(f"事项{self.state.label}，不能取消", state=self.state.value)
        return replace(
            self, state=RecordState.WITHDRAWN, working_version=None, withdrawn_reason=reason, updated_at=at
        )


@dataclass(frozen=True)
class HistoryEntry:
    id: int
    record_id: int
    version_number: int | None
    kind: EventKind
    from_state: str
    to_state: str
    actor: str
    note: str
    detail: dict[str, Any]
    occurred_at: datetime
