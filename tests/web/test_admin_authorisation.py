"""Who reaches what in the admin area, proven through the pages and the API alike."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from admin_world import PASSWORD, World, build_world  # type: ignore[import-not-found]
from fastapi.testclient import TestClient
from webtools import csrf_from  # type: ignore[import-not-found]

from wanshi.bootstrap import Platform

Login = Callable[[str, str], None]


@pytest.fixture
def world(platform: Platform) -> World:
    return build_world(platform)


def _token(client: TestClient) -> str:
    return csrf_from(client.get("/admin").text)


def test_anonymous_visitors_are_sent_to_sign_in(client: TestClient) -> None:
    page = client.get("/admin/organisations", follow_redirects=False)
    assert page.status_code == 303
    assert page.headers["location"] == "/login?next=/admin/organisations"
    assert client.get("/api/v1/organisations").json()["error"]["code"] == "not_authenticated"


def test_navigation_offers_only_what_the_roles_allow(client: TestClient, login: Login, world: World) -> None:
    expected = {
        "admin": {"组织机构", "行政区划", "用户与角色", "后台任务"},
        "secadmin": {"组织机构", "行政区划", "用户与角色"},
        "auditor": {"组织机构", "行政区划", "用户与角色", "审计日志"},
        "yaohai.clerk": {"组织机构", "行政区划"},
    }
    every = {"组织机构", "行政区划", "用户与角色", "审计日志", "后台任务"}
    for username, sections in expected.items():
        login(username, PASSWORD)
        page = client.get("/admin")
        assert page.status_code == 200
        nav = page.text.split('class="admin-nav"')[1].split("</nav>")[0]
        assert {s for s in every if s in nav} == sections, username
        assert 'href="/admin" aria-current="page"' in nav


def test_county_clerk_sees_nothing_of_a_sibling_county_and_reaches_no_admin_action(
    client: TestClient, login: Login, world: World
) -> None:
    luyang = world.organisations["luyang"].id
    login("yaohai.clerk", PASSWORD)
    token = _token(client)

    listing = client.get("/admin/organisations")
    assert "瑶海区数据资源管理局" in listing.text
    assert "庐阳区数据资源管理局" not in listing.text
    assert "安徽省数据资源管理局" not in listing.text
    assert client.get(f"/admin/organisations/{luyang}").status_code == 404
    assert client.get("/admin/organisations?division=340103").text.count("<tr>") == 0
    for path in (
        "/admin/users",
        "/admin/users/new",
        "/admin/audit",
        "/admin/jobs",
        "/admin/organisations/new",
    ):
        assert client.get(path).status_code == 403, path
    assert "新建组织" not in listing.text
    assert "载入新版区划代码表" not in client.get("/admin/divisions").text
    posts = {
        "/admin/organisations": {"name": "庐阳区测试局", "division_code": "340103", "kind": "department"},
        f"/admin/organisations/{luyang}": {"name": "改名", "active": "on"},
        "/admin/users": {
            "username": "sneaky",
            "display_name": "x",
            "organisation_id": str(luyang),
            "password": PASSWORD,
        },
        f"/admin/users/{world.users['luyang.clerk']}/roles": {"role": "sys_admin"},
        f"/admin/users/{world.users['luyang.clerk']}/password": {"new_password": "Another#2026pass"},
        "/admin/audit/verify": {},
        "/admin/jobs/1/retry": {},
    }
    for path, data in posts.items():
        reply = client.post(path, data={**data, "csrf_token": token})
        assert reply.status_code in (403, 404), (path, reply.status_code)
    upload = client.post(
        "/admin/divisions/load",
        data={"csrf_token": token},
        files={"table": ("t.tsv", b"Source\tRevision\tCode\tName\n", "text/tab-separated-values")},
    )
    assert upload.status_code == 403

    api = client.get("/api/v1/organisations").json()
    assert [o["name"] for o in api["items"]] == ["瑶海区数据资源管理局"]
    assert client.get(f"/api/v1/organisations/{luyang}").json()["error"]["code"] == "not_found"
    headers = {"X-CSRF-Token": token}
    refused = [
        client.get("/api/v1/users"),
        client.get("/api/v1/audit"),
        client.get("/api/v1/jobs"),
        client.post(
            "/api/v1/organisations", json={"name": "庐阳区测试局", "division_code": "340103"}, headers=headers
        ),
        client.put(f"/api/v1/organisations/{luyang}", json={"name": "改名后"}, headers=headers),
        client.post(
            f"/api/v1/users/{world.users['luyang.clerk']}/roles", json={"role": "clerk"}, headers=headers
        ),
        client.post("/api/v1/audit/verify", headers=headers),
        client.post("/api/v1/jobs/1/retry", headers=headers),
    ]
    assert [r.status_code for r in refused] == [403, 403, 403, 403, 404, 403, 403, 403]
    assert all(r.json()["error"]["code"] in ("permission_denied", "not_found") for r in refused)


def test_county_administrators_see_only_their_own_county(
    client: TestClient, login: Login, world: World
) -> None:
    login("yaohai.secadmin", PASSWORD)
    users = client.get("/admin/users").text
    assert "yaohai.clerk" in users
    assert "luyang.clerk" not in users
    assert "secadmin</code>" not in users.replace("yaohai.secadmin</code>", "")
    names = {u["username"] for u in client.get("/api/v1/users").json()["items"]}
    assert names == {"yaohai.clerk", "yaohai.secadmin", "yaohai.auditor"}

    login("yaohai.auditor", PASSWORD)
    entries = client.get("/api/v1/audit", params={"action": "identity.user.create"}).json()["entries"]
    assert {e["tenant"] for e in entries} == {"340102"}
    page = client.get("/admin/audit", params={"action": "identity.user.create"})
    assert page.status_code == 200
    assert "340102" in page.text
    assert "340103" not in page.text
    assert client.get("/api/v1/audit", params={"tenant": "340103"}).json()["entries"] == []


def test_the_audit_administrator_may_search_the_log_but_the_system_administrator_may_not(
    client: TestClient, login: Login, world: World
) -> None:
    login("admin", PASSWORD)
    assert client.get("/admin/audit").status_code == 403
    assert client.get("/api/v1/audit").json()["error"]["code"] == "permission_denied"
    login("auditor", PASSWORD)
    assert client.get("/admin/audit").status_code == 200
    denied = client.get("/api/v1/audit", params={"outcome": "denied"}).json()["entries"]
    assert [(e["actor"], e["action"]) for e in denied] == [
        ("admin", "audit.search"),
        ("admin", "audit.search"),
    ]


def test_every_admin_post_requires_the_csrf_token(client: TestClient, login: Login, world: World) -> None:
    login("admin", PASSWORD)
    yaohai = world.organisations["yaohai"].id
    clerk = world.users["yaohai.clerk"]
    html_posts = [
        "/admin/organisations",
        f"/admin/organisations/{yaohai}",
        "/admin/divisions/load",
        "/admin/users",
        f"/admin/users/{clerk}/roles",
        f"/admin/users/{clerk}/roles/revoke",
        f"/admin/users/{clerk}/password",
        "/admin/audit/verify",
        "/admin/jobs/1/retry",
    ]
    for path in html_posts:
        reply = client.post(path, data={"name": "改名了的机构", "role": "clerk", "organisation_id": yaohai})
        assert reply.status_code == 403, path
        assert "页面已过期" in reply.text, path
    api_calls = [
        ("POST", "/api/v1/organisations"),
        ("PUT", f"/api/v1/organisations/{yaohai}"),
        ("POST", "/api/v1/divisions"),
        ("POST", "/api/v1/users"),
        ("POST", f"/api/v1/users/{clerk}/roles"),
        ("DELETE", f"/api/v1/users/{clerk}/roles/clerk"),
        ("PUT", f"/api/v1/users/{clerk}/password"),
        ("POST", "/api/v1/audit/verify"),
        ("POST", "/api/v1/jobs/1/retry"),
    ]
    for method, path in api_calls:
        reply = client.request(method, path, json={"name": "改名了的机构"})
        assert reply.status_code == 403, path
        assert reply.json()["error"]["code"] == "csrf_failed", path
    assert client.get(f"/api/v1/organisations/{yaohai}").json()["name"] == "瑶海区数据资源管理局"
