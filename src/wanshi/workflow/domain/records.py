"""Process definitions, instances and tasks as the process centre keeps them."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum
from typing import Any


class InstanceStatus(StrEnum):
    RUNNING = "running"
    COMPLETED = "completed"
    TERMINATED = "terminated"

    @property
    def label(self) -> str:
        return {"running": "办理中", "completed": "已办结", "terminated": "已终止"}[self.value]


class TaskState(StrEnum):
    OPEN = "open"
    DONE = "done"
    CANCELLED = "cancelled"

    @property
    def label(self) -> str:
        return {"open": "待办", "done": "已办", "cancelled": "已撤销"}[self.value]


class EventKind(StrEnum):
    DEFINITION_CREATED = "definition_created"
    DEFINITION_SAVED = "definition_saved"
    DEFINITION_DEPLOYED = "definition_deployed"
    STARTED = "started"
    TASK_CREATED = "task_created"
    TASK_CLAIMED = "task_claimed"
    TASK_RELEASED = "task_released"
    TASK_DELEGATED = "task_delegated"
    TASK_COMPLETED = "task_completed"
    TASK_CANCELLED = "task_cancelled"
    RETURNED = "returned"
    TIMER_FIRED = "timer_fired"
    TIMER_FAILED = "timer_failed"
    CLOCK_PAUSED = "clock_paused"
    CLOCK_RESUMED = "clock_resumed"
    MIGRATED = "migrated"
    COMPLETED = "completed"
    TERMINATED = "terminated"

    @property
    def label(self) -> str:
        return _EVENT_LABELS[self]


_EVENT_LABELS = {
    EventKind.DEFINITION_CREATED: "新建流程",
    EventKind.DEFINITION_SAVED: "保存流程草稿",
    EventKind.DEFINITION_DEPLOYED: "部署流程版本",
    EventKind.STARTED: "启动",
    EventKind.TASK_CREATED: "环节到达",
    EventKind.TASK_CLAIMED: "认领",
    EventKind.TASK_RELEASED: "释放",
    EventKind.TASK_DELEGATED: "委派",
    EventKind.TASK_COMPLETED: "办理完成",
    EventKind.TASK_CANCELLED: "环节撤销",
    EventKind.RETURNED: "退回",
    EventKind.TIMER_FIRED: "定时触发",
    EventKind.TIMER_FAILED: "定时环节执行出错",
    EventKind.CLOCK_PAUSED: "计时暂停",
    EventKind.CLOCK_RESUMED: "计时恢复",
    EventKind.MIGRATED: "迁移到新版本",
    EventKind.COMPLETED: "办结",
    EventKind.TERMINATED: "终止",
}


class ClockKind(StrEnum):
    LEGAL = "legal"
    PROMISED = "promised"

    @property
    def label(self) -> str:
        return "法定时限" if self is ClockKind.LEGAL else "承诺时限"


@dataclass(frozen=True)
class Definition:
    id: int
    key: str
    organisation_id: int
    division_code: str
    name: str
    draft_bpmn: str
    draft_dmn: tuple[str, ...]
    revision: int
    latest_version: int | None
    draft_changed: bool
    updated_by: str
    updated_at: datetime


@dataclass(frozen=True)
class DefinitionVersion:
    id: int
    definition_id: int
    key: str
    number: int
    process_id: str
    name: str
    bpmn: str
    dmn: tuple[str, ...]
    note: str
    deployed_by: str
    deployed_at: datetime
    digest: str = ""


def definition_digest(bpmn: str, dmn: tuple[str, ...]) -> str:
    return hashlib.sha256("\x00".join((bpmn, *dmn)).encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class Instance:
    id: int
    version_id: int
    definition_key: str
    version_number: int
    business_key: str
    organisation_id: int
    division_code: str
    status: InstanceStatus
    state: bytes
    revision: int
    started_by: str
    started_at: datetime
    updated_at: datetime
    ended_at: datetime | None
    next_timer_at: datetime | None
    # The definition's digest, read with the instance (see workflow_version.digest).
    digest: str = ""


@dataclass(frozen=True)
class Task:
    id: int
    instance_id: int
    task_uuid: str
    element_id: str
    name: str
    form_key: str
    organisation_id: int | None
    division_code: str
    roles: tuple[str, ...]
    assignee_id: int | None
    assignee_name: str
    state: TaskState
    created_at: datetime
    claimed_at: datetime | None
    ended_at: datetime | None
    ended_by: str
    outcome: str
    due_date: date | None
    pause: str
    delegated_by: str


@dataclass(frozen=True)
class HistoryEntry:
    kind: EventKind
    actor: str
    at: datetime
    task_id: int | None
    detail: dict[str, Any]
