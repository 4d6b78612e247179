"""Pushing JSON batches over HTTP (POST /api/v1/ingest/{dataset}/batches) and reading loads through the API,
signed in as staff with the session cookie and the CSRF header, as the catalogue's JSON API is used."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from test_catalogue_world import PASSWORD, World, build_world, publish, register

from signin import signed_in  # type: ignore[import-not-found]
from wanshi.bootstrap import Platform
from wanshi.config import Settings
from wanshi.web.app import create_app

CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
CODE = "331007001/000001"
URL = "/api/v1/ingest/market_entity/batches"
GOOD = [
    {"uscc": "91340102MA2N000001", "name": "甲公司", "founded_on": "2020年10月24日", "capital": "100.5"},
    {"uscc": "91340102MA2N000002", "name": "乙公司"},
]
BAD = {"uscc": "91340102MA2N000003", "capital": "很多"}


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings.model_copy(update={"ingest_push_max_bytes": 4096})


@pytest.fixture
def world(platform: Platform) -> World:
    w = build_world(platform)
    r = register(platform, w, "yh_clerk", "yaohai", CODE)
    publish(platform, w, "yh_clerk", r.id)
    return w


class Client:
    def __init__(self, client: TestClient, username: str) -> None:
        self.client = client
        signed_in(client, username, PASSWORD)
        self.csrf = CSRF.findall(client.get("/admin/catalogue/new").text)[0]

    def push(self, key: str | None, body: Any, *, csrf: bool = True, url: str = URL) -> httpx.Response:
        headers = {"x-csrf-token": self.csrf} if csrf else {}
        if key is not None:
            headers["Idempotency-Key"] = key
        if isinstance(body, bytes):
            return self.client.post(
                url, content=body, headers={**headers, "content-type": "application/json"}
            )
        return self.client.post(url, json=body, headers=headers)

    def get(self, path: str, **params: Any) -> httpx.Response:
        return self.client.get(path, params=params)


@pytest.fixture
def login(platform: Platform, world: World) -> Iterator[Callable[[str], Client]]:
    app = create_app(platform)
    clients: list[TestClient] = []

    def open_as(username: str) -> Client:
        client = TestClient(app)
        client.__enter__()
        clients.append(client)
        return Client(client, username)

    yield open_as
    for client in clients:
        client.__exit__(None, None, None)


def _code(reply: httpx.Response) -> str:
    return str(reply.json()["error"]["code"])


def test_a_batch_is_stored_once_per_key_and_a_reused_key_is_refused(
    platform: Platform, login: Callable[[str], Client]
) -> None:
    clerk = login("yh_clerk")
    first = clerk.push("batch-0001", {"rows": [*GOOD, BAD]})
    assert first.status_code == 201, first.text
    load = first.json()
    assert (load["rows_stored"], load["rows_quarantined"], load["repeated"]) == (2, 1, False)
    assert load["resource_code"] == CODE
    assert load["format"] == "push"
    assert platform.datastore.count("market_entity") == 2

    again = clerk.push("batch-0001", {"rows": [*GOOD, BAD]})
    assert again.status_code == 200
    assert again.json()["id"] == load["id"]
    assert again.json()["repeated"] is True
    assert platform.datastore.count("market_entity") == 2

    reused = clerk.push("batch-0001", {"rows": GOOD[:1]})
    assert reused.status_code == 409
    assert _code(reused) == "ingest_idempotency_key_reused"
    assert platform.datastore.count("market_entity") == 2

    assert clerk.push("batch-0002", {"rows": GOOD[:1]}).status_code == 201
    assert platform.datastore.count("market_entity") == 3


@pytest.mark.parametrize(
    ("key", "body", "status", "code"),
    [
        (None, {"rows": GOOD}, 422, "validation_failed"),
        ("k", {"records": GOOD}, 422, "ingest_body_invalid"),
        ("k", {"rows": ["not an object"]}, 422, "ingest_body_invalid"),
        ("k", b"{not json", 422, "ingest_body_invalid"),
        ("k", {"rows": []}, 422, "validation_failed"),
        ("k", {"rows": [{"name": "x" * 5000}]}, 413, "ingest_payload_too_large"),
    ],
)
def test_bad_pushes_are_refused_with_a_stable_code_and_a_chinese_message(
    login: Callable[[str], Client], key: str | None, body: Any, status: int, code: str
) -> None:
    reply = login("yh_clerk").push(key, body)
    assert reply.status_code == status, reply.text
    assert _code(reply) == code
    assert re.search(r"[\u4e00-\u9fff]", reply.json()["error"]["message"])


def test_pushing_needs_a_session_the_csrf_header_and_the_providers_role(
    platform: Platform, login: Callable[[str], Client]
) -> None:
    clerk = login("yh_clerk")
    assert _code(clerk.push("k", {"rows": GOOD}, csrf=False)) == "csrf_failed"
    with TestClient(create_app(platform)) as anonymous:
        token = CSRF.findall(anonymous.get("/login").text)[0]
        headers = {"Idempotency-Key": "k", "x-csrf-token": token}
        assert anonymous.post(URL, json={"rows": GOOD}, headers=headers).status_code == 401
    # Another county's department: the dataset is not one it may load into (and is not disclosed).
    other = login("ly_clerk").push("k", {"rows": GOOD})
    assert other.status_code == 404
    assert _code(other) == "catalogue_dataset_not_mounted"
    # The data bureau reviews; it does not load data (三员分立: a system administrator).
    assert login("prov_admin").push("k", {"rows": GOOD}).status_code == 403
    assert clerk.push("k", {"rows": GOOD}, url="/api/v1/ingest/unknown_set/batches").status_code == 404
    assert platform.datastore.count("market_entity") == 0


def test_loads_are_listed_for_their_department_and_the_data_bureau(login: Callable[[str], Client]) -> None:
    clerk = login("yh_clerk")
    load_id = clerk.push("batch-1", {"rows": [*GOOD, BAD]}).json()["id"]

    mine = clerk.get("/api/v1/ingest/loads").json()
    assert [x["id"] for x in mine["items"]] == [load_id]
    assert mine["total"] == 1
    assert clerk.get(f"/api/v1/ingest/loads/{load_id}").json()["rows_stored"] == 2
    assert clerk.get("/api/v1/ingest/loads", status="failed").json()["total"] == 0

    for bureau in ("prov_admin", "city_admin"):
        assert [x["id"] for x in login(bureau).get("/api/v1/ingest/loads").json()["items"]] == [load_id]
    other = login("ly_clerk")
    assert other.get("/api/v1/ingest/loads").json()["total"] == 0
    hidden = other.get(f"/api/v1/ingest/loads/{load_id}")
    assert hidden.status_code == 404
    assert _code(hidden) == "ingest_load_not_found"

    quarantine = clerk.get(f"/api/v1/ingest/loads/{load_id}/quarantine").json()
    assert quarantine["total"] == 1
    (row,) = quarantine["rows"]
    assert row["_row"] == 3
    assert "企业名称" in row["_reasons"]
    assert "注册资本" in row["_reasons"]
    assert row["uscc"] == BAD["uscc"]
