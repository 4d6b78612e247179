"""Enterprise identity through the pages and the JSON API, signed in as people are."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import timedelta

import httpx
import pytest
from fastapi.testclient import TestClient

from people import PASSWORD, Enterprise, Person, load_registries, register  # type: ignore[import-not-found]
from signin import csrf, signed_in  # type: ignore[import-not-found]
from wanshi.bootstrap import Platform
from wanshi.kernel import clock
from wanshi.web.app import create_app

ZHANG, LI, WANG = Person(11, "张伟"), Person(12, "李娜"), Person(13, "王强")
WANXIN = Enterprise(11, "合肥皖新科技有限公司", "张伟")
OTHER = Enterprise(12, "芜湖长江物流有限公司", "王强")
PAGE = "/account/enterprises"
API = "/api/v1/enterprises"


@pytest.fixture
def people(platform: Platform) -> Iterator[dict[str, TestClient]]:
    """A signed-in browser for each person."""
    load_registries(platform, [ZHANG, LI, WANG], [WANXIN, OTHER])
    app = create_app(platform)
    clients = {}
    for person in (ZHANG, LI, WANG):
        register(platform, person)
        client = TestClient(app)
        client.__enter__()
        signed_in(client, person.phone, PASSWORD)
        clients[person.name] = client
    yield clients
    for client in clients.values():
        client.__exit__(None, None, None)


def token(client: TestClient) -> str:
    return csrf(client.get(PAGE).text)


def post(client: TestClient, url: str, data: dict[str, object] | None = None) -> httpx.Response:
    return client.post(url, data={**(data or {}), "csrf_token": token(client)}, follow_redirects=False)


def api(client: TestClient, method: str, url: str, body: object = None) -> httpx.Response:
    return client.request(method, url, json=body, headers={"x-csrf-token": token(client)})


def until(days: int) -> str:
    return (clock.today_in_china() + timedelta(days=days)).isoformat()


def test_pages_open_an_account_authorise_switch_and_revoke(people: dict[str, TestClient]) -> None:
    rep, agent = people["张伟"], people["李娜"]
    first = rep.get(PAGE)
    assert first.status_code == 200
    assert "正在以个人身份办事" in first.text
    assert "开通法人账号" in first.text

    opened = post(rep, PAGE, {"credit_code": WANXIN.credit_code, "name": WANXIN.name})
    assert opened.status_code == 303
    location = opened.headers["location"]
    found = re.fullmatch(rf"{PAGE}/(\d+)\?done=registered", location)
    assert found is not None
    company_id = int(found.group(1))
    page = rep.get(location).text
    assert WANXIN.name in page
    assert WANXIN.credit_code in page
    assert "法人账号已开通" in page
    assert "尚未授权经办人" in page

    refused = post(
        rep,
        f"{PAGE}/{company_id}/agents",
        {
            "agent_name": LI.name,
            "agent_id_number": LI.id_number,
            "scopes": ["apply", "manage_agents"],
            "valid_until": until(30),
        },
    )
    assert refused.status_code == 422
    assert "以下权限不能授权给经办人：manage_agents" in refused.text
    assert f'value="{LI.id_number}"' in refused.text

    granted = post(
        rep,
        f"{PAGE}/{company_id}/agents",
        {
            "agent_name": LI.name,
            "agent_id_number": LI.id_number,
            "scopes": ["apply", "pay"],
            "valid_until": until(30),
        },
    )
    assert granted.status_code == 303
    listed = rep.get(f"{PAGE}/{company_id}").text
    assert "李娜" in listed
    assert LI.id_number not in listed
    assert "有效" in listed
    row = re.search(r'data-delegation="(\d+)"', listed)
    assert row is not None
    delegation_id = int(row.group(1))

    mine = agent.get(PAGE).text
    assert WANXIN.name in mine
    assert "经办人" in mine
    assert post(agent, f"{PAGE}/{company_id}/switch").status_code == 303
    assert "正在以企业身份办事" in agent.get(PAGE).text
    now = agent.get(API).json()
    assert (now["acting_for"], now["acting_scopes"]) == (company_id, ["apply", "pay"])
    # An agent sees the company but not its other delegations and has no agent management.
    own = agent.get(f"{PAGE}/{company_id}")
    assert own.status_code == 200
    assert "授权经办人" not in own.text

    revoked = post(rep, f"{PAGE}/{company_id}/agents/{delegation_id}/revoke")
    assert revoked.status_code == 303
    assert "已撤销" in rep.get(f"{PAGE}/{company_id}").text
    after = agent.get(PAGE)
    assert after.status_code == 200
    assert "正在以个人身份办事" in after.text
    assert agent.get(API).json() == {"acting_for": None, "acting_scopes": [], "enterprises": []}
    assert agent.get(f"{PAGE}/{company_id}").status_code == 403


def test_the_json_api_and_who_may_use_it(people: dict[str, TestClient], platform: Platform) -> None:
    rep, agent, other = people["张伟"], people["李娜"], people["王强"]
    mismatch = api(other, "POST", API, {"credit_code": WANXIN.credit_code, "name": WANXIN.name})
    assert mismatch.status_code == 422
    assert mismatch.json()["error"]["code"] == "enterprise_legal_rep_mismatch"

    created = api(rep, "POST", API, {"credit_code": WANXIN.credit_code, "name": WANXIN.name})
    assert created.status_code == 201
    company = created.json()
    assert (company["credit_code"], company["assurance"]) == (WANXIN.credit_code, "real_name")
    cid = company["id"]

    body = {
        "agent_id_number": LI.id_number,
        "agent_name": LI.name,
        "scopes": ["view"],
        "valid_until": until(10),
    }
    given = api(rep, "POST", f"{API}/{cid}/delegations", body)
    assert given.status_code == 201
    delegation = given.json()
    assert (delegation["status"], delegation["scopes"], delegation["last_day"]) == (
        "active",
        ["view"],
        until(10),
    )
    assert LI.id_number not in delegation["agent_id_number"]
    assert [d["id"] for d in rep.get(f"{API}/{cid}/delegations").json()] == [delegation["id"]]

    # Without the CSRF header a cookie-authenticated change is refused.
    assert rep.post(f"{API}/{cid}/act").status_code == 403
    # Another citizen sees nothing of the company; the agent does not see its delegations.
    assert other.get(f"{API}/{cid}").status_code == 403
    assert other.get(f"{API}/{cid}/delegations").status_code == 403
    assert api(other, "POST", f"{API}/{cid}/act").status_code == 403
    assert agent.get(f"{API}/{cid}/delegations").status_code == 403
    assert api(agent, "POST", f"{API}/{cid}/delegations", body).status_code == 403
    with TestClient(create_app(platform)) as anonymous:
        assert anonymous.get(API).status_code == 401

    acting = api(agent, "POST", f"{API}/{cid}/act")
    assert acting.status_code == 200
    assert (acting.json()["role"], acting.json()["scopes"]) == ("agent", ["view"])
    assert agent.get(API).json()["acting_for"] == cid
    assert api(agent, "POST", f"{API}/act-as-self").status_code == 204
    assert agent.get(API).json()["acting_for"] is None

    gone = api(rep, "POST", f"{API}/{cid}/delegations/{delegation['id']}/revoke")
    assert gone.json()["status"] == "revoked"
    assert api(agent, "POST", f"{API}/{cid}/act").status_code == 403


def test_the_pages_speak_english(people: dict[str, TestClient]) -> None:
    rep = people["张伟"]
    rep.get(f"/lang/en?next={PAGE}")
    page = rep.get(PAGE).text
    assert "Enterprise identity" in page
    assert "Open a legal person&#39;s account" in page or "Open a legal person's account" in page
    assert "开通法人账号" not in page
