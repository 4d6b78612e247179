"""Staff accounts and roles in the admin area: pages and API over the same identity services."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from admin_world import PASSWORD, World, build_world  # type: ignore[import-not-found]
from fastapi.testclient import TestClient
from webtools import csrf_from  # type: ignore[import-not-found]

from wanshi.bootstrap import Platform

Login = Callable[[str, str], None]
NEW_PASSWORD = "Hefei@2026reset"


@pytest.fixture
def world(platform: Platform, login: Login) -> World:
    built = build_world(platform)
    login("secadmin", PASSWORD)
    return built


def test_create_a_user_with_roles_then_sign_in_as_them(
    client: TestClient, login: Login, world: World
) -> None:
    form = client.get("/admin/users/new")
    assert form.status_code == 200
    assert "瑶海区数据资源管理局（340102）" in form.text
    created = client.post(
        "/admin/users",
        data={
            "csrf_token": csrf_from(form.text),
            "username": "yaohai.chief",
            "display_name": "李强",
            "organisation_id": str(world.organisations["yaohai"].id),
            "roles": ["org_admin", "supervisor"],
            "password": PASSWORD,
        },
        follow_redirects=False,
    )
    assert created.status_code == 303
    listing = client.get(created.headers["location"])
    assert "账号已创建" in listing.text
    assert "李强" in listing.text
    roles_cell = listing.text.split("李强")[1].split("</ul>")[0]
    assert "单位管理员" in roles_cell
    assert "监督人员" in roles_cell
    login("yaohai.chief", PASSWORD)
    assert client.get("/admin/users").status_code == 200


def test_user_form_errors_are_shown_next_to_the_fields(client: TestClient, world: World) -> None:
    token = csrf_from(client.get("/admin/users/new").text)
    base = {
        "csrf_token": token,
        "display_name": "王芳",
        "organisation_id": str(world.organisations["yaohai"].id),
    }
    bad_name = client.post("/admin/users", data={**base, "username": "Wang Fang"})
    assert bad_name.status_code == 422
    assert 'id="f-username-error"' in bad_name.text
    assert 'value="Wang Fang"' in bad_name.text
    weak = client.post("/admin/users", data={**base, "username": "wangfang", "password": "short"})
    assert weak.status_code == 422
    assert 'id="f-password-error"' in weak.text
    assert "密码长度至少 10 位" in weak.text
    taken = client.post("/admin/users", data={**base, "username": "yaohai.clerk"})
    assert taken.status_code == 409
    assert 'id="f-username-error"' in taken.text
    no_unit = client.post("/admin/users", data={**base, "organisation_id": "", "username": "wangfang"})
    assert no_unit.status_code == 422
    assert 'id="f-organisation_id-error"' in no_unit.text


def test_grant_revoke_and_reset_password_from_the_list(
    client: TestClient, login: Login, world: World
) -> None:
    clerk = world.users["yaohai.clerk"]
    page = client.get("/admin/users", params={"q": "yaohai.clerk"})
    token = csrf_from(page.text)
    granted = client.post(
        f"/admin/users/{clerk}/roles",
        data={"csrf_token": token, "role": "supervisor", "q": "yaohai.clerk", "page": "1"},
        follow_redirects=False,
    )
    assert granted.status_code == 303
    assert "q=yaohai.clerk" in granted.headers["location"]
    after = client.get(granted.headers["location"]).text
    revoke_supervisor = '<input type="hidden" name="role" value="supervisor">'
    assert "角色已授予" in after
    assert revoke_supervisor in after
    revoked = client.post(
        f"/admin/users/{clerk}/roles/revoke",
        data={
            "csrf_token": token,
            "role": "supervisor",
            "organisation_id": str(world.organisations["yaohai"].id),
        },
        follow_redirects=True,
    )
    assert "角色已收回" in revoked.text
    assert revoke_supervisor not in revoked.text
    weak = client.post(f"/admin/users/{clerk}/password", data={"csrf_token": token, "new_password": "weak"})
    assert weak.status_code == 422
    assert "密码长度至少 10 位" in weak.text
    assert '<details class="manage" open>' in weak.text
    reset = client.post(
        f"/admin/users/{clerk}/password",
        data={"csrf_token": token, "new_password": NEW_PASSWORD},
        follow_redirects=True,
    )
    assert "密码已重置" in reset.text
    login("yaohai.clerk", NEW_PASSWORD)


def test_separated_duties_refusal_is_shown_in_the_row(client: TestClient, world: World) -> None:
    auditor = world.users["auditor"]
    token = csrf_from(client.get("/admin/users").text)
    refused = client.post(f"/admin/users/{auditor}/roles", data={"csrf_token": token, "role": "sys_admin"})
    assert refused.status_code == 422
    assert "三员分立" in refused.text


def test_users_api(client: TestClient, world: World) -> None:
    headers = {"X-CSRF-Token": csrf_from(client.get("/admin").text)}
    listed = client.get("/api/v1/users", params={"q": "yaohai"}).json()
    assert listed["total"] == 3
    created = client.post(
        "/api/v1/users",
        json={
            "username": "luyang.head",
            "display_name": "赵敏",
            "organisation_id": world.organisations["luyang"].id,
            "password": PASSWORD,
            "roles": ["org_admin"],
        },
        headers=headers,
    )
    assert created.status_code == 201
    user = created.json()
    assert [(g["role"], g["role_name"]) for g in user["grants"]] == [("org_admin", "单位管理员")]
    granted = client.post(f"/api/v1/users/{user['id']}/roles", json={"role": "clerk"}, headers=headers).json()
    assert {g["role"] for g in granted["grants"]} == {"org_admin", "clerk"}
    revoked = client.delete(f"/api/v1/users/{user['id']}/roles/org_admin", headers=headers).json()
    assert [g["role"] for g in revoked["grants"]] == ["clerk"]
    reset = client.put(
        f"/api/v1/users/{user['id']}/password", json={"new_password": NEW_PASSWORD}, headers=headers
    )
    assert reset.status_code == 204
    weak = client.put(f"/api/v1/users/{user['id']}/password", json={"new_password": "weak"}, headers=headers)
    assert weak.json()["error"]["code"] == "weak_password"
    clash = client.post(
        f"/api/v1/users/{world.users['admin']}/roles", json={"role": "audit_admin"}, headers=headers
    )
    assert clash.json()["error"]["code"] == "separated_duties"


def test_the_organisation_choice_narrows_by_name_and_only_account_openers_are_offered_the_form(
    client: TestClient, login: Login, world: World
) -> None:
    narrowed = client.get("/admin/users/new", params={"unit_q": "庐阳"}).text
    assert "庐阳区数据资源管理局（340103）" in narrowed
    assert "瑶海区数据资源管理局（340102）" not in narrowed
    assert "安徽省数据资源管理局（340000）" in narrowed  # one's own organisation is always offered
    login("auditor", PASSWORD)
    listing = client.get("/admin/users")
    assert listing.status_code == 200
    assert "新建用户" not in listing.text
    assert "<details" not in listing.text  # an auditor reads accounts but manages none
    assert client.get("/admin/users/new").status_code == 403
