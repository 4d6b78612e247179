"""Guide documents built from the catalogue's published cards."""

from __future__ import annotations

from typing import Any

import pytest

from wanshi.items.domain.documents import BasicDocument, BundleDocument, ImplementationDocument
from wanshi.items.domain.elements import parse_elements
from wanshi.items.domain.views import BasicCard, BundleCard, ItemCard
from wanshi.items.guide import GuideDocument
from wanshi.kernel.errors import ValidationFailed

BODY = "115113010833722043"
HEFEI = "合肥市市场监督管理局"


def elements(**extra: Any) -> Any:
    data: dict[str, Any] = {
        "name": "食品经营许可",
        "item_type": "行政许可",
        "audience": "法人",
        "legal_limit": {"value": 20},
        "promised_limit": {"value": 10},
        "visits": 0,
        "summary": "从事食品销售和餐饮服务的许可。",
        "conditions": ["有与经营相适应的场所"],
        "materials": [{"name": "营业执照"}, {"name": "食品安全管理制度"}],
        "faq": [{"question": "开饭店要办食品经营许可吗？", "answer": "要。"}],
        "result": {"name": "食品经营许可证", "type": "licence"},
        "themes": ["开办企业"],
        "keywords": ["餐饮", "饭店"],
    }
    data.update(extra)
    return parse_elements(data)


def implementation(code: str, organisation: str, business: str = "", **extra: Any) -> ItemCard:
    document = ImplementationDocument(elements=elements(**extra), body_code=BODY, business_name=business)
    return ItemCard(code, "301A0000000002", 1, 1, organisation, "340100", "合肥市", document, None)


def test_from_basic() -> None:
    card = BasicCard("301A0000000002", 1, 7, "安徽省市场监督管理局", BasicDocument(elements=elements()), None)
    doc = GuideDocument.from_basic(card)
    assert doc.key == "301A0000000002"
    assert doc.kind == "item"
    assert doc.title == "食品经营许可"
    assert doc.audience == ("enterprise",)
    assert doc.department == "安徽省市场监督管理局"
    assert doc.outcome == "食品经营许可证"
    assert doc.materials == ("营业执照", "食品安全管理制度")
    assert doc.questions == ("开饭店要办食品经营许可吗？",)
    assert doc.keywords == ("餐饮", "饭店")
    assert doc.themes == ("开办企业",)


def test_implementations_of_one_basic_item_are_one_document() -> None:
    doc = GuideDocument.from_implementations(
        [
            implementation("A-1", HEFEI),
            implementation("A-2", HEFEI, "延续", keywords=["小吃店"], audience="自然人,法人"),
            implementation("A-3", "芜湖市市场监督管理局"),
        ]
    )
    assert doc.key == "301A0000000002"
    assert doc.title == "食品经营许可"
    assert doc.department == HEFEI
    assert doc.keywords == ("餐饮", "饭店", "食品经营许可（延续）", "小吃店")
    assert set(doc.audience) == {"person", "enterprise"}


def test_implementations_must_share_a_basic_code() -> None:
    other = implementation("B-1", "合肥市市场监督管理局")
    other = ItemCard("B-1", "301A0000000099", 1, 1, "x", "340100", "合肥市", other.document, None)
    with pytest.raises(ValidationFailed) as raised:
        GuideDocument.from_implementations([implementation("A-1", "合肥市市场监督管理局"), other])
    assert raised.value.error_code == "guide_mixed_items"
    with pytest.raises(ValidationFailed):
        GuideDocument.from_implementations([])


def test_from_bundle_with_its_items_names() -> None:
    bundle = BundleDocument.model_validate(
        {
            "name": "开办餐饮店一件事",
            "audience": "enterprise",
            "life_event": "opening",
            "summary": "一次办好开饭店的事。",
            "parts": [
                {"basic_code": "301A0000000001"},
                {"basic_code": "301A0000000002", "when": "经营食品的"},
            ],
            "keywords": ["开饭店"],
        }
    )
    card = BundleCard("LIFE-003", 1, "340000", "安徽省", bundle, None)
    doc = GuideDocument.from_bundle(card, {"301A0000000002": "食品经营许可"})
    assert doc.kind == "bundle"
    assert doc.life_event == "开办企业"
    assert doc.audience == ("enterprise",)
    assert doc.parts == ("食品经营许可",)
    assert doc.conditions == ("经营食品的",)
    assert GuideDocument.from_bundle(card).parts == ()
