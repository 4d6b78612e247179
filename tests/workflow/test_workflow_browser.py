"""The process designer page as the app serves it (issue #6), in a real browser: Debian chromium, headless,
against the real app with its Content-Security-Policy, signed in through the login pages with the second
factor.

The vendored bpmn-js modeler draws the stored draft, the Chinese panel (filled from the app's own palette API)
changes a user task's candidate roles, and "保存草稿" stores the new XML through the page's form, with the
revision the page was drawn from.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from lxml import etree
from playwright.sync_api import Browser, expect, sync_playwright
from workflow_world import workflow_world

from wanshi.bootstrap import Platform
from wanshi.kernel.actor import SYSTEM
from wanshi.workflow.services import definitions
from worlds import PASSWORD, World

# The browser helpers live beside the forms' browser tests (test folders are not packages).
sys.path.append(str(Path(__file__).parents[1] / "forms"))
from browser_support import CHROMIUM, browser_sign_in, live_app, watch  # type: ignore[import-not-found]

pytestmark = [
    pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian chromium (/usr/bin/chromium) is not installed"),
    pytest.mark.slow,
]
NS = {"bpmn": "http://www.omg.org/spec/BPMN/20100524/MODEL"}
ROLES = "{http://wanshi.org/schema/bpmn/1}roles"


@pytest.fixture
def world(platform: Platform) -> World:
    return workflow_world(platform)


@pytest.fixture
def definition_id(platform: Platform, world: World) -> int:
    """A new definition: the platform's starter diagram (start, one user task "审核" for clerks, end)."""
    with platform.uow() as uow:
        return definitions.create_definition(
            uow,
            definitions.CreateDefinition(
                key="approval", organisation_id=world.org_id("civil"), name="审核流程"
            ),
            world["civil_clerk"],
        ).id


@pytest.fixture
def chromium() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True)
        yield launched
        launched.close()


def stored(platform: Platform, definition_id: int) -> definitions.DefinitionDetail:
    with platform.reader() as uow:
        return definitions.get_definition(uow, definition_id, platform.actions, SYSTEM)


def test_the_designer_page_loads_the_draft_and_saves_a_panel_edit(
    platform: Platform, definition_id: int, chromium: Browser
) -> None:
    with live_app(platform) as base_url:
        context = chromium.new_context(viewport={"width": 1280, "height": 900}, locale="zh-CN")
        page = context.new_page()
        browser_sign_in(page, base_url, "civil_clerk", PASSWORD)
        problems = watch(page)
        requests: list[str] = []
        page.on("request", lambda request: requests.append(request.url))

        page.goto(f"{base_url}/admin/workflow/{definition_id}")
        panel = page.locator("#bpmn-properties")
        expect(panel.locator("h2")).to_have_text("环节属性")
        # The modeler drew the stored draft in place of the textarea.
        expect(page.locator("#bpmn-xml")).to_be_hidden()
        for element in ("start", "review", "end"):
            expect(page.locator(f'[data-element-id="{element}"]')).to_have_count(1)
        expect(page.locator('[data-element-id="review"]')).to_contain_text("审核")

        panel.get_by_label("当前元素").select_option(label="用户任务：审核")
        # The candidate roles come from the app's palette, with the platform's names.
        expect(panel.get_by_label("业务经办人员")).to_be_checked()
        expect(panel.get_by_label("监督人员")).not_to_be_checked()
        panel.get_by_label("监督人员").check()
        panel.get_by_label("业务经办人员").uncheck()
        panel.get_by_label("环节时限（工作日）").fill("3")
        panel.get_by_label("等待期间暂停计时").select_option(label="补正")

        page.get_by_role("button", name="保存草稿").click()
        page.wait_for_url(f"{base_url}/admin/workflow/{definition_id}")
        expect(page.locator(".hint").first).to_contain_text("第 2 次保存")

        saved = stored(platform, definition_id)
        assert saved.definition.revision == 2
        assert saved.problems == []
        process = etree.fromstring(saved.definition.draft_bpmn.encode()).find("bpmn:process", NS)
        assert process is not None
        roles = {task.get("id"): task.get(ROLES) for task in process.findall("bpmn:userTask", NS)}
        assert roles == {"review": "supervisor"}
        review = process.find("bpmn:userTask[@id='review']", NS)
        assert review is not None
        assert review.get("{http://wanshi.org/schema/bpmn/1}timeLimit") == "3"
        assert review.get("{http://wanshi.org/schema/bpmn/1}pause") == "supplement"

        # The page drawn after the save shows the stored change.
        panel.get_by_label("当前元素").select_option(label="用户任务：审核")
        expect(panel.get_by_label("监督人员")).to_be_checked()
        expect(panel.get_by_label("业务经办人员")).not_to_be_checked()
        assert all(url.startswith(base_url) or url.startswith("data:") for url in requests)
        assert problems == []
        context.close()
