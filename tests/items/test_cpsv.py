"""The CPSV-AP export: a small catalogue of Hefei entries and bundles, validated against the profile's SHACL
shapes (a copy in tests/items/specs, since CI has no shared folder)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pyshacl
import pytest
from rdflib import BNode, Graph, Literal, URIRef
from rdflib.compare import isomorphic
from rdflib.namespace import DCTERMS, RDF, SH, SKOS

from wanshi.items.cpsv import CPSV, CV, catalogue_graph, fee_amount, media_type, serialise
from wanshi.items.domain.codes import ImplementationCode
from wanshi.items.domain.documents import BundleDocument, ImplementationDocument
from wanshi.items.domain.elements import parse_part
from wanshi.items.domain.views import BundleCard, ItemCard
from wanshi.kernel.errors import ValidationFailed
from wanshi.kernel.identifiers.credit_code import generate_credit_code

# rdflib's closed XSD namespace warns when pytest probes module attributes, so it is reached by its URI.
DOUBLE = URIRef("http://www.w3.org/2001/XMLSchema#double")
DURATION = URIRef("http://www.w3.org/2001/XMLSchema#duration")
# pyshacl still calls rdflib APIs that rdflib 7 deprecates, thousands of times a validation.
pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning:rdflib")

SHAPES = Path(__file__).parent / "specs" / "cpsv-ap-3.2.0-SHACL.ttl"
BASE = "https://zwfw.example.gov.cn"
PUBLISHED = datetime(2025, 3, 1, 9, 0, tzinfo=UTC)

BIRTH_CERTIFICATE = "372A0101000000"
BIRTH_REGISTRATION = "332B0201000000"
HEALTH_INSURANCE = "361C0301000000"
PROPERTY_REGISTRATION = "318A0401000000"
FOOD_LICENCE = "563A0501000000"
COMPANY_REGISTRATION = "563B0601000000"

YAOHAI_HEALTH = generate_credit_code("1", "1", "340102", "MB000001")
LUYANG_HEALTH = generate_credit_code("1", "1", "340103", "MB000004")
HEFEI_POLICE = generate_credit_code("1", "1", "340100", "MB000002")
HEFEI_PROPERTY = generate_credit_code("1", "2", "340100", "48500003")
YAOHAI_MARKET = generate_credit_code("1", "1", "340102", "MB000005")

DIVISIONS = {"340100": "合肥市", "340102": "瑶海区", "340103": "庐阳区"}


def birth_certificate_elements(**changes: Any) -> dict[str, Any]:
    elements: dict[str, Any] = {
        "name": "出生医学证明首次签发",
        "item_type": "公共服务",
        "summary": "为在本辖区助产机构内出生的新生儿首次签发《出生医学证明》。",
        "basis": [
            {
                "name": "《中华人民共和国母婴保健法》",
                "article": "第二十三条　医疗保健机构和从事家庭接生的人员按照国务院卫生行政部门的规定，"
                "出具统一制发的新生儿出生医学证明。",
            }
        ],
        "level": "县级",
        "audience": "自然人",
        "case_type": "即办件",
        "conditions": ["新生儿在本辖区助产机构内出生", "父母双方或一方持有效身份证件"],
        "legal_limit": {"value": 20, "unit": "工作日"},
        "promised_limit": {"value": 1, "unit": "工作日"},
        "forms": "窗口办理、网上办理",
        "visits": 1,
        "visits_reason": "需现场核验新生儿父母身份并领取纸质证明",
        "online": True,
        "online_depth": 3,
        "online_url": "https://www.ahzwfw.gov.cn/bog-bsdt/static/workPlatform/index.html",
        "result": {"name": "出生医学证明", "type": "证照", "licence_type": "出生医学证明"},
        "places": [
            {
                "name": "瑶海区妇幼保健院出生医学证明办理窗口",
                "address": "合肥市瑶海区长江东路 1 号门诊楼一楼",
                "hours": "工作日 8:30-12:00，14:30-17:30",
                "phone": "0551-64422013",
            }
        ],
        "consult": "咨询电话：0551-64422013，或拨打 12345",
        "complaint": "瑶海区卫生健康委员会投诉电话 0551-64496217，邮箱 yhwjw@example.gov.cn",
        "materials": [
            {
                "name": "母亲有效身份证件",
                "form": "纸质",
                "registry": {"registry": "人口库", "fields": ["name"]},
            },
            {"name": "父亲有效身份证件", "necessity": "情形必要", "form": "纸质"},
            {"name": "《出生医学证明》首次签发登记表", "source": "政府部门核发", "blank_form": "登记表.docx"},
        ],
        "themes": ["生育收养"],
        "keywords": ["出生证", "新生儿", "出生证明"],
    }
    elements.update(changes)
    return elements


def card(
    basic: str,
    division: str,
    body: str,
    organisation: str,
    elements: dict[str, Any],
    business_no: int = 0,
    business_name: str = "",
) -> ItemCard:
    document = parse_part(
        ImplementationDocument,
        {"elements": elements, "body_code": body, "business_no": business_no, "business_name": business_name},
    )
    code = str(ImplementationCode(basic, division, body, business_no=business_no))
    return ItemCard(
        code=code,
        basic_code=basic,
        version=3,
        organisation_id=hash(body) % 1000,
        organisation_name=organisation,
        division_code=division,
        division_name=DIVISIONS[division],
        document=document,
        published_at=PUBLISHED,
    )


YAOHAI_BIRTH = card(
    BIRTH_CERTIFICATE, "340102", YAOHAI_HEALTH, "合肥市瑶海区卫生健康委员会", birth_certificate_elements()
)
LUYANG_BIRTH = card(
    BIRTH_CERTIFICATE, "340103", LUYANG_HEALTH, "合肥市庐阳区卫生健康委员会", birth_certificate_elements()
)
REGISTRATION = card(
    BIRTH_REGISTRATION,
    "340100",
    HEFEI_POLICE,
    "合肥市公安局",
    {
        "name": "出生登记",
        "item_type": "行政确认",
        "summary": "为新出生婴儿办理常住户口登记。",
        "basis": [{"name": "《中华人民共和国户口登记条例》"}],
        "audience": ["自然人"],
        "legal_limit": {"value": 30, "unit": "自然日"},
        "promised_limit": {"value": 5, "unit": "工作日"},
        "visits": 0,
        "forms": ["网上办理"],
        "online": True,
        "online_depth": 4,
        "result": {"name": "居民户口簿（户口登记页）", "type": "其他"},
        "materials": [{"name": "出生医学证明", "licence_type": "出生医学证明"}],
    },
)
PROPERTY = card(
    PROPERTY_REGISTRATION,
    "340100",
    HEFEI_PROPERTY,
    "合肥市不动产登记中心",
    {
        "name": "不动产登记",
        "item_type": "行政确认",
        "audience": "自然人、法人",
        "legal_limit": {"value": 30, "unit": "工作日"},
        "promised_limit": {"value": 5, "unit": "工作日", "note": "材料齐全之日起算"},
        "charged": True,
        "fees": [
            {"name": "不动产登记费", "standard": "80元/件", "basis": "发改价格规〔2016〕2559号"},
            {"name": "证书工本费", "standard": "10", "reducible": True},
            {"name": "测绘费", "standard": "按房屋建筑面积每平方米 3 元"},
        ],
        "forms": "窗口办理、快递申请",
        "delivery": True,
        "visits_reason": "需现场核验申请人身份",
        "places": [
            {"name": "合肥市政务服务中心不动产登记窗口", "address": "合肥市滨湖新区徽州大道 2588 号"},
            {"name": "瑶海分中心", "address": "合肥市瑶海区站前路 8 号", "hours": "周一至周五 9:00-17:00"},
        ],
    },
    business_no=1,
    business_name="首次登记",
)
FOOD = card(
    FOOD_LICENCE,
    "340102",
    YAOHAI_MARKET,
    "合肥市瑶海区市场监督管理局",
    {
        "name": "食品经营许可",
        "item_type": "行政许可",
        "summary": "从事食品销售和餐饮服务的经营者，取得食品经营许可后方可经营。",
        "audience": "法人",
        "legal_limit": {"value": 20, "unit": "工作日"},
        "promised_limit": {"value": 5, "unit": "工作日"},
        "forms": "网上办理",
        "visits": 0,
        "online": True,
        "online_depth": 4,
        "result": {"name": "食品经营许可证", "type": "证照"},
        "materials": [{"name": "食品经营许可申请书"}, {"name": "营业执照", "licence_type": "营业执照"}],
        "keywords": ["开饭店", "餐饮许可"],
    },
)
ITEMS = (YAOHAI_BIRTH, LUYANG_BIRTH, REGISTRATION, PROPERTY, FOOD)


def bundle(code: str, division: str, data: dict[str, Any]) -> BundleCard:
    return BundleCard(
        code=code,
        version=1,
        division_code=division,
        division_name=DIVISIONS[division],
        document=parse_part(BundleDocument, data),
        published_at=PUBLISHED,
    )


BIRTH_BUNDLE = bundle(
    "LIFE-001",
    "340102",
    {
        "name": "新生儿出生“一件事”",
        "audience": "自然人",
        "life_event": "出生",
        "summary": "一次申请，办结出生医学证明、出生登记和医保参保登记。",
        "parts": [
            {"basic_code": BIRTH_CERTIFICATE},
            {"basic_code": BIRTH_REGISTRATION},
            {"basic_code": HEALTH_INSURANCE, "when": "需参加城乡居民医保的"},
        ],
    },
)
RESTAURANT_BUNDLE = bundle(
    "BIZ-001",
    "340100",
    {
        "name": "开餐馆“一件事”",
        "audience": "法人",
        "life_event": "开办企业",
        "parts": [{"basic_code": COMPANY_REGISTRATION}, {"basic_code": FOOD_LICENCE}],
    },
)
BUNDLES = (BIRTH_BUNDLE, RESTAURANT_BUNDLE)


def validate(graph: Graph) -> tuple[bool, list[tuple[str, str, str]]]:
    """Whether the graph conforms, and each violation as (focus node, path, message)."""
    conforms, results, _ = pyshacl.validate(graph, shacl_graph=str(SHAPES), inference="none")
    violations = [
        (
            str(results.value(r, SH.focusNode)),
            str(results.value(r, SH.resultPath)),
            str(results.value(r, SH.resultMessage)),
        )
        for r in results.subjects(SH.resultSeverity, SH.Violation)
    ]
    return bool(conforms), violations


def service_uri(item: ItemCard) -> URIRef:
    return URIRef(f"{BASE}/items/{item.code}")


@pytest.fixture(scope="module")
def graph() -> Graph:
    return catalogue_graph(ITEMS, BUNDLES, BASE)


def test_the_export_conforms_to_cpsv_ap(graph: Graph) -> None:
    assert validate(graph) == (True, [])
    assert set(graph.subjects(RDF.type, CPSV.PublicService)) == {service_uri(i) for i in ITEMS}


def test_an_export_without_a_required_property_does_not_conform(graph: Graph) -> None:
    broken = Graph()
    for triple in graph:
        broken.add(triple)
    broken.remove((service_uri(FOOD), DCTERMS.title, None))
    broken.remove((service_uri(PROPERTY), CV.hasCompetentAuthority, None))

    conforms, violations = validate(broken)

    assert not conforms
    assert {(focus, path) for focus, path, _ in violations} == {
        (str(service_uri(FOOD)), str(DCTERMS.title)),
        (str(service_uri(PROPERTY)), str(CV.hasCompetentAuthority)),
    }


def test_text_without_its_language_tag_does_not_conform(graph: Graph) -> None:
    broken = Graph()
    for triple in graph:
        broken.add(triple)
    broken.remove((service_uri(FOOD), DCTERMS.description, None))
    broken.add((service_uri(FOOD), DCTERMS.description, Literal("无语言标记的简介")))

    conforms, violations = validate(broken)

    assert not conforms
    assert [(focus, path) for focus, path, _ in violations] == [
        (str(service_uri(FOOD)), str(DCTERMS.description))
    ]


def test_chinese_text_keeps_its_language_tag(graph: Graph) -> None:
    service = service_uri(PROPERTY)
    assert graph.value(service, DCTERMS.title) == Literal("不动产登记（首次登记）", lang="zh")
    keywords = set(graph.objects(service_uri(YAOHAI_BIRTH), URIRef("http://www.w3.org/ns/dcat#keyword")))
    assert keywords == {Literal(k, lang="zh") for k in ("出生证", "新生儿", "出生证明")}
    for fmt in ("turtle", "json-ld", "rdf/xml"):
        parsed = Graph().parse(data=serialise(graph, fmt), format={"rdf/xml": "xml"}.get(fmt, fmt))
        assert parsed.value(service, DCTERMS.title) == Literal("不动产登记（首次登记）", lang="zh"), fmt


def test_identifiers_are_stable_uris_under_the_base(graph: Graph) -> None:
    again = catalogue_graph(ITEMS, BUNDLES, BASE + "/")
    assert set(again) == set(graph)
    assert not [node for triple in graph for node in triple if isinstance(node, BNode)]
    service = URIRef(f"{BASE}/items/318A0401000000-340100000000-000-{HEFEI_PROPERTY}-1-01")
    assert graph.value(service, DCTERMS.identifier) == Literal(PROPERTY.code)
    assert str(graph.value(service, CV.hasCompetentAuthority)) == f"{BASE}/organisations/{HEFEI_PROPERTY}"


def test_every_format_round_trips(graph: Graph) -> None:
    for fmt, rdflib_format in (("turtle", "turtle"), ("json-ld", "json-ld"), ("rdf/xml", "xml")):
        parsed = Graph().parse(data=serialise(graph, fmt), format=rdflib_format)
        assert isomorphic(parsed, graph), fmt
    document = json.loads(serialise(graph, "json-ld"))
    assert document["@context"]["cv"] == str(CV)
    assert media_type("JSON-LD") == "application/ld+json"


def test_an_unknown_format_is_refused(graph: Graph) -> None:
    with pytest.raises(ValidationFailed) as refused:
        serialise(graph, "n-quads")
    assert refused.value.error_code == "cpsv_format_unknown"


def test_the_item_type_is_a_concept_of_a_published_scheme(graph: Graph) -> None:
    item_type = graph.value(service_uri(FOOD), DCTERMS.type)
    assert str(item_type) == f"{BASE}/concepts/item-types/01"
    assert graph.value(item_type, SKOS.prefLabel) == Literal("行政许可", lang="zh")
    scheme = graph.value(item_type, SKOS.inScheme)
    assert (scheme, RDF.type, SKOS.ConceptScheme) in graph
    assert len(set(graph.subjects(SKOS.inScheme, scheme))) == 11


def test_the_competent_authority_is_a_public_organisation_in_its_division(graph: Graph) -> None:
    authority = graph.value(service_uri(YAOHAI_BIRTH), CV.hasCompetentAuthority)
    assert (authority, RDF.type, CV.PublicOrganisation) in graph
    assert graph.value(authority, SKOS.prefLabel) == Literal("合肥市瑶海区卫生健康委员会", lang="zh")
    division = graph.value(authority, DCTERMS.spatial)
    assert str(division) == f"{BASE}/divisions/340102"
    assert graph.value(division, URIRef("http://www.w3.org/ns/locn#geographicName")) == Literal(
        "瑶海区", lang="zh"
    )


def test_places_become_counter_channels_with_their_opening_hours(graph: Graph) -> None:
    channels = sorted(graph.objects(service_uri(PROPERTY), CV.hasChannel))
    assert [str(c).rsplit("/", 1)[1] for c in channels] == ["counter-1", "counter-2", "post"]
    hours = [graph.value(graph.value(c, CV.openingHours), DCTERMS.description) for c in channels]
    assert hours == [None, Literal("周一至周五 9:00-17:00", lang="zh"), None]
    assert "快递送达" in str(graph.value(channels[2], DCTERMS.description))


def test_an_online_channel_links_its_page(graph: Graph) -> None:
    online = URIRef(f"{service_uri(YAOHAI_BIRTH)}/channels/online")
    assert online in set(graph.objects(service_uri(YAOHAI_BIRTH), CV.hasChannel))
    assert str(graph.value(online, URIRef("http://xmlns.com/foaf/0.1/page"))).startswith("https://www.ahzwfw")
    assert "Ⅲ级" in str(graph.value(online, DCTERMS.description))


def test_fees_carry_a_value_only_when_numeric(graph: Graph) -> None:
    costs = sorted(graph.objects(service_uri(PROPERTY), CV.hasCost))
    values = [graph.value(c, CV.hasValue) for c in costs]
    assert values == [Literal(80.0, datatype=DOUBLE), Literal(10.0, datatype=DOUBLE), None]
    assert "可减免" in str(graph.value(costs[1], DCTERMS.description))
    assert "每平方米" in str(graph.value(costs[2], DCTERMS.description))
    assert graph.value(service_uri(FOOD), CV.hasCost) is None


@pytest.mark.parametrize(
    ("standard", "value"),
    [
        ("80元/件", 80.0),
        ("10", 10.0),
        ("￥12.50", 12.5),
        ("50 元", 50.0),
        ("按房屋建筑面积每平方米 3 元", None),
    ],
)
def test_fee_amount(standard: str, value: float | None) -> None:
    assert fee_amount(standard) == value


def test_processing_time_is_the_promised_limit_in_days(graph: Graph) -> None:
    assert graph.value(service_uri(PROPERTY), CV.processingTime) == Literal("P5D", datatype=DURATION)
    assert graph.value(service_uri(YAOHAI_BIRTH), CV.processingTime) == Literal("P1D", datatype=DURATION)


def test_materials_conditions_result_and_basis(graph: Graph) -> None:
    service = service_uri(YAOHAI_BIRTH)
    evidence = sorted(graph.objects(service, CPSV.hasInput))
    assert [str(graph.value(e, DCTERMS.title)) for e in evidence] == [
        "母亲有效身份证件",
        "父亲有效身份证件",
        "《出生医学证明》首次签发登记表",
    ]
    assert "可免提交" in str(graph.value(evidence[0], DCTERMS.description))
    assert str(graph.value(evidence[1], DCTERMS.description)).startswith("情形必要")
    requirements = {str(graph.value(r, DCTERMS.title)) for r in graph.objects(service, CV.holdsRequirement)}
    assert requirements == {"新生儿在本辖区助产机构内出生", "父母双方或一方持有效身份证件"}
    output = graph.value(service, CPSV.produces)
    assert str(graph.value(output, DCTERMS.type)) == f"{BASE}/concepts/result-types/licence"
    article = graph.value(service, CV.hasLegalResource)
    assert "第二十三条" in str(graph.value(article, DCTERMS.description))
    law = graph.value(article, DCTERMS.relation)
    assert graph.value(law, DCTERMS.title) == Literal("《中华人民共和国母婴保健法》", lang="zh")
    # Two bodies citing the same article share its node.
    assert graph.value(service_uri(LUYANG_BIRTH), CV.hasLegalResource) == article


def test_contact_points_carry_the_numbers_and_addresses_they_name(graph: Graph) -> None:
    contacts = {
        str(c).rsplit("/", 1)[1]: c for c in graph.objects(service_uri(YAOHAI_BIRTH), CV.contactPoint)
    }
    assert set(contacts) == {"consult", "complaint"}
    assert set(map(str, graph.objects(contacts["consult"], CV.telephone))) == {"0551-64422013", "12345"}
    assert str(graph.value(contacts["complaint"], CV.email)) == "yhwjw@example.gov.cn"
    assert graph.value(service_uri(FOOD), CV.contactPoint) is None


def test_bundles_are_events_grouping_the_services_of_their_division_line(graph: Graph) -> None:
    birth = URIRef(f"{BASE}/bundles/LIFE-001")
    restaurant = URIRef(f"{BASE}/bundles/BIZ-001")
    assert (birth, RDF.type, CV.LifeEvent) in graph
    assert (restaurant, RDF.type, CV.BusinessEvent) in graph
    # The city's registration serves a district's bundle; another district's certificate does not.
    assert set(graph.objects(birth, CV.hasRelatedService)) == {
        service_uri(YAOHAI_BIRTH),
        service_uri(REGISTRATION),
    }
    assert set(graph.objects(restaurant, CV.hasRelatedService)) == {service_uri(FOOD)}
    assert set(graph.subjects(CV.isGroupedBy, birth)) == {
        service_uri(YAOHAI_BIRTH),
        service_uri(REGISTRATION),
    }
    assert str(graph.value(birth, DCTERMS.type)) == f"{BASE}/concepts/life-events/birth"


def test_a_code_exported_twice_is_refused() -> None:
    with pytest.raises(ValidationFailed) as refused:
        catalogue_graph([FOOD, FOOD], [], BASE)
    assert refused.value.error_code == "cpsv_duplicate_item"


@pytest.mark.parametrize("base", ["", "zwfw.example.gov.cn", "/catalogue"])
def test_a_base_that_is_not_an_absolute_web_address_is_refused(base: str) -> None:
    with pytest.raises(ValidationFailed) as refused:
        catalogue_graph([FOOD], [], base)
    assert refused.value.error_code == "cpsv_base_uri_invalid"
