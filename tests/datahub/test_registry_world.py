"""The small province the registry tests run in (imported by name: the test folders are not packages).

The provincial data bureau, the provincial public security department (granted the population
registry), a market-supervision bureau in 瑶海区 (not granted) and one in 庐阳区 (granted the legal-person
registry), with their staff; and a store holding generated population and legal-person datasets, indexed.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import test_catalogue_world as catalogue_world

from wanshi.bootstrap import Platform
from wanshi.datahub.datagen.legal_person import LegalPersonOptions, generate_legal_persons
from wanshi.datahub.datagen.population import PopulationOptions, generate_population
from wanshi.datahub.datagen.writers import write_to_store
from wanshi.datahub.registry import api as registry
from wanshi.kernel.actor import SYSTEM, Actor, Role
from wanshi.org import api as org

PASSWORD = catalogue_world.PASSWORD
NOW = datetime(2026, 3, 2, 2, 0, tzinfo=UTC)
PEOPLE = 400
ENTITIES = 200

ORGANISATIONS = {
    "bureau": ("安徽省数据资源管理局", "340000", "11340000MB1234567A"),
    "police": ("安徽省公安厅", "340000", "11340000003000001B"),
    "yaohai": ("瑶海区市场监督管理局", "340102", "11340102MB0000001D"),
    "luyang": ("庐阳区市场监督管理局", "340103", "11340103MB0000002E"),
}
STAFF = {
    "prov_admin": ("bureau", Role.SYS_ADMIN),
    "auditor": ("bureau", Role.AUDIT_ADMIN),
    "police_clerk": ("police", Role.CLERK),
    "police_head": ("police", Role.ORG_ADMIN),
    "yh_clerk": ("yaohai", Role.CLERK),
    "ly_clerk": ("luyang", Role.CLERK),
    "ly_head": ("luyang", Role.ORG_ADMIN),
}


@dataclass(frozen=True)
class World:
    organisations: dict[str, org.Organisation]
    actors: dict[str, Actor]
    registry: registry.Registry

    def __getitem__(self, username: str) -> Actor:
        return self.actors[username]

    def org_id(self, key: str) -> int:
        return self.organisations[key].id


def people_options() -> PopulationOptions:
    return PopulationOptions(rows=PEOPLE, seed=7, chunk_size=PEOPLE)


def load_datasets(platform: Platform) -> None:
    write_to_store(generate_population(people_options()), platform.datastore, "population", "t")
    options = LegalPersonOptions(rows=ENTITIES, seed=7, chunk_size=ENTITIES, persons=people_options())
    write_to_store(generate_legal_persons(options), platform.datastore, "legal_person", "t")


def build_world(platform: Platform, *, index: bool = True) -> World:
    people = catalogue_world.build_world(platform, ORGANISATIONS, STAFF)
    organisations, actors = people.organisations, people.actors
    built = registry.Registry.build(platform.settings, platform.datastore)
    load_datasets(platform)
    grants = {
        "police": (registry.Operation.VERIFY_PERSON, registry.Operation.PERSON_PREFILL),
        "luyang": (registry.Operation.VERIFY_ENTERPRISE, registry.Operation.ENTERPRISE_PREFILL),
    }
    for unit, operations in grants.items():
        with platform.uow() as uow:
            registry.grant_registry(
                uow,
                registry.GrantRegistry(organisation_id=organisations[unit].id, operations=operations),
                actors["prov_admin"],
            )
    if index:
        with platform.uow() as uow:
            registry.reindex(uow, built, SYSTEM)
    return World(organisations, actors, built)


def person_rows(platform: Platform) -> list[dict[str, Any]]:
    rows = platform.datastore.query("SELECT * FROM population ORDER BY record_id")
    return list(rows.to_pylist())


def entity_rows(platform: Platform) -> list[dict[str, Any]]:
    rows = platform.datastore.query("SELECT * FROM legal_person ORDER BY record_id")
    return list(rows.to_pylist())
