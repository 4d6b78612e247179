"""A small province for the admin-area tests (imported by name: the test folders are not packages).

Divisions from the bundled table; a province bureau and two sibling counties of Hefei, 瑶海区 (340102)
and 庐阳区 (340103); staff with each duty, all with the same password.
"""

from __future__ import annotations

from dataclasses import dataclass

from wanshi.bootstrap import Platform
from wanshi.identity.api import CreateStaffUser
from wanshi.kernel.actor import SYSTEM, Role
from wanshi.org import api as org

PASSWORD = "Anhui#2026pass"

ORGANISATIONS = {
    "prov": ("安徽省数据资源管理局", "340000"),
    "yaohai": ("瑶海区数据资源管理局", "340102"),
    "luyang": ("庐阳区数据资源管理局", "340103"),
}
STAFF = {
    "admin": ("prov", Role.SYS_ADMIN),
    "secadmin": ("prov", Role.SECURITY_ADMIN),
    "auditor": ("prov", Role.AUDIT_ADMIN),
    "yaohai.clerk": ("yaohai", Role.CLERK),
    "yaohai.secadmin": ("yaohai", Role.SECURITY_ADMIN),
    "yaohai.auditor": ("yaohai", Role.AUDIT_ADMIN),
    "luyang.clerk": ("luyang", Role.CLERK),
}


@dataclass(frozen=True)
class World:
    organisations: dict[str, org.Organisation]
    users: dict[str, int]


def build_world(platform: Platform) -> World:
    with platform.uow() as uow:
        org.load_divisions(uow, org.LoadDivisions(table_text=org.bundled_division_table()), SYSTEM)
    organisations = {}
    for key, (name, division) in ORGANISATIONS.items():
        with platform.uow() as uow:
            organisations[key] = org.create_organisation(
                uow, org.CreateOrganisation(name=name, division_code=division), SYSTEM
            )
    users = {}
    for username, (unit, role) in STAFF.items():
        with platform.uow() as uow:
            users[username] = platform.identity.create_staff_user(
                uow,
                CreateStaffUser(
                    username=username,
                    display_name=username,
                    organisation_id=organisations[unit].id,
                    password=PASSWORD,
                    roles=(role,),
                ),
                SYSTEM,
            ).id
    return World(organisations, users)
