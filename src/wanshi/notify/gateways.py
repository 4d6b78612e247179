"""SMS and e-mail gateways: the interfaces a real provider implements, and the sandbox default.

A gateway raises ``ValidationFailed`` for a message it will never accept (bad address, too long): the
delivery fails at once. Any other exception counts as passing trouble and the job runner retries. The
idempotency key is the same on every retry of one delivery, so a provider that already accepted the
message does not send it again.

The sandbox gateways "send" by writing a row to notify_sandbox_message in the caller's session: the
row commits together with the delivery being marked sent, or not at all.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from wanshi.kernel import clock
from wanshi.notify.domain import DEFAULT_SMS_SIGN, Channel, mask_address, sms_text, validate_sms_sign
from wanshi.notify.tables import sandbox_message

log = logging.getLogger(__name__)


class SmsGateway(Protocol):
    @property
    def name(self) -> str: ...

    def send(self, address: str, body: str, *, idempotency_key: str) -> str:
        """Send ``body`` to a mobile number; returns the provider's message id."""
        ...


class EmailGateway(Protocol):
    @property
    def name(self) -> str: ...

    def send(self, address: str, subject: str, body: str, *, idempotency_key: str) -> str:
        """Send a plain-text e-mail; returns the provider's message id."""
        ...


@dataclass(frozen=True)
class Gateways:
    """Factories, not instances: a gateway is made for each job's session, where the sandbox writes."""

    sms: Callable[[Session], SmsGateway]
    email: Callable[[Session], EmailGateway]


class _SandboxOutbox:
    name = "sandbox"

    def __init__(self, session: Session) -> None:
        self._session = session

    def _record(self, channel: Channel, address: str, subject: str, body: str, idempotency_key: str) -> str:
        existing = self._session.execute(
            select(sandbox_message.c.id).where(sandbox_message.c.idempotency_key == idempotency_key)
        ).scalar_one_or_none()
        if existing is None:
            result = self._session.execute(
                insert(sandbox_message)
                .values(
                    channel=channel.value,
                    address=address,
                    subject=subject,
                    body=body,
                    idempotency_key=idempotency_key,
                    sent_at=clock.now(),
                )
                .returning(sandbox_message.c.id)
            )
            existing = result.scalar_one()
            log.info(
                "sandbox %s to %s recorded as %s", channel.value, mask_address(channel, address), existing
            )
        return f"sandbox-{existing}"


class SandboxSmsGateway(_SandboxOutbox):
    def __init__(self, session: Session, *, sign: str = DEFAULT_SMS_SIGN) -> None:
        super().__init__(session)
        self._sign = validate_sms_sign(sign)

    def send(self, address: str, body: str, *, idempotency_key: str) -> str:
        return self._record(Channel.SMS, address, "", sms_text(self._sign, body), idempotency_key)


class SandboxEmailGateway(_SandboxOutbox):
    def send(self, address: str, subject: str, body: str, *, idempotency_key: str) -> str:
        return self._record(Channel.EMAIL, address, subject, body, idempotency_key)


def sandbox_gateways(sms_sign: str = DEFAULT_SMS_SIGN) -> Gateways:
    validate_sms_sign(sms_sign)
    return Gateways(
        sms=lambda session: SandboxSmsGateway(session, sign=sms_sign),
        email=SandboxEmailGateway,
    )
