"""The service portal and the open read API: what a visitor sees of published items and bundles, never of
drafts; the printable guide, the CPSV-AP export and the GovStack services endpoints (issue #5 items 4, 7)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
import rdflib
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

import wanshi.items
from wanshi.bootstrap import Platform
from wanshi.items import api as items
from wanshi.items.domain.elements import LABELS, ONLINE_DEPTH_LABELS
from wanshi.kernel.actor import ANONYMOUS
from wanshi.web.app import create_app
from wanshi.web.i18n import catalogue
from worlds import World


@pytest.fixture
def world(platform: Platform) -> World:
    w = build_items_world(platform)
    publish_basic(platform, w, FOOD, PERMIT_ELEMENTS)
    publish_basic(platform, w, CLINIC, CLINIC_ELEMENTS)
    for basic in (FOOD, CLINIC):
        r = claim(
            platform,
            w,
            "hf_market",
            basic,
            {
                "places": [
                    {
                        "name": "合肥市政务服务中心",
                        "address": "合肥市怀宁路1800号",
                        "hours": "工作日 9:00-17:00",
                    }
                ]
            },
        )
        publish(platform, r.id, w["hf_clerk"], w["city_admin"])
    document = {
        "name": "开餐馆一件事",
        "audience": "法人",
        "life_event": "开办企业",
        "summary": "餐饮许可与卫生许可一次申请。",
        "parts": [{"basic_code": FOOD}, {"basic_code": CLINIC}],
        "promised_days": 10,
    }
    with platform.uow() as uow:
        bundle = items.compile_bundle(
            uow,
            items.CompileBundle(
                code="BIZ-001", division_code="340100", organisation_id=w.org_id("city"), document=document
            ),
            w["city_admin"],
        )
    publish(platform, bundle.id, w["city_admin"], w["city_admin"])
    return w


@pytest.fixture
def client(platform: Platform) -> Iterator[TestClient]:
    with TestClient(create_app(platform)) as c:
        yield c


def _hefei_food(platform: Platform) -> str:
    with platform.reader() as uow:
        snapshot = platform.items.snapshot(uow, ANONYMOUS)
    return next(c.code for c in snapshot.items.values() if c.basic_code == FOOD)


@pytest.mark.usefixtures("world")
def test_a_visitor_browses_by_audience_and_theme_and_reaches_the_item_page(
    platform: Platform, client: TestClient
) -> None:
    home = client.get("/services?audience=enterprise")
    assert home.status_code == 200
    assert "食品经营许可证核发" in home.text
    assert "开餐馆一件事" in home.text
    assert "准营准办" in home.text  # the theme facet
    basic = client.get(f"/services/basic/{FOOD}?division=340102")
    assert "合肥市市场监督管理局" in basic.text
    assert "在您选择的地区由以下机构办理" in basic.text  # 瑶海区 is served by its city's body
    page = client.get(f"/services/items/{_hefei_food(platform)}")
    assert page.status_code == 200
    for text in (
        "受理条件",
        "食品安全管理制度文本",
        "合肥市怀宁路1800号",
        "《中华人民共和国食品安全法》",
        "电子证照",
    ):
        assert text in page.text


@pytest.mark.usefixtures("world")
def test_a_persons_tab_hides_enterprise_only_bundles(client: TestClient) -> None:
    assert "开餐馆一件事" not in client.get("/services?audience=person").text


@pytest.mark.usefixtures("world")
def test_browsing_by_life_event_shows_its_bundles_and_their_items(client: TestClient) -> None:
    opening = client.get("/services?life_event=opening").text
    assert "开餐馆一件事" in opening
    assert "食品经营许可证核发" in opening
    birth = client.get("/services?life_event=birth").text
    assert "开餐馆一件事" not in birth
    assert "没有符合条件的事项" in birth


@pytest.mark.usefixtures("world")
def test_the_bundle_page_shows_one_set_of_materials_for_the_chosen_area(client: TestClient) -> None:
    page = client.get("/services/bundles/BIZ-001?division=340102")
    assert page.status_code == 200
    assert page.text.count("<td>营业执照</td>") == 1
    assert "暂无机构办理" not in page.text
    far = client.get("/services/bundles/BIZ-001?division=340202")
    assert "暂无机构办理" in far.text


def test_a_draft_is_not_on_the_portal(platform: Platform, world: World, client: TestClient) -> None:
    draft = claim(platform, world, "yaohai")
    assert client.get(f"/services/items/{draft.code}").status_code == 404
    assert client.get(f"/api/v1/services/items/{draft.code}").json()["error"]["code"] == "not_found"


@pytest.mark.usefixtures("world")
def test_the_printable_guide_is_a_pdf(platform: Platform, client: TestClient) -> None:
    response = client.get(f"/services/items/{_hefei_food(platform)}/guide.pdf")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/pdf"
    assert response.content.startswith(b"%PDF-")
    assert client.get(f"/services/items/{_hefei_food(platform)}/guide.pdf").content == response.content


@pytest.mark.usefixtures("world")
def test_the_open_api_lists_items_and_a_bundles_merged_application(
    platform: Platform, client: TestClient
) -> None:
    listed = client.get(
        "/api/v1/services/items", params={"division": "340102", "audience": "enterprise"}
    ).json()
    assert listed["total"] == 2
    one = client.get(f"/api/v1/services/items/{_hefei_food(platform)}").json()
    assert one["document"]["elements"]["name"] == "食品经营许可证核发"
    assert one["promised_limit"] == {"value": 10, "unit": "workday", "note": ""}
    bundle = client.get("/api/v1/services/bundles/BIZ-001", params={"division": "340103"}).json()
    assert bundle["missing"] == []
    assert [m["name"] for m in bundle["materials"]].count("营业执照") == 1
    assert client.get("/api/v1/services/items", params={"division": "34x"}).status_code == 422


@pytest.mark.usefixtures("world")
def test_the_cpsv_export_is_rdf_with_every_published_service(platform: Platform, client: TestClient) -> None:
    response = client.get("/api/v1/services/export.ttl")
    assert response.status_code == 200
    graph = rdflib.Graph().parse(data=response.text, format="turtle")
    services = set(graph.subjects(rdflib.RDF.type, rdflib.URIRef("http://purl.org/vocab/cpsv#PublicService")))
    assert len(services) == 2
    assert client.get("/api/v1/services/export.csv").status_code == 404


@pytest.mark.usefixtures("world")
def test_govstack_service_list_and_detail(client: TestClient) -> None:
    listed = client.get("/api/govstack/registration/services").json()
    assert sorted(s["name"] for s in listed) == ["公共场所卫生许可", "食品经营许可证核发"]
    detail = client.get(f"/api/govstack/registration/services/{listed[0]['id']}").json()
    assert detail["id"] == listed[0]["id"]
    assert detail["serviceBody"]
    assert (
        client.get("/api/govstack/registration/services/00000000-0000-0000-0000-000000000000").status_code
        == 404
    )


MSGID = re.compile(r"""_\(\s*(?:"((?:[^"\\]|\\.)*)"|'((?:[^'\\]|\\.)*)')\s*\)""")


def test_every_portal_text_and_label_has_an_english_translation() -> None:
    texts: set[str] = set()
    for template in (Path(wanshi.items.__file__).parent / "templates" / "items").glob("*.html"):
        texts |= {double or single for double, single in MSGID.findall(template.read_text(encoding="utf-8"))}
    texts |= set(LABELS.values()) | set(ONLINE_DEPTH_LABELS.values())
    assert sorted(texts - set(catalogue("en"))) == []


@pytest.mark.usefixtures("world")
def test_the_item_page_renders_in_english(platform: Platform, client: TestClient) -> None:
    client.get("/lang/en?next=/services")
    page = client.get(f"/services/items/{_hefei_food(platform)}").text
    assert "Administrative licensing" in page
    assert "Materials" in page
    assert "Promised time limit" in page
    assert "承诺办结" not in page


@pytest.mark.usefixtures("world")
def test_the_guide_answers_a_question_in_citizens_words(client: TestClient) -> None:
    page = client.get("/services/search", params={"q": "我想开一家饭店需要办什么"})
    assert page.status_code == 200
    assert "开餐馆一件事" in page.text
    answers = client.get("/api/v1/services/search", params={"q": "食品许可证", "division": "340102"}).json()
    assert answers[0]["code"] == FOOD
    assert answers[0]["implementation"] == _hefei_food_code()
    assert client.get("/api/v1/services/search", params={"q": "x" * 201}).status_code == 422
    assert client.get("/api/v1/services/search", params={"q": "！！！"}).json() == []


def _hefei_food_code() -> str:
    return f"{FOOD}-340100000000-000-11340100MB00000513-1-00"
