"""The data centre's pack kinds: catalogue resources, their quality rule sets and registry grants.

Every entry goes through the contexts' own services as the loading actor (the system for `wanshi pack
load`), so a resource gets its versions, history and audit entries exactly as if a department had
registered it and the data bureau had reviewed it. Each kind compares what exists with what the pack says
first: loading a pack twice adds no version, no rule-set version and no grant entry.

data_resources file::

    resources:
      - code: "101001001/000001"    # 前段码 (类/项/目/细目) + 后段码: the classification is in it
        name: 人口基础信息
        provider: {division_code: "340000", organisation: 安徽省公安厅}
        summary: ...
        share_type: 有条件共享                # the Chinese label or the value (conditional)
        update_cycle: 每日
        dataset: population                  # the analytical-store dataset it is mounted on
        fields:
          - {name: id_number, label: 公民身份号码, type: 字符型, length: 18, required: true, grade: 敏感}

quality_rules file::

    rule_sets:
      - {resource: "101001001/000001", file: quality/population.yaml}

registry_grants file::

    grants:
      - {division_code: "340100", organisation: 合肥市政务服务中心, operations: [verify_person], note: ...}
"""

from __future__ import annotations

from collections import Counter
from dataclasses import replace
from datetime import date
from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field

from wanshi.bootstrap import Platform
from wanshi.datahub.catalogue import api as catalogue
from wanshi.datahub.quality import api as quality
from wanshi.datahub.registry import api as registry
from wanshi.infra.uow import UnitOfWork
from wanshi.kernel.actor import Actor
from wanshi.kernel.errors import Conflict, NotFound
from wanshi.org import api as org
from wanshi.packs.loader import KindResult, PackFile, each_entry, naming_entry

PACK_NOTE = "资源包编制"
Outcome = Literal["created", "updated", "unchanged"]


def _by_label(enum: type[StrEnum]) -> BeforeValidator:
    """Accept an enum's Chinese label (有条件共享, 每日, 字符型 ...) as well as its value."""

    def convert(value: Any) -> Any:
        if isinstance(value, str):
            for member in enum:
                if value.strip() in (member.value, getattr(member, "label", member.value)):
                    return member
        return value

    return BeforeValidator(convert)


class _Entry(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ProviderRef(_Entry):
    division_code: str = Field(pattern=r"^\d{6}$")
    organisation: str = Field(min_length=1, max_length=200)


class FieldEntry(_Entry):
    name: str
    label: str
    type: Annotated[catalogue.DataType, _by_label(catalogue.DataType)] = catalogue.DataType.STRING
    length: int | None = None
    required: bool = False
    grade: Annotated[catalogue.Grade, _by_label(catalogue.Grade)] = catalogue.Grade.INTERNAL
    scale: int | None = None


class ResourceEntry(_Entry):
    code: str = Field(max_length=40)
    name: str
    provider: ProviderRef
    summary: str
    format: str = "数据库表"
    fields: tuple[FieldEntry, ...]
    share_type: Annotated[catalogue.ShareType, _by_label(catalogue.ShareType)]
    share_conditions: str = ""
    share_basis: str = ""
    share_method: str = ""
    open_type: Annotated[catalogue.OpenType, _by_label(catalogue.OpenType)] = catalogue.OpenType.NONE
    open_conditions: str = ""
    update_cycle: Annotated[catalogue.UpdateCycle, _by_label(catalogue.UpdateCycle)]
    release_date: date | None = None
    related_codes: tuple[str, ...] = ()
    dataset: str = Field(max_length=100)

    def spec(self) -> catalogue.MetadataSpec:
        return catalogue.MetadataSpec(
            name=self.name,
            summary=self.summary,
            format=self.format,
            items=tuple(
                catalogue.ItemSpec(
                    name=f.name,
                    label=f.label,
                    data_type=f.type,
                    length=f.length,
                    required=f.required,
                    grade=f.grade,
                    scale=f.scale,
                )
                for f in self.fields
            ),
            share_type=self.share_type,
            share_conditions=self.share_conditions,
            share_basis=self.share_basis,
            share_method=self.share_method,
            open_type=self.open_type,
            open_conditions=self.open_conditions,
            update_cycle=self.update_cycle,
            release_date=self.release_date,
            related_codes=self.related_codes,
        )

    def mount(self) -> catalogue.Mount:
        return catalogue.Mount(catalogue.MountKind.DATASET, dataset=self.dataset)


class RuleSetEntry(_Entry):
    resource: str = Field(max_length=40)
    file: str = Field(min_length=1, max_length=300)


class GrantEntry(_Entry):
    division_code: str = Field(pattern=r"^\d{6}$")
    organisation: str = Field(min_length=1, max_length=200)
    operations: tuple[registry.Operation, ...] = Field(min_length=1)
    note: str = Field(default="", max_length=2000)


def _counted(kind: str, outcomes: Counter[Outcome]) -> KindResult:
    return KindResult(kind, outcomes["created"], outcomes["updated"], outcomes["unchanged"])


# --- data_resources ---------------------------------------------------------------------------------------
def _existing(uow: UnitOfWork, code: str, actor: Actor) -> catalogue.ResourceDetail | None:
    try:
        return catalogue.find_resource(uow, code, actor)
    except NotFound:
        return None


def _same(current: catalogue.Metadata, wanted: catalogue.Metadata) -> bool:
    """A pack without a 发布日期 keeps the one the first publication recorded, as an edit does."""
    if wanted.release_date is None:
        wanted = replace(wanted, release_date=current.release_date)
    return current == wanted


def _working(uow: UnitOfWork, resource_id: int, actor: Actor) -> catalogue.Version:
    working = catalogue.get_resource(uow, resource_id, actor).working
    assert working is not None, "a resource on its way to publication has a working version"
    return working


def _publish(uow: UnitOfWork, resource_id: int, entry: ResourceEntry, actor: Actor) -> None:
    """Take the working version to published, from whatever step an earlier, interrupted load left it at."""
    spec, mount = entry.spec(), entry.mount()
    working = _working(uow, resource_id, actor)
    if working.status is catalogue.VersionStatus.SUBMITTED and not (
        _same(working.metadata, spec.metadata()) and working.mount == mount
    ):
        # Somebody else's submission that differs from the pack: return it, then edit it to the pack.
        catalogue.review_resource(
            uow,
            catalogue.ReviewResource(
                resource_id=resource_id, publish=False, note=f"{PACK_NOTE}：按资源包修改"
            ),
            actor,
        )
        working = _working(uow, resource_id, actor)
    if working.status is not catalogue.VersionStatus.SUBMITTED:
        if not _same(working.metadata, spec.metadata()):
            catalogue.update_draft(
                uow, catalogue.UpdateDraft(**spec.model_dump(), resource_id=resource_id), actor
            )
        if working.mount != mount:
            catalogue.mount_resource(
                uow,
                catalogue.MountResource(resource_id=resource_id, kind=mount.kind, dataset=mount.dataset),
                actor,
            )
        catalogue.submit_resource(
            uow, catalogue.SubmitResource(resource_id=resource_id, note=PACK_NOTE), actor
        )
    catalogue.review_resource(
        uow, catalogue.ReviewResource(resource_id=resource_id, publish=True, note=PACK_NOTE), actor
    )


def ensure_resource(uow: UnitOfWork, entry: ResourceEntry, actor: Actor) -> Outcome:
    """Register → mount → submit → publish a new resource; a published one whose metadata or mount differ
    from the pack gets a new version taken the same way; a withdrawn one stays withdrawn (下线 is final)."""
    provider = org.find_organisation(uow, entry.provider.division_code, entry.provider.organisation)
    detail = _existing(uow, entry.code, actor)
    if detail is None:
        spec = entry.spec()
        resource = catalogue.register_resource(
            uow,
            catalogue.RegisterResource(
                **spec.model_dump(), code=entry.code, provider_organisation_id=provider.id
            ),
            actor,
        )
        _publish(uow, resource.id, entry, actor)
        return "created"
    resource = detail.view.resource
    if resource.provider_organisation_id != provider.id:
        raise Conflict(
            f"资源代码 {entry.code} 已由{detail.view.provider_name}登记，不能改由{provider.name}提供",
            code="pack_resource_provider_differs",
        )
    if resource.state is catalogue.ResourceState.WITHDRAWN:
        return "unchanged"
    published, working = detail.published, detail.working
    if (
        working is None
        and published is not None
        and _same(published.metadata, entry.spec().metadata())
        and published.mount == entry.mount()
    ):
        return "unchanged"
    if working is None:
        catalogue.start_version(uow, catalogue.StartVersion(resource_id=resource.id, note=PACK_NOTE), actor)
    _publish(uow, resource.id, entry, actor)
    return "updated"


def load_data_resources(platform: Platform, uow: UnitOfWork, pack_file: PackFile, actor: Actor) -> KindResult:
    outcomes: Counter[Outcome] = Counter()
    for index, label, raw in each_entry(pack_file, "resources", "code"):
        with naming_entry(pack_file, index, label):
            outcomes[ensure_resource(uow, ResourceEntry.model_validate(raw), actor)] += 1
    return _counted("data_resources", outcomes)


# --- quality_rules ----------------------------------------------------------------------------------------
def ensure_rule_set(uow: UnitOfWork, resource_id: int, text: str, actor: Actor) -> Outcome:
    # Compared as the command holds it (trimmed), which is how the rule set stores it.
    cmd = quality.SaveRuleSet(resource_id=resource_id, text=text)
    current = quality.get_rule_set(uow, resource_id, actor).current
    if current is not None and current.text == cmd.text:
        return "unchanged"
    quality.save_rule_set(uow, cmd, actor)
    return "created" if current is None else "updated"


def load_quality_rules(platform: Platform, uow: UnitOfWork, pack_file: PackFile, actor: Actor) -> KindResult:
    outcomes: Counter[Outcome] = Counter()
    for index, label, raw in each_entry(pack_file, "rule_sets", "resource"):
        with naming_entry(pack_file, index, label):
            entry = RuleSetEntry.model_validate(raw)
            text = pack_file.read(entry.file)
            resource = catalogue.find_resource(uow, entry.resource, actor).view.resource
            outcomes[ensure_rule_set(uow, resource.id, text, actor)] += 1
    return _counted("quality_rules", outcomes)


# --- registry_grants --------------------------------------------------------------------------------------
def ensure_grant(uow: UnitOfWork, entry: GrantEntry, actor: Actor) -> Outcome:
    unit = org.find_organisation(uow, entry.division_code, entry.organisation)
    operations = tuple(dict.fromkeys(entry.operations))
    current = next((g for g in registry.list_grants(uow, actor) if g.organisation_id == unit.id), None)
    if current is not None and current.operations == operations and current.note == entry.note:
        return "unchanged"
    registry.grant_registry(
        uow, registry.GrantRegistry(organisation_id=unit.id, operations=operations, note=entry.note), actor
    )
    return "created" if current is None else "updated"


def load_registry_grants(
    platform: Platform, uow: UnitOfWork, pack_file: PackFile, actor: Actor
) -> KindResult:
    outcomes: Counter[Outcome] = Counter()
    for index, label, raw in each_entry(pack_file, "grants", "organisation"):
        with naming_entry(pack_file, index, label):
            outcomes[ensure_grant(uow, GrantEntry.model_validate(raw), actor)] += 1
    return _counted("registry_grants", outcomes)
