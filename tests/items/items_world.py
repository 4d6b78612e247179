"""The small province the service-item tests run in (imported by name: test folders are not packages).

The province's bureau and two provincial departments, Hefei's bureau and market regulator, Wuhu's market
regulator, and the market regulators of two sibling counties of Hefei (瑶海区, 庐阳区), with their staff.
"""

from __future__ import annotations

import copy
from typing import Any

from wanshi.bootstrap import Platform
from wanshi.items import api as items
from wanshi.kernel.actor import SYSTEM, Actor, Role
from worlds import World, build_world

ORGANISATIONS = {
    "bureau": ("安徽省数据资源管理局", "340000", "11340000MB1234567A"),
    "market": ("安徽省市场监督管理局", "340000", "11340000003000002C"),
    "civil": ("安徽省民政厅", "340000", "11340000003000003D"),
    "city": ("合肥市数据资源管理局", "340100", "11340100MB7654321C"),
    "hf_market": ("合肥市市场监督管理局", "340100", "11340100MB7654322D"),
    "wh_market": ("芜湖市市场监督管理局", "340200", "11340200MB7654323E"),
    "yaohai": ("瑶海区市场监督管理局", "340102", "11340102MB0000001D"),
    "luyang": ("庐阳区市场监督管理局", "340103", "11340103MB0000002E"),
}
STAFF = {
    "prov_admin": ("bureau", Role.SYS_ADMIN),
    "city_admin": ("city", Role.SYS_ADMIN),
    "market_clerk": ("market", Role.CLERK),
    "civil_clerk": ("civil", Role.CLERK),
    "hf_clerk": ("hf_market", Role.CLERK),
    "wh_clerk": ("wh_market", Role.CLERK),
    "yh_clerk": ("yaohai", Role.CLERK),
    "ly_clerk": ("luyang", Role.CLERK),
}
# Valid 统一社会信用代码 of the implementing bodies (made with credit_code.generate_credit_code).
BODY_CODES = {
    "hf_market": "11340100MB00000513",
    "wh_market": "11340200MB000006X0",
    "yaohai": "11340102MB0000078P",
    "luyang": "11340103MB00000861",
    "market": "11340000MB0000094B",
}

FOOD = "340A0101000000"
PERMIT_ELEMENTS: dict[str, Any] = {
    "name": "食品经营许可证核发",
    "item_type": "行政许可",
    "summary": "从事食品销售和餐饮服务活动，应当依法取得食品经营许可。",
    "basis": [{"name": "《中华人民共和国食品安全法》", "article": "第三十五条"}],
    "level": ["市级", "县级"],
    "audience": ["法人", "自然人"],
    "case_type": "承诺件",
    "conditions": ["具有与经营的食品品种、数量相适应的经营场所", "有食品安全管理人员和管理制度"],
    "legal_limit": {"value": 20, "unit": "工作日"},
    "promised_limit": {"value": 10, "unit": "工作日"},
    "forms": ["窗口办理", "网上办理"],
    "visits": 1,
    "visits_reason": "现场核查经营场所",
    "online": True,
    "online_depth": 3,
    "materials": [
        {"name": "食品经营许可申请书", "necessity": "必要", "form": "电子"},
        {
            "name": "营业执照",
            "licence_type": "营业执照",
            "registry": {"registry": "法人库", "fields": ["name"]},
        },
        {"name": "法定代表人身份证明", "licence_type": "居民身份证"},
        {"name": "食品安全管理制度文本", "necessity": "必要"},
    ],
    "fields": [
        {"key": "enterprise_name", "label": "经营者名称", "prefill": "legal_person.name"},
        {"key": "address", "label": "经营场所", "type": "地址", "prefill": "legal_person.address"},
        {"key": "contact_phone", "label": "联系电话", "type": "电话", "prefill": "account.phone"},
    ],
    "themes": ["准营准办"],
    "keywords": ["餐饮许可", "食品许可证", "开饭店"],
}
CLINIC = "340A0102000000"
CLINIC_ELEMENTS: dict[str, Any] = {
    **PERMIT_ELEMENTS,
    "name": "公共场所卫生许可",
    "basis": [{"name": "《公共场所卫生管理条例》", "article": "第八条"}],
    "materials": [
        {"name": "卫生许可申请表"},
        {"name": "营业执照", "licence_type": "营业执照"},
        {"name": "卫生检测报告", "source": "中介机构出具"},
    ],
    "fields": [
        {"key": "enterprise_name", "label": "单位名称", "prefill": "legal_person.name"},
        {"key": "area", "label": "营业面积（平方米）", "type": "数字"},
    ],
    "keywords": ["卫生许可证"],
}


def build_items_world(platform: Platform) -> World:
    return build_world(platform, ORGANISATIONS, STAFF)


def publish_basic(platform: Platform, world: World, code: str, elements: dict[str, Any], **doc: Any) -> int:
    """A basic entry proposed by the market regulator and published by the province's bureau."""
    with platform.uow() as uow:
        r = items.propose_basic(
            uow,
            items.ProposeBasic(
                code=code, department_id=world.org_id("market"), document={"elements": elements, **doc}
            ),
            world["market_clerk"],
        )
    return publish(platform, r.id, world["market_clerk"], world["prov_admin"])


def publish(platform: Platform, record_id: int, editor: Actor, reviewer: Actor) -> int:
    with platform.uow() as uow:
        r = items.submit_version(
            uow, items.Transition(record_id=record_id, lock=_lock(platform, record_id)), editor
        )
    with platform.uow() as uow:
        items.review_version(uow, items.Review(record_id=r.id, lock=r.lock, publish=True), reviewer)
    return record_id


def claim(
    platform: Platform, world: World, body: str, basic_code: str = FOOD, changes: dict[str, Any] | None = None
) -> items.Record:
    with platform.uow() as uow:
        return items.claim_item(
            uow,
            items.ClaimItem(
                basic_code=basic_code,
                organisation_id=world.org_id(body),
                body_code=BODY_CODES[body],
                changes=copy.deepcopy(changes or {}),
            ),
            world[_clerk_of(body)],
        )


def _clerk_of(body: str) -> str:
    return {"hf_market": "hf_clerk", "wh_market": "wh_clerk", "yaohai": "yh_clerk", "luyang": "ly_clerk"}.get(
        body, "market_clerk"
    )


def reviewer_of(body: str) -> str:
    return "prov_admin" if body in ("market", "wh_market") else "city_admin"


def _lock(platform: Platform, record_id: int) -> int:
    with platform.uow() as uow:
        from wanshi.items.services.reading import get_record

        return get_record(uow, record_id, SYSTEM).record.lock
