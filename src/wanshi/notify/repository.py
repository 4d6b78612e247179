"""Persistence of the notify context. Repositories never commit: the service owns the transaction."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, insert, select, update
from sqlalchemy.orm import Session

from wanshi.infra.tables import job
from wanshi.kernel.clock import as_utc
from wanshi.notify.domain import (
    Channel,
    Delivery,
    DeliveryStatus,
    InboxMessage,
    Notification,
    Reference,
    RenderedMessage,
    SandboxMessage,
    mask_address,
)
from wanshi.notify.tables import delivery, inbox_message, sandbox_message


def add_inbox_message(
    session: Session, key: str, notice: Notification, message: RenderedMessage, now: datetime
) -> int:
    reference = notice.reference
    result = session.execute(
        insert(inbox_message)
        .values(
            notification_key=key,
            tenant=notice.tenant,
            recipient_user_id=notice.recipient_user_id,
            category=notice.category,
            title=message.title,
            body=message.body,
            link=notice.link,
            reference_type=reference.object_type if reference else "",
            reference_id=reference.object_id if reference else "",
            created_at=now,
        )
        .returning(inbox_message.c.id)
    )
    return int(result.scalar_one())


def add_delivery(
    session: Session,
    key: str,
    notice: Notification,
    *,
    channel: Channel,
    message: RenderedMessage,
    now: datetime,
) -> int:
    result = session.execute(
        insert(delivery)
        .values(
            notification_key=key,
            tenant=notice.tenant,
            channel=channel.value,
            recipient_user_id=notice.recipient_user_id,
            category=notice.category,
            address=notice.address_for(channel),
            subject=message.title,
            body=message.body,
            status=DeliveryStatus.PENDING.value,
            attempts=0,
            created_at=now,
        )
        .returning(delivery.c.id)
    )
    return int(result.scalar_one())


def _inbox_message(row: Any) -> InboxMessage:
    return InboxMessage(
        id=int(row.id),
        recipient_user_id=int(row.recipient_user_id),
        category=row.category,
        title=row.title,
        body=row.body,
        link=row.link,
        reference=Reference(row.reference_type, row.reference_id) if row.reference_type else None,
        created_at=as_utc(row.created_at),
        read_at=as_utc(row.read_at) if row.read_at is not None else None,
    )


def list_inbox(
    session: Session, user_id: int, *, unread_only: bool, limit: int, offset: int
) -> list[InboxMessage]:
    query = select(inbox_message).where(inbox_message.c.recipient_user_id == user_id)
    if unread_only:
        query = query.where(inbox_message.c.read_at.is_(None))
    rows = session.execute(query.order_by(inbox_message.c.id.desc()).limit(limit).offset(offset)).all()
    return [_inbox_message(r) for r in rows]


def count_unread(session: Session, user_id: int) -> int:
    return int(
        session.execute(
            select(func.count())
            .select_from(inbox_message)
            .where(inbox_message.c.recipient_user_id == user_id, inbox_message.c.read_at.is_(None))
        ).scalar_one()
    )


def get_inbox_message(session: Session, message_id: int) -> InboxMessage | None:
    row = session.execute(select(inbox_message).where(inbox_message.c.id == message_id)).first()
    return _inbox_message(row) if row is not None else None


def set_read(session: Session, message_id: int, now: datetime) -> None:
    # Only the first reading counts: marking again keeps the original time.
    session.execute(
        update(inbox_message)
        .where(inbox_message.c.id == message_id, inbox_message.c.read_at.is_(None))
        .values(read_at=now)
    )


@dataclass(frozen=True)
class OutgoingDelivery:
    """A delivery as the job handler needs it, full address included."""

    id: int
    channel: Channel
    address: str
    subject: str
    body: str
    status: DeliveryStatus


def lock_delivery(session: Session, delivery_id: int) -> OutgoingDelivery | None:
    row = session.execute(select(delivery).where(delivery.c.id == delivery_id).with_for_update()).first()
    if row is None:
        return None
    return OutgoingDelivery(
        id=int(row.id),
        channel=Channel(row.channel),
        address=row.address,
        subject=row.subject,
        body=row.body,
        status=DeliveryStatus(row.status),
    )


def mark_sent(
    session: Session,
    outgoing: OutgoingDelivery,
    *,
    attempts: int,
    gateway: str,
    message_id: str,
    now: datetime,
) -> None:
    session.execute(
        update(delivery)
        .where(delivery.c.id == outgoing.id)
        .values(
            status=DeliveryStatus.SENT.value,
            attempts=attempts,
            gateway=gateway,
            gateway_message_id=message_id,
            address=mask_address(outgoing.channel, outgoing.address),
            sent_at=now,
        )
    )


def record_failure(
    session: Session, outgoing: OutgoingDelivery, *, attempts: int, gateway: str, error: str, final: bool
) -> None:
    values: dict[str, Any] = {"attempts": attempts, "gateway": gateway, "last_error": error[:4000]}
    if final:
        values["status"] = DeliveryStatus.FAILED.value
        values["address"] = mask_address(outgoing.channel, outgoing.address)
    # A concurrent run that already sent it wins: a late failure report must not undo "sent".
    session.execute(
        update(delivery)
        .where(delivery.c.id == outgoing.id, delivery.c.status != DeliveryStatus.SENT.value)
        .values(**values)
    )


def job_max_attempts(session: Session, job_id: int) -> int:
    return int(session.execute(select(job.c.max_attempts).where(job.c.id == job_id)).scalar_one())


def list_deliveries(
    session: Session, *, status: DeliveryStatus | None, limit: int, offset: int
) -> list[Delivery]:
    query = select(delivery)
    if status is not None:
        query = query.where(delivery.c.status == status.value)
    rows = session.execute(query.order_by(delivery.c.id.desc()).limit(limit).offset(offset)).all()
    return [
        Delivery(
            id=int(r.id),
            notification_key=r.notification_key,
            channel=Channel(r.channel),
            address=mask_address(Channel(r.channel), r.address),
            subject=r.subject,
            category=r.category,
            status=DeliveryStatus(r.status),
            attempts=int(r.attempts),
            gateway=r.gateway,
            gateway_message_id=r.gateway_message_id,
            last_error=r.last_error,
            created_at=as_utc(r.created_at),
            sent_at=as_utc(r.sent_at) if r.sent_at is not None else None,
        )
        for r in rows
    ]


def list_sandbox_messages(
    session: Session, *, channel: Channel | None, limit: int, offset: int
) -> list[SandboxMessage]:
    query = select(sandbox_message)
    if channel is not None:
        query = query.where(sandbox_message.c.channel == channel.value)
    rows = session.execute(query.order_by(sandbox_message.c.id.desc()).limit(limit).offset(offset)).all()
    return [
        SandboxMessage(
            id=int(r.id),
            channel=Channel(r.channel),
            address=mask_address(Channel(r.channel), r.address),
            subject=r.subject,
            body=r.body,
            idempotency_key=r.idempotency_key,
            sent_at=as_utc(r.sent_at),
        )
        for r in rows
    ]
