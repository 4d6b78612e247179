"""Use cases of the notify context.

Two ways in. Other contexts call ``queue_notification`` inside their own unit of work, before they
commit: the notice is then written atomically with the change it reports (a case is not decided
without its notice, nor noticed without being decided), and it needs no authorisation of its own
because the caller authorised its action. Staff sending a notice by hand use ``send_notification``,
which authorises, audits and commits.

External channels never send inside the caller's transaction: each gets a notify_delivery row and a
``notify.deliver`` job, which the worker runs after the commit and retries with backoff.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from dataclasses import replace
from functools import partial
from typing import Any

from wanshi.infra.jobs import JobContext, JobRegistry
from wanshi.infra.uow import JobRequest, UnitOfWork
from wanshi.kernel import clock
from wanshi.kernel.actor import Actor
from wanshi.kernel.errors import NotFound, ValidationFailed
from wanshi.notify import policies, repository
from wanshi.notify.domain import (
    EXTERNAL_CHANNELS,
    Channel,
    Delivery,
    DeliveryError,
    DeliveryStatus,
    InboxMessage,
    Notification,
    QueuedNotification,
    RenderedMessage,
    SandboxMessage,
    mask_address,
    mask_personal_data,
    validate_notification,
    validate_rendered,
)
from wanshi.notify.gateways import Gateways
from wanshi.notify.templates import registry as templates

log = logging.getLogger(__name__)

DELIVER_JOB = "notify.deliver"
MAX_PAGE_SIZE = 200


def delivery_idempotency_key(delivery_id: int) -> str:
    return f"{DELIVER_JOB}:{delivery_id}"


def _render(cmd: Notification) -> RenderedMessage:
    if cmd.template is None:
        return RenderedMessage(title=cmd.title or "", body=cmd.body or "")
    return templates.get(cmd.template).render(cmd.params, cmd.locale)


def queue_notification(uow: UnitOfWork, cmd: Notification) -> QueuedNotification:
    """Write the notice into the caller's unit of work; the caller commits it with its own change."""
    validate_notification(cmd)
    message = _render(cmd)
    validate_rendered(cmd, message)
    key = uuid.uuid4().hex
    now = clock.now()
    inbox_id = None
    if Channel.INBOX in cmd.channels:
        inbox_id = repository.add_inbox_message(uow.session, key, cmd, message, now)
    delivery_ids = []
    for channel in sorted(cmd.channels & EXTERNAL_CHANNELS):
        delivery_id = repository.add_delivery(
            uow.session, key, cmd, channel=channel, message=message, now=now
        )
        uow.enqueue(
            JobRequest(DELIVER_JOB, {"delivery_id": delivery_id}, delivery_idempotency_key(delivery_id))
        )
        delivery_ids.append(delivery_id)
    return QueuedNotification(
        notification_key=key, inbox_message_id=inbox_id, delivery_ids=tuple(delivery_ids)
    )


def send_notification(uow: UnitOfWork, cmd: Notification, actor: Actor) -> QueuedNotification:
    policies.authorise_send_notification(actor)
    queued = queue_notification(uow, cmd)
    # Addresses go into the audit log masked: it is a log, and it is kept for years.
    recipients = {
        c.value: mask_address(c, cmd.address_for(c)) for c in sorted(cmd.channels & EXTERNAL_CHANNELS)
    }
    uow.audit(
        actor,
        "notify.send",
        object_type="notification",
        object_id=queued.notification_key,
        tenant=cmd.tenant,
        detail={
            "channels": sorted(c.value for c in cmd.channels),
            "category": cmd.category,
            "template": cmd.template or "",
            "recipient_user_id": cmd.recipient_user_id,
            "recipients": recipients,
            "delivery_ids": list(queued.delivery_ids),
        },
    )
    uow.commit()
    return queued


def _check_page(limit: int, offset: int) -> None:
    if not 1 <= limit <= MAX_PAGE_SIZE or offset < 0:
        raise ValidationFailed(f"每页条数须在 1 到 {MAX_PAGE_SIZE} 之间，起始位置不能为负", field="limit")


def list_inbox(
    uow: UnitOfWork, actor: Actor, *, unread_only: bool = False, limit: int = 20, offset: int = 0
) -> list[InboxMessage]:
    user_id = policies.authorise_list_inbox(actor)
    _check_page(limit, offset)
    return repository.list_inbox(uow.session, user_id, unread_only=unread_only, limit=limit, offset=offset)


def unread_count(uow: UnitOfWork, actor: Actor) -> int:
    return repository.count_unread(uow.session, policies.authorise_list_inbox(actor))


def mark_read(uow: UnitOfWork, message_id: int, actor: Actor) -> InboxMessage:
    """Idempotent; not audited: a read marker on one's own message is not a security event, and the
    audit chain serialises writers, so auditing every read would throttle every inbox."""
    message = repository.get_inbox_message(uow.session, message_id)
    if message is None:
        raise NotFound("消息不存在或已被删除", message_id=message_id)
    policies.authorise_mark_read(actor, message.recipient_user_id)
    if message.read_at is not None:
        return message
    now = clock.now()
    repository.set_read(uow.session, message_id, now)
    uow.commit()
    return replace(message, read_at=now)


def list_sandbox_messages(
    uow: UnitOfWork, actor: Actor, *, channel: Channel | None = None, limit: int = 50, offset: int = 0
) -> list[SandboxMessage]:
    policies.authorise_list_sandbox_messages(actor)
    _check_page(limit, offset)
    return repository.list_sandbox_messages(uow.session, channel=channel, limit=limit, offset=offset)


def list_deliveries(
    uow: UnitOfWork,
    actor: Actor,
    *,
    status: DeliveryStatus | None = None,
    limit: int = 50,
    offset: int = 0,
) -> list[Delivery]:
    policies.authorise_list_deliveries(actor)
    _check_page(limit, offset)
    return repository.list_deliveries(uow.session, status=status, limit=limit, offset=offset)


# --- the delivery job -------------------------------------------------------------------------------------
def deliver(uow: UnitOfWork, payload: dict[str, Any], ctx: JobContext, gateways: Gateways) -> None:
    """Send one delivery through its gateway.

    Already sent (or finally failed): nothing to do, so a duplicate job never sends twice. A gateway
    refusal (ValidationFailed) fails the delivery at once. Any other error is recorded on the
    delivery and re-raised, masked, for the job runner to retry; on the last attempt the delivery
    is marked failed.
    """
    delivery_id = int(payload["delivery_id"])
    session = uow.session
    outgoing = repository.lock_delivery(session, delivery_id)
    if outgoing is None:
        raise NotFound(f"notify delivery {delivery_id} does not exist")
    if outgoing.status != DeliveryStatus.PENDING:
        log.info("notify delivery %s is already %s; nothing to send", delivery_id, outgoing.status.value)
        return
    key = delivery_idempotency_key(delivery_id)
    send: Callable[[], str]
    if outgoing.channel == Channel.SMS:
        sms = gateways.sms(session)
        gateway_name = sms.name
        send = partial(sms.send, outgoing.address, outgoing.body, idempotency_key=key)
    else:
        email = gateways.email(session)
        gateway_name = email.name
        send = partial(email.send, outgoing.address, outgoing.subject, outgoing.body, idempotency_key=key)
    masked = mask_address(outgoing.channel, outgoing.address)
    try:
        message_id = send()
    except ValidationFailed as exc:
        reason = mask_personal_data(exc.message)
        # Drop whatever the gateway half-wrote; the failure itself commits with the job's completion.
        uow.rollback()
        repository.record_failure(
            uow.session, outgoing, attempts=ctx.attempt, gateway=gateway_name, error=reason, final=True
        )
        log.warning("notify delivery %s to %s refused by %s: %s", delivery_id, masked, gateway_name, reason)
        return
    except Exception as exc:
        reason = mask_personal_data(f"{type(exc).__name__}: {exc}")
        uow.rollback()
        final = ctx.attempt >= repository.job_max_attempts(uow.session, ctx.job_id)
        repository.record_failure(
            uow.session, outgoing, attempts=ctx.attempt, gateway=gateway_name, error=reason, final=final
        )
        # Committed here because the runner rolls back a failed job's transaction, and the admin
        # should see on the delivery why it has not gone out yet.
        uow.commit()
        # "from None": the original exception may quote the address, and the runner logs the chain.
        raise DeliveryError(f"notify delivery {delivery_id} to {masked} failed: {reason}") from None
    repository.mark_sent(
        session, outgoing, attempts=ctx.attempt, gateway=gateway_name, message_id=message_id, now=clock.now()
    )
    log.info("notify delivery %s sent to %s by %s", delivery_id, masked, gateway_name)


def register_jobs(registry: JobRegistry, gateways: Gateways) -> None:
    def handle(uow: UnitOfWork, payload: dict[str, Any], ctx: JobContext) -> None:
        deliver(uow, payload, ctx, gateways)

    registry.handler(DELIVER_JOB, handle)
