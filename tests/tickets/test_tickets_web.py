"""The tickets pages and JSON API, through the app with the platform's middleware and error handlers."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from datetime import datetime

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from tickets_world import PASSWORD, World

from signin import signed_in  # type: ignore[import-not-found]
from wanshi.bootstrap import Platform
from wanshi.kernel.actor import Actor
from wanshi.org import api as org
from wanshi.tickets import api as tickets
from wanshi.web.app import create_app

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


@pytest.fixture
def app(ticket_platform: Platform) -> FastAPI:
    return create_app(ticket_platform)


class Browser:
    def __init__(self, client: TestClient) -> None:
        self.client = client
        self.csrf = ""

    def login(self, username: str) -> Browser:
        signed_in(self.client, username, PASSWORD)
        self.csrf = CSRF.findall(self.client.get("/tickets").text)[0]
        return self

    def form(self, path: str, **data: object) -> object:
        return self.client.post(path, data={"csrf_token": self.csrf, **data}, follow_redirects=False)

    def api(self, path: str, body: object = None) -> object:
        return self.client.post(path, json=body, headers={"x-csrf-token": self.csrf})


@pytest.fixture
def browser(app: FastAPI) -> Iterator[Callable[[str], Browser]]:
    clients: list[TestClient] = []

    def open_as(username: str) -> Browser:
        client = TestClient(app)
        client.__enter__()
        clients.append(client)
        return Browser(client).login(username)

    yield open_as
    for client in clients:
        client.__exit__(None, None, None)


def browser_multipart(fields: dict[str, str], files: list[tuple[str, str, bytes]]) -> tuple[bytes, str]:
    """multipart/form-data as browsers write it; unlike httpx, they send filename="" for an empty input."""
    boundary = "wanshi-test-boundary"
    parts = [
        f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode()
        for name, value in fields.items()
    ]
    for name, filename, content in files:
        head = (
            f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"; filename="{filename}"\r\n'
            "Content-Type: application/octet-stream\r\n\r\n"
        )
        parts.append(head.encode() + content + b"\r\n")
    return b"".join(parts) + f"--{boundary}--\r\n".encode(), f"multipart/form-data; boundary={boundary}"


def open_for(platform: Platform, actor: Actor, organisation: org.Organisation, title: str) -> tickets.Ticket:
    with platform.uow() as uow:
        return tickets.open_ticket(
            uow, tickets.OpenTicket(organisation_id=organisation.id, title=title), actor
        )


def test_list_page_with_filters_overdue_marker_and_chart(
    ticket_platform: Platform, world: World, frozen_clock: list[datetime], browser: Callable[[str], Browser]
) -> None:
    late = open_for(ticket_platform, world["hf_clerk"], world.yaohai, "老旧小区路灯不亮")
    frozen_clock[0] = frozen_clock[0].replace(day=12)
    fresh = open_for(ticket_platform, world["hf_clerk"], world.luyang, "井盖缺失")
    page = browser("hf_super").client.get("/tickets")
    assert page.status_code == 200
    text = page.text
    assert late.number in text
    assert fresh.number in text
    assert text.count('class="badge bad"') == 1
    assert text.count('<div class="bar') == len(tickets.TicketState)
    assert text.count('<span class="w-100">') == 1  # every ticket is open
    assert '<th scope="col">' in text
    assert 'action="/tickets" class="filters"' in text

    overdue_only = browser("hf_super").client.get("/tickets?overdue=1&state=nonsense").text
    assert late.number in overdue_only
    assert fresh.number not in overdue_only


def test_a_sibling_county_sees_nothing_in_pages_or_api(
    ticket_platform: Platform, world: World, browser: Callable[[str], Browser]
) -> None:
    theirs = open_for(ticket_platform, world["hf_clerk"], world.yaohai, "瑶海的事")
    mine = open_for(ticket_platform, world["hf_clerk"], world.luyang, "庐阳的事")
    luyang = browser("ly_clerk")
    listing = luyang.client.get("/tickets").text
    assert mine.number in listing
    assert theirs.number not in listing
    assert luyang.client.get(f"/tickets/{theirs.number}").status_code == 404
    assert luyang.form(f"/tickets/{theirs.number}/start").status_code == 404

    api = luyang.client.get("/api/v1/tickets").json()
    assert [t["number"] for t in api["items"]] == [mine.number]
    assert luyang.client.get("/api/v1/tickets/statistics").json()["total"] == 1
    missing = luyang.client.get(f"/api/v1/tickets/{theirs.number}")
    assert (missing.status_code, missing.json()["error"]["code"]) == (404, "ticket_not_found")
    refused = luyang.api(f"/api/v1/tickets/{theirs.number}/start")
    assert refused.status_code == 404


def test_working_a_ticket_through_the_forms(
    ticket_platform: Platform, world: World, browser: Callable[[str], Browser]
) -> None:
    creator = browser("hf_clerk")
    created = creator.form(
        "/tickets", organisation_id=world.yaohai.id, title="路灯不亮", category="general", priority="urgent"
    )
    assert created.status_code == 303
    number = created.headers["location"].split("/")[2].split("?")[0]
    assert tickets.is_ticket_number(number)

    clerk = browser("yh_clerk")
    detail = clerk.client.get(f"/tickets/{number}").text
    assert f'action="/tickets/{number}/start"' in detail
    assert f'action="/tickets/{number}/resolve"' not in detail
    assert clerk.form(f"/tickets/{number}/start").status_code == 303
    detail = clerk.client.get(f"/tickets/{number}?done=start").text
    assert 'enctype="multipart/form-data"' in detail
    assert "操作已完成" in detail

    refused = clerk.form(f"/tickets/{number}/transfer", organisation_id=world.yaohai_urban.id, reason="")
    assert refused.status_code == 422
    assert "请填写转办理由" in refused.text

    # As a browser sends it: the second file input was left empty.
    body, content_type = browser_multipart(
        {"csrf_token": clerk.csrf, "note": "已更换灯泡"},
        [("evidence", "验收单.pdf", PDF), ("evidence", "", b"")],
    )
    resolved = clerk.client.post(
        f"/tickets/{number}/resolve",
        content=body,
        headers={"content-type": content_type},
        follow_redirects=False,
    )
    assert resolved.status_code == 303, resolved.text
    detail = creator.client.get(f"/tickets/{number}").text
    link = re.search(rf'href="(/tickets/{number}/files/\d+)">验收单.pdf<', detail)
    assert link is not None
    download = creator.client.get(link.group(1))
    assert (download.status_code, download.content) == (200, PDF)
    assert "UTF-8''%E9%AA%8C" in download.headers["content-disposition"]
    assert browser("ly_clerk").client.get(link.group(1)).status_code == 404

    assert creator.form(f"/tickets/{number}/reopen", reason="").status_code == 422
    assert creator.form(f"/tickets/{number}/close", note="满意").status_code == 303
    closed = creator.client.get(f"/tickets/{number}").text
    assert "已关闭" in closed
    # Closed is final: only a note can still be added.
    assert re.findall(rf'action="/tickets/{number}/(\w+)"', closed) == ["comment"]
    assert creator.form(f"/tickets/{number}/close").status_code == 409


def test_the_json_api(ticket_platform: Platform, world: World, browser: Callable[[str], Browser]) -> None:
    creator = browser("hf_clerk")
    opened = creator.api("/api/v1/tickets", {"organisation_id": world.yaohai.id, "title": "井盖缺失"})
    assert opened.status_code == 201, opened.text
    body = opened.json()
    number = body["ticket"]["number"]
    assert body["ticket"]["state"] == "open"
    assert body["ticket"]["organisation_name"] == "瑶海区数据资源局"
    assert body["history"][0]["kind"] == "opened"

    clerk = browser("yh_clerk")
    assert clerk.api(f"/api/v1/tickets/{number}/start").json()["ticket"]["state"] == "in_progress"
    uploaded = clerk.client.post(
        f"/api/v1/tickets/{number}/evidence",
        files={"file": ("照片.pdf", PDF, "application/pdf")},
        headers={"x-csrf-token": clerk.csrf},
    )
    assert uploaded.status_code == 201, uploaded.text
    file_id = uploaded.json()["id"]
    resolved = clerk.api(f"/api/v1/tickets/{number}/resolve", {"note": "已补装", "file_ids": [file_id]})
    assert resolved.json()["history"][-1]["file_ids"] == [file_id]
    assert clerk.client.get(f"/api/v1/tickets/{number}/evidence/{file_id}").content == PDF

    denied = clerk.api(f"/api/v1/tickets/{number}/close", {})
    assert (denied.status_code, denied.json()["error"]["code"]) == (403, "permission_denied")
    comment = creator.api(f"/api/v1/tickets/{number}/comments", {"note": "已电话回访"})
    assert (comment.status_code, comment.json()["kind"]) == (201, "commented")
    closed = creator.api(f"/api/v1/tickets/{number}/close", {"note": "满意"})
    assert closed.json()["ticket"]["state"] == "closed"
    again = creator.api(f"/api/v1/tickets/{number}/reopen", {"reason": "再看看"})
    assert (again.status_code, again.json()["error"]["code"]) == (409, "ticket_transition_refused")

    stats = creator.client.get("/api/v1/tickets/statistics").json()
    assert stats["by_state"]["closed"] == 1
    categories = {c["key"]: c for c in creator.client.get("/api/v1/tickets/categories").json()}
    assert categories["general"]["label"] == "一般工单"
    assert "/api/v1/tickets/{number}/resolve" in creator.client.get("/api/openapi.json").json()["paths"]


def test_csrf_sign_in_and_language(app: FastAPI, world: World, browser: Callable[[str], Browser]) -> None:
    with TestClient(app) as anonymous:
        assert anonymous.get("/tickets", follow_redirects=False).headers["location"] == "/login?next=/tickets"
        assert anonymous.get("/api/v1/tickets").json()["error"]["code"] == "not_authenticated"
    clerk = browser("hf_clerk")
    forged = clerk.client.post("/api/v1/tickets", json={"organisation_id": world.yaohai.id, "title": "x"})
    assert (forged.status_code, forged.json()["error"]["code"]) == (403, "csrf_failed")
    clerk.client.get("/lang/en")
    english = clerk.client.get("/tickets").text
    assert "Ticket statistics" in english
    assert "New ticket" in english
