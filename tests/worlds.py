"""A small province for service tests across contexts (imported by name: tests/ is on the path).

``build_world`` loads the bundled divisions, creates the organisations (name, division, code) and their staff
(organisation key, role) that a test world lists; each context's world passes its own tables.
"""

from __future__ import annotations

from dataclasses import dataclass

from wanshi.bootstrap import Platform
from wanshi.identity.api import CreateStaffUser
from wanshi.kernel.actor import SYSTEM, Actor, Role
from wanshi.org import api as org

PASSWORD = "Anhui#2026pass"


@dataclass(frozen=True)
class World:
    organisations: dict[str, org.Organisation]
    actors: dict[str, Actor]

    def __getitem__(self, username: str) -> Actor:
        return self.actors[username]

    def org_id(self, key: str) -> int:
        return self.organisations[key].id


def build_world(
    platform: Platform,
    organisations: dict[str, tuple[str, str, str]],
    staff: dict[str, tuple[str, Role]],
) -> World:
    """Divisions from the bundled table, then the organisations (name, division, code) and their staff
    (organisation key, role) given; other contexts' test worlds pass their own tables."""
    with platform.uow() as uow:
        org.load_divisions(uow, org.LoadDivisions(table_text=org.bundled_division_table()), SYSTEM)
    created = {}
    for key, (name, division, code) in organisations.items():
        with platform.uow() as uow:
            created[key] = org.create_organisation(
                uow, org.CreateOrganisation(name=name, division_code=division, code=code), SYSTEM
            )
    actors = {}
    for username, (unit, role) in staff.items():
        with platform.uow() as uow:
            actors[username] = platform.identity.create_staff_user(
                uow,
                CreateStaffUser(
                    username=username,
                    display_name=username,
                    organisation_id=created[unit].id,
                    password=PASSWORD,
                    roles=(role,),
                ),
                SYSTEM,
            ).to_actor()
    return World(created, actors)
