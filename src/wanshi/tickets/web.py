"""Staff pages under /tickets and the JSON API under /api/v1/tickets, over the same services.

Tickets are addressed by their number (GD…), the one people read out on the phone. Forms post back and
redirect (they work without JavaScript); a refused step re-renders the page with the reason.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import date, datetime
from typing import Annotated, Any, BinaryIO
from urllib.parse import quote, urlencode

from fastapi import APIRouter, Depends, File, Form, Query, Request, UploadFile
from pydantic import BaseModel, ConfigDict, Field
from starlette.responses import RedirectResponse, Response, StreamingResponse

from wanshi.bootstrap import Platform
from wanshi.infra.files import StoredFile
from wanshi.infra.uow import UnitOfWork
from wanshi.kernel.actor import Actor
from wanshi.kernel.clock import CHINA_TZ
from wanshi.kernel.errors import Conflict, NotFound, ValidationFailed, WanshiError
from wanshi.org import api as org
from wanshi.tickets import api as tickets
from wanshi.web.auth import csrf_protect, get_platform, require_staff
from wanshi.web.templating import render
from wanshi.workdays.api import TimeLimitUnit

page_router = APIRouter(prefix="/tickets", dependencies=[Depends(csrf_protect)], include_in_schema=False)
api_router = APIRouter(prefix="/api/v1/tickets", tags=["tickets"], dependencies=[Depends(csrf_protect)])
routers = [page_router, api_router]

Staff = Annotated[Actor, Depends(require_staff)]
PlatformDep = Annotated[Platform, Depends(get_platform)]
PAGE_SIZE = 20
CHUNK = 64 * 1024
# Organisations offered in the forms' lists: enough for a prefecture's departments.
ORGANISATION_CHOICES = 500


def _number_or_404(number: str) -> str:
    if not tickets.is_ticket_number(number.upper()):
        raise NotFound("工单不存在", code="ticket_not_found")
    return number.upper()


def _id_of(uow: UnitOfWork, number: str, actor: Actor) -> int:
    return tickets.find_ticket(uow, _number_or_404(number), actor).ticket.id


def _download(stored: StoredFile, reader: BinaryIO) -> StreamingResponse:
    def chunks() -> Iterator[bytes]:
        with reader:
            while block := reader.read(CHUNK):
                yield block

    disposition = f"attachment; filename*=UTF-8''{quote(stored.filename)}"
    return StreamingResponse(
        chunks(),
        media_type=stored.media_type,
        headers={"content-disposition": disposition, "content-length": str(stored.size)},
    )


def _uploads(files: list[UploadFile]) -> list[tickets.EvidenceUpload]:
    # A file input left empty still sends one part, with no name and no bytes.
    return [tickets.EvidenceUpload(f.file, f.filename) for f in files if f.filename]


# --- pages ------------------------------------------------------------------------------------------------
def _local(value: datetime | None) -> str:
    return value.astimezone(CHINA_TZ).strftime("%Y-%m-%d %H:%M") if value else ""


def _choices(uow: UnitOfWork, actor: Actor) -> list[org.Organisation]:
    found, _total = org.list_organisations(uow, org.OrganisationQuery(limit=ORGANISATION_CHOICES), actor)
    return [o for o in found if o.active]


def _query(
    state: str, category: str, organisation_id: str, overdue: str, q: str, page: int
) -> tuple[tickets.TicketQuery, dict[str, str]]:
    """The list filters from the query string; a value that is not one of the options is ignored."""
    states = {s.value for s in tickets.TicketState}
    filters = {
        "state": state if state in states else "",
        "category": category if category in {c.key for c in tickets.list_categories()} else "",
        "organisation_id": organisation_id if organisation_id.isdigit() else "",
        "overdue": overdue if overdue in ("1", "0") else "",
        "q": q.strip()[:100],
    }
    query = tickets.TicketQuery(
        state=tickets.TicketState(filters["state"]) if filters["state"] else None,
        category=filters["category"] or None,
        organisation_id=int(filters["organisation_id"]) if filters["organisation_id"] else None,
        overdue={"1": True, "0": False}.get(filters["overdue"]),
        q=filters["q"],
        limit=PAGE_SIZE,
        offset=(max(page, 1) - 1) * PAGE_SIZE,
    )
    return query, filters


@page_router.get("")
def list_page(
    request: Request,
    platform: PlatformDep,
    actor: Staff,
    state: str = "",
    category: str = "",
    organisation_id: str = "",
    overdue: str = "",
    q: str = "",
    page: Annotated[int, Query(ge=1, le=10_000)] = 1,
) -> Response:
    query, filters = _query(state, category, organisation_id, overdue, q, page)
    with platform.uow() as uow:
        found = tickets.list_tickets(uow, query, actor)
        stats = tickets.ticket_statistics(uow, query.model_copy(update={"state": None}), actor)
        organisations = _choices(uow, actor)
    kept = {k: v for k, v in filters.items() if v}
    pages = max((found.total + PAGE_SIZE - 1) // PAGE_SIZE, 1)
    return render(
        request,
        "tickets/list.html",
        {
            "found": found,
            "stats": stats,
            "filters": filters,
            "states": list(tickets.TicketState),
            "categories": tickets.list_categories(),
            "organisations": organisations,
            "page": page,
            "pages": pages,
            "prev_url": f"/tickets?{urlencode({**kept, 'page': page - 1})}" if page > 1 else "",
            "next_url": f"/tickets?{urlencode({**kept, 'page': page + 1})}" if page < pages else "",
            "can_open": tickets.may_open_tickets(actor),
        },
    )


def _new_form(
    request: Request,
    uow: UnitOfWork,
    actor: Actor,
    values: dict[str, Any] | None = None,
    error: WanshiError | None = None,
) -> Response:
    return render(
        request,
        "tickets/new.html",
        {
            "categories": tickets.list_categories(),
            "priorities": list(tickets.TicketPriority),
            "organisations": _choices(uow, actor),
            "values": values or {},
            "error": error,
        },
        status_code=error.http_status if error else 200,
    )


@page_router.get("/new")
def new_page(request: Request, platform: PlatformDep, actor: Staff) -> Response:
    with platform.uow() as uow:
        return _new_form(request, uow, actor)


@page_router.post("")
def open_from_form(
    request: Request,
    platform: PlatformDep,
    actor: Staff,
    organisation_id: Annotated[int, Form()],
    title: Annotated[str, Form(max_length=400)],
    category: Annotated[str, Form(max_length=40)] = "general",
    description: Annotated[str, Form(max_length=8000)] = "",
    priority: Annotated[tickets.TicketPriority, Form()] = tickets.TicketPriority.NORMAL,
) -> Response:
    values = {
        "organisation_id": organisation_id,
        "title": title,
        "category": category,
        "description": description,
        "priority": priority,
    }
    with platform.uow() as uow:
        try:
            opened = tickets.open_ticket(uow, tickets.OpenTicket(**values), actor)
        except ValidationFailed as exc:
            uow.rollback()
            return _new_form(request, uow, actor, values, exc)
    return RedirectResponse(f"/tickets/{opened.number}?done=open", status_code=303)


def _detail_page(
    request: Request,
    uow: UnitOfWork,
    actor: Actor,
    number: str,
    *,
    error: WanshiError | None = None,
    done: str = "",
) -> Response:
    detail = tickets.find_ticket(uow, _number_or_404(number), actor)
    ticket = detail.ticket
    targets = []
    if tickets.Transition.TRANSFER in detail.transitions:
        targets = [o for o in _choices(uow, actor) if o.id != ticket.organisation_id]
    return render(
        request,
        "tickets/detail.html",
        {
            "detail": detail,
            "ticket": ticket,
            "view": detail.view,
            "transfer_targets": targets,
            "error": error,
            "done": done if done in {t.value for t in tickets.Transition} | {"open", "comment"} else "",
            "local": _local,
        },
        status_code=error.http_status if error else 200,
    )


@page_router.get("/{number}")
def detail_page(
    request: Request, platform: PlatformDep, actor: Staff, number: str, done: str = ""
) -> Response:
    with platform.uow() as uow:
        return _detail_page(request, uow, actor, number, done=done)


def _act(
    request: Request,
    platform: Platform,
    actor: Actor,
    number: str,
    done: str,
    step: Callable[[UnitOfWork, int], object],
) -> Response:
    """Run one step on the ticket; a refused step shows the ticket again with the reason."""
    with platform.uow() as uow:
        ticket_id = _id_of(uow, number, actor)
        try:
            step(uow, ticket_id)
        except (ValidationFailed, Conflict) as exc:
            uow.rollback()
            return _detail_page(request, uow, actor, number, error=exc)
    return RedirectResponse(f"/tickets/{_number_or_404(number)}?done={done}", status_code=303)


@page_router.post("/{number}/start")
def start_from_form(request: Request, platform: PlatformDep, actor: Staff, number: str) -> Response:
    return _act(
        request,
        platform,
        actor,
        number,
        "start",
        lambda uow, tid: tickets.start_ticket(uow, tickets.StartTicket(ticket_id=tid), actor),
    )


@page_router.post("/{number}/transfer")
def transfer_from_form(
    request: Request,
    platform: PlatformDep,
    actor: Staff,
    number: str,
    organisation_id: Annotated[int, Form()],
    reason: Annotated[str, Form(max_length=4000)] = "",
) -> Response:
    return _act(
        request,
        platform,
        actor,
        number,
        "transfer",
        lambda uow, tid: tickets.transfer_ticket(
            uow, tickets.TransferTicket(ticket_id=tid, organisation_id=organisation_id, reason=reason), actor
        ),
    )


@page_router.post("/{number}/resolve")
def resolve_from_form(
    request: Request,
    platform: PlatformDep,
    actor: Staff,
    number: str,
    note: Annotated[str, Form(max_length=4000)] = "",
    evidence: Annotated[list[UploadFile], File()] = [],  # noqa: B006 - FastAPI copies defaults per request
) -> Response:
    return _act(
        request,
        platform,
        actor,
        number,
        "resolve",
        lambda uow, tid: tickets.resolve_ticket(
            uow, tickets.ResolveTicket(ticket_id=tid, note=note), actor, platform.files, _uploads(evidence)
        ),
    )


@page_router.post("/{number}/close")
def close_from_form(
    request: Request,
    platform: PlatformDep,
    actor: Staff,
    number: str,
    note: Annotated[str, Form(max_length=4000)] = "",
) -> Response:
    return _act(
        request,
        platform,
        actor,
        number,
        "close",
        lambda uow, tid: tickets.close_ticket(uow, tickets.CloseTicket(ticket_id=tid, note=note), actor),
    )


@page_router.post("/{number}/reopen")
def reopen_from_form(
    request: Request,
    platform: PlatformDep,
    actor: Staff,
    number: str,
    reason: Annotated[str, Form(max_length=4000)] = "",
) -> Response:
    return _act(
        request,
        platform,
        actor,
        number,
        "reopen",
        lambda uow, tid: tickets.reopen_ticket(
            uow, tickets.ReopenTicket(ticket_id=tid, reason=reason), actor
        ),
    )


@page_router.post("/{number}/comment")
def comment_from_form(
    request: Request,
    platform: PlatformDep,
    actor: Staff,
    number: str,
    note: Annotated[str, Form(max_length=4000)] = "",
) -> Response:
    return _act(
        request,
        platform,
        actor,
        number,
        "comment",
        lambda uow, tid: tickets.comment_ticket(uow, tickets.CommentTicket(ticket_id=tid, note=note), actor),
    )


@page_router.get("/{number}/files/{file_id}")
def evidence_download(platform: PlatformDep, actor: Staff, number: str, file_id: int) -> Response:
    with platform.uow() as uow:
        stored, reader = tickets.open_evidence(
            uow, _id_of(uow, number, actor), file_id, actor, platform.files
        )
    return _download(stored, reader)


# --- JSON API ---------------------------------------------------------------------------------------------
class Out(BaseModel):
    model_config = ConfigDict(frozen=True)


class TicketOut(Out):
    id: int
    number: str
    category: str
    category_label: str
    title: str
    description: str
    source_type: str
    source_id: str
    priority: tickets.TicketPriority
    state: tickets.TicketState
    state_label: str
    organisation_id: int
    organisation_name: str
    division_code: str
    assignee_user_id: int | None
    time_limit_amount: int
    time_limit_unit: str
    start_date: date
    deadline_date: date
    deadline_confirmed: bool
    overdue: bool
    working_days_left: int | None
    created_by: str
    creator_organisation_id: int | None
    created_at: datetime
    updated_at: datetime
    resolved_at: datetime | None
    closed_at: datetime | None
    version: int

    @classmethod
    def of(cls, view: tickets.TicketView) -> TicketOut:
        t = view.ticket
        return cls(
            id=t.id,
            number=t.number,
            category=t.category,
            category_label=view.category_label,
            title=t.title,
            description=t.description,
            source_type=t.source_type,
            source_id=t.source_id,
            priority=t.priority,
            state=t.state,
            state_label=t.state.label,
            organisation_id=t.organisation_id,
            organisation_name=view.organisation_name,
            division_code=t.division_code,
            assignee_user_id=t.assignee_user_id,
            time_limit_amount=t.time_limit_amount,
            time_limit_unit=t.time_limit_unit,
            start_date=t.start_date,
            deadline_date=t.deadline_date,
            deadline_confirmed=t.deadline_confirmed,
            overdue=view.overdue,
            working_days_left=view.working_days_left,
            created_by=t.created_by,
            creator_organisation_id=t.creator_organisation_id,
            created_at=t.created_at,
            updated_at=t.updated_at,
            resolved_at=t.resolved_at,
            closed_at=t.closed_at,
            version=t.version,
        )


class HistoryOut(Out):
    id: int
    kind: tickets.HistoryKind
    kind_label: str
    from_state: tickets.TicketState | None
    to_state: tickets.TicketState | None
    actor: str
    note: str
    file_ids: list[int]
    from_organisation_id: int | None
    to_organisation_id: int | None
    detail: dict[str, Any]
    occurred_at: datetime

    @classmethod
    def of(cls, entry: tickets.HistoryEntry) -> HistoryOut:
        return cls(
            id=entry.id,
            kind=entry.kind,
            kind_label=entry.kind.label,
            from_state=entry.from_state,
            to_state=entry.to_state,
            actor=entry.actor,
            note=entry.note,
            file_ids=list(entry.file_ids),
            from_organisation_id=entry.from_organisation_id,
            to_organisation_id=entry.to_organisation_id,
            detail=entry.detail,
            occurred_at=entry.occurred_at,
        )


class TicketDetailOut(Out):
    ticket: TicketOut
    history: list[HistoryOut]
    transitions: list[tickets.Transition] = Field(description="What the caller may do with the ticket now")
    can_comment: bool

    @classmethod
    def of(cls, detail: tickets.TicketDetail) -> TicketDetailOut:
        return cls(
            ticket=TicketOut.of(detail.view),
            history=[HistoryOut.of(h) for h in detail.history],
            transitions=sorted(detail.transitions),
            can_comment=detail.can_comment,
        )


class TicketListOut(Out):
    items: list[TicketOut]
    total: int
    limit: int
    offset: int


class OrganisationCountsOut(Out):
    organisation_id: int
    organisation_name: str
    by_state: dict[tickets.TicketState, int]
    overdue: int


class StatisticsOut(Out):
    total: int
    overdue: int
    by_state: dict[tickets.TicketState, int]
    organisations: list[OrganisationCountsOut]


class CategoryOut(Out):
    key: str
    label: str
    time_limit_amount: int
    time_limit_unit: TimeLimitUnit


class FileOut(Out):
    id: int
    filename: str
    media_type: str
    size: int


class In(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class OpenTicketIn(In):
    organisation_id: int
    title: str = Field(max_length=400)
    category: str = Field(default="general", max_length=40)
    description: str = Field(default="", max_length=8000)
    priority: tickets.TicketPriority = tickets.TicketPriority.NORMAL
    time_limit_amount: int | None = Field(default=None, ge=1)
    time_limit_unit: TimeLimitUnit | None = None


class TransferIn(In):
    organisation_id: int
    reason: str = Field(max_length=4000)


class ResolveIn(In):
    note: str = Field(max_length=4000)
    file_ids: list[int] = Field(default_factory=list, max_length=100)


class NoteIn(In):
    note: str = Field(default="", max_length=4000)


class ReasonIn(In):
    reason: str = Field(max_length=4000)


def _detail_out(uow: UnitOfWork, ticket_id: int, actor: Actor) -> TicketDetailOut:
    return TicketDetailOut.of(tickets.get_ticket(uow, ticket_id, actor))


@api_router.get("", summary="Tickets the caller may see, work still owed first")
def api_list(
    platform: PlatformDep,
    actor: Staff,
    state: tickets.TicketState | None = None,
    category: str | None = None,
    organisation_id: int | None = None,
    overdue: bool | None = None,
    q: Annotated[str, Query(max_length=100)] = "",
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> TicketListOut:
    query = tickets.TicketQuery(
        state=state,
        category=category,
        organisation_id=organisation_id,
        overdue=overdue,
        q=q,
        limit=limit,
        offset=offset,
    )
    with platform.uow() as uow:
        found = tickets.list_tickets(uow, query, actor)
    return TicketListOut(
        items=[TicketOut.of(v) for v in found.items],
        total=found.total,
        limit=found.limit,
        offset=found.offset,
    )


@api_router.post("", status_code=201, summary="Open a ticket for an organisation within your division")
def api_open(platform: PlatformDep, actor: Staff, body: OpenTicketIn) -> TicketDetailOut:
    with platform.uow() as uow:
        opened = tickets.open_ticket(uow, tickets.OpenTicket(**body.model_dump()), actor)
        return _detail_out(uow, opened.id, actor)


@api_router.get("/statistics", summary="Counts by state, overdue and per organisation")
def api_statistics(
    platform: PlatformDep,
    actor: Staff,
    category: str | None = None,
    organisation_id: int | None = None,
) -> StatisticsOut:
    with platform.uow() as uow:
        stats = tickets.ticket_statistics(
            uow, tickets.TicketQuery(category=category, organisation_id=organisation_id), actor
        )
    return StatisticsOut(
        total=stats.total,
        overdue=stats.overdue,
        by_state=stats.by_state,
        organisations=[
            OrganisationCountsOut(
                organisation_id=o.organisation_id,
                organisation_name=o.organisation_name,
                by_state=o.by_state,
                overdue=o.overdue,
            )
            for o in stats.organisations
        ],
    )


@api_router.get("/categories", summary="Ticket categories and their default time limits")
def api_categories(actor: Staff) -> list[CategoryOut]:
    return [
        CategoryOut(
            key=c.key, label=c.label, time_limit_amount=c.time_limit_amount, time_limit_unit=c.time_limit_unit
        )
        for c in tickets.list_categories()
    ]


@api_router.get("/{number}", summary="A ticket with its history")
def api_get(platform: PlatformDep, actor: Staff, number: str) -> TicketDetailOut:
    with platform.uow() as uow:
        return TicketDetailOut.of(tickets.find_ticket(uow, _number_or_404(number), actor))


@api_router.post("/{number}/start", summary="Accept (受理) an open ticket")
def api_start(platform: PlatformDep, actor: Staff, number: str) -> TicketDetailOut:
    with platform.uow() as uow:
        ticket_id = _id_of(uow, number, actor)
        tickets.start_ticket(uow, tickets.StartTicket(ticket_id=ticket_id), actor)
        return _detail_out(uow, ticket_id, actor)


@api_router.post("/{number}/transfer", summary="Transfer to another organisation (the deadline is kept)")
def api_transfer(platform: PlatformDep, actor: Staff, number: str, body: TransferIn) -> TicketDetailOut:
    with platform.uow() as uow:
        ticket_id = _id_of(uow, number, actor)
        tickets.transfer_ticket(
            uow,
            tickets.TransferTicket(
                ticket_id=ticket_id, organisation_id=body.organisation_id, reason=body.reason
            ),
            actor,
        )
        return _detail_out(uow, ticket_id, actor)


@api_router.post("/{number}/evidence", status_code=201, summary="Upload an evidence file for a ticket")
def api_attach(
    platform: PlatformDep, actor: Staff, number: str, file: Annotated[UploadFile, File()]
) -> FileOut:
    with platform.uow() as uow:
        stored = tickets.attach_evidence(
            uow,
            _id_of(uow, number, actor),
            tickets.EvidenceUpload(file.file, file.filename or "file"),
            actor,
            platform.files,
        )
    return FileOut(id=stored.id, filename=stored.filename, media_type=stored.media_type, size=stored.size)


@api_router.get("/{number}/evidence/{file_id}", summary="Download an evidence file")
def api_evidence(platform: PlatformDep, actor: Staff, number: str, file_id: int) -> Response:
    return evidence_download(platform, actor, number, file_id)


@api_router.post("/{number}/resolve", summary="Resolve with a note and evidence files uploaded earlier")
def api_resolve(platform: PlatformDep, actor: Staff, number: str, body: ResolveIn) -> TicketDetailOut:
    with platform.uow() as uow:
        ticket_id = _id_of(uow, number, actor)
        tickets.resolve_ticket(
            uow,
            tickets.ResolveTicket(ticket_id=ticket_id, note=body.note, file_ids=tuple(body.file_ids)),
            actor,
            platform.files,
        )
        return _detail_out(uow, ticket_id, actor)


@api_router.post("/{number}/close", summary="Accept the resolution and close the ticket")
def api_close(platform: PlatformDep, actor: Staff, number: str, body: NoteIn) -> TicketDetailOut:
    with platform.uow() as uow:
        ticket_id = _id_of(uow, number, actor)
        tickets.close_ticket(uow, tickets.CloseTicket(ticket_id=ticket_id, note=body.note), actor)
        return _detail_out(uow, ticket_id, actor)


@api_router.post("/{number}/reopen", summary="Reject the resolution and send the ticket back")
def api_reopen(platform: PlatformDep, actor: Staff, number: str, body: ReasonIn) -> TicketDetailOut:
    with platform.uow() as uow:
        ticket_id = _id_of(uow, number, actor)
        tickets.reopen_ticket(uow, tickets.ReopenTicket(ticket_id=ticket_id, reason=body.reason), actor)
        return _detail_out(uow, ticket_id, actor)


@api_router.post("/{number}/comments", status_code=201, summary="Add a note to the ticket's history")
def api_comment(platform: PlatformDep, actor: Staff, number: str, body: NoteIn) -> HistoryOut:
    with platform.uow() as uow:
        entry = tickets.comment_ticket(
            uow, tickets.CommentTicket(ticket_id=_id_of(uow, number, actor), note=body.note), actor
        )
    return HistoryOut.of(entry)
