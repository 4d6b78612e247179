"""The loads console (/admin/loads): the list, a load with its quarantine, file upload, scheduled pulls;
a department sees its own loads, the data bureau all of them."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import update
from test_catalogue_world import PASSWORD, World, build_world, publish, register

from signin import signed_in  # type: ignore[import-not-found]
from wanshi.bootstrap import Platform
from wanshi.config import Settings
from wanshi.datahub.catalogue import api as catalogue
from wanshi.datahub.ingest import api as ingest
from wanshi.datahub.ingest.tables import load as load_table
from wanshi.web.app import create_app

CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
CODE = "331007001/000001"
ID_NUMBER = "340102199001011234"
ITEMS = (
    catalogue.ItemSpec(name="uscc", label="统一社会信用代码", length=18, required=True, grade="public"),
    catalogue.ItemSpec(name="name", label="企业名称", length=200, required=True, grade="public"),
    catalogue.ItemSpec(name="legal_id", label="法定代表人身份证号", length=18, grade="sensitive"),
)
CSV = (
    "统一社会信用代码,企业名称,法定代表人身份证号\n"
    "91340102MA2N000001,甲公司,\n"
    "91340102MA2N000002,,340102199001011234\n"
)


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings.model_copy(update={"ingest_upload_max_bytes": 4096})


@pytest.fixture
def world(platform: Platform) -> World:
    w = build_world(platform)
    r = register(platform, w, "yh_clerk", "yaohai", CODE, items=ITEMS)
    publish(platform, w, "yh_clerk", r.id)
    return w


class Browser:
    def __init__(self, client: TestClient, username: str) -> None:
        self.client = client
        signed_in(client, username, PASSWORD)
        self.csrf = CSRF.findall(client.get("/admin/catalogue/new").text)[0]

    def get(self, path: str) -> httpx.Response:
        return self.client.get(path)

    def upload(self, name: str, content: bytes, resource: str = CODE, *, csrf: bool = True) -> httpx.Response:
        data = {"resource": resource, **({"csrf_token": self.csrf} if csrf else {})}
        return self.client.post(
            "/admin/loads/upload",
            data=data,
            files={"file": (name, content, "text/csv")},
            follow_redirects=False,
        )

    def form(self, path: str, **data: Any) -> httpx.Response:
        return self.client.post(path, data={"csrf_token": self.csrf, **data}, follow_redirects=False)


@pytest.fixture
def browser(platform: Platform, world: World) -> Iterator[Callable[[str], Browser]]:
    app = create_app(platform)
    clients: list[TestClient] = []

    def open_as(username: str) -> Browser:
        client = TestClient(app)
        client.__enter__()
        clients.append(client)
        return Browser(client, username)

    yield open_as
    for client in clients:
        client.__exit__(None, None, None)


def _push(platform: Platform, world: World, key: str, rows: list[dict[str, Any]]) -> ingest.Load:
    with platform.uow() as uow:
        return ingest.push_rows(
            uow, platform.datastore, ingest.PushRows("market_entity", key, tuple(rows)), world["yh_clerk"]
        )


def test_uploading_a_file_loads_it_once_and_shows_its_quarantine_masked(
    platform: Platform, browser: Callable[[str], Browser]
) -> None:
    clerk = browser("yh_clerk")
    form = clerk.get("/admin/loads/upload")
    assert form.status_code == 200
    assert f'<option value="{CODE}"' in form.text

    # A GBK export, as departments' systems write them.
    sent = clerk.upload("企业名录.csv", CSV.encode("gbk"))
    assert sent.status_code == 303, sent.text
    location = sent.headers["location"]
    assert location.endswith("?done=loaded")
    page = clerk.get(location)
    assert page.status_code == 200
    assert "企业名录.csv" in page.text
    assert "gb18030" in page.text
    assert "企业名称（name）必填项为空" in page.text
    assert "340102********1234" in page.text
    assert ID_NUMBER not in page.text
    assert platform.datastore.count("market_entity") == 1

    again = clerk.upload("企业名录.csv", CSV.encode("gbk"))
    assert again.headers["location"].endswith("?done=repeated")
    assert "该文件已归集过" in clerk.get(again.headers["location"]).text
    assert platform.datastore.count("market_entity") == 1


@pytest.mark.parametrize(
    ("name", "content", "status", "message"),
    [
        ("", b"", 422, "请选择要上传的文件"),
        ("big.csv", b"a,b\n" + b"1,2\n" * 2000, 413, "文件超过"),
        ("tool.exe", b"MZ", 422, "无法从扩展名"),
    ],
)
def test_a_bad_upload_is_refused_in_chinese(
    platform: Platform,
    browser: Callable[[str], Browser],
    name: str,
    content: bytes,
    status: int,
    message: str,
) -> None:
    reply = browser("yh_clerk").upload(name, content)
    assert reply.status_code == status
    assert message in reply.text
    assert 'aria-invalid="true"' in reply.text
    assert platform.datastore.count("market_entity") == 0
    assert list((platform.settings.data_dir / "tmp" / "uploads").glob("*")) == []


def test_uploads_need_csrf_and_the_providers_staff(
    platform: Platform, browser: Callable[[str], Browser]
) -> None:
    assert browser("yh_clerk").upload("a.csv", CSV.encode(), csrf=False).status_code == 403
    other = browser("ly_clerk")
    assert f'<option value="{CODE}"' not in other.get("/admin/loads/upload").text
    assert other.upload("a.csv", CSV.encode()).status_code == 403
    assert platform.datastore.count("market_entity") == 0


def test_the_list_is_scoped_and_shows_progress_for_running_loads(
    platform: Platform, world: World, browser: Callable[[str], Browser]
) -> None:
    done = _push(platform, world, "k1", [{"uscc": "91340102MA2N000001", "name": "甲公司"}])
    running = _push(platform, world, "k2", [{"uscc": "91340102MA2N000002", "name": "乙公司"}])
    with platform.engine.begin() as conn:
        conn.execute(
            update(load_table)
            .where(load_table.c.id == running.id)
            .values(status="running", rows_read=5000, finished_at=None)
        )
    clerk = browser("yh_clerk").get("/admin/loads")
    assert clerk.status_code == 200
    assert f'href="/admin/loads/{done.id}"' in clerk.text
    assert clerk.text.count("<progress") == 1
    assert "已读取 5000 行" in clerk.text
    assert "共 2 条归集记录" in browser("prov_admin").get("/admin/loads").text
    assert "共 1 条归集记录" in browser("yh_clerk").get("/admin/loads?status=complete").text
    other = browser("ly_clerk")
    assert "共 0 条归集记录" in other.get("/admin/loads").text
    assert other.get(f"/admin/loads/{done.id}").status_code == 404


def test_the_quarantine_is_paged(platform: Platform, world: World, browser: Callable[[str], Browser]) -> None:
    bad = [{"uscc": f"91340102MA2N{i:06d}", "name": "", "legal_id": ID_NUMBER} for i in range(25)]
    load = _push(platform, world, "bad", bad)
    assert load.counts.quarantined == 25
    clerk = browser("yh_clerk")
    first = clerk.get(f"/admin/loads/{load.id}").text
    assert "共 25 行" in first
    assert first.count("必填项为空") == 20
    second = clerk.get(f"/admin/loads/{load.id}?page=2").text
    assert second.count("必填项为空") == 5
    assert ID_NUMBER not in first + second


def test_scheduled_pulls_are_set_in_the_console(
    platform: Platform, world: World, browser: Callable[[str], Browser]
) -> None:
    clerk = browser("yh_clerk")
    page = clerk.get("/admin/loads/schedules")
    assert page.status_code == 200
    assert "尚未设置定时抽取" in page.text
    # The only published resource is mounted on a dataset: no database resource to choose.
    refused = clerk.form(
        "/admin/loads/schedules", resource=CODE, dataset="x", watermark_column="seq", interval="60"
    )
    assert refused.status_code == 422
    assert "只有挂接部门数据库的资源才能定时抽取" in refused.text
    missing = clerk.form("/admin/loads/schedules", dataset="x", watermark_column="seq", interval="60")
    assert "请选择资源" in missing.text


def test_the_admin_area_offers_the_console_to_those_who_may_read_loads(
    browser: Callable[[str], Browser],
) -> None:
    assert 'href="/admin/loads"' in browser("yh_clerk").get("/admin").text
    assert 'href="/admin/loads"' in browser("prov_admin").get("/admin").text
