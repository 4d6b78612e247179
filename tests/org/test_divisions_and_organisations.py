from __future__ import annotations

import pytest

from wanshi.bootstrap import Platform
from wanshi.kernel.actor import SYSTEM, Actor, ActorKind, Role, RoleGrant
from wanshi.kernel.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from wanshi.org import api as org
from wanshi.org import repository
from wanshi.org.domain import DivisionLevel, parse_division_table

PROVINCE_ADMIN = Actor(
    kind=ActorKind.STAFF,
    user_id=1,
    username="admin",
    division_code="340000",
    grants=(RoleGrant(Role.SYS_ADMIN, 1, "340000"),),
)


def staff(division: str, role: Role = Role.CLERK) -> Actor:
    return Actor(
        kind=ActorKind.STAFF,
        user_id=9,
        username=f"u{division}",
        division_code=division,
        grants=(RoleGrant(role, 5, division),),
    )


def _load(platform: Platform) -> dict[str, int | str]:
    with platform.uow() as uow:
        return org.load_divisions(
            uow, org.LoadDivisions(table_text=org.bundled_division_table()), PROVINCE_ADMIN
        )


def test_bundled_table_gives_anhui_its_16_cities_and_105_counties(platform: Platform) -> None:
    summary = _load(platform)
    assert summary["revision"] == "201904"
    with platform.uow() as uow:
        assert repository.count_divisions(uow.session, "34", DivisionLevel.PREFECTURE) == 16
        assert repository.count_divisions(uow.session, "34", DivisionLevel.COUNTY) == 105
        cities = org.list_child_divisions(uow, "340000")
        assert [c.code for c in cities][:3] == ["340100", "340200", "340300"]
        assert "340900" not in {c.code for c in cities}
        assert org.get_division(uow, "340181").name == "巢湖市"
        assert org.get_division(uow, "340181").parent_code == "340100"
        # Municipality districts hang under the province; 省直辖县级 too.
        assert org.get_division(uow, "110101").parent_code == "110000"
        assert org.get_division(uow, "419001").parent_code == "410000"


def test_a_newer_table_retires_codes_and_keeps_them(platform: Platform) -> None:
    _load(platform)
    lines = org.bundled_division_table().replace("\t201904\t", "\t202012\t").splitlines()
    newer = "\n".join(line for line in lines if "\t340221\t" not in line)  # 芜湖县 became 湾沚区
    newer += "\nmca\t202012\t340209\t湾沚区"
    with platform.uow() as uow:
        summary = org.load_divisions(uow, org.LoadDivisions(table_text=newer), PROVINCE_ADMIN)
    assert (summary["added"], summary["retired"], summary["revision"]) == (1, 1, "202012")
    with platform.uow() as uow:
        assert org.get_division(uow, "340221").name == "芜湖县"  # kept for old records
        assert "340221" not in {d.code for d in org.list_child_divisions(uow, "340200")}
        assert repository.current_revision(uow.session).revision == "202012"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("Source\tRevision\tCode\nmca\t1\t340000", "缺少列"),
        ("Source\tRevision\tCode\tName\nmca\t1\t3400\t安徽", "不是 6 位数字"),
        ("Source\tRevision\tCode\tName\nmca\t1\t340100\t合肥市", "上级 340000 不在表中"),
    ],
)
def test_bad_tables_are_refused_with_reasons(text: str, message: str) -> None:
    with pytest.raises(ValidationFailed, match=message):
        parse_division_table(text)


def test_only_a_province_admin_loads_divisions(platform: Platform) -> None:
    with platform.uow() as uow, pytest.raises(PermissionDenied):
        org.load_divisions(
            uow, org.LoadDivisions(table_text=org.bundled_division_table()), staff("340100", Role.SYS_ADMIN)
        )


def _create(platform: Platform, name: str, division: str, actor: Actor = PROVINCE_ADMIN) -> org.Organisation:
    with platform.uow() as uow:
        return org.create_organisation(uow, org.CreateOrganisation(name=name, division_code=division), actor)


def test_county_clerk_sees_own_county_only(platform: Platform) -> None:
    _load(platform)
    _create(platform, "省数据资源局", "340000")
    _create(platform, "合肥市数据资源局", "340100")
    yaohai = _create(platform, "瑶海区数据资源局", "340102")
    luyang = _create(platform, "庐阳区数据资源局", "340103")
    with platform.uow() as uow:
        seen, total = org.list_organisations(uow, org.OrganisationQuery(), staff("340102"))
        assert [o.name for o in seen] == ["瑶海区数据资源局"]
        assert total == 1
        city_seen, _ = org.list_organisations(uow, org.OrganisationQuery(), staff("340100"))
        assert {o.name for o in city_seen} == {"合肥市数据资源局", "瑶海区数据资源局", "庐阳区数据资源局"}
        everything, _ = org.list_organisations(uow, org.OrganisationQuery(), SYSTEM)
        assert len(everything) == 4
        assert org.get_organisation(uow, yaohai.id, staff("340102")).name == "瑶海区数据资源局"
        with pytest.raises(NotFound):
            org.get_organisation(uow, luyang.id, staff("340102"))


def test_city_admin_cannot_create_in_another_city_and_duplicates_conflict(platform: Platform) -> None:
    _load(platform)
    with pytest.raises(PermissionDenied):
        _create(platform, "芜湖市数据资源局", "340200", staff("340100", Role.SYS_ADMIN))
    _create(platform, "合肥市数据资源局", "340100", staff("340100", Role.SYS_ADMIN))
    with pytest.raises(Conflict):
        _create(platform, "合肥市数据资源局", "340100")
    with pytest.raises(ValidationFailed):
        _create(platform, "不存在的局", "349999")


def test_another_tenants_organisation_is_not_found_when_updating(platform: Platform) -> None:
    _load(platform)
    luyang = _create(platform, "庐阳区数据资源局", "340103")
    rename = org.UpdateOrganisation(organisation_id=luyang.id, name="改名")
    with platform.uow() as uow, pytest.raises(NotFound):
        org.update_organisation(uow, rename, staff("340102", Role.SYS_ADMIN))
