"""The kinds a pack may contain and the loader of each. Later issues add theirs to KIND_LOADERS; the data
centre's kinds are in ``datacentre``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import TypeAdapter

from wanshi.bootstrap import Platform
from wanshi.identity.api import StaffUserSpec
from wanshi.infra.uow import UnitOfWork
from wanshi.kernel.actor import Actor
from wanshi.kernel.errors import ValidationFailed
from wanshi.org import api as org
from wanshi.packs import datacentre, processes, service_items
from wanshi.packs.loader import KindLoader, KindResult, PackFile, read_pack_file

LEVELS = {"prefecture": org.DivisionLevel.PREFECTURE, "county": org.DivisionLevel.COUNTY}


def expand_organisations(uow: UnitOfWork, data: Any) -> list[org.OrganisationSpec]:
    """`organisations` names bodies one by one; `counterparts` stamps one per city or county."""
    if not isinstance(data, dict):
        raise ValidationFailed(
            "organisations 文件须为对象（organisations / counterparts）", code="pack_file_invalid"
        )
    specs = TypeAdapter(list[org.OrganisationSpec]).validate_python(data.get("organisations", []))
    for pattern in data.get("counterparts", []):
        level = LEVELS.get(pattern.get("level", ""))
        if level is None:
            raise ValidationFailed(f"counterparts.level 须为 {'/'.join(LEVELS)}", code="pack_file_invalid")
        for division in org.divisions_within(uow, str(pattern.get("within", "")), level):
            specs.append(
                org.OrganisationSpec(
                    name=pattern["name"].format(division=division.name),
                    short_name=pattern.get("short_name", "").format(division=division.name),
                    kind=pattern.get("kind", org.OrganisationKind.DEPARTMENT),
                    division_code=division.code,
                )
            )
    return specs


def load_organisations(platform: Platform, uow: UnitOfWork, pack_file: PackFile, actor: Actor) -> KindResult:
    specs = expand_organisations(uow, pack_file.data)
    created, updated, unchanged = org.upsert_organisations(uow, specs, actor)
    return KindResult("organisations", created, updated, unchanged)


def load_staff_users(platform: Platform, uow: UnitOfWork, pack_file: PackFile, actor: Actor) -> KindResult:
    specs = TypeAdapter(list[StaffUserSpec]).validate_python((pack_file.data or {}).get("users", []))
    created, updated, unchanged = platform.identity.upsert_staff_users(uow, specs, actor)
    return KindResult("staff_users", created, updated, unchanged)


KIND_LOADERS: dict[str, KindLoader] = {
    "organisations": load_organisations,
    "staff_users": load_staff_users,
    "data_resources": datacentre.load_data_resources,
    "quality_rules": datacentre.load_quality_rules,
    "registry_grants": datacentre.load_registry_grants,
    "service_items": service_items.load_service_items,
    "bundles": service_items.load_bundles,
    "forms": processes.load_forms,
    "processes": processes.load_processes,
}


def pack_usernames(directory: Path) -> list[str]:
    """Usernames of the staff accounts a pack defines (the demo gives them its shared password)."""
    manifest = read_pack_file(directory / "pack.yaml")
    names: list[str] = []
    for entry in manifest.get("files", []):
        if entry.get("kind") == "staff_users":
            names.extend(
                u["username"] for u in (read_pack_file(directory / entry["file"]) or {}).get("users", [])
            )
    return names
