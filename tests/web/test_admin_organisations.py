"""Organisations and divisions in the admin area: pages and API over the same services."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from admin_world import PASSWORD, World, build_world  # type: ignore[import-not-found]
from fastapi.testclient import TestClient
from webtools import csrf_from  # type: ignore[import-not-found]

from wanshi.bootstrap import Platform
from wanshi.org import api as org

Login = Callable[[str, str], None]


@pytest.fixture
def world(platform: Platform, login: Login) -> World:
    built = build_world(platform)
    login("admin", PASSWORD)
    return built


@pytest.mark.usefixtures("world")
def test_list_filters_by_division_subtree_and_searches(client: TestClient) -> None:
    everything = client.get("/admin/organisations")
    assert everything.status_code == 200
    assert "共 3 个组织" in everything.text
    assert '<option value="340102"' in everything.text
    hefei = client.get("/admin/organisations", params={"division": "340100"})
    assert "瑶海区数据资源管理局" in hefei.text
    assert "庐阳区数据资源管理局" in hefei.text
    assert "安徽省数据资源管理局" not in hefei.text
    found = client.get("/admin/organisations", params={"q": "庐阳"})
    assert "共 1 个组织" in found.text
    assert "瑶海区数据资源管理局" not in found.text


@pytest.mark.usefixtures("world")
def test_create_then_edit_an_organisation_through_the_forms(client: TestClient) -> None:
    form = client.get("/admin/organisations/new")
    assert form.status_code == 200
    assert 'for="f-division_code"' in form.text
    created = client.post(
        "/admin/organisations",
        data={
            "csrf_token": csrf_from(form.text),
            "name": "瑶海区政务服务中心",
            "short_name": "瑶海政务中心",
            "kind": "service_centre",
            "division_code": "340102",
        },
        follow_redirects=False,
    )
    assert created.status_code == 303
    page = client.get(created.headers["location"])
    assert "已保存" in page.text
    assert "政务服务中心" in page.text
    edited = client.post(
        created.headers["location"].split("?")[0],
        data={"csrf_token": csrf_from(page.text), "name": "瑶海区政务服务中心", "short_name": "瑶海中心"},
        follow_redirects=True,
    )
    assert 'value="瑶海中心"' in edited.text
    assert "checked" not in edited.text.split('name="active"')[1].split(">")[0]  # unticked: deactivated
    listing = client.get("/admin/organisations", params={"q": "政务服务中心"}).text
    assert "停用" in listing


@pytest.mark.usefixtures("world")
def test_form_errors_are_shown_next_to_the_fields(client: TestClient) -> None:
    token = csrf_from(client.get("/admin/organisations/new").text)
    short = client.post(
        "/admin/organisations",
        data={"csrf_token": token, "name": "x", "kind": "department", "division_code": "340102"},
    )
    assert short.status_code == 422
    assert 'id="f-name-error"' in short.text
    assert 'aria-invalid="true"' in short.text
    assert 'value="x"' in short.text
    no_division = client.post(
        "/admin/organisations", data={"csrf_token": token, "name": "某某局", "kind": "department"}
    )
    assert no_division.status_code == 422
    assert 'id="f-division_code-error"' in no_division.text
    duplicate = client.post(
        "/admin/organisations",
        data={
            "csrf_token": token,
            "name": "瑶海区数据资源管理局",
            "kind": "department",
            "division_code": "340102",
        },
    )
    assert duplicate.status_code == 409
    assert "已有名为" in duplicate.text


def test_organisations_api(client: TestClient, world: World) -> None:
    token = csrf_from(client.get("/admin").text)
    headers = {"X-CSRF-Token": token}
    listed = client.get("/api/v1/organisations", params={"division_code": "340100", "limit": 1}).json()
    assert listed["total"] == 2
    assert len(listed["items"]) == 1
    created = client.post(
        "/api/v1/organisations",
        json={"name": "庐阳区政务服务中心", "kind": "service_centre", "division_code": "340103"},
        headers=headers,
    )
    assert created.status_code == 201
    body = created.json()
    assert (body["kind"], body["division_code"], body["active"]) == ("service_centre", "340103", True)
    changed = client.put(
        f"/api/v1/organisations/{body['id']}",
        json={"name": "庐阳区政务服务中心", "short_name": "庐阳中心", "active": False},
        headers=headers,
    ).json()
    assert (changed["short_name"], changed["active"]) == ("庐阳中心", False)
    assert client.get(f"/api/v1/organisations/{body['id']}").json() == changed
    invalid = client.post("/api/v1/organisations", json={"name": "x", "division_code": "34"}, headers=headers)
    assert invalid.status_code == 422
    fields = {f["field"] for f in invalid.json()["error"]["details"]["fields"]}
    assert fields == {"name", "division_code"}
    spec = client.get("/api/openapi.json").json()
    assert "OrganisationOut" in spec["components"]["schemas"]
    assert world.organisations["prov"].id in {
        o["id"] for o in client.get("/api/v1/organisations").json()["items"]
    }


@pytest.mark.usefixtures("world")
def test_browse_the_division_tree(client: TestClient) -> None:
    top = client.get("/admin/divisions")
    assert '<a href="/admin/divisions?code=340000">安徽省</a>' in top.text
    anhui = client.get("/admin/divisions", params={"code": "340000"})
    assert '<a href="/admin/divisions?code=340100">合肥市</a>' in anhui.text
    hefei = client.get("/admin/divisions", params={"code": "340100"})
    assert "瑶海区" in hefei.text
    assert '<a href="/admin/divisions?code=340000">安徽省</a>' in hefei.text  # breadcrumb
    assert '<li aria-current="page">合肥市</li>' in hefei.text
    assert client.get("/admin/divisions", params={"code": "349999"}).status_code == 404
    children = client.get("/api/v1/divisions", params={"parent": "340100"}).json()
    assert {"code": "340102", "name": "瑶海区", "level": "county", "parent_code": "340100"} in children
    tree = client.get("/api/v1/divisions/340102").json()
    assert [d["name"] for d in tree["ancestors"]] == ["安徽省", "合肥市"]
    assert tree["children"] == []


def _renamed_table() -> str:
    return org.bundled_division_table().replace("\t340102\t瑶海区\n", "\t340102\t瑶海新区\n")


@pytest.mark.usefixtures("world")
def test_a_newer_division_table_is_loaded_by_upload(client: TestClient) -> None:
    page = client.get("/admin/divisions")
    assert "载入新版区划代码表" in page.text
    table = _renamed_table()
    assert "瑶海新区" in table
    loaded = client.post(
        "/admin/divisions/load",
        data={"csrf_token": csrf_from(page.text)},
        files={"table": ("gb2260.tsv", table.encode(), "text/tab-separated-values")},
    )
    assert loaded.status_code == 200
    assert "区划代码表已载入" in loaded.text
    assert "<strong>1</strong>变更" in loaded.text.replace("\n", "").replace(" ", "")
    assert client.get("/api/v1/divisions/340102").json()["division"]["name"] == "瑶海新区"
    broken = client.post(
        "/admin/divisions/load",
        data={"csrf_token": csrf_from(page.text)},
        files={"table": ("bad.tsv", b"Code\tName\n340000\t\xe5\xae\x89\xe5\xbe\xbd\n", "text/plain")},
    )
    assert broken.status_code == 422
    assert "区划代码表缺少列" in broken.text
    api = client.post(
        "/api/v1/divisions",
        json={"table_text": org.bundled_division_table()},
        headers={"X-CSRF-Token": csrf_from(page.text)},
    ).json()
    assert (api["changed"], api["added"], api["retired"]) == (1, 0, 0)
