"""What the guide searches: one document per basic item (its implementations together) or 一件事 bundle."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

from wanshi.items.domain.elements import Elements
from wanshi.items.domain.views import BasicCard, BundleCard, ItemCard
from wanshi.kernel.errors import ValidationFailed

Kind = Literal["item", "bundle"]


@dataclass(frozen=True)
class GuideDocument:
    key: str  # 基本编码 of an item, code of a bundle
    kind: Kind
    title: str
    audience: tuple[str, ...] = ()  # Audience values ("person", "enterprise"); empty: everyone
    department: str = ""
    themes: tuple[str, ...] = ()
    keywords: tuple[str, ...] = ()  # the words citizens use, set by editors; business names of 办理项 too
    outcome: str = ""  # what one comes away with (营业执照): people search by the paper they need
    summary: str = ""
    conditions: tuple[str, ...] = ()
    materials: tuple[str, ...] = ()
    questions: tuple[str, ...] = ()  # 常见问题, as citizens ask them
    life_event: str = ""  # a bundle's life event, in Chinese (出生, 开办企业)
    parts: tuple[str, ...] = ()  # names of a bundle's items

    @classmethod
    def from_basic(cls, card: BasicCard) -> GuideDocument:
        return _from_elements(card.code, card.elements, card.department_name, ())

    @classmethod
    def from_implementations(cls, cards: Sequence[ItemCard]) -> GuideDocument:
        """One document for the implementations of one basic item: a citizen looks for the item, the
        division is chosen after. Keywords, materials and conditions of every implementation are kept."""
        if not cards:
            raise ValidationFailed("没有可供导办的实施清单事项", code="guide_no_items")
        codes = {c.basic_code for c in cards}
        if len(codes) > 1:
            raise ValidationFailed("同一导办条目只能包含同一基本编码的实施清单事项", code="guide_mixed_items")
        first = _from_elements(
            cards[0].basic_code,
            cards[0].elements,
            Counter(c.organisation_name for c in cards).most_common(1)[0][0],
            tuple(c.title for c in cards if c.title != cards[0].elements.name),
        )
        others = [_from_elements(c.basic_code, c.elements, "", ()) for c in cards[1:]]
        return GuideDocument(
            key=first.key,
            kind="item",
            title=first.title,
            audience=_union(first.audience, *(o.audience for o in others)),
            department=first.department,
            themes=_union(first.themes, *(o.themes for o in others)),
            keywords=_union(first.keywords, *(o.keywords for o in others)),
            outcome=first.outcome,
            summary=first.summary,
            conditions=_union(first.conditions, *(o.conditions for o in others)),
            materials=_union(first.materials, *(o.materials for o in others)),
            questions=_union(first.questions, *(o.questions for o in others)),
        )

    @classmethod
    def from_bundle(cls, card: BundleCard, item_titles: Mapping[str, str] | None = None) -> GuideDocument:
        """A bundle; ``item_titles`` (basic code to name) lets the guide find it by the names of its items."""
        doc = card.document
        titles = item_titles or {}
        return GuideDocument(
            key=card.code,
            kind="bundle",
            title=doc.name,
            audience=(doc.audience.value,),
            keywords=doc.keywords,
            summary=doc.summary,
            life_event=doc.life_event.label,
            parts=tuple(titles[p.basic_code] for p in doc.parts if p.basic_code in titles),
            conditions=tuple(p.when for p in doc.parts if p.when),
        )


def _from_elements(key: str, e: Elements, department: str, aliases: tuple[str, ...]) -> GuideDocument:
    return GuideDocument(
        key=key,
        kind="item",
        title=e.name,
        audience=tuple(a.value for a in e.audience),
        department=department,
        themes=e.themes,
        keywords=_union(e.keywords, aliases),
        outcome=e.result.name if e.result else "",
        summary=e.summary,
        conditions=e.conditions,
        materials=tuple(m.name for m in e.materials),
        questions=tuple(q.question for q in e.faq),
    )


def _union(*groups: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(w for g in groups for w in g))
