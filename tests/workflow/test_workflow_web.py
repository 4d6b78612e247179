"""The process centre through the web app (issue #6): a clerk designs and deploys a process in /admin/workflow
(the textarea and file-upload routes that work without JavaScript, and the page contract the modeler builds
on), handles tasks at /tasks (claim, a task's form checked by the server, return, delegate), a supervisor
reads the time-limit charts, and the JSON API drives the same steps.

Every page post is what a browser would send from the page's own form, signed in through the real login pages.
"""

from __future__ import annotations

import html
import re
import sys
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from workflow_world import FILES, deploy, open_task, publish_review_form, workflow_world

from signin import signed_in  # type: ignore[import-not-found]
from wanshi.bootstrap import Platform
from wanshi.kernel import clock
from wanshi.kernel.actor import SYSTEM
from wanshi.web.app import create_app
from wanshi.workflow.domain.records import InstanceStatus, TaskState
from wanshi.workflow.engine.layout import with_layout
from wanshi.workflow.services import definitions, instances
from worlds import PASSWORD, World

# The page helpers live beside the forms' web tests (test folders are not packages).
sys.path.append(str(Path(__file__).parents[1] / "forms"))
from browser_support import changed, csrf_of, form_fields  # type: ignore[import-not-found]

BPMN_JS = "/static/vendor/bpmn-js-18.31.1"
SUMMARY_LINK = re.compile(r'<li><a href="#f-([^"]+)">([^<]+)</a></li>')
TASK_LINK = re.compile(r'<a href="/tasks/(\d+)">([^<]+)</a>')


class Clerk:
    """One person at one browser: the pages they see and the forms they post from them."""

    def __init__(self, client: TestClient) -> None:
        self.client = client
        self.page = ""

    def open(self, path: str, status: int = 200) -> httpx.Response:
        reply = self.client.get(path)
        assert reply.status_code == status, reply.text[:2000]
        self.page = reply.text
        return reply

    def submit(self, action: str, **values: str) -> httpx.Response:
        """Fill in the form posting to ``action`` on the page last seen and send it, as urlencoded or as
        multipart with the files given."""
        fields = changed(form_fields(self.page, action), **values)
        reply = self.client.post(
            action,
            content=str(httpx.QueryParams(fields)).encode(),
            headers={"content-type": "application/x-www-form-urlencoded"},
            follow_redirects=False,
        )
        if reply.status_code != 303:
            self.page = reply.text
        return reply

    def upload(self, action: str, files: list[tuple[str, tuple[str, bytes, str]]]) -> httpx.Response:
        """The form sent as multipart (its enctype), with files chosen in its file inputs."""
        fields = form_fields(self.page, action)
        return self.client.post(action, data=dict(fields), files=files, follow_redirects=False)

    def api(self, method: str, path: str, body: Any = None) -> httpx.Response:
        return self.client.request(method, path, json=body, headers={"x-csrf-token": csrf_of(self.page)})


@pytest.fixture
def world(platform: Platform) -> World:
    return workflow_world(platform)


@pytest.fixture
def browser(platform: Platform, world: World) -> Iterator[Callable[[str], Clerk]]:
    app = create_app(platform)
    clients: list[TestClient] = []

    def open_as(username: str) -> Clerk:
        client = TestClient(app)
        client.__enter__()
        clients.append(client)
        signed_in(client, username, PASSWORD)
        clerk = Clerk(client)
        clerk.open("/tasks")
        return clerk

    yield open_as
    for client in clients:
        client.__exit__(None, None, None)


def stored(platform: Platform, definition_id: int) -> definitions.DefinitionDetail:
    with platform.reader() as uow:
        return definitions.get_definition(uow, definition_id, platform.actions, SYSTEM)


def textarea(page: str) -> str:
    found = re.search(r'<textarea name="bpmn_xml" id="bpmn-xml"[^>]*>(.*?)</textarea>', page, re.S)
    assert found, "the designer has no BPMN textarea"
    return html.unescape(found.group(1))


def test_a_clerk_designs_saves_and_deploys_a_process_without_javascript(
    platform: Platform, world: World, browser: Callable[[str], Clerk]
) -> None:
    clerk = browser("civil_clerk")
    clerk.open("/admin/workflow")
    created = clerk.submit(
        "/admin/workflow", name="许可联办", key="permit", organisation_id=str(world.org_id("civil"))
    )
    assert created.status_code == 303, clerk.page[:2000]
    definition_id = int(created.headers["location"].rsplit("/", 1)[1])
    designer = f"/admin/workflow/{definition_id}"

    page = clerk.open(designer).text
    # The page contract the modeler (static/js/bpmn-designer.js) builds on.
    assert re.search(r'<form method="post" id="bpmn-form"[^>]*enctype="multipart/form-data"', page)
    assert f'data-palette-url="/api/v1/workflow/palette?definition={definition_id}"' in page
    assert '<textarea name="bpmn_xml" id="bpmn-xml"' in page
    assert '<div id="bpmn-canvas"' in page
    assert '<aside id="bpmn-properties"' in page
    assert '<input type="hidden" name="revision" value="1">' in page
    for asset in (
        "bpmn-modeler.production.min.js",
        "assets/diagram-js.css",
        "assets/bpmn-js.css",
        "assets/bpmn-font/css/bpmn.css",
    ):
        assert f"{BPMN_JS}/{asset}" in page
        assert clerk.client.get(f"{BPMN_JS}/{asset}").status_code == 200
    assert '<script src="/static/js/bpmn-designer.js"></script>' in page
    starter = textarea(page)
    assert 'name="许可联办"' in starter
    assert stored(platform, definition_id).definition.draft_bpmn == starter

    # Without JavaScript the textarea is the editor.
    five = (FILES / "five_steps.bpmn").read_text(encoding="utf-8")
    assert clerk.submit(designer, bpmn_xml=five).status_code == 303
    saved = stored(platform, definition_id)
    # A diagram is laid out for BPMN that has none, so that the modeler can draw it.
    assert (saved.definition.draft_bpmn, saved.definition.revision) == (with_layout(five), 2)
    assert saved.problems == []

    # A file replaces the diagram and brings its decision table along.
    clerk.open(designer)
    permit = (FILES / "permit.bpmn").read_bytes()
    fee = (FILES / "fee_level.dmn").read_bytes()
    uploaded = clerk.upload(
        designer,
        [
            ("bpmn_file", ("permit.bpmn", permit, "application/xml")),
            ("dmn_file", ("fee.dmn", fee, "text/xml")),
        ],
    )
    assert uploaded.status_code == 303, uploaded.text[:2000]
    saved = stored(platform, definition_id)
    assert saved.definition.draft_bpmn == with_layout(permit.decode())
    assert saved.definition.draft_dmn == (fee.decode(),)
    assert saved.definition.revision == 3

    # The review form is not published yet: the page lists what stands in the way, and deploying is refused.
    page = clerk.open(designer).text
    assert "部署前需要处理：" in page
    assert "“受理”：表单“permit-review”不存在或尚未发布" in page
    refused = clerk.submit(f"{designer}/deploy", note="首版")
    assert refused.status_code == 422
    assert "流程不能部署" in refused.text
    assert stored(platform, definition_id).definition.latest_version is None

    # A save from a page drawn before the last save is refused, and what the clerk sent stays on the page.
    stale = changed(form_fields(page, designer), revision="2", bpmn_xml=five.replace("收件", "接件"))
    conflict = clerk.client.post(designer, data=dict(stale), follow_redirects=False)
    assert conflict.status_code == 409
    assert "您的修改未保存" in conflict.text
    assert "接件" in textarea(conflict.text)
    assert stored(platform, definition_id).definition.draft_bpmn == with_layout(permit.decode())

    publish_review_form(platform, world)
    page = clerk.open(designer).text
    assert "部署前需要处理" not in page
    deployed = clerk.submit(f"{designer}/deploy", note="首版")
    assert deployed.status_code == 200
    assert "已部署第 1 版" in deployed.text
    after = stored(platform, definition_id)
    assert (after.definition.latest_version, after.definition.draft_changed) == (1, False)
    assert [v.note for v in after.versions] == ["首版"]

    palette = clerk.client.get("/api/v1/workflow/palette", params={"definition": definition_id})
    assert palette.status_code == 200
    body = palette.json()
    assert {"code": "clerk", "name": "业务经办人员"} in body["roles"]
    assert {"code": world.organisations["civil"].code, "name": "安徽省民政厅"} in body["orgs"]
    assert "workdays.deadline" in {a["name"] for a in body["actions"]}
    assert {"key": "permit-review", "title": "受理审查表"} in body["forms"]
    assert {"id": "fee_level", "name": "收费档次"} in body["decisions"]
    # Another department's clerk may not read this definition's palette.
    assert (
        browser("market_clerk")
        .client.get("/api/v1/workflow/palette", params={"definition": definition_id})
        .status_code
        == 403
    )


def start(platform: Platform, world: World, key: str, **extra: Any) -> int:
    with platform.uow() as uow:
        started = instances.start_process(
            uow,
            instances.StartProcess(definition_key=key, organisation_id=world.org_id("civil"), **extra),
            platform.actions,
            world["civil_clerk"],
        )
    return started.id


def test_a_clerk_claims_fills_in_the_steps_form_and_completes_it(
    platform: Platform, world: World, browser: Callable[[str], Clerk]
) -> None:
    publish_review_form(platform, world)
    deploy(platform, world, "permit", "permit.bpmn", "fee_level.dmn")
    instance_id = start(
        platform,
        world,
        "permit",
        data={"market_org": world.organisations["market"].code},
        business_key="BJ-1",
    )
    accept = open_task(platform, instance_id, "accept")
    clerk = browser("civil_clerk")
    assert "待认领 (1)" in clerk.page
    listed = clerk.open("/tasks?view=claimable").text
    assert TASK_LINK.findall(listed) == [(str(accept.id), "受理")]
    assert "BJ-1" in listed

    page = clerk.open(f"/tasks/{accept.id}").text
    assert "（待认领）" in page
    assert f'action="/tasks/{accept.id}/complete"' not in page
    assert clerk.submit(f"/tasks/{accept.id}/claim").status_code == 303
    page = clerk.open(f"/tasks/{accept.id}").text
    assert 'name="amount"' in page
    assert f'hx-post="/tasks/{accept.id}/check"' in page

    refused = clerk.submit(f"/tasks/{accept.id}/complete", amount="-5", opinion="金额有误")
    assert refused.status_code == 422
    assert '<div class="error-summary" role="alert"' in refused.text
    assert SUMMARY_LINK.findall(refused.text) == [("amount", "申请金额：不能小于0")]
    assert 'value="-5"' in refused.text
    assert open_task(platform, instance_id, "accept").state is TaskState.OPEN

    # With JavaScript the same check runs as the clerk leaves the field, and answers with the fields alone.
    live = clerk.client.post(
        f"/tasks/{accept.id}/check",
        data=dict(changed(form_fields(refused.text, f"/tasks/{accept.id}/complete"), _touched="amount")),
        headers={"HX-Request": "true"},
    )
    assert live.status_code == 200
    assert "<html" not in live.text
    assert '<p class="field-error" id="f-amount-error">' in live.text
    assert "申请金额：不能小于0" in live.text

    # Without JavaScript, "更新表单" redraws the form and completes nothing.
    redrawn = clerk.submit(f"/tasks/{accept.id}/complete", amount="5000", _action="refresh")
    assert redrawn.status_code == 200
    assert "error-summary" not in redrawn.text
    assert open_task(platform, instance_id, "accept").state is TaskState.OPEN

    done = clerk.submit(f"/tasks/{accept.id}/complete", amount="5000", opinion="材料齐全")
    assert done.status_code == 303
    assert done.headers["location"] == "/tasks?done=1"
    assert "已办理完成。" in clerk.open(done.headers["location"]).text
    with platform.reader() as uow:
        view = instances.get_instance(uow, instance_id, platform.actions, SYSTEM)
    assert str(view.data["amount"]) == "5000"
    assert (view.data["outcome"], view.data["opinion"]) == ("approve", "材料齐全")
    assert {t.element_id for t in view.tasks if t.state is TaskState.OPEN} == {
        "market_opinion",
        "civil_opinion",
    }
    assert "受理" in clerk.open("/tasks?view=done").text


def test_a_clerk_returns_and_delegates_through_the_task_page(
    platform: Platform, world: World, browser: Callable[[str], Clerk]
) -> None:
    deploy(platform, world, "five", "five_steps.bpmn")
    instance_id = start(platform, world, "five")
    clerk = browser("civil_clerk")
    for element in ("receive", "accept"):
        task = open_task(platform, instance_id, element)
        clerk.open(f"/tasks/{task.id}")
        assert clerk.submit(f"/tasks/{task.id}/claim").status_code == 303
        clerk.open(f"/tasks/{task.id}")
        assert clerk.submit(f"/tasks/{task.id}/complete", opinion="同意").status_code == 303

    review = open_task(platform, instance_id, "review")
    clerk.open(f"/tasks/{review.id}")
    clerk.submit(f"/tasks/{review.id}/claim")
    page = clerk.open(f"/tasks/{review.id}").text
    steps = re.findall(
        r'<option value="(\w+)">([^<]+)</option>', page.split('id="r-to"', 1)[1].split("</select>")[0]
    )
    assert steps == [("receive", "收件"), ("accept", "受理")]
    returned = clerk.submit(f"/tasks/{review.id}/return", to_element="accept", reason="材料需重新核对")
    assert returned.status_code == 303
    accept = open_task(platform, instance_id, "accept")
    assert accept.assignee_id is None
    history = clerk.open(f"/tasks/{accept.id}").text
    assert "材料需重新核对" in history

    clerk.submit(f"/tasks/{accept.id}/claim")
    page = clerk.open(f"/tasks/{accept.id}").text
    colleagues = dict(
        re.findall(
            r'<option value="(\d+)">([^<]+)</option>', page.split('id="g-to"', 1)[1].split("</select>")[0]
        )
    )
    assert "civil_clerk2" in colleagues.values()
    assert "market_clerk" not in colleagues.values()
    to = next(user_id for user_id, name in colleagues.items() if name == "civil_clerk2")
    delegated = clerk.submit(f"/tasks/{accept.id}/delegate", to_user_id=to, note="请代办")
    assert delegated.status_code == 303
    moved = open_task(platform, instance_id, "accept")
    assert (moved.assignee_id, moved.delegated_by) == (world["civil_clerk2"].user_id, "civil_clerk")

    colleague = browser("civil_clerk2")
    assert TASK_LINK.findall(colleague.open("/tasks").text) == [(str(accept.id), "受理")]
    page = colleague.open(f"/tasks/{accept.id}").text
    assert "由 civil_clerk 委派" in page
    assert colleague.submit(f"/tasks/{accept.id}/complete").status_code == 303
    assert open_task(platform, instance_id, "review").state is TaskState.OPEN


@pytest.fixture
def at() -> Iterator[list[datetime]]:
    """The platform clock, fixed and movable (China time 10:00 on the day given)."""
    now = [datetime(2026, 9, 28, 2, 0, tzinfo=UTC)]
    previous = clock.set_clock(lambda: now[0])
    yield now
    clock.set_clock(previous)


def test_supervisors_see_the_time_limit_charts_and_clerks_are_refused(
    platform: Platform, world: World, browser: Callable[[str], Clerk], at: list[datetime]
) -> None:
    deploy(platform, world, "five", "five_steps.bpmn")
    start(platform, world, "five", legal_limit={"amount": 2})
    start(platform, world, "five", legal_limit={"amount": 20})
    at[0] = datetime(2026, 10, 12, 2, 0, tzinfo=UTC)
    boss = browser("civil_boss")
    page = boss.open("/admin/workflow/supervision").text
    # Thirty days back and today, one bar each; the instance due on 09-30 has been late since 10-01.
    assert re.search(r'<svg class="trend" viewBox="0 0 310 60" role="img"', page)
    assert "<title>2026-09-30：超期 0，办结 0</title>" in page
    assert "<title>2026-10-12：超期 1，办结 0</title>" in page
    bars = re.findall(r'<svg class="stack"[^>]*aria-label="([^"]+)"', page)
    assert bars, "no distribution bar per process"
    assert bars == ["超期 1，正常 1", "超期 1，正常 1"]  # by process, by department
    assert "<code>five</code>" in page
    assert "安徽省民政厅" in page
    assert "暂无超期件" not in page

    clerk = browser("civil_clerk")
    refused = clerk.client.get("/admin/workflow/supervision")
    assert refused.status_code == 403
    assert "效能监察" not in clerk.open("/admin").text


def test_the_json_api_starts_lists_claims_and_completes(
    platform: Platform, world: World, browser: Callable[[str], Clerk]
) -> None:
    publish_review_form(platform, world)
    deploy(platform, world, "permit", "permit.bpmn", "fee_level.dmn")
    clerk = browser("civil_clerk")
    started = clerk.api(
        "POST",
        "/api/v1/workflow/instances",
        {
            "definition_key": "permit",
            "organisation_id": world.org_id("civil"),
            "business_key": "BJ-API-1",
            "data": {"market_org": world.organisations["market"].code},
            "legal_limit": {"amount": 20},
        },
    )
    assert started.status_code == 201, started.text
    instance = started.json()
    assert (instance["status"], instance["business_key"], instance["version"]) == ("running", "BJ-API-1", 1)
    [accept] = instance["tasks"]
    assert (accept["element_id"], accept["form_key"], accept["assignee"]) == ("accept", "permit-review", None)

    claimable = clerk.api("GET", "/api/v1/workflow/tasks?view=claimable").json()
    assert [(t["id"], t["business_key"]) for t in claimable["items"]] == [(accept["id"], "BJ-API-1")]
    assert claimable["total"] == 1
    claimed = clerk.api("POST", f"/api/v1/workflow/tasks/{accept['id']}/claim")
    assert claimed.status_code == 200
    assert claimed.json()["assignee"] == "civil_clerk"
    assert clerk.api("GET", "/api/v1/workflow/tasks").json()["total"] == 1

    bad = clerk.api(
        "POST",
        f"/api/v1/workflow/tasks/{accept['id']}/complete",
        {"answers": {"amount": -5}, "outcome": "approve"},
    )
    assert bad.status_code == 422
    error = bad.json()["error"]
    assert error["code"] == "workflow_form_invalid"
    assert [(p["path"], p["code"]) for p in error["details"]["problems"]] == [("amount", "below_minimum")]
    good = clerk.api(
        "POST",
        f"/api/v1/workflow/tasks/{accept['id']}/complete",
        {"answers": {"amount": 5000, "remark": "齐全"}, "outcome": "approve", "opinion": "同意"},
    )
    assert good.status_code == 200, good.text
    after = good.json()
    assert {t["element_id"] for t in after["tasks"]} == {"market_opinion", "civil_opinion"}
    view = clerk.api("GET", f"/api/v1/workflow/instances/{instance['id']}").json()
    assert view["data"]["amount"] == "5000"
    assert view["clocks"][0]["kind"] == "legal"
    kinds = [h["kind"] for h in view["history"]]
    assert kinds.index("started") < kinds.index("task_claimed") < kinds.index("task_completed")
    assert view["status"] == InstanceStatus.RUNNING.value
