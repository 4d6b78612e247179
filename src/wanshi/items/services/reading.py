"""Reading the catalogue: the staff's list and a record's detail; and for everyone, what is published — the
portal's browsing, item and bundle pages, a bundle's merged application, and the guide's search.

Published entries are read through ``PublishedCatalogue``: a snapshot of everything published, kept in the
process and replaced when the publication mark (the last publish or withdraw in the history) moves, so a
page costs one small query while nothing changes and every process sees a publication on its next request.
"""

from __future__ import annotations

import threading
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from wanshi.infra.uow import UnitOfWork
from wanshi.items import policies, repository
from wanshi.items.domain.diff import Change, diff_documents
from wanshi.items.domain.documents import (
    BasicDocument,
    BundleDocument,
    ImplementationDocument,
    LifeEvent,
    RecordKind,
)
from wanshi.items.domain.elements import Audience, FormField, Material
from wanshi.items.domain.records import HistoryEntry, Record, RecordState, Version, VersionStatus
from wanshi.items.domain.views import BasicCard, BundleCard, ItemCard
from wanshi.items.guide import GuideDocument, GuideIndex, Hit
from wanshi.kernel.actor import Actor, ActorKind, provider_organisations
from wanshi.kernel.errors import NotFound
from wanshi.kernel.identifiers.division_code import parent_codes
from wanshi.org import api as org

_NAMES = Actor(kind=ActorKind.SYSTEM, username="items")


# --- the staff's list and a record's detail ---------------------------------------------------------------
class RecordQuery(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    q: str = Field(default="", max_length=100)
    kind: RecordKind | None = None
    organisation_id: int | None = None
    division_code: str = Field(default="", pattern=r"^(\d{6})?$")
    item_type: str = Field(default="", max_length=2)
    state: RecordState | None = None
    basic_code: str = Field(default="", max_length=20)
    limit: int = Field(default=50, ge=1, le=500)
    offset: int = Field(default=0, ge=0)


@dataclass(frozen=True)
class RecordPage:
    records: list[Record]
    total: int
    organisation_names: dict[int, str]


def _visibility(actor: Actor) -> repository.Visibility:
    return repository.Visibility(provider_organisations(actor), policies.review_scopes(actor))


def list_records(uow: UnitOfWork, query: RecordQuery, actor: Actor) -> RecordPage:
    uow.authorize(policies.can_list(actor), actor, "items.record.list")
    filters = repository.Filters(
        q=query.q.strip(),
        kind=query.kind,
        organisation_id=query.organisation_id,
        division_code=query.division_code,
        item_type=query.item_type,
        state=query.state,
        basic_code=query.basic_code,
    )
    records, total = repository.search(
        uow.session, _visibility(actor), filters, limit=query.limit, offset=query.offset
    )
    names = _Names(uow)
    return RecordPage(records, total, {r.organisation_id: names(r.organisation_id) for r in records})


@dataclass(frozen=True)
class RecordDetail:
    record: Record
    organisation_name: str
    versions: list[Version]
    history: list[HistoryEntry]
    # Changes of the working version against the published one (empty when there is none of either).
    pending: list[Change]
    actions: frozenset[str]

    def version(self, number: int | None) -> Version | None:
        return next((v for v in self.versions if v.number == number), None)

    @property
    def shown(self) -> Version | None:
        """The version to show first: the working one to those who may see it, else the published one."""
        return self.version(self.record.working_version) or self.version(self.record.published_version)


def _actions(actor: Actor, r: Record, working: Version | None) -> frozenset[str]:
    out: set[str] = set()
    edit = policies.can_edit(actor, r.organisation_id, r.division_code)
    review = policies.can_review(actor, r.division_code)
    if r.state is RecordState.WITHDRAWN:
        return frozenset()
    if working is not None and working.status in (VersionStatus.DRAFT, VersionStatus.RETURNED) and edit:
        out |= {"edit", "submit"}
    if working is not None and working.status is VersionStatus.SUBMITTED and review:
        out |= {"publish", "return"}
    if working is None and r.published_version is not None:
        if edit:
            out.add("start_version")
        if policies.can_withdraw(actor, r.division_code):
            out.add("withdraw")
    return frozenset(out)


def get_record(uow: UnitOfWork, record_id: int, actor: Actor) -> RecordDetail:
    r = repository.get_record(uow.session, record_id)
    if r is None or not policies.can_view(
        actor, r.organisation_id, r.division_code, r.published_version is not None
    ):
        raise NotFound("事项不存在")
    uow.authorize(
        policies.can_view(actor, r.organisation_id, r.division_code, r.published_version is not None),
        actor,
        "items.record.view",
        object_type="item_record",
        object_id=r.id,
    )
    versions = repository.list_versions(uow.session, r.id)
    if not policies.can_edit(actor, r.organisation_id, r.division_code):
        versions = [v for v in versions if v.status in (VersionStatus.PUBLISHED, VersionStatus.SUPERSEDED)]
    working = next((v for v in versions if v.number == r.working_version), None)
    published = next((v for v in versions if v.number == r.published_version), None)
    pending = diff_documents(published.document, working.document) if working and published else []
    return RecordDetail(
        record=r,
        organisation_name=_Names(uow)(r.organisation_id),
        versions=versions,
        history=repository.list_history(uow.session, r.id) if working is not None or versions else [],
        pending=pending,
        actions=_actions(actor, r, working),
    )


def find_record(uow: UnitOfWork, code: str, actor: Actor) -> RecordDetail:
    r = repository.find_by_code(uow.session, code.strip().upper())
    if r is None:
        raise NotFound("事项不存在")
    return get_record(uow, r.id, actor)


def version_diff(
    uow: UnitOfWork, record_id: int, from_number: int, to_number: int, actor: Actor
) -> list[Change]:
    detail = get_record(uow, record_id, actor)
    before, after = detail.version(from_number), detail.version(to_number)
    if before is None or after is None:
        raise NotFound("版本不存在")
    return diff_documents(before.document, after.document)


class _Names:
    """Organisation names, each read once per use case (public facts: who implements an item)."""

    def __init__(self, uow: UnitOfWork) -> None:
        self._uow = uow
        self._names: dict[int, str] = {}

    def __call__(self, organisation_id: int) -> str:
        if organisation_id not in self._names:
            try:
                self._names[organisation_id] = org.get_organisation(self._uow, organisation_id, _NAMES).name
            except NotFound:
                self._names[organisation_id] = ""
        return self._names[organisation_id]


# --- what is published ------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Snapshot:
    mark: tuple[int, int]
    basics: dict[str, BasicCard]
    items: dict[str, ItemCard]
    bundles: dict[str, BundleCard]
    by_basic: dict[str, list[ItemCard]]
    extras: dict[str, Any] = field(default_factory=dict)  # things built from the snapshot on first use

    def available_in(self, division_code: str) -> list[ItemCard]:
        """Implementation entries serving a division: its own bodies', its city's and the province's."""
        chain = {division_code, *parent_codes(division_code)}
        return [c for c in self.items.values() if c.division_code in chain]

    def nearest(self, basic_code: str, division_code: str) -> ItemCard | None:
        """The implementation of a basic item closest to a division (its own, then its city's, then the
        province's); None when none serves it."""
        chain = [division_code, *reversed(parent_codes(division_code))]
        cards = self.by_basic.get(basic_code, [])
        for code in chain:
            for card in cards:
                if card.division_code == code:
                    return card
        return None


class _Cards:
    """Cards from records and their published versions, each organisation and division name read once."""

    def __init__(self, uow: UnitOfWork) -> None:
        self._uow = uow
        self.names = _Names(uow)
        self._divisions: dict[str, str] = {}

    def division_name(self, code: str) -> str:
        if code not in self._divisions:
            try:
                self._divisions[code] = org.get_division(self._uow, code).name
            except NotFound:
                self._divisions[code] = code
        return self._divisions[code]

    def basic(self, r: Record, v: Version) -> BasicCard:
        return BasicCard(
            r.code, v.number, r.organisation_id, self.names(r.organisation_id),
            BasicDocument.model_validate(v.document), v.reviewed_at,
        )  # fmt: skip

    def item(self, r: Record, v: Version) -> ItemCard:
        document = ImplementationDocument.model_validate(v.document)
        return ItemCard(
            r.code, r.basic_code, v.number, r.organisation_id, self.names(r.organisation_id), r.division_code,
            self.division_name(r.division_code), document, v.reviewed_at,
        )  # fmt: skip

    def bundle(self, r: Record, v: Version) -> BundleCard:
        return BundleCard(
            r.code, v.number, r.division_code, self.division_name(r.division_code),
            BundleDocument.model_validate(v.document), v.reviewed_at,
        )  # fmt: skip


def _by_basic(items: Iterable[ItemCard]) -> dict[str, list[ItemCard]]:
    grouped: dict[str, list[ItemCard]] = defaultdict(list)
    for card in items:
        grouped[card.basic_code].append(card)
    return dict(grouped)


def _load_snapshot(uow: UnitOfWork, mark: tuple[int, int]) -> Snapshot:
    cards = _Cards(uow)
    basics = {r.code: cards.basic(r, v) for r, v in repository.published(uow.session, RecordKind.BASIC)}
    items = {
        r.code: cards.item(r, v)
        for r, v in repository.published(uow.session, RecordKind.IMPLEMENTATION)
        if r.basic_code in basics
    }
    bundles = {r.code: cards.bundle(r, v) for r, v in repository.published(uow.session, RecordKind.BUNDLE)}
    return Snapshot(mark, basics, items, bundles, _by_basic(items.values()))


def _refreshed(uow: UnitOfWork, old: Snapshot, mark: tuple[int, int]) -> Snapshot:
    """The snapshot after the publications and withdrawals since ``old``: only their records are read again,
    so a publication costs what it changed, not the whole catalogue. A change of the basic directory (rare:
    the province's) reloads everything, since it decides which implementations are shown."""
    changed = [(r, v) for r, v in repository.changed_since(uow.session, old.mark) if _moved(old, r, v)]
    if any(r.kind is RecordKind.BASIC for r, _ in changed):
        return _load_snapshot(uow, mark)
    cards = _Cards(uow)
    items, bundles = dict(old.items), dict(old.bundles)
    for r, v in changed:
        if r.kind is RecordKind.IMPLEMENTATION:
            items.pop(r.code, None)
            if v is not None and r.basic_code in old.basics:
                items[r.code] = cards.item(r, v)
        else:
            bundles.pop(r.code, None)
            if v is not None:
                bundles[r.code] = cards.bundle(r, v)
    return Snapshot(mark, old.basics, items, bundles, _by_basic(items.values()))


def _moved(old: Snapshot, r: Record, v: Version | None) -> bool:
    """Whether readers should now see something else of this record than the snapshot holds."""
    held: BasicCard | ItemCard | BundleCard | None
    if r.kind is RecordKind.BASIC:
        held = old.basics.get(r.code)
    elif r.kind is RecordKind.IMPLEMENTATION:
        held = old.items.get(r.code)
    else:
        held = old.bundles.get(r.code)
    if v is None:
        return held is not None
    return held is None or held.version != v.number


class PublishedCatalogue:
    """The process's copy of what is published; one per platform."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._snapshot: Snapshot | None = None

    def snapshot(self, uow: UnitOfWork, actor: Actor) -> Snapshot:
        uow.authorize(policies.can_read_published(actor), actor, "items.published.read")
        mark = repository.publication_mark(uow.session)
        current = self._snapshot
        if current is not None and current.mark == mark:
            return current
        with self._lock:
            current = self._snapshot
            if current is None:
                current = _load_snapshot(uow, mark)
            elif current.mark != mark:
                current = _refreshed(uow, current, mark)
            self._snapshot = current
            return current

    def derived(self, snapshot: Snapshot, name: str, build: Callable[[Snapshot], Any]) -> Any:
        """Something built once per snapshot (the guide's index, the browse facets)."""
        if name not in snapshot.extras:
            with self._lock:
                if name not in snapshot.extras:
                    snapshot.extras[name] = build(snapshot)
        return snapshot.extras[name]


def item_card(snapshot: Snapshot, code: str) -> ItemCard:
    card = snapshot.items.get(code.strip().upper())
    if card is None:
        raise NotFound("事项不存在或未发布")
    return card


def bundle_card(snapshot: Snapshot, code: str) -> BundleCard:
    card = snapshot.bundles.get(code.strip().upper())
    if card is None:
        raise NotFound("一件事不存在或未发布")
    return card


# --- a bundle's one application -----------------------------------------------------------------------------
@dataclass(frozen=True)
class BundleApplication:
    """一件事一次办: the items that serve a division, one merged form and one set of materials."""

    bundle: BundleCard
    division_code: str
    items: list[ItemCard]
    missing: list[str]  # basic codes no body serves in this division
    fields: list[FormField]
    materials: list[Material]
    # Per merged material, the items that asked for it.
    material_items: dict[str, list[str]]

    @property
    def promised_days(self) -> int:
        return self.bundle.document.promised_days


def _material_key(m: Material) -> str:
    # The same e-licence is the same material whatever each item calls it.
    return f"licence:{m.licence_type}" if m.licence_type else f"name:{m.name}"


def merge_application(
    bundle: BundleCard, items: Iterable[ItemCard]
) -> tuple[list[FormField], list[Material], dict[str, list[str]]]:
    fields: dict[str, FormField] = {}
    materials: dict[str, Material] = {}
    asked: dict[str, list[str]] = defaultdict(list)
    for card in items:
        for f in card.elements.fields:
            known = fields.get(f.key)
            if known is None or (f.required and not known.required):
                fields[f.key] = f if known is None else known.model_copy(update={"required": True})
        for m in card.elements.materials:
            key = _material_key(m)
            if key not in materials:
                materials[key] = m
            asked[materials[key].name].append(card.elements.name)
    return list(fields.values()), list(materials.values()), dict(asked)


def bundle_application(snapshot: Snapshot, code: str, division_code: str) -> BundleApplication:
    bundle = bundle_card(snapshot, code)
    chosen: list[ItemCard] = []
    missing: list[str] = []
    for part in bundle.document.parts:
        card = snapshot.nearest(part.basic_code, division_code)
        if card is None:
            missing.append(part.basic_code)
        else:
            chosen.append(card)
    fields, materials, asked = merge_application(bundle, chosen)
    return BundleApplication(bundle, division_code, chosen, missing, fields, materials, asked)


# --- browsing -----------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class BrowseQuery:
    audience: Audience | None = None
    theme: str = ""
    department_id: int | None = None
    item_type: str = ""
    division_code: str = ""
    life_event: LifeEvent | None = None


def bundles_for(snapshot: Snapshot, query: BrowseQuery) -> list[BundleCard]:
    """Bundles for the audience and life event asked for, in code order."""
    return sorted(
        (
            b
            for b in snapshot.bundles.values()
            if (query.audience is None or b.document.audience is query.audience)
            and (query.life_event is None or b.document.life_event is query.life_event)
        ),
        key=lambda b: b.code,
    )


def browse(snapshot: Snapshot, query: BrowseQuery) -> list[BasicCard]:
    """Basic items (one per item, whoever implements it) matching the facets, in code order."""
    served = (
        {c.basic_code for c in snapshot.available_in(query.division_code)} if query.division_code else None
    )
    in_event = (
        {p.basic_code for b in bundles_for(snapshot, query) for p in b.document.parts}
        if query.life_event is not None
        else None
    )
    out = []
    for card in snapshot.basics.values():
        e = card.elements
        if query.audience is not None and query.audience not in e.audience:
            continue
        if query.theme and query.theme not in e.themes:
            continue
        if query.department_id is not None and card.department_id != query.department_id:
            continue
        if query.item_type and e.item_type.value != query.item_type:
            continue
        if served is not None and card.code not in served:
            continue
        if card.code not in snapshot.by_basic:
            continue
        if in_event is not None and card.code not in in_event:
            continue
        out.append(card)
    return out


@dataclass(frozen=True)
class Facets:
    themes: list[tuple[str, int]]
    departments: list[tuple[int, str, int]]
    item_types: list[tuple[str, str, int]]
    life_events: list[tuple[LifeEvent, int]]


def facets(snapshot: Snapshot) -> Facets:
    themes: dict[str, int] = defaultdict(int)
    departments: dict[tuple[int, str], int] = defaultdict(int)
    types: dict[tuple[str, str], int] = defaultdict(int)
    for card in snapshot.basics.values():
        if card.code not in snapshot.by_basic:
            continue
        for t in card.elements.themes:
            themes[t] += 1
        departments[(card.department_id, card.department_name)] += 1
        types[(card.elements.item_type.value, card.elements.item_type.label)] += 1
    return Facets(
        themes=sorted(themes.items(), key=lambda kv: (-kv[1], kv[0])),
        departments=sorted(((i, n, c) for (i, n), c in departments.items()), key=lambda t: (-t[2], t[1])),
        item_types=sorted((v, label, c) for (v, label), c in types.items()),
        life_events=[
            (event, n)
            for event in LifeEvent
            if (n := sum(b.document.life_event is event for b in snapshot.bundles.values()))
        ],
    )


# --- the smart guide ----------------------------------------------------------------------------------------
def guide_documents(snapshot: Snapshot) -> list[GuideDocument]:
    """What the guide searches: each basic item that some body implements, and every bundle."""
    titles = {code: card.elements.name for code, card in snapshot.basics.items()}
    docs = [
        GuideDocument.from_basic(card) for code, card in snapshot.basics.items() if code in snapshot.by_basic
    ]
    docs += [GuideDocument.from_bundle(card, titles) for card in snapshot.bundles.values()]
    return docs


@dataclass(frozen=True)
class GuideAnswer:
    """One result of the guide: an item (its basic card, and the implementation serving the asker's area
    when one does) or a bundle."""

    hit: Hit
    basic: BasicCard | None = None
    nearest: ItemCard | None = None
    bundle: BundleCard | None = None


def search_guide(
    catalogue: PublishedCatalogue,
    snapshot: Snapshot,
    query: str,
    *,
    audience: Audience | None = None,
    division_code: str = "",
    limit: int = 10,
) -> list[GuideAnswer]:
    """The guide's answers to a question in citizens' words (智能导办), best first."""
    index: GuideIndex = catalogue.derived(snapshot, "guide", lambda s: GuideIndex.build(guide_documents(s)))
    answers = []
    for hit in index.search(query, limit=limit, audience=audience.value if audience else None):
        if hit.kind == "bundle":
            answers.append(GuideAnswer(hit, bundle=snapshot.bundles.get(hit.key)))
        else:
            nearest = snapshot.nearest(hit.key, division_code) if division_code else None
            answers.append(GuideAnswer(hit, basic=snapshot.basics.get(hit.key), nearest=nearest))
    return answers
