"""The quality console through the app, signed in through the real login form."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from test_catalogue_world import NOW, PASSWORD, World, build_world
from test_quality_ops_world import BAD, CODE, GOOD, RULES, load_csv, publish_resource, run, save_rules

from signin import signed_in  # type: ignore[import-not-found]
from wanshi.bootstrap import Platform
from wanshi.kernel import clock
from wanshi.web.app import create_app

CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


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
        self.csrf = CSRF.findall(self.client.get("/admin/quality").text)[0]
        return self

    def form(self, path: str, files: dict[str, Any] | None = None, **data: str) -> httpx.Response:
        reply: httpx.Response = self.client.post(
            path, data={"csrf_token": self.csrf, **data}, files=files, follow_redirects=False
        )
        return reply


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


def test_the_bureau_edits_rules_runs_a_check_and_reads_the_dashboard(
    platform: Platform, world: World, browser: Callable[[str], Browser], tmp_path: Path
) -> None:
    resource_id = publish_resource(platform, world)
    load_csv(platform, tmp_path, "v1.csv", [(GOOD, "甲公司", "1"), (BAD, "乙公司", "-2")])
    bureau = browser("prov_admin")
    page = bureau.client.get(f"/admin/quality/resources/{resource_id}")
    assert page.status_code == 200
    assert "该资源还没有质量规则" in page.text
    assert '<label for="f-text">' in page.text

    bad = bureau.form(f"/admin/quality/resources/{resource_id}/rules", text="dataset: x\nkey: k\nrules: []\n")
    assert bad.status_code == 422
    assert "规则列表不能为空" in bad.text
    assert 'aria-invalid="true"' in bad.text
    uploaded = bureau.form(
        f"/admin/quality/resources/{resource_id}/rules",
        files={"file": ("rules.yaml", RULES.encode("utf-8"), "application/yaml")},
    )
    assert uploaded.status_code == 303
    assert uploaded.headers["location"].endswith("?done=saved")
    shown = bureau.client.get(uploaded.headers["location"])
    assert "规则已保存为新版本" in shown.text
    assert "当前第 1 版，3 条规则" in shown.text

    ran = bureau.form("/admin/quality/run", resource_code=CODE)
    assert ran.status_code == 303
    run_page = bureau.client.get(ran.headers["location"])
    assert run_page.status_code == 200
    assert "uscc.checksum" in run_page.text
    assert "911100********341X" in run_page.text
    assert BAD not in run_page.text
    assert re.search(r'<a href="/tickets/GD\d{14}">GD\d{14}</a>', run_page.text)

    dashboard = bureau.client.get("/admin/quality?days=30")
    assert dashboard.status_code == 200
    text = dashboard.text.split('<div class="admin-main">', 1)[1]
    assert "<script" not in text  # the charts need no JavaScript
    assert text.count('role="img"') == 3
    assert 'aria-label="各部门当前质量得分"' in text
    assert "<title>瑶海区市场监督管理局：" in text
    assert "<caption>各部门当前质量得分" in text
    assert '<th scope="row"><a href="?days=30&amp;organisation=' in text
    assert "331007001/000001 capital.range" in text
    assert '<a href="/admin/quality" aria-current="page">' in dashboard.text  # in the admin navigation


def test_a_department_runs_its_own_check_but_sees_no_one_elses(
    platform: Platform, world: World, browser: Callable[[str], Browser], tmp_path: Path
) -> None:
    resource_id = publish_resource(platform, world)
    save_rules(platform, world, resource_id)
    load_csv(platform, tmp_path, "v1.csv", [(GOOD, "甲公司", "1")])
    done = run(platform, world, "prov_admin")

    provider = browser("yh_clerk")
    own = provider.client.get(f"/admin/quality/resources/{resource_id}")
    assert own.status_code == 200
    assert 'name="text"' not in own.text  # the rules are the bureau's to write
    assert "dataset: market_entity" in own.text
    refused = provider.form(f"/admin/quality/resources/{resource_id}/rules", text=RULES + "#")
    assert refused.status_code == 403
    again = provider.form(f"/admin/quality/resources/{resource_id}/run")
    assert again.status_code == 303
    assert provider.client.get("/api/v1/quality/runs").json()["total"] == 2

    other = browser("ly_clerk")
    assert other.client.get(f"/admin/quality/runs/{done.id}").status_code == 404
    assert other.client.get(f"/admin/quality/resources/{resource_id}").status_code == 404
    board = other.client.get("/admin/quality")
    assert board.status_code == 200
    assert "市场主体登记信息" not in board.text
    assert other.client.get("/api/v1/quality/runs").json() == {"items": [], "total": 0}
    assert other.client.get(f"/api/v1/quality/runs/{done.id}").status_code == 404
    missing = other.form("/admin/quality/run", resource_code=CODE)
    assert missing.status_code == 404
    assert "资源不存在" in missing.text
    history = provider.client.get(f"/api/v1/quality/history?resource_id={resource_id}").json()
    assert [p["label"] for p in history] == ["2026-03-02"]


def test_the_consistency_page_refuses_a_bad_configuration_with_its_reason(
    platform: Platform, world: World, browser: Callable[[str], Browser]
) -> None:
    bureau = browser("prov_admin")
    form = bureau.client.get("/admin/quality/consistency")
    assert form.status_code == 200
    assert '<label for="f-config_text">' in form.text
    refused = bureau.form(
        "/admin/quality/consistency", config_text="name: x\nkey: k\nsources: {}\nfields: {}"
    )
    assert refused.status_code == 422
    assert "须有 2–10 个来源" in refused.text
