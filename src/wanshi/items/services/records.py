"""Keeping the catalogue: propose basic entries, claim them as implementation entries, compile bundles, edit,
submit, review, start versions and withdraw. Each use case authorises, loads, acts, writes its history row
and audit entry in the same transaction, and commits.

同一事项无差别受理、同标准办理: an implementation entry is checked against its basic entry's published version
whenever it is saved and again when it is published; when the province publishes a changed basic entry,
every published implementation that no longer conforms gets a new draft with the province's elements laid
over it (``province_changed`` in its history), to be reviewed like any other change.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from wanshi.infra.uow import UnitOfWork
from wanshi.items import policies, repository
from wanshi.items.domain.codes import ImplementationCode, check_basic_code, check_bundle_code
from wanshi.items.domain.documents import (
    BasicDocument,
    BundleDocument,
    ImplementationDocument,
    RecordKind,
    parse_document,
)
from wanshi.items.domain.elements import parse_elements
from wanshi.items.domain.locks import Adjust, adjust_rules, breaches, check_local, derive
from wanshi.items.domain.records import (
    EventKind,
    HistoryEntry,
    Record,
    RecordState,
    TransitionRefused,
    Version,
    VersionStatus,
)
from wanshi.items.events import ItemPublished, ItemWithdrawn
from wanshi.items.repository import Columns
from wanshi.kernel import clock
from wanshi.kernel.actor import Actor, ActorKind
from wanshi.kernel.errors import Conflict, NotFound, ValidationFailed
from wanshi.org import api as org

REASON_MIN = 2
_NAMES = Actor(kind=ActorKind.SYSTEM, username="items")


class Command(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class ProposeBasic(Command):
    code: str
    department_id: int
    document: dict[str, Any]


class ClaimItem(Command):
    """认领: an implementing body takes a published basic entry into its list, with its own particulars."""

    basic_code: str
    organisation_id: int
    body_code: str
    body_nature: str = "statutory"
    handling_no: int = 1
    business_no: int = 0
    business_name: str = ""
    changes: dict[str, Any] = Field(default_factory=dict)


class CompileBundle(Command):
    code: str
    division_code: str
    organisation_id: int
    document: dict[str, Any]


class EditVersion(Command):
    record_id: int
    lock: int
    document: dict[str, Any]


class Transition(Command):
    record_id: int
    lock: int
    note: str = ""


class Review(Command):
    record_id: int
    lock: int
    publish: bool
    note: str = ""


# --- loading and saving -----------------------------------------------------------------------------------
def _load(uow: UnitOfWork, record_id: int, actor: Actor) -> Record:
    found = repository.get_record(uow.session, record_id, for_update=True)
    if found is None or not policies.can_view(
        actor, found.organisation_id, found.division_code, found.published_version is not None
    ):
        raise NotFound("事项不存在")
    return found


def _fresh(r: Record, lock: int) -> None:
    if r.lock != lock:
        raise Conflict("事项已被他人修改，请刷新后重试", code="item_changed")


def _authorize(uow: UnitOfWork, allowed: bool, actor: Actor, action: str, r: Record | None) -> None:
    uow.authorize(
        allowed, actor, f"items.record.{action}", object_type="item_record", object_id=r.id if r else ""
    )


def _province(uow: UnitOfWork, department_id: int) -> org.Organisation:
    department = org.get_organisation(uow, department_id, _NAMES)
    if len(department.division_code) != 6 or not department.division_code.endswith("0000"):
        raise ValidationFailed("基本目录事项须由省级部门负责", code="item_department_not_provincial")
    return department


def _version(uow: UnitOfWork, r: Record, number: int | None) -> Version:
    found = repository.get_version(uow.session, r.id, number) if number is not None else None
    if found is None:
        raise Conflict("事项没有可操作的版本，请先新建版本", code="item_no_working_version")
    return found


def _columns(kind: RecordKind, document: dict[str, Any]) -> Columns:
    if kind is RecordKind.BUNDLE:
        return Columns(name=str(document["name"]), audience=str(document["audience"]))
    e = document["elements"]
    return Columns(name=str(e["name"]), item_type=str(e["item_type"]), audience=",".join(e["audience"]))


def _shown(uow: UnitOfWork, r: Record, changed: Version | None = None) -> dict[str, Any]:
    number = r.published_version if r.published_version is not None else r.working_version
    if changed is not None and changed.number == number:
        return changed.document
    return _version(uow, r, number).document


def _save(uow: UnitOfWork, changed: Record, shown: dict[str, Any]) -> Record:
    if not repository.save_record(uow.session, changed, _columns(changed.kind, shown)):
        raise Conflict("事项已被他人修改，请刷新后重试", code="item_changed")
    return replace(changed, lock=changed.lock + 1)


def _follow(uow: UnitOfWork, before: Record, changed: Version) -> Record:
    shown = (
        _shown(uow, before, changed) if changed.status is not VersionStatus.PUBLISHED else changed.document
    )
    moved = before.follow(changed, _columns(before.kind, shown).name, changed.updated_at)
    return _save(uow, moved, shown)


def _history(
    uow: UnitOfWork,
    kind: EventKind,
    before: Record | None,
    after: Record,
    version_number: int | None,
    actor: Actor,
    *,
    note: str = "",
    detail: dict[str, Any] | None = None,
) -> None:
    """History row and audit entry of one change, in the change's transaction."""
    entry = HistoryEntry(
        id=0,
        record_id=after.id,
        version_number=version_number,
        kind=kind,
        from_state=before.state.value if before is not None else "",
        to_state=after.state.value,
        actor=actor.label,
        note=note,
        detail=detail or {},
        occurred_at=after.updated_at,
    )
    repository.add_history(uow.session, entry, after.division_code, actor.kind.value, actor.user_id)
    uow.audit(
        actor,
        f"items.record.{kind.value}",
        object_type="item_record",
        object_id=after.id,
        tenant=after.division_code,
        detail={"kind": after.kind.value, "code": after.code, "version": version_number, **(detail or {})},
    )


def _reason(text: str, what: str) -> str:
    text = text.strip()
    if len(text) < REASON_MIN:
        raise ValidationFailed(f"请填写{what}（至少 {REASON_MIN} 个字）", code="item_reason_required")
    return text


# --- validating documents ---------------------------------------------------------------------------------
def _published_basic(uow: UnitOfWork, basic_code: str) -> tuple[Record, BasicDocument]:
    r = repository.find_by_code(uow.session, basic_code)
    if r is None or r.kind is not RecordKind.BASIC or r.published_version is None:
        raise ValidationFailed(
            f"基本目录中没有已发布的事项 {basic_code}", code="item_basic_not_published", basic_code=basic_code
        )
    if r.state is RecordState.WITHDRAWN:
        raise ValidationFailed(f"基本目录事项 {basic_code} 已取消", code="item_basic_withdrawn")
    doc = BasicDocument.model_validate(_version(uow, r, r.published_version).document)
    return r, doc


def _checked(uow: UnitOfWork, r: Record, data: dict[str, Any]) -> dict[str, Any]:
    """The document in its normal JSON form, after every rule of its kind."""
    document = parse_document(r.kind, data)
    if isinstance(document, BasicDocument):
        adjust_rules(document.adjust)
    elif isinstance(document, ImplementationDocument):
        _, basic = _published_basic(uow, r.basic_code)
        check_local(basic.elements, document.elements, adjust_rules(basic.adjust))
    elif isinstance(document, BundleDocument):
        _check_bundle(uow, document)
    return document.model_dump(mode="json")


def _check_bundle(uow: UnitOfWork, bundle: BundleDocument) -> None:
    for part in bundle.parts:
        _, basic = _published_basic(uow, part.basic_code)
        if bundle.audience not in basic.elements.audience:
            raise ValidationFailed(
                f"事项“{basic.elements.name}”不面向{bundle.audience.label}，不能放入此一件事",
                code="bundle_audience_mismatch",
            )


# --- creating records -------------------------------------------------------------------------------------
def _create(
    uow: UnitOfWork, template: Record, document: dict[str, Any], actor: Actor, note: str = ""
) -> Record:
    if repository.find_by_code(uow.session, template.code) is not None:
        raise Conflict(f"编码 {template.code} 已被使用", code="item_code_taken")
    now = template.created_at
    record_id = repository.add_record(uow.session, template, _columns(template.kind, document))
    created = replace(template, id=record_id)
    first = Version(record_id, 1, VersionStatus.DRAFT, document, actor.label, now, now)
    repository.add_version(uow.session, first, created.division_code)
    _history(uow, EventKind.CREATED, None, created, 1, actor, note=note)
    return created


def _template(
    kind: RecordKind, code: str, basic_code: str, organisation_id: int, division_code: str, actor: Actor
) -> Record:
    now = clock.now()
    return Record(
        id=0,
        kind=kind,
        code=code,
        basic_code=basic_code,
        organisation_id=organisation_id,
        division_code=division_code,
        state=RecordState.DRAFT,
        published_version=None,
        working_version=1,
        name="",
        created_by=actor.label,
        created_at=now,
        updated_at=now,
    )


def _propose_basic(uow: UnitOfWork, cmd: ProposeBasic, actor: Actor) -> Record:
    department = _province(uow, cmd.department_id)
    _authorize(
        uow,
        policies.can_propose_basic(actor, department.id, department.division_code),
        actor,
        "propose",
        None,
    )
    code = check_basic_code(cmd.code)
    template = _template(RecordKind.BASIC, code, code, department.id, department.division_code, actor)
    document = parse_document(RecordKind.BASIC, cmd.document)
    assert isinstance(document, BasicDocument)
    adjust_rules(document.adjust)
    created = _create(uow, template, document.model_dump(mode="json"), actor)
    return created


def propose_basic(uow: UnitOfWork, cmd: ProposeBasic, actor: Actor) -> Record:
    done = _propose_basic(uow, cmd, actor)
    uow.commit()
    return done


def _claim_item(uow: UnitOfWork, cmd: ClaimItem, actor: Actor) -> Record:
    body = org.get_organisation(uow, cmd.organisation_id, _NAMES)
    _authorize(uow, policies.can_claim(actor, body.id, body.division_code), actor, "claim", None)
    basic_record, basic = _published_basic(uow, check_basic_code(cmd.basic_code))
    document = parse_document(
        RecordKind.IMPLEMENTATION,
        {
            "elements": derive(basic.elements, cmd.changes),
            "body_code": cmd.body_code,
            "body_nature": cmd.body_nature,
            "handling_no": cmd.handling_no,
            "business_no": cmd.business_no,
            "business_name": cmd.business_name,
        },
    )
    assert isinstance(document, ImplementationDocument)
    check_local(basic.elements, document.elements, adjust_rules(basic.adjust))
    code = str(
        ImplementationCode(
            basic_record.code,
            body.division_code,
            document.body_code,
            document.handling_no,
            document.business_no,
        )
    )
    template = _template(
        RecordKind.IMPLEMENTATION, code, basic_record.code, body.id, body.division_code, actor
    )
    created = _create(uow, template, document.model_dump(mode="json"), actor)
    return created


def claim_item(uow: UnitOfWork, cmd: ClaimItem, actor: Actor) -> Record:
    done = _claim_item(uow, cmd, actor)
    uow.commit()
    return done


def _compile_bundle(uow: UnitOfWork, cmd: CompileBundle, actor: Actor) -> Record:
    division = org.get_division(uow, cmd.division_code)
    _authorize(uow, policies.can_compile_bundle(actor, division.code), actor, "compile", None)
    bureau = org.get_organisation(uow, cmd.organisation_id, _NAMES)
    code = check_bundle_code(cmd.code)
    template = _template(RecordKind.BUNDLE, code, "", bureau.id, division.code, actor)
    document = parse_document(RecordKind.BUNDLE, cmd.document)
    assert isinstance(document, BundleDocument)
    _check_bundle(uow, document)
    created = _create(uow, template, document.model_dump(mode="json"), actor)
    return created


def compile_bundle(uow: UnitOfWork, cmd: CompileBundle, actor: Actor) -> Record:
    done = _compile_bundle(uow, cmd, actor)
    uow.commit()
    return done


# --- changing records -------------------------------------------------------------------------------------
def _edit_version(uow: UnitOfWork, cmd: EditVersion, actor: Actor) -> Record:
    before = _load(uow, cmd.record_id, actor)
    _authorize(
        uow, policies.can_edit(actor, before.organisation_id, before.division_code), actor, "edit", before
    )
    _fresh(before, cmd.lock)
    working = _version(uow, before, before.working_version)
    document = _checked(uow, before, cmd.document)
    if document == working.document:
        return before
    changed = working.edited(document, clock.now())
    repository.save_version(uow.session, changed)
    after = _follow(uow, before, changed)
    _history(uow, EventKind.EDITED, before, after, changed.number, actor)
    return after


def edit_version(uow: UnitOfWork, cmd: EditVersion, actor: Actor) -> Record:
    done = _edit_version(uow, cmd, actor)
    uow.commit()
    return done


def _submit_version(uow: UnitOfWork, cmd: Transition, actor: Actor) -> Record:
    before = _load(uow, cmd.record_id, actor)
    _authorize(
        uow, policies.can_edit(actor, before.organisation_id, before.division_code), actor, "submit", before
    )
    _fresh(before, cmd.lock)
    working = _version(uow, before, before.working_version)
    _checked(uow, before, working.document)
    changed = working.submitted(clock.now())
    repository.save_version(uow.session, changed)
    after = _follow(uow, before, changed)
    _history(uow, EventKind.SUBMITTED, before, after, changed.number, actor, note=cmd.note.strip())
    return after


def submit_version(uow: UnitOfWork, cmd: Transition, actor: Actor) -> Record:
    done = _submit_version(uow, cmd, actor)
    uow.commit()
    return done


def _review_version(uow: UnitOfWork, cmd: Review, actor: Actor) -> Record:
    before = _load(uow, cmd.record_id, actor)
    _authorize(uow, policies.can_review(actor, before.division_code), actor, "review", before)
    _fresh(before, cmd.lock)
    working = _version(uow, before, before.working_version)
    note = cmd.note.strip() if cmd.publish else _reason(cmd.note, "退回原因")
    if cmd.publish:
        _checked(uow, before, working.document)
    now = clock.now()
    changed = working.reviewed(cmd.publish, actor.label, note, now)
    repository.save_version(uow.session, changed)
    if cmd.publish and before.published_version is not None:
        repository.save_version(uow.session, _version(uow, before, before.published_version).superseded(now))
    after = _follow(uow, before, changed)
    kind = EventKind.PUBLISHED if cmd.publish else EventKind.RETURNED
    _history(uow, kind, before, after, changed.number, actor, note=note)
    if cmd.publish:
        _announce(uow, after, changed.number, ItemPublished)
        if after.kind is RecordKind.BASIC:
            _follow_province(uow, after, BasicDocument.model_validate(changed.document), actor)
    return after


def review_version(uow: UnitOfWork, cmd: Review, actor: Actor) -> Record:
    done = _review_version(uow, cmd, actor)
    uow.commit()
    return done


def _announce(
    uow: UnitOfWork, r: Record, number: int, event: type[ItemPublished] | type[ItemWithdrawn]
) -> None:
    uow.emit(
        event(
            record_id=r.id,
            kind=r.kind.value,
            code=r.code,
            division_code=r.division_code,
            version_number=number,
        )
    )


def _follow_province(uow: UnitOfWork, basic_record: Record, basic: BasicDocument, actor: Actor) -> None:
    """Implementation entries that no longer conform get a draft with the province's elements."""
    rules = adjust_rules(basic.adjust)
    for found_record in repository.implementations_of(uow.session, basic_record.code):
        if found_record.state is not RecordState.WITHDRAWN:
            _conform(uow, found_record, basic, rules, actor)


def _conform(
    uow: UnitOfWork, r: Record, basic: BasicDocument, rules: dict[str, Adjust], actor: Actor
) -> None:
    number = r.working_version if r.working_version is not None else r.published_version
    current = _version(uow, r, number)
    doc = ImplementationDocument.model_validate(current.document)
    found = [b.element for b in breaches(basic.elements, doc.elements, rules)]
    if not found:
        return
    province = basic.elements.model_dump(mode="json")
    elements = {**doc.elements.model_dump(mode="json"), **{key: province[key] for key in found}}
    document = {**doc.model_dump(mode="json"), "elements": parse_elements(elements).model_dump(mode="json")}
    now = clock.now()
    before = r
    if r.working_version is not None:
        # A submitted draft goes back to draft: its review starts again on the conformed elements.
        changed = replace(current, status=VersionStatus.DRAFT).edited(document, now)
        repository.save_version(uow.session, changed)
    else:
        r, number = r.start_version(now)
        changed = Version(r.id, number, VersionStatus.DRAFT, document, actor.label, now, now)
        repository.add_version(uow.session, changed, r.division_code)
    after = _follow(uow, r, changed)
    _history(
        uow,
        EventKind.PROVINCE_CHANGED,
        before,
        after,
        changed.number,
        actor,
        detail={"elements": found, "basic_code": r.basic_code},
    )


def _start_version(uow: UnitOfWork, cmd: Transition, actor: Actor) -> Record:
    before = _load(uow, cmd.record_id, actor)
    _authorize(
        uow,
        policies.can_edit(actor, before.organisation_id, before.division_code),
        actor,
        "start_version",
        before,
    )
    _fresh(before, cmd.lock)
    now = clock.now()
    moved, number = before.start_version(now)
    published = _version(uow, before, before.published_version)
    repository.add_version(
        uow.session,
        Version(before.id, number, VersionStatus.DRAFT, published.document, actor.label, now, now),
        before.division_code,
    )
    after = _save(uow, moved, published.document)
    _history(uow, EventKind.VERSION_STARTED, before, after, number, actor, note=cmd.note.strip())
    return after


def start_version(uow: UnitOfWork, cmd: Transition, actor: Actor) -> Record:
    done = _start_version(uow, cmd, actor)
    uow.commit()
    return done


def withdraw_record(uow: UnitOfWork, cmd: Transition, actor: Actor) -> Record:
    before = _load(uow, cmd.record_id, actor)
    _authorize(uow, policies.can_withdraw(actor, before.division_code), actor, "withdraw", before)
    _fresh(before, cmd.lock)
    reason = _reason(cmd.note, "取消原因")
    if before.kind is RecordKind.BASIC:
        live = [
            r.code
            for r in repository.implementations_of(uow.session, before.code)
            if r.state is not RecordState.WITHDRAWN
        ]
        if live:
            raise Conflict(
                f"仍有 {len(live)} 个实施清单事项引用此基本目录事项，请先取消它们",
                code="item_still_implemented",
                codes=live[:20],
            )
    after = _save(uow, before.withdrawn(reason, clock.now()), _shown(uow, before))
    _history(uow, EventKind.WITHDRAWN, before, after, before.published_version, actor, note=reason)
    _announce(uow, after, before.published_version or 0, ItemWithdrawn)
    uow.commit()
    return after


# --- one entry from a pack, a sheet or a JSON file ----------------------------------------------------------
class SaveEntry(Command):
    """An entry as a whole document: created, or laid over the record's working version (a new version when
    only a published one exists); published too when ``publish`` (the pack loader; a reviewer's import)."""

    kind: RecordKind
    organisation_id: int
    document: dict[str, Any]
    code: str = ""  # basic and bundle codes; an implementation's code follows from its document
    basic_code: str = ""  # an implementation's
    division_code: str = ""  # a bundle's
    publish: bool = False


def entry_code(cmd: SaveEntry, division_code: str) -> str:
    if cmd.kind is RecordKind.BASIC:
        return check_basic_code(cmd.code)
    if cmd.kind is RecordKind.BUNDLE:
        return check_bundle_code(cmd.code)
    doc = parse_document(RecordKind.IMPLEMENTATION, cmd.document)
    assert isinstance(doc, ImplementationDocument)
    basic = check_basic_code(cmd.basic_code)
    return str(ImplementationCode(basic, division_code, doc.body_code, doc.handling_no, doc.business_no))


def save_entry(uow: UnitOfWork, cmd: SaveEntry, actor: Actor) -> str:
    """'created', 'updated' or 'unchanged', in one transaction. A withdrawn record stays withdrawn (取消 is
    final)."""
    outcome = apply_entry(uow, cmd, actor)
    uow.commit()
    return outcome


def apply_entry(uow: UnitOfWork, cmd: SaveEntry, actor: Actor) -> str:
    """``save_entry`` without the commit: for a caller that applies many entries in one transaction (an
    import, all or nothing) and commits or rolls back itself."""
    body = org.get_organisation(uow, cmd.organisation_id, _NAMES)
    _authorize(uow, policies.can_edit(actor, body.id, body.division_code), actor, "save", None)
    code = entry_code(cmd, body.division_code)
    existing = repository.find_by_code(uow.session, code)
    if existing is None:
        created = _create_entry(uow, cmd, code, actor)
        if cmd.publish:
            _submit_and_publish(uow, created.id, actor)
        return "created"
    if existing.organisation_id != body.id:
        raise Conflict(
            f"编码 {code} 已属于另一组织，不能改由{body.name}维护", code="item_organisation_differs"
        )
    if existing.state is RecordState.WITHDRAWN:
        return "unchanged"
    document = _checked(uow, existing, cmd.document)
    if existing.working_version is None:
        if _version(uow, existing, existing.published_version).document == document:
            return "unchanged"
        existing = _start_version(uow, Transition(record_id=existing.id, lock=existing.lock), actor)
    working = _version(uow, existing, existing.working_version)
    if working.status is VersionStatus.SUBMITTED:
        if working.document == document and not cmd.publish:
            return "unchanged"
        if working.document != document:
            raise TransitionRefused(
                "该事项的新版本正在审核，请待审核后再导入修改", status=working.status.value
            )
    else:
        edited = _edit_version(
            uow, EditVersion(record_id=existing.id, lock=existing.lock, document=document), actor
        )
        if edited.lock == existing.lock and not cmd.publish:
            return "unchanged"
    if cmd.publish:
        _submit_and_publish(uow, existing.id, actor)
    return "updated"


def _create_entry(uow: UnitOfWork, cmd: SaveEntry, code: str, actor: Actor) -> Record:
    if cmd.kind is RecordKind.BASIC:
        return _propose_basic(
            uow, ProposeBasic(code=code, department_id=cmd.organisation_id, document=cmd.document), actor
        )
    if cmd.kind is RecordKind.BUNDLE:
        return _compile_bundle(
            uow,
            CompileBundle(
                code=code,
                division_code=cmd.division_code,
                organisation_id=cmd.organisation_id,
                document=cmd.document,
            ),
            actor,
        )
    doc = parse_document(RecordKind.IMPLEMENTATION, cmd.document)
    assert isinstance(doc, ImplementationDocument)
    claim = ClaimItem(
        basic_code=cmd.basic_code,
        organisation_id=cmd.organisation_id,
        body_code=doc.body_code,
        body_nature=doc.body_nature.value,
        handling_no=doc.handling_no,
        business_no=doc.business_no,
        business_name=doc.business_name,
        changes=doc.elements.model_dump(mode="json"),
    )
    return _claim_item(uow, claim, actor)


def _submit_and_publish(uow: UnitOfWork, record_id: int, actor: Actor) -> None:
    current = repository.get_record(uow.session, record_id)
    assert current is not None
    working = _version(uow, current, current.working_version)
    if working.status is not VersionStatus.SUBMITTED:
        current = _submit_version(uow, Transition(record_id=record_id, lock=current.lock), actor)
    _review_version(uow, Review(record_id=record_id, lock=current.lock, publish=True), actor)


def published_basic(uow: UnitOfWork, basic_code: str, actor: Actor) -> BasicDocument:
    """The province's published entry of an item (public): what a local list is derived from."""
    _authorize(uow, policies.can_read_published(actor), actor, "read_basic", None)
    return _published_basic(uow, check_basic_code(basic_code))[1]
