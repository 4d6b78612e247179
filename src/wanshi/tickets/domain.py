"""Tickets (工单): one shared mechanism for work handed to an organisation with a time limit.

Data-quality problems, 差评 rectification, hotline calls and grid events all become tickets; the context
that raises one keeps its own record and refers to the ticket by id (and the ticket to it by
``source_type`` + ``source_id``). Pure Python: no SQLAlchemy, no web framework.

State machine::

    open ──start──▶ in_progress ──resolve──▶ resolved ──close──▶ closed
      ▲  ◀─transfer─┘      ▲                     │
      └──transfer (to another organisation)      └──reopen (reason)──▶ in_progress

Rules that are decisions, not accidents:

- A transfer sends the ticket, unassigned, to another organisation, where it is open again. The deadline
  is *kept*: the time limit is a promise to whoever raised the matter (12345 热线 转办 does not restart
  the clock), and a transfer must not buy time. Supervisors see every transfer in the history.
- A reopened ticket keeps its deadline too: a rejected resolution means the work was not done in time.
- Closed is final. A new complaint about the same matter is a new ticket with the same source reference.
- Overdue is derived, never stored: a ticket is overdue while it is open or in progress and the day
  after its deadline has come (the deadline day itself still counts as in time).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from datetime import date, datetime
from enum import StrEnum
from typing import Any

from wanshi.kernel.errors import Conflict, ValidationFailed

NUMBER_PREFIX = "GD"
# Six digits a day: the province's 12345 hotline takes tens of thousands of calls on its busiest days.
MAX_DAILY_SEQUENCE = 999_999
NUMBER_PATTERN = re.compile(rf"{NUMBER_PREFIX}\d{{14}}")

TITLE_MAX = 200
DESCRIPTION_MAX = 4000
NOTE_MAX = 2000
REASON_MIN = 2
SOURCE_TYPE_MAX = 60
SOURCE_ID_MAX = 120
MAX_EVIDENCE_FILES = 20


class TicketState(StrEnum):
    OPEN = "open"
    IN_PROGRESS = "in_progress"
    RESOLVED = "resolved"
    CLOSED = "closed"

    @property
    def label(self) -> str:
        return _STATE_LABELS[self]


_STATE_LABELS = {
    TicketState.OPEN: "待受理",
    TicketState.IN_PROGRESS: "办理中",
    TicketState.RESOLVED: "已办结待确认",
    TicketState.CLOSED: "已关闭",
}

# The time limit runs only while the organisation still owes the work.
ACTIVE_STATES = frozenset({TicketState.OPEN, TicketState.IN_PROGRESS})


class TicketPriority(StrEnum):
    NORMAL = "normal"
    URGENT = "urgent"
    CRITICAL = "critical"

    @property
    def label(self) -> str:
        return _PRIORITY_LABELS[self]


_PRIORITY_LABELS = {
    TicketPriority.NORMAL: "一般",
    TicketPriority.URGENT: "紧急",
    TicketPriority.CRITICAL: "特急",
}


class Transition(StrEnum):
    START = "start"
    TRANSFER = "transfer"
    RESOLVE = "resolve"
    CLOSE = "close"
    REOPEN = "reopen"

    @property
    def label(self) -> str:
        return _TRANSITION_LABELS[self]


_TRANSITION_LABELS = {
    Transition.START: "受理",
    Transition.TRANSFER: "转办",
    Transition.RESOLVE: "办结",
    Transition.CLOSE: "确认关闭",
    Transition.REOPEN: "退回重办",
}

# For each transition: the states it may start from, and the state it leads to.
TRANSITIONS: dict[Transition, tuple[frozenset[TicketState], TicketState]] = {
    Transition.START: (frozenset({TicketState.OPEN}), TicketState.IN_PROGRESS),
    Transition.TRANSFER: (ACTIVE_STATES, TicketState.OPEN),
    Transition.RESOLVE: (frozenset({TicketState.IN_PROGRESS}), TicketState.RESOLVED),
    Transition.CLOSE: (frozenset({TicketState.RESOLVED}), TicketState.CLOSED),
    Transition.REOPEN: (frozenset({TicketState.RESOLVED}), TicketState.IN_PROGRESS),
}


class HistoryKind(StrEnum):
    """What a history row records: every transition, and the things that happen beside them."""

    OPENED = "opened"
    STARTED = "started"
    TRANSFERRED = "transferred"
    RESOLVED = "resolved"
    CLOSED = "closed"
    REOPENED = "reopened"
    COMMENTED = "commented"
    REMINDED = "reminded"
    DEADLINE_CHANGED = "deadline_changed"

    @property
    def label(self) -> str:
        return _HISTORY_LABELS[self]


_HISTORY_LABELS = {
    HistoryKind.OPENED: "创建工单",
    HistoryKind.STARTED: "受理",
    HistoryKind.TRANSFERRED: "转办",
    HistoryKind.RESOLVED: "办结",
    HistoryKind.CLOSED: "确认关闭",
    HistoryKind.REOPENED: "退回重办",
    HistoryKind.COMMENTED: "备注",
    HistoryKind.REMINDED: "到期提醒",
    HistoryKind.DEADLINE_CHANGED: "办理期限调整",
}


class TransitionRefused(Conflict):
    """The ticket's state does not allow this step (someone else may have moved it first)."""

    code = "ticket_transition_refused"
    default_message = "工单当前状态不允许此操作，请刷新后重试"


def next_state(state: TicketState, transition: Transition) -> TicketState:
    sources, target = TRANSITIONS[transition]
    if state not in sources:
        raise TransitionRefused(
            f"工单{state.label}，不能{transition.label}",
            state=state.value,
            transition=transition.value,
        )
    return target


def allowed_transitions(state: TicketState) -> frozenset[Transition]:
    return frozenset(t for t, (sources, _target) in TRANSITIONS.items() if state in sources)


# --- numbers ----------------------------------------------------------------------------------------------
def format_number(day: date, sequence: int) -> str:
    """GD + yyyymmdd + six digits: short enough to read out on the phone, sortable by day."""
    if not 1 <= sequence <= MAX_DAILY_SEQUENCE:
        raise Conflict(
            f"{day.isoformat()} 的工单编号已用完", code="ticket_numbers_exhausted", sequence=sequence
        )
    return f"{NUMBER_PREFIX}{day:%Y%m%d}{sequence:06d}"


def is_ticket_number(text: str) -> bool:
    return NUMBER_PATTERN.fullmatch(text) is not None


# --- text -------------------------------------------------------------------------------------------------
def clean_text(value: str, *, field: str, what: str, maximum: int, minimum: int = 0) -> str:
    """Trimmed text within its limits; ``minimum`` > 0 makes it required. Codes: ticket_<field>_*."""
    text = value.strip()
    if len(text) < minimum:
        raise ValidationFailed(
            f"请填写{what}" if not text else f"{what}至少 {minimum} 个字",
            code=f"ticket_{field}_required",
            field=field,
        )
    if len(text) > maximum:
        raise ValidationFailed(f"{what}不能超过 {maximum} 个字", code=f"ticket_{field}_too_long", field=field)
    return text


def check_source(source_type: str, source_id: str) -> tuple[str, str]:
    source_type, source_id = source_type.strip(), source_id.strip()
    if bool(source_type) != bool(source_id):
        raise ValidationFailed(
            "来源类型和来源编号须同时填写或同时留空", code="ticket_source_incomplete", field="source_type"
        )
    if len(source_type) > SOURCE_TYPE_MAX or len(source_id) > SOURCE_ID_MAX:
        raise ValidationFailed("来源类型或来源编号过长", code="ticket_source_too_long", field="source_id")
    return source_type, source_id


# --- the ticket -------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Ticket:
    id: int
    number: str
    category: str
    title: str
    description: str
    source_type: str
    source_id: str
    priority: TicketPriority
    organisation_id: int
    # The assigned organisation's division: the tenant, for scoping and later partitioning.
    division_code: str
    assignee_user_id: int | None
    state: TicketState
    time_limit_amount: int
    time_limit_unit: str
    start_date: date
    deadline_date: date
    # False when the count ran through a year whose holiday schedule was not yet published.
    deadline_confirmed: bool
    created_by: str
    created_by_kind: str
    created_by_user_id: int | None
    creator_organisation_id: int | None
    created_at: datetime
    updated_at: datetime
    resolved_at: datetime | None
    closed_at: datetime | None
    # Optimistic lock: every change bumps it, and a change made from a stale copy is refused.
    version: int

    def is_overdue(self, today: date) -> bool:
        return self.state in ACTIVE_STATES and today > self.deadline_date

    def start(self, assignee_user_id: int | None, at: datetime) -> Ticket:
        state = next_state(self.state, Transition.START)
        return replace(self, state=state, assignee_user_id=assignee_user_id, updated_at=at)

    def transfer(self, organisation_id: int, division_code: str, at: datetime) -> Ticket:
        state = next_state(self.state, Transition.TRANSFER)
        if organisation_id == self.organisation_id:
            raise ValidationFailed(
                "工单已在该单位，请选择其他单位",
                code="ticket_transfer_same_organisation",
                field="organisation_id",
            )
        return replace(
            self,
            state=state,
            organisation_id=organisation_id,
            division_code=division_code,
            assignee_user_id=None,
            updated_at=at,
        )

    def resolve(self, at: datetime) -> Ticket:
        state = next_state(self.state, Transition.RESOLVE)
        return replace(self, state=state, resolved_at=at, updated_at=at)

    def close(self, at: datetime) -> Ticket:
        state = next_state(self.state, Transition.CLOSE)
        return replace(self, state=state, closed_at=at, updated_at=at)

    def reopen(self, at: datetime) -> Ticket:
        state = next_state(self.state, Transition.REOPEN)
        return replace(self, state=state, resolved_at=None, updated_at=at)

    def reschedule(self, deadline_date: date, confirmed: bool, at: datetime) -> Ticket:
        return replace(self, deadline_date=deadline_date, deadline_confirmed=confirmed, updated_at=at)


@dataclass(frozen=True)
class HistoryEntry:
    """One immutable row of a ticket's history, written in the transaction of the change it records."""

    id: int
    ticket_id: int
    kind: HistoryKind
    from_state: TicketState | None
    to_state: TicketState | None
    actor: str
    actor_kind: str
    actor_user_id: int | None
    note: str
    file_ids: tuple[int, ...]
    from_organisation_id: int | None
    to_organisation_id: int | None
    detail: dict[str, Any]
    occurred_at: datetime
