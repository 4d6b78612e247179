"""Issue #6 acceptance: a form built in the designer renders and validates identically with JavaScript off and
on, in a real browser (Debian chromium, headless) against the real app and its Content-Security-Policy.

The same person fills in the same wrong answers twice, once with JavaScript disabled and once enabled, and
submits; the problems each page shows, field by field and in the summary, are the same, and are the server's
own evaluation of those answers. With JavaScript the form also checks itself as the person goes: a choice
shows the field it governs without a page load, a field left with a bad value says so before any submission,
answers typed while a check is under way are kept, and the "更新表单" button that a page without JavaScript
needs is gone.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator

import pytest
from browser_support import (  # type: ignore[import-not-found]
    CHROMIUM,
    live_app,
    shown_problems,
    summary_problems,
    watch,
)
from forms_world import MARRIAGE, forms_world
from playwright.sync_api import Browser, Page, Route, expect, sync_playwright

from wanshi.bootstrap import Platform
from wanshi.forms import services
from wanshi.kernel.actor import SYSTEM
from worlds import World

pytestmark = [
    pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian chromium (/usr/bin/chromium) is not installed"),
    pytest.mark.slow,
]

# Wrong in every way a person gets a form wrong: a mistyped check digit, a number that is not one, and the
# fields that choosing "divorce" makes necessary (the agreement by its condition, the phone by a rule) left
# out.
WRONG = {"name": "王五", "id_number": "340102199003070011", "fee": "二十"}


@pytest.fixture
def world(platform: Platform) -> World:
    built = forms_world(platform)
    with platform.uow() as uow:
        created = services.create_form(
            uow,
            services.CreateForm(key="marriage", organisation_id=built.org_id("civil"), title="婚姻登记"),
            built["civil_a"],
        )
    with platform.uow() as uow:
        services.save_draft(
            uow, services.SaveDraft(form_id=created.id, revision=1, document=MARRIAGE), built["civil_a"]
        )
    with platform.uow() as uow:
        services.publish_form(uow, services.PublishForm(form_id=created.id, revision=2), built["civil_a"])
    return built


@pytest.fixture
def base_url(platform: Platform, world: World) -> Iterator[str]:
    with live_app(platform) as url:
        yield url


@pytest.fixture(scope="module")
def chromium() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True)
        yield launched
        launched.close()


def open_form(chromium: Browser, base_url: str, *, javascript: bool) -> tuple[Page, list[str]]:
    context = chromium.new_context(java_script_enabled=javascript, locale="zh-CN")
    page = context.new_page()
    problems = watch(page)
    page.goto(f"{base_url}/forms/marriage")
    expect(page.locator("h1")).to_have_text("婚姻登记预约申请表")
    return page, problems


def fill_wrong(page: Page) -> None:
    for name, value in WRONG.items():
        page.locator(f"[name='{name}']").fill(value)
    page.get_by_label("离婚登记").check()


def submit(page: Page) -> None:
    page.get_by_role("button", name="提交", exact=True).click()
    expect(page.locator(".error-summary")).to_be_visible()


def server_problems(platform: Platform) -> set[tuple[str, str]]:
    with platform.reader() as uow:
        document = services.published_form(uow, "marriage", SYSTEM).document
    answers = {**{k: [v] for k, v in WRONG.items()}, "kind": ["divorce"]}
    return {(p.path, p.message) for p in services.check_answers(document, answers).problems}


def test_the_same_wrong_answers_give_the_same_problems_with_javascript_off_and_on(
    platform: Platform, base_url: str, chromium: Browser
) -> None:
    expected = server_problems(platform)
    assert {path for path, _ in expected} == {"id_number", "phone", "agreement", "date", "fee", "consent"}
    seen = {}
    for javascript in (False, True):
        page, problems = open_form(chromium, base_url, javascript=javascript)
        fill_wrong(page)
        submit(page)
        seen[javascript] = (shown_problems(page), summary_problems(page))
        # The submission's own answer is the only failure: 422, the answers need correcting.
        assert problems == ["422 POST /forms/marriage"], (javascript, problems)
        page.context.close()
    assert seen[False] == seen[True]
    assert seen[False] == (expected, expected)


def test_with_javascript_the_form_checks_itself_as_the_person_goes(base_url: str, chromium: Browser) -> None:
    page, problems = open_form(chromium, base_url, javascript=True)
    loads: list[str] = []
    page.on("load", lambda _: loads.append(page.url))
    expect(page.get_by_role("button", name="更新表单")).to_be_hidden()
    expect(page.locator("[name='agreement']")).to_have_count(0)

    page.get_by_label("离婚登记").check()
    expect(page.get_by_label("离婚协议要点")).to_be_visible()
    # The rule "离婚须填写电话" marks the phone required as soon as the choice is made.
    expect(page.locator("label[for='f-phone'] .required")).to_have_count(1)
    # Nothing is scolded that the person has not reached yet.
    expect(page.locator(".field-error")).to_have_count(0)

    page.locator("[name='id_number']").fill("340102199003070011")
    page.locator("[name='id_number']").press("Tab")
    expect(page.locator("#f-id_number-error")).to_contain_text("校验码错误")
    # The redrawn fields keep the person where they were: the field they moved on to still has the focus.
    expect(page.locator("#f-phone")).to_be_focused()
    expect(page.locator(".field-error")).to_have_count(1)

    page.locator("[name='id_number']").fill("340102199003070010")
    page.locator("[name='id_number']").press("Tab")
    expect(page.locator("#f-id_number-error")).to_have_count(0)
    expect(page.locator("[name='id_number']")).to_have_value("340102199003070010")

    page.get_by_label("结婚登记").check()
    expect(page.locator("[name='agreement']")).to_have_count(0)
    # The rule "结婚登记免工本费" fills the fee in.
    expect(page.locator("[name='fee']")).to_have_value("0")
    assert loads == []
    assert problems == []


def test_answers_typed_while_a_check_is_running_are_kept_and_checked(
    base_url: str, chromium: Browser
) -> None:
    page, problems = open_form(chromium, base_url, javascript=True)
    held: list[Route] = []

    def hold(route: Route) -> None:
        # Only the first check is held back; the ones after it go through.
        if held:
            route.continue_()
        else:
            held.append(route)

    page.route("**/forms/marriage/check", hold)

    page.locator("[name='name']").fill("王五")
    page.locator("[name='name']").press("Tab")
    wait_for(page, lambda: len(held) == 1)
    # The server has not answered yet; the person goes on: a choice, then the first digits of their ID number.
    page.get_by_label("离婚登记").check()
    page.locator("[name='id_number']").press_sequentially("3401021990")
    held[0].continue_()

    # The answer to the name's check arrives; nothing chosen or typed meanwhile is lost, the choice is checked
    # in turn (it draws the agreement), the cursor stays in the ID number, and the ID number is not scolded
    # while the person is still typing it.
    expect(page.get_by_label("离婚协议要点")).to_be_visible()
    expect(page.locator("[name='name']")).to_have_value("王五")
    expect(page.get_by_label("离婚登记")).to_be_checked()
    expect(page.locator("[name='id_number']")).to_have_value("3401021990")
    expect(page.locator("[name='id_number']")).to_be_focused()
    expect(page.locator(".field-error")).to_have_count(0)
    page.keyboard.type("03070011")
    page.keyboard.press("Tab")
    expect(page.locator("#f-id_number-error")).to_contain_text("校验码错误")
    expect(page.locator("[name='id_number']")).to_have_value("340102199003070011")
    expect(page.locator("[name='_touched']")).to_have_value(re.compile(r"^(?=.*\bname\b)(?=.*\bid_number\b)"))
    assert problems == []


def test_when_htmx_cannot_load_the_page_works_as_without_javascript(base_url: str, chromium: Browser) -> None:
    context = chromium.new_context(locale="zh-CN")
    context.route("**/htmx.min.js", lambda route: route.abort())
    page = context.new_page()
    page.goto(f"{base_url}/forms/marriage")
    page.get_by_label("离婚登记").check()
    expect(page.get_by_role("button", name="更新表单")).to_be_visible()
    page.get_by_role("button", name="更新表单").click()
    expect(page.get_by_label("离婚协议要点")).to_be_visible()
    expect(page.get_by_label("离婚登记")).to_be_checked()
    context.close()


def wait_for(page: Page, condition: Callable[[], bool]) -> None:
    """Let the browser run (route handlers are called meanwhile) until the condition holds."""
    for _ in range(100):
        if condition():
            return
        page.wait_for_timeout(50)
    raise AssertionError("the browser never got there")
