"""The staff's service-item pages and JSON API through the app, signed in through the real login form
(issue #5 items 1 and 4): editing an entry without JSON, review and publication, the province's locks in the
form, stale saves, what a county may see, differences between versions, and Excel import and export."""

from __future__ import annotations

import io
import re
from collections.abc import Callable, Iterator
from html.parser import HTMLParser
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from items_world import (
    CLINIC,
    CLINIC_ELEMENTS,
    FOOD,
    PERMIT_ELEMENTS,
    build_items_world,
    claim,
    publish,
    publish_basic,
)
from openpyxl import load_workbook

from signin import signed_in  # type: ignore[import-not-found]
from wanshi.bootstrap import Platform
from wanshi.items import sheets
from wanshi.items.services.reading import get_record
from wanshi.kernel.actor import SYSTEM
from wanshi.web.app import create_app
from worlds import PASSWORD, World

CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
LOCK = re.compile(r'name="lock" value="(\d+)"')
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
LOCKED_MESSAGE = "“受理条件”由省级基本目录统一规定，实施清单不得修改"


class FormFields(HTMLParser):
    """The fields a browser would post from the page's form with the given action, as (name, value) pairs."""

    def __init__(self, action: str) -> None:
        super().__init__()
        self.action = action
        self.inside = False
        self.fields: list[tuple[str, str]] = []
        self._select: str | None = None
        self._options: list[tuple[str, bool]] = []
        self._textarea: str | None = None
        self._text = ""

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "form":
            self.inside = a.get("action") == self.action
        if not self.inside or ("name" not in a and tag in ("input", "select", "textarea")):
            return
        if tag == "input":
            if a.get("type") in ("checkbox", "radio"):
                if "checked" in a:
                    self.fields.append((a["name"], a.get("value") or "on"))
            elif a.get("type") != "file":
                self.fields.append((a["name"], a.get("value", "")))
        elif tag == "select":
            self._select, self._options = a["name"], []
        elif tag == "option" and self._select is not None:
            self._options.append((a.get("value", ""), "selected" in a))
        elif tag == "textarea":
            self._textarea, self._text = a["name"], ""

    def handle_data(self, data: str) -> None:
        if self._textarea is not None:
            self._text += data

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self.inside = False
        elif tag == "select" and self._select is not None:
            chosen = [v for v, selected in self._options if selected] or [v for v, _s in self._options[:1]]
            self.fields += [(self._select, v) for v in chosen]
            self._select = None
        elif tag == "textarea" and self._textarea is not None:
            self.fields.append((self._textarea, self._text.removeprefix("\n")))
            self._textarea = None


def form_fields(html: str, action: str) -> list[tuple[str, str]]:
    parser = FormFields(action)
    parser.feed(html)
    assert parser.fields, f"no form posting to {action}"
    return parser.fields


def replaced(fields: list[tuple[str, str]], **values: str) -> list[tuple[str, str]]:
    return [(name, values.get(name.replace("-", "_"), value)) for name, value in fields]


class Browser:
    def __init__(self, client: TestClient) -> None:
        self.client = client
        self.csrf = ""

    def login(self, username: str) -> Browser:
        signed_in(self.client, username, PASSWORD)
        self.csrf = CSRF.findall(self.client.get("/admin/items/import").text)[0]
        return self

    def form(self, path: str, data: list[tuple[str, str]] | dict[str, str]) -> httpx.Response:
        pairs = list(data.items()) if isinstance(data, dict) else data
        pairs = [(k, v) for k, v in pairs if k != "csrf_token"] + [("csrf_token", self.csrf)]
        return self.client.post(
            path,
            content=httpx.QueryParams(pairs).__str__().encode(),
            headers={"content-type": "application/x-www-form-urlencoded"},
            follow_redirects=False,
        )

    def api(self, method: str, path: str, body: Any = None) -> httpx.Response:
        return self.client.request(method, path, json=body, headers={"x-csrf-token": self.csrf})

    def upload(self, path: str, name: str, content: bytes, **data: str) -> httpx.Response:
        return self.client.post(
            path,
            files={"file": (name, content, XLSX)},
            data=data,
            headers={"x-csrf-token": self.csrf},
        )


@pytest.fixture
def world(platform: Platform) -> World:
    w = build_items_world(platform)
    publish_basic(platform, w, FOOD, PERMIT_ELEMENTS)
    return w


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


def _record(platform: Platform, record_id: int) -> Any:
    with platform.uow() as uow:
        return get_record(uow, record_id, SYSTEM)


def test_a_clerk_edits_a_draft_through_the_form_and_a_reviewer_publishes_it(
    platform: Platform, world: World, browser: Callable[[str], Browser]
) -> None:
    draft = claim(platform, world, "hf_market")
    clerk = browser("hf_clerk")
    listed = clerk.client.get("/admin/items", params={"kind": "implementation"})
    assert listed.status_code == 200
    assert f'href="/admin/items/{draft.id}"' in listed.text
    page = clerk.client.get(f"/admin/items/{draft.id}/edit")
    assert page.status_code == 200
    fields = form_fields(page.text, f"/admin/items/{draft.id}/edit")
    # The form posted back as shown changes nothing.
    assert clerk.form(f"/admin/items/{draft.id}/edit", fields).status_code == 303
    assert _record(platform, draft.id).record.lock == draft.lock
    changed = replaced(
        fields,
        consult="0551-63357000",
        promised_limit_value="7",
        places_0_name="合肥市政务服务中心",
        places_0_address="合肥市怀宁路1800号",
        places_0_hours="工作日 9:00-17:00",
    )
    saved = clerk.form(f"/admin/items/{draft.id}/edit", changed)
    assert saved.status_code == 303, saved.text
    detail = clerk.client.get(saved.headers["location"])
    assert "已保存" in detail.text
    assert "合肥市怀宁路1800号" in detail.text
    elements = _record(platform, draft.id).shown.document["elements"]
    assert elements["consult"] == "0551-63357000"
    assert elements["promised_limit"]["value"] == 7
    assert elements["places"][0]["name"] == "合肥市政务服务中心"
    # What the form does not show stays as it was: the materials' base-registry sources.
    assert elements["materials"] == _record(platform, draft.id).versions[0].document["elements"]["materials"]
    lock = LOCK.findall(detail.text)[0]
    assert clerk.form(f"/admin/items/{draft.id}/submit", {"lock": lock, "note": "请审核"}).status_code == 303
    reviewer = browser("city_admin")
    page = reviewer.client.get(f"/admin/items/{draft.id}")
    assert 'value="publish"' in page.text
    refused = reviewer.form(
        f"/admin/items/{draft.id}/review", {"lock": LOCK.findall(page.text)[0], "decision": "return"}
    )
    assert refused.status_code == 422
    assert "请填写退回原因" in refused.text
    published = reviewer.form(
        f"/admin/items/{draft.id}/review", {"lock": LOCK.findall(page.text)[0], "decision": "publish"}
    )
    assert published.status_code == 303
    record = _record(platform, draft.id).record
    assert (record.state.value, record.published_version) == ("published", 1)
    history = reviewer.client.get(f"/admin/items/{draft.id}").text
    for step in ("新建", "修改", "提交审核", "发布", "请审核"):
        assert step in history


def test_a_locked_element_is_shown_read_only_and_cannot_be_changed_through_the_form(
    platform: Platform, world: World, browser: Callable[[str], Browser]
) -> None:
    draft = claim(platform, world, "hf_market")
    clerk = browser("hf_clerk")
    page = clerk.client.get(f"/admin/items/{draft.id}/edit").text
    assert "由省级基本目录统一规定" in page
    assert PERMIT_ELEMENTS["conditions"][0] in page
    assert 'name="conditions"' not in page
    assert 'name="promised_limit-value"' in page  # a locality may shorten its promised limit
    fields = form_fields(page, f"/admin/items/{draft.id}/edit")
    forced = [*fields, ("edit", "conditions"), ("conditions", "瑶海区自定的条件")]
    refused = clerk.form(f"/admin/items/{draft.id}/edit", forced)
    assert refused.status_code == 422
    assert LOCKED_MESSAGE in refused.text
    assert 'id="f-conditions-error"' in refused.text
    longer = clerk.form(f"/admin/items/{draft.id}/edit", replaced(fields, promised_limit_value="15"))
    assert longer.status_code == 422
    assert "“承诺办结时限”不得超过省级基本目录的规定" in longer.text
    assert 'value="15"' in longer.text  # the clerk's value stays in the form to be corrected
    after = _record(platform, draft.id)
    assert after.record.lock == draft.lock
    assert after.shown.document["elements"]["conditions"] == PERMIT_ELEMENTS["conditions"]


def test_a_stale_save_shows_the_conflict(
    platform: Platform, world: World, browser: Callable[[str], Browser]
) -> None:
    draft = claim(platform, world, "yaohai")
    clerk = browser("yh_clerk")
    fields = form_fields(
        clerk.client.get(f"/admin/items/{draft.id}/edit").text, f"/admin/items/{draft.id}/edit"
    )
    assert clerk.form(f"/admin/items/{draft.id}/edit", replaced(fields, consult="0551-1")).status_code == 303
    stale = clerk.form(f"/admin/items/{draft.id}/edit", replaced(fields, consult="0551-2"))
    assert stale.status_code == 409
    assert "事项已被他人修改" in stale.text
    assert 'value="0551-2"' in stale.text
    assert _record(platform, draft.id).shown.document["elements"]["consult"] == "0551-1"


def test_a_county_clerk_cannot_see_or_act_on_another_countys_draft(
    platform: Platform, world: World, browser: Callable[[str], Browser]
) -> None:
    draft = claim(platform, world, "luyang")
    other = browser("yh_clerk")
    for path in (f"/admin/items/{draft.id}", f"/admin/items/{draft.id}/edit"):
        assert other.client.get(path).status_code == 404
    assert other.form(f"/admin/items/{draft.id}/submit", {"lock": str(draft.lock)}).status_code == 404
    fields = [("lock", str(draft.lock)), ("edit", "consult"), ("consult", "0551-9")]
    assert other.form(f"/admin/items/{draft.id}/edit", fields).status_code == 404
    answer = other.api("GET", f"/api/v1/items/{draft.id}")
    assert answer.status_code == 404
    assert answer.json()["error"]["code"] == "not_found"
    put = other.api("PUT", f"/api/v1/items/{draft.id}", {"lock": draft.lock, "document": {}})
    assert put.status_code == 404
    assert draft.code not in other.client.get("/admin/items").text
    assert draft.id not in [r["id"] for r in other.api("GET", "/api/v1/items").json()["items"]]
    assert _record(platform, draft.id).record.lock == draft.lock


def test_the_diff_page_shows_a_changed_element_between_versions(
    platform: Platform, world: World, browser: Callable[[str], Browser]
) -> None:
    r = claim(platform, world, "hf_market")
    publish(platform, r.id, world["hf_clerk"], world["city_admin"])
    clerk = browser("hf_clerk")
    record = clerk.api("GET", f"/api/v1/items/{r.id}").json()["record"]
    started = clerk.api("POST", f"/api/v1/items/{r.id}/versions", {"lock": record["lock"]})
    assert started.status_code == 201
    body = started.json()
    document = body["versions"][-1]["document"]
    document["elements"]["visits"] = 0
    document["elements"]["online_depth"] = 4
    document["elements"]["visits_reason"] = ""
    edited = clerk.api("PUT", f"/api/v1/items/{r.id}", {"lock": body["record"]["lock"], "document": document})
    assert edited.status_code == 200, edited.text
    assert {c["key"] for c in edited.json()["pending"]} == {"visits", "online_depth", "visits_reason"}
    page = clerk.client.get(f"/admin/items/{r.id}/diff", params={"from": 1, "to": 2})
    assert page.status_code == 200
    assert "到办事现场次数" in page.text
    assert "Ⅳ级 全程网办" in page.text
    assert "待发布的修改" in clerk.client.get(f"/admin/items/{r.id}").text
    stale = clerk.api("PUT", f"/api/v1/items/{r.id}", {"lock": body["record"]["lock"], "document": document})
    assert stale.status_code == 409
    assert stale.json()["error"]["code"] == "item_changed"
    assert clerk.api("GET", f"/api/v1/items/{r.id}/diff?from=1&to=2").json()[0]["key"] == "visits"


def test_an_excel_round_trip_through_the_api(
    platform: Platform, world: World, browser: Callable[[str], Browser]
) -> None:
    r = claim(platform, world, "hf_market")
    publish(platform, r.id, world["hf_clerk"], world["city_admin"])
    bureau = browser("city_admin")
    exported = bureau.client.get("/api/v1/items/export.xlsx", params={"kind": "implementation"})
    assert exported.status_code == 200
    assert exported.headers["content-type"] == XLSX
    same = bureau.upload("/api/v1/items/import", "items.xlsx", exported.content)
    assert same.status_code == 200
    assert same.json() | {"problems": []} == {
        "ok": True,
        "created": 0,
        "updated": 0,
        "unchanged": 1,
        "problems": [],
    }
    assert _record(platform, r.id).record.working_version is None
    book = load_workbook(io.BytesIO(exported.content))
    main = book[sheets.MAIN_TITLE]
    header = [c.value for c in main[1]]
    main.cell(row=2, column=header.index("咨询方式") + 1, value="0551-63357000")
    out = io.BytesIO()
    book.save(out)
    changed = bureau.upload("/api/v1/items/import", "items.xlsx", out.getvalue())
    assert changed.json()["updated"] == 1, changed.text
    after = _record(platform, r.id)
    assert (after.record.published_version, after.record.working_version) == (1, 2)
    assert after.shown.document["elements"]["consult"] == "0551-63357000"


def test_a_bad_file_gives_the_report_and_changes_nothing(
    platform: Platform, world: World, browser: Callable[[str], Browser]
) -> None:
    r = claim(platform, world, "hf_market")
    clerk = browser("hf_clerk")
    exported = clerk.client.get("/admin/items/export.xlsx")
    book = load_workbook(io.BytesIO(exported.content))
    main = book[sheets.MAIN_TITLE]
    header = [c.value for c in main[1]]
    row = next(n for n in range(2, main.max_row + 1) if main.cell(row=n, column=3).value == r.code)
    main.cell(row=row, column=header.index("受理条件") + 1, value="合肥市自定的条件")
    main.cell(row=row, column=header.index("到现场次数") + 1, value="很多")
    out = io.BytesIO()
    book.save(out)
    page = clerk.upload("/admin/items/import", "items.xlsx", out.getvalue(), csrf_token=clerk.csrf)
    assert page.status_code == 422
    assert "未导入任何内容" in page.text
    assert "到现场次数" in page.text
    assert "item_value_invalid" in page.text
    api = clerk.upload("/api/v1/items/import", "items.xlsx", out.getvalue())
    problems = api.json()["problems"]
    assert [(p["sheet"], p["row"], p["column"]) for p in problems] == [(sheets.MAIN_TITLE, row, "到现场次数")]
    main.cell(row=row, column=header.index("到现场次数") + 1, value=1)
    book.save(out := io.BytesIO())
    locked = clerk.upload("/api/v1/items/import", "items.xlsx", out.getvalue()).json()["problems"]
    assert [(p["row"], p["column"], p["code"]) for p in locked] == [(row, "受理条件", "item_locked_element")]
    not_a_workbook = clerk.upload(
        "/admin/items/import", "items.xlsx", b"not a workbook", csrf_token=clerk.csrf
    )
    assert not_a_workbook.status_code == 422
    assert "不是有效的 Excel" in not_a_workbook.text
    assert _record(platform, r.id).record.lock == r.lock


def test_new_basic_entries_claims_and_bundles_through_the_forms(
    platform: Platform, world: World, browser: Callable[[str], Browser]
) -> None:
    clerk = browser("market_clerk")
    page = clerk.client.get("/admin/items/new")
    assert page.status_code == 200
    fields = replaced(
        form_fields(page.text, "/admin/items/new"),
        code="340A0103000000",
        name="食品小作坊登记",
        legal_limit_value="20",
        promised_limit_value="10",
        visits_reason="现场核查",
    )
    refused = clerk.form("/admin/items/new", fields)
    assert refused.status_code == 422
    assert "服务对象" in refused.text
    created = clerk.form("/admin/items/new", [*fields, ("audience", "person")])
    assert created.status_code == 303, created.text
    assert "事项已创建" in clerk.client.get(created.headers["location"]).text
    hefei = browser("hf_clerk")
    claim_page = hefei.client.get("/admin/items/claim")
    assert FOOD in claim_page.text
    claimed = hefei.form("/admin/items/claim", form_fields(claim_page.text, "/admin/items/claim"))
    assert claimed.status_code == 422  # the organisation's registered code is not a valid credit code
    assert "实施主体的统一社会信用代码有误" in claimed.text
    body = {
        "basic_code": FOOD,
        "organisation_id": str(world.org_id("hf_market")),
        "body_code": "11340100MB00000513",
    }
    claimed = hefei.form("/admin/items/claim", body)
    assert claimed.status_code == 303, claimed.text
    record_id = int(claimed.headers["location"].split("?")[0].rsplit("/", 1)[1])
    assert _record(platform, record_id).record.code == f"{FOOD}-340100000000-000-11340100MB00000513-1-00"
    bureau = browser("city_admin")
    page = bureau.client.get("/admin/items/bundles/new")
    fields = replaced(form_fields(page.text, "/admin/items/bundles/new"), code="BIZ-009", name="开饭店一件事")
    one_part = [*fields, ("parts-0-basic_code", FOOD)]
    refused = bureau.form("/admin/items/bundles/new", one_part)
    assert refused.status_code == 422
    assert "包含事项：不能为空" in refused.text
    publish_basic(platform, world, CLINIC, CLINIC_ELEMENTS)
    compiled = bureau.form("/admin/items/bundles/new", [*one_part, ("parts-1-basic_code", CLINIC)])
    assert compiled.status_code == 303, compiled.text
    bundle = bureau.client.get(compiled.headers["location"]).text
    assert "开饭店一件事" in bundle
    assert CLINIC in bundle


def test_the_pages_render_in_english(
    platform: Platform, world: World, browser: Callable[[str], Browser]
) -> None:
    draft = claim(platform, world, "hf_market")
    clerk = browser("hf_clerk")
    clerk.client.get("/lang/en?next=/admin/items")
    listed = clerk.client.get("/admin/items").text
    assert "Service items" in listed
    assert "政务服务事项" not in listed
    edit = clerk.client.get(f"/admin/items/{draft.id}/edit").text
    assert "Set by the provincial basic directory" in edit
    assert "Materials" in edit
    detail = clerk.client.get(f"/admin/items/{draft.id}").text
    assert "Submit for review" in detail
