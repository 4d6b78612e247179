"""The GovStack Registration services read model, checked against the response schemas of the building
block's API (a copy in tests/items/specs, since CI has no shared folder)."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from wanshi.items.domain.codes import ImplementationCode
from wanshi.items.domain.documents import ImplementationDocument
from wanshi.items.domain.elements import parse_part
from wanshi.items.domain.views import ItemCard
from wanshi.items.govstack import find_service, service_detail, service_id, service_list
from wanshi.kernel.identifiers.credit_code import generate_credit_code

SPEC_PATH = Path(__file__).parent / "specs" / "registration-bb-api.json"
SPEC = json.loads(SPEC_PATH.read_text(encoding="utf-8"))
SPEC_URI = "urn:govstack:registration-bb-api"


def response_schema(path: str, operation_id: str) -> Any:
    operation = SPEC["paths"][path]["get"]
    assert operation["operationId"] == operation_id
    return operation["responses"]["200"]["content"]["application/json"]["schema"]


def validator(schema: Any) -> Draft202012Validator:
    """A validator for a schema of the API, its ``#/components`` references resolved in the API document."""
    registry = Registry().with_resource(SPEC_URI, Resource.from_contents(SPEC, DRAFT202012))
    rebased = json.loads(json.dumps(schema).replace('"#/components/', f'"{SPEC_URI}#/components/'))
    return Draft202012Validator(
        rebased, registry=registry, format_checker=Draft202012Validator.FORMAT_CHECKER
    )


LIST = validator(response_schema("/services", "getServiceList"))
DETAIL = validator(response_schema("/services/{serviceId}", "getService"))
SERVICE_FIELDS = set(SPEC["components"]["schemas"]["service"]["properties"])
PROPERTY_FIELDS = set(SPEC["components"]["schemas"]["ListOfProperties"]["items"]["properties"])

HEALTH = generate_credit_code("1", "1", "340102", "MB000001")
MARKET = generate_credit_code("1", "1", "340102", "MB000005")


def card(
    basic: str, body: str, organisation: str, elements: dict[str, Any], business: tuple[int, str] = (0, "")
) -> ItemCard:
    document = parse_part(
        ImplementationDocument,
        {"elements": elements, "body_code": body, "business_no": business[0], "business_name": business[1]},
    )
    return ItemCard(
        code=str(ImplementationCode(basic, "340102", body, business_no=business[0])),
        basic_code=basic,
        version=4,
        organisation_id=7,
        organisation_name=organisation,
        division_code="340102",
        division_name="瑶海区",
        document=document,
        published_at=datetime(2025, 3, 1, 9, 0, tzinfo=UTC),
    )


BIRTH = card(
    "372A0101000000",
    HEALTH,
    "合肥市瑶海区卫生健康委员会",
    {
        "name": "出生医学证明首次签发",
        "item_type": "公共服务",
        "summary": "为在本辖区助产机构内出生的新生儿首次签发《出生医学证明》。",
        "basis": [{"name": "《中华人民共和国母婴保健法》", "article": "第二十三条"}],
        "audience": "自然人",
        "case_type": "即办件",
        "conditions": ["新生儿在本辖区助产机构内出生"],
        "legal_limit": {"value": 20},
        "promised_limit": {"value": 1},
        "visits_reason": "需现场领取纸质证明",
        "places": [
            {"name": "瑶海区妇幼保健院", "address": "合肥市瑶海区长江东路 1 号", "hours": "工作日 8:30-17:30"}
        ],
        "consult": "0551-64422013",
        "materials": [{"name": "母亲有效身份证件"}, {"name": "父亲有效身份证件", "necessity": "情形必要"}],
        "result": {"name": "出生医学证明", "type": "证照"},
        "keywords": ["出生证"],
    },
)
FOOD_NEW = card(
    "563A0501000000",
    MARKET,
    "合肥市瑶海区市场监督管理局",
    {
        "name": "食品经营许可",
        "item_type": "行政许可",
        "audience": "法人",
        "legal_limit": {"value": 20},
        "promised_limit": {"value": 5},
        "forms": "网上办理",
        "visits": 0,
        "online": True,
        "online_depth": 4,
        "online_url": "https://www.ahzwfw.gov.cn/",
        "charged": True,
        "fees": [{"name": "工本费", "standard": "10元"}],
    },
    business=(1, "新办"),
)
ITEMS = (BIRTH, FOOD_NEW)


def assert_documented(service: dict[str, Any]) -> None:
    """Only fields the API documents; the schema alone would let any other field through."""
    assert set(service) <= SERVICE_FIELDS
    for entry in service.get("serviceBody", []):
        assert set(entry) == PROPERTY_FIELDS


def test_the_list_matches_the_getServiceList_schema() -> None:
    services = service_list(ITEMS)
    assert not list(LIST.iter_errors(services))
    for service in services:
        assert_documented(dict(service))
    assert [s["name"] for s in services] == ["出生医学证明首次签发", "食品经营许可（新办）"]
    assert [s["isExecutable"] for s in services] == [False, True]
    assert all("serviceBody" not in s for s in services)
    assert services[1] == {
        "id": service_id(FOOD_NEW.code),
        "name": "食品经营许可（新办）",
        "version": "4",
        "type": "Public",
        "isExecutable": True,
        "description": "",
    }


def test_the_detail_matches_the_getService_schema() -> None:
    for item in ITEMS:
        detail = service_detail(item)
        assert not list(DETAIL.iter_errors(detail))
        assert_documented(dict(detail))


def test_the_schemas_catch_a_wrong_shape() -> None:
    wrong = dict(service_detail(BIRTH), id=BIRTH.code, version=4, type="公共服务")
    wrong["serviceBody"] = [{"code": "visits", "value": 1}]
    errors = {error.json_path for error in DETAIL.iter_errors(wrong)}
    assert errors == {"$.id", "$.version", "$.type", "$.serviceBody[0].value"}
    assert list(LIST.iter_errors(service_detail(BIRTH)))  # an object where an array is due


def test_the_service_body_lists_the_elements_as_code_value_pairs() -> None:
    body = service_detail(BIRTH)["serviceBody"]
    values: dict[str, list[str]] = {}
    for entry in body:
        values.setdefault(entry["code"], []).append(entry["value"])
    assert values["implementationCode"] == [BIRTH.code]
    assert values["itemType"] == ["公共服务"]
    assert values["competentAuthority"] == ["合肥市瑶海区卫生健康委员会"]
    assert values["caseType"] == ["即办件"]
    assert values["promisedLimit"] == ["1 个工作日"]
    assert values["processingTime"] == ["P1D"]
    assert values["material"] == ["母亲有效身份证件（必要）", "父亲有效身份证件（情形必要）"]
    assert values["place"] == ["瑶海区妇幼保健院，合肥市瑶海区长江东路 1 号，工作日 8:30-17:30"]
    assert values["legalBasis"] == ["《中华人民共和国母婴保健法》 第二十三条"]
    assert values["publishedAt"] == ["2025-03-01T09:00:00+00:00"]
    assert "onlineUrl" not in values  # left blank in the entry, so left out
    assert "fee" not in values
    food = {e["code"]: e["value"] for e in service_detail(FOOD_NEW)["serviceBody"]}
    assert food["fee"] == "工本费：10元"
    assert food["onlineUrl"] == "https://www.ahzwfw.gov.cn/"


def test_the_name_filter_matches_part_of_the_name() -> None:
    assert [s["id"] for s in service_list(ITEMS, name="食品")] == [service_id(FOOD_NEW.code)]
    assert [s["id"] for s in service_list(ITEMS, name=" 新办 ")] == [service_id(FOOD_NEW.code)]
    assert service_list(ITEMS, name="结婚登记") == []
    assert len(service_list(ITEMS, name="")) == 2


def test_service_ids_are_stable_uuids_that_find_their_entry() -> None:
    sid = service_id(BIRTH.code)
    assert uuid.UUID(sid).version == 5
    assert sid == service_id(BIRTH.code) != service_id(FOOD_NEW.code)
    assert find_service(ITEMS, sid) is BIRTH
    assert find_service(ITEMS, sid.upper()) is BIRTH
    assert find_service(ITEMS, str(uuid.uuid4())) is None
    assert find_service(ITEMS, BIRTH.code) is None


@pytest.mark.parametrize(
    ("path", "operation_id"), [("/services", "getServiceList"), ("/services/{serviceId}", "getService")]
)
def test_the_spec_defines_no_pagination(path: str, operation_id: str) -> None:
    operation = SPEC["paths"][path]["get"]
    assert operation["operationId"] == operation_id
    query = {p.get("name") for p in operation.get("parameters", []) if p.get("in") == "query"}
    assert query <= {"name"}
