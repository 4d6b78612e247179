"""The notify context's public face: the only module other contexts import.

To tell someone about a change, build a ``Notification`` and call ``queue_notification(uow, notice)``
inside your own unit of work, before your ``uow.commit()``. Register your own message templates with
``register_template`` from your context's registrar when the platform is built.
"""

from __future__ import annotations

from wanshi.notify.domain import (
    DEFAULT_SMS_SIGN,
    SMS_BODY_MAX_CHARS,
    SMS_MAX_CHARS,
    Channel,
    Delivery,
    DeliveryError,
    DeliveryStatus,
    InboxMessage,
    Locale,
    Notification,
    QueuedNotification,
    Reference,
    SandboxMessage,
    SmsTooLong,
    mask_address,
    mask_email,
    mask_personal_data,
    mask_phone,
)
from wanshi.notify.gateways import (
    EmailGateway,
    Gateways,
    SandboxEmailGateway,
    SandboxSmsGateway,
    SmsGateway,
    sandbox_gateways,
)
from wanshi.notify.services import (
    DELIVER_JOB,
    deliver,
    list_deliveries,
    list_inbox,
    list_sandbox_messages,
    mark_read,
    queue_notification,
    register_jobs,
    send_notification,
    unread_count,
)
from wanshi.notify.templates import MessageTemplate, TemplateParamsInvalid
from wanshi.notify.templates import registry as _templates


def register_template(template: MessageTemplate) -> None:
    _templates.register(template)


def template_keys() -> list[str]:
    return _templates.keys()


__all__ = [
    "DEFAULT_SMS_SIGN",
    "DELIVER_JOB",
    "SMS_BODY_MAX_CHARS",
    "SMS_MAX_CHARS",
    "Channel",
    "Delivery",
    "DeliveryError",
    "DeliveryStatus",
    "EmailGateway",
    "Gateways",
    "InboxMessage",
    "Locale",
    "MessageTemplate",
    "Notification",
    "QueuedNotification",
    "Reference",
    "SandboxEmailGateway",
    "SandboxMessage",
    "SandboxSmsGateway",
    "SmsGateway",
    "SmsTooLong",
    "TemplateParamsInvalid",
    "deliver",
    "list_deliveries",
    "list_inbox",
    "list_sandbox_messages",
    "mark_read",
    "mask_address",
    "mask_email",
    "mask_personal_data",
    "mask_phone",
    "queue_notification",
    "register_jobs",
    "register_template",
    "sandbox_gateways",
    "send_notification",
    "template_keys",
    "unread_count",
]
