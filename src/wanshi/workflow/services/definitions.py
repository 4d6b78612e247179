"""Designing and deploying process definitions.

A draft is saved with the revision its editor started from (no lost update, as with forms). Deploying
checks everything a running instance would otherwise trip over later — the BPMN parses, every script and
condition passes the sandbox's static check, every service task names a registered action with its
required inputs, every user task has candidates and names only published forms, every decision exists —
and freezes the draft as a new version. Running instances stay on the version they started with.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, replace
from importlib import resources
from typing import Any
from xml.sax.saxutils import escape

from pydantic import BaseModel, ConfigDict, Field
from SpiffWorkflow.bpmn.specs.defaults import ScriptTask, UserTask
from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition
from SpiffWorkflow.bpmn.specs.mixins.exclusive_gateway import ExclusiveGateway
from SpiffWorkflow.bpmn.specs.mixins.inclusive_gateway import InclusiveGateway

from wanshi.forms import api as forms
from wanshi.identity.api import ROLE_NAMES
from wanshi.infra.uow import UnitOfWork
from wanshi.kernel import clock as kclock
from wanshi.kernel.actor import SYSTEM, Actor, ActorKind, Role, data_bureau_divisions, provider_organisations
from wanshi.kernel.errors import Conflict, NotFound, ValidationFailed, WanshiError
from wanshi.org import api as org
from wanshi.workflow import policies, repository
from wanshi.workflow.actions import ActionRegistry
from wanshi.workflow.domain.clocks import PauseReason
from wanshi.workflow.domain.records import (
    Definition,
    DefinitionVersion,
    EventKind,
    HistoryEntry,
    definition_digest,
)
from wanshi.workflow.engine.layout import with_layout
from wanshi.workflow.engine.parser import decisions_in
from wanshi.workflow.engine.runtime import DefinitionInvalid, Deployed, parse_definition
from wanshi.workflow.engine.scripting import shared_sandbox
from wanshi.workflow.steps import event_row

KEY_PATTERN = r"^[a-z][a-z0-9_-]{2,59}$"
XML_MAX = 1_000_000
NOTE_MAX = 500
ROLE_CODES = frozenset(r.value for r in Role)


class Command(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class CreateDefinition(Command):
    key: str = Field(pattern=KEY_PATTERN, description="流程标识，小写字母开头")
    organisation_id: int
    name: str = Field(min_length=2, max_length=100)
    bpmn_xml: str = Field(default="", max_length=XML_MAX)
    dmn_xml: tuple[str, ...] = Field(default=(), max_length=20)


class SaveDefinition(Command):
    definition_id: int
    revision: int
    bpmn_xml: str = Field(min_length=1, max_length=XML_MAX)
    dmn_xml: tuple[str, ...] = Field(default=(), max_length=20)


class DeployDefinition(Command):
    definition_id: int
    revision: int
    note: str = Field(default="", max_length=NOTE_MAX)


@dataclass(frozen=True)
class DefinitionDetail:
    definition: Definition
    versions: list[DefinitionVersion]
    history: list[HistoryEntry]
    problems: list[str]


def _division(uow: UnitOfWork, organisation_id: int) -> str:
    try:
        return org.get_organisation(uow, organisation_id, SYSTEM).division_code
    except NotFound:
        raise ValidationFailed(
            "组织不存在", field="organisation_id", code="workflow_organisation_missing"
        ) from None


def _load(uow: UnitOfWork, definition_id: int) -> Definition:
    found = repository.get_definition(uow.session, definition_id)
    if found is None:
        raise NotFound("流程定义不存在")
    return found


def _scripts(parsed: Deployed) -> Iterator[tuple[str, str, str]]:
    """(step, source, mode) of every script, condition and timer expression, for the static check."""
    for spec in parsed.task_specs():
        step = spec.bpmn_name or spec.bpmn_id or spec.name
        if isinstance(spec, ScriptTask):
            yield step, spec.script or "", "exec"
        if isinstance(spec, (ExclusiveGateway, InclusiveGateway)):
            for condition, _ in getattr(spec, "cond_task_specs", []):
                expression = getattr(condition, "args", [None])[0]
                if isinstance(expression, str):
                    yield step, expression, "eval"
        definition = getattr(spec, "event_definition", None)
        if isinstance(definition, TimerEventDefinition) and definition.expression:
            yield step, definition.expression, "eval"
        for expression in (getattr(spec, "extensions", None) or {}).get("inputs", {}).values():
            yield step, expression, "eval"


def problems_of(uow: UnitOfWork, parsed: Deployed, actions: ActionRegistry) -> list[str]:
    """Everything in a parsed definition that would fail a running instance, in Chinese."""
    found: list[str] = []
    sandbox = shared_sandbox()
    for step, source, mode in _scripts(parsed):
        try:
            sandbox.check(source, mode)  # type: ignore[arg-type]
        except WanshiError as exc:
            found.append(f"“{step}”：{exc.message}")
    for spec in parsed.task_specs():
        ext = getattr(spec, "extensions", None) or {}
        step = spec.bpmn_name or spec.bpmn_id
        if type(spec).__name__ == "PlatformServiceTask":
            try:
                action = actions.get(str(ext.get("action", "")))
            except ValidationFailed:
                found.append(f"“{step}”：未指定平台动作或平台动作“{ext.get('action', '')}”不存在")
                continue
            missing = action.missing(set(ext.get("inputs", {})))
            if missing:
                found.append(f"“{step}”：平台动作“{action.label}”缺少输入 {'、'.join(missing)}")
        if isinstance(spec, UserTask):
            unknown = [r for r in ext.get("roles", ()) if r not in ROLE_CODES]
            if unknown:
                found.append(f"“{step}”：候选角色不存在：{'、'.join(unknown)}")
            if ext.get("pause") and ext["pause"] not in {p.value for p in PauseReason}:
                found.append(f"“{step}”：暂停计时的原因“{ext['pause']}”不存在")
            form_key = ext.get("form")
            if form_key:
                try:
                    forms.published_form(uow, str(form_key), SYSTEM)
                except NotFound:
                    found.append(f"“{step}”：表单“{form_key}”不存在或尚未发布")
    return found


def create_definition(uow: UnitOfWork, cmd: CreateDefinition, actor: Actor) -> Definition:
    division = _division(uow, cmd.organisation_id)
    uow.authorize(
        policies.can_design(actor, cmd.organisation_id, division), actor, "workflow.definition.create"
    )
    if repository.get_definition_by_key(uow.session, cmd.key) is not None:
        raise Conflict(f"流程标识“{cmd.key}”已被使用", field="key", code="workflow_key_taken")
    # Prefixed, so that no key can collide with the starter's element ids (start, review, end).
    process = f"Process_{cmd.key.replace('-', '_')}"
    starter = (resources.files("wanshi.workflow") / "starter.bpmn").read_text(encoding="utf-8")
    bpmn = (
        with_layout(cmd.bpmn_xml)
        if cmd.bpmn_xml
        else starter.format(key=process, process=process, name=escape(cmd.name))
    )
    parse_definition(bpmn, cmd.dmn_xml)
    now = kclock.now()
    new = Definition(
        0,
        cmd.key,
        cmd.organisation_id,
        division,
        cmd.name,
        bpmn,
        cmd.dmn_xml,
        1,
        None,
        True,
        actor.label,
        now,
    )
    created = replace(new, id=repository.add_definition(uow.session, new, actor.label))
    repository.add_events(
        uow.session, [event_row(EventKind.DEFINITION_CREATED, actor, division, definition_id=created.id)]
    )
    uow.audit(
        actor,
        "workflow.definition.create",
        object_type="workflow_definition",
        object_id=created.id,
        tenant=division,
    )
    uow.commit()
    return created


def save_definition(uow: UnitOfWork, cmd: SaveDefinition, actor: Actor) -> Definition:
    before = _load(uow, cmd.definition_id)
    uow.authorize(
        policies.can_design(actor, before.organisation_id, before.division_code),
        actor,
        "workflow.definition.save",
        object_type="workflow_definition",
        object_id=before.id,
    )
    parsed = parse_definition(cmd.bpmn_xml, cmd.dmn_xml)
    after = replace(
        before,
        name=parsed.name[:100] if parsed.name != parsed.process_id else before.name,
        draft_bpmn=with_layout(cmd.bpmn_xml),
        draft_dmn=cmd.dmn_xml,
        revision=before.revision + 1,
        draft_changed=True,
        updated_by=actor.label,
        updated_at=kclock.now(),
    )
    _write(uow, before, after, cmd.revision)
    repository.add_events(
        uow.session,
        [
            event_row(
                EventKind.DEFINITION_SAVED,
                actor,
                after.division_code,
                definition_id=after.id,
                detail={"revision": after.revision},
            )
        ],
    )
    uow.audit(
        actor,
        "workflow.definition.save",
        object_type="workflow_definition",
        object_id=after.id,
        tenant=after.division_code,
    )
    uow.commit()
    return after


def _write(uow: UnitOfWork, before: Definition, after: Definition, expected: int) -> None:
    if expected != before.revision or not repository.save_definition(
        uow.session, after, expected_revision=expected
    ):
        current = repository.get_definition(uow.session, before.id) or before
        raise Conflict(
            f"流程已被{current.updated_by}修改（第{current.revision}次保存），您的修改未保存，请查看最新内容后再编辑",
            code="workflow_definition_changed",
            revision=current.revision,
        )


def deploy_definition(
    uow: UnitOfWork, cmd: DeployDefinition, actions: ActionRegistry, actor: Actor
) -> DefinitionVersion:
    before = _load(uow, cmd.definition_id)
    uow.authorize(
        policies.can_design(actor, before.organisation_id, before.division_code),
        actor,
        "workflow.definition.deploy",
        object_type="workflow_definition",
        object_id=before.id,
    )
    if not before.draft_changed:
        raise ValidationFailed("草稿与已部署的版本相同，无需再次部署", code="workflow_unchanged")
    parsed = parse_definition(before.draft_bpmn, before.draft_dmn)
    problems = problems_of(uow, parsed, actions)
    if problems:
        raise DefinitionInvalid("流程不能部署：" + "；".join(problems), problems=problems)
    now = kclock.now()
    number = (before.latest_version or 0) + 1
    after = replace(
        before,
        revision=before.revision + 1,
        latest_version=number,
        draft_changed=False,
        updated_by=actor.label,
        updated_at=now,
    )
    _write(uow, before, after, cmd.revision)
    new = DefinitionVersion(
        0,
        before.id,
        before.key,
        number,
        parsed.process_id,
        before.name,
        before.draft_bpmn,
        before.draft_dmn,
        cmd.note.strip(),
        actor.label,
        now,
        definition_digest(before.draft_bpmn, before.draft_dmn),
    )
    deployed_version = replace(new, id=repository.add_version(uow.session, new, before.division_code))
    repository.add_events(
        uow.session,
        [
            event_row(
                EventKind.DEFINITION_DEPLOYED,
                actor,
                before.division_code,
                definition_id=before.id,
                detail={"version": number},
            )
        ],
    )
    uow.audit(
        actor,
        "workflow.definition.deploy",
        object_type="workflow_definition",
        object_id=before.id,
        tenant=before.division_code,
        detail={"version": number},
    )
    uow.commit()
    return deployed_version


def get_definition(
    uow: UnitOfWork, definition_id: int, actions: ActionRegistry, actor: Actor
) -> DefinitionDetail:
    found = _load(uow, definition_id)
    uow.authorize(
        policies.can_design(actor, found.organisation_id, found.division_code),
        actor,
        "workflow.definition.view",
        object_type="workflow_definition",
        object_id=found.id,
    )
    try:
        problems = problems_of(uow, parse_definition(found.draft_bpmn, found.draft_dmn), actions)
    except DefinitionInvalid as exc:
        problems = [exc.message]
    return DefinitionDetail(
        found,
        repository.list_versions(uow.session, found.id),
        repository.history(uow.session, definition_id=found.id),
        problems,
    )


def list_definitions(uow: UnitOfWork, actor: Actor) -> list[Definition]:
    uow.authorize(policies.can_list_definitions(actor), actor, "workflow.definition.list")
    if actor.kind is ActorKind.SYSTEM:
        return repository.list_definitions(uow.session, None)
    own = set(provider_organisations(actor))
    for division in data_bureau_divisions(actor):
        listed, _ = org.list_organisations(
            uow, org.OrganisationQuery(division_code=division, limit=500), SYSTEM
        )
        own.update(o.id for o in listed)
    return repository.list_definitions(uow.session, frozenset(own))


def palette(
    uow: UnitOfWork, actions: ActionRegistry, organisation_id: int, dmn_xml: tuple[str, ...], actor: Actor
) -> dict[str, Any]:
    """What the modeler offers in its panel: roles, organisations, actions, published forms, decisions."""
    uow.authorize(policies.can_list_definitions(actor), actor, "workflow.palette")

    organisation = org.get_organisation(uow, organisation_id, SYSTEM)
    province = f"{organisation.division_code[:2]}0000"
    listed, _ = org.list_organisations(uow, org.OrganisationQuery(division_code=province, limit=500), SYSTEM)
    published, _ = forms.list_forms(
        uow, forms.ListForms(kinds=(forms.FormKind.FORM,), with_shared=True, page_size=200), SYSTEM
    )
    return {
        "roles": [{"code": r.value, "name": ROLE_NAMES.get(r, r.value)} for r in Role],
        "orgs": [{"code": o.code, "name": o.name} for o in listed if o.code],
        "actions": [
            {
                "name": a.name,
                "label": a.label,
                "description": a.description,
                "inputs": [{"name": i.name, "label": i.label, "required": i.required} for i in a.inputs],
            }
            for a in actions.specs.values()
        ],
        "forms": [{"key": f.key, "title": f.title} for f in published if f.latest_version],
        "pauses": [{"code": p.value, "name": p.label} for p in PauseReason],
        "decisions": [{"id": d, "name": n} for xml in dmn_xml for d, n in decisions_in(xml)],
    }


class SaveProcessEntry(Command):
    key: str = Field(pattern=KEY_PATTERN)
    organisation_id: int
    name: str = Field(min_length=2, max_length=100)
    bpmn_xml: str = Field(min_length=1, max_length=XML_MAX)
    dmn_xml: tuple[str, ...] = Field(default=(), max_length=20)


def save_process_entry(uow: UnitOfWork, cmd: SaveProcessEntry, actions: ActionRegistry, actor: Actor) -> str:
    """A pack's process: created and deployed, deployed again when its documents changed, else left alone.
    Returns "created", "updated" or "unchanged"; each step commits like the use cases it calls."""
    division = _division(uow, cmd.organisation_id)
    uow.authorize(
        policies.can_design(actor, cmd.organisation_id, division), actor, "workflow.definition.save"
    )
    existing = repository.get_definition_by_key(uow.session, cmd.key)
    if existing is None:
        existing = create_definition(
            uow,
            CreateDefinition(
                key=cmd.key,
                organisation_id=cmd.organisation_id,
                name=cmd.name,
                bpmn_xml=cmd.bpmn_xml,
                dmn_xml=cmd.dmn_xml,
            ),
            actor,
        )
        outcome = "created"
    else:
        latest = repository.find_version(uow.session, cmd.key, None)
        if latest is not None and latest.digest == definition_digest(with_layout(cmd.bpmn_xml), cmd.dmn_xml):
            return "unchanged"
        existing = save_definition(
            uow,
            SaveDefinition(
                definition_id=existing.id,
                revision=existing.revision,
                bpmn_xml=cmd.bpmn_xml,
                dmn_xml=cmd.dmn_xml,
            ),
            actor,
        )
        outcome = "updated"
    deploy_definition(
        uow,
        DeployDefinition(definition_id=existing.id, revision=existing.revision, note="参考包"),
        actions,
        actor,
    )
    return outcome
