"""Ticket services and jobs on SQLite or PostgreSQL (WANSHI_TEST_DB)."""

from __future__ import annotations

import io
import threading
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select
from tickets_world import World

from wanshi.bootstrap import Platform
from wanshi.infra.files.tables import file
from wanshi.infra.tables import audit_entry, outbox_event
from wanshi.kernel.actor import SYSTEM, Actor, ActorKind, Role, RoleGrant
from wanshi.kernel.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from wanshi.notify import api as notify
from wanshi.notify.tables import inbox_message
from wanshi.org import api as org
from wanshi.tickets import api as tickets
from wanshi.tickets.tables import counter, event, ticket
from wanshi.workdays import api as workdays

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


def open_for(
    platform: Platform, actor: Actor, organisation: org.Organisation, title: str = "路灯不亮", **kw: Any
) -> tickets.Ticket:
    with platform.uow() as uow:
        return tickets.open_ticket(
            uow, tickets.OpenTicket(organisation_id=organisation.id, title=title, **kw), actor
        )


def rows(platform: Platform, table: Any, *where: Any) -> list[Any]:
    with platform.engine.connect() as conn:
        return list(conn.execute(select(table).where(*where).order_by(*table.primary_key.columns)).all())


def history(platform: Platform, ticket_id: int) -> list[tuple[str, str | None, str | None]]:
    return [(r.kind, r.from_state, r.to_state) for r in rows(platform, event, event.c.ticket_id == ticket_id)]


def audits(platform: Platform, prefix: str = "tickets.") -> list[tuple[str, str, str]]:
    return [
        (r.action, r.object_id, r.outcome)
        for r in rows(platform, audit_entry, audit_entry.c.action.startswith(prefix))
    ]


def inbox(platform: Platform, actor: Actor) -> list[notify.InboxMessage]:
    with platform.uow() as uow:
        return notify.list_inbox(uow, actor, limit=200)


def events(platform: Platform) -> list[str]:
    return [r.event_type for r in rows(platform, outbox_event) if r.event_type.startswith("tickets.")]


def china(year: int, month: int, day: int, hour: int = 10) -> datetime:
    return datetime(year, month, day, hour - 8, tzinfo=UTC)


# --- opening ----------------------------------------------------------------------------------------------
def test_open_records_history_audit_event_and_tells_the_organisation(
    ticket_platform: Platform, world: World
) -> None:
    platform = ticket_platform
    opened = open_for(platform, world["hf_clerk"], world.yaohai, description="长江东路 12 号附近")

    assert opened.number == "GD20260302000001"
    assert (opened.state, opened.organisation_id, opened.division_code) == (
        tickets.TicketState.OPEN,
        world.yaohai.id,
        "340102",
    )
    # general: 5 working days from Monday 2 March 2026 (the start day is not counted).
    assert (opened.deadline_date, opened.deadline_confirmed) == (date(2026, 3, 9), True)
    assert opened.creator_organisation_id == world.city.id
    assert history(platform, opened.id) == [("opened", None, "open")]
    assert audits(platform) == [("tickets.ticket.open", str(opened.id), "success")]
    assert events(platform) == ["tickets.TicketOpened"]

    for clerk in ("yh_clerk", "yh_clerk2"):
        (message,) = inbox(platform, world[clerk])
        assert message.title == f"新工单：{opened.number}"
        assert message.link == f"/tickets/{opened.number}"
        assert "2026-03-09" in message.body
    for outsider in ("hf_clerk", "ly_clerk", "yh_urban"):
        assert inbox(platform, world[outsider]) == []


def test_deadline_across_national_day_2025(
    ticket_platform: Platform, world: World, frozen_clock: list[datetime]
) -> None:
    frozen_clock[0] = china(2025, 9, 30)
    opened = open_for(ticket_platform, world["hf_clerk"], world.yaohai)
    # 1-8 October are holidays and Saturday 11 October a 调休 working day: 9, 10, 11, 13, 14.
    assert opened.number == "GD20250930000001"
    assert opened.start_date == date(2025, 9, 30)
    assert (opened.deadline_date, opened.deadline_confirmed) == (date(2025, 10, 14), True)


def test_category_time_limits_and_overrides(ticket_platform: Platform, world: World) -> None:
    tickets.register_category(tickets.TicketCategory("test_hotline", "测试热线", 1))
    quick = open_for(ticket_platform, world["hf_clerk"], world.yaohai, category="test_hotline")
    assert (quick.time_limit_amount, quick.deadline_date) == (1, date(2026, 3, 3))
    natural = open_for(
        ticket_platform,
        world["hf_clerk"],
        world.yaohai,
        time_limit_amount=5,
        time_limit_unit=workdays.TimeLimitUnit.NATURAL_DAY,
    )
    # 7 March 2026 is a Saturday: a natural-day limit ends on the next working day.
    assert natural.deadline_date == date(2026, 3, 9)
    with pytest.raises(ValidationFailed) as unknown:
        open_for(ticket_platform, world["hf_clerk"], world.yaohai, category="nothing")
    assert unknown.value.error_code == "ticket_category_unknown"
    with pytest.raises(ValidationFailed) as untitled:
        open_for(ticket_platform, world["hf_clerk"], world.yaohai, title="  ")
    assert untitled.value.error_code == "ticket_title_required"


def test_staff_open_only_within_their_division_and_refusals_are_audited(
    ticket_platform: Platform, world: World
) -> None:
    with pytest.raises(PermissionDenied):
        open_for(ticket_platform, world["yh_clerk"], world.city)
    with pytest.raises(PermissionDenied):
        open_for(ticket_platform, world["prov_admin"], world.yaohai)
    with pytest.raises(PermissionDenied):
        # Nobody names another organisation as the one that accepts the result.
        open_for(ticket_platform, world["hf_clerk"], world.yaohai, creator_organisation_id=world.luyang.id)
    assert audits(ticket_platform) == [("tickets.ticket.open", "", "denied")] * 3
    assert rows(ticket_platform, ticket) == []


def test_numbers_are_sequential_per_day_and_restart_the_next_day(
    ticket_platform: Platform, world: World, frozen_clock: list[datetime]
) -> None:
    numbers = [open_for(ticket_platform, world["hf_clerk"], world.yaohai).number for _ in range(25)]
    assert numbers == [f"GD20260302{n:06d}" for n in range(1, 26)]
    frozen_clock[0] = china(2026, 3, 3)
    assert open_for(ticket_platform, world["hf_clerk"], world.yaohai).number == "GD20260303000001"
    assert [(r.day_date, r.last_value) for r in rows(ticket_platform, counter)] == [
        (date(2026, 3, 2), 25),
        (date(2026, 3, 3), 1),
    ]


def test_concurrent_openings_get_unique_gapless_numbers(ticket_platform: Platform, world: World) -> None:
    numbers: list[str] = []
    errors: list[BaseException] = []
    lock = threading.Lock()

    def open_many() -> None:
        try:
            for _ in range(5):
                made = open_for(ticket_platform, world["hf_clerk"], world.yaohai)
                with lock:
                    numbers.append(made.number)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=open_many) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert sorted(numbers) == [f"GD20260302{n:06d}" for n in range(1, 41)]


def test_a_rolled_back_raise_leaves_nothing_behind(ticket_platform: Platform, world: World) -> None:
    citizen = Actor(kind=ActorKind.CITIZEN, user_id=9999, username="citizen-9999")
    with ticket_platform.uow() as uow:
        raised = tickets.raise_ticket(
            uow,
            tickets.OpenTicket(
                organisation_id=world.yaohai.id,
                title="差评整改：窗口让我跑了三次",
                source_type="rating",
                source_id="8812",
                creator_organisation_id=world.city.id,
            ),
            citizen,
        )
        assert raised.number == "GD20260302000001"
        # The caller's own change fails before its commit.
    for table in (ticket, event, counter, inbox_message):
        assert rows(ticket_platform, table) == []
    assert audits(ticket_platform) == []
    assert events(ticket_platform) == []

    with ticket_platform.uow() as uow:
        raised = tickets.raise_ticket(
            uow,
            tickets.OpenTicket(
                organisation_id=world.yaohai.id,
                title="差评整改：窗口让我跑了三次",
                source_type="rating",
                source_id="8812",
                creator_organisation_id=world.city.id,
            ),
            citizen,
        )
        uow.commit()
    # Numbers of rolled-back openings are given back: no gaps.
    assert raised.number == "GD20260302000001"
    assert (raised.created_by, raised.created_by_kind, raised.creator_organisation_id) == (
        "citizen-9999",
        "citizen",
        world.city.id,
    )
    assert len(inbox(ticket_platform, world["yh_clerk"])) == 1
    with ticket_platform.uow() as uow:
        assert [t.id for t in tickets.tickets_for_source(uow, "rating", "8812")] == [raised.id]
        assert tickets.tickets_for_source(uow, "rating", "1") == []
    # The creating organisation closes what a citizen raised.
    assert raised.state == tickets.TicketState.OPEN


# --- working a ticket -------------------------------------------------------------------------------------
def test_full_life_with_history_audit_events_and_notices(ticket_platform: Platform, world: World) -> None:
    platform = ticket_platform
    opened = open_for(platform, world["hf_clerk"], world.yaohai)
    with platform.uow() as uow:
        started = tickets.start_ticket(uow, tickets.StartTicket(ticket_id=opened.id), world["yh_clerk"])
    assert (started.state, started.assignee_user_id) == (
        tickets.TicketState.IN_PROGRESS,
        world["yh_clerk"].user_id,
    )
    # The colleague hears who took it; the one who took it is not told about their own act.
    assert [m.title for m in inbox(platform, world["yh_clerk2"])] == [
        f"工单已受理：{opened.number}",
        f"新工单：{opened.number}",
    ]
    assert len(inbox(platform, world["yh_clerk"])) == 1

    with platform.uow() as uow:
        tickets.comment_ticket(
            uow, tickets.CommentTicket(ticket_id=opened.id, note="已联系报修人"), world["yh_clerk"]
        )
    with platform.uow() as uow:
        tickets.resolve_ticket(
            uow,
            tickets.ResolveTicket(ticket_id=opened.id, note="已更换灯泡"),
            world["yh_clerk"],
            platform.files,
        )
    assert f"工单已办结待确认：{opened.number}" in [m.title for m in inbox(platform, world["hf_clerk"])]
    with platform.uow() as uow:
        reopened = tickets.reopen_ticket(
            uow, tickets.ReopenTicket(ticket_id=opened.id, reason="群众反映仍不亮"), world["hf_clerk"]
        )
    assert (reopened.state, reopened.assignee_user_id, reopened.deadline_date) == (
        tickets.TicketState.IN_PROGRESS,
        world["yh_clerk"].user_id,
        opened.deadline_date,
    )
    assert f"工单退回重办：{opened.number}" in [m.title for m in inbox(platform, world["yh_clerk"])]
    with platform.uow() as uow:
        tickets.resolve_ticket(
            uow,
            tickets.ResolveTicket(ticket_id=opened.id, note="已更换线路"),
            world["yh_clerk"],
            platform.files,
        )
    with platform.uow() as uow:
        closed = tickets.close_ticket(
            uow, tickets.CloseTicket(ticket_id=opened.id, note="满意"), world["hf_super"]
        )
    assert (closed.state, closed.version) == (tickets.TicketState.CLOSED, 6)

    assert history(platform, opened.id) == [
        ("opened", None, "open"),
        ("started", "open", "in_progress"),
        ("commented", None, None),
        ("resolved", "in_progress", "resolved"),
        ("reopened", "resolved", "in_progress"),
        ("resolved", "in_progress", "resolved"),
        ("closed", "resolved", "closed"),
    ]
    notes = [r.note for r in rows(platform, event, event.c.ticket_id == opened.id)]
    assert notes[2:] == ["已联系报修人", "已更换灯泡", "群众反映仍不亮", "已更换线路", "满意"]
    assert [a[0] for a in audits(platform)] == [
        "tickets.ticket.open",
        "tickets.ticket.start",
        "tickets.ticket.comment",
        "tickets.ticket.resolve",
        "tickets.ticket.reopen",
        "tickets.ticket.resolve",
        "tickets.ticket.close",
    ]
    assert events(platform) == [
        "tickets.TicketOpened",
        "tickets.TicketStarted",
        "tickets.TicketResolved",
        "tickets.TicketReopened",
        "tickets.TicketResolved",
        "tickets.TicketClosed",
    ]
    assert f"工单已关闭：{opened.number}" in [m.title for m in inbox(platform, world["yh_clerk"])]
    with platform.uow() as uow, pytest.raises(tickets.TransitionRefused):
        tickets.reopen_ticket(
            uow, tickets.ReopenTicket(ticket_id=opened.id, reason="再看看"), world["hf_super"]
        )


def test_refused_transitions_and_permissions(ticket_platform: Platform, world: World) -> None:
    platform = ticket_platform
    opened = open_for(platform, world["hf_clerk"], world.yaohai)
    with platform.uow() as uow, pytest.raises(tickets.TransitionRefused) as early:
        tickets.resolve_ticket(
            uow, tickets.ResolveTicket(ticket_id=opened.id, note="办好了"), world["yh_clerk"], platform.files
        )
    assert early.value.error_code == "ticket_transition_refused"
    # Another department in the same district neither sees nor works it (tickets can carry its data).
    with platform.uow() as uow, pytest.raises(NotFound):
        tickets.start_ticket(uow, tickets.StartTicket(ticket_id=opened.id), world["yh_urban"])
    with platform.uow() as uow:
        tickets.start_ticket(uow, tickets.StartTicket(ticket_id=opened.id), world["yh_clerk"])
    with platform.uow() as uow:
        tickets.resolve_ticket(
            uow, tickets.ResolveTicket(ticket_id=opened.id, note="办好了"), world["yh_clerk"], platform.files
        )
    # Those who resolved it do not accept their own result.
    with platform.uow() as uow, pytest.raises(PermissionDenied):
        tickets.close_ticket(uow, tickets.CloseTicket(ticket_id=opened.id), world["yh_clerk"])
    with platform.uow() as uow, pytest.raises(ValidationFailed) as no_reason:
        tickets.reopen_ticket(uow, tickets.ReopenTicket(ticket_id=opened.id, reason=" "), world["hf_clerk"])
    assert no_reason.value.error_code == "ticket_reason_required"
    assert ("tickets.ticket.close", str(opened.id), "denied") in audits(platform)
    assert history(platform, opened.id) == [
        ("opened", None, "open"),
        ("started", "open", "in_progress"),
        ("resolved", "in_progress", "resolved"),
    ]


def test_transfer_keeps_the_deadline_and_moves_the_ticket(ticket_platform: Platform, world: World) -> None:
    platform = ticket_platform
    opened = open_for(platform, world["hf_clerk"], world.yaohai)
    with platform.uow() as uow:
        tickets.start_ticket(uow, tickets.StartTicket(ticket_id=opened.id), world["yh_clerk"])
    with platform.uow() as uow, pytest.raises(ValidationFailed) as no_reason:
        tickets.transfer_ticket(
            uow,
            tickets.TransferTicket(ticket_id=opened.id, organisation_id=world.yaohai_urban.id, reason=""),
            world["yh_clerk"],
        )
    assert no_reason.value.error_code == "ticket_reason_required"
    with platform.uow() as uow, pytest.raises(ValidationFailed) as same:
        tickets.transfer_ticket(
            uow,
            tickets.TransferTicket(ticket_id=opened.id, organisation_id=world.yaohai.id, reason="不归我们管"),
            world["yh_clerk"],
        )
    assert same.value.error_code == "ticket_transfer_same_organisation"
    # A district clerk cannot push work into another district.
    with platform.uow() as uow, pytest.raises(PermissionDenied):
        tickets.transfer_ticket(
            uow,
            tickets.TransferTicket(ticket_id=opened.id, organisation_id=world.luyang.id, reason="不归我们管"),
            world["yh_clerk"],
        )
    with platform.uow() as uow:
        moved = tickets.transfer_ticket(
            uow,
            tickets.TransferTicket(
                ticket_id=opened.id, organisation_id=world.yaohai_urban.id, reason="路灯归城管"
            ),
            world["yh_clerk"],
        )
    assert (moved.state, moved.organisation_id, moved.assignee_user_id) == (
        tickets.TicketState.OPEN,
        world.yaohai_urban.id,
        None,
    )
    assert (moved.start_date, moved.deadline_date) == (opened.start_date, opened.deadline_date)
    assert [m.title for m in inbox(platform, world["yh_urban"])] == [f"新工单：{opened.number}"]
    (row,) = rows(platform, event, event.c.kind == "transferred")
    assert (row.from_state, row.to_state, row.from_organisation_id, row.to_organisation_id, row.note) == (
        "in_progress",
        "open",
        world.yaohai.id,
        world.yaohai_urban.id,
        "路灯归城管",
    )
    # The former organisation no longer sees or works it; the new one does.
    with platform.uow() as uow, pytest.raises(NotFound):
        tickets.start_ticket(uow, tickets.StartTicket(ticket_id=opened.id), world["yh_clerk"])
    with platform.uow() as uow:
        tickets.start_ticket(uow, tickets.StartTicket(ticket_id=opened.id), world["yh_urban"])
    # A city supervisor dispatches across districts.
    with platform.uow() as uow:
        tickets.transfer_ticket(
            uow,
            tickets.TransferTicket(ticket_id=opened.id, organisation_id=world.luyang.id, reason="属地调整"),
            world["hf_super"],
        )
    assert events(platform).count("tickets.TicketTransferred") == 2
    assert [a for a in audits(platform) if a[0] == "tickets.ticket.transfer"] == [
        ("tickets.ticket.transfer", str(opened.id), "denied"),
        ("tickets.ticket.transfer", str(opened.id), "success"),
        ("tickets.ticket.transfer", str(opened.id), "success"),
    ]


def test_resolve_with_evidence(ticket_platform: Platform, world: World) -> None:
    platform = ticket_platform
    opened = open_for(platform, world["hf_clerk"], world.yaohai)
    other = open_for(platform, world["hf_clerk"], world.yaohai, title="井盖缺失")
    clerk = world["yh_clerk"]
    for made in (opened, other):
        with platform.uow() as uow:
            tickets.start_ticket(uow, tickets.StartTicket(ticket_id=made.id), clerk)
    with platform.uow() as uow:
        photo = tickets.attach_evidence(
            uow, opened.id, tickets.EvidenceUpload(io.BytesIO(PDF), "现场照片.pdf"), clerk, platform.files
        )
    with platform.uow() as uow:
        foreign = tickets.attach_evidence(
            uow, other.id, tickets.EvidenceUpload(io.BytesIO(PDF + b" "), "别的.pdf"), clerk, platform.files
        )
    assert (photo.owner_kind, photo.owner_id, photo.tenant) == ("ticket", str(opened.id), "340102")

    for bad in (foreign.id, 999_999):
        with platform.uow() as uow, pytest.raises(ValidationFailed) as refused:
            tickets.resolve_ticket(
                uow,
                tickets.ResolveTicket(ticket_id=opened.id, note="已修复", file_ids=(bad,)),
                clerk,
                platform.files,
                [tickets.EvidenceUpload(io.BytesIO(PDF + b"  "), "不会留下.pdf")],
            )
        assert refused.value.error_code == "ticket_evidence_unknown"

    with platform.uow() as uow:
        resolved = tickets.resolve_ticket(
            uow,
            tickets.ResolveTicket(ticket_id=opened.id, note="已修复", file_ids=(photo.id, photo.id)),
            clerk,
            platform.files,
            [tickets.EvidenceUpload(io.BytesIO(PDF + b"\n"), "验收单.pdf")],
        )
    assert resolved.state is tickets.TicketState.RESOLVED
    (row,) = rows(platform, event, event.c.kind == "resolved")
    assert row.note == "已修复"
    cited, evidence_id = row.file_ids
    assert cited == photo.id
    assert [f["filename"] for f in row.detail["files"]] == ["现场照片.pdf", "验收单.pdf"]

    with platform.uow() as uow:
        stored, content = tickets.open_evidence(
            uow, opened.id, evidence_id, world["hf_clerk"], platform.files
        )
        with content:
            assert content.read() == PDF + b"\n"
    assert stored.filename == "验收单.pdf"
    with platform.uow() as uow, pytest.raises(NotFound):
        tickets.open_evidence(uow, opened.id, foreign.id, world["hf_clerk"], platform.files)
    with platform.uow() as uow, pytest.raises(NotFound):
        tickets.open_evidence(uow, opened.id, photo.id, world["ly_clerk"], platform.files)
    with platform.uow() as uow, pytest.raises(Conflict) as late:
        tickets.attach_evidence(
            uow, opened.id, tickets.EvidenceUpload(io.BytesIO(PDF), "晚了.pdf"), clerk, platform.files
        )
    assert late.value.error_code == "ticket_not_active"
    with platform.engine.connect() as conn:
        names = sorted(conn.execute(select(file.c.filename)).scalars())
    # The files of the refused resolutions were rolled back with them.
    assert names == ["别的.pdf", "现场照片.pdf", "验收单.pdf"]


# --- tenancy ----------------------------------------------------------------------------------------------
def test_a_sibling_county_sees_nothing(ticket_platform: Platform, world: World) -> None:
    platform = ticket_platform
    mine = open_for(platform, world["hf_clerk"], world.yaohai)
    open_for(platform, world["hf_clerk"], world.luyang, title="庐阳的事")
    with platform.uow() as uow:
        page = tickets.list_tickets(uow, tickets.TicketQuery(), world["ly_clerk"])
        assert [v.ticket.title for v in page.items] == ["庐阳的事"]
        assert page.total == 1
        stats = tickets.ticket_statistics(uow, tickets.TicketQuery(), world["ly_clerk"])
        assert (stats.total, [o.organisation_name for o in stats.organisations]) == (1, ["庐阳区数据资源局"])
        with pytest.raises(NotFound):
            tickets.get_ticket(uow, mine.id, world["ly_clerk"])
        with pytest.raises(NotFound):
            tickets.find_ticket(uow, mine.number, world["ly_clerk"])
    for act in (
        lambda uow: tickets.start_ticket(uow, tickets.StartTicket(ticket_id=mine.id), world["ly_clerk"]),
        lambda uow: tickets.comment_ticket(
            uow, tickets.CommentTicket(ticket_id=mine.id, note="看看"), world["ly_clerk"]
        ),
    ):
        with platform.uow() as uow, pytest.raises(NotFound):
            act(uow)
    with platform.uow() as uow:
        assert tickets.list_tickets(uow, tickets.TicketQuery(), world["hf_super"]).total == 2
        assert tickets.list_tickets(uow, tickets.TicketQuery(), world["prov_admin"]).total == 2
        # Another department of the same district sees none of them; the district's supervisor would.
        assert tickets.list_tickets(uow, tickets.TicketQuery(), world["yh_urban"]).total == 0
        detail = tickets.find_ticket(uow, mine.number.lower(), world["prov_admin"])
        assert detail.transitions == frozenset()
        assert not detail.can_comment


def test_the_creating_organisation_keeps_seeing_what_it_raised(
    ticket_platform: Platform, world: World
) -> None:
    platform = ticket_platform
    raised = open_for(platform, world["yh_clerk"], world.yaohai)
    with platform.uow() as uow:
        tickets.transfer_ticket(
            uow,
            tickets.TransferTicket(ticket_id=raised.id, organisation_id=world.luyang.id, reason="属地为庐阳"),
            world["hf_super"],
        )
    with platform.uow() as uow:
        assert (
            tickets.get_ticket(uow, raised.id, world["yh_clerk2"]).view.organisation_name
            == "庐阳区数据资源局"
        )
        assert tickets.list_tickets(uow, tickets.TicketQuery(), world["yh_clerk2"]).total == 1
        assert tickets.list_tickets(uow, tickets.TicketQuery(), world["yh_urban"]).total == 0


def test_list_filters_and_statistics(
    ticket_platform: Platform, world: World, frozen_clock: list[datetime]
) -> None:
    platform = ticket_platform
    late = open_for(platform, world["hf_clerk"], world.yaohai, title="早就该办")
    done = open_for(platform, world["hf_clerk"], world.yaohai, title="办完了")
    frozen_clock[0] = china(2026, 3, 12)
    fresh = open_for(platform, world["hf_clerk"], world.luyang, title="刚来的")
    with platform.uow() as uow:
        tickets.start_ticket(uow, tickets.StartTicket(ticket_id=done.id), world["yh_clerk"])
    with platform.uow() as uow:
        tickets.resolve_ticket(
            uow, tickets.ResolveTicket(ticket_id=done.id, note="好了"), world["yh_clerk"], platform.files
        )
    who = world["hf_super"]
    with platform.uow() as uow:

        def titles(**q: Any) -> list[str]:
            return [v.ticket.title for v in tickets.list_tickets(uow, tickets.TicketQuery(**q), who).items]

        assert titles() == ["早就该办", "刚来的", "办完了"]
        assert titles(overdue=True) == ["早就该办"]
        assert titles(overdue=False) == ["刚来的", "办完了"]
        assert titles(state=tickets.TicketState.RESOLVED) == ["办完了"]
        assert titles(organisation_id=world.luyang.id) == ["刚来的"]
        assert titles(category="general", q=late.number) == ["早就该办"]
        assert titles(q="刚来") == ["刚来的"]
        view = tickets.list_tickets(uow, tickets.TicketQuery(overdue=True), who).items[0]
        assert (view.overdue, view.working_days_left) == (True, -3)
        assert (
            tickets.list_tickets(uow, tickets.TicketQuery(q=fresh.number), who).items[0].working_days_left
            == 5
        )

        stats = tickets.ticket_statistics(uow, tickets.TicketQuery(), who)
        assert stats.by_state == {
            tickets.TicketState.OPEN: 2,
            tickets.TicketState.IN_PROGRESS: 0,
            tickets.TicketState.RESOLVED: 1,
            tickets.TicketState.CLOSED: 0,
        }
        assert (stats.total, stats.overdue) == (3, 1)
        per_org = {
            o.organisation_name: (o.by_state[tickets.TicketState.OPEN], o.overdue)
            for o in stats.organisations
        }
        assert per_org == {"瑶海区数据资源局": (1, 1), "庐阳区数据资源局": (1, 0)}


# --- jobs -------------------------------------------------------------------------------------------------
def run_worker(platform: Platform) -> None:
    worker = platform.worker()
    worker.sync_schedules()
    worker.run_until_idle()


def reminders(platform: Platform) -> list[tuple[int, date, bool]]:
    return [
        (r.ticket_id, r.reminder_date, r.detail["overdue"])
        for r in rows(platform, event, event.c.kind == "reminded")
    ]


def test_reminders_go_out_once_a_day(
    ticket_platform: Platform, world: World, frozen_clock: list[datetime]
) -> None:
    platform = ticket_platform
    tickets.register_category(tickets.TicketCategory("test_urgent", "测试急件", 2))
    soon = open_for(platform, world["hf_clerk"], world.yaohai, category="test_urgent")
    later = open_for(platform, world["hf_clerk"], world.yaohai, title="还早")
    handled = open_for(platform, world["hf_clerk"], world.luyang, category="test_urgent", title="办完了")
    with platform.uow() as uow:
        tickets.start_ticket(uow, tickets.StartTicket(ticket_id=handled.id), world["ly_clerk"])
    with platform.uow() as uow:
        tickets.resolve_ticket(
            uow, tickets.ResolveTicket(ticket_id=handled.id, note="好了"), world["ly_clerk"], platform.files
        )

    run_worker(platform)
    frozen_clock[0] += timedelta(hours=1)
    run_worker(platform)  # the hourly schedule fires again: nothing new
    assert reminders(platform) == [(soon.id, date(2026, 3, 2), False)]
    titles = [m.title for m in inbox(platform, world["yh_clerk"])]
    assert titles.count(f"工单即将到期：{soon.number}") == 1
    assert not any(later.number in t for t in titles if "到期" in t)

    # Thursday: "later" (due Monday 9 March) is now within two working days; "soon" is overdue.
    frozen_clock[0] = china(2026, 3, 5)
    run_worker(platform)
    run_worker(platform)
    assert sorted(reminders(platform)) == [
        (soon.id, date(2026, 3, 2), False),
        (soon.id, date(2026, 3, 5), True),
        (later.id, date(2026, 3, 5), False),
    ]
    titles = [m.title for m in inbox(platform, world["yh_clerk2"])]
    assert titles.count(f"工单已超期：{soon.number}") == 1
    assert titles.count(f"工单即将到期：{later.number}") == 1
    assert not [m for m in inbox(platform, world["ly_clerk"]) if "到期" in m.title or "超期" in m.title]


def test_reminders_go_to_the_assignee_once_there_is_one(
    ticket_platform: Platform, world: World, frozen_clock: list[datetime]
) -> None:
    platform = ticket_platform
    opened = open_for(platform, world["hf_clerk"], world.yaohai)
    with platform.uow() as uow:
        tickets.start_ticket(uow, tickets.StartTicket(ticket_id=opened.id), world["yh_clerk"])
    frozen_clock[0] = china(2026, 3, 10)
    with platform.uow() as uow:
        assert tickets.send_due_reminders(uow, reminder_days=2) == 1
        uow.commit()
    with platform.uow() as uow:
        assert tickets.send_due_reminders(uow, reminder_days=2) == 0
        uow.commit()
    assert [m.title for m in inbox(platform, world["yh_clerk"])].count(f"工单已超期：{opened.number}") == 1
    assert not [m for m in inbox(platform, world["yh_clerk2"]) if "超期" in m.title]


def province_admin() -> Actor:
    return Actor(
        kind=ActorKind.STAFF,
        user_id=424242,
        username="calendar-admin",
        division_code="340000",
        grants=(RoleGrant(Role.SYS_ADMIN, 1, "340000"),),
    )


def test_calendar_changes_move_deadlines_of_active_tickets(
    ticket_platform: Platform, world: World, frozen_clock: list[datetime]
) -> None:
    platform = ticket_platform
    active = open_for(platform, world["hf_clerk"], world.yaohai)
    done = open_for(platform, world["hf_clerk"], world.yaohai, title="办完了")
    with platform.uow() as uow:
        tickets.start_ticket(uow, tickets.StartTicket(ticket_id=done.id), world["yh_clerk"])
    with platform.uow() as uow:
        tickets.resolve_ticket(
            uow, tickets.ResolveTicket(ticket_id=done.id, note="好了"), world["yh_clerk"], platform.files
        )
    with platform.uow() as uow:
        workdays.set_override(
            uow,
            workdays.SetOverride(day=date(2026, 3, 4), is_workday=False, name="临时停工"),
            province_admin(),
        )
    run_worker(platform)

    with platform.uow() as uow:
        moved = tickets.get_ticket(uow, active.id, world["yh_clerk"]).ticket
        kept = tickets.get_ticket(uow, done.id, world["yh_clerk"]).ticket
    assert (moved.deadline_date, kept.deadline_date) == (date(2026, 3, 10), date(2026, 3, 9))
    (row,) = rows(platform, event, event.c.kind == "deadline_changed")
    assert (row.ticket_id, row.actor, row.detail["previous_deadline_date"]) == (
        active.id,
        "system",
        "2026-03-09",
    )
    assert ("tickets.ticket.reschedule", str(active.id), "success") in audits(platform)
    assert "tickets.TicketDeadlineChanged" in events(platform)
    assert f"工单办理期限调整：{active.number}" in [m.title for m in inbox(platform, world["yh_clerk"])]

    # A change after the deadline moves nothing.
    with platform.uow() as uow:
        workdays.set_override(
            uow,
            workdays.SetOverride(day=date(2026, 3, 20), is_workday=False, name="临时停工"),
            province_admin(),
        )
    run_worker(platform)
    assert len(rows(platform, event, event.c.kind == "deadline_changed")) == 1


def test_the_system_may_act_for_jobs(ticket_platform: Platform, world: World) -> None:
    with ticket_platform.uow() as uow:
        made = tickets.open_ticket(
            uow,
            tickets.OpenTicket(
                organisation_id=world.yaohai.id, title="质量问题：字段缺失", category="general"
            ),
            SYSTEM,
        )
    assert (made.created_by, made.creator_organisation_id) == ("system", None)
    with ticket_platform.engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(ticket)).scalar_one() == 1
