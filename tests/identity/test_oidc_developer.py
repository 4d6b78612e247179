"""The developer area (统一开发平台) and the account's authorised applications, through pages and the API."""

from __future__ import annotations

import re
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from signin import csrf, signed_in  # type: ignore[import-not-found]
from wanshi.bootstrap import Platform
from wanshi.identity.api import CreateStaffUser
from wanshi.identity.tables.oidc import oidc_client
from wanshi.infra.crypto import token_digest
from wanshi.kernel.actor import SYSTEM, Role
from wanshi.org import api as org
from wanshi.web.app import create_app

PASSWORD = "Anhui#2026pass"
SECRET = re.compile(r'data-testid="client-secret">([^<]+)<')
CLIENT_ID = re.compile(r'data-testid="client-id">([^<]+)<')


@pytest.fixture
def units(platform: Platform) -> dict[str, org.Organisation]:
    with platform.uow() as uow:
        org.load_divisions(uow, org.LoadDivisions(table_text=org.bundled_division_table()), SYSTEM)
    made = {}
    for key, name, division in [
        ("hefei", "合肥市政务服务管理局", "340100"),
        ("wuhu", "芜湖市政务服务管理局", "340200"),
    ]:
        with platform.uow() as uow:
            made[key] = org.create_organisation(
                uow, org.CreateOrganisation(name=name, division_code=division), SYSTEM
            )
    for username, unit, role in [
        ("hf.admin", made["hefei"], Role.ORG_ADMIN),
        ("wh.admin", made["wuhu"], Role.ORG_ADMIN),
        ("hf.clerk", made["hefei"], Role.CLERK),
    ]:
        with platform.uow() as uow:
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
    return made


@pytest.fixture
def app(platform: Platform) -> Any:
    return create_app(platform)


def _browser(app: Any, username: str) -> TestClient:
    client = TestClient(app, follow_redirects=False)
    signed_in(client, username, PASSWORD)
    return client


def _register(client: TestClient, unit: org.Organisation, **fields: Any) -> Any:
    page = client.get("/developer/clients/new")
    assert page.status_code == 200
    data = {
        "csrf_token": csrf(page.text),
        "name": "合肥市不动产登记系统",
        "organisation_id": str(unit.id),
        "client_type": "confidential",
        "redirect_uris": "https://bdc.hefei.gov.cn/callback\nhttps://bdc.hefei.gov.cn/callback2",
        "post_logout_redirect_uris": "https://bdc.hefei.gov.cn/bye",
        "scopes": ["profile", "org"],
        **fields,
    }
    return client.post("/developer/clients", data=data)


def test_register_shows_the_secret_once_and_stores_a_digest(
    platform: Platform, app: Any, units: dict[str, org.Organisation]
) -> None:
    with _browser(app, "hf.admin") as client:
        reply = _register(client, units["hefei"])
        assert reply.status_code == 200
        assert reply.headers["cache-control"] == "no-store"
        secret = SECRET.search(reply.text)
        client_id = CLIENT_ID.search(reply.text)
        assert secret is not None
        assert client_id is not None
        again = client.get(f"/developer/clients/{client_id.group(1)}")
        assert again.status_code == 200
        assert secret.group(1) not in again.text
        assert "合肥市不动产登记系统" in client.get("/developer").text
        rotated = client.post(
            f"/developer/clients/{client_id.group(1)}/secret", data={"csrf_token": csrf(again.text)}
        )
        new_secret = SECRET.search(rotated.text)
    assert new_secret is not None
    assert new_secret.group(1) != secret.group(1)
    with platform.uow() as uow:
        row = uow.session.execute(select(oidc_client)).one()
    assert row.secret_digest == token_digest(new_secret.group(1))
    assert row.redirect_uris == ["https://bdc.hefei.gov.cn/callback", "https://bdc.hefei.gov.cn/callback2"]
    assert row.allowed_scopes == "openid profile org"


def test_bad_redirect_uri_is_shown_beside_the_field(app: Any, units: dict[str, org.Organisation]) -> None:
    with _browser(app, "hf.admin") as client:
        reply = _register(client, units["hefei"], redirect_uris="http://bdc.hefei.gov.cn/callback")
    assert reply.status_code == 422
    assert "须使用 https" in reply.text
    assert 'id="redirect-error"' in reply.text


def test_only_an_org_admin_registers_and_only_for_their_organisation(
    app: Any, units: dict[str, org.Organisation]
) -> None:
    with _browser(app, "hf.clerk") as client:
        assert client.get("/developer/clients/new").status_code == 403
        assert client.get("/developer").status_code == 403
    with _browser(app, "hf.admin") as client:
        foreign = _register(client, units["wuhu"])
    assert foreign.status_code == 403


def test_json_api_and_tenancy(app: Any, units: dict[str, org.Organisation]) -> None:
    with _browser(app, "hf.admin") as client:
        token = csrf(client.get("/developer").text)
        created = client.post(
            "/api/v1/oidc-clients",
            json={
                "organisation_id": units["hefei"].id,
                "name": "合肥市公积金系统",
                "client_type": "public",
                "redirect_uris": ["https://gjj.hefei.gov.cn/cb"],
                "scopes": ["openid", "phone"],
            },
            headers={"x-csrf-token": token},
        )
        assert created.status_code == 201, created.text
        body = created.json()
        assert body["client_secret"] is None  # a public client has none
        assert body["scopes"] == ["openid", "phone"]
        listed = client.get("/api/v1/oidc-clients").json()
        assert [c["client_id"] for c in listed["items"]] == [body["client_id"]]
        no_secret = client.post(
            f"/api/v1/oidc-clients/{body['client_id']}/secret", headers={"x-csrf-token": token}
        )
        assert no_secret.status_code == 409
    with _browser(app, "wh.admin") as other:
        assert other.get("/api/v1/oidc-clients").json()["total"] == 0
        token = csrf(other.get("/developer").text)
        assert other.get(f"/api/v1/oidc-clients/{body['client_id']}").status_code == 403
        refused = other.post(
            f"/api/v1/oidc-clients/{body['client_id']}/disable", headers={"x-csrf-token": token}
        )
        assert refused.status_code == 403


def test_account_apps_requires_sign_in(app: Any) -> None:
    with TestClient(app, follow_redirects=False) as anonymous:
        reply = anonymous.get("/account/apps")
    assert reply.status_code == 303
    assert reply.headers["location"].startswith("/login")
