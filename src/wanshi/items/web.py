"""The service portal (/services: browse, item and bundle pages, for everyone, signed in or not) and the
open read API (/api/v1/services), over the catalogue's published snapshot. Pages work without JavaScript.
"""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Depends, Query, Request
from starlette.responses import RedirectResponse, Response

from wanshi.bootstrap import Platform
from wanshi.items import api as items
from wanshi.items import cpsv, govstack
from wanshi.items.domain.documents import LifeEvent
from wanshi.items.domain.elements import ONLINE_DEPTH_LABELS, Audience, ItemType
from wanshi.items.guide_pdf import render_guide
from wanshi.items.services import reading
from wanshi.kernel import clock
from wanshi.kernel.actor import Actor
from wanshi.kernel.errors import NotFound
from wanshi.web.auth import csrf_protect, current_actor, get_platform
from wanshi.web.templating import render

portal = APIRouter(prefix="/services", dependencies=[Depends(csrf_protect)], include_in_schema=False)
open_api = APIRouter(prefix="/api/v1/services", tags=["services"], dependencies=[Depends(csrf_protect)])
routers = [portal, open_api]

Visitor = Annotated[Actor, Depends(current_actor)]
PlatformDep = Annotated[Platform, Depends(get_platform)]
DIVISION_KEY = "items_division"
PAGE_SIZE = 30
Division = Annotated[str, Query(pattern=r"^(\d{6})?$")]


def _snapshot(platform: Platform, actor: Actor) -> reading.Snapshot:
    with platform.reader() as uow:
        return platform.items.snapshot(uow, actor)


def _division(request: Request, chosen: str) -> str:
    """The visitor's area: chosen now, or remembered from an earlier choice; empty for the whole province."""
    if chosen:
        request.session[DIVISION_KEY] = chosen
        return chosen
    remembered = request.session.get(DIVISION_KEY, "")
    return remembered if isinstance(remembered, str) else ""


def _areas(snapshot: reading.Snapshot) -> list[tuple[str, str]]:
    """Divisions that implement something, for the area picker."""
    seen = {c.division_code: c.division_name for c in snapshot.items.values()}
    return sorted(seen.items())


def _browse_query(
    audience: str, theme: str, department: str, item_type: str, division: str, life_event: str = ""
) -> reading.BrowseQuery:
    return reading.BrowseQuery(
        audience=Audience(audience) if audience in {a.value for a in Audience} else None,
        theme=theme[:40],
        department_id=int(department) if department.isdigit() else None,
        item_type=item_type if item_type in {t.value for t in ItemType} else "",
        division_code=division,
        life_event=LifeEvent(life_event) if life_event in {e.value for e in LifeEvent} else None,
    )


# --- portal pages -----------------------------------------------------------------------------------------
@portal.get("")
def portal_home(
    request: Request,
    platform: PlatformDep,
    actor: Visitor,
    audience: str = "",
    theme: str = "",
    department: str = "",
    item_type: str = "",
    life_event: str = "",
    division: Division = "",
    page: Annotated[int, Query(ge=1, le=1000)] = 1,
) -> Response:
    snapshot = _snapshot(platform, actor)
    area = _division(request, division)
    query = _browse_query(audience, theme, department, item_type, area, life_event)
    found = reading.browse(snapshot, query)
    bundles = reading.bundles_for(snapshot, query)
    return render(
        request,
        "items/portal.html",
        {
            "facets": platform.items.derived(snapshot, "facets", reading.facets),
            "basics": found[(page - 1) * PAGE_SIZE : page * PAGE_SIZE],
            "total": len(found),
            "page": page,
            "pages": max(1, -(-len(found) // PAGE_SIZE)),
            "bundles": bundles,
            "query": query,
            "area": area,
            "areas": platform.items.derived(snapshot, "areas", _areas),
            "audiences": list(Audience),
            "implementations": {b.code: len(snapshot.by_basic.get(b.code, [])) for b in found},
        },
    )


@portal.get("/search")
def search_page(
    request: Request,
    platform: PlatformDep,
    actor: Visitor,
    q: Annotated[str, Query(max_length=200)] = "",
    audience: str = "",
) -> Response:
    snapshot = _snapshot(platform, actor)
    area = _division(request, "")
    who = Audience(audience) if audience in {a.value for a in Audience} else None
    answers = (
        reading.search_guide(platform.items, snapshot, q, audience=who, division_code=area)
        if q.strip()
        else []
    )
    return render(
        request,
        "items/search.html",
        {"q": q, "answers": answers, "audience": who, "audiences": list(Audience), "area": area},
    )


@portal.get("/basic/{basic_code}")
def basic_page(
    request: Request, platform: PlatformDep, actor: Visitor, basic_code: str, division: Division = ""
) -> Response:
    snapshot = _snapshot(platform, actor)
    card = snapshot.basics.get(basic_code.strip().upper())
    if card is None:
        raise NotFound("事项不存在或未发布")
    area = _division(request, division)
    implementations = sorted(snapshot.by_basic.get(card.code, []), key=lambda c: (c.division_code, c.code))
    nearest = snapshot.nearest(card.code, area) if area else None
    return render(
        request,
        "items/basic.html",
        {
            "card": card,
            "implementations": implementations,
            "nearest": nearest,
            "area": area,
            "areas": platform.items.derived(snapshot, "areas", _areas),
        },
    )


@portal.get("/items/{code}")
def item_page(request: Request, platform: PlatformDep, actor: Visitor, code: str) -> Response:
    snapshot = _snapshot(platform, actor)
    card = reading.item_card(snapshot, code)
    others = [c for c in snapshot.by_basic.get(card.basic_code, []) if c.code != card.code]
    bundles = [
        b for b in snapshot.bundles.values() if any(p.basic_code == card.basic_code for p in b.document.parts)
    ]
    return render(
        request,
        "items/item.html",
        {
            "card": card,
            "e": card.elements,
            "others": others,
            "bundles": bundles,
            "depths": ONLINE_DEPTH_LABELS,
        },
    )


@portal.get("/bundles/{code}")
def bundle_page(
    request: Request, platform: PlatformDep, actor: Visitor, code: str, division: Division = ""
) -> Response:
    snapshot = _snapshot(platform, actor)
    bundle = reading.bundle_card(snapshot, code)
    area = _division(request, division) or bundle.division_code
    application = reading.bundle_application(snapshot, bundle.code, area)
    return render(
        request,
        "items/bundle.html",
        {
            "bundle": bundle,
            "application": application,
            "basics": snapshot.basics,
            "area": area,
            "areas": platform.items.derived(snapshot, "areas", _areas),
        },
    )


@portal.get("/area")
def choose_area(request: Request, division: Division = "", next: str = "/services") -> Response:
    """Forget the remembered area (an empty choice) or remember a new one, then go back."""
    if division:
        request.session[DIVISION_KEY] = division
    else:
        request.session.pop(DIVISION_KEY, None)
    target = next if next.startswith("/services") and not next.startswith("//") else "/services"
    return RedirectResponse(target, status_code=303)


# --- the open read API --------------------------------------------------------------------------------------
def _summary(card: items.ItemCard) -> dict[str, Any]:
    e = card.elements
    return {
        "code": card.code,
        "basic_code": card.basic_code,
        "name": card.title,
        "item_type": e.item_type.value,
        "audience": [a.value for a in e.audience],
        "organisation": card.organisation_name,
        "division_code": card.division_code,
        "promised_limit": e.promised_limit.model_dump(mode="json"),
        "visits": e.visits,
        "online_depth": e.online_depth,
        "version": card.version,
    }


@open_api.get("/items", summary="Published implementation entries (实施清单事项), filtered like the portal")
def api_items(
    platform: PlatformDep,
    actor: Visitor,
    audience: str = "",
    theme: str = "",
    department: str = "",
    item_type: str = "",
    division: Division = "",
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> dict[str, Any]:
    snapshot = _snapshot(platform, actor)
    basics = {
        b.code for b in reading.browse(snapshot, _browse_query(audience, theme, department, item_type, ""))
    }
    cards = snapshot.available_in(division) if division else list(snapshot.items.values())
    chosen = [c for c in cards if c.basic_code in basics]
    return {"total": len(chosen), "items": [_summary(c) for c in chosen[offset : offset + limit]]}


@open_api.get("/search", summary="The smart guide: items and bundles for a question in citizens' words")
def api_search(
    platform: PlatformDep,
    actor: Visitor,
    q: Annotated[str, Query(max_length=200)],
    audience: str = "",
    division: Division = "",
    limit: Annotated[int, Query(ge=1, le=50)] = 10,
) -> list[dict[str, Any]]:
    who = Audience(audience) if audience in {a.value for a in Audience} else None
    answers = reading.search_guide(
        platform.items, _snapshot(platform, actor), q, audience=who, division_code=division, limit=limit
    )
    return [
        {
            "kind": a.hit.kind,
            "code": a.hit.key,
            "title": a.hit.title,
            "score": round(a.hit.score, 4),
            "matched": list(a.hit.why),
            "implementation": a.nearest.code if a.nearest else None,
        }
        for a in answers
    ]


@open_api.get("/items/{code}", summary="One published implementation entry with every element")
def api_item(platform: PlatformDep, actor: Visitor, code: str) -> dict[str, Any]:
    card = reading.item_card(_snapshot(platform, actor), code)
    return {
        **_summary(card),
        "organisation_id": card.organisation_id,
        "division_name": card.division_name,
        "published_at": card.published_at.isoformat() if card.published_at else None,
        "document": card.document.model_dump(mode="json"),
    }


@open_api.get("/bundles", summary="Published 一件事 bundles")
def api_bundles(platform: PlatformDep, actor: Visitor) -> list[dict[str, Any]]:
    snapshot = _snapshot(platform, actor)
    return [
        {
            "code": b.code,
            "division_code": b.division_code,
            "version": b.version,
            **b.document.model_dump(mode="json"),
        }
        for b in snapshot.bundles.values()
    ]


@open_api.get(
    "/bundles/{code}", summary="A bundle's one application in a division: items, merged form and materials"
)
def api_bundle(platform: PlatformDep, actor: Visitor, code: str, division: Division = "") -> dict[str, Any]:
    snapshot = _snapshot(platform, actor)
    bundle = reading.bundle_card(snapshot, code)
    application = reading.bundle_application(snapshot, bundle.code, division or bundle.division_code)
    return {
        "code": bundle.code,
        "division_code": application.division_code,
        "document": bundle.document.model_dump(mode="json"),
        "items": [_summary(c) for c in application.items],
        "missing": application.missing,
        "fields": [f.model_dump(mode="json") for f in application.fields],
        "materials": [
            {**m.model_dump(mode="json"), "asked_by": application.material_items.get(m.name, [])}
            for m in application.materials
        ],
    }


# --- documents and exports ----------------------------------------------------------------------------------
def _public_url(request: Request, platform: Platform) -> str:
    # The configured public address when there is one: the Host header is the client's to choose.
    return (platform.settings.public_url or str(request.base_url)).rstrip("/")


@portal.get("/items/{code}/guide.pdf")
def guide_pdf(request: Request, platform: PlatformDep, actor: Visitor, code: str) -> Response:
    """The printable 办事指南, rendered once per published version (the PDF is reproducible)."""
    snapshot = _snapshot(platform, actor)
    card = reading.item_card(snapshot, code)
    issued = card.published_at or clock.now()
    url = f"{_public_url(request, platform)}/services/items/{card.code}"
    content = platform.items.derived(
        snapshot, f"guide.pdf:{url}", lambda _s: render_guide(card, issued_at=issued, url=url)
    )
    return Response(
        content,
        media_type="application/pdf",
        headers={"Content-Disposition": f"inline; filename*=UTF-8''{quote(card.elements.name)}.pdf"},
    )


EXPORT_FORMATS = {"ttl": "turtle", "jsonld": "json-ld", "rdf": "xml"}


@open_api.get(
    "/export.{extension}",
    summary="The published public services as RDF conforming to CPSV-AP 3.2.0 (ttl, jsonld or rdf)",
)
def export_rdf(request: Request, platform: PlatformDep, actor: Visitor, extension: str) -> Response:
    if extension not in EXPORT_FORMATS:
        raise NotFound("导出格式不存在（可用：ttl、jsonld、rdf）")
    snapshot = _snapshot(platform, actor)
    fmt, base = EXPORT_FORMATS[extension], _public_url(request, platform)

    def build(s: reading.Snapshot) -> bytes:
        return cpsv.serialise(
            cpsv.catalogue_graph(list(s.items.values()), list(s.bundles.values()), base), fmt
        )

    content = platform.items.derived(snapshot, f"cpsv:{fmt}:{base}", build)
    return Response(content, media_type=cpsv.media_type(fmt))


# GovStack Registration building block: the services read endpoints (shapes in its API 0.1.1).
govstack_api = APIRouter(prefix="/api/govstack/registration", tags=["govstack-registration"])
routers.append(govstack_api)


@govstack_api.get("/services", summary="GovStack getServiceList: published services, optionally by name")
def govstack_services(platform: PlatformDep, actor: Visitor, name: str | None = None) -> list[Any]:
    return list(govstack.service_list(list(_snapshot(platform, actor).items.values()), name=name))


@govstack_api.get("/services/{service_id}", summary="GovStack getService: one service with its details")
def govstack_service(platform: PlatformDep, actor: Visitor, service_id: str) -> Any:
    found = govstack.find_service(_snapshot(platform, actor).items.values(), service_id)
    if found is None:
        raise NotFound("service not found")
    return govstack.service_detail(found)
