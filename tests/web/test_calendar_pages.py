from __future__ import annotations

import re
from collections.abc import Callable

from fastapi.testclient import TestClient
from webtools import csrf_from  # type: ignore[import-not-found]

from wanshi.bootstrap import Platform
from wanshi.identity.api import CreateStaffUser
from wanshi.kernel.actor import SYSTEM, Role
from wanshi.org import api as org

PASSWORD = "Anhui#2026pass"


def _admin(platform: Platform, username: str, role: Role, division: str = "340000") -> None:
    with platform.uow() as uow:
        if not org.list_child_divisions(uow, None):
            org.load_divisions(uow, org.LoadDivisions(table_text=org.bundled_division_table()), SYSTEM)
    with platform.uow() as uow:
        org.upsert_organisations(
            uow, [org.OrganisationSpec(name="数据资源管理局", division_code=division)], SYSTEM
        )
    with platform.uow() as uow:
        unit = org.find_organisation(uow, division, "数据资源管理局")
        platform.identity.create_staff_user(
            uow,
            CreateStaffUser(
                username=username,
                display_name=username,
                organisation_id=unit.id,
                password=PASSWORD,
                roles=(role,),
            ),
            SYSTEM,
        )


def test_year_grid_shows_national_day_and_adjusted_workdays(
    platform: Platform, client: TestClient, login: Callable[[str, str], None]
) -> None:
    _admin(platform, "cal.admin", Role.SYS_ADMIN)
    login("cal.admin", PASSWORD)
    page = client.get("/admin/calendar?year=2025")
    assert page.status_code == 200
    assert re.search(r'class="day holiday"\s+title="2025-10-01 国庆', page.text)
    assert re.search(r'class="day adjusted"\s+title="2025-09-28', page.text)  # a Sunday worked in 2025
    assert "尚未录入" not in page.text
    assert "尚未录入" in client.get("/admin/calendar?year=2031").text


def test_override_changes_the_deadline_and_is_listed(
    platform: Platform, client: TestClient, login: Callable[[str, str], None]
) -> None:
    _admin(platform, "cal.admin", Role.SYS_ADMIN)
    login("cal.admin", PASSWORD)
    before = client.get("/api/v1/calendar/deadline", params={"start": "2031-03-06", "amount": 1}).json()
    assert before["due_date"] == "2031-03-07"
    assert before["confirmed"] is False
    token = csrf_from(client.get("/admin/calendar?year=2031").text)
    saved = client.post(
        "/admin/calendar/overrides",
        data={"day": "2031-03-07", "kind": "rest", "name": "测试休息", "csrf_token": token},
        follow_redirects=True,
    )
    assert "测试休息" in saved.text
    after = client.get("/api/v1/calendar/deadline", params={"start": "2031-03-06", "amount": 1}).json()
    assert after["due_date"] == "2031-03-10"


def test_bad_schedule_lists_every_problem_and_a_city_admin_cannot_change_it(
    platform: Platform, client: TestClient, login: Callable[[str, str], None]
) -> None:
    _admin(platform, "cal.admin", Role.SYS_ADMIN)
    login("cal.admin", PASSWORD)
    token = csrf_from(client.get("/admin/calendar").text)
    bad = "year: 2031\nholidays:\n  - {name: 元旦, start: 2030-06-01, end: 2030-06-02}\nworkdays: []\n"
    reply = client.post("/admin/calendar/import", data={"document": bad, "csrf_token": token})
    assert reply.status_code == 422
    assert "未导入" in reply.text

    _admin(platform, "city.admin", Role.SYS_ADMIN, division="340100")
    login("city.admin", PASSWORD)
    token = csrf_from(client.get("/admin/calendar").text)
    refused = client.post(
        "/admin/calendar/overrides",
        data={"day": "2031-03-07", "kind": "rest", "name": "越权", "csrf_token": token},
    )
    assert refused.status_code == 403
