"""The tickets context's public face: the only module other contexts import.

To hand work to an organisation from your own use case (a data-quality problem, a 差评 to rectify, a
hotline call, a grid event)::

    ticket = tickets.raise_ticket(
        uow,
        tickets.OpenTicket(
            category="rating_rectification",
            organisation_id=department_id,
            title="差评整改：办事指南与实际要求不一致",
            source_type="rating",
            source_id=str(rating_id),
            creator_organisation_id=ratings_office_id,
        ),
        actor,
    )
    ...  # your own change, referring to ticket.id
    uow.commit()  # yours: the ticket commits with your change or not at all

``raise_ticket`` authorises nothing (you authorised your action) and never commits. Register your
category once from your registrar with ``register_category(TicketCategory(key, label, amount))``, and
follow your tickets by subscribing to ``TicketResolved`` / ``TicketClosed`` (payloads carry your
``source_type`` and ``source_id``) or by ``tickets_for_source``.
"""

from __future__ import annotations

from wanshi.tickets.categories import TicketCategory
from wanshi.tickets.categories import registry as _categories
from wanshi.tickets.domain import (
    ACTIVE_STATES,
    HistoryEntry,
    HistoryKind,
    Ticket,
    TicketPriority,
    TicketState,
    Transition,
    TransitionRefused,
    is_ticket_number,
)
from wanshi.tickets.events import (
    TicketClosed,
    TicketDeadlineChanged,
    TicketEvent,
    TicketOpened,
    TicketReopened,
    TicketResolved,
    TicketStarted,
    TicketTransferred,
)
from wanshi.tickets.services import (
    EVIDENCE_OWNER,
    RECOMPUTE_JOB,
    REMINDER_JOB,
    CloseTicket,
    CommentTicket,
    EvidenceUpload,
    OpenTicket,
    OrganisationCounts,
    ReopenTicket,
    ResolveTicket,
    StartTicket,
    TicketDetail,
    TicketPage,
    TicketQuery,
    TicketStatistics,
    TicketView,
    TransferTicket,
    attach_evidence,
    close_ticket,
    comment_ticket,
    find_ticket,
    get_ticket,
    list_tickets,
    may_open_tickets,
    open_evidence,
    open_ticket,
    raise_ticket,
    recompute_deadlines,
    register_jobs,
    reopen_ticket,
    resolve_ticket,
    send_due_reminders,
    start_ticket,
    ticket_statistics,
    tickets_for_source,
    transfer_ticket,
)


def register_category(category: TicketCategory) -> None:
    _categories.register(category)


def list_categories() -> list[TicketCategory]:
    return _categories.all()


def category_label(key: str) -> str:
    return _categories.label(key)


__all__ = [
    "ACTIVE_STATES",
    "EVIDENCE_OWNER",
    "RECOMPUTE_JOB",
    "REMINDER_JOB",
    "CloseTicket",
    "CommentTicket",
    "EvidenceUpload",
    "HistoryEntry",
    "HistoryKind",
    "OpenTicket",
    "OrganisationCounts",
    "ReopenTicket",
    "ResolveTicket",
    "StartTicket",
    "Ticket",
    "TicketCategory",
    "TicketClosed",
    "TicketDeadlineChanged",
    "TicketDetail",
    "TicketEvent",
    "TicketOpened",
    "TicketPage",
    "TicketPriority",
    "TicketQuery",
    "TicketReopened",
    "TicketResolved",
    "TicketStarted",
    "TicketState",
    "TicketStatistics",
    "TicketTransferred",
    "TicketView",
    "TransferTicket",
    "Transition",
    "TransitionRefused",
    "attach_evidence",
    "category_label",
    "close_ticket",
    "comment_ticket",
    "find_ticket",
    "get_ticket",
    "is_ticket_number",
    "list_categories",
    "list_tickets",
    "may_open_tickets",
    "open_evidence",
    "open_ticket",
    "raise_ticket",
    "recompute_deadlines",
    "register_category",
    "register_jobs",
    "reopen_ticket",
    "resolve_ticket",
    "send_due_reminders",
    "start_ticket",
    "ticket_statistics",
    "tickets_for_source",
    "transfer_ticket",
]
