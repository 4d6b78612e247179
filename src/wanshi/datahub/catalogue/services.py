"""Catalogue use cases: authorise, load, act, write the history row, audit, emit, commit.

Every state change writes a history row (catalogue_event), an audit entry and an outbox event in the
transaction of the change. Readers of a published resource always get its published version; the
provider and reviewers also see the version being prepared, and the reviewer sees what it changes.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from wanshi.datahub.catalogue import excel, live, policies, repository
from wanshi.datahub.catalogue.domain import (
    NOTE_MAX,
    REASON_MIN,
    DataType,
    Diff,
    EventKind,
    Grade,
    HistoryEntry,
    InformationItem,
    Metadata,
    Mount,
    MountKind,
    OpenType,
    Resource,
    ResourceState,
    ShareType,
    TopClass,
    UpdateCycle,
    Version,
    VersionStatus,
    check_metadata,
    diff,
    metadata_problems,
    mount_problems,
    refuse,
)
from wanshi.datahub.catalogue.events import (
    ResourceEvent,
    ResourceMounted,
    ResourcePublished,
    ResourceRegistered,
    ResourceReturned,
    ResourceSubmitted,
    ResourceUpdated,
    ResourceVersionStarted,
    ResourceWithdrawn,
)
from wanshi.datahub.store import DatasetStore
from wanshi.infra.uow import UnitOfWork
from wanshi.kernel import clock
from wanshi.kernel.actor import Actor, ActorKind, provider_organisations
from wanshi.kernel.errors import Conflict, NotFound, ValidationFailed
from wanshi.org import api as org

# Organisation names are not secret, and a provider may sit outside the reader's division.
_SEE_ALL = Actor(kind=ActorKind.SYSTEM, username="catalogue")


class Command(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", str_strip_whitespace=True)


class ItemSpec(Command):
    name: str = Field(max_length=100)
    label: str = Field(max_length=200)
    data_type: DataType = DataType.STRING
    length: int | None = None
    required: bool = False
    grade: Grade = Grade.INTERNAL
    scale: int | None = None


class MetadataSpec(Command):
    name: str = Field(max_length=400)
    summary: str = Field(default="", max_length=4000)
    format: str = Field(default="", max_length=200)
    items: tuple[ItemSpec, ...] = ()
    share_type: ShareType = ShareType.UNCONDITIONAL
    share_conditions: str = Field(default="", max_length=4000)
    share_basis: str = Field(default="", max_length=4000)
    share_method: str = Field(default="", max_length=200)
    open_type: OpenType = OpenType.NONE
    open_conditions: str = Field(default="", max_length=4000)
    update_cycle: UpdateCycle = UpdateCycle.IRREGULAR
    release_date: date | None = None
    related_codes: tuple[str, ...] = ()

    def metadata(self) -> Metadata:
        return Metadata(
            name=self.name,
            summary=self.summary,
            format=self.format,
            items=tuple(InformationItem(**i.model_dump()) for i in self.items),
            share_type=self.share_type,
            share_conditions=self.share_conditions,
            share_basis=self.share_basis,
            share_method=self.share_method,
            open_type=self.open_type,
            open_conditions=self.open_conditions,
            update_cycle=self.update_cycle,
            release_date=self.release_date,
            related_codes=tuple(dict.fromkeys(c.strip() for c in self.related_codes if c.strip())),
        )

    @classmethod
    def of(cls, meta: Metadata) -> MetadataSpec:
        data = meta.as_dict()
        data["release_date"] = meta.release_date
        return cls.model_validate(data)


class RegisterResource(MetadataSpec):
    code: str = Field(max_length=40)
    provider_organisation_id: int


class UpdateDraft(MetadataSpec):
    resource_id: int


class MountResource(Command):
    resource_id: int
    kind: MountKind
    dataset: str = Field(default="", max_length=100)
    url: str = Field(default="", max_length=2000)
    query: str = Field(default="", max_length=20_000)
    secret_ref: str = Field(default="", max_length=220)


class SubmitResource(Command):
    resource_id: int
    note: str = Field(default="", max_length=NOTE_MAX)


class ReviewResource(Command):
    resource_id: int
    publish: bool
    # Required when returning: the provider needs to know what to fix.
    note: str = Field(default="", max_length=NOTE_MAX)


class StartVersion(Command):
    resource_id: int
    note: str = Field(default="", max_length=NOTE_MAX)


class WithdrawResource(Command):
    resource_id: int
    reason: str = Field(max_length=NOTE_MAX)


class ResourceQuery(Command):
    q: str = Field(default="", max_length=100)
    provider_organisation_id: int | None = None
    top_class: TopClass | None = None
    classification: str = Field(default="", max_length=9, pattern=r"^\d*$")
    share_type: ShareType | None = None
    open_type: OpenType | None = None
    state: ResourceState | None = None
    limit: int = Field(default=50, ge=1, le=500)
    offset: int = Field(default=0, ge=0)


@dataclass(frozen=True)
class ResourceView:
    resource: Resource
    # The version the reader sees: the published one, or (before publication) the working one.
    metadata: Metadata
    version_number: int
    provider_name: str


@dataclass(frozen=True)
class ResourceDetail:
    view: ResourceView
    published: Version | None
    # The version being prepared, when the reader may see it.
    working: Version | None
    versions: tuple[Version, ...]
    history: tuple[HistoryEntry, ...]
    # What the working version changes against the published one (None before the first publication).
    pending_diff: Diff | None
    actions: frozenset[str]

    @property
    def resource(self) -> Resource:
        return self.view.resource


@dataclass(frozen=True)
class ResourcePage:
    items: tuple[ResourceView, ...]
    total: int
    limit: int
    offset: int


@dataclass(frozen=True)
class SchemaField:
    name: str
    label: str
    type: str
    required: bool
    max_length: int | None
    # 小数位数 of a decimal field; None for the other types.
    scale: int | None = None


@dataclass(frozen=True)
class ResourceSchema:
    """A published resource's fields in the shape the ingest pipeline reads (``parse_schema``)."""

    code: str
    version_number: int
    fields: tuple[SchemaField, ...]

    def as_dict(self) -> dict[str, Any]:
        return {
            "fields": [
                {
                    "name": f.name,
                    "label": f.label,
                    "type": f.type,
                    "required": f.required,
                    "max_length": f.max_length,
                    # Only decimals have a scale; ingest's FieldSpec takes its own default for the others.
                    **({"scale": f.scale} if f.scale is not None else {}),
                }
                for f in self.fields
            ]
        }


# --- helpers ----------------------------------------------------------------------------------------------
class _Names:
    """Organisation names for one answer, each looked up once."""

    def __init__(self, uow: UnitOfWork) -> None:
        self._uow = uow
        self._names: dict[int, str] = {}

    def __call__(self, organisation_id: int) -> str:
        if organisation_id not in self._names:
            try:
                self._names[organisation_id] = org.get_organisation(self._uow, organisation_id, _SEE_ALL).name
            except NotFound:
                self._names[organisation_id] = f"#{organisation_id}"
        return self._names[organisation_id]


def _provider(uow: UnitOfWork, organisation_id: int) -> org.Organisation:
    try:
        found = org.get_organisation(uow, organisation_id, _SEE_ALL)
    except NotFound:
        raise ValidationFailed(
            "提供方单位不存在", code="catalogue_provider_unknown", field="provider_organisation_id"
        ) from None
    if not found.active:
        raise ValidationFailed(
            f"{found.name}已停用", code="catalogue_provider_inactive", field="provider_organisation_id"
        )
    return found


def _visible(actor: Actor, r: Resource) -> bool:
    published = r.published_version is not None
    return policies.can_view(actor, r.provider_organisation_id, r.division_code, published)


def _load(uow: UnitOfWork, resource_id: int, actor: Actor, *, for_update: bool = True) -> Resource:
    found = repository.get_resource(uow.session, resource_id, for_update=for_update)
    if found is None or not _visible(actor, found):
        # Same answer for "missing" and "not yours": a draft's existence is not disclosed across tenants.
        raise NotFound("资源不存在", code="catalogue_resource_not_found")
    return found


def _authorize(uow: UnitOfWork, allowed: bool, actor: Actor, action: str, r: Resource | None) -> None:
    uow.authorize(
        allowed,
        actor,
        f"catalogue.resource.{action}",
        object_type="catalogue_resource",
        object_id=r.id if r is not None else "",
    )


def _version(uow: UnitOfWork, r: Resource, number: int | None) -> Version:
    found = repository.get_version(uow.session, r.id, number) if number is not None else None
    if found is None:
        raise Conflict("资源没有可操作的版本", code="catalogue_no_working_version")
    return found


def _working(uow: UnitOfWork, r: Resource) -> Version:
    if r.working_version is None:
        raise Conflict("资源没有待发布的版本，请先新建版本", code="catalogue_no_working_version")
    return _version(uow, r, r.working_version)


def _shown(uow: UnitOfWork, r: Resource, changed: Version | None = None) -> Metadata:
    """The metadata readers see on the (changed) resource: its published version, else its working one."""
    number = r.published_version if r.published_version is not None else r.working_version
    if changed is not None and changed.number == number:
        return changed.metadata
    return _version(uow, r, number).metadata


def _follow(uow: UnitOfWork, before: Resource, changed: Version) -> Resource:
    moved = before.follow(changed, changed.updated_at)
    return _save(uow, moved, _shown(uow, moved, changed))


def _save(uow: UnitOfWork, changed: Resource, shown: Metadata) -> Resource:
    if not repository.save_resource(uow.session, changed, shown):
        raise Conflict("资源已被他人修改，请刷新后重试", code="catalogue_resource_changed")
    return replace(changed, lock=changed.lock + 1)


def _record(
    uow: UnitOfWork,
    kind: EventKind,
    before: Resource | None,
    after: Resource,
    version_number: int | None,
    actor: Actor,
    *,
    note: str = "",
    detail: dict[str, Any] | None = None,
    event: type[ResourceEvent],
    **event_fields: Any,
) -> None:
    """History row, audit entry and event of one change, all in the change's transaction."""
    entry = HistoryEntry(
        id=0,
        resource_id=after.id,
        version_number=version_number,
        kind=kind,
        from_state=before.state.value if before is not None else "",
        to_state=after.state.value,
        actor=actor.label,
        actor_kind=actor.kind.value,
        actor_user_id=actor.user_id,
        note=note,
        detail=detail or {},
        occurred_at=after.updated_at,
    )
    repository.add_history(uow.session, entry, after.division_code)
    uow.audit(
        actor,
        f"catalogue.resource.{kind.value}",
        object_type="catalogue_resource",
        object_id=after.id,
        tenant=after.division_code,
        detail={"code": after.code, "state": after.state.value, "version": version_number, **(detail or {})},
    )
    uow.emit(
        event(
            resource_id=after.id,
            code=after.code,
            provider_organisation_id=after.provider_organisation_id,
            division_code=after.division_code,
            version_number=version_number or 0,
            **event_fields,
        )
    )


def _reason(text: str, what: str, code: str, field: str) -> str:
    text = text.strip()
    if len(text) < REASON_MIN:
        raise ValidationFailed(f"请填写{what}（至少 {REASON_MIN} 个字）", code=code, field=field)
    return text


# --- use cases --------------------------------------------------------------------------------------------
def _register(uow: UnitOfWork, cmd: RegisterResource, actor: Actor) -> Resource:
    provider = _provider(uow, cmd.provider_organisation_id)
    _authorize(uow, policies.can_provide(actor, provider.id, provider.division_code), actor, "register", None)
    meta = cmd.metadata()
    check_metadata(cmd.code, meta)
    if repository.find_by_code(uow.session, cmd.code) is not None:
        raise Conflict(f"资源代码 {cmd.code} 已被使用", code="catalogue_code_taken", field="code")
    now = clock.now()
    new = Resource(
        id=0,
        code=cmd.code,
        provider_organisation_id=provider.id,
        provider_code=provider.code,
        division_code=provider.division_code,
        state=ResourceState.DRAFT,
        published_version=None,
        working_version=1,
        created_by=actor.label,
        created_at=now,
        updated_at=now,
    )
    new = replace(new, id=repository.add_resource(uow.session, new, meta))
    repository.add_version(
        uow.session,
        Version(new.id, 1, VersionStatus.DRAFT, meta, None, actor.label, now, now),
        new.division_code,
    )
    _record(
        uow, EventKind.REGISTERED, None, new, 1, actor, detail={"name": meta.name}, event=ResourceRegistered
    )
    return new


def register_resource(uow: UnitOfWork, cmd: RegisterResource, actor: Actor) -> Resource:
    """注册: a provider's new resource, as a draft version 1."""
    registered = _register(uow, cmd, actor)
    uow.commit()
    return registered


def _update(uow: UnitOfWork, before: Resource, meta: Metadata, actor: Actor) -> Resource:
    _authorize(
        uow,
        policies.can_provide(actor, before.provider_organisation_id, before.division_code),
        actor,
        "update",
        before,
    )
    working = _working(uow, before)
    check_metadata(before.code, meta)
    edited = working.edit(meta, clock.now())
    change = diff(working.metadata, edited.metadata)
    repository.save_version(uow.session, edited)
    after = _follow(uow, before, edited)
    _record(
        uow,
        EventKind.UPDATED,
        before,
        after,
        edited.number,
        actor,
        detail={"changed": [c.key for c in change.metadata], "items_changed": _item_summary(change)},
        event=ResourceUpdated,
    )
    return after


def _item_summary(change: Diff) -> dict[str, list[str]]:
    return {
        "added": [i.name for i in change.items_added],
        "removed": [i.name for i in change.items_removed],
        "changed": [c.name for c in change.items_changed],
    }


def update_draft(uow: UnitOfWork, cmd: UpdateDraft, actor: Actor) -> Resource:
    """Edit the working version (a draft, a mounted or a returned one); the published one never changes."""
    after = _update(uow, _load(uow, cmd.resource_id, actor), cmd.metadata(), actor)
    uow.commit()
    return after


def mount_resource(uow: UnitOfWork, cmd: MountResource, actor: Actor) -> Resource:
    """挂接: say where the working version's data is; credentials only as a secret reference."""
    before = _load(uow, cmd.resource_id, actor)
    _authorize(
        uow,
        policies.can_provide(actor, before.provider_organisation_id, before.division_code),
        actor,
        "mount",
        before,
    )
    mount = Mount(cmd.kind, cmd.dataset, cmd.url, cmd.query, cmd.secret_ref)
    refuse(mount_problems(mount))
    working = _working(uow, before).mounted(mount, clock.now())
    repository.save_version(uow.session, working)
    after = _follow(uow, before, working)
    # The description is recorded without the query text, which may be long; the URL holds no secret.
    detail = {
        "kind": mount.kind.value,
        "dataset": mount.dataset,
        "url": mount.url,
        "secret_ref": mount.secret_ref,
    }
    _record(
        uow,
        EventKind.MOUNTED,
        before,
        after,
        working.number,
        actor,
        detail=detail,
        event=ResourceMounted,
        mount_kind=mount.kind.value,
    )
    uow.commit()
    return after


def submit_resource(uow: UnitOfWork, cmd: SubmitResource, actor: Actor) -> Resource:
    """Send the working version to the data bureau for review."""
    before = _load(uow, cmd.resource_id, actor)
    _authorize(
        uow,
        policies.can_provide(actor, before.provider_organisation_id, before.division_code),
        actor,
        "submit",
        before,
    )
    working = _working(uow, before)
    check_metadata(before.code, working.metadata)
    submitted = working.submitted(clock.now())
    repository.save_version(uow.session, submitted)
    after = _follow(uow, before, submitted)
    _record(
        uow,
        EventKind.SUBMITTED,
        before,
        after,
        submitted.number,
        actor,
        note=cmd.note,
        event=ResourceSubmitted,
    )
    uow.commit()
    return after


def review_resource(uow: UnitOfWork, cmd: ReviewResource, actor: Actor) -> Resource:
    """发布 or return with reasons (the data bureau). Publishing replaces the published version at once."""
    before = _load(uow, cmd.resource_id, actor)
    _authorize(uow, policies.can_review(actor, before.division_code), actor, "review", before)
    note = (
        cmd.note.strip()
        if cmd.publish
        else _reason(cmd.note, "退回理由", "catalogue_return_reason_required", "note")
    )
    working = _working(uow, before)
    now = clock.now()
    reviewed = working.reviewed(cmd.publish, actor.label, note, now, clock.today_in_china())
    previous = before.published_version
    repository.save_version(uow.session, reviewed)
    if cmd.publish and previous is not None:
        repository.save_version(
            uow.session,
            replace(_version(uow, before, previous), status=VersionStatus.SUPERSEDED, updated_at=now),
        )
    after = _follow(uow, before, reviewed)
    if cmd.publish:
        _record(
            uow,
            EventKind.PUBLISHED,
            before,
            after,
            reviewed.number,
            actor,
            note=note,
            detail={"replaced_version": previous},
            event=ResourcePublished,
        )
    else:
        _record(
            uow, EventKind.RETURNED, before, after, reviewed.number, actor, note=note, event=ResourceReturned
        )
    uow.commit()
    return after


def _start_version(uow: UnitOfWork, before: Resource, actor: Actor, note: str) -> Resource:
    _authorize(
        uow,
        policies.can_provide(actor, before.provider_organisation_id, before.division_code),
        actor,
        "version",
        before,
    )
    now = clock.now()
    started, number = before.start_version(now)
    published = _version(uow, before, before.published_version)
    status = VersionStatus.MOUNTED if published.mount is not None else VersionStatus.DRAFT
    repository.add_version(
        uow.session,
        Version(before.id, number, status, published.metadata, published.mount, actor.label, now, now),
        before.division_code,
    )
    after = _save(uow, started, published.metadata)
    _record(
        uow, EventKind.VERSION_STARTED, before, after, number, actor, note=note, event=ResourceVersionStarted
    )
    return after


def start_version(uow: UnitOfWork, cmd: StartVersion, actor: Actor) -> Resource:
    """A new draft version of a published resource, starting from the published one (mount included)."""
    after = _start_version(uow, _load(uow, cmd.resource_id, actor), actor, cmd.note)
    uow.commit()
    return after


def withdraw_resource(uow: UnitOfWork, cmd: WithdrawResource, actor: Actor) -> Resource:
    """下线: a published resource leaves the catalogue for good; its code is never reused."""
    before = _load(uow, cmd.resource_id, actor)
    _authorize(uow, policies.can_withdraw(actor, before.division_code), actor, "withdraw", before)
    reason = _reason(cmd.reason, "下线理由", "catalogue_withdraw_reason_required", "reason")
    withdrawn = before.withdraw(reason, clock.now())
    after = _save(uow, withdrawn, _shown(uow, withdrawn))
    _record(
        uow,
        EventKind.WITHDRAWN,
        before,
        after,
        before.published_version,
        actor,
        note=reason,
        event=ResourceWithdrawn,
    )
    uow.commit()
    return after


# --- reading ----------------------------------------------------------------------------------------------
def _view(uow: UnitOfWork, r: Resource, names: _Names) -> ResourceView:
    number = r.published_version if r.published_version is not None else r.working_version
    assert number is not None
    return ResourceView(r, _version(uow, r, number).metadata, number, names(r.provider_organisation_id))


def _actions(actor: Actor, r: Resource, working: Version | None) -> frozenset[str]:
    provide = policies.can_provide(actor, r.provider_organisation_id, r.division_code)
    review = policies.can_review(actor, r.division_code)
    found: set[str] = set()
    if r.state is ResourceState.WITHDRAWN:
        return frozenset()
    if working is not None and provide:
        if working.status in (VersionStatus.DRAFT, VersionStatus.MOUNTED, VersionStatus.RETURNED):
            found |= {"update", "mount"}
        if working.status in (VersionStatus.MOUNTED, VersionStatus.RETURNED):
            found.add("submit")
    if working is not None and review and working.status is VersionStatus.SUBMITTED:
        found.add("review")
    if r.state is ResourceState.PUBLISHED:
        if provide and working is None:
            found.add("version")
        if review:
            found.add("withdraw")
    return frozenset(found)


def get_resource(uow: UnitOfWork, resource_id: int, actor: Actor) -> ResourceDetail:
    """A resource with its versions and history; the unpublished version only for provider and reviewers."""
    r = _load(uow, resource_id, actor, for_update=False)
    see_working = policies.can_see_working(actor, r.provider_organisation_id, r.division_code)
    versions = repository.list_versions(uow.session, r.id)
    published = next((v for v in versions if v.number == r.published_version), None)
    working = next((v for v in versions if v.number == r.working_version), None) if see_working else None
    shown = [
        v for v in versions if see_working or v.status in (VersionStatus.PUBLISHED, VersionStatus.SUPERSEDED)
    ]
    pending = None
    if published is not None and working is not None:
        pending = diff(published.metadata, working.metadata, mounts=(published.mount, working.mount))
    history = repository.list_history(uow.session, r.id)
    if not see_working:
        # Readers follow what was published; the drafting in between is the provider's business.
        public_kinds = {EventKind.PUBLISHED, EventKind.WITHDRAWN}
        history = [h for h in history if h.kind in public_kinds]
    return ResourceDetail(
        view=_view(uow, r, _Names(uow)),
        published=published,
        working=working,
        versions=tuple(shown),
        history=tuple(history),
        pending_diff=pending,
        actions=_actions(actor, r, working),
    )


def find_resource(uow: UnitOfWork, code: str, actor: Actor) -> ResourceDetail:
    found = repository.find_by_code(uow.session, code.strip())
    if found is None or not _visible(actor, found):
        raise NotFound("资源不存在", code="catalogue_resource_not_found")
    return get_resource(uow, found.id, actor)


def version_diff(uow: UnitOfWork, resource_id: int, from_number: int, to_number: int, actor: Actor) -> Diff:
    """What changed between two versions the actor may see."""
    detail = get_resource(uow, resource_id, actor)
    versions = {v.number: v for v in detail.versions}
    if from_number not in versions or to_number not in versions:
        raise NotFound("版本不存在", code="catalogue_version_not_found")
    a, b = versions[from_number], versions[to_number]
    return diff(a.metadata, b.metadata, mounts=(a.mount, b.mount))


def _visibility(actor: Actor) -> repository.Visibility:
    return repository.Visibility(provider_organisations(actor), policies.review_scopes(actor))


def _filters(query: ResourceQuery) -> repository.Filters:
    return repository.Filters(
        q=query.q,
        provider_organisation_id=query.provider_organisation_id,
        top_class=query.top_class,
        classification=query.classification,
        share_type=query.share_type,
        open_type=query.open_type,
        state=query.state,
    )


def search_resources(uow: UnitOfWork, query: ResourceQuery, actor: Actor) -> ResourcePage:
    """Browse and search: published resources for all staff, others for their providers and reviewers."""
    uow.authorize(
        policies.can_browse(actor), actor, "catalogue.resource.search", object_type="catalogue_resource"
    )
    found, total = repository.search(
        uow.session, _visibility(actor), _filters(query), limit=query.limit, offset=query.offset
    )
    names = _Names(uow)
    return ResourcePage(tuple(_view(uow, r, names) for r in found), total, query.limit, query.offset)


def resource_schema(uow: UnitOfWork, code: str) -> ResourceSchema:
    """The published fields of a resource, for the ingest pipeline (no actor: the pipeline's caller
    authorised the load). Only a published version is a contract: drafts may still change."""
    r = repository.find_by_code(uow.session, code.strip())
    if r is None or r.published_version is None or r.state is not ResourceState.PUBLISHED:
        raise NotFound(f"资源 {code} 不存在或未发布", code="catalogue_resource_not_published")
    published = _version(uow, r, r.published_version)
    return ResourceSchema(
        code=r.code,
        version_number=published.number,
        fields=tuple(
            SchemaField(i.name, i.label, i.data_type.value, i.required, i.length, i.scale)
            for i in published.metadata.items
        ),
    )


# --- Excel ------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class ImportReport:
    """What an import did; with any problem it did nothing at all (the file is taken whole or not)."""

    created: int
    updated: int
    unchanged: int
    problems: tuple[excel.RowProblem, ...]

    @property
    def ok(self) -> bool:
        return not self.problems


def _current(uow: UnitOfWork, actor: Actor, r: Resource) -> Metadata:
    """The metadata an export shows this actor: the version being prepared when they may see it."""
    if r.working_version is not None and policies.can_see_working(
        actor, r.provider_organisation_id, r.division_code
    ):
        return _version(uow, r, r.working_version).metadata
    return _shown(uow, r)


def export_catalogue(uow: UnitOfWork, query: ResourceQuery, actor: Actor) -> bytes:
    """Every resource the actor sees and the query selects (its paging ignored), as an .xlsx workbook."""
    uow.authorize(
        policies.can_browse(actor), actor, "catalogue.resource.export", object_type="catalogue_resource"
    )
    found, _total = repository.search(uow.session, _visibility(actor), _filters(query), limit=None, offset=0)
    names = _Names(uow)
    content = excel.write_workbook(
        excel.ExportResource(
            r.code, names(r.provider_organisation_id), r.provider_code, _current(uow, actor, r)
        )
        for r in found
    )
    uow.audit(
        actor, "catalogue.resource.export", object_type="catalogue_resource", detail={"resources": len(found)}
    )
    uow.commit()
    return content


class _Providers:
    """Providers named in a sheet, by 提供方代码 (统一社会信用代码) when given, else by exact name."""

    def __init__(self, uow: UnitOfWork) -> None:
        self._uow = uow

    def __call__(self, name: str, code: str) -> tuple[org.Organisation | None, str]:
        key = code or name
        if not key:
            return None, "缺少提供方"
        found, _total = org.list_organisations(self._uow, org.OrganisationQuery(q=key, limit=500), _SEE_ALL)
        matches = [o for o in found if (o.code == code if code else o.name == name)]
        if len(matches) == 1:
            return matches[0], ""
        if matches:
            return None, f"提供方“{key}”不唯一，请填写提供方代码"
        return None, f"提供方“{key}”不存在"


def _sheet_problems(item: excel.SheetResource) -> list[excel.RowProblem]:
    """Problems of one resource of the sheet, each at the row it concerns (an item's own row)."""
    found = []
    for p in metadata_problems(item.code, item.metadata):
        row = item.rows[p.item] if p.item is not None else item.rows[0]
        found.append(excel.RowProblem(row, p.code, f"第 {row} 行：{p.message}"))
    return found


def _refusal(
    uow: UnitOfWork, item: excel.SheetResource, provider: org.Organisation, existing: Resource | None
) -> tuple[str, str] | None:
    """Why the sheet may not change an existing resource (code, message), if it may not."""
    if existing is None:
        return None
    if existing.provider_organisation_id != provider.id:
        return "catalogue_import_provider_changed", f"资源 {item.code} 已由其他单位提供，不能改变提供方"
    if existing.state is ResourceState.WITHDRAWN:
        return "catalogue_import_withdrawn", f"资源 {item.code} 已下线，不能再修改"
    if existing.working_version is not None:
        working = _version(uow, existing, existing.working_version)
        if working.status is VersionStatus.SUBMITTED and not _same(working.metadata, item.metadata):
            return "catalogue_import_under_review", f"资源 {item.code} 正在审核，审核完成后再修改"
    return None


def _same(current: Metadata, sheet: Metadata) -> bool:
    """Does the sheet say nothing new (a blank 发布日期 keeps the recorded one, as an edit does)."""
    if sheet.release_date is None:
        sheet = replace(sheet, release_date=current.release_date)
    return current == sheet


_Plan = list[tuple[excel.SheetResource, org.Organisation, Resource | None]]


def _apply(uow: UnitOfWork, plan: _Plan, actor: Actor) -> tuple[int, int, int]:
    created = updated = unchanged = 0
    for item, provider, existing in plan:
        if existing is None:
            spec = MetadataSpec.of(item.metadata)
            _register(
                uow,
                RegisterResource(**spec.model_dump(), code=item.code, provider_organisation_id=provider.id),
                actor,
            )
            created += 1
        elif _same(_current(uow, actor, existing), item.metadata):
            unchanged += 1
        else:
            target = existing
            if target.working_version is None:
                target = _start_version(uow, target, actor, "Excel 导入")
            _update(uow, target, item.metadata, actor)
            updated += 1
    return created, updated, unchanged


def import_catalogue(uow: UnitOfWork, content: bytes, actor: Actor) -> ImportReport:
    """Register or update the resources of a workbook. Every row is checked first and all problems are
    reported; with any problem nothing changes. Importing the same file again changes nothing: a resource
    whose metadata already equal the sheet's is left alone (no new version, no history row)."""
    uow.authorize(
        policies.can_import(actor), actor, "catalogue.resource.import", object_type="catalogue_resource"
    )
    read = excel.read_workbook(content)
    problems = list(read.problems)
    providers = _Providers(uow)
    plan: _Plan = []
    for item in read.resources:
        first = item.rows[0]

        def problem(code: str, message: str, row: int = first) -> None:
            problems.append(excel.RowProblem(row, code, f"第 {row} 行：{message}"))

        problems.extend(_sheet_problems(item))
        provider, why = providers(item.provider_name, item.provider_code)
        if provider is None:
            problem("catalogue_import_provider_unknown", why)
            continue
        if not policies.can_provide(actor, provider.id, provider.division_code):
            problem("catalogue_import_provider_forbidden", f"您不能为“{provider.name}”登记资源")
            continue
        existing = repository.find_by_code(uow.session, item.code, for_update=True)
        refusal = _refusal(uow, item, provider, existing)
        if refusal is not None:
            problem(*refusal)
            continue
        plan.append((item, provider, existing))
    if problems:
        uow.rollback()
        return ImportReport(0, 0, 0, tuple(sorted(problems, key=lambda p: (p.row, p.code))))
    created, updated, unchanged = _apply(uow, plan, actor)
    uow.audit(
        actor,
        "catalogue.resource.import",
        object_type="catalogue_resource",
        detail={"created": created, "updated": updated, "unchanged": unchanged},
    )
    uow.commit()
    return ImportReport(created, updated, unchanged, ())


# --- live rows and load targets ---------------------------------------------------------------------------
@dataclass(frozen=True)
class ResourceRows:
    """The first rows of a resource's data, shaped to its fields, personal values masked."""

    code: str
    version_number: int
    kind: MountKind
    items: tuple[InformationItem, ...]
    rows: tuple[dict[str, Any], ...]
    limit: int


@dataclass(frozen=True)
class MountedResource:
    """A published resource with where its data lives, for the aggregation pipeline."""

    id: int
    code: str
    name: str
    provider_organisation_id: int
    division_code: str
    mount: Mount
    schema: ResourceSchema


def _dataset_rows(store: DatasetStore, dataset: str, limit: int) -> list[dict[str, Any]]:
    if dataset not in store.datasets():
        return []
    # The name matched DATASET_PATTERN when mounted, so quoting it is enough.
    return list(store.query(f'SELECT * FROM "{dataset}" LIMIT ?', [limit]).to_pylist())  # noqa: S608


def read_rows(
    uow: UnitOfWork, store: DatasetStore, config: live.LiveConfig, code: str, limit: int, actor: Actor
) -> ResourceRows:
    """Preview a resource's data wherever it is mounted (the analytical store, a department database, an
    HTTP API). Rows are the provider's data: its own staff and the reviewers over it read them here;
    other departments obtain them through sharing. The mount being prepared is read when there is one,
    so a provider can check it before submitting."""
    found = repository.find_by_code(uow.session, code.strip())
    if found is None or not _visible(actor, found):
        raise NotFound("资源不存在", code="catalogue_resource_not_found")
    _authorize(
        uow,
        policies.can_provide(actor, found.provider_organisation_id, found.division_code),
        actor,
        "rows",
        found,
    )
    numbers = [n for n in (found.working_version, found.published_version) if n is not None]
    version = next((v for v in (_version(uow, found, n) for n in numbers) if v.mount is not None), None)
    uow.session.rollback()
    if version is None or version.mount is None:
        raise Conflict("资源尚未挂接数据", code="catalogue_not_mounted")
    mount, limit = version.mount, max(1, min(limit, config.max_rows))
    if mount.kind is MountKind.DATASET:
        records = _dataset_rows(store, mount.dataset, limit)
    elif mount.kind is MountKind.DATABASE:
        records = live.read_database(mount, config, limit)
    else:
        records = live.read_http(mount, config, limit)
    rows = live.shape(records, version.metadata.items)
    uow.audit(
        actor,
        "catalogue.resource.rows",
        object_type="catalogue_resource",
        object_id=found.id,
        tenant=found.division_code,
        detail={"code": found.code, "version": version.number, "kind": mount.kind.value, "rows": len(rows)},
    )
    uow.commit()
    return ResourceRows(found.code, version.number, mount.kind, version.metadata.items, tuple(rows), limit)


def _mounted(uow: UnitOfWork, r: Resource) -> MountedResource | None:
    if r.state is not ResourceState.PUBLISHED or r.published_version is None:
        return None
    published = _version(uow, r, r.published_version)
    if published.mount is None:
        return None
    return MountedResource(
        id=r.id,
        code=r.code,
        name=published.metadata.name,
        provider_organisation_id=r.provider_organisation_id,
        division_code=r.division_code,
        mount=published.mount,
        schema=resource_schema(uow, r.code),
    )


def load_targets(uow: UnitOfWork, actor: Actor, kind: MountKind | None = None) -> list[MountedResource]:
    """Published, mounted resources the actor may load data into (its organisations' own; every one in
    their area for the data bureau)."""
    organisations = provider_organisations(actor)
    scopes = policies.review_scopes(actor)
    if scopes is None or scopes:
        found, _total = repository.search(
            uow.session,
            _visibility(actor),
            repository.Filters(state=ResourceState.PUBLISHED),
            limit=None,
            offset=0,
        )
    else:
        found = []
        for organisation in sorted(organisations):
            some, _total = repository.search(
                uow.session,
                _visibility(actor),
                repository.Filters(provider_organisation_id=organisation, state=ResourceState.PUBLISHED),
                limit=None,
                offset=0,
            )
            found.extend(some)
    targets = []
    for r in found:
        if not policies.can_provide(actor, r.provider_organisation_id, r.division_code):
            continue
        mounted = _mounted(uow, r)
        if mounted is not None and (kind is None or mounted.mount.kind is kind):
            targets.append(mounted)
    return targets


def find_load_target(uow: UnitOfWork, dataset: str, actor: Actor) -> MountedResource:
    """The published resource mounted on ``dataset`` that the actor may load into."""
    for target in load_targets(uow, actor, MountKind.DATASET):
        if target.mount.dataset == dataset:
            return target
    # Whether another department's resource uses the name is not disclosed.
    raise NotFound(
        f"没有您可以归集的、挂接数据集“{dataset}”的已发布资源", code="catalogue_dataset_not_mounted"
    )


def mounted_resource(uow: UnitOfWork, code: str, actor: Actor) -> MountedResource:
    """A published resource's mount and fields, for the actor who may load into it."""
    found = repository.find_by_code(uow.session, code.strip())
    if found is None or not _visible(actor, found):
        raise NotFound("资源不存在", code="catalogue_resource_not_found")
    _authorize(
        uow,
        policies.can_provide(actor, found.provider_organisation_id, found.division_code),
        actor,
        "load",
        found,
    )
    mounted = _mounted(uow, found)
    if mounted is None:
        raise Conflict("资源尚未发布或未挂接数据", code="catalogue_resource_not_published")
    return mounted
