"""The registry's JSON API and call-log page through the app, signed in through the real login form."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from importlib import resources
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from test_registry_world import PASSWORD, World, build_world, entity_rows, person_rows

from signin import signed_in  # type: ignore[import-not-found]
from wanshi.bootstrap import Platform
from wanshi.datahub.registry import api as registry
from wanshi.datahub.registry.web import admin_sections
from wanshi.web.app import create_app
from wanshi.web.i18n import catalogue

CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
MSGID = re.compile(r"""_\(\s*(?:"((?:[^"\\]|\\.)*)"|'((?:[^'\\]|\\.)*)')\s*\)""")
PURPOSE = "不动产登记申请身份核验"


@pytest.fixture
def world(platform: Platform) -> World:
    return build_world(platform)


class Browser:
    def __init__(self, client: TestClient) -> None:
        self.client = client
        self.csrf = ""

    def login(self, username: str) -> Browser:
        signed_in(self.client, username, PASSWORD)
        self.csrf = CSRF.findall(self.client.get("/admin").text)[0]
        return self

    def api(self, path: str, body: Any = None, *, csrf: bool = True) -> httpx.Response:
        headers = {"x-csrf-token": self.csrf} if csrf else {}
        return self.client.post(path, json=body, headers=headers)


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


def _person(platform: Platform) -> dict[str, Any]:
    return next(r for r in person_rows(platform) if r["defect"] is None)


def test_verify_person_over_the_api(platform: Platform, browser: Callable[[str], Browser]) -> None:
    person = _person(platform)
    clerk = browser("police_clerk")
    body = {"id_number": person["id_number"], "name": person["name"], "purpose": PURPOSE}
    reply = clerk.api("/api/v1/registry/persons/verify", body)
    assert reply.status_code == 200, reply.text
    answer = reply.json()
    assert (answer["result"], answer["ok"], answer["message"]) == ("match", True, "身份信息一致")
    assert answer["subject"] == person["id_number"][:4] + "*" * 10 + person["id_number"][-4:]
    assert person["id_number"] not in reply.text

    mismatch = clerk.api("/api/v1/registry/persons/verify", {**body, "name": "查无此人"}).json()
    assert mismatch["result"] == "name_mismatch"


def test_api_errors_have_stable_codes(platform: Platform, browser: Callable[[str], Browser]) -> None:
    person = _person(platform)
    body = {"id_number": person["id_number"], "name": person["name"], "purpose": PURPOSE}
    clerk = browser("police_clerk")

    no_csrf = clerk.api("/api/v1/registry/persons/verify", body, csrf=False)
    assert (no_csrf.status_code, no_csrf.json()["error"]["code"]) == (403, "csrf_failed")

    no_purpose = clerk.api("/api/v1/registry/persons/verify", {**body, "purpose": ""})
    assert (no_purpose.status_code, no_purpose.json()["error"]["code"]) == (422, "validation_failed")

    refused = clerk.api(
        "/api/v1/registry/persons/prefill",
        {"id_number": person["id_number"], "fields": ["name", "record_id"], "purpose": "户籍业务预填"},
    )
    assert refused.status_code == 422
    assert refused.json()["error"]["code"] == "registry_field_not_allowed"
    assert "record_id" in refused.json()["error"]["message"]

    invalid = clerk.api(
        "/api/v1/registry/persons/prefill",
        {"id_number": "123", "fields": ["name"], "purpose": "户籍业务预填"},
    )
    assert (invalid.status_code, invalid.json()["error"]["code"]) == (422, "registry_subject_invalid")

    other = browser("yh_clerk").api("/api/v1/registry/persons/verify", body)
    assert (other.status_code, other.json()["error"]["code"]) == (403, "permission_denied")

    anonymous = TestClient(clerk.client.app).post("/api/v1/registry/persons/verify", json=body)
    assert anonymous.status_code in (401, 403)


def test_prefill_and_enterprise_endpoints(platform: Platform, browser: Callable[[str], Browser]) -> None:
    entity = entity_rows(platform)[0]
    clerk = browser("ly_clerk")
    verified = clerk.api(
        "/api/v1/registry/enterprises/verify",
        {"credit_code": entity["credit_code"], "name": entity["name"], "purpose": "许可审批主体核验"},
    )
    assert verified.status_code == 200
    assert verified.json()["matched"] is True
    assert verified.json()["status"] == entity["status"]
    filled = clerk.api(
        "/api/v1/registry/enterprises/prefill",
        {"credit_code": entity["credit_code"], "fields": ["address"], "purpose": "许可申请预填"},
    )
    assert filled.status_code == 200
    assert filled.json()["values"] == {"address": entity["address"]}


def test_call_log_json_and_page_by_scope(platform: Platform, browser: Callable[[str], Browser]) -> None:
    person = _person(platform)
    entity = entity_rows(platform)[0]
    browser("police_clerk").api(
        "/api/v1/registry/persons/verify",
        {"id_number": person["id_number"], "name": person["name"], "purpose": PURPOSE},
    )
    browser("ly_clerk").api(
        "/api/v1/registry/enterprises/verify",
        {"credit_code": entity["credit_code"], "name": entity["name"], "purpose": "许可审批主体核验"},
    )
    auditor = browser("auditor")
    seen = auditor.client.get("/api/v1/registry/calls").json()
    assert seen["total"] == 2
    assert {c["operation"] for c in seen["items"]} == {"verify_person", "verify_enterprise"}
    assert all(person["id_number"] not in str(c) for c in seen["items"])
    only = auditor.client.get("/api/v1/registry/calls", params={"operation": "verify_person"}).json()
    assert [c["operation"] for c in only["items"]] == ["verify_person"]

    head = browser("police_head").client.get("/api/v1/registry/calls").json()
    assert [c["operation"] for c in head["items"]] == ["verify_person"]
    refused = browser("yh_clerk").client.get("/api/v1/registry/calls")
    assert refused.status_code == 403

    page = auditor.client.get("/admin/registry/calls")
    assert page.status_code == 200
    assert "基础库调用日志" in page.text
    assert person["id_number"][:4] + "**********" + person["id_number"][-4:] in page.text
    assert person["id_number"] not in page.text
    assert "<caption>" in page.text
    assert 'scope="col"' in page.text
    bad = auditor.client.get("/admin/registry/calls", params={"since": "not-a-date"})
    assert bad.status_code == 422
    assert browser("yh_clerk").client.get("/admin/registry/calls").status_code == 403


def test_index_and_grants_over_the_api(
    platform: Platform, world: World, browser: Callable[[str], Browser]
) -> None:
    admin = browser("prov_admin")
    indexes = admin.client.get("/api/v1/registry/index").json()
    assert {i["kind"]: i["stale"] for i in indexes} == {"person": False, "enterprise": False}
    granted = admin.client.put(
        f"/api/v1/registry/grants/{world.org_id('yaohai')}",
        json={"operations": ["verify_enterprise"], "note": "皖数资〔2026〕12号"},
        headers={"x-csrf-token": admin.csrf},
    )
    assert granted.status_code == 200, granted.text
    assert granted.json()["operations"] == ["verify_enterprise"]
    assert len(admin.client.get("/api/v1/registry/grants").json()) == 3
    removed = admin.client.delete(
        f"/api/v1/registry/grants/{world.org_id('yaohai')}", headers={"x-csrf-token": admin.csrf}
    )
    assert removed.status_code == 204
    head = browser("ly_head")
    refused = head.client.put(
        f"/api/v1/registry/grants/{world.org_id('luyang')}",
        json={"operations": ["verify_person"]},
        headers={"x-csrf-token": head.csrf},
    )
    assert refused.status_code == 403


def test_openapi_lists_the_registry_endpoints(platform: Platform, browser: Callable[[str], Browser]) -> None:
    spec = browser("auditor").client.get("/api/openapi.json").json()
    for path in (
        "/api/v1/registry/persons/verify",
        "/api/v1/registry/enterprises/verify",
        "/api/v1/registry/persons/prefill",
        "/api/v1/registry/enterprises/prefill",
        "/api/v1/registry/calls",
    ):
        assert path in spec["paths"]


def test_every_registry_message_has_an_english_translation() -> None:
    template = (
        resources.files("wanshi.datahub.registry") / "templates" / "registry" / "calls.html"
    ).read_text(encoding="utf-8")
    texts = {double or single for double, single in MSGID.findall(template)}
    texts |= {o.label for o in registry.Operation} | {r.label for r in registry.Result}
    texts |= (
        {k.label for k in registry.Kind}
        | {s.label for s in admin_sections}
        | {s.description for s in admin_sections}
    )
    assert sorted(texts - set(catalogue("en"))) == []


def test_the_page_renders_in_english(platform: Platform, browser: Callable[[str], Browser]) -> None:
    auditor = browser("auditor")
    auditor.client.get("/lang/en?next=/admin")
    page = auditor.client.get("/admin/registry/calls").text
    assert "Base registry call log" in page
    assert "Population registry" in page
