"""The public services of the catalogue as RDF after CPSV-AP 3.2.0, the EU Core Public Service Vocabulary
Application Profile, so that portals and other governments can read them in a shared vocabulary.

Each implementation entry becomes a cpsv:PublicService at ``{base_uri}/items/{实施编码}`` and each 一件事 a
cv:Event (cv:LifeEvent or cv:BusinessEvent by audience) at ``{base_uri}/bundles/{code}``; every other node
hangs under a path of its own, so the same catalogue always gives the same URIs. Names and ranges of the
properties follow the profile's SHACL shapes (tests/items/specs/cpsv-ap-3.2.0-SHACL.ttl), which the tests
validate every export against. Where a property could be named after the profile's prose or after the
shapes, the shapes win: 受理条件 are cv:holdsRequirement, 咨询 and 投诉 are cv:contactPoint, an event
lists its services with cv:hasRelatedService and each service points back with cv:isGroupedBy.

The code lists (事项类型, 服务对象, 办理形式, 审批结果类型, 生命周期事件) are published in the graph as SKOS
concept schemes under ``{base_uri}/concepts/``, because no EU authority table covers them.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Sequence
from urllib.parse import quote

from rdflib import Graph, Literal, Namespace, URIRef
from rdflib.namespace import DCAT, DCTERMS, FOAF, ORG, RDF, SKOS, TIME, XSD

from wanshi.items.domain.documents import LifeEvent
from wanshi.items.domain.elements import (
    ONLINE_DEPTH_LABELS,
    Audience,
    Basis,
    Fee,
    HandlingForm,
    ItemType,
    Labelled,
    Material,
    Place,
    ResultType,
)
from wanshi.items.domain.views import BundleCard, ItemCard
from wanshi.kernel.errors import ValidationFailed

CV = Namespace("http://data.europa.eu/m8g/")
CPSV = Namespace("http://purl.org/vocab/cpsv#")
ELI = Namespace("http://data.europa.eu/eli/ontology#")
LOCN = Namespace("http://www.w3.org/ns/locn#")
PREFIXES = {
    "cv": CV,
    "cpsv": CPSV,
    "eli": ELI,
    "locn": LOCN,
    "dct": DCTERMS,
    "dcat": DCAT,
    "foaf": FOAF,
    "org": ORG,
    "skos": SKOS,
    "time": TIME,
    "xsd": XSD,
}
LANG = "zh"
CNY = URIRef("http://publications.europa.eu/resource/authority/currency/CNY")
CHINESE = URIRef("http://publications.europa.eu/resource/authority/language/ZHO")

# Only a bare amount in yuan is a value; a rate ("每平方米 3 元") stays in the description.
AMOUNT = re.compile(r"^(?:[¥￥]\s*)?(\d+(?:\.\d+)?)\s*(?:元(?:\s*/\s*\S+)?)?$")
PHONE = re.compile(r"(?<![\d-])(?:0\d{2,3}-?\d{7,8}|1[3-9]\d{9}|\d{5,8})(?![\d-])")
EMAIL = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}")

SCHEMES: dict[str, tuple[str, type[Labelled]]] = {
    "item-types": ("事项类型", ItemType),
    "audiences": ("服务对象", Audience),
    "channels": ("办理形式", HandlingForm),
    "result-types": ("审批结果类型", ResultType),
    "life-events": ("人生和企业全生命周期事件", LifeEvent),
}
THEMES = "themes"

FORMATS: dict[str, tuple[str, str]] = {
    "turtle": ("turtle", "text/turtle"),
    "json-ld": ("json-ld", "application/ld+json"),
    "rdf/xml": ("xml", "application/rdf+xml"),
}


def media_type(format: str) -> str:
    """The Content-Type of an export in ``format``."""
    return FORMATS[_known_format(format)][1]


def serialise(graph: Graph, format: str) -> bytes:
    """The graph as UTF-8 bytes in ``format`` (turtle, json-ld or rdf/xml); JSON-LD is compacted with the
    prefixes written into its own context, so reading it fetches nothing."""
    rdflib_format = FORMATS[_known_format(format)][0]
    if rdflib_format == "json-ld":
        context = {prefix: str(ns) for prefix, ns in PREFIXES.items()}
        return graph.serialize(format="json-ld", context=context, auto_compact=True, encoding="utf-8")
    return graph.serialize(format=rdflib_format, encoding="utf-8")


def _known_format(format: str) -> str:
    key = format.strip().lower()
    if key not in FORMATS:
        raise ValidationFailed(
            f"不支持的导出格式“{format}”，可用：" + "、".join(FORMATS), code="cpsv_format_unknown"
        )
    return key


def catalogue_graph(items: Sequence[ItemCard], bundles: Sequence[BundleCard], base_uri: str) -> Graph:
    """The published entries and bundles as one CPSV-AP graph; ``base_uri`` roots every URI we mint."""
    _refuse_duplicates("实施编码", [card.code for card in items], "cpsv_duplicate_item")
    _refuse_duplicates("一件事编码", [bundle.code for bundle in bundles], "cpsv_duplicate_bundle")
    writer = _Writer(base_uri)
    writer.publish_schemes()
    services = {card.code: writer.service(card) for card in items}
    for bundle in bundles:
        related = [services[card.code] for card in items if _belongs(card, bundle)]
        writer.event(bundle, related)
    return writer.graph


def _refuse_duplicates(what: str, codes: list[str], error_code: str) -> None:
    seen: set[str] = set()
    for code in codes:
        if code in seen:
            raise ValidationFailed(f"导出的{what}“{code}”重复，每项只能导出一个版本", code=error_code)
        seen.add(code)


def _belongs(card: ItemCard, bundle: BundleCard) -> bool:
    """Whether an entry serves a bundle: one of its items, implemented in the bundle's division, above it
    (a city body serving a county's residents) or below it (a county body under a city's bundle)."""
    if card.basic_code not in {part.basic_code for part in bundle.document.parts}:
        return False
    mine, theirs = _significant(card.division_code), _significant(bundle.division_code)
    return mine.startswith(theirs) or theirs.startswith(mine)


def _significant(division_code: str) -> str:
    """A division code without the zero pairs of the levels below it (340100 -> 3401)."""
    code = division_code
    while code.endswith("00") and len(code) > 2:
        code = code[:-2]
    return code


def fee_amount(standard: str) -> float | None:
    """The fee in yuan when its standard is a bare amount (``50``, ``50 元``, ``￥50.00``, ``10元/本``)."""
    match = AMOUNT.match(standard.strip())
    return float(match[1]) if match else None


class _Writer:
    def __init__(self, base_uri: str) -> None:
        self.base = base_uri.strip().rstrip("/")
        if not self.base.startswith(("https://", "http://")):
            raise ValidationFailed(
                f"导出的根地址“{base_uri}”须为 http:// 或 https:// 开头的完整网址",
                code="cpsv_base_uri_invalid",
            )
        self.graph = Graph()
        for prefix, namespace in PREFIXES.items():
            self.graph.bind(prefix, namespace)
        self._done: set[URIRef] = set()

    def uri(self, *parts: str) -> URIRef:
        return URIRef("/".join([self.base, *(quote(part, safe="-._~") for part in parts)]))

    def add(self, subject: URIRef, predicate: URIRef, value: URIRef | Literal) -> None:
        self.graph.add((subject, predicate, value))

    def text(self, subject: URIRef, predicate: URIRef, value: str) -> None:
        if value:
            self.add(subject, predicate, Literal(value, lang=LANG))

    def node(self, subject: URIRef, identifier: str, *classes: URIRef) -> bool:
        """Types a node and gives it its dct:identifier once; False when it was already written."""
        if subject in self._done:
            return False
        self._done.add(subject)
        for cls in classes:
            self.add(subject, RDF.type, cls)
        self.add(subject, DCTERMS.identifier, Literal(identifier))
        return True

    # Code lists

    def publish_schemes(self) -> None:
        for key, (label, enum) in SCHEMES.items():
            self._scheme(key, label)
            for member in enum:
                self._concept(key, member.value, member.label)
        self._scheme(THEMES, "主题分类")
        self.add(CNY, RDF.type, SKOS.Concept)
        self.text(CNY, SKOS.prefLabel, "人民币")
        self.add(CHINESE, RDF.type, DCTERMS.LinguisticSystem)
        self.text(CHINESE, SKOS.prefLabel, "中文")

    def _scheme(self, key: str, label: str) -> None:
        scheme = self.uri("concepts", key)
        self.add(scheme, RDF.type, SKOS.ConceptScheme)
        self.text(scheme, SKOS.prefLabel, label)

    def _concept(self, key: str, notation: str, label: str) -> URIRef:
        scheme, concept = self.uri("concepts", key), self.uri("concepts", key, notation)
        self.add(concept, RDF.type, SKOS.Concept)
        self.text(concept, SKOS.prefLabel, label)
        self.add(concept, SKOS.notation, Literal(notation))
        self.add(concept, SKOS.inScheme, scheme)
        self.add(concept, SKOS.topConceptOf, scheme)
        self.add(scheme, SKOS.hasTopConcept, concept)
        return concept

    def concept(self, key: str, member: Labelled) -> URIRef:
        return self.uri("concepts", key, member.value)

    # Places and bodies

    def division(self, code: str, name: str) -> URIRef:
        location = self.uri("divisions", code)
        if self.node(location, code, DCTERMS.Location):
            self.text(location, LOCN.geographicName, name)
        return location

    def organisation(self, card: ItemCard) -> URIRef:
        body_code = card.document.body_code
        organisation = self.uri("organisations", body_code)
        if self.node(organisation, body_code, CV.PublicOrganisation, ORG.Organization, FOAF.Agent):
            self.text(organisation, SKOS.prefLabel, card.organisation_name)
            self.text(organisation, DCTERMS.title, card.organisation_name)
            self.add(organisation, DCTERMS.spatial, self.division(card.division_code, card.division_name))
        return organisation

    # Services

    def service(self, card: ItemCard) -> URIRef:
        e = card.elements
        service = self.uri("items", card.code)
        self.node(service, card.code, CPSV.PublicService)
        self.text(service, DCTERMS.title, card.title)
        self.text(
            service, DCTERMS.description, e.summary or f"{card.title}，由{card.organisation_name}实施。"
        )
        for keyword in e.keywords:
            self.text(service, DCAT.keyword, keyword)
        self.add(service, DCTERMS.type, self.concept("item-types", e.item_type))
        for audience in e.audience:
            self.add(service, DCTERMS.audience, self.concept("audiences", audience))
        for theme in e.themes:
            self.add(service, CV.thematicArea, self._concept(THEMES, theme, theme))
        self.add(service, DCTERMS.language, CHINESE)
        self.add(service, DCTERMS.spatial, self.division(card.division_code, card.division_name))
        organisation = self.organisation(card)
        self.add(service, CV.hasCompetentAuthority, organisation)
        # 工作日 are written as days: xsd:duration has no unit for working days.
        self.add(service, CV.processingTime, Literal(f"P{e.promised_limit.value}D", datatype=XSD.duration))
        for channel in self._channels(card, organisation):
            self.add(service, CV.hasChannel, channel)
        for n, fee in enumerate(e.fees, start=1):
            self.add(service, CV.hasCost, self._cost(card.code, n, fee))
        for n, condition in enumerate(e.conditions, start=1):
            self.add(service, CV.holdsRequirement, self._requirement(card.code, n, condition))
        for n, material in enumerate(e.materials, start=1):
            self.add(service, CPSV.hasInput, self._evidence(card.code, n, material))
        if e.result is not None:
            output = self.uri("items", card.code, "output")
            self.node(output, f"{card.code}/output", CV.Output)
            self.text(output, DCTERMS.title, e.result.name)
            self.add(output, DCTERMS.type, self.concept("result-types", e.result.type))
            self.add(service, CPSV.produces, output)
        for basis in e.basis:
            self.add(service, CV.hasLegalResource, self._legal_resource(basis))
        for kind, label, text in (
            ("consult", "咨询方式", e.consult),
            ("complaint", "监督投诉方式", e.complaint),
        ):
            if text:
                self.add(service, CV.contactPoint, self._contact_point(card.code, kind, f"{label}：{text}"))
        return service

    def _channels(self, card: ItemCard, organisation: URIRef) -> Iterable[URIRef]:
        e = card.elements
        if HandlingForm.COUNTER in e.forms:
            for n, place in enumerate(e.places, start=1):
                yield self._counter(card.code, n, place, organisation)
            if not e.places:
                yield self._channel(
                    card.code, "counter", HandlingForm.COUNTER, HandlingForm.COUNTER.label, organisation
                )
        if HandlingForm.ONLINE in e.forms:
            online = f"{HandlingForm.ONLINE.label}（{ONLINE_DEPTH_LABELS[e.online_depth]}）"
            channel = self._channel(
                card.code,
                "online",
                HandlingForm.ONLINE,
                online + (f"：{e.online_url}" if e.online_url else ""),
                organisation,
            )
            if e.online_url.startswith(("https://", "http://")):
                page = URIRef(e.online_url)
                self.add(page, RDF.type, FOAF.Document)
                self.add(channel, FOAF.page, page)
            yield channel
        if HandlingForm.POST in e.forms:
            post = HandlingForm.POST.label + ("，办理结果可快递送达" if e.delivery else "")
            yield self._channel(card.code, "post", HandlingForm.POST, post, organisation)

    def _counter(self, code: str, n: int, place: Place, organisation: URIRef) -> URIRef:
        described = f"{place.name}，地址：{place.address}" + (f"，电话：{place.phone}" if place.phone else "")
        channel = self._channel(code, f"counter-{n}", HandlingForm.COUNTER, described, organisation)
        if place.hours:
            hours = self.uri("items", code, "channels", f"counter-{n}", "hours")
            self.add(hours, RDF.type, TIME.TemporalEntity)
            self.text(hours, DCTERMS.description, place.hours)
            self.add(channel, CV.openingHours, hours)
        return channel

    def _channel(
        self, code: str, key: str, form: HandlingForm, description: str, organisation: URIRef
    ) -> URIRef:
        channel = self.uri("items", code, "channels", key)
        self.node(channel, f"{code}/channels/{key}", CV.Channel)
        self.add(channel, DCTERMS.type, self.concept("channels", form))
        self.text(channel, DCTERMS.description, description)
        self.add(channel, CV.ownedBy, organisation)
        return channel

    def _cost(self, code: str, n: int, fee: Fee) -> URIRef:
        cost = self.uri("items", code, "costs", str(n))
        self.node(cost, f"{code}/costs/{n}", CV.Cost)
        described = f"{fee.name}：{fee.standard}" + (f"（依据：{fee.basis}）" if fee.basis else "")
        self.text(cost, DCTERMS.description, described + ("，可减免" if fee.reducible else ""))
        value = fee_amount(fee.standard)
        if value is not None:
            self.add(cost, CV.hasValue, Literal(value, datatype=XSD.double))
            self.add(cost, CV.currency, CNY)
        return cost

    def _requirement(self, code: str, n: int, condition: str) -> URIRef:
        requirement = self.uri("items", code, "requirements", str(n))
        self.node(requirement, f"{code}/requirements/{n}", CV.Requirement)
        self.text(requirement, DCTERMS.title, condition)
        return requirement

    def _evidence(self, code: str, n: int, material: Material) -> URIRef:
        evidence = self.uri("items", code, "evidence", str(n))
        self.node(evidence, f"{code}/evidence/{n}", CV.Evidence)
        self.text(evidence, DCTERMS.title, material.name)
        facts = [
            material.necessity.label,
            material.form.label,
            f"{material.copies} 份",
            material.source.label,
        ]
        if material.deferrable:
            facts.append("可容缺受理")
        if material.replaceable:
            facts.append("可免提交（由电子证照或基础库获取）")
        details = [material.standard, f"依据：{material.basis}" if material.basis else ""]
        self.text(evidence, DCTERMS.description, "；".join(["、".join(facts), *filter(None, details)]))
        return evidence

    def _legal_resource(self, basis: Basis) -> URIRef:
        """The law, shared by every service citing it; with an article, the article as its own resource
        related to the law, so two services citing the same article share that node too."""
        law = self.uri("legal-resources", basis.name)
        if law not in self._done:
            self._done.add(law)
            self.add(law, RDF.type, ELI.LegalResource)
            self.text(law, DCTERMS.title, basis.name)
        if not basis.article:
            return law
        digest = hashlib.sha256(basis.article.encode()).hexdigest()[:16]
        article = self.uri("legal-resources", basis.name, "articles", digest)
        if article not in self._done:
            self._done.add(article)
            self.add(article, RDF.type, ELI.LegalResource)
            self.text(article, DCTERMS.title, basis.name)
            self.text(article, DCTERMS.description, basis.article)
            self.add(article, DCTERMS.relation, law)
        return article

    def _contact_point(self, code: str, kind: str, text: str) -> URIRef:
        contact = self.uri("items", code, "contact-points", kind)
        self.add(contact, RDF.type, CV.ContactPoint)
        self.text(contact, DCTERMS.description, text)
        for phone in PHONE.findall(text):
            self.add(contact, CV.telephone, Literal(phone))
        for email in EMAIL.findall(text):
            self.add(contact, CV.email, Literal(email))
        return contact

    # 一件事

    def event(self, bundle: BundleCard, services: Sequence[URIRef]) -> URIRef:
        document = bundle.document
        kind = CV.BusinessEvent if document.audience is Audience.ENTERPRISE else CV.LifeEvent
        event = self.uri("bundles", bundle.code)
        # Typed cv:Event too: the shapes check cv:isGroupedBy's range without the vocabulary's subclassing.
        self.node(event, bundle.code, CV.Event, kind)
        self.text(event, DCTERMS.title, document.name)
        self.text(event, DCTERMS.description, document.summary)
        self.add(event, DCTERMS.type, self.concept("life-events", document.life_event))
        for service in services:
            self.add(event, CV.hasRelatedService, service)
            self.add(service, CV.isGroupedBy, event)
        return event
