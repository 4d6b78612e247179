"""Notifications: what a notice is, where it may go, and how personal data is kept out of logs.

Pure Python: no SQLAlchemy, no web framework.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Literal

from wanshi.kernel.errors import ValidationFailed, WanshiError

Locale = Literal["zh_CN", "en"]


class Channel(StrEnum):
    INBOX = "inbox"
    SMS = "sms"
    EMAIL = "email"


EXTERNAL_CHANNELS = frozenset({Channel.SMS, Channel.EMAIL})


class DeliveryStatus(StrEnum):
    PENDING = "pending"
    SENT = "sent"
    # Final: the gateway refused the message or every retry failed.
    FAILED = "failed"


# Carriers cap a concatenated SMS at 500 characters, the sign included.
SMS_MAX_CHARS = 500
# A sign is 2 to 12 characters between 【】 (carrier sign registration rules), so at most 14.
SMS_SIGN_MAX_CHARS = 14
# Checked when a notice is queued, before the gateway (and so its sign) is known: any valid sign fits.
SMS_BODY_MAX_CHARS = SMS_MAX_CHARS - SMS_SIGN_MAX_CHARS
DEFAULT_SMS_SIGN = "【皖事通办】"

TITLE_MAX_CHARS = 200
BODY_MAX_CHARS = 4000
LINK_MAX_CHARS = 500
EMAIL_MAX_CHARS = 254

_PHONE = re.compile(r"1[3-9]\d{9}")
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
_SMS_SIGN = re.compile(r"【[^【】]{2,12}】")
_CATEGORY = re.compile(r"[a-z][a-z0-9_.]{0,59}")
# Free text may hold numbers written with +86 or inside longer words, hence no anchors on the left.
_PHONE_IN_TEXT = re.compile(r"1[3-9]\d{9}(?!\d)")
_EMAIL_IN_TEXT = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")


class SmsTooLong(ValidationFailed):
    code = "sms_too_long"
    default_message = f"短信内容过长，含签名不得超过 {SMS_MAX_CHARS} 字"


class DeliveryError(WanshiError):
    """A gateway failed for a reason that may pass (network, outage); the job runner retries."""

    code = "notify_delivery_failed"
    http_status = 502
    default_message = "消息发送失败，系统将自动重试"


@dataclass(frozen=True)
class Reference:
    """The record a notice is about, in another context (a case, a ticket, a payment)."""

    object_type: str
    object_id: str


@dataclass(frozen=True)
class Notification:
    """A notice to one person on one or more channels.

    Content is either a registered template with its params or a literal title and body. The inbox
    needs a user id, SMS a mainland mobile number, e-mail an address. ``link`` is a path inside this
    site: inbox links never lead elsewhere, so a notice cannot be turned into a phishing lure.
    ``tenant`` is the division code the matter belongs to, so the tables can be partitioned later.
    """

    channels: frozenset[Channel]
    recipient_user_id: int | None = None
    phone: str | None = None
    email: str | None = None
    template: str | None = None
    params: Mapping[str, str] = field(default_factory=dict)
    title: str | None = None
    body: str | None = None
    category: str = "general"
    reference: Reference | None = None
    link: str = ""
    locale: Locale = "zh_CN"
    tenant: str = ""

    def address_for(self, channel: Channel) -> str:
        address = self.phone if channel == Channel.SMS else self.email
        if address is None:
            raise ValueError(f"no address for channel {channel}")
        return address


@dataclass(frozen=True)
class RenderedMessage:
    title: str
    body: str


def validate_notification(notice: Notification) -> None:
    """Everything that can be checked before rendering; raises ValidationFailed naming the field."""
    if not notice.channels:
        raise ValidationFailed("请至少选择一个通知渠道", field="channels")
    if Channel.INBOX in notice.channels and notice.recipient_user_id is None:
        raise ValidationFailed("站内信需要指定接收用户", field="recipient_user_id")
    if Channel.SMS in notice.channels and not (notice.phone and _PHONE.fullmatch(notice.phone)):
        raise ValidationFailed("短信需要有效的 11 位手机号码", field="phone")
    if Channel.EMAIL in notice.channels and not (
        notice.email and len(notice.email) <= EMAIL_MAX_CHARS and _EMAIL.fullmatch(notice.email)
    ):
        raise ValidationFailed("邮件需要有效的电子邮箱地址", field="email")
    if notice.template is None and (not notice.title or not notice.body):
        raise ValidationFailed("请指定消息模板，或同时填写标题和正文", field="template")
    if notice.template is not None and (notice.title is not None or notice.body is not None):
        raise ValidationFailed("使用模板时不能再填写标题和正文", field="template")
    if notice.template is None and notice.params:
        raise ValidationFailed("未使用模板时不能提供模板参数", field="params")
    if not _CATEGORY.fullmatch(notice.category):
        raise ValidationFailed("消息类别只能由小写字母、数字、点和下划线组成", field="category")
    if notice.link and (
        not notice.link.startswith("/") or notice.link.startswith("//") or len(notice.link) > LINK_MAX_CHARS
    ):
        raise ValidationFailed("消息链接必须是本站内以 / 开头的路径", field="link")


def validate_rendered(notice: Notification, message: RenderedMessage) -> None:
    if not message.title.strip() or len(message.title) > TITLE_MAX_CHARS:
        raise ValidationFailed(f"消息标题不能为空且不超过 {TITLE_MAX_CHARS} 字", field="title")
    if not message.body.strip() or len(message.body) > BODY_MAX_CHARS:
        raise ValidationFailed(f"消息正文不能为空且不超过 {BODY_MAX_CHARS} 字", field="body")
    if Channel.SMS in notice.channels and len(message.body) > SMS_BODY_MAX_CHARS:
        raise SmsTooLong(
            f"短信正文 {len(message.body)} 字，超过上限 {SMS_BODY_MAX_CHARS} 字（另需预留签名），请精简内容",
            field="body",
            length=len(message.body),
            limit=SMS_BODY_MAX_CHARS,
        )


def validate_sms_sign(sign: str) -> str:
    if not _SMS_SIGN.fullmatch(sign):
        raise ValueError(f"SMS sign must be 2 to 12 characters inside 【】, got {sign!r}")
    return sign


def sms_text(sign: str, body: str) -> str:
    """The text the carrier delivers: sign first, as carriers require; over the cap is refused, not split."""
    text = sign + body
    if len(text) > SMS_MAX_CHARS:
        raise SmsTooLong(
            f"短信含签名共 {len(text)} 字，超过上限 {SMS_MAX_CHARS} 字，请精简内容",
            length=len(text),
            limit=SMS_MAX_CHARS,
        )
    return text


# --- masking: personal data never reaches a log line unmasked ---------------------------------------------
def mask_phone(phone: str) -> str:
    if len(phone) < 8:
        return "****"
    return f"{phone[:3]}****{phone[-4:]}"


def mask_email(email: str) -> str:
    local, at, domain = email.rpartition("@")
    if not at or not local:
        return "***"
    return f"{local[0]}***@{domain}"


def mask_address(channel: Channel, address: str) -> str:
    return mask_phone(address) if channel == Channel.SMS else mask_email(address)


def mask_personal_data(text: str) -> str:
    """Mask every mobile number and e-mail address in free text, such as a gateway's error message."""
    text = _EMAIL_IN_TEXT.sub(lambda m: mask_email(m.group()), text)
    return _PHONE_IN_TEXT.sub(lambda m: mask_phone(m.group()), text)


# --- what services return -----------------------------------------------------------------------------------
@dataclass(frozen=True)
class QueuedNotification:
    notification_key: str
    inbox_message_id: int | None
    delivery_ids: tuple[int, ...]


@dataclass(frozen=True)
class InboxMessage:
    id: int
    recipient_user_id: int
    category: str
    title: str
    body: str
    link: str
    reference: Reference | None
    created_at: datetime
    read_at: datetime | None

    @property
    def is_read(self) -> bool:
        return self.read_at is not None


@dataclass(frozen=True)
class Delivery:
    """One channel delivery as the admin sees it; the address is masked."""

    id: int
    notification_key: str
    channel: Channel
    address: str
    subject: str
    category: str
    status: DeliveryStatus
    attempts: int
    gateway: str | None
    gateway_message_id: str | None
    last_error: str | None
    created_at: datetime
    sent_at: datetime | None


@dataclass(frozen=True)
class SandboxMessage:
    """What a sandbox gateway "sent"; the address is masked."""

    id: int
    channel: Channel
    address: str
    subject: str
    body: str
    idempotency_key: str
    sent_at: datetime
