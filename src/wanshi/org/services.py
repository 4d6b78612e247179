"""Org use cases: load the division table, manage organisations, list what an actor may see."""

from __future__ import annotations

from importlib import resources

from pydantic import BaseModel, ConfigDict, Field

from wanshi.infra.uow import UnitOfWork
from wanshi.kernel import clock
from wanshi.kernel.actor import Actor, division_covers, division_prefix
from wanshi.kernel.errors import Conflict, NotFound, ValidationFailed
from wanshi.org import policies, repository
from wanshi.org.domain import (
    Division,
    DivisionLevel,
    DivisionTable,
    Organisation,
    OrganisationKind,
    parse_division_table,
)
from wanshi.org.events import DivisionTableLoaded, OrganisationCreated

BUNDLED_DIVISION_TABLE = "gb2260-mca-201904.tsv"


class Command(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", str_strip_whitespace=True)


class LoadDivisions(Command):
    table_text: str


class OrganisationSpec(Command):
    name: str = Field(min_length=2, max_length=120)
    short_name: str = Field(default="", max_length=60)
    code: str = Field(default="", max_length=40)
    kind: OrganisationKind = OrganisationKind.DEPARTMENT
    division_code: str = Field(pattern=r"^\d{6}$")


class CreateOrganisation(OrganisationSpec):
    parent_id: int | None = None


class UpdateOrganisation(Command):
    organisation_id: int
    name: str = Field(min_length=2, max_length=120)
    short_name: str = Field(default="", max_length=60)
    code: str = Field(default="", max_length=40)
    active: bool = True


class OrganisationQuery(Command):
    division_code: str | None = None
    q: str = ""
    limit: int = Field(default=50, ge=1, le=500)
    offset: int = Field(default=0, ge=0)


def bundled_division_table() -> str:
    return (resources.files("wanshi.org") / "data" / BUNDLED_DIVISION_TABLE).read_text(encoding="utf-8")


def load_divisions(uow: UnitOfWork, cmd: LoadDivisions, actor: Actor) -> dict[str, int | str]:
    uow.authorize(policies.can_load_divisions(actor), actor, "org.divisions.load")
    table: DivisionTable = parse_division_table(cmd.table_text)
    added, changed, retired = repository.replace_divisions(
        uow.session,
        table.divisions,
        source=table.source,
        revision=table.revision,
        loaded_by=actor.label,
        at=clock.now(),
    )
    summary: dict[str, int | str] = {
        "source": table.source,
        "revision": table.revision,
        "total": len(table.divisions),
        "added": added,
        "changed": changed,
        "retired": retired,
    }
    uow.audit(
        actor, "org.divisions.load", object_type="division_table", object_id=table.revision, detail=summary
    )
    uow.emit(DivisionTableLoaded(revision=table.revision, added=added, changed=changed, retired=retired))
    uow.commit()
    return summary


def get_division(uow: UnitOfWork, code: str) -> Division:
    found = repository.get_division(uow.session, code)
    if found is None:
        raise NotFound(f"行政区划代码 {code} 不存在")
    return found


def list_child_divisions(uow: UnitOfWork, parent_code: str | None) -> list[Division]:
    """Division reference data is public (GB/T 2260): no authorisation needed to read it."""
    return repository.list_divisions(uow.session, parent_code=parent_code)


def divisions_within(uow: UnitOfWork, within: str, level: DivisionLevel) -> list[Division]:
    return repository.divisions_at(uow.session, division_prefix(within), level)


def upsert_organisations(
    uow: UnitOfWork, specs: list[OrganisationSpec], actor: Actor
) -> tuple[int, int, int]:
    """Create or update organisations by (division, name) in one transaction.

    Returns (created, updated, unchanged).
    """
    created = updated = unchanged = 0
    now = clock.now()
    for spec in specs:
        uow.authorize(
            policies.can_manage_organisation(actor, spec.division_code),
            actor,
            "org.organisation.upsert",
            object_type="organisation",
        )
        current = repository.find_organisation(uow.session, spec.division_code, spec.name)
        values = {"short_name": spec.short_name, "code": spec.code, "kind": spec.kind.value}
        if current is None:
            if repository.get_division(uow.session, spec.division_code) is None:
                raise ValidationFailed(
                    f"组织“{spec.name}”的行政区划代码 {spec.division_code} 不存在", field="division_code"
                )
            new_id = repository.add_organisation(
                uow.session,
                {
                    **values,
                    "name": spec.name,
                    "division_code": spec.division_code,
                    "active": True,
                    "created_at": now,
                    "updated_at": now,
                },
            )
            uow.audit(
                actor,
                "org.organisation.create",
                object_type="organisation",
                object_id=new_id,
                tenant=spec.division_code,
                detail={"name": spec.name},
            )
            created += 1
        elif (current.short_name, current.code, current.kind.value) != (
            spec.short_name,
            spec.code,
            spec.kind.value,
        ):
            repository.update_organisation(uow.session, current.id, {**values, "updated_at": now})
            uow.audit(
                actor,
                "org.organisation.update",
                object_type="organisation",
                object_id=current.id,
                tenant=spec.division_code,
                detail=values,
            )
            updated += 1
        else:
            unchanged += 1
    uow.commit()
    return created, updated, unchanged


def create_organisation(uow: UnitOfWork, cmd: CreateOrganisation, actor: Actor) -> Organisation:
    uow.authorize(
        policies.can_manage_organisation(actor, cmd.division_code),
        actor,
        "org.organisation.create",
        object_type="organisation",
    )
    division = repository.get_division(uow.session, cmd.division_code)
    if division is None:
        raise ValidationFailed(f"行政区划代码 {cmd.division_code} 不存在", field="division_code")
    if repository.find_organisation(uow.session, cmd.division_code, cmd.name):
        raise Conflict(f"{division.name}已有名为“{cmd.name}”的组织")
    if cmd.parent_id is not None and repository.get_organisation(uow.session, cmd.parent_id) is None:
        raise ValidationFailed("上级组织不存在", field="parent_id")
    now = clock.now()
    new_id = repository.add_organisation(
        uow.session,
        {**cmd.model_dump(), "kind": cmd.kind.value, "active": True, "created_at": now, "updated_at": now},
    )
    uow.audit(
        actor,
        "org.organisation.create",
        object_type="organisation",
        object_id=new_id,
        tenant=cmd.division_code,
        detail={"name": cmd.name},
    )
    uow.emit(
        OrganisationCreated(
            organisation_id=new_id, division_code=cmd.division_code, organisation_name=cmd.name
        )
    )
    uow.commit()
    created = repository.get_organisation(uow.session, new_id)
    assert created is not None
    return created


def update_organisation(uow: UnitOfWork, cmd: UpdateOrganisation, actor: Actor) -> Organisation:
    # Another tenant's organisation answers "not found", as reading it would: existence is not disclosed.
    current = get_organisation(uow, cmd.organisation_id, actor)
    uow.authorize(
        policies.can_manage_organisation(actor, current.division_code),
        actor,
        "org.organisation.update",
        object_type="organisation",
        object_id=cmd.organisation_id,
    )
    other = repository.find_organisation(uow.session, current.division_code, cmd.name)
    if other is not None and other.id != current.id:
        raise Conflict(f"已有名为“{cmd.name}”的组织")
    values = cmd.model_dump(exclude={"organisation_id"})
    repository.update_organisation(uow.session, current.id, {**values, "updated_at": clock.now()})
    uow.audit(
        actor,
        "org.organisation.update",
        object_type="organisation",
        object_id=current.id,
        tenant=current.division_code,
        detail={"before": {k: getattr(current, k) for k in values}, "after": values},
    )
    uow.commit()
    updated = repository.get_organisation(uow.session, current.id)
    assert updated is not None
    return updated


def get_organisation(uow: UnitOfWork, organisation_id: int, actor: Actor) -> Organisation:
    found = repository.get_organisation(uow.session, organisation_id)
    scopes = policies.visible_division_scopes(actor)
    visible = (
        found is not None
        and policies.can_view_organisations(actor)
        and (scopes is None or any(division_covers(s, found.division_code) for s in scopes))
    )
    if found is None or not visible:
        # Same answer for "missing" and "not yours": existence is not disclosed across tenants.
        raise NotFound("组织不存在")
    return found


def find_organisation(uow: UnitOfWork, division_code: str, name: str) -> Organisation:
    found = repository.find_organisation(uow.session, division_code, name)
    if found is None:
        raise NotFound(f"行政区划 {division_code} 下没有名为“{name}”的组织")
    return found


def organisation_by_code(uow: UnitOfWork, code: str) -> Organisation:
    """An organisation by its 统一社会信用代码, as process definitions name the departments handling steps."""
    found = repository.find_organisation_by_code(uow.session, code)
    if found is None:
        raise NotFound(f"没有代码为“{code}”的组织")
    return found


def list_organisations(
    uow: UnitOfWork, query: OrganisationQuery, actor: Actor
) -> tuple[list[Organisation], int]:
    uow.authorize(policies.can_view_organisations(actor), actor, "org.organisation.list")
    return repository.list_organisations(
        uow.session,
        scopes=policies.visible_division_scopes(actor),
        division_code=query.division_code,
        q=query.q,
        limit=query.limit,
        offset=query.offset,
    )
