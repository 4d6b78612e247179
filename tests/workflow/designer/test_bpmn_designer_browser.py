"""The BPMN designer in a real browser: the vendored bpmn-js modeler plus our Chinese properties panel.

A tiny Starlette app serves the static tree, a harness page that follows the lead's template contract, the
palette fixture and a POST endpoint that records what the form sent. Headless Debian chromium drives it the
way a clerk would: through the canvas's context pad and the panel's form controls.
"""

from __future__ import annotations

import html
import re
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import uvicorn
from lxml import etree
from playwright.sync_api import Browser, Page, expect, sync_playwright
from SpiffWorkflow.bpmn.parser.BpmnParser import BpmnParser, BpmnValidator
from SpiffWorkflow.bpmn.specs.defaults import ServiceTask, UserTask
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import FileResponse, HTMLResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from wanshi.web.middleware import CSP

CHROMIUM = Path("/usr/bin/chromium")
HERE = Path(__file__).parent
STATIC = Path(__file__).parents[3] / "src" / "wanshi" / "web" / "static"
BPMN_JS = "bpmn-js-18.31.1"
NS = {
    "bpmn": "http://www.omg.org/spec/BPMN/20100524/MODEL",
    "wanshi": "http://wanshi.org/schema/bpmn/1",
}
WANSHI = "{http://wanshi.org/schema/bpmn/1}"
CJK = re.compile(r"[\u4e00-\u9fff]")

pytestmark = [
    pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian chromium (/usr/bin/chromium) is not installed"),
    pytest.mark.slow,
]

PAGE = """<!doctype html>
<html lang="zh-CN">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>流程设计</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="/static/css/wanshi.css">
<link rel="stylesheet" href="/static/vendor/{v}/assets/diagram-js.css">
<link rel="stylesheet" href="/static/vendor/{v}/assets/bpmn-js.css">
<link rel="stylesheet" href="/static/vendor/{v}/assets/bpmn-font/css/bpmn.css">
<link rel="stylesheet" href="/static/css/bpmn-designer.css">
</head>
<body>
<main class="wrap">
<h1>流程设计</h1>
<form method="post" id="bpmn-form" class="bpmn-designer" data-palette-url="/api/v1/workflow/palette">
  <input type="hidden" name="csrf_token" value="token-123">
  <input type="hidden" name="revision" value="3">
  <textarea name="bpmn_xml" id="bpmn-xml" class="bpmn-source" rows="20">{xml}</textarea>
  <div id="bpmn-canvas" class="bpmn-canvas" aria-label="流程图画布"></div>
  <aside id="bpmn-properties" class="bpmn-properties" aria-label="环节属性"></aside>
  <button type="submit">保存草稿</button>
</form>
</main>
<script src="/static/vendor/{v}/bpmn-modeler.production.min.js"></script>
<script src="/static/js/bpmn-designer.js"></script>
</body>
</html>
"""


@dataclass
class Harness:
    base_url: str
    sources: dict[str, str] = field(default_factory=dict)
    posts: dict[str, list[dict[str, str]]] = field(default_factory=dict)

    def page_url(self, case: str, xml: str = "") -> str:
        self.sources[case] = xml
        return f"{self.base_url}/designer/{case}"


def build_app(harness: Harness) -> Starlette:
    # The platform's Content-Security-Policy applies, so a vendored file that needs inline styles, data: fonts
    # or another origin fails here as it would in production.
    headers = {"Content-Security-Policy": CSP}

    async def designer(request: Request) -> Response:
        case = request.path_params["case"]
        if request.method == "POST":
            form = await request.form()
            harness.posts.setdefault(case, []).append({key: str(value) for key, value in form.items()})
            return HTMLResponse("<!doctype html><title>已保存</title><p>已保存</p>", headers=headers)
        page = PAGE.format(v=BPMN_JS, xml=html.escape(harness.sources[case]))
        return HTMLResponse(page, headers=headers)

    async def palette(request: Request) -> Response:
        return FileResponse(HERE / "palette.json", media_type="application/json", headers=headers)

    return Starlette(
        routes=[
            Route("/designer/{case}", designer, methods=["GET", "POST"]),
            Route("/api/v1/workflow/palette", palette),
            Mount("/static", StaticFiles(directory=STATIC)),
        ]
    )


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@pytest.fixture(scope="module")
def harness() -> Iterator[Harness]:
    port = free_port()
    state = Harness(base_url=f"http://127.0.0.1:{port}")
    server = uvicorn.Server(
        uvicorn.Config(build_app(state), host="127.0.0.1", port=port, log_level="warning")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert time.monotonic() < deadline, "harness server did not start"
        time.sleep(0.05)
    yield state
    server.should_exit = True
    thread.join(timeout=10)


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True)
        yield chromium
        chromium.close()


@dataclass
class Visit:
    page: Page
    requests: list[str]
    problems: list[str]


@pytest.fixture
def visit(browser: Browser) -> Iterator[Visit]:
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="zh-CN")
    page = context.new_page()
    seen = Visit(page=page, requests=[], problems=[])
    page.on("request", lambda request: seen.requests.append(request.url))
    page.on("pageerror", lambda error: seen.problems.append(f"page error: {error}"))
    page.on(
        "console",
        lambda message: (
            seen.problems.append(f"console {message.type}: {message.text}")
            if message.type == "error"
            else None
        ),
    )
    yield seen
    context.close()


def open_designer(visit: Visit, url: str) -> Page:
    page = visit.page
    page.goto(url)
    expect(page.locator("#bpmn-properties h2")).to_have_text("环节属性")
    return page


def posted(harness: Harness, case: str) -> dict[str, str]:
    deadline = time.monotonic() + 10
    while not harness.posts.get(case):
        assert time.monotonic() < deadline, "the form was not posted"
        time.sleep(0.05)
    return harness.posts[case][-1]


def attr(node: etree._Element, name: str) -> str | None:
    value = node.get(name)
    return None if value is None else str(value)


def test_clerk_designs_user_and_service_task_and_saves_valid_bpmn(harness: Harness, visit: Visit) -> None:
    page = open_designer(visit, harness.page_url("fresh"))
    panel = page.locator("#bpmn-properties")

    # The textarea stays in the form but the modeler replaces it; a fresh diagram has one start event.
    expect(page.locator("#bpmn-xml")).to_be_hidden()
    expect(page.locator("#bpmn-canvas svg").first).to_be_visible()
    expect(page.locator('[data-element-id="StartEvent_1"]')).to_have_count(1)
    expect(page.locator(".bjs-powered-by")).to_be_visible()

    palette_labels = page.locator(".djs-palette .entry").evaluate_all(
        "es => es.map(e => e.getAttribute('aria-label'))"
    )
    assert "创建开始事件" in palette_labels
    assert "创建任务" in palette_labels
    assert all(label and CJK.search(label) for label in palette_labels), palette_labels
    page.hover('.djs-palette [data-action="hand-tool"]')
    expect(page.locator(".djs-palette-tooltip-label")).to_contain_text("启用抓手工具")
    page.hover('.djs-palette [data-action="create.task"]')
    expect(page.locator(".djs-palette-tooltip-label")).to_have_text("创建任务")

    # Append a task from the start event's context pad and turn it into a user task, as with the mouse.
    page.locator('[data-element-id="StartEvent_1"]').click()
    pad = page.locator(".djs-context-pad")
    expect(pad.locator('[data-action="append.append-task"]')).to_have_attribute("title", "追加任务")
    pad.locator('[data-action="append.append-task"]').click()
    pad.locator('[data-action="replace"]').click()
    expect(page.locator(".djs-popup .entry", has_text="用户任务")).to_be_visible()
    page.locator('.djs-popup [data-id="replace-with-user-task"]').click()
    expect(panel.locator("fieldset legend", has_text="用户任务")).to_be_visible()

    labels = panel.locator("label, legend").all_inner_texts()
    assert labels
    assert all(CJK.search(text) for text in labels), labels

    panel.get_by_label("名称", exact=True).fill("受理")
    # Enter in a panel field must not submit the whole form.
    panel.get_by_label("名称", exact=True).press("Enter")
    panel.get_by_label("窗口受理人员").check()
    panel.get_by_label("省数据资源局").check()
    panel.get_by_label("由流程变量确定的部门").fill("handling_org")
    expect(panel.locator("#bpmn-prop-org-variables")).to_have_attribute("aria-invalid", "true")
    expect(panel.locator("#bpmn-prop-org-variables-error")).to_contain_text("须以 $ 开头")
    panel.get_by_label("由流程变量确定的部门").fill("$handling_org")
    expect(panel.locator("#bpmn-prop-org-variables")).not_to_have_attribute("aria-invalid", "true")
    panel.get_by_label("表单").select_option(label="出生登记申请表")
    panel.get_by_label("环节时限（工作日）").fill("3")
    assert panel.get_by_label("标识").get_attribute("readonly") is not None
    user_task_id = panel.get_by_label("标识").input_value()

    # The keyboard route: append the next step from the panel instead of the canvas.
    panel.get_by_role("button", name="服务任务").click()
    expect(panel.locator("fieldset legend", has_text="服务任务")).to_be_visible()
    expect(panel.get_by_label("名称", exact=True)).to_be_focused()
    panel.get_by_label("名称", exact=True).fill("核验身份")
    panel.get_by_label("平台动作").select_option(label="核验人口信息（registry.verify_person）")
    expect(panel.get_by_label("身份证号（必填）")).to_have_attribute("aria-required", "true")
    panel.get_by_label("身份证号（必填）").fill("applicant_id_number")
    panel.get_by_label("结果变量").fill("person")
    service_task_id = panel.get_by_label("标识").input_value()
    panel.get_by_role("button", name="结束事件").click()
    panel.get_by_label("名称", exact=True).fill("办结")

    panel.get_by_label("当前元素").select_option(label="（流程本身）")
    expect(panel.locator(".bpmn-type")).to_have_text("类型：流程")
    panel.get_by_label("名称", exact=True).fill("出生登记")

    assert "fresh" not in harness.posts
    page.get_by_role("button", name="保存草稿").click()
    form = posted(harness, "fresh")

    assert set(form) == {"csrf_token", "revision", "bpmn_xml"}
    assert (form["csrf_token"], form["revision"]) == ("token-123", "3")
    xml = form["bpmn_xml"].encode()
    root = etree.fromstring(xml)
    process = root.find("bpmn:process", NS)
    assert process is not None
    process_id = attr(process, "id") or ""
    assert re.fullmatch(r"Process_\w+", process_id)
    assert attr(process, "isExecutable") == "true"
    assert attr(process, "name") == "出生登记"

    user_task = process.find(f"bpmn:userTask[@id='{user_task_id}']", NS)
    assert user_task is not None
    assert attr(user_task, "name") == "受理"
    assert attr(user_task, f"{WANSHI}roles") == "clerk"
    assert attr(user_task, f"{WANSHI}orgs") == "340000-SJ,$handling_org"
    assert attr(user_task, f"{WANSHI}form") == "birth-registration"
    assert attr(user_task, f"{WANSHI}timeLimit") == "3"

    service_task = process.find(f"bpmn:serviceTask[@id='{service_task_id}']", NS)
    assert service_task is not None
    assert attr(service_task, "name") == "核验身份"
    assert attr(service_task, f"{WANSHI}action") == "registry.verify_person"
    assert attr(service_task, f"{WANSHI}resultVariable") == "person"
    inputs = service_task.findall("bpmn:extensionElements/wanshi:Input", NS)
    assert [(attr(i, "name"), attr(i, "expression")) for i in inputs] == [
        ("id_number", "applicant_id_number")
    ]

    flows = {
        (attr(flow, "sourceRef"), attr(flow, "targetRef"))
        for flow in process.findall("bpmn:sequenceFlow", NS)
    }
    start = process.find("bpmn:startEvent", NS)
    end = process.find("bpmn:endEvent", NS)
    assert start is not None
    assert end is not None
    assert flows == {
        (attr(start, "id"), user_task_id),
        (user_task_id, service_task_id),
        (service_task_id, attr(end, "id")),
    }

    parser = BpmnParser(validator=BpmnValidator())
    parser.add_bpmn_str(xml)
    spec = parser.get_spec(process_id)
    assert isinstance(spec.task_specs[user_task_id], UserTask)
    assert spec.task_specs[user_task_id].bpmn_name == "受理"
    assert isinstance(spec.task_specs[service_task_id], ServiceTask)

    # Nothing came from anywhere but our own server, and the page ran without errors under the platform CSP.
    assert all(url.startswith(harness.base_url) or url.startswith("data:") for url in visit.requests)
    assert visit.problems == []


def test_panel_edits_gateways_timers_rules_and_scripts_with_undo(harness: Harness, visit: Visit) -> None:
    source = (HERE / "review_process.bpmn").read_text(encoding="utf-8")
    page = open_designer(visit, harness.page_url("review", source))
    panel = page.locator("#bpmn-properties")
    choose = panel.get_by_label("当前元素")

    # Values already in the diagram are shown, including codes the catalogue no longer lists.
    choose.select_option(label="用户任务：审核")
    expect(panel.get_by_label("窗口受理人员")).to_be_checked()
    expect(panel.get_by_label("审核人员")).not_to_be_checked()
    expect(panel.get_by_label("ghost-role（不在目录中）")).to_be_checked()
    expect(panel.get_by_label("合肥市公安局")).to_be_checked()
    expect(panel.get_by_label("由流程变量确定的部门")).to_have_value("$handling_org")
    expect(panel.get_by_label("环节时限（工作日）")).to_have_value("2")
    expect(panel.get_by_label("表单")).to_have_value("")

    # A panel edit is one command on bpmn-js's stack: undo on the canvas reverts it and the panel follows.
    panel.get_by_label("名称", exact=True).fill("初审")
    expect(page.locator('[data-element-id="Task_review"]')).to_contain_text("初审")
    page.locator("#bpmn-canvas svg").first.focus()
    page.keyboard.press("Control+z")
    expect(panel.get_by_label("名称", exact=True)).to_have_value("审核")

    choose.select_option(label="边界事件：超期")
    expect(panel.get_by_label("定时方式")).to_have_value("workdays")
    expect(panel.get_by_label("工作日数")).to_have_value("5")
    expect(panel.get_by_label("时长（ISO 8601）")).to_be_hidden()
    panel.get_by_label("定时方式").select_option(label="按时长")
    expect(panel.get_by_label("工作日数")).to_be_hidden()
    panel.get_by_label("时长（ISO 8601）").fill("4小时")
    expect(panel.locator("#bpmn-prop-timer-duration-error")).to_contain_text("ISO 8601")
    panel.get_by_label("时长（ISO 8601）").fill("PT4H")
    expect(panel.locator("#bpmn-prop-timer-duration-error")).to_be_hidden()

    choose.select_option(label="中间捕获事件：等待缴费")
    expect(panel.get_by_label("定时方式")).to_have_value("duration")
    expect(panel.get_by_label("时长（ISO 8601）")).to_have_value("PT4H")
    panel.get_by_label("定时方式").select_option(label="按工作日")
    panel.get_by_label("工作日数").fill("10")

    choose.select_option(label="顺序流：收费")
    panel.get_by_label("条件表达式").fill('fee_level != "免费"')
    choose.select_option(label="顺序流：免费")
    panel.get_by_label("条件表达式").fill("True")
    # A default flow carries no condition: making it the default drops the condition, and one undo brings
    # both back.
    panel.get_by_label("默认流").check()
    expect(panel.get_by_label("条件表达式")).to_be_disabled()
    expect(panel.get_by_label("条件表达式")).to_have_value("")
    page.locator("#bpmn-canvas svg").first.focus()
    page.keyboard.press("Control+z")
    expect(panel.get_by_label("默认流")).not_to_be_checked()
    expect(panel.get_by_label("条件表达式")).to_have_value("True")
    panel.get_by_label("默认流").check()
    expect(panel.get_by_label("条件表达式")).to_be_disabled()
    choose.select_option(label="顺序流：收费")
    expect(panel.get_by_label("默认流")).not_to_be_checked()
    expect(panel.get_by_label("条件表达式")).to_have_value('fee_level != "免费"')

    choose.select_option(label="业务规则任务：定档")
    panel.get_by_label("决策表").select_option(label="收费档次（fee_level）")
    panel.get_by_label("结果变量").fill("1fee")
    expect(panel.get_by_label("结果变量")).to_have_attribute("aria-invalid", "true")
    panel.get_by_label("结果变量").fill("fee_level")

    choose.select_option(label="脚本任务：计算金额")
    script = panel.get_by_label("脚本")
    script.fill("amount = 20 if fee_level == '标准' else 10\n")
    assert "monospace" in script.evaluate("e => getComputedStyle(e).fontFamily")

    page.get_by_role("button", name="保存草稿").click()
    root = etree.fromstring(posted(harness, "review")["bpmn_xml"].encode())
    BpmnValidator().validate(root)
    process = root.find("bpmn:process", NS)
    assert process is not None

    def one(path: str) -> etree._Element:
        found = process.find(path, NS)
        assert found is not None, path
        return found

    assert attr(one("bpmn:userTask"), "name") == "审核"
    assert attr(one("bpmn:userTask"), f"{WANSHI}roles") == "clerk,ghost-role"
    late = one("bpmn:boundaryEvent/bpmn:timerEventDefinition")
    assert late.find("bpmn:timeDate", NS) is None
    assert one("bpmn:boundaryEvent/bpmn:timerEventDefinition/bpmn:timeDuration").text == '"PT4H"'
    wait = one("bpmn:intermediateCatchEvent/bpmn:timerEventDefinition")
    assert wait.find("bpmn:timeDuration", NS) is None
    assert one("bpmn:intermediateCatchEvent/bpmn:timerEventDefinition/bpmn:timeDate").text == (
        "working_days_after(10)"
    )
    assert attr(one("bpmn:exclusiveGateway"), "default") == "Flow_free"
    condition = one("bpmn:sequenceFlow[@id='Flow_pay']/bpmn:conditionExpression")
    assert condition.text == 'fee_level != "免费"'
    assert attr(condition, "{http://www.w3.org/2001/XMLSchema-instance}type") == "bpmn:tFormalExpression"
    assert one("bpmn:sequenceFlow[@id='Flow_free']").find("bpmn:conditionExpression", NS) is None
    rule = one("bpmn:businessRuleTask")
    assert (attr(rule, f"{WANSHI}decision"), attr(rule, f"{WANSHI}resultVariable")) == (
        "fee_level",
        "fee_level",
    )
    script_task = one("bpmn:scriptTask")
    assert attr(script_task, "scriptFormat") == "python"
    assert one("bpmn:scriptTask/bpmn:script").text == "amount = 20 if fee_level == '标准' else 10\n"
    assert visit.problems == []


def test_broken_xml_is_reported_in_chinese_and_the_textarea_stays_the_editor(
    harness: Harness, visit: Visit
) -> None:
    broken = "<bpmn:definitions>not closed"
    page = visit.page
    page.goto(harness.page_url("broken", broken))
    status = page.locator(".bpmn-status")
    expect(status).to_contain_text("流程定义无法载入")
    assert status.get_attribute("aria-live") == "polite"
    expect(page.locator("#bpmn-xml")).to_be_visible()
    expect(page.locator("#bpmn-canvas")).to_be_hidden()
    expect(page.locator("#bpmn-properties")).to_be_hidden()

    page.locator("#bpmn-xml").fill(broken + " fixed by hand")
    page.get_by_role("button", name="保存草稿").click()
    assert posted(harness, "broken")["bpmn_xml"] == broken + " fixed by hand"


def test_on_a_phone_the_panel_sits_below_the_canvas_without_sideways_scrolling(
    harness: Harness, visit: Visit
) -> None:
    page = visit.page
    page.set_viewport_size({"width": 360, "height": 740})
    open_designer(visit, harness.page_url("phone"))
    canvas = page.locator("#bpmn-canvas").bounding_box()
    panel = page.locator("#bpmn-properties").bounding_box()
    assert canvas is not None
    assert panel is not None
    assert panel["y"] >= canvas["y"] + canvas["height"]
    assert panel["width"] <= 360
    assert page.evaluate("document.documentElement.scrollWidth") <= 360
    expect(page.locator(".bjs-powered-by")).to_be_visible()

    page.set_viewport_size({"width": 1280, "height": 900})
    canvas = page.locator("#bpmn-canvas").bounding_box()
    panel = page.locator("#bpmn-properties").bounding_box()
    assert canvas is not None
    assert panel is not None
    assert panel["x"] >= canvas["x"] + canvas["width"]
    assert visit.problems == []
