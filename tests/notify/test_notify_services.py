"""Notify services and the delivery job, on SQLite or PostgreSQL (WANSHI_TEST_DB)."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from wanshi.bootstrap import Platform
from wanshi.infra.jobs import JobRegistry
from wanshi.infra.tables import audit_entry, job
from wanshi.infra.uow import JobRequest
from wanshi.kernel.actor import ANONYMOUS, Actor, ActorKind, Role, RoleGrant
from wanshi.kernel.errors import NotAuthenticated, NotFound, PermissionDenied, ValidationFailed
from wanshi.notify import api
from wanshi.notify.api import Channel, DeliveryStatus, Notification, Reference
from wanshi.notify.gateways import Gateways, SandboxEmailGateway, SandboxSmsGateway
from wanshi.notify.tables import delivery, inbox_message, sandbox_message

PHONE = "13812341234"
EMAIL = "zhangsan@example.com"
CITIZEN = Actor(kind=ActorKind.CITIZEN, user_id=100, username="zhangsan")
OTHER_CITIZEN = Actor(kind=ActorKind.CITIZEN, user_id=101, username="lisi")


def fresh_jobs(platform: Platform) -> JobRegistry:
    """The platform registers the sandbox gateways; these tests register gateways of their own."""
    platform.jobs = JobRegistry()
    return platform.jobs


def staff(user_id: int, *roles: Role) -> Actor:
    grants = tuple(RoleGrant(role, 1, "340100") for role in roles)
    return Actor(kind=ActorKind.STAFF, user_id=user_id, username=f"staff{user_id}", grants=grants)


CLERK = staff(1, Role.CLERK)
SYS_ADMIN = staff(2, Role.SYS_ADMIN)


def ticket_notice(channels: frozenset[Channel], **overrides: Any) -> Notification:
    values: dict[str, Any] = {
        "channels": channels,
        "recipient_user_id": CITIZEN.user_id,
        "phone": PHONE,
        "email": EMAIL,
        "template": "ticket.assigned",
        "params": {"ticket_no": "GD-001", "summary": "路灯不亮", "due_date": "2026-03-01"},
        "category": "ticket.assigned",
        "reference": Reference("ticket", "GD-001"),
        "link": "/tickets/GD-001",
        "tenant": "340100",
    }
    values.update(overrides)
    return Notification(**values)


ALL = frozenset({Channel.INBOX, Channel.SMS, Channel.EMAIL})


def rows(platform: Platform, table: Any) -> list[Any]:
    with platform.engine.connect() as conn:
        return list(conn.execute(select(table).order_by(table.c.id)).all())


def job_statuses(platform: Platform) -> list[str]:
    with platform.engine.connect() as conn:
        return sorted(conn.execute(select(job.c.status)).scalars())


def run_until(platform: Platform, done: Callable[[], bool], seconds: float = 10) -> None:
    """Jobs that failed wait for their backoff (tens of milliseconds in tests) before the next try."""
    worker = platform.worker()
    deadline = time.monotonic() + seconds
    while not done() and time.monotonic() < deadline:
        worker.run_once()
        time.sleep(0.02)
    assert done()


def test_send_to_inbox_sms_and_email(platform: Platform, caplog: pytest.LogCaptureFixture) -> None:
    api.register_jobs(fresh_jobs(platform), api.sandbox_gateways())
    caplog.set_level(logging.DEBUG)
    with platform.uow() as uow:
        queued = api.send_notification(uow, ticket_notice(ALL), CLERK)
    assert queued.inbox_message_id is not None
    assert len(queued.delivery_ids) == 2

    platform.worker().run_until_idle()

    with platform.uow() as uow:
        inbox = api.list_inbox(uow, CITIZEN)
        assert api.unread_count(uow, CITIZEN) == 1
    assert [m.title for m in inbox] == ["新工单：GD-001"]
    assert inbox[0].reference == Reference("ticket", "GD-001")
    assert inbox[0].link == "/tickets/GD-001"
    assert not inbox[0].is_read

    sandbox = {r.channel: r for r in rows(platform, sandbox_message)}
    assert sandbox["sms"].address == PHONE
    assert sandbox["sms"].body.startswith("【皖事通办】您有一张新工单（编号 GD-001）")
    assert sandbox["email"].address == EMAIL
    assert sandbox["email"].subject == "新工单：GD-001"

    deliveries = {r.channel: r for r in rows(platform, delivery)}
    assert {r.status for r in deliveries.values()} == {"sent"}
    assert {r.attempts for r in deliveries.values()} == {1}
    assert {r.notification_key for r in deliveries.values()} == {queued.notification_key}
    # Once sent, the delivery keeps only the masked address.
    assert deliveries["sms"].address == "138****1234"
    assert deliveries["email"].address == "z***@example.com"
    assert deliveries["sms"].gateway_message_id == f"sandbox-{sandbox['sms'].id}"
    assert job_statuses(platform) == ["done", "done"]

    audit = rows_by_seq(platform)
    assert [(a.action, a.actor, a.object_id) for a in audit] == [
        ("notify.send", "staff1", queued.notification_key)
    ]
    assert audit[0].detail["recipients"] == {"email": "z***@example.com", "sms": "138****1234"}
    assert PHONE not in caplog.text
    assert EMAIL not in caplog.text


def rows_by_seq(platform: Platform) -> list[Any]:
    with platform.engine.connect() as conn:
        return list(conn.execute(select(audit_entry).order_by(audit_entry.c.seq)).all())


def test_queue_notification_commits_with_the_callers_change_or_not_at_all(platform: Platform) -> None:
    with platform.uow() as uow:
        api.queue_notification(uow, ticket_notice(ALL))
        # The caller's change fails before its commit: no notice, no delivery, no job.
    assert rows(platform, inbox_message) == []
    assert rows(platform, delivery) == []
    assert job_statuses(platform) == []

    with platform.uow() as uow:
        queued = api.queue_notification(uow, ticket_notice(frozenset({Channel.SMS})))
        uow.commit()
    assert queued.inbox_message_id is None
    assert [r.status for r in rows(platform, delivery)] == ["pending"]
    assert rows(platform, delivery)[0].address == PHONE
    assert job_statuses(platform) == ["pending"]
    # Queueing is the caller's act: it writes no audit entry of its own.
    assert rows_by_seq(platform) == []


class FlakySms:
    """Fails the first ``failures`` sends, quoting the number as real gateways do; then sends."""

    name = "flaky"

    def __init__(self, session: Session, calls: list[int], failures: int) -> None:
        self._sandbox = SandboxSmsGateway(session)
        self._calls = calls
        self._failures = failures

    def send(self, address: str, body: str, *, idempotency_key: str) -> str:
        self._calls.append(1)
        if len(self._calls) <= self._failures:
            raise ConnectionError(f"gateway timeout sending to {address}")
        return self._sandbox.send(address, body, idempotency_key=idempotency_key)


def flaky_gateways(calls: list[int], failures: int) -> Gateways:
    return Gateways(sms=lambda s: FlakySms(s, calls, failures), email=SandboxEmailGateway)


def test_retry_after_failing_gateway_delivers_exactly_once(
    platform: Platform, caplog: pytest.LogCaptureFixture
) -> None:
    calls: list[int] = []
    api.register_jobs(fresh_jobs(platform), flaky_gateways(calls, failures=2))
    caplog.set_level(logging.DEBUG)
    with platform.uow() as uow:
        api.queue_notification(uow, ticket_notice(frozenset({Channel.SMS})))
        uow.commit()

    run_until(platform, lambda: job_statuses(platform) == ["done"])

    assert len(calls) == 3
    assert len(rows(platform, sandbox_message)) == 1
    (row,) = rows(platform, delivery)
    assert (row.status, row.attempts, row.gateway) == ("sent", 3, "flaky")
    # The error is kept on the delivery for the admin, with the number masked.
    assert row.last_error == "ConnectionError: gateway timeout sending to 138****1234"
    assert PHONE not in caplog.text
    assert "138****1234" in caplog.text
    with platform.engine.connect() as conn:
        assert PHONE not in (conn.execute(select(job.c.last_error)).scalar_one() or "")


def test_delivery_fails_for_good_after_the_last_attempt(platform: Platform) -> None:
    calls: list[int] = []
    api.register_jobs(fresh_jobs(platform), flaky_gateways(calls, failures=100))
    with platform.uow() as uow:
        api.queue_notification(uow, ticket_notice(frozenset({Channel.SMS})))
        uow.commit()

    run_until(platform, lambda: job_statuses(platform) == ["dead"])

    (row,) = rows(platform, delivery)
    assert (row.status, row.attempts) == ("failed", platform.settings.job_max_attempts)
    assert row.address == "138****1234"
    assert rows(platform, sandbox_message) == []
    with platform.uow() as uow:
        failed = api.list_deliveries(uow, SYS_ADMIN, status=DeliveryStatus.FAILED)
    assert [d.id for d in failed] == [row.id]
    assert failed[0].last_error is not None
    assert "138****1234" in failed[0].last_error


class RefusingEmail:
    name = "refusing"

    def __init__(self, session: Session) -> None:
        self._session = session

    def send(self, address: str, subject: str, body: str, *, idempotency_key: str) -> str:
        raise ValidationFailed(f"mailbox {address} does not exist")


def test_a_gateway_refusal_fails_the_delivery_without_retrying(platform: Platform) -> None:
    api.register_jobs(fresh_jobs(platform), Gateways(sms=SandboxSmsGateway, email=RefusingEmail))
    with platform.uow() as uow:
        api.queue_notification(uow, ticket_notice(frozenset({Channel.EMAIL, Channel.SMS})))
        uow.commit()
    platform.worker().run_until_idle()

    by_channel = {r.channel: r for r in rows(platform, delivery)}
    assert (by_channel["email"].status, by_channel["email"].attempts) == ("failed", 1)
    assert by_channel["email"].last_error == "mailbox z***@example.com does not exist"
    assert by_channel["sms"].status == "sent"
    assert job_statuses(platform) == ["done", "done"]


def test_running_the_job_twice_does_not_send_twice(platform: Platform) -> None:
    api.register_jobs(fresh_jobs(platform), api.sandbox_gateways())
    with platform.uow() as uow:
        queued = api.queue_notification(uow, ticket_notice(frozenset({Channel.SMS, Channel.EMAIL})))
        # Enqueueing the same delivery again under the same key adds nothing.
        for delivery_id in queued.delivery_ids:
            uow.enqueue(
                JobRequest(api.DELIVER_JOB, {"delivery_id": delivery_id}, f"notify.deliver:{delivery_id}")
            )
        uow.commit()
    platform.worker().run_until_idle()
    sent_before = rows(platform, delivery)

    # A duplicate job under another key (a replayed event, a manual re-run) finds the delivery sent.
    with platform.uow() as uow:
        for delivery_id in queued.delivery_ids:
            uow.enqueue(JobRequest(api.DELIVER_JOB, {"delivery_id": delivery_id}, f"again:{delivery_id}"))
        uow.commit()
    platform.worker().run_until_idle()

    assert len(rows(platform, sandbox_message)) == 2
    assert rows(platform, delivery) == sent_before
    assert job_statuses(platform) == ["done"] * 4


def test_sandbox_gateway_is_idempotent_per_key(platform: Platform) -> None:
    with platform.uow() as uow:
        gateway = SandboxSmsGateway(uow.session, sign="【合肥政务】")
        first = gateway.send(PHONE, "您的验证码是 123456", idempotency_key="k-1")
        again = gateway.send(PHONE, "您的验证码是 123456", idempotency_key="k-1")
        other = gateway.send(PHONE, "您的验证码是 654321", idempotency_key="k-2")
        uow.commit()
    assert first == again != other
    assert [r.body for r in rows(platform, sandbox_message)] == [
        "【合肥政务】您的验证码是 123456",
        "【合肥政务】您的验证码是 654321",
    ]


def test_sandbox_sms_gateway_refuses_over_500_characters(platform: Platform) -> None:
    with platform.uow() as uow:
        gateway = SandboxSmsGateway(uow.session)
        with pytest.raises(api.SmsTooLong, match="500"):
            gateway.send(PHONE, "字" * 495, idempotency_key="long")
    assert rows(platform, sandbox_message) == []


def test_sms_body_over_the_limit_is_refused_when_queued(platform: Platform) -> None:
    notice = Notification(
        channels=frozenset({Channel.SMS}), phone=PHONE, title="通知", body="字" * (api.SMS_BODY_MAX_CHARS + 1)
    )
    with platform.uow() as uow, pytest.raises(api.SmsTooLong):
        api.queue_notification(uow, notice)


def test_other_users_cannot_read_or_mark_my_messages(platform: Platform) -> None:
    with platform.uow() as uow:
        queued = api.send_notification(uow, ticket_notice(frozenset({Channel.INBOX})), CLERK)
    message_id = queued.inbox_message_id
    assert message_id is not None

    with platform.uow() as uow:
        assert api.list_inbox(uow, OTHER_CITIZEN) == []
        assert api.unread_count(uow, OTHER_CITIZEN) == 0
        with pytest.raises(PermissionDenied):
            api.mark_read(uow, message_id, OTHER_CITIZEN)
        with pytest.raises(PermissionDenied):
            api.mark_read(uow, message_id, SYS_ADMIN)
        with pytest.raises(NotFound):
            api.mark_read(uow, message_id + 1000, CITIZEN)
        with pytest.raises(NotAuthenticated):
            api.list_inbox(uow, ANONYMOUS)

    with platform.uow() as uow:
        read = api.mark_read(uow, message_id, CITIZEN)
    assert read.read_at is not None
    with platform.uow() as uow:
        again = api.mark_read(uow, message_id, CITIZEN)
        assert api.unread_count(uow, CITIZEN) == 0
        assert api.list_inbox(uow, CITIZEN, unread_only=True) == []
        assert [m.id for m in api.list_inbox(uow, CITIZEN)] == [message_id]
    assert again.read_at == read.read_at


def test_inbox_lists_newest_first_with_paging(platform: Platform) -> None:
    with platform.uow() as uow:
        for n in range(5):
            api.queue_notification(
                uow,
                Notification(
                    channels=frozenset({Channel.INBOX}),
                    recipient_user_id=CITIZEN.user_id,
                    template="generic",
                    params={"title": f"消息 {n}", "body": "内容"},
                ),
            )
        uow.commit()
    with platform.uow() as uow:
        page = api.list_inbox(uow, CITIZEN, limit=2, offset=1)
        with pytest.raises(ValidationFailed):
            api.list_inbox(uow, CITIZEN, limit=0)
    assert [m.title for m in page] == ["消息 3", "消息 2"]


@pytest.mark.parametrize(
    "actor",
    [CITIZEN, ANONYMOUS, staff(3, Role.SUPERVISOR), staff(4, Role.AUDIT_ADMIN)],
)
def test_only_admins_and_clerks_send_by_hand(platform: Platform, actor: Actor) -> None:
    with platform.uow() as uow, pytest.raises((PermissionDenied, NotAuthenticated)):
        api.send_notification(uow, ticket_notice(ALL), actor)
    assert rows(platform, inbox_message) == []


@pytest.mark.parametrize("actor", [staff(5, Role.ORG_ADMIN), staff(6, Role.SYS_ADMIN)])
def test_admins_may_send(platform: Platform, actor: Actor) -> None:
    with platform.uow() as uow:
        api.send_notification(uow, ticket_notice(frozenset({Channel.INBOX})), actor)
    assert len(rows(platform, inbox_message)) == 1


def test_only_sys_admin_sees_the_sandbox_outbox(platform: Platform) -> None:
    api.register_jobs(fresh_jobs(platform), api.sandbox_gateways())
    with platform.uow() as uow:
        api.send_notification(uow, ticket_notice(ALL), CLERK)
    platform.worker().run_until_idle()
    with platform.uow() as uow:
        for actor in (CLERK, CITIZEN, staff(7, Role.ORG_ADMIN)):
            with pytest.raises(PermissionDenied):
                api.list_sandbox_messages(uow, actor)
            with pytest.raises(PermissionDenied):
                api.list_deliveries(uow, actor)
        everything = api.list_sandbox_messages(uow, SYS_ADMIN)
        sms_only = api.list_sandbox_messages(uow, SYS_ADMIN, channel=Channel.SMS)
        deliveries = api.list_deliveries(uow, SYS_ADMIN, status=DeliveryStatus.SENT)
    assert {m.channel for m in everything} == {Channel.SMS, Channel.EMAIL}
    assert [(m.channel, m.address) for m in sms_only] == [(Channel.SMS, "138****1234")]
    assert sms_only[0].body.startswith("【皖事通办】")
    assert {d.channel for d in deliveries} == {Channel.SMS, Channel.EMAIL}


def test_unknown_template_and_bad_params_are_refused(platform: Platform) -> None:
    with platform.uow() as uow:
        with pytest.raises(ValidationFailed, match="不存在"):
            api.queue_notification(uow, ticket_notice(ALL, template="no.such", params={}))
        with pytest.raises(api.TemplateParamsInvalid, match="due_date"):
            api.queue_notification(uow, ticket_notice(ALL, params={"ticket_no": "1", "summary": "s"}))


def test_english_notice(platform: Platform) -> None:
    with platform.uow() as uow:
        api.queue_notification(uow, ticket_notice(frozenset({Channel.INBOX}), locale="en"))
        uow.commit()
    with platform.uow() as uow:
        (message,) = api.list_inbox(uow, CITIZEN)
    assert message.title == "New ticket GD-001"


def test_template_registration_from_another_context() -> None:
    template = api.MessageTemplate(
        "test.case.accepted", "已受理：{case_no}", "您的申请已受理。", "Accepted: {case_no}", "Accepted."
    )
    api.register_template(template)
    api.register_template(template)
    assert "test.case.accepted" in api.template_keys()
