from __future__ import annotations

from dataclasses import replace
from datetime import date
from typing import Any

import pytest
from sqlalchemy import select

from wanshi.bootstrap import Platform
from wanshi.infra import audit
from wanshi.infra.tables import audit_entry, outbox_event
from wanshi.kernel import clock
from wanshi.kernel.actor import Actor, ActorKind, Role, RoleGrant
from wanshi.kernel.errors import NotAuthenticated, NotFound, PermissionDenied, ValidationFailed
from wanshi.workdays import repository
from wanshi.workdays.api import (
    DayOverride,
    ImportYearSchedule,
    ListOverrides,
    RemoveOverride,
    ScheduleInvalid,
    SetOverride,
    TimeLimitUnit,
    WorkdayCalendar,
    import_year_schedule,
    list_overrides,
    list_year_schedules,
    load_calendar,
    remove_override,
    set_override,
)

ADMIN = Actor(
    kind=ActorKind.STAFF,
    user_id=1,
    username="admin",
    organisation_id=1,
    division_code="340000",
    grants=(RoleGrant(Role.SYS_ADMIN, 1, "340000"),),
)
CITY_ADMIN = Actor(
    kind=ActorKind.STAFF,
    user_id=2,
    username="hefei-admin",
    organisation_id=2,
    division_code="340100",
    grants=(RoleGrant(Role.SYS_ADMIN, 2, "340100"),),
)
PROVINCE_CLERK = Actor(
    kind=ActorKind.STAFF,
    user_id=3,
    username="clerk",
    organisation_id=1,
    division_code="340000",
    grants=(RoleGrant(Role.CLERK, 1, "340000"), RoleGrant(Role.SECURITY_ADMIN, 1, "340000")),
)
CITIZEN = Actor(kind=ActorKind.CITIZEN, user_id=9, username="citizen")

NATIONAL_DAY_2027 = {
    "year": 2027,
    "notice": "测试：2027年安排（虚构，仅用于测试）",
    "holidays": [
        {"name": "元旦", "start": "2027-01-01", "end": "2027-01-03"},
        {"name": "国庆节", "start": "2027-10-01", "end": "2027-10-07"},
    ],
    "workdays": [{"date": "2027-09-26", "name": "国庆节调休上班"}],
}


def calendar(platform: Platform) -> WorkdayCalendar:
    with platform.uow() as uow:
        return load_calendar(uow)


def audit_rows(platform: Platform) -> list[Any]:
    with platform.engine.connect() as conn:
        return list(conn.execute(select(audit_entry).order_by(audit_entry.c.seq)))


def events(platform: Platform) -> list[Any]:
    with platform.engine.connect() as conn:
        return list(conn.execute(select(outbox_event).order_by(outbox_event.c.id)))


def do_set(platform: Platform, cmd: SetOverride, actor: Actor = ADMIN) -> None:
    with platform.uow() as uow:
        set_override(uow, cmd, actor)


def do_import(platform: Platform, document: dict[str, Any] | str, actor: Actor = ADMIN) -> Any:
    with platform.uow() as uow:
        return import_year_schedule(uow, ImportYearSchedule(document), actor)


def test_override_changes_the_loaded_calendar(platform: Platform) -> None:
    before = calendar(platform)
    assert calendar(platform) is before  # cached while nothing changes
    assert not before.is_workday(date(2025, 10, 8))

    do_set(platform, SetOverride(date(2025, 10, 8), True, "提前上班", "省政府通知"))
    after = calendar(platform)
    assert after.is_workday(date(2025, 10, 8))
    assert after.add_working_days(date(2025, 9, 30), 1) == date(2025, 10, 8)

    with platform.uow() as uow:
        remove_override(uow, RemoveOverride(date(2025, 10, 8)), ADMIN)
    assert not calendar(platform).is_workday(date(2025, 10, 8))


def test_setting_an_override_again_updates_it(platform: Platform) -> None:
    do_set(platform, SetOverride(date(2030, 10, 1), False, "国庆节"))
    other_admin = replace(ADMIN, user_id=5, username="admin2")
    with platform.uow() as uow:
        view = set_override(uow, SetOverride(date(2030, 10, 1), False, "国庆节", "已核对"), other_admin)
    assert (view.created_by, view.updated_by, view.override.note) == ("admin", "admin2", "已核对")
    with platform.uow() as uow:
        [stored] = list_overrides(uow, ListOverrides(year=2030), ADMIN)
    assert stored == view
    assert not calendar(platform).is_workday(date(2030, 10, 1))

    rows = audit_rows(platform)
    assert [r.action for r in rows] == ["workdays.override_set", "workdays.override_set"]
    assert rows[1].detail["previous"] == {"is_workday": False, "name": "国庆节", "note": ""}
    assert (rows[1].actor, rows[1].object_type, rows[1].object_id, rows[1].tenant) == (
        "admin2",
        "workdays_override",
        "2030-10-01",
        "340000",
    )
    with platform.engine.connect() as conn:
        assert audit.verify(conn).ok


def test_list_overrides_by_year(platform: Platform) -> None:
    do_set(platform, SetOverride(date(2030, 10, 1), False, "国庆节"))
    do_set(platform, SetOverride(date(2029, 12, 31), False, "元旦"))
    with platform.uow() as uow:
        assert [v.override.day for v in list_overrides(uow, ListOverrides(), PROVINCE_CLERK)] == [
            date(2029, 12, 31),
            date(2030, 10, 1),
        ]
        assert [v.override.day for v in list_overrides(uow, ListOverrides(2029), ADMIN)] == [
            date(2029, 12, 31)
        ]
        with pytest.raises(ValidationFailed):
            list_overrides(uow, ListOverrides(0), ADMIN)


def test_removing_a_missing_override_is_not_found(platform: Platform) -> None:
    with platform.uow() as uow, pytest.raises(NotFound):
        remove_override(uow, RemoveOverride(date(2030, 1, 1)), ADMIN)
    assert audit_rows(platform) == []


def test_invalid_override_writes_nothing(platform: Platform) -> None:
    with pytest.raises(ValidationFailed):
        do_set(platform, SetOverride(date(2030, 1, 1), False, "  "))
    assert audit_rows(platform) == []
    assert not calendar(platform).imported_years


def test_import_year_schedule_confirms_the_year(platform: Platform) -> None:
    assert not calendar(platform).deadline(date(2027, 9, 29), 3, TimeLimitUnit.WORKING_DAY).confirmed
    do_set(platform, SetOverride(date(2027, 10, 7), True, "提前上班"))

    result = do_import(platform, NATIONAL_DAY_2027)
    assert not result.replaced_existing
    assert result.overridden_dates == (date(2027, 10, 7),)
    assert result.schedule.created_by == "admin"

    cal = calendar(platform)
    assert cal.is_confirmed(2027)
    limit = cal.deadline(date(2027, 9, 29), 3, TimeLimitUnit.WORKING_DAY)
    # 9-30, then the override's 10-7, then 10-8.
    assert (limit.due_date, limit.confirmed) == (date(2027, 10, 8), True)
    assert cal.is_workday(date(2027, 9, 26))

    with platform.uow() as uow:
        [listed] = list_year_schedules(uow, PROVINCE_CLERK)
    assert listed.schedule.notice == NATIONAL_DAY_2027["notice"]
    assert len(listed.schedule.holidays) == 2

    [row] = [r for r in audit_rows(platform) if r.action == "workdays.year_schedule_imported"]
    assert (row.object_type, row.object_id, row.outcome) == ("workdays_year_schedule", "2027", "success")
    assert row.detail["overridden_dates"] == ["2027-10-07"]
    last = events(platform)[-1]
    assert last.event_type == "workdays.calendar_changed"
    assert (last.payload["first_date"], last.payload["last_date"]) == ("2027-01-01", "2027-12-31")


def test_reimport_replaces_the_year(platform: Platform) -> None:
    do_import(platform, NATIONAL_DAY_2027)
    yaml_text = "year: 2027\nholidays:\n  - {name: 国庆节, start: 2027-10-01, end: 2027-10-03}\n"
    result = do_import(platform, yaml_text)
    assert result.replaced_existing
    cal = calendar(platform)
    assert cal.is_workday(date(2027, 10, 4))
    assert cal.is_workday(date(2027, 1, 1))  # 元旦 was only in the replaced import
    with platform.uow() as uow:
        [listed] = list_year_schedules(uow, ADMIN)
    assert len(listed.schedule.holidays) == 1


def test_invalid_schedule_is_refused_with_codes(platform: Platform) -> None:
    bad = {**NATIONAL_DAY_2027, "workdays": [{"date": "2027-10-02", "name": "调休"}]}
    with pytest.raises(ScheduleInvalid) as caught:
        do_import(platform, bad)
    assert [p.code for p in caught.value.problems] == ["holiday_workday_clash"]
    with pytest.raises(ScheduleInvalid):
        do_import(platform, {**NATIONAL_DAY_2027, "holidays": [{"name": "国庆节", "start": "2028-10-01"}]})
    assert audit_rows(platform) == []
    assert not calendar(platform).is_confirmed(2027)


@pytest.mark.parametrize("actor", [CITY_ADMIN, PROVINCE_CLERK])
def test_only_a_province_sys_admin_may_change_the_calendar(platform: Platform, actor: Actor) -> None:
    with pytest.raises(PermissionDenied):
        do_set(platform, SetOverride(date(2030, 1, 1), False, "元旦"), actor)
    with platform.uow() as uow, pytest.raises(PermissionDenied):
        remove_override(uow, RemoveOverride(date(2030, 1, 1)), actor)
    with pytest.raises(PermissionDenied):
        do_import(platform, NATIONAL_DAY_2027, actor)

    assert calendar(platform).is_workday(date(2030, 1, 1))
    rows = audit_rows(platform)
    assert [(r.action, r.outcome, r.actor) for r in rows] == [
        ("workdays.override_set", "denied", actor.username),
        ("workdays.override_removed", "denied", actor.username),
        ("workdays.year_schedule_imported", "denied", actor.username),
    ]
    assert events(platform) == []


def test_reading_needs_a_signed_in_staff_member(platform: Platform) -> None:
    with platform.uow() as uow:
        with pytest.raises(PermissionDenied):
            list_overrides(uow, ListOverrides(), CITIZEN)
        with pytest.raises(NotAuthenticated):
            list_year_schedules(uow, Actor(kind=ActorKind.ANONYMOUS))
    with pytest.raises(NotAuthenticated):
        do_set(platform, SetOverride(date(2030, 1, 1), False, "元旦"), Actor(kind=ActorKind.ANONYMOUS))


def test_a_rolled_back_change_does_not_stick_in_the_cache(platform: Platform) -> None:
    with platform.uow() as uow:
        repository.lock_calendar(uow.session, clock.now())
        repository.add_override(
            uow.session, DayOverride(date(2025, 10, 8), True, "提前上班"), "admin", clock.now()
        )
        # Loaded inside the uncommitted change: cached under a token that never commits.
        assert load_calendar(uow).is_workday(date(2025, 10, 8))
    assert not calendar(platform).is_workday(date(2025, 10, 8))
