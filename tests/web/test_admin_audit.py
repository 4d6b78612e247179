"""The audit log in the admin area: search, the chain check, and the API over the same services."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from admin_world import PASSWORD, World, build_world  # type: ignore[import-not-found]
from fastapi.testclient import TestClient
from sqlalchemy import update
from webtools import csrf_from  # type: ignore[import-not-found]

from wanshi.bootstrap import Platform
from wanshi.infra.tables import audit_entry

Login = Callable[[str, str], None]


@pytest.fixture
def world(platform: Platform, login: Login) -> World:
    built = build_world(platform)
    login("auditor", PASSWORD)
    return built


@pytest.mark.usefixtures("world")
def test_search_form_filters_results_and_every_search_is_recorded(client: TestClient) -> None:
    page = client.get("/admin/audit", params={"action": "identity.login", "actor": "auditor"})
    assert page.status_code == 200
    body = page.text.split("<tbody>")[1]
    assert "identity.login" in body
    assert "identity.user.create" not in body
    assert 'value="identity.login"' in page.text  # the form keeps what was asked
    searches = client.get("/api/v1/audit", params={"action": "audit.search"}).json()["entries"]
    assert searches[0]["detail"]["filters"] == {"action": "identity.login", "actor": "auditor"}
    assert searches[0]["actor"] == "auditor"


@pytest.mark.usefixtures("world")
def test_dates_are_china_days_and_bad_input_is_shown_on_the_form(client: TestClient) -> None:
    today = client.get("/admin/audit", params={"since": "2000-01-01", "until": "2999-12-31"})
    assert "identity.user.create" in today.text
    nothing = client.get("/admin/audit", params={"until": "2000-01-01"})
    assert "没有符合条件的审计记录" in nothing.text
    bad = client.get("/admin/audit", params={"since": "2026-13-45", "tenant": "34"})
    assert bad.status_code == 422
    assert 'id="f-since-error"' in bad.text
    assert 'id="f-tenant-error"' in bad.text


@pytest.mark.usefixtures("world")
def test_pages_of_results_run_newest_first_and_do_not_shift_as_searches_are_recorded(
    client: TestClient,
) -> None:
    first = client.get("/api/v1/audit", params={"limit": 3}).json()
    assert first["has_more"]
    seqs = [e["seq"] for e in first["entries"]]
    assert seqs == sorted(seqs, reverse=True)
    assert first["next_before_seq"] == seqs[-1]
    # The first search was itself recorded; the next page still starts right below the last entry seen.
    following = client.get("/api/v1/audit", params={"limit": 3, "before_seq": seqs[-1]}).json()["entries"]
    assert following[0]["seq"] == seqs[-1] - 1
    page = client.get("/admin/audit", params={"action": "identity."})
    assert 'rel="next"' not in page.text  # fewer than a page of sign-ins and accounts
    older = client.get("/admin/audit", params={"action": "identity.", "before_seq": 5})
    assert "回到最新" in older.text
    assert 'href="/admin/audit?action=identity."' in older.text
    assert all(int(n) < 5 for n in re.findall(r"<tr>\s*<td>(\d+)</td>", older.text))


def test_verify_button_shows_the_result_and_names_broken_entries(
    client: TestClient, platform: Platform, world: World
) -> None:
    page = client.get("/admin/audit")
    intact = client.post("/admin/audit/verify", data={"csrf_token": csrf_from(page.text)})
    assert intact.status_code == 200
    assert "哈希链完整" in intact.text
    with platform.engine.begin() as conn:
        conn.execute(update(audit_entry).where(audit_entry.c.seq == 3).values(object_id="forged"))
    broken = client.post("/admin/audit/verify", data={"csrf_token": csrf_from(page.text)})
    assert "哈希链已被破坏" in broken.text
    assert "第 3 条" in broken.text
    report = client.post("/api/v1/audit/verify", headers={"X-CSRF-Token": csrf_from(page.text)}).json()
    assert not report["intact"]
    assert [p["seq"] for p in report["problems"]] == [3]
    assert "edited" in report["problems"][0]["problem"]
