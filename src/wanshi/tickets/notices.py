"""The message templates of ticket notices beyond notify's built-in ``ticket.assigned`` and
``ticket.due_soon``; registered with notify by ``register_jobs`` when the platform is built."""

from __future__ import annotations

from wanshi.notify.api import MessageTemplate, register_template

ASSIGNED = "ticket.assigned"
DUE_SOON = "ticket.due_soon"

TICKET_STARTED = MessageTemplate(
    key="ticket.started",
    title_zh="工单已受理：{ticket_no}",
    body_zh="工单 {ticket_no}（{summary}）已由 {actor_name} 受理办理。",
    title_en="Ticket {ticket_no} accepted",
    body_en="Ticket {ticket_no} ({summary}) has been accepted by {actor_name}.",
)
TICKET_RESOLVED = MessageTemplate(
    key="ticket.resolved",
    title_zh="工单已办结待确认：{ticket_no}",
    body_zh="工单 {ticket_no}（{summary}）已办结，请查看办理结果并确认。",
    title_en="Ticket {ticket_no} resolved",
    body_en="Ticket {ticket_no} ({summary}) has been resolved. Please review the result and confirm it.",
)
TICKET_CLOSED = MessageTemplate(
    key="ticket.closed",
    title_zh="工单已关闭：{ticket_no}",
    body_zh="工单 {ticket_no}（{summary}）的办理结果已确认，工单关闭。",
    title_en="Ticket {ticket_no} closed",
    body_en="The result of ticket {ticket_no} ({summary}) has been accepted and the ticket is closed.",
)
TICKET_REOPENED = MessageTemplate(
    key="ticket.reopened",
    title_zh="工单退回重办：{ticket_no}",
    body_zh="工单 {ticket_no}（{summary}）被退回重办，原因：{reason}。请于 {due_date} 前办理。",
    title_en="Ticket {ticket_no} reopened",
    body_en="Ticket {ticket_no} ({summary}) was sent back: {reason}. Please handle it by {due_date}.",
)
TICKET_DEADLINE_CHANGED = MessageTemplate(
    key="ticket.deadline_changed",
    title_zh="工单办理期限调整：{ticket_no}",
    body_zh="因工作日历调整，工单 {ticket_no}（{summary}）的办理期限"
    "由 {previous_due_date} 调整为 {due_date}。",
    title_en="Ticket {ticket_no}: new deadline",
    body_en="The working-day calendar changed: ticket {ticket_no} ({summary}) is now due on {due_date} "
    "instead of {previous_due_date}.",
)
TICKET_OVERDUE = MessageTemplate(
    key="ticket.overdue",
    title_zh="工单已超期：{ticket_no}",
    body_zh="工单 {ticket_no}（{summary}）已于 {due_date} 到期，现已超期，请尽快办理。",
    title_en="Ticket {ticket_no} is overdue",
    body_en="Ticket {ticket_no} ({summary}) was due on {due_date} and is overdue. Please handle it now.",
)

TEMPLATES = (
    TICKET_STARTED,
    TICKET_RESOLVED,
    TICKET_CLOSED,
    TICKET_REOPENED,
    TICKET_DEADLINE_CHANGED,
    TICKET_OVERDUE,
)
STARTED = TICKET_STARTED.key
RESOLVED = TICKET_RESOLVED.key
CLOSED = TICKET_CLOSED.key
REOPENED = TICKET_REOPENED.key
DEADLINE_CHANGED = TICKET_DEADLINE_CHANGED.key
OVERDUE = TICKET_OVERDUE.key


def register_templates() -> None:
    for template in TEMPLATES:
        register_template(template)
