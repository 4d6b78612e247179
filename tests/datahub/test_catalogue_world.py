"""The small province the catalogue tests run in (imported by name: the test folders are not packages).

The province's data bureau and a department, Hefei's data bureau, and a department in each of two
sibling counties of Hefei, 瑶海区 (340102) and 庐阳区 (340103), with their staff.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from wanshi.bootstrap import Platform
from wanshi.datahub.catalogue import api as catalogue
from wanshi.kernel.actor import Role
from worlds import PASSWORD, World
from worlds import build_world as build_shared_world

__all__ = ["NOW", "PASSWORD", "World", "build_world", "metadata", "mount", "publish", "register"]

NOW = datetime(2026, 3, 2, 2, 0, tzinfo=UTC)

ORGANISATIONS = {
    "bureau": ("安徽省数据资源管理局", "340000", "11340000MB1234567A"),
    "police": ("安徽省公安厅", "340000", "11340000003000001B"),
    "city": ("合肥市数据资源局", "340100", "11340100MB7654321C"),
    "yaohai": ("瑶海区市场监督管理局", "340102", "11340102MB0000001D"),
    "luyang": ("庐阳区市场监督管理局", "340103", "11340103MB0000002E"),
}
STAFF = {
    "prov_admin": ("bureau", Role.SYS_ADMIN),
    "city_admin": ("city", Role.SYS_ADMIN),
    "police_clerk": ("police", Role.CLERK),
    "yh_clerk": ("yaohai", Role.CLERK),
    "ly_clerk": ("luyang", Role.CLERK),
}


def build_world(
    platform: Platform,
    organisations: dict[str, tuple[str, str, str]] = ORGANISATIONS,
    staff: dict[str, tuple[str, Role]] = STAFF,
) -> World:
    return build_shared_world(platform, organisations, staff)


def metadata(**changes: Any) -> dict[str, Any]:
    """A valid resource description as the register command takes it."""
    base: dict[str, Any] = {
        "name": "市场主体登记信息",
        "summary": "辖区内市场主体的登记信息，含名称、统一社会信用代码和成立日期。",
        "format": "数据库",
        "items": (
            catalogue.ItemSpec(name="uscc", label="统一社会信用代码", length=18, required=True),
            catalogue.ItemSpec(name="name", label="企业名称", length=200, required=True, grade="public"),
            catalogue.ItemSpec(name="founded_on", label="成立日期", data_type="date"),
            catalogue.ItemSpec(name="capital", label="注册资本（万元）", data_type="decimal", length=18),
        ),
        "share_type": catalogue.ShareType.CONDITIONAL,
        "share_conditions": "仅向承担市场监管职责的部门共享",
        "share_method": "接口调用",
        "open_type": catalogue.OpenType.CONDITIONAL,
        "open_conditions": "经申请审核后开放",
        "update_cycle": catalogue.UpdateCycle.DAILY,
        "related_codes": ("101002001/000001",),
    }
    return {**base, **changes}


def register(
    platform: Platform, world: World, actor: str, provider: str, code: str, **changes: Any
) -> catalogue.Resource:
    with platform.uow() as uow:
        return catalogue.register_resource(
            uow,
            catalogue.RegisterResource(
                code=code, provider_organisation_id=world.org_id(provider), **metadata(**changes)
            ),
            world[actor],
        )


def mount(platform: Platform, world: World, actor: str, resource_id: int) -> catalogue.Resource:
    with platform.uow() as uow:
        return catalogue.mount_resource(
            uow,
            catalogue.MountResource(
                resource_id=resource_id, kind=catalogue.MountKind.DATASET, dataset="market_entity"
            ),
            world[actor],
        )


def publish(platform: Platform, world: World, provider_actor: str, resource_id: int) -> catalogue.Resource:
    """Mount (if needed), submit and publish as the province's data bureau."""
    with platform.uow() as uow:
        detail = catalogue.get_resource(uow, resource_id, world[provider_actor])
    if detail.working is not None and detail.working.mount is None:
        mount(platform, world, provider_actor, resource_id)
    with platform.uow() as uow:
        catalogue.submit_resource(
            uow, catalogue.SubmitResource(resource_id=resource_id), world[provider_actor]
        )
    with platform.uow() as uow:
        return catalogue.review_resource(
            uow, catalogue.ReviewResource(resource_id=resource_id, publish=True), world["prov_admin"]
        )
