"""Quality-operations use cases: rule sets per resource, runs, tickets from failures, consistency, dashboard.

A run reads the catalogue (the resource's mounted dataset, its provider and update cycle), ingest (the
newest completed load of the dataset, for timeliness) and org (the current division codes, the
``division`` code table), runs the engine over the analytical store outside any database transaction,
then writes the run and its rule results in one transaction with an audit entry.

Tickets follow in a second step (``_sync_tickets``) that is safe to repeat: each (resource, rule) link
remembers the last run it has seen, so a retried job or a crash between the steps never opens a second
ticket nor comments twice. The tickets context's use cases commit themselves; each link update is made in
the same unit of work just before, so it commits with the ticket change it records.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from dataclasses import dataclass, replace
from datetime import timedelta
from statistics import fmean

from pydantic import BaseModel, ConfigDict, Field

from wanshi.config import Settings
from wanshi.datahub.catalogue import api as catalogue
from wanshi.datahub.ingest import api as ingest
from wanshi.datahub.quality import consistency, policies, repository
from wanshi.datahub.quality.domain import (
    CYCLE_AGE,
    DEFAULT_TICKET_DAYS,
    RULES_TEXT_MAX,
    TICKET_CATEGORY,
    TICKET_SOURCE_TYPE,
    Point,
    RuleOutcome,
    Run,
    RunKind,
    RunNotFound,
    Series,
    StoredRuleSet,
    TicketAction,
    TicketLink,
    Trigger,
    mask_key,
    passed_note,
    still_failing_note,
    ticket_source_id,
    ticket_step,
    ticket_text,
    ticket_title,
)
from wanshi.datahub.quality.engine import DatasetMetadata, RuleResult, check_quality
from wanshi.datahub.quality.rules import CodeTableRule, RuleSet, load_rules
from wanshi.datahub.store import ParquetDuckDBStore
from wanshi.infra.files import FileStore
from wanshi.infra.jobs import JobContext, JobRegistry
from wanshi.infra.uow import UnitOfWork
from wanshi.kernel import clock
from wanshi.kernel.actor import Actor, ActorKind, provider_organisations
from wanshi.kernel.errors import NotFound, ValidationFailed, WanshiError
from wanshi.org import api as org
from wanshi.tickets import api as tickets

log = logging.getLogger(__name__)

SWEEP_JOB = "quality.sweep_loads"
SWEEP_SCHEDULE = "quality.sweep"
TICKET_TITLE_MAX = 200
BY_RULE_TOP = 15
RECENT_RUNS = 20
LOAD_LOOKBACK = 20

# Catalogue and organisation look-ups made on the platform's behalf: the caller was authorised by our rules.
_SEE_ALL = Actor(kind=ActorKind.SYSTEM, username="quality")
# Who raises, comments and closes quality tickets: the check itself, not the person who started it.
CHECKER = Actor(kind=ActorKind.SYSTEM, username="quality", display_name="数据质量检查")


class Command(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", str_strip_whitespace=True)


class SaveRuleSet(Command):
    resource_id: int
    text: str = Field(max_length=RULES_TEXT_MAX)


class RunQualityCheck(Command):
    resource_code: str = Field(max_length=40)
    trigger: Trigger = Trigger.CONSOLE


class CheckConsistency(Command):
    config_text: str = Field(max_length=RULES_TEXT_MAX)
    trigger: Trigger = Trigger.CONSOLE


class RunQuery(Command):
    resource_id: int | None = None
    organisation_id: int | None = None
    kind: RunKind | None = None
    limit: int = Field(default=50, ge=1, le=200)
    offset: int = Field(default=0, ge=0)


class DashboardQuery(Command):
    days: int = Field(default=30, ge=1, le=366)
    organisation_id: int | None = None
    resource_id: int | None = None


@dataclass(frozen=True)
class TicketOptions:
    """What raising and closing tickets needs beyond the unit of work. ``files``: closing a ticket goes
    through the tickets context's resolution step, which takes the file store (no file is attached)."""

    files: FileStore
    deadline_days: int = DEFAULT_TICKET_DAYS


@dataclass(frozen=True)
class Target:
    """A catalogue resource as a run needs it."""

    resource_id: int
    code: str
    name: str
    provider_organisation_id: int
    division_code: str
    dataset: str
    update_cycle: str


@dataclass(frozen=True)
class RuleSetView:
    target: Target
    current: StoredRuleSet | None
    versions: tuple[StoredRuleSet, ...]
    can_edit: bool
    can_run: bool


@dataclass(frozen=True)
class LinkedTicket:
    ticket_id: int
    number: str
    rule_id: str
    state: str
    state_label: str


@dataclass(frozen=True)
class RunDetail:
    run: Run
    outcomes: tuple[RuleOutcome, ...]
    tickets: tuple[LinkedTicket, ...]
    provider_name: str


@dataclass(frozen=True)
class RunPage:
    items: tuple[Run, ...]
    total: int
    limit: int
    offset: int


@dataclass(frozen=True)
class Dashboard:
    days: int
    current: tuple[Run, ...]  # the newest run of each resource
    by_department: Series
    by_rule: Series
    over_time: Series
    recent: tuple[Run, ...]
    organisation_names: dict[int, str]


@dataclass(frozen=True)
class ConsistencyOutcome:
    report: consistency.ConsistencyReport
    runs: tuple[Run, ...]
    flags_dataset: str
    flagged: int


# --- helpers ----------------------------------------------------------------------------------------------
def _organisation_name(uow: UnitOfWork, organisation_id: int) -> str:
    try:
        return org.get_organisation(uow, organisation_id, _SEE_ALL).name
    except NotFound:
        return f"#{organisation_id}"


def _describe(detail: catalogue.ResourceDetail) -> Target:
    """The resource as a run needs it; ``dataset`` is "" unless its data is mounted on a store dataset."""
    r = detail.resource
    version = detail.published or detail.working
    mount = version.mount if version is not None else None
    dataset = mount.dataset if mount is not None and mount.kind is catalogue.MountKind.DATASET else ""
    return Target(
        resource_id=r.id,
        code=r.code,
        name=detail.view.metadata.name,
        provider_organisation_id=r.provider_organisation_id,
        division_code=r.division_code,
        dataset=dataset,
        update_cycle=detail.view.metadata.update_cycle.value,
    )


def _target(detail: catalogue.ResourceDetail) -> Target:
    found = _describe(detail)
    if not found.dataset:
        raise ValidationFailed(
            f"资源 {found.code} 未挂接数据中心分析库的数据集，无法进行质量检查",
            code="quality_not_mounted",
            field="resource_code",
        )
    return found


def _resource(uow: UnitOfWork, *, resource_id: int | None = None, code: str = "") -> catalogue.ResourceDetail:
    try:
        if resource_id is not None:
            return catalogue.get_resource(uow, resource_id, _SEE_ALL)
        return catalogue.find_resource(uow, code, _SEE_ALL)
    except NotFound:
        raise NotFound("资源不存在", code="quality_resource_not_found") from None


def _visible_detail(
    uow: UnitOfWork, actor: Actor, *, resource_id: int | None = None, code: str = ""
) -> catalogue.ResourceDetail:
    detail = _resource(uow, resource_id=resource_id, code=code)
    r = detail.resource
    if not policies.can_view(actor, r.provider_organisation_id, r.division_code):
        # Same answer as "missing": another department's resources are not disclosed.
        raise NotFound("资源不存在", code="quality_resource_not_found")
    return detail


def _visibility(actor: Actor) -> repository.Visibility:
    return repository.Visibility(provider_organisations(actor), policies.bureau_scopes(actor))


def _division_codes(uow: UnitOfWork) -> list[str]:
    """Every current (active) division code: the ``division`` code table of the rules."""
    return [d.code for level in org.DivisionLevel for d in org.divisions_within(uow, "", level)]


def _newest_load(uow: UnitOfWork, dataset: str) -> ingest.Load | None:
    for load in ingest.list_loads(uow, _SEE_ALL, dataset=dataset, limit=LOAD_LOOKBACK):
        if load.status is ingest.LoadStatus.COMPLETE:
            return load
    return None


def _ensure_category() -> None:
    # Registering the same category again is a no-op; done here too so a platform built without our
    # registrar (a script, a test of another context) can still raise quality tickets.
    tickets.register_category(tickets.TicketCategory(TICKET_CATEGORY, "数据质量问题", DEFAULT_TICKET_DAYS))


# --- rule sets --------------------------------------------------------------------------------------------
def get_rule_set(uow: UnitOfWork, resource_id: int, actor: Actor) -> RuleSetView:
    """A resource's rule file (the newest version and the earlier ones), for its provider and bureau."""
    uow.authorize(
        policies.can_browse(actor), actor, "quality.rule_set.view", object_type="catalogue_resource"
    )
    detail = _visible_detail(uow, actor, resource_id=resource_id)
    r = detail.resource
    target = _describe(detail)
    versions = repository.rule_set_versions(uow.session, r.id)
    return RuleSetView(
        target=target,
        current=versions[0] if versions else None,
        versions=tuple(versions),
        can_edit=policies.can_edit_rules(actor, r.division_code),
        can_run=policies.can_run(actor, r.provider_organisation_id, r.division_code) and bool(versions),
    )


def save_rule_set(uow: UnitOfWork, cmd: SaveRuleSet, actor: Actor) -> StoredRuleSet:
    """A new version of the resource's rule file; refused (in Chinese, with the rule and field named) unless
    the engine can read it. The text is kept as written, comments included."""
    detail = _visible_detail(uow, actor, resource_id=cmd.resource_id)
    r = detail.resource
    uow.authorize(
        policies.can_edit_rules(actor, r.division_code),
        actor,
        "quality.rule_set.save",
        object_type="catalogue_resource",
        object_id=r.id,
    )
    if not cmd.text.strip():
        raise ValidationFailed("请填写或上传规则文件", code="quality_rules_required", field="text")
    parsed = load_rules(cmd.text)
    previous = repository.latest_rule_set(uow.session, r.id)
    if previous is not None and previous.text == cmd.text:
        return previous  # saving the same file again is not a new version
    stored = StoredRuleSet(
        resource_id=r.id,
        resource_code=r.code,
        version=(previous.version + 1) if previous else 1,
        text=cmd.text,
        dataset=parsed.dataset,
        rule_count=len(parsed.rules),
        created_by=actor.label,
        created_at=clock.now(),
    )
    repository.add_rule_set(uow.session, stored, r.division_code, r.provider_organisation_id)
    uow.audit(
        actor,
        "quality.rule_set.saved",
        object_type="catalogue_resource",
        object_id=r.id,
        tenant=r.division_code,
        detail={"code": r.code, "version": stored.version, "rules": [rule.id for rule in parsed.rules]},
    )
    uow.commit()
    return stored


# --- runs -------------------------------------------------------------------------------------------------
def _outcomes(results: tuple[RuleResult, ...]) -> list[RuleOutcome]:
    return [
        RuleOutcome(
            rule_id=r.rule_id,
            kind=r.kind,
            field=r.field,
            severity=r.severity,
            message=r.message,
            checked=r.checked,
            failed=r.failed,
            sample_keys=tuple(mask_key(k) for k in r.sample_keys),
        )
        for r in results
    ]


def _check(
    uow: UnitOfWork, store: ParquetDuckDBStore, target: Target, stored: StoredRuleSet
) -> tuple[RuleSet, DatasetMetadata, int | None, dict[str, list[str]]]:
    # The mount says where the data is: a rule file written for another dataset name still applies.
    rule_set = load_rules(stored.text).model_copy(update={"dataset": target.dataset})
    code_tables: dict[str, list[str]] = {}
    if any(isinstance(rule, CodeTableRule) and rule.table == "division" for rule in rule_set.rules):
        code_tables["division"] = _division_codes(uow)
    load = _newest_load(uow, target.dataset)
    loaded_at = (load.finished_at or load.started_at) if load is not None else None
    meta = DatasetMetadata(last_loaded_at=loaded_at, update_cycle=CYCLE_AGE.get(target.update_cycle))
    return rule_set, meta, load.id if load is not None else None, code_tables


def _record_run(uow: UnitOfWork, new: Run, outcomes: list[RuleOutcome], actor: Actor, action: str) -> Run:
    run_id = repository.add_run(uow.session, new, outcomes)
    uow.audit(
        actor,
        action,
        object_type="quality_run",
        object_id=run_id,
        tenant=new.division_code,
        detail={
            "code": new.resource_code,
            "dataset": new.dataset,
            "rows": new.rows,
            "score": round(new.score, 2),
            "failed_rules": [o.rule_id for o in outcomes if o.failed],
            "trigger": new.trigger.value,
        },
    )
    uow.commit()
    return replace(new, id=run_id)


def _run_target(
    uow: UnitOfWork,
    store: ParquetDuckDBStore,
    target: Target,
    trigger: Trigger,
    actor: Actor,
    options: TicketOptions,
) -> Run:
    stored = repository.latest_rule_set(uow.session, target.resource_id)
    if stored is None:
        raise ValidationFailed(
            f"资源 {target.code} 还没有质量规则，请先上传规则文件", code="quality_rules_missing"
        )
    rule_set, meta, load_id, code_tables = _check(uow, store, target, stored)
    # The check may take minutes: no database transaction stays open while it runs.
    uow.session.rollback()
    at = clock.now()
    report = check_quality(rule_set, store, code_tables=code_tables, metadata=meta, now=at)
    outcomes = _outcomes(report.results)
    new = Run(
        id=0,
        kind=RunKind.RULES,
        resource_id=target.resource_id,
        resource_code=target.code,
        resource_name=target.name,
        provider_organisation_id=target.provider_organisation_id,
        division_code=target.division_code,
        dataset=target.dataset,
        rule_set_version=stored.version,
        load_id=load_id,
        rows=report.rows,
        score=report.score,
        seconds=report.seconds,
        trigger=trigger,
        actor=actor.label,
        at=at,
    )
    run = _record_run(uow, new, outcomes, actor, "quality.run.completed")
    _sync_tickets(uow, run, outcomes, options)
    return run


def run_quality_check(
    uow: UnitOfWork, store: ParquetDuckDBStore, cmd: RunQualityCheck, actor: Actor, *, tickets: TicketOptions
) -> Run:
    """Check a resource's mounted dataset with its newest rule set; record the run and its rule results,
    then open, update or close the provider's tickets."""
    detail = _visible_detail(uow, actor, code=cmd.resource_code)
    r = detail.resource
    uow.authorize(
        policies.can_run(actor, r.provider_organisation_id, r.division_code),
        actor,
        "quality.run",
        object_type="catalogue_resource",
        object_id=r.id,
    )
    return _run_target(uow, store, _target(detail), cmd.trigger, actor, tickets)


def sweep_loads(uow: UnitOfWork, store: ParquetDuckDBStore, options: TicketOptions) -> int:
    """Check every resource with rules whose dataset has a completed load newer than its last check;
    returns how many were checked. A resource that cannot be checked (a rule naming a column the data
    lacks) is logged and audited, and the others still run; it is tried again at each sweep until its
    rules or its data are corrected."""
    checked = 0
    for resource_id in repository.resources_with_rule_sets(uow.session):
        try:
            for unfinished in repository.unsynced_runs(uow.session, resource_id):
                _finish_tickets(uow, unfinished, options)
            target = _describe(_resource(uow, resource_id=resource_id))
            if not target.dataset:
                continue  # data in a department's database or behind an API: no loads to follow
            load = _newest_load(uow, target.dataset)
            seen = repository.last_load_checked(uow.session, resource_id)
            if load is None or (seen is not None and load.id <= seen):
                continue
            _run_target(uow, store, target, Trigger.LOAD, CHECKER, options)
            checked += 1
        except WanshiError as exc:
            uow.rollback()
            log.warning("quality check of resource %s after load failed: %s", resource_id, exc.message)
            uow.audit(
                CHECKER,
                "quality.run.failed",
                object_type="catalogue_resource",
                object_id=resource_id,
                outcome="failure",
                detail={"error": exc.message[:500], "code": exc.error_code},
            )
            uow.commit()
    return checked


# --- tickets ----------------------------------------------------------------------------------------------
def _current_ticket(uow: UnitOfWork, link: TicketLink, source_id: str) -> tickets.Ticket | None:
    return next(
        (t for t in tickets.tickets_for_source(uow, TICKET_SOURCE_TYPE, source_id) if t.id == link.ticket_id),
        None,
    )


def _finish_tickets(uow: UnitOfWork, run: Run, options: TicketOptions) -> None:
    """The ticket step of a run that a crash interrupted; a run overtaken by a newer one only gets
    marked (acting on its older figures would undo what the newer run decided)."""
    if repository.newer_run_exists(uow.session, run):
        repository.mark_synced(uow.session, run.id)
        uow.commit()
        return
    _sync_tickets(uow, run, repository.outcomes(uow.session, run.id), options)


def _sync_tickets(uow: UnitOfWork, run: Run, outcomes: list[RuleOutcome], options: TicketOptions) -> None:
    _ensure_category()
    for outcome in outcomes:
        _sync_rule(uow, run, outcome, options)
    repository.mark_synced(uow.session, run.id)
    uow.commit()


def _sync_rule(uow: UnitOfWork, run: Run, outcome: RuleOutcome, options: TicketOptions) -> None:
    source_id = ticket_source_id(run.resource_id, outcome.rule_id)
    link = repository.open_link(uow.session, run.resource_id, outcome.rule_id, for_update=True)
    ticket = _current_ticket(uow, link, source_id) if link is not None else None
    if link is not None and (ticket is None or ticket.state is tickets.TicketState.CLOSED):
        # Closed by a person (or gone): the problem, if it persists, is a new ticket.
        repository.touch_link(uow.session, link.id, max(link.last_run_id, run.id), closed=True)
        uow.commit()
        link, ticket = None, None
    seen = link is not None and link.last_run_id >= run.id
    step = ticket_step(outcome.failed, outcome.checked, ticket.state.value if ticket else None, seen)
    if step is TicketAction.NONE:
        uow.rollback()
        return
    if step is TicketAction.OPEN:
        raised = tickets.raise_ticket(
            uow,
            tickets.OpenTicket(
                organisation_id=run.provider_organisation_id,
                title=ticket_title(run.resource_name, run.resource_code, outcome)[:TICKET_TITLE_MAX],
                category=TICKET_CATEGORY,
                description=ticket_text(run, outcome),
                source_type=TICKET_SOURCE_TYPE,
                source_id=source_id,
                time_limit_amount=options.deadline_days,
            ),
            CHECKER,
        )
        repository.add_link(
            uow.session,
            TicketLink(0, run.resource_id, outcome.rule_id, raised.id, raised.number,
                       run.provider_organisation_id, run.id, run.id, None),
            run.division_code,
        )  # fmt: skip
        repository.set_result_ticket(uow.session, run.id, outcome.rule_id, raised.id)
        uow.commit()
        return
    assert link is not None
    assert ticket is not None
    if step is TicketAction.CLOSE:
        if ticket.state is tickets.TicketState.OPEN:
            tickets.start_ticket(uow, tickets.StartTicket(ticket_id=ticket.id), CHECKER)
            ticket = _current_ticket(uow, link, source_id) or ticket
        note = passed_note(run, outcome)
        if ticket.state is tickets.TicketState.IN_PROGRESS:
            tickets.resolve_ticket(
                uow, tickets.ResolveTicket(ticket_id=ticket.id, note=note), CHECKER, options.files
            )
        repository.touch_link(uow.session, link.id, run.id, closed=True)
        repository.set_result_ticket(uow.session, run.id, outcome.rule_id, ticket.id)
        tickets.close_ticket(uow, tickets.CloseTicket(ticket_id=ticket.id, note=note), CHECKER)
        return
    repository.touch_link(uow.session, link.id, run.id)
    repository.set_result_ticket(uow.session, run.id, outcome.rule_id, ticket.id)
    note = still_failing_note(run, outcome)
    if step is TicketAction.REOPEN:
        tickets.reopen_ticket(uow, tickets.ReopenTicket(ticket_id=ticket.id, reason=note), CHECKER)
    else:
        tickets.comment_ticket(uow, tickets.CommentTicket(ticket_id=ticket.id, note=note), CHECKER)


# --- consistency ------------------------------------------------------------------------------------------
def check_sources(
    uow: UnitOfWork,
    store: ParquetDuckDBStore,
    cmd: CheckConsistency,
    actor: Actor,
    *,
    tickets: TicketOptions,
) -> ConsistencyOutcome:
    """Compare the sources of a consistency configuration; flag disagreements in a store dataset, record
    one run per non-authoritative source (a rule result per compared field) and ticket its provider."""
    uow.authorize(policies.can_browse(actor), actor, "quality.consistency", object_type="quality_run")
    config = consistency.load_config(cmd.config_text)
    targets: dict[str, Target] = {}
    for alias, spec in config.sources.items():
        if not spec.resource:
            raise ValidationFailed(
                f"来源“{alias}”须以 resource 指定目录资源：比对结果要记到资源和提供方名下",
                code="quality_consistency_resource_required",
                field=alias,
            )
        targets[alias] = _target(_visible_detail(uow, actor, code=spec.resource))
    uow.authorize(
        policies.can_check_consistency(actor, [t.division_code for t in targets.values()]),
        actor,
        "quality.consistency",
        object_type="quality_run",
    )
    uow.session.rollback()
    at = clock.now()
    report = consistency.check_consistency(
        config, store=store, datasets={alias: t.dataset for alias, t in targets.items()}
    )
    flagged = consistency.write_flags(store, config, "current", report.flagged)
    runs = []
    for alias, target in targets.items():
        compared = report.for_source(alias)
        if not compared:
            continue  # authoritative for every field it holds: nothing of its data was judged
        outcomes = [
            RuleOutcome(
                rule_id=f"consistency.{config.name}.{c.field}",
                kind="consistency",
                field=c.field,
                severity="error",
                message=f"与权威来源 {targets[c.authority].name}（{targets[c.authority].code}）不一致",
                checked=c.compared,
                failed=c.disagreed,
                sample_keys=tuple(mask_key(k) for k in c.sample_keys),
            )
            for c in compared
        ]
        rates = [o.failure_rate for o in outcomes if o.checked]
        new = Run(
            id=0,
            kind=RunKind.CONSISTENCY,
            resource_id=target.resource_id,
            resource_code=target.code,
            resource_name=target.name,
            provider_organisation_id=target.provider_organisation_id,
            division_code=target.division_code,
            dataset=target.dataset,
            rule_set_version=0,
            load_id=None,
            rows=report.rows[alias],
            score=100.0 * (1 - fmean(rates)) if rates else 100.0,
            seconds=report.seconds,
            trigger=cmd.trigger,
            actor=actor.label,
            at=at,
            detail=config.name,
        )
        run = _record_run(uow, new, outcomes, actor, "quality.consistency.completed")
        _sync_tickets(uow, run, outcomes, tickets)
        runs.append(run)
    return ConsistencyOutcome(report, tuple(runs), config.flags_dataset, flagged)


# --- reading ----------------------------------------------------------------------------------------------
def get_run(uow: UnitOfWork, run_id: int, actor: Actor) -> RunDetail:
    found = repository.get_run(uow.session, run_id)
    if found is None or not policies.can_view(actor, found.provider_organisation_id, found.division_code):
        raise RunNotFound()
    links = repository.links_of_run(uow.session, found.resource_id, found.id)
    outcomes = repository.outcomes(uow.session, found.id)
    linked = []
    for link in links:
        ticket = _current_ticket(uow, link, ticket_source_id(link.resource_id, link.rule_id))
        if ticket is not None:
            linked.append(
                LinkedTicket(ticket.id, ticket.number, link.rule_id, ticket.state.value, ticket.state.label)
            )
    return RunDetail(
        found, tuple(outcomes), tuple(linked), _organisation_name(uow, found.provider_organisation_id)
    )


def list_runs(uow: UnitOfWork, query: RunQuery, actor: Actor) -> RunPage:
    uow.authorize(policies.can_browse(actor), actor, "quality.run.list", object_type="quality_run")
    found, total = repository.list_runs(
        uow.session,
        _visibility(actor),
        repository.RunFilters(query.resource_id, query.organisation_id, query.kind),
        limit=query.limit,
        offset=query.offset,
    )
    return RunPage(tuple(found), total, query.limit, query.offset)


def _daily(runs: list[Run], name: str) -> Series:
    by_day: dict[str, list[float]] = defaultdict(list)
    for r in runs:
        by_day[r.at.astimezone(clock.CHINA_TZ).date().isoformat()].append(r.score)
    return Series(name, tuple(Point(day, fmean(v), len(v), day) for day, v in sorted(by_day.items())))


def score_history(
    uow: UnitOfWork, actor: Actor, *, days: int = 90, resource_id: int | None = None,
    organisation_id: int | None = None,
) -> Series:  # fmt: skip
    """Daily mean score of rule runs over the last ``days``: of one resource, one department, or all the
    actor sees (a department sees only its own resources)."""
    uow.authorize(policies.can_browse(actor), actor, "quality.run.list", object_type="quality_run")
    since = clock.now() - timedelta(days=days)
    runs, _total = repository.list_runs(
        uow.session,
        _visibility(actor),
        repository.RunFilters(resource_id, organisation_id, RunKind.RULES, since),
        limit=None,
    )
    return _daily(runs, "质量得分")


def quality_dashboard(uow: UnitOfWork, query: DashboardQuery, actor: Actor) -> Dashboard:
    """Current scores by department and the rules failing most, the score over time, the newest runs."""
    uow.authorize(policies.can_browse(actor), actor, "quality.dashboard", object_type="quality_run")
    visibility = _visibility(actor)
    filters = repository.RunFilters(query.resource_id, query.organisation_id)
    current = repository.latest_runs(uow.session, visibility, filters)
    names = {i: _organisation_name(uow, i) for i in sorted({r.provider_organisation_id for r in current})}
    per_org: dict[int, list[float]] = defaultdict(list)
    for r in current:
        if r.kind is RunKind.RULES:
            per_org[r.provider_organisation_id].append(r.score)
    by_department = Series(
        "部门质量得分",
        tuple(
            sorted(
                (Point(names[i], fmean(s), len(s), str(i)) for i, s in per_org.items()),
                key=lambda p: (p.value, p.label),
            )
        ),
    )
    results = repository.outcomes_of(uow.session, [r.id for r in current])
    rules = [
        Point(f"{r.resource_code} {o.rule_id}", 100.0 * o.failure_rate, o.failed, str(r.id))
        for r in current
        for o in results[r.id]
        if o.failed
    ]
    by_rule = Series("规则不合格率", tuple(sorted(rules, key=lambda p: -p.value)[:BY_RULE_TOP]))
    since = clock.now() - timedelta(days=query.days)
    history, _total = repository.list_runs(
        uow.session,
        visibility,
        repository.RunFilters(query.resource_id, query.organisation_id, RunKind.RULES, since),
        limit=None,
    )
    recent = history[:RECENT_RUNS]
    for r in recent:
        names.setdefault(r.provider_organisation_id, _organisation_name(uow, r.provider_organisation_id))
    return Dashboard(
        days=query.days,
        current=tuple(current),
        by_department=by_department,
        by_rule=by_rule,
        over_time=_daily(history, "质量得分"),
        recent=tuple(recent),
        organisation_names=names,
    )


# --- jobs -------------------------------------------------------------------------------------------------
def register_jobs(
    registry: JobRegistry, store: ParquetDuckDBStore, files: FileStore, settings: Settings
) -> None:
    """The sweep that checks a resource after each completed load of its dataset. Ingest emits no event
    on completion, so the sweep compares each resource's newest completed load with the last one its
    rules measured (``quality_run.load_id``); a load is checked once however often the sweep runs."""
    _ensure_category()
    options = TicketOptions(files, settings.quality_ticket_days)

    def sweep(uow: UnitOfWork, _payload: dict[str, object], _ctx: JobContext) -> None:
        sweep_loads(uow, store, options)

    registry.handler(SWEEP_JOB, sweep)
    registry.every(SWEEP_SCHEDULE, SWEEP_JOB, settings.quality_sweep_seconds)
