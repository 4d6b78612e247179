"""The catalogue pages and JSON API through the app, signed in through the real login form."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from test_catalogue_world import NOW, PASSWORD, World, build_world, register

from signin import signed_in  # type: ignore[import-not-found]
from wanshi.bootstrap import Platform
from wanshi.kernel import clock
from wanshi.web.app import create_app

CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@pytest.fixture
def world(platform: Platform) -> Iterator[World]:
    previous = clock.set_clock(lambda: NOW)
    yield build_world(platform)
    clock.set_clock(previous)


class Browser:
    def __init__(self, client: TestClient) -> None:
        self.client = client
        self.csrf = ""

    def login(self, username: str) -> Browser:
        signed_in(self.client, username, PASSWORD)
        self.csrf = CSRF.findall(self.client.get("/admin/catalogue/new").text)[0]
        return self

    def form(self, path: str, **data: Any) -> httpx.Response:
        return self.client.post(path, data={"csrf_token": self.csrf, **data}, follow_redirects=False)

    def api(self, path: str, body: Any = None) -> httpx.Response:
        return self.client.post(path, json=body, headers={"x-csrf-token": self.csrf})


@pytest.fixture
def browser(platform: Platform, world: World) -> Iterator[Callable[[str], Browser]]:
    app = create_app(platform)
    clients: list[TestClient] = []

    def open_as(username: str) -> Browser:
        client = TestClient(app)
        client.__enter__()
        clients.append(client)
        return Browser(client).login(username)

    yield open_as
    for client in clients:
        client.__exit__(None, None, None)


def _register_form(world: World, **changes: str) -> dict[str, str]:
    data = {
        "code": "331007001/000001",
        "provider_organisation_id": str(world.org_id("yaohai")),
        "name": "市场主体登记信息",
        "summary": "辖区内市场主体的登记信息",
        "format": "数据库",
        "items-0-name": "uscc",
        "items-0-label": "统一社会信用代码",
        "items-0-data_type": "string",
        "items-0-length": "18",
        "items-0-required": "on",
        "items-0-grade": "internal",
        "items-0-scale": "",
        "items-1-name": "capital",
        "items-1-label": "注册资本（万元）",
        "items-1-data_type": "decimal",
        "items-1-length": "",
        "items-1-scale": "4",
        "items-1-grade": "public",
        "items-2-name": "",
        "items-2-label": "",
        "items-2-data_type": "string",
        "items-2-length": "",
        "items-2-scale": "",
        "items-2-grade": "internal",
        "share_type": "conditional",
        "share_conditions": "仅向市场监管部门共享",
        "share_basis": "",
        "share_method": "接口调用",
        "open_type": "none",
        "open_conditions": "",
        "update_cycle": "daily",
        "release_date": "",
        "related_codes": "",
    }
    return {**data, **changes}


def test_register_mount_submit_through_the_forms_and_publish_through_the_api(
    world: World, browser: Callable[[str], Browser]
) -> None:
    clerk = browser("yh_clerk")
    page = clerk.client.get("/admin/catalogue")
    assert page.status_code == 200
    assert "数据资源目录" in page.text
    refused = clerk.form("/admin/catalogue/new", **_register_form(world, share_conditions=""))
    assert refused.status_code == 422
    assert "请填写共享条件" in refused.text
    bad_code = clerk.form("/admin/catalogue/new", **_register_form(world, code="12345/1"))
    assert bad_code.status_code == 422
    assert "资源代码" in bad_code.text
    too_many = clerk.form("/admin/catalogue/new", **_register_form(world, **{"items-1-scale": "19"}))
    assert too_many.status_code == 422
    assert "第 2 个信息项的小数位数须在 0–18 之间" in too_many.text
    not_decimal = clerk.form("/admin/catalogue/new", **_register_form(world, **{"items-0-scale": "2"}))
    assert not_decimal.status_code == 422
    assert "第 1 个信息项不是数值型，不能填写小数位数" in not_decimal.text
    not_a_number = clerk.form("/admin/catalogue/new", **_register_form(world, **{"items-1-scale": "四"}))
    assert not_a_number.status_code == 422
    assert "须为整数" in not_a_number.text
    assert 'value="四"' in not_a_number.text  # kept in the form to be corrected
    done = clerk.form("/admin/catalogue/new", **_register_form(world))
    assert done.status_code == 303, done.text
    location = done.headers["location"].split("?")[0]
    resource_id = int(location.rsplit("/", 1)[1])
    detail = clerk.client.get(location)
    assert detail.status_code == 200
    assert "统一社会信用代码" in detail.text
    assert 'name="csrf_token"' in detail.text
    edit = clerk.client.get(f"{location}/edit")
    assert edit.status_code == 200
    assert 'value="uscc"' in edit.text
    assert 'name="items-1-scale" value="4"' in edit.text
    assert "小数位数" in detail.text
    secret = clerk.form(
        f"{location}/mount", kind="database", url="postgresql://u:pw@db/market", query="select 1"
    )
    assert secret.status_code == 422
    assert "密码" in secret.text
    assert clerk.form(f"{location}/mount", kind="dataset", dataset="market_entity").status_code == 303
    assert clerk.form(f"{location}/submit", note="请审核").status_code == 303
    # A sibling county does not learn that the draft exists.
    assert browser("ly_clerk").client.get(location).status_code == 404
    bureau = browser("prov_admin")
    assert "发布" in bureau.client.get(location).text
    published = bureau.api(f"/api/v1/catalogue/{resource_id}/review", {"publish": True, "note": "同意"})
    assert published.status_code == 200, published.text
    body = published.json()
    assert body["resource"]["state"] == "published"
    assert [h["kind"] for h in body["history"]][-1] == "published"
    found = clerk.client.get("/api/v1/catalogue", params={"q": "市场主体"}).json()
    assert [i["code"] for i in found["items"]] == ["331007001/000001"]
    schema = clerk.client.get("/api/v1/catalogue/schema", params={"code": "331007001/000001"}).json()
    assert schema["fields"] == [
        {
            "name": "uscc",
            "label": "统一社会信用代码",
            "type": "string",
            "required": True,
            "max_length": 18,
            "scale": None,
        },
        {
            "name": "capital",
            "label": "注册资本（万元）",
            "type": "decimal",
            "required": False,
            "max_length": None,
            "scale": 4,
        },
    ]
    items = clerk.client.get(f"/api/v1/catalogue/{resource_id}").json()["published"]["metadata"]["items"]
    assert [i["scale"] for i in items] == [None, 4]


def test_api_versions_diff_and_errors(
    world: World, platform: Platform, browser: Callable[[str], Browser]
) -> None:
    r = register(platform, world, "yh_clerk", "yaohai", "331007001/000001")
    clerk = browser("yh_clerk")
    assert clerk.api(f"/api/v1/catalogue/{r.id}/submit", {}).status_code == 409
    mounted = clerk.api(
        f"/api/v1/catalogue/{r.id}/mount", {"kind": "http", "url": "https://api.gov.cn/m?token=x"}
    )
    assert mounted.status_code == 422
    assert mounted.json()["error"]["code"] == "catalogue_mount_secret_in_clear"
    assert (
        clerk.api(f"/api/v1/catalogue/{r.id}/mount", {"kind": "dataset", "dataset": "m"}).status_code == 200
    )
    assert clerk.api(f"/api/v1/catalogue/{r.id}/submit", {}).status_code == 200
    assert clerk.api(f"/api/v1/catalogue/{r.id}/review", {"publish": True}).status_code == 403
    city = browser("city_admin")
    assert city.api(f"/api/v1/catalogue/{r.id}/review", {"publish": True}).status_code == 200
    assert clerk.api(f"/api/v1/catalogue/{r.id}/versions", {}).status_code == 201
    current = clerk.client.get(f"/api/v1/catalogue/{r.id}").json()["working"]["metadata"]
    changed = {**current, "name": "市场主体登记信息（新）", "items": current["items"][:2]}
    updated = clerk.client.put(
        f"/api/v1/catalogue/{r.id}", json=changed, headers={"x-csrf-token": clerk.csrf}
    )
    assert updated.status_code == 200, updated.text
    pending = updated.json()["pending_diff"]
    assert [c["key"] for c in pending["metadata"]] == ["name"]
    assert [i["name"] for i in pending["items_removed"]] == ["founded_on", "capital"]
    page = clerk.client.get(f"/admin/catalogue/{r.id}")
    assert "与已发布版本的差异" in page.text
    assert "founded_on" in page.text
    assert clerk.api(f"/api/v1/catalogue/{r.id}/submit", {}).status_code == 200
    assert city.api(f"/api/v1/catalogue/{r.id}/review", {"publish": True}).status_code == 200
    diff = clerk.client.get(f"/api/v1/catalogue/{r.id}/diff", params={"from": 1, "to": 2}).json()
    assert [c["key"] for c in diff["metadata"]] == ["name"]
    assert clerk.client.get(f"/admin/catalogue/{r.id}/diff?from=1&to=2").status_code == 200
    no_csrf = clerk.client.post(f"/api/v1/catalogue/{r.id}/withdraw", json={"reason": "停止"})
    assert no_csrf.status_code == 403
    withdrawn = city.api(f"/api/v1/catalogue/{r.id}/withdraw", {"reason": "停止采集"})
    assert withdrawn.json()["resource"]["state"] == "withdrawn"
    body = {
        "code": "205003/000120",
        "provider_organisation_id": world.org_id("yaohai"),
        "name": "营商环境主题库",
        "summary": "营商环境指标",
        "format": "接口",
        "items": [{"name": "indicator", "label": "指标", "length": 50}],
        "share_type": "none",
        "update_cycle": "monthly",
    }
    refused = clerk.api("/api/v1/catalogue", body)
    assert refused.status_code == 422
    assert refused.json()["error"]["code"] == "catalogue_share_basis_required"
    created = clerk.api("/api/v1/catalogue", {**body, "share_basis": "《数据安全法》"})
    assert created.status_code == 201, created.text
    assert created.json()["resource"]["classification"] == "2-05-003"


def test_excel_export_and_import_pages(
    world: World, platform: Platform, browser: Callable[[str], Browser]
) -> None:
    register(platform, world, "yh_clerk", "yaohai", "331007001/000001")
    bureau = browser("prov_admin")
    exported = bureau.client.get("/admin/catalogue/export.xlsx")
    assert exported.status_code == 200
    assert exported.headers["content-type"] == XLSX
    assert bureau.client.get("/admin/catalogue/import").status_code == 200
    again = bureau.client.post(
        "/admin/catalogue/import",
        data={"csrf_token": bureau.csrf},
        files={"file": ("catalogue.xlsx", exported.content, XLSX)},
    )
    assert again.status_code == 200, again.text
    assert "未变 1 个" in again.text
    broken = bureau.client.post(
        "/admin/catalogue/import",
        data={"csrf_token": bureau.csrf},
        files={"file": ("catalogue.xlsx", b"nonsense", XLSX)},
    )
    assert broken.status_code == 422
    assert "catalogue_import_not_xlsx" in broken.text
    api = bureau.client.post(
        "/api/v1/catalogue/import",
        files={"file": ("catalogue.xlsx", exported.content, XLSX)},
        headers={"x-csrf-token": bureau.csrf},
    ).json()
    assert (api["ok"], api["unchanged"]) == (True, 1)
    admin = bureau.client.get("/admin")
    assert "/admin/catalogue" in admin.text
