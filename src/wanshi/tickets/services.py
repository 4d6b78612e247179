"""Ticket use cases.

Two ways to open a ticket, as with notices (notify's ``queue_notification`` / ``send_notification``):

- Other contexts call ``raise_ticket(uow, cmd, actor)`` inside their own unit of work, before their own
  ``uow.commit()``. The ticket, its history row, audit entry, event and notices are then written
  atomically with the change that caused it (a 差评 is not recorded without its rectification ticket,
  and a rolled-back 差评 leaves no ticket). It has no authorisation of its own, because the caller
  authorised the action the ticket belongs to, and it never commits. ``actor`` is whoever caused it
  (a citizen, a clerk, the system); pass ``creator_organisation_id`` for the organisation that will
  accept the result (the 好差评 office, the data-quality office).
- Staff opening a ticket by hand use ``open_ticket``, which authorises, raises and commits.

Every other use case authorises, acts, writes a history row, an audit entry, an event and in-app notices
to the assigned organisation's staff, and commits. The two worker jobs (reminders, deadline recomputation)
run inside the job's unit of work, which the worker commits with the job's completion.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import date
from typing import Any, BinaryIO

from pydantic import BaseModel, ConfigDict, Field

from wanshi.identity import api as identity
from wanshi.identity.api import load_actor
from wanshi.infra.files import ByteSource, FileStore, StoredFile
from wanshi.infra.jobs import JobContext, JobRegistry
from wanshi.infra.uow import UnitOfWork
from wanshi.kernel import clock
from wanshi.kernel.actor import SYSTEM, Actor, ActorKind
from wanshi.kernel.errors import Conflict, NotFound, ValidationFailed
from wanshi.notify.api import Channel, Notification, Reference, queue_notification
from wanshi.org import api as org
from wanshi.tickets import notices, policies, repository
from wanshi.tickets.categories import MAX_TIME_LIMIT, TicketCategory
from wanshi.tickets.categories import registry as categories
from wanshi.tickets.domain import (
    ACTIVE_STATES,
    DESCRIPTION_MAX,
    MAX_EVIDENCE_FILES,
    NOTE_MAX,
    REASON_MIN,
    TITLE_MAX,
    HistoryEntry,
    HistoryKind,
    Ticket,
    TicketPriority,
    TicketState,
    Transition,
    allowed_transitions,
    check_source,
    clean_text,
    format_number,
)
from wanshi.tickets.events import (
    TicketClosed,
    TicketDeadlineChanged,
    TicketOpened,
    TicketReopened,
    TicketResolved,
    TicketStarted,
    TicketTransferred,
)
from wanshi.workdays.api import TimeLimitUnit, WorkdayCalendarChanged, load_calendar

REMINDER_JOB = "tickets.send_reminders"
REMINDER_SCHEDULE = "tickets.reminders"
RECOMPUTE_JOB = "tickets.recompute_deadlines"
# Files attached to a ticket are owned by it in the file store; only they can be a ticket's evidence.
EVIDENCE_OWNER = "ticket"
SUMMARY_MAX = 40
STATISTICS_ORGANISATIONS = 50

# Organisation names are not secret, and a ticket's creator may sit outside the reader's division.
_SEE_ALL = Actor(kind=ActorKind.SYSTEM, username="tickets")


class Command(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", str_strip_whitespace=True)


class OpenTicket(Command):
    organisation_id: int
    title: str
    category: str = "general"
    description: str = ""
    priority: TicketPriority = TicketPriority.NORMAL
    # The record that caused the ticket in the raising context, e.g. ("rating", "8812").
    source_type: str = ""
    source_id: str = ""
    # Override of the category's default time limit; the unit defaults to the category's.
    time_limit_amount: int | None = Field(default=None, ge=1, le=MAX_TIME_LIMIT)
    time_limit_unit: TimeLimitUnit | None = None
    # Whose staff accept the result; defaults to the actor's own organisation.
    creator_organisation_id: int | None = None


class StartTicket(Command):
    ticket_id: int


class TransferTicket(Command):
    ticket_id: int
    organisation_id: int
    reason: str


class ResolveTicket(Command):
    ticket_id: int
    note: str
    # Files uploaded earlier for this ticket (``attach_evidence``).
    file_ids: tuple[int, ...] = ()


class CloseTicket(Command):
    ticket_id: int
    note: str = ""


class ReopenTicket(Command):
    ticket_id: int
    reason: str


class CommentTicket(Command):
    ticket_id: int
    note: str


class TicketQuery(Command):
    state: TicketState | None = None
    category: str | None = None
    organisation_id: int | None = None
    overdue: bool | None = None
    q: str = Field(default="", max_length=100)
    limit: int = Field(default=50, ge=1, le=200)
    offset: int = Field(default=0, ge=0)


@dataclass(frozen=True)
class EvidenceUpload:
    stream: ByteSource
    filename: str


@dataclass(frozen=True)
class TicketView:
    ticket: Ticket
    organisation_name: str
    category_label: str
    overdue: bool
    # Working days from today to the deadline (negative once overdue); None when the ticket is done.
    working_days_left: int | None


@dataclass(frozen=True)
class TicketDetail:
    view: TicketView
    history: tuple[HistoryEntry, ...]
    # What the reader may do now: the state machine's options narrowed by the permission rules.
    transitions: frozenset[Transition]
    can_comment: bool
    can_attach: bool
    organisation_names: dict[int, str]
    creator_organisation_name: str
    assignee_name: str

    @property
    def ticket(self) -> Ticket:
        return self.view.ticket


@dataclass(frozen=True)
class TicketPage:
    items: tuple[TicketView, ...]
    total: int
    limit: int
    offset: int


@dataclass(frozen=True)
class OrganisationCounts:
    organisation_id: int
    organisation_name: str
    by_state: dict[TicketState, int]
    overdue: int


@dataclass(frozen=True)
class TicketStatistics:
    by_state: dict[TicketState, int]
    overdue: int
    # The organisations with the most work still owed, at most STATISTICS_ORGANISATIONS of them.
    organisations: tuple[OrganisationCounts, ...]

    @property
    def total(self) -> int:
        return sum(self.by_state.values())


# --- helpers ----------------------------------------------------------------------------------------------
class _Names:
    """Organisation names for one answer, each looked up once."""

    def __init__(self, uow: UnitOfWork) -> None:
        self._uow = uow
        self._names: dict[int, str] = {}

    def __call__(self, organisation_id: int | None) -> str:
        if organisation_id is None:
            return ""
        if organisation_id not in self._names:
            try:
                self._names[organisation_id] = org.get_organisation(self._uow, organisation_id, _SEE_ALL).name
            except NotFound:
                self._names[organisation_id] = f"#{organisation_id}"
        return self._names[organisation_id]


def _organisation(uow: UnitOfWork, organisation_id: int, field: str) -> org.Organisation:
    try:
        found = org.get_organisation(uow, organisation_id, _SEE_ALL)
    except NotFound:
        raise ValidationFailed("单位不存在", code="ticket_organisation_unknown", field=field) from None
    if not found.active:
        raise ValidationFailed(f"{found.name}已停用", code="ticket_organisation_inactive", field=field)
    return found


def _load(uow: UnitOfWork, ticket_id: int, actor: Actor, *, for_update: bool = True) -> Ticket:
    found = repository.get_ticket(uow.session, ticket_id, for_update=for_update)
    if found is None or not policies.can_view(actor, found):
        # Same answer for "missing" and "not yours": existence is not disclosed across tenants.
        raise NotFound("工单不存在", code="ticket_not_found")
    return found


def _authorize(uow: UnitOfWork, allowed: bool, actor: Actor, action: str, ticket: Ticket) -> None:
    uow.authorize(allowed, actor, f"tickets.ticket.{action}", object_type="ticket", object_id=ticket.id)


def _save(uow: UnitOfWork, changed: Ticket) -> Ticket:
    if not repository.save_ticket(uow.session, changed):
        raise Conflict("工单已被他人修改，请刷新后重试", code="ticket_changed")
    return replace(changed, version=changed.version + 1)


def _history(
    uow: UnitOfWork,
    kind: HistoryKind,
    before: Ticket | None,
    after: Ticket,
    actor: Actor,
    *,
    note: str = "",
    file_ids: Sequence[int] = (),
    detail: dict[str, Any] | None = None,
    transfer_from: int | None = None,
) -> HistoryEntry:
    """Append the history row of a change; states are recorded only when the change moved the ticket."""
    moved = before is None or before.state != after.state or transfer_from is not None
    entry = HistoryEntry(
        id=0,
        ticket_id=after.id,
        kind=kind,
        from_state=before.state if before is not None and moved else None,
        to_state=after.state if moved else None,
        actor=actor.label,
        actor_kind=actor.kind.value,
        actor_user_id=actor.user_id,
        note=note,
        file_ids=tuple(file_ids),
        from_organisation_id=transfer_from,
        to_organisation_id=after.organisation_id if transfer_from is not None else None,
        detail=detail or {},
        occurred_at=after.updated_at,
    )
    return replace(entry, id=repository.add_history(uow.session, entry, after.division_code))


def _audit(uow: UnitOfWork, actor: Actor, action: str, ticket: Ticket, **detail: Any) -> None:
    uow.audit(
        actor,
        f"tickets.ticket.{action}",
        object_type="ticket",
        object_id=ticket.id,
        tenant=ticket.division_code,
        detail={"number": ticket.number, "state": ticket.state.value, **detail},
    )


def _event_fields(ticket: Ticket) -> dict[str, Any]:
    return {
        "ticket_id": ticket.id,
        "number": ticket.number,
        "category": ticket.category,
        "organisation_id": ticket.organisation_id,
        "division_code": ticket.division_code,
        "source_type": ticket.source_type,
        "source_id": ticket.source_id,
    }


def _summary(title: str) -> str:
    return title if len(title) <= SUMMARY_MAX else title[: SUMMARY_MAX - 1] + "…"


def _organisation_staff(uow: UnitOfWork, *organisation_ids: int | None) -> list[int]:
    present = [i for i in organisation_ids if i is not None]
    return identity.staff_user_ids(uow, present, policies.WORKING_ROLES)


def _notify(
    uow: UnitOfWork, ticket: Ticket, template: str, recipients: Iterable[int], actor: Actor, **params: str
) -> None:
    """In-app notices in the caller's transaction; the actor is not told about their own act."""
    skip = actor.user_id if actor.kind is ActorKind.STAFF else None
    for user_id in sorted(set(recipients) - {skip}):
        queue_notification(
            uow,
            Notification(
                channels=frozenset({Channel.INBOX}),
                recipient_user_id=user_id,
                template=template,
                params={"ticket_no": ticket.number, "summary": _summary(ticket.title), **params},
                category=template,
                reference=Reference("ticket", ticket.number),
                link=f"/tickets/{ticket.number}",
                tenant=ticket.division_code,
            ),
        )


def _handlers(uow: UnitOfWork, ticket: Ticket) -> list[int]:
    """Who is reminded about a ticket: its assignee once it has one, else its organisation's staff."""
    if ticket.assignee_user_id is not None:
        return [ticket.assignee_user_id]
    return _organisation_staff(uow, ticket.organisation_id)


# --- opening ----------------------------------------------------------------------------------------------
def raise_ticket(uow: UnitOfWork, cmd: OpenTicket, actor: Actor) -> Ticket:
    """Open a ticket inside the caller's unit of work; the caller authorised its action and commits."""
    category: TicketCategory = categories.get(cmd.category)
    title = clean_text(cmd.title, field="title", what="标题", maximum=TITLE_MAX, minimum=1)
    description = clean_text(cmd.description, field="description", what="描述", maximum=DESCRIPTION_MAX)
    source_type, source_id = check_source(cmd.source_type, cmd.source_id)
    organisation = _organisation(uow, cmd.organisation_id, "organisation_id")
    creator_organisation_id = cmd.creator_organisation_id
    if creator_organisation_id is not None:
        _organisation(uow, creator_organisation_id, "creator_organisation_id")
    elif actor.kind is ActorKind.STAFF:
        creator_organisation_id = actor.organisation_id
    amount = cmd.time_limit_amount or category.time_limit_amount
    unit = cmd.time_limit_unit or category.time_limit_unit
    today, now = clock.today_in_china(), clock.now()
    deadline = load_calendar(uow).deadline(today, amount, unit)
    number = format_number(today, repository.next_sequence(uow.session, today))
    draft = Ticket(
        id=0,
        number=number,
        category=category.key,
        title=title,
        description=description,
        source_type=source_type,
        source_id=source_id,
        priority=cmd.priority,
        organisation_id=organisation.id,
        division_code=organisation.division_code,
        assignee_user_id=None,
        state=TicketState.OPEN,
        time_limit_amount=amount,
        time_limit_unit=unit.value,
        start_date=today,
        deadline_date=deadline.due_date,
        deadline_confirmed=deadline.confirmed,
        created_by=actor.label,
        created_by_kind=actor.kind.value,
        created_by_user_id=actor.user_id,
        creator_organisation_id=creator_organisation_id,
        created_at=now,
        updated_at=now,
        resolved_at=None,
        closed_at=None,
        version=1,
    )
    ticket = replace(draft, id=repository.add_ticket(uow.session, draft))
    detail = {
        "time_limit": f"{amount}{unit.label}",
        "deadline_date": deadline.due_date.isoformat(),
        "deadline_confirmed": deadline.confirmed,
    }
    _history(uow, HistoryKind.OPENED, None, ticket, actor, note=description, detail=detail)
    _audit(
        uow,
        actor,
        "open",
        ticket,
        category=ticket.category,
        organisation_id=ticket.organisation_id,
        source_type=source_type,
        source_id=source_id,
        **detail,
    )
    uow.emit(TicketOpened(**_event_fields(ticket), deadline_date=deadline.due_date.isoformat()))
    _notify(
        uow,
        ticket,
        notices.ASSIGNED,
        _organisation_staff(uow, ticket.organisation_id),
        actor,
        due_date=ticket.deadline_date.isoformat(),
    )
    return ticket


def open_ticket(uow: UnitOfWork, cmd: OpenTicket, actor: Actor) -> Ticket:
    """Staff open a ticket by hand for an organisation within their division."""
    organisation = _organisation(uow, cmd.organisation_id, "organisation_id")
    allowed = policies.can_open(actor, organisation.division_code) and (
        cmd.creator_organisation_id is None
        or cmd.creator_organisation_id in policies.member_organisations(actor)
    )
    uow.authorize(allowed, actor, "tickets.ticket.open", object_type="ticket")
    ticket = raise_ticket(uow, cmd, actor)
    uow.commit()
    return ticket


def may_open_tickets(actor: Actor) -> bool:
    """Whether to offer the actor a way to open tickets at all (the organisation is checked on opening)."""
    return policies.can_open_somewhere(actor)


# --- working a ticket -------------------------------------------------------------------------------------
def start_ticket(uow: UnitOfWork, cmd: StartTicket, actor: Actor) -> Ticket:
    """Accept (受理) an open ticket: it is in progress, assigned to the one who accepted it."""
    before = _load(uow, cmd.ticket_id, actor)
    _authorize(uow, policies.can_work(actor, before), actor, "start", before)
    assignee = actor.user_id if actor.kind is ActorKind.STAFF else None
    after = _save(uow, before.start(assignee, clock.now()))
    _history(uow, HistoryKind.STARTED, before, after, actor)
    _audit(uow, actor, "start", after, assignee_user_id=assignee)
    uow.emit(TicketStarted(**_event_fields(after)))
    _notify(
        uow,
        after,
        notices.STARTED,
        _organisation_staff(uow, after.organisation_id),
        actor,
        actor_name=actor.display_name or actor.label,
    )
    uow.commit()
    return after


def transfer_ticket(uow: UnitOfWork, cmd: TransferTicket, actor: Actor) -> Ticket:
    """Send a ticket to another organisation, where it is open and unassigned; the deadline is kept."""
    before = _load(uow, cmd.ticket_id, actor)
    _authorize(uow, policies.can_transfer(actor, before), actor, "transfer", before)
    target = _organisation(uow, cmd.organisation_id, "organisation_id")
    _authorize(uow, policies.can_receive(actor, target.division_code), actor, "transfer", before)
    reason = clean_text(cmd.reason, field="reason", what="转办理由", maximum=NOTE_MAX, minimum=REASON_MIN)
    after = _save(uow, before.transfer(target.id, target.division_code, clock.now()))
    _history(
        uow, HistoryKind.TRANSFERRED, before, after, actor, note=reason, transfer_from=before.organisation_id
    )
    _audit(
        uow,
        actor,
        "transfer",
        after,
        from_organisation_id=before.organisation_id,
        to_organisation_id=target.id,
        reason=reason,
    )
    uow.emit(TicketTransferred(**_event_fields(after), from_organisation_id=before.organisation_id))
    _notify(
        uow,
        after,
        notices.ASSIGNED,
        _organisation_staff(uow, after.organisation_id),
        actor,
        due_date=after.deadline_date.isoformat(),
    )
    uow.commit()
    return after


def _evidence(uow: UnitOfWork, files: FileStore, ticket: Ticket, file_id: int) -> StoredFile:
    try:
        stored = files.get(uow, file_id)
    except NotFound:
        stored = None
    if stored is None or (stored.owner_kind, stored.owner_id) != (EVIDENCE_OWNER, str(ticket.id)):
        raise ValidationFailed(
            f"材料 {file_id} 不存在或不属于本工单", code="ticket_evidence_unknown", field="file_ids"
        )
    return stored


def _store(
    uow: UnitOfWork, files: FileStore, ticket: Ticket, upload: EvidenceUpload, actor: Actor
) -> StoredFile:
    return files.put(
        uow,
        upload.stream,
        upload.filename,
        owner_kind=EVIDENCE_OWNER,
        owner_id=ticket.id,
        tenant=ticket.division_code,
        actor=actor,
    )


def attach_evidence(
    uow: UnitOfWork, ticket_id: int, upload: EvidenceUpload, actor: Actor, files: FileStore
) -> StoredFile:
    """Upload a file for a ticket still being worked, to cite later in ``resolve_ticket``."""
    ticket = _load(uow, ticket_id, actor)
    _authorize(uow, policies.can_work(actor, ticket), actor, "attach", ticket)
    if ticket.state not in ACTIVE_STATES:
        raise Conflict(f"工单{ticket.state.label}，不能再上传材料", code="ticket_not_active")
    stored = _store(uow, files, ticket, upload, actor)
    uow.commit()
    return stored


def resolve_ticket(
    uow: UnitOfWork,
    cmd: ResolveTicket,
    actor: Actor,
    files: FileStore,
    uploads: Sequence[EvidenceUpload] = (),
) -> Ticket:
    """Record the result with its evidence: a note, files uploaded earlier and files uploaded now.

    The files of ``uploads`` are stored in this transaction, so a refused resolution keeps none of them.
    """
    before = _load(uow, cmd.ticket_id, actor)
    _authorize(uow, policies.can_work(actor, before), actor, "resolve", before)
    note = clean_text(cmd.note, field="note", what="办理结果", maximum=NOTE_MAX, minimum=1)
    resolved = before.resolve(clock.now())
    if len(set(cmd.file_ids)) + len(uploads) > MAX_EVIDENCE_FILES:
        raise ValidationFailed(
            f"证明材料不能超过 {MAX_EVIDENCE_FILES} 个", code="ticket_evidence_too_many", field="file_ids"
        )
    evidence = [_evidence(uow, files, before, file_id) for file_id in dict.fromkeys(cmd.file_ids)]
    evidence += [_store(uow, files, before, upload, actor) for upload in uploads]
    after = _save(uow, resolved)
    file_ids = [f.id for f in evidence]
    listed = [
        {"id": f.id, "filename": f.filename, "media_type": f.media_type, "size": f.size} for f in evidence
    ]
    _history(
        uow,
        HistoryKind.RESOLVED,
        before,
        after,
        actor,
        note=note,
        file_ids=file_ids,
        detail={"files": listed},
    )
    _audit(uow, actor, "resolve", after, file_ids=file_ids)
    uow.emit(TicketResolved(**_event_fields(after)))
    creator = [after.created_by_user_id] if after.created_by_kind == ActorKind.STAFF.value else []
    recipients = _organisation_staff(uow, after.organisation_id, after.creator_organisation_id) + [
        i for i in creator if i is not None
    ]
    _notify(uow, after, notices.RESOLVED, recipients, actor)
    uow.commit()
    return after


def close_ticket(uow: UnitOfWork, cmd: CloseTicket, actor: Actor) -> Ticket:
    """Accept the resolution: the ticket is closed for good."""
    before = _load(uow, cmd.ticket_id, actor)
    _authorize(uow, policies.can_decide(actor, before), actor, "close", before)
    note = clean_text(cmd.note, field="note", what="确认意见", maximum=NOTE_MAX)
    after = _save(uow, before.close(clock.now()))
    _history(uow, HistoryKind.CLOSED, before, after, actor, note=note)
    _audit(uow, actor, "close", after)
    uow.emit(TicketClosed(**_event_fields(after)))
    _notify(uow, after, notices.CLOSED, _organisation_staff(uow, after.organisation_id), actor)
    uow.commit()
    return after


def reopen_ticket(uow: UnitOfWork, cmd: ReopenTicket, actor: Actor) -> Ticket:
    """Reject the resolution: back in progress with the same organisation, assignee and deadline."""
    before = _load(uow, cmd.ticket_id, actor)
    _authorize(uow, policies.can_decide(actor, before), actor, "reopen", before)
    reason = clean_text(cmd.reason, field="reason", what="退回理由", maximum=NOTE_MAX, minimum=REASON_MIN)
    after = _save(uow, before.reopen(clock.now()))
    _history(uow, HistoryKind.REOPENED, before, after, actor, note=reason)
    _audit(uow, actor, "reopen", after, reason=reason)
    uow.emit(TicketReopened(**_event_fields(after)))
    _notify(
        uow,
        after,
        notices.REOPENED,
        _organisation_staff(uow, after.organisation_id),
        actor,
        reason=_summary(reason),
        due_date=after.deadline_date.isoformat(),
    )
    uow.commit()
    return after


def comment_ticket(uow: UnitOfWork, cmd: CommentTicket, actor: Actor) -> HistoryEntry:
    ticket = _load(uow, cmd.ticket_id, actor)
    _authorize(uow, policies.can_comment(actor, ticket), actor, "comment", ticket)
    note = clean_text(cmd.note, field="note", what="备注", maximum=NOTE_MAX, minimum=1)
    # The history row's time is the comment's, not the ticket's last change.
    entry = _history(
        uow, HistoryKind.COMMENTED, ticket, replace(ticket, updated_at=clock.now()), actor, note=note
    )
    _audit(uow, actor, "comment", ticket)
    uow.commit()
    return entry


# --- reading ----------------------------------------------------------------------------------------------
def _view(ticket: Ticket, names: _Names, today: date, days_left: Callable[[date], int]) -> TicketView:
    return TicketView(
        ticket=ticket,
        organisation_name=names(ticket.organisation_id),
        category_label=categories.label(ticket.category),
        overdue=ticket.is_overdue(today),
        working_days_left=days_left(ticket.deadline_date) if ticket.state in ACTIVE_STATES else None,
    )


def _days_left(uow: UnitOfWork, today: date) -> Callable[[date], int]:
    calendar = load_calendar(uow)
    return lambda deadline: calendar.working_days_between(today, deadline)


def _person(uow: UnitOfWork, user_id: int | None) -> str:
    if user_id is None:
        return ""
    found = load_actor(uow, user_id)
    return (found.display_name or found.username) if found is not None else f"#{user_id}"


def _detail(uow: UnitOfWork, ticket: Ticket, actor: Actor) -> TicketDetail:
    names = _Names(uow)
    today = clock.today_in_china()
    history = tuple(repository.list_history(uow.session, ticket.id))
    rules = {
        Transition.START: policies.can_work,
        Transition.TRANSFER: policies.can_transfer,
        Transition.RESOLVE: policies.can_work,
        Transition.CLOSE: policies.can_decide,
        Transition.REOPEN: policies.can_decide,
    }
    involved = {ticket.organisation_id} | {
        i for h in history for i in (h.from_organisation_id, h.to_organisation_id) if i is not None
    }
    return TicketDetail(
        view=_view(ticket, names, today, _days_left(uow, today)),
        history=history,
        transitions=frozenset(t for t in allowed_transitions(ticket.state) if rules[t](actor, ticket)),
        can_comment=policies.can_comment(actor, ticket),
        can_attach=ticket.state in ACTIVE_STATES and policies.can_work(actor, ticket),
        organisation_names={i: names(i) for i in sorted(involved)},
        creator_organisation_name=names(ticket.creator_organisation_id),
        assignee_name=_person(uow, ticket.assignee_user_id),
    )


def get_ticket(uow: UnitOfWork, ticket_id: int, actor: Actor) -> TicketDetail:
    return _detail(uow, _load(uow, ticket_id, actor, for_update=False), actor)


def find_ticket(uow: UnitOfWork, number: str, actor: Actor) -> TicketDetail:
    """A ticket by the number people read out on the phone."""
    found = repository.find_by_number(uow.session, number.strip().upper())
    if found is None or not policies.can_view(actor, found):
        raise NotFound("工单不存在", code="ticket_not_found")
    return _detail(uow, found, actor)


def _visibility(actor: Actor) -> repository.Visibility:
    return repository.Visibility(
        policies.visible_scopes(actor),
        policies.member_organisations(actor),
        policies.own_organisations(actor),
    )


def _filters(query: TicketQuery) -> repository.Filters:
    return repository.Filters(
        state=query.state,
        category=query.category or None,
        organisation_id=query.organisation_id,
        overdue=query.overdue,
        q=query.q,
    )


def list_tickets(uow: UnitOfWork, query: TicketQuery, actor: Actor) -> TicketPage:
    uow.authorize(policies.can_list(actor), actor, "tickets.ticket.list", object_type="ticket")
    today = clock.today_in_china()
    found, total = repository.list_tickets(
        uow.session, _visibility(actor), _filters(query), today, limit=query.limit, offset=query.offset
    )
    names, days_left = _Names(uow), _days_left(uow, today)
    return TicketPage(
        items=tuple(_view(t, names, today, days_left) for t in found),
        total=total,
        limit=query.limit,
        offset=query.offset,
    )


def ticket_statistics(uow: UnitOfWork, query: TicketQuery, actor: Actor) -> TicketStatistics:
    """Counts over the tickets the actor sees and the query selects (its paging is ignored)."""
    uow.authorize(policies.can_list(actor), actor, "tickets.ticket.statistics", object_type="ticket")
    by_state, overdue, rows = repository.statistics(
        uow.session,
        _visibility(actor),
        _filters(query),
        clock.today_in_china(),
        organisations=STATISTICS_ORGANISATIONS,
    )
    names = _Names(uow)
    return TicketStatistics(
        by_state=by_state,
        overdue=overdue,
        organisations=tuple(
            OrganisationCounts(r.organisation_id, names(r.organisation_id), r.by_state, r.overdue)
            for r in rows
        ),
    )


def tickets_for_source(uow: UnitOfWork, source_type: str, source_id: str) -> list[Ticket]:
    """The tickets raised for one of the calling context's own records (no authorisation: it is theirs)."""
    return repository.for_source(uow.session, source_type, source_id)


def open_evidence(
    uow: UnitOfWork, ticket_id: int, file_id: int, actor: Actor, files: FileStore
) -> tuple[StoredFile, BinaryIO]:
    """A ticket's evidence file, for whoever may see the ticket."""
    ticket = _load(uow, ticket_id, actor, for_update=False)
    try:
        stored = _evidence(uow, files, ticket, file_id)
    except ValidationFailed:
        raise NotFound("材料不存在", code="ticket_evidence_not_found") from None
    return files.open(uow, stored.id)


# --- jobs -------------------------------------------------------------------------------------------------
def send_due_reminders(uow: UnitOfWork, *, reminder_days: int) -> int:
    """Remind about every active ticket due within ``reminder_days`` working days or overdue, once a day.

    The reminder's history row is keyed by ticket and China date, so running again the same day (the
    hourly schedule, a retried job, a second worker) sends nothing more. Returns how many were sent.
    """
    today = clock.today_in_china()
    horizon = load_calendar(uow).add_working_days(today, reminder_days)
    sent = 0
    for ticket in repository.due_by(uow.session, horizon):
        overdue = ticket.is_overdue(today)
        reminder = HistoryEntry(
            id=0,
            ticket_id=ticket.id,
            kind=HistoryKind.REMINDED,
            from_state=None,
            to_state=None,
            actor=SYSTEM.label,
            actor_kind=SYSTEM.kind.value,
            actor_user_id=None,
            note="",
            file_ids=(),
            from_organisation_id=None,
            to_organisation_id=None,
            detail={"overdue": overdue, "deadline_date": ticket.deadline_date.isoformat()},
            occurred_at=clock.now(),
        )
        fresh = repository.add_reminder(uow.session, reminder, ticket.division_code, today)
        if not fresh:
            continue
        template = notices.OVERDUE if overdue else notices.DUE_SOON
        _notify(
            uow, ticket, template, _handlers(uow, ticket), SYSTEM, due_date=ticket.deadline_date.isoformat()
        )
        sent += 1
    return sent


def recompute_deadlines(uow: UnitOfWork, first: date, last: date) -> int:
    """After a calendar change over first..last: recount the deadline of every active ticket whose time
    limit runs over those dates, from its start date with its own limit. Returns how many moved."""
    calendar = load_calendar(uow)
    moved = 0
    for before in repository.active_counting_over(uow.session, first, last):
        deadline = calendar.deadline(
            before.start_date, before.time_limit_amount, TimeLimitUnit(before.time_limit_unit)
        )
        if (deadline.due_date, deadline.confirmed) == (before.deadline_date, before.deadline_confirmed):
            continue
        after = _save(uow, before.reschedule(deadline.due_date, deadline.confirmed, clock.now()))
        previous, current = before.deadline_date.isoformat(), after.deadline_date.isoformat()
        detail = {
            "previous_deadline_date": previous,
            "deadline_date": current,
            "deadline_confirmed": after.deadline_confirmed,
        }
        _history(uow, HistoryKind.DEADLINE_CHANGED, before, after, SYSTEM, detail=detail)
        _audit(uow, SYSTEM, "reschedule", after, **detail)
        uow.emit(
            TicketDeadlineChanged(
                **_event_fields(after), previous_deadline_date=previous, deadline_date=current
            )
        )
        if after.deadline_date != before.deadline_date:
            _notify(
                uow,
                after,
                notices.DEADLINE_CHANGED,
                _handlers(uow, after),
                SYSTEM,
                previous_due_date=previous,
                due_date=current,
            )
        moved += 1
    return moved


def register_jobs(
    registry: JobRegistry, *, reminder_days: int, reminder_interval_seconds: int = 3600
) -> None:
    """Reminders on a schedule, deadline recomputation on calendar changes, and the notice templates.

    Called once from the composition root, with ``reminder_days=settings.ticket_reminder_days``.
    """
    notices.register_templates()

    def remind(uow: UnitOfWork, _payload: dict[str, Any], _ctx: JobContext) -> None:
        send_due_reminders(uow, reminder_days=reminder_days)

    def recompute(uow: UnitOfWork, payload: dict[str, Any], _ctx: JobContext) -> None:
        recompute_deadlines(
            uow, date.fromisoformat(payload["first_date"]), date.fromisoformat(payload["last_date"])
        )

    registry.handler(REMINDER_JOB, remind)
    registry.every(REMINDER_SCHEDULE, REMINDER_JOB, reminder_interval_seconds)
    registry.handler(RECOMPUTE_JOB, recompute)
    registry.subscribe(WorkdayCalendarChanged.name, RECOMPUTE_JOB)
