"""The forms centre through the web app (issue #6): a clerk builds, previews and publishes a form in
/admin/forms from plain controls, two editors meet a conflict and replay their step, and an applicant fills in
the published form at /forms/{key} without JavaScript, with the live-check fragment and the JSON API giving
the same verdict as the page.

Every post is what a browser would send from the page's own form (``form_fields``), signed in through the real
login pages with the second factor.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from browser_support import changed, csrf_of, form_fields  # type: ignore[import-not-found]
from fastapi.testclient import TestClient
from forms_world import ID_NUMBER, MARRIAGE, forms_world

from signin import signed_in  # type: ignore[import-not-found]
from wanshi.bootstrap import Platform
from wanshi.forms import services
from wanshi.kernel.actor import SYSTEM
from wanshi.web.app import create_app
from worlds import PASSWORD, World

SUMMARY_LINK = re.compile(r'<li><a href="#f-([^"]+)">([^<]+)</a></li>')
FIELD_ERROR = re.compile(r'<p class="field-error" id="f-([^"]+)-error">.*?</span>([^<]+)</p>')


class Clerk:
    """One person at one browser: the pages they see and the forms they post from them."""

    def __init__(self, client: TestClient) -> None:
        self.client = client
        self.page = ""

    def open(self, path: str) -> httpx.Response:
        reply = self.client.get(path)
        assert reply.status_code == 200, reply.text[:2000]
        self.page = reply.text
        return reply

    def submit(self, action: str, nth: int = 0, **values: str) -> httpx.Response:
        """Fill in the ``nth`` form posting to ``action`` on the page last seen and send it."""
        fields = changed(form_fields(self.page, action, nth), **values)
        return self.post(action, fields)

    def post(self, action: str, fields: list[tuple[str, str]]) -> httpx.Response:
        reply = self.client.post(
            action,
            content=str(httpx.QueryParams(fields)).encode(),
            headers={"content-type": "application/x-www-form-urlencoded"},
            follow_redirects=False,
        )
        if reply.status_code != 303:
            self.page = reply.text
        return reply


@pytest.fixture
def world(platform: Platform) -> World:
    return forms_world(platform)


@pytest.fixture
def browser(platform: Platform, world: World) -> Iterator[Callable[[str | None], Clerk]]:
    app = create_app(platform)
    clients: list[TestClient] = []

    def open_as(username: str | None) -> Clerk:
        client = TestClient(app)
        client.__enter__()
        clients.append(client)
        if username:
            signed_in(client, username, PASSWORD)
        return Clerk(client)

    yield open_as
    for client in clients:
        client.__exit__(None, None, None)


def stored(platform: Platform, form_id: int) -> services.FormDetail:
    with platform.reader() as uow:
        return services.get_form(uow, form_id, SYSTEM)


def selected_field(reply: httpx.Response) -> str:
    """The field the designer opened after a step (its redirect names it)."""
    assert reply.status_code == 303, reply.text[:2000]
    return parse_qs(urlsplit(reply.headers["location"]).query)["field"][0]


def field_json(platform: Platform, form_id: int, key: str) -> dict[str, Any]:
    found = stored(platform, form_id).document.field(key)
    assert found is not None, key
    return found.model_dump(mode="json", exclude_defaults=True)


def test_a_clerk_builds_previews_and_publishes_a_form_without_seeing_json(
    platform: Platform, browser: Callable[[str | None], Clerk], world: World
) -> None:
    clerk = browser("civil_a")
    clerk.open("/admin/forms")
    created = clerk.submit(
        "/admin/forms", title="收养登记预约", key="adoption", organisation_id=str(world.org_id("civil"))
    )
    assert created.status_code == 303, created.text[:2000]
    form_id = int(created.headers["location"].rsplit("/", 1)[1])
    assert stored(platform, form_id).record.organisation_id == world.org_id("civil")
    designer = f"/admin/forms/{form_id}"

    def add(label: str, kind: str) -> str:
        clerk.open(designer)
        return selected_field(clerk.submit(f"{designer}/fields", label=label, type=kind))

    def edit(field: str, **values: str) -> None:
        clerk.open(f"{designer}?field={field}")
        reply = clerk.submit(f"{designer}/fields/{field}", **values)
        assert reply.status_code == 303, re.findall(r"role=\"alert\">([^<]*)", clerk.page)

    name = add("申请人姓名", "text")
    assert name == "sqrxm"
    assert field_json(platform, form_id, name) == {"key": name, "type": "text", "label": "申请人姓名"}
    edit(name, required="on", max_length="20")
    assert field_json(platform, form_id, name)["validation"] == {"required": True, "max_length": 20}

    kind = add("登记类型", "radio")
    edit(kind, key="kind", options="domestic=国内收养\nforeign=涉外收养", required="on")
    assert field_json(platform, form_id, "kind")["options"] == [
        {"value": "domestic", "label": "国内收养"},
        {"value": "foreign", "label": "涉外收养"},
    ]

    reasons = add("涉外收养说明", "textarea")
    edit(reasons, vis0_field="kind", vis0_op="eq", vis0_value="foreign", required="on")
    assert field_json(platform, form_id, reasons)["visible_when"] == {
        "all": [{"field": "kind", "op": "eq", "value": "foreign"}]
    }

    fee = add("工本费", "number")
    edit(fee, width="6", minimum="0", unit="元")
    fee_json = field_json(platform, form_id, fee)
    assert fee_json["layout"] == {"width": 6}
    assert (fee_json["validation"], fee_json["unit"]) == ({"minimum": "0"}, "元")

    # The blank form's placeholder text goes, as a clerk would tidy it up.
    clerk.open(designer)
    assert clerk.submit(f"{designer}/fields/note/delete").status_code == 303
    assert [f.key for f in stored(platform, form_id).document.fields] == [name, "kind", reasons, fee]

    clerk.open(designer)
    assert clerk.submit(f"{designer}/settings", theme="official", accent="red").status_code == 303
    style = stored(platform, form_id).document.style
    assert (style.theme.value, style.accent) == ("official", "red")

    clerk.open(f"{designer}?rule=0")
    rule = clerk.submit(
        f"{designer}/rules",
        name="涉外收养须填写工本费",
        when0_field="kind",
        when0_op="eq",
        when0_value="foreign",
        then0_action="require",
        then0_target=fee,
    )
    assert rule.status_code == 303, clerk.page[:3000]
    rules = stored(platform, form_id).record.draft["rules"]
    assert rules == [
        {
            "name": "涉外收养须填写工本费",
            "when": {"all": [{"field": "kind", "op": "eq", "value": "foreign"}]},
            "then": [{"action": "require", "target": fee}],
        }
    ]
    # What the clerk set is shown in the designer in words, never as JSON.
    page = clerk.open(designer).text
    assert "涉外收养须填写工本费" in page
    assert "有条件显示" in page
    assert '"visible_when"' not in page

    preview = f"{designer}/preview"
    shown = clerk.open(preview).text
    assert 'class="wanshi-form theme-official labels-top accent-red"' in shown
    assert f'name="{reasons}"' not in shown
    assert 'class="form-field w6' in shown
    tried = clerk.submit(preview, kind="foreign")
    assert tried.status_code == 422
    assert set(SUMMARY_LINK.findall(tried.text)) == {
        (name, "请填写申请人姓名"),
        (reasons, "请填写涉外收养说明"),
        (fee, "请填写工本费"),
    }
    # The preview's live check is the fragment a page with JavaScript swaps in; choosing "domestic" drops the
    # explanation and, with it, the rule that made the fee required.
    live = clerk.client.post(
        f"{preview}/check",
        data=dict(changed(form_fields(tried.text, preview), kind="domestic", _touched=f"{name},{fee}")),
        headers={"HX-Request": "true"},
    )
    assert live.status_code == 200
    assert "<html" not in live.text
    assert f'name="{reasons}"' not in live.text
    assert set(FIELD_ERROR.findall(live.text)) == {(name, "请填写申请人姓名")}
    passed = clerk.submit(preview, **{name: "张三", reasons: "经公证", fee: "20"})
    assert passed.status_code == 200
    assert "填写完整，校验通过。" in passed.text
    assert stored(platform, form_id).record.latest_version is None

    clerk.open(designer)
    published = clerk.submit(f"{designer}/publish", note="首版")
    assert published.status_code == 200
    assert "已发布第 1 版" in published.text
    after = stored(platform, form_id)
    assert (after.record.latest_version, after.record.draft_changed) == (1, False)
    with platform.reader() as uow:
        version = services.published_form(uow, "adoption", SYSTEM)
    assert version.version.document == after.record.draft
    assert version.version.note == "首版"


def test_the_second_editor_is_refused_shown_who_saved_and_can_replay_their_step(
    platform: Platform, browser: Callable[[str | None], Clerk], world: World
) -> None:
    with platform.uow() as uow:
        form_id = services.create_form(
            uow,
            services.CreateForm(key="marriage", organisation_id=world.org_id("civil"), title="婚姻登记预约"),
            world["civil_a"],
        ).id
    designer = f"/admin/forms/{form_id}"
    first, second = browser("civil_a"), browser("civil_b")
    first.open(designer)
    second.open(designer)
    assert 'name="revision" value="1"' in first.page
    assert 'name="revision" value="1"' in second.page

    assert first.submit(f"{designer}/settings", title="婚姻登记预约申请表").status_code == 303
    refused = second.submit(f"{designer}/fields", label="联系电话", type="phone")
    assert refused.status_code == 409
    box = refused.text.split('<div class="conflict" role="alert">', 1)[1].split("</div>", 1)[0]
    assert "修改冲突" in box
    assert "civil_a" in box
    assert "第2次保存" in box
    assert "添加字段“联系电话”" in box
    # The page under the box is the latest draft: the first editor's title, not the second's field.
    assert "<h1>婚姻登记预约申请表</h1>" in refused.text
    draft = stored(platform, form_id)
    assert draft.record.revision == 2
    assert [f.label for f in draft.document.fields] == ["请在此添加字段"]

    replay = form_fields(refused.text, f"{designer}/fields", 0)
    assert ("revision", "2") in replay
    assert ("label", "联系电话") in replay
    again = second.post(f"{designer}/fields", replay)
    key = selected_field(again)
    after = stored(platform, form_id)
    assert after.record.revision == 3
    assert after.document.title == "婚姻登记预约申请表"
    assert [(f.key, f.type.value) for f in after.document.fields][-1] == (key, "phone")
    assert after.record.updated_by == "civil_b"


def publish(platform: Platform, world: World, document: dict[str, Any], key: str = "marriage") -> None:
    with platform.uow() as uow:
        created = services.create_form(
            uow,
            services.CreateForm(key=key, organisation_id=world.org_id("civil"), title=document["title"]),
            world["civil_a"],
        )
    with platform.uow() as uow:
        services.save_draft(
            uow, services.SaveDraft(form_id=created.id, revision=1, document=document), world["civil_a"]
        )
    with platform.uow() as uow:
        services.publish_form(uow, services.PublishForm(form_id=created.id, revision=2), world["civil_a"])


def test_an_applicant_fills_in_the_published_form_without_javascript(
    platform: Platform, browser: Callable[[str | None], Clerk], world: World
) -> None:
    publish(platform, world, MARRIAGE)
    applicant = browser(None)
    page = applicant.open("/forms/marriage").text
    assert "<h1>婚姻登记预约申请表</h1>" in page
    assert 'name="agreement"' not in page
    assert 'name="_action" value="refresh"' in page

    # Choosing "divorce" and asking the server to redraw the form brings the agreement in, and keeps answers.
    refreshed = applicant.submit("/forms/marriage", kind="divorce", name="王五", _action="refresh")
    assert refreshed.status_code == 200
    assert 'name="agreement"' in refreshed.text
    assert 'value="王五"' in refreshed.text
    assert "error-summary" not in refreshed.text

    answers = {"name": "王五", "kind": "divorce", "id_number": "340102199003070011", "date": "2026-13-01"}
    submitted = applicant.submit("/forms/marriage", **answers)
    assert submitted.status_code == 422
    assert '<div class="error-summary" role="alert"' in submitted.text
    in_summary = set(SUMMARY_LINK.findall(submitted.text))
    at_fields = set(FIELD_ERROR.findall(submitted.text))
    assert {path for path, _ in in_summary} == {"id_number", "phone", "agreement", "date", "consent"}
    assert ("phone", "请填写联系电话") in in_summary  # the event rule: a divorce needs a phone number
    assert {(path.replace("-", "."), message) for path, message in at_fields} == in_summary

    # The live check answers with the fields' fragment only, scolding just the field the person left (the
    # page's script lists the fields left in "_touched").
    check = applicant.client.post(
        "/forms/marriage/check",
        data=dict(
            changed(form_fields(submitted.text, "/forms/marriage"), id_number="12345", _touched="id_number")
        ),
        headers={"HX-Request": "true"},
    )
    assert check.status_code == 200
    assert "<html" not in check.text
    assert 'name="_touched" value="id_number"' in check.text
    assert FIELD_ERROR.findall(check.text) == [("id_number", "身份证号码：居民身份证号码应为18位，实际为5位")]
    assert "error-summary" not in check.text

    # The JSON API, given the same answers, finds the same problems.
    api = applicant.client.post(
        "/api/v1/forms/published/marriage/check",
        json={"answers": answers},
        headers={"x-csrf-token": csrf_of(submitted.text)},
    )
    assert api.status_code == 200, api.text
    problems = api.json()["problems"]
    assert {(p["path"], p["message"]) for p in problems} == {
        (path.replace("-", "."), message) for path, message in in_summary
    }
    with platform.reader() as uow:
        document = services.published_form(uow, "marriage", SYSTEM).document
    expected = services.check_answers(document, {k: [v] for k, v in answers.items()})
    assert {(p["path"], p["code"]) for p in problems} == {(p.path, p.code) for p in expected.problems}

    good = {
        **answers,
        "id_number": ID_NUMBER,
        "phone": "13900001234",
        "agreement": "协议离婚",
        "date": "2026-10-08",
    }
    done = applicant.submit("/forms/marriage", consent="true", **good)
    assert done.status_code == 200, done.text[:3000]
    assert "填写完整，校验通过。" in done.text
