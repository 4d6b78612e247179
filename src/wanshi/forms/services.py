"""Use cases of the forms centre: create, design (save drafts), publish, archive, read, and check answers.

Every save quotes the revision its editor started from. Two editors who start from the same revision cannot
both save: the second is told who saved in between and when (``form_changed``), and keeps what they typed to
compare, instead of silently overwriting the first (no lost update). Publishing freezes the draft as a new
version; applications are always checked against a version, never against a draft.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from wanshi.forms import policies, repository
from wanshi.forms.domain.answers import Evaluation, evaluate
from wanshi.forms.domain.records import EventKind, FormEvent, FormKind, FormRecord, FormVersion
from wanshi.forms.domain.schema import FieldType, FormDocument, parse_form
from wanshi.forms.expressions import form_expressions
from wanshi.forms.prefill import SOURCES, unknown_sources
from wanshi.infra.uow import UnitOfWork
from wanshi.kernel import clock
from wanshi.kernel.actor import Actor, ActorKind, data_bureau_divisions, provider_organisations
from wanshi.kernel.errors import Conflict, NotFound, ValidationFailed, WanshiError
from wanshi.org import api as org

FORM_KEY = re.compile(r"^[a-z][a-z0-9-]{2,59}$")
NOTE_MAX = 500
ORG_PAGE = 500
_ORG_READER = Actor(kind=ActorKind.SYSTEM, username="forms")


class Command(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class CreateForm(Command):
    key: str = Field(max_length=60)
    kind: FormKind = FormKind.FORM
    organisation_id: int
    title: str = Field(min_length=2, max_length=100)
    # Start from a published template or form (its latest version), or from a blank page.
    start_from: str = Field(default="", max_length=60)


class SaveDraft(Command):
    form_id: int
    revision: int
    document: dict[str, Any]


class PublishForm(Command):
    form_id: int
    revision: int
    note: str = Field(default="", max_length=NOTE_MAX)


class SetArchived(Command):
    form_id: int
    revision: int
    archived: bool


class ListForms(Command):
    kinds: tuple[FormKind, ...] = (FormKind.FORM,)
    # Published fragments and templates of every department, beside the actor's own records.
    with_shared: bool = False
    q: str = Field(default="", max_length=60)
    include_archived: bool = False
    page: int = Field(default=1, ge=1)
    page_size: int = Field(default=50, ge=1, le=repository.PAGE_MAX)


@dataclass(frozen=True)
class FormDetail:
    record: FormRecord
    document: FormDocument
    versions: list[tuple[int, str, str, Any]]
    history: list[FormEvent]


@dataclass(frozen=True)
class Published:
    version: FormVersion
    document: FormDocument


def _blank(title: str) -> dict[str, Any]:
    return {
        "title": title,
        "fields": [{"key": "note", "type": FieldType.STATIC.value, "label": "请在此添加字段"}],
    }


def _organisation_division(uow: UnitOfWork, organisation_id: int) -> str:
    try:
        return org.get_organisation(uow, organisation_id, _ORG_READER).division_code
    except NotFound:
        raise ValidationFailed(
            "组织不存在", field="organisation_id", code="form_organisation_missing"
        ) from None


def _history(
    uow: UnitOfWork,
    kind: EventKind,
    after: FormRecord,
    actor: Actor,
    *,
    version: int | None = None,
    note: str = "",
) -> None:
    """History row and audit entry of one change, in the change's transaction."""
    entry = FormEvent(kind, after.revision, version, note, actor.label, after.updated_at)
    repository.add_event(uow.session, after.id, after.division_code, entry)
    detail: dict[str, Any] = {"key": after.key, "revision": after.revision}
    if version is not None:
        detail["version"] = version
    uow.audit(
        actor,
        f"forms.{kind.value}",
        object_type="form",
        object_id=after.id,
        tenant=after.division_code,
        detail=detail,
    )


def _load(uow: UnitOfWork, form_id: int) -> FormRecord:
    found = repository.get_record(uow.session, form_id)
    if found is None:
        raise NotFound("表单不存在")
    return found


def _save(uow: UnitOfWork, before: FormRecord, after: FormRecord, expected_revision: int) -> None:
    if expected_revision != before.revision or not repository.save_record(
        uow.session, after, expected_revision=expected_revision
    ):
        current = repository.get_record(uow.session, before.id) or before
        raise Conflict(
            f"表单已被{current.updated_by}于{_china(current.updated_at)}修改（第{current.revision}次保存），"
            "您的修改未保存。请查看对方的修改后再编辑",
            code="form_changed",
            revision=current.revision,
            updated_by=current.updated_by,
        )


def _china(at: datetime) -> str:
    return clock.as_utc(at).astimezone(clock.CHINA_TZ).strftime("%Y-%m-%d %H:%M")


def _checked(document: dict[str, Any]) -> FormDocument:
    parsed = parse_form(document)
    unknown = unknown_sources(parsed)
    if unknown:
        raise ValidationFailed(
            f"预填来源不存在：{'、'.join(unknown)}", code="form_prefill_unknown", available=sorted(SOURCES)
        )
    expressions = form_expressions()
    for field in parsed.walk():
        if field.expression:
            try:
                expressions.check(field.expression)
            except WanshiError as exc:
                raise ValidationFailed(
                    f"“{field.label}”的计算公式有误：{exc.message}",
                    code="form_expression_invalid",
                    field=field.key,
                ) from None
    return parsed


# --- design -------------------------------------------------------------------------------------------
def create_form(uow: UnitOfWork, cmd: CreateForm, actor: Actor) -> FormRecord:
    division = _organisation_division(uow, cmd.organisation_id)
    uow.authorize(policies.can_design(actor, cmd.organisation_id, division), actor, "forms.create")
    if not FORM_KEY.fullmatch(cmd.key):
        raise ValidationFailed(
            "表单标识应以小写字母开头，只含小写字母、数字和连字符，3至60个字符",
            field="key",
            code="form_key_invalid",
        )
    if repository.key_taken(uow.session, cmd.key):
        raise Conflict(f"表单标识“{cmd.key}”已被使用", field="key", code="form_key_taken")
    if cmd.start_from:
        start = repository.get_version(uow.session, cmd.start_from, None)
        if start is None:
            raise ValidationFailed(
                "作为起点的模板或表单尚未发布", field="start_from", code="form_start_missing"
            )
        draft = {**start.document, "title": cmd.title}
    else:
        draft = _blank(cmd.title)
    document = _checked(draft)
    now = clock.now()
    new = FormRecord(
        id=0,
        key=cmd.key,
        kind=cmd.kind,
        organisation_id=cmd.organisation_id,
        division_code=division,
        title=document.title,
        draft=document.model_dump(mode="json", exclude_defaults=True),
        revision=1,
        latest_version=None,
        draft_changed=True,
        archived=False,
        created_by=actor.label,
        created_at=now,
        updated_by=actor.label,
        updated_at=now,
    )
    created = replace(new, id=repository.add_record(uow.session, new))
    _history(
        uow, EventKind.CREATED, created, actor, note=f"以“{cmd.start_from}”为起点" if cmd.start_from else ""
    )
    uow.commit()
    return created


def save_draft(uow: UnitOfWork, cmd: SaveDraft, actor: Actor) -> FormRecord:
    before = _load(uow, cmd.form_id)
    uow.authorize(
        policies.can_design(actor, before.organisation_id, before.division_code),
        actor,
        "forms.save",
        object_type="form",
        object_id=before.id,
    )
    document = _checked(cmd.document)
    draft = document.model_dump(mode="json", exclude_defaults=True)
    latest = repository.get_version(uow.session, before.key, None) if before.latest_version else None
    after = replace(
        before,
        title=document.title,
        draft=draft,
        revision=before.revision + 1,
        draft_changed=latest is None or latest.document != draft,
        updated_by=actor.label,
        updated_at=clock.now(),
    )
    _save(uow, before, after, cmd.revision)
    _history(uow, EventKind.SAVED, after, actor)
    uow.commit()
    return after


def publish_form(uow: UnitOfWork, cmd: PublishForm, actor: Actor) -> FormVersion:
    before = _load(uow, cmd.form_id)
    uow.authorize(
        policies.can_design(actor, before.organisation_id, before.division_code),
        actor,
        "forms.publish",
        object_type="form",
        object_id=before.id,
    )
    if before.archived:
        raise ValidationFailed("表单已停用，请先恢复使用再发布", code="form_archived")
    if not before.draft_changed:
        raise ValidationFailed("草稿与已发布的版本相同，无需再次发布", code="form_unchanged")
    document = _checked(before.draft)
    now = clock.now()
    number = (before.latest_version or 0) + 1
    after = replace(
        before,
        revision=before.revision + 1,
        latest_version=number,
        draft_changed=False,
        updated_by=actor.label,
        updated_at=now,
    )
    _save(uow, before, after, cmd.revision)
    published = FormVersion(
        record_id=before.id,
        key=before.key,
        division_code=before.division_code,
        number=number,
        document=document.model_dump(mode="json", exclude_defaults=True),
        note=cmd.note.strip(),
        published_by=actor.label,
        published_at=now,
    )
    repository.add_version(uow.session, published, before.division_code)
    _history(uow, EventKind.PUBLISHED, after, actor, version=number, note=published.note)
    uow.commit()
    return published


def set_archived(uow: UnitOfWork, cmd: SetArchived, actor: Actor) -> FormRecord:
    before = _load(uow, cmd.form_id)
    uow.authorize(
        policies.can_design(actor, before.organisation_id, before.division_code),
        actor,
        "forms.archive" if cmd.archived else "forms.restore",
        object_type="form",
        object_id=before.id,
    )
    if before.archived == cmd.archived:
        return before
    after = replace(
        before,
        archived=cmd.archived,
        revision=before.revision + 1,
        updated_by=actor.label,
        updated_at=clock.now(),
    )
    _save(uow, before, after, cmd.revision)
    _history(uow, EventKind.ARCHIVED if cmd.archived else EventKind.RESTORED, after, actor)
    uow.commit()
    return after


# --- reading ------------------------------------------------------------------------------------------
def list_forms(uow: UnitOfWork, query: ListForms, actor: Actor) -> tuple[list[FormRecord], int]:
    uow.authorize(policies.can_list(actor), actor, "forms.list")
    own = None if actor.kind is ActorKind.SYSTEM else _designable_organisations(uow, actor)
    return repository.list_records(
        uow.session,
        kinds=query.kinds,
        own_organisations=own,
        shared_published=query.with_shared,
        q=query.q.strip(),
        include_archived=query.include_archived,
        offset=(query.page - 1) * query.page_size,
        limit=query.page_size,
    )


def _designable_organisations(uow: UnitOfWork, actor: Actor) -> frozenset[int]:
    """The organisations whose forms the actor designs: their own departments, and for a data bureau every
    organisation of its divisions."""
    own = set(provider_organisations(actor))
    for division in data_bureau_divisions(actor):
        offset = 0
        while True:
            query = org.OrganisationQuery(division_code=division, limit=ORG_PAGE, offset=offset)
            found, total = org.list_organisations(uow, query, _ORG_READER)
            own.update(o.id for o in found)
            offset += ORG_PAGE
            if offset >= total:
                break
    return frozenset(own)


def get_form(uow: UnitOfWork, form_id: int, actor: Actor) -> FormDetail:
    found = _load(uow, form_id)
    uow.authorize(
        policies.can_view(
            actor, found.organisation_id, found.division_code, found.kind, found.latest_version is not None
        ),
        actor,
        "forms.view",
        object_type="form",
        object_id=found.id,
    )
    return FormDetail(
        record=found,
        document=parse_form(found.draft),
        versions=repository.list_versions(uow.session, found.id),
        history=repository.list_events(uow.session, found.id),
    )


def published_form(
    uow: UnitOfWork, key: str, actor: Actor, *, version: int | None = None, include_archived: bool = False
) -> Published:
    """A published version. An archived (停用) form is no longer offered, except to work already under way
    (``include_archived``: a process step that names it)."""
    uow.authorize(policies.can_read_published(actor), actor, "forms.read")
    found = repository.get_version(uow.session, key, version, include_archived=include_archived)
    if found is None:
        raise NotFound("表单不存在、尚未发布或已停用")
    return Published(found, parse_form(found.document))


def check_answers(
    document: FormDocument,
    raw: Mapping[str, Sequence[str]] | None,
    *,
    prefilled: Mapping[str, str] | None = None,
    today: date | None = None,
) -> Evaluation:
    """The server's verdict on answers to a form (a published version, or a draft being previewed)."""
    return evaluate(
        document,
        raw,
        today=today or clock.today_in_china(),
        expressions=form_expressions(),
        prefilled=prefilled,
    )


class SaveFormEntry(Command):
    key: str = Field(max_length=60)
    kind: FormKind = FormKind.FORM
    organisation_id: int
    document: dict[str, Any]


def save_form_entry(uow: UnitOfWork, cmd: SaveFormEntry, actor: Actor) -> str:
    """A pack's form: created and published, republished when its document changed, else left alone.
    Returns "created", "updated" or "unchanged"; commits, like every use case."""
    division = _organisation_division(uow, cmd.organisation_id)
    uow.authorize(policies.can_design(actor, cmd.organisation_id, division), actor, "forms.save")
    document = _checked(cmd.document)
    draft = document.model_dump(mode="json", exclude_defaults=True)
    existing = repository.get_record_by_key(uow.session, cmd.key)
    if existing is None:
        existing = create_form(
            uow,
            CreateForm(key=cmd.key, kind=cmd.kind, organisation_id=cmd.organisation_id, title=document.title),
            actor,
        )
        outcome = "created"
    else:
        latest = repository.get_version(uow.session, cmd.key, None) if existing.latest_version else None
        if latest is not None and latest.document == draft:
            return "unchanged"
        outcome = "updated"
    saved = save_draft(uow, SaveDraft(form_id=existing.id, revision=existing.revision, document=draft), actor)
    publish_form(uow, PublishForm(form_id=saved.id, revision=saved.revision, note="参考包"), actor)
    return outcome
