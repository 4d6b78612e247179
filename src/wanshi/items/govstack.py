"""The services read model of the GovStack Registration building block (API 0.1.1, a copy in
tests/items/specs/registration-bb-api.json), built from the published implementation entries.

Routes the web layer maps onto these pure functions:

- ``GET /services?name=...`` (getServiceList) -> ``service_list(items, name=...)``: a bare JSON array of
  ``service`` objects, empty when nothing matches. The API defines no pagination, so none is added.
- ``GET /services/{serviceId}`` (getService) -> ``find_service(items, service_id)`` then
  ``service_detail(item)``; ``None`` from ``find_service`` is the API's 404 "service not found".

The API types serviceId as a UUID, which a 实施编码 is not: ``service_id`` derives a name-based UUID (version
5) from the code, so the id of an entry never changes and needs no table. A list entry carries the basic
fields; the detail adds ``serviceBody``, the API's list of code/value pairs, with the elements a registrant
needs. The codes are stable English names for programs; the values are Chinese text for people. A list
element (materials, fees ...) repeats its code once per entry.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from typing import Literal, NotRequired, TypedDict

from wanshi.items.domain.elements import ONLINE_DEPTH_LABELS, Elements, Limit
from wanshi.items.domain.views import ItemCard

# Fixed for good: changing it would change every serviceId ever handed out.
SERVICE_NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, "urn:wanshi:items:implementation")


class Property(TypedDict):
    code: str
    value: str


class Service(TypedDict):
    """The API's ``service`` schema, field names as it spells them."""

    id: str
    name: str
    version: str
    type: Literal["None", "Private", "Public"]
    isExecutable: bool
    description: str
    serviceBody: NotRequired[list[Property]]


def service_id(code: str) -> str:
    """The serviceId of the entry with this 实施编码."""
    return str(uuid.uuid5(SERVICE_NAMESPACE, code))


def find_service(items: Iterable[ItemCard], wanted: str) -> ItemCard | None:
    """The entry whose serviceId is ``wanted`` (any UUID spelling), or None."""
    try:
        key = str(uuid.UUID(wanted))
    except ValueError:
        return None
    return next((card for card in items if service_id(card.code) == key), None)


def service_list(items: Sequence[ItemCard], name: str | None = None) -> list[Service]:
    """getServiceList: the entries in the order given, those whose name contains ``name`` when it is set."""
    wanted = (name or "").strip().casefold()
    return [_summary(card) for card in items if wanted in card.title.casefold()]


def service_detail(item: ItemCard) -> Service:
    """getService: the entry with its elements as ``serviceBody``."""
    return {**_summary(item), "serviceBody": list(_body(item))}


def _summary(card: ItemCard) -> Service:
    return {
        "id": service_id(card.code),
        "name": card.title,
        "version": str(card.version),
        "type": "Public",
        # What a registrant can run here without visiting: applying online.
        "isExecutable": card.elements.online,
        "description": card.elements.summary,
    }


def _body(card: ItemCard) -> Iterable[Property]:
    e = card.elements
    yield from _pairs(
        ("implementationCode", card.code),
        ("basicCode", card.basic_code),
        ("itemType", e.item_type.label),
        ("competentAuthority", card.organisation_name),
        ("competentAuthorityCode", card.document.body_code),
        ("division", card.division_name),
        ("divisionCode", card.division_code),
    )
    yield from _each("audience", (a.label for a in e.audience))
    yield from _pairs(
        ("caseType", e.case_type.label),
        ("legalLimit", e.legal_limit.shown),
        ("promisedLimit", e.promised_limit.shown),
        ("processingTime", _duration(e.promised_limit)),
    )
    yield from _each("handlingForm", (f.label for f in e.forms))
    yield from _pairs(
        ("onlineDepth", ONLINE_DEPTH_LABELS[e.online_depth]),
        ("onlineUrl", e.online_url),
        ("visits", str(e.visits)),
        ("charged", "是" if e.charged else "否"),
    )
    yield from _each("condition", e.conditions)
    yield from _each("material", (_material(m.name, m.necessity.label) for m in e.materials))
    yield from _each("fee", (f"{fee.name}：{fee.standard}" for fee in e.fees))
    yield from _each("legalBasis", (f"{b.name} {b.article}".strip() for b in e.basis))
    yield from _each("place", _places(e))
    yield from _pairs(
        ("result", e.result.name if e.result else ""),
        ("consult", e.consult),
        ("complaint", e.complaint),
    )
    yield from _each("keyword", e.keywords)
    if card.published_at is not None:
        yield {"code": "publishedAt", "value": card.published_at.isoformat()}


def _pairs(*pairs: tuple[str, str]) -> Iterable[Property]:
    """The pairs with a value; an element left blank is left out rather than sent empty."""
    return ({"code": code, "value": value} for code, value in pairs if value)


def _each(code: str, values: Iterable[str]) -> Iterable[Property]:
    return _pairs(*((code, value) for value in values))


def _duration(limit: Limit) -> str:
    # As in the CPSV-AP export: 工作日 count as days, since ISO 8601 has no working day.
    return f"P{limit.value}D"


def _material(name: str, necessity: str) -> str:
    return f"{name}（{necessity}）"


def _places(e: Elements) -> Iterable[str]:
    for place in e.places:
        yield "，".join(part for part in (place.name, place.address, place.hours, place.phone) if part)
