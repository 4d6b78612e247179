from __future__ import annotations

from collections.abc import Callable

from fastapi.testclient import TestClient
from webtools import csrf_from  # type: ignore[import-not-found]

from wanshi.bootstrap import Platform
from wanshi.identity.api import CreateStaffUser
from wanshi.kernel.actor import SYSTEM, Role
from wanshi.notify import api as notify
from wanshi.org import api as org

PASSWORD = "Anhui#2026pass"


def _staff(platform: Platform, username: str, role: Role) -> int:
    with platform.uow() as uow:
        if not org.list_child_divisions(uow, None):
            org.load_divisions(uow, org.LoadDivisions(table_text=org.bundled_division_table()), SYSTEM)
    with platform.uow() as uow:
        org.upsert_organisations(
            uow, [org.OrganisationSpec(name="安徽省数据资源管理局", division_code="340000")], SYSTEM
        )
    with platform.uow() as uow:
        unit = org.find_organisation(uow, "340000", "安徽省数据资源管理局")
    with platform.uow() as uow:
        user = platform.identity.create_staff_user(
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
    return user.id


def test_inbox_shows_my_messages_and_marks_them_read(
    platform: Platform, client: TestClient, login: Callable[[str, str], None]
) -> None:
    me = _staff(platform, "clerk.me", Role.CLERK)
    with platform.uow() as uow:
        notify.queue_notification(
            uow,
            notify.Notification(
                channels=frozenset({notify.Channel.INBOX, notify.Channel.SMS}),
                recipient_user_id=me,
                phone="13812345678",
                title="材料已补正",
                body="请及时审核。",
            ),
        )
        uow.commit()
    platform.worker().run_until_idle()
    login("clerk.me", PASSWORD)
    page = client.get("/inbox")
    assert "材料已补正" in page.text
    assert "未读" in page.text
    api = client.get("/api/v1/notifications/inbox").json()
    assert api["unread"] == 1
    message_id = api["messages"][0]["id"]
    read = client.post(
        f"/inbox/{message_id}/read", data={"csrf_token": csrf_from(page.text)}, follow_redirects=False
    )
    assert read.status_code == 303
    assert client.get("/api/v1/notifications/inbox").json()["unread"] == 0
    # A clerk may not read the sandbox outbox.
    assert client.get("/admin/notifications").status_code == 403


def test_sandbox_outbox_is_visible_to_the_system_administrator_masked(
    platform: Platform, client: TestClient, login: Callable[[str, str], None]
) -> None:
    _staff(platform, "sys.admin", Role.SYS_ADMIN)
    with platform.uow() as uow:
        notify.queue_notification(
            uow,
            notify.Notification(
                channels=frozenset({notify.Channel.SMS}),
                phone="13812345678",
                title="t",
                body="您的办件已受理。",
            ),
        )
        uow.commit()
    platform.worker().run_until_idle()
    login("sys.admin", PASSWORD)
    page = client.get("/admin/notifications")
    assert page.status_code == 200
    assert "您的办件已受理" in page.text
    assert "138****5678" in page.text
    assert "13812345678" not in page.text
