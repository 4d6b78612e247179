"""Base-registry use cases: authorise, look up in the index, log the call, commit.

Every call, answered or refused, writes one registry_call row in its own unit of work; a refusal also
writes the audit entry ``uow.authorize`` makes. The identifier is never logged in clear (see domain.mask
and domain.subject_hash), and names are never logged at all.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

from wanshi.config import Settings
from wanshi.datahub.registry import policies, repository
from wanshi.datahub.registry.domain import (
    ENTERPRISE_FIELDS,
    PERSON_FIELDS,
    PURPOSE_MAX,
    PURPOSE_MIN,
    Operation,
    Result,
    Verdict,
    judge_enterprise,
    judge_person,
    mask,
    normalise_key,
    subject_hash,
    unknown_fields,
)
from wanshi.datahub.registry.gateways import (
    CreditEntry,
    CreditRegistry,
    ElicenceIndex,
    IndexSpec,
    IndexStatus,
    IndexUnavailable,
    Kind,
    LicenceEntry,
    RegistryIndex,
    StoreCreditRegistry,
    StoreElicenceIndex,
)
from wanshi.datahub.store import DatasetStore
from wanshi.infra.context import current_request
from wanshi.infra.jobs import JobContext, JobRegistry
from wanshi.infra.uow import UnitOfWork
from wanshi.kernel import clock
from wanshi.kernel.actor import SYSTEM, Actor, ActorKind
from wanshi.kernel.errors import NotFound, PermissionDenied, ValidationFailed
from wanshi.kernel.identifiers import (
    InvalidCreditCode,
    InvalidResidentId,
    validate_credit_code,
    validate_resident_id,
)
from wanshi.org import api as org

INDEX_FOLDER = "_registry"
_SEE_ALL = Actor(kind=ActorKind.SYSTEM, username="registry")
MAX_FIELDS = len(PERSON_FIELDS) + len(ENTERPRISE_FIELDS)


class Registry:
    """What the registry services run against: the indexes, the e-licence and credit readers, and the key
    that hashes subjects in the log. Cheap to build; the open index files are shared per process."""

    def __init__(
        self,
        store: DatasetStore,
        index_folder: Path,
        secret_key: str,
        *,
        population_dataset: str = "population",
        legal_person_dataset: str = "legal_person",
        elicences: ElicenceIndex | None = None,
        credit: CreditRegistry | None = None,
    ) -> None:
        self.store = store
        self.persons = RegistryIndex(
            index_folder, IndexSpec(Kind.PERSON, population_dataset, "id_number", PERSON_FIELDS)
        )
        self.enterprises = RegistryIndex(
            index_folder, IndexSpec(Kind.ENTERPRISE, legal_person_dataset, "credit_code", ENTERPRISE_FIELDS)
        )
        self.elicences: ElicenceIndex = elicences or StoreElicenceIndex(store)
        self.credit: CreditRegistry = credit or StoreCreditRegistry(store)
        # A key of its own, derived from the platform secret, so a log hash is useless anywhere else.
        self.subject_key = hashlib.sha256(b"wanshi.registry.subject\0" + secret_key.encode()).digest()

    @classmethod
    def build(cls, settings: Settings, store: DatasetStore) -> Registry:
        """From the platform's settings and analytical store: ``Registry.build(p.settings, p.datastore)``."""
        return cls(
            store,
            settings.resolved_datahub_dir / INDEX_FOLDER,
            settings.secret_key,
            population_dataset=settings.registry_population_dataset,
            legal_person_dataset=settings.registry_legal_person_dataset,
        )

    def index(self, kind: Kind) -> RegistryIndex:
        return self.persons if kind is Kind.PERSON else self.enterprises


# --- commands ---------------------------------------------------------------------------------------------
class Command(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", str_strip_whitespace=True)


class Purposeful(Command):
    purpose: str = Field(
        min_length=PURPOSE_MIN, max_length=PURPOSE_MAX, description="调用目的，如“不动产登记申请身份核验”"
    )


class VerifyPerson(Purposeful):
    id_number: str = Field(max_length=40)
    name: str = Field(max_length=100)


class VerifyEnterprise(Purposeful):
    credit_code: str = Field(max_length=40)
    name: str = Field(max_length=200)
    legal_representative: str | None = Field(default=None, max_length=100)


class PersonPrefill(Purposeful):
    id_number: str = Field(max_length=40)
    fields: tuple[str, ...] = Field(min_length=1, max_length=MAX_FIELDS)


class EnterprisePrefill(Purposeful):
    credit_code: str = Field(max_length=40)
    fields: tuple[str, ...] = Field(min_length=1, max_length=MAX_FIELDS)


class LicenceQuery(Purposeful):
    holder_code: str = Field(max_length=40, description="持证主体代码：身份证号码或统一社会信用代码")


class CreditQuery(Purposeful):
    subject_code: str = Field(max_length=40, description="主体代码：身份证号码或统一社会信用代码")


class GrantRegistry(Command):
    organisation_id: int
    operations: tuple[Operation, ...] = Field(min_length=1)
    note: str = Field(default="", max_length=2000, description="共享申请或批准文件，如“皖数资〔2026〕12号”")


class RevokeRegistry(Command):
    organisation_id: int


class CallQuery(Command):
    since: date | None = None
    until: date | None = Field(default=None, description="含当日")
    operation: Operation | None = None
    organisation_id: int | None = None
    limit: int = Field(default=50, ge=1, le=500)
    offset: int = Field(default=0, ge=0)


# --- answers ----------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class PersonVerification:
    result: Result
    matched: bool  # number and name belong together in the registry (whatever the status)
    status: str
    message: str
    subject: str  # masked
    as_of: datetime | None  # when the index answering was built

    @property
    def ok(self) -> bool:
        return self.result is Result.MATCH


@dataclass(frozen=True)
class EnterpriseVerification:
    result: Result
    matched: bool
    status: str
    message: str
    subject: str
    as_of: datetime | None

    @property
    def ok(self) -> bool:
        return self.result is Result.MATCH


@dataclass(frozen=True)
class Prefill:
    found: bool
    subject: str
    values: Mapping[str, str | None]
    as_of: datetime | None


@dataclass(frozen=True)
class Licences:
    subject: str
    licences: tuple[LicenceEntry, ...]


@dataclass(frozen=True)
class CreditRecords:
    subject: str
    records: tuple[CreditEntry, ...]


@dataclass(frozen=True)
class CallPage:
    items: tuple[repository.CallRow, ...]
    total: int
    limit: int
    offset: int


@dataclass(frozen=True)
class Grant:
    organisation_id: int
    organisation_name: str
    division_code: str
    operations: tuple[Operation, ...]
    note: str
    granted_by: str
    granted_at: datetime


_PERSON_MESSAGES = {
    Result.MATCH: "身份信息一致",
    Result.NAME_MISMATCH: "姓名与身份证号码不一致",
    Result.NOT_FOUND: "人口库中没有该身份证号码",
    Result.DECEASED: "身份信息一致，但该人员已登记死亡",
    Result.CANCELLED: "身份信息一致，但该人员户籍已注销",
}
_ENTERPRISE_MESSAGES = {
    Result.MATCH: "主体信息一致",
    Result.NAME_MISMATCH: "名称与统一社会信用代码不一致",
    Result.LEGAL_REP_MISMATCH: "法定代表人与登记信息不一致",
    Result.NOT_FOUND: "法人库中没有该统一社会信用代码",
    Result.DEREGISTERED: "主体信息一致，但该主体已注销",
    Result.REVOKED: "主体信息一致，但该主体已被吊销",
}


# --- the call and its log row -----------------------------------------------------------------------------
@dataclass
class _Call:
    registry: Registry
    operation: Operation
    subject: str
    purpose: str
    actor: Actor
    started: float = field(default_factory=time.perf_counter)

    @property
    def masked(self) -> str:
        return mask(self.subject)

    def log(self, uow: UnitOfWork, result: Result) -> None:
        """Write the call's row; the caller commits (with any audit entry of the same use case)."""
        repository.add_call(
            uow.session,
            {
                "at": clock.now(),
                "actor": self.actor.label,
                "actor_kind": self.actor.kind.value,
                "actor_user_id": self.actor.user_id,
                "organisation_id": self.actor.organisation_id,
                "division_code": self.actor.division_code or "",
                "purpose": self.purpose,
                "operation": self.operation.value,
                "subject_hash": subject_hash(self.registry.subject_key, self.subject),
                "subject_masked": self.masked,
                "result": result.value,
                "duration_ms": int((time.perf_counter() - self.started) * 1000),
                "request_id": current_request().request_id,
            },
        )

    def finish(self, uow: UnitOfWork, result: Result) -> None:
        self.log(uow, result)
        uow.commit()


def _start(
    uow: UnitOfWork,
    registry: Registry,
    operation: Operation,
    subject: str,
    purpose: str,
    actor: Actor,
    allowed: bool | None = None,
) -> _Call:
    """Authorise the call; a refusal is audited, logged and raised."""
    call = _Call(registry, operation, normalise_key(subject), purpose, actor)
    if allowed is None:
        granted = repository.granted_operations(uow.session, actor.organisations_for(*policies.CALLER_ROLES))
        allowed = policies.can_call(actor, operation, granted)
    try:
        uow.authorize(
            allowed,
            actor,
            f"registry.{operation.value}",
            object_type="registry_subject",
            object_id=call.masked,
        )
    except PermissionDenied:
        call.finish(uow, Result.DENIED)
        raise
    return call


def _lookup(uow: UnitOfWork, call: _Call, index: RegistryIndex) -> dict[str, str | None] | None:
    try:
        return index.lookup(call.subject)
    except IndexUnavailable:
        call.finish(uow, Result.UNAVAILABLE)
        raise


def _person_problem(number: str) -> str | None:
    try:
        validate_resident_id(number)
    except InvalidResidentId as exc:
        return exc.message
    return None


def _enterprise_problem(code: str) -> str | None:
    try:
        validate_credit_code(code)
    except InvalidCreditCode as exc:
        return exc.message
    return None


# --- verification -----------------------------------------------------------------------------------------
def verify_person(uow: UnitOfWork, registry: Registry, cmd: VerifyPerson, actor: Actor) -> PersonVerification:
    """实名核验: does the name belong to the ID number in the population registry; is the person active."""
    call = _start(uow, registry, Operation.VERIFY_PERSON, cmd.id_number, cmd.purpose, actor)
    problem = _person_problem(call.subject)
    if problem is not None:
        verdict, message = Verdict(Result.ID_INVALID, False, ""), problem
    else:
        verdict = judge_person(_lookup(uow, call, registry.persons), cmd.name)
        message = _PERSON_MESSAGES[verdict.result]
    call.finish(uow, verdict.result)
    return PersonVerification(
        verdict.result, verdict.matched, verdict.status, message, call.masked, registry.persons.built_at()
    )


def verify_enterprise(
    uow: UnitOfWork, registry: Registry, cmd: VerifyEnterprise, actor: Actor
) -> EnterpriseVerification:
    """Name (and legal representative, when given) against the 统一社会信用代码, with the entity's status."""
    call = _start(uow, registry, Operation.VERIFY_ENTERPRISE, cmd.credit_code, cmd.purpose, actor)
    problem = _enterprise_problem(call.subject)
    if problem is not None:
        verdict, message = Verdict(Result.CODE_INVALID, False, ""), problem
    else:
        record = _lookup(uow, call, registry.enterprises)
        verdict = judge_enterprise(record, cmd.name, cmd.legal_representative)
        message = _ENTERPRISE_MESSAGES[verdict.result]
        if verdict.matched and verdict.status:
            message = f"{message}（登记状态：{verdict.status}）"
    call.finish(uow, verdict.result)
    return EnterpriseVerification(
        verdict.result, verdict.matched, verdict.status, message, call.masked, registry.enterprises.built_at()
    )


# --- prefill ----------------------------------------------------------------------------------------------
def _prefill(
    uow: UnitOfWork, call: _Call, index: RegistryIndex, fields: tuple[str, ...], allowed: tuple[str, ...]
) -> Prefill:
    problem = (_person_problem if index.spec.kind is Kind.PERSON else _enterprise_problem)(call.subject)
    if problem is not None:
        call.finish(uow, Result.ID_INVALID if index.spec.kind is Kind.PERSON else Result.CODE_INVALID)
        raise ValidationFailed(problem, code="registry_subject_invalid", field="subject")
    refused = unknown_fields(fields, allowed)
    if refused:
        call.finish(uow, Result.REFUSED)
        raise ValidationFailed(
            f"以下字段不能预填：{'、'.join(refused)}；可预填的字段：{'、'.join(allowed)}",
            code="registry_field_not_allowed",
            field="fields",
            refused=refused,
        )
    record = _lookup(uow, call, index)
    call.finish(uow, Result.FOUND if record is not None else Result.NOT_FOUND)
    values = {f: record.get(f) for f in dict.fromkeys(fields)} if record is not None else {}
    return Prefill(record is not None, call.masked, values, index.built_at())


def person_prefill(
    uow: UnitOfWork, registry: Registry, cmd: PersonPrefill, actor: Actor, *, own_id_number: str | None = None
) -> Prefill:
    """免填报: the asked-for fields of a person's record, only those forms may be filled with.

    ``own_id_number``: the verified ID number of a citizen caller (from identity), so that a person may
    prefill from their own record only.
    """
    allowed = None
    if actor.kind is ActorKind.CITIZEN:
        own = normalise_key(own_id_number) if own_id_number else None
        allowed = policies.citizen_may_prefill_own(actor, own, normalise_key(cmd.id_number))
    call = _start(uow, registry, Operation.PERSON_PREFILL, cmd.id_number, cmd.purpose, actor, allowed)
    return _prefill(uow, call, registry.persons, cmd.fields, PERSON_FIELDS)


def enterprise_prefill(uow: UnitOfWork, registry: Registry, cmd: EnterprisePrefill, actor: Actor) -> Prefill:
    call = _start(uow, registry, Operation.ENTERPRISE_PREFILL, cmd.credit_code, cmd.purpose, actor)
    return _prefill(uow, call, registry.enterprises, cmd.fields, ENTERPRISE_FIELDS)


# --- e-licences and credit --------------------------------------------------------------------------------
def _holder_problem(code: str) -> str | None:
    """Either kind of holder code: a resident ID number or a 统一社会信用代码."""
    person, enterprise = _person_problem(code), _enterprise_problem(code)
    if person is None or enterprise is None:
        return None
    return "持证主体代码应为有效的居民身份证号码或统一社会信用代码"


def find_licences(
    uow: UnitOfWork,
    registry: Registry,
    cmd: LicenceQuery,
    actor: Actor,
    *,
    own_holder_code: str | None = None,
) -> Licences:
    """The e-licences a holder holds. ``own_holder_code``: the verified ID number or credit code of a person
    asking for their own (a form's 免填报 from an e-licence), who may see their own licences only."""
    allowed = None
    if actor.kind in (ActorKind.CITIZEN, ActorKind.ENTERPRISE):
        own = normalise_key(own_holder_code) if own_holder_code else None
        allowed = own is not None and own == normalise_key(cmd.holder_code)
    call = _start(uow, registry, Operation.ELICENCE_LOOKUP, cmd.holder_code, cmd.purpose, actor, allowed)
    problem = _holder_problem(call.subject)
    if problem is not None:
        call.finish(uow, Result.REFUSED)
        raise ValidationFailed(problem, code="registry_subject_invalid", field="holder_code")
    found = registry.elicences.licences_of(call.subject)
    call.finish(uow, Result.FOUND if found else Result.NOT_FOUND)
    return Licences(call.masked, found)


def credit_records(uow: UnitOfWork, registry: Registry, cmd: CreditQuery, actor: Actor) -> CreditRecords:
    call = _start(uow, registry, Operation.CREDIT_LOOKUP, cmd.subject_code, cmd.purpose, actor)
    problem = _holder_problem(call.subject)
    if problem is not None:
        call.finish(uow, Result.REFUSED)
        raise ValidationFailed(problem, code="registry_subject_invalid", field="subject_code")
    found = registry.credit.records_of(call.subject)
    call.finish(uow, Result.FOUND if found else Result.NOT_FOUND)
    return CreditRecords(call.masked, found)


# --- the call log -----------------------------------------------------------------------------------------
def _china_midnight(day: date) -> datetime:
    """The start of a China day in UTC: SQLite compares stored UTC text with the value's digits, whatever
    its zone, so a bound in China time would be eight hours off there."""
    return clock.as_utc(datetime(day.year, day.month, day.day, tzinfo=clock.CHINA_TZ))


def search_calls(uow: UnitOfWork, query: CallQuery, actor: Actor) -> CallPage:
    """The calls the actor may read, newest first; dates are China dates, ``until`` included."""
    scope = policies.call_log_scope(actor)
    uow.authorize(not scope.empty, actor, "registry.call.search", object_type="registry_call")
    found, total = repository.search_calls(
        uow.session,
        repository.CallFilter(
            everything=scope.everything,
            divisions=scope.divisions,
            organisations=scope.organisations,
            since=_china_midnight(query.since) if query.since else None,
            until=_china_midnight(query.until + timedelta(days=1)) if query.until else None,
            operation=query.operation.value if query.operation else None,
            organisation_id=query.organisation_id,
            subject_hash=None,
        ),
        query.limit,
        query.offset,
    )
    return CallPage(tuple(found), total, query.limit, query.offset)


# --- grants -----------------------------------------------------------------------------------------------
def _organisation(uow: UnitOfWork, organisation_id: int) -> org.Organisation:
    try:
        return org.get_organisation(uow, organisation_id, _SEE_ALL)
    except NotFound:
        raise ValidationFailed(
            "单位不存在", code="registry_organisation_unknown", field="organisation_id"
        ) from None


def _grant_view(uow: UnitOfWork, row: repository.GrantRow) -> Grant:
    try:
        name = org.get_organisation(uow, row.organisation_id, _SEE_ALL).name
    except NotFound:
        name = f"#{row.organisation_id}"
    return Grant(
        row.organisation_id, name, row.division_code, row.operations, row.note, row.granted_by, row.granted_at
    )


def grant_registry(uow: UnitOfWork, cmd: GrantRegistry, actor: Actor) -> Grant:
    """The data bureau opens registry functions to a department (replacing what it had)."""
    unit = _organisation(uow, cmd.organisation_id)
    uow.authorize(
        policies.can_grant(actor, unit.division_code),
        actor,
        "registry.grant",
        object_type="organisation",
        object_id=unit.id,
    )
    row = repository.GrantRow(
        unit.id, unit.division_code, tuple(dict.fromkeys(cmd.operations)), cmd.note, actor.label, clock.now()
    )
    repository.save_grant(uow.session, row)
    uow.audit(
        actor,
        "registry.grant",
        object_type="organisation",
        object_id=unit.id,
        tenant=unit.division_code,
        detail={"operations": [o.value for o in row.operations], "note": cmd.note},
    )
    uow.commit()
    return _grant_view(uow, row)


def revoke_registry(uow: UnitOfWork, cmd: RevokeRegistry, actor: Actor) -> bool:
    unit = _organisation(uow, cmd.organisation_id)
    uow.authorize(
        policies.can_grant(actor, unit.division_code),
        actor,
        "registry.revoke",
        object_type="organisation",
        object_id=unit.id,
    )
    removed = repository.delete_grant(uow.session, unit.id)
    if removed:
        uow.audit(
            actor, "registry.revoke", object_type="organisation", object_id=unit.id, tenant=unit.division_code
        )
    uow.commit()
    return removed


def list_grants(uow: UnitOfWork, actor: Actor) -> tuple[Grant, ...]:
    uow.authorize(policies.can_list_grants(actor), actor, "registry.grant.list", object_type="registry_grant")
    scopes = None if actor.kind is ActorKind.SYSTEM else policies.bureau_scopes(actor)
    return tuple(_grant_view(uow, row) for row in repository.list_grants(uow.session, scopes))


# --- the indexes ------------------------------------------------------------------------------------------
def index_status(uow: UnitOfWork, registry: Registry, actor: Actor) -> tuple[IndexStatus, ...]:
    """Each index with its age and whether a load has changed its dataset since it was built."""
    uow.authorize(
        actor.kind is ActorKind.SYSTEM or policies.can_see_registry(actor),
        actor,
        "registry.index.status",
        object_type="registry_index",
    )
    return tuple(registry.index(kind).status(registry.store) for kind in Kind)


def reindex(
    uow: UnitOfWork,
    registry: Registry,
    actor: Actor,
    kinds: tuple[Kind, ...] = tuple(Kind),
    *,
    only_stale: bool = False,
) -> tuple[IndexStatus, ...]:
    """Rebuild the indexes from their datasets (after loads); ``only_stale`` skips the current ones and
    those whose dataset is not loaded yet."""
    uow.authorize(policies.can_reindex(actor), actor, "registry.reindex", object_type="registry_index")
    done = []
    for kind in kinds:
        index = registry.index(kind)
        if only_stale and (
            not index.status(registry.store).stale or index.spec.dataset not in registry.store.datasets()
        ):
            continue
        built = index.build(registry.store)
        uow.audit(
            actor,
            "registry.reindex",
            object_type="registry_index",
            object_id=kind.value,
            detail={"dataset": built.dataset, "rows": built.rows, "duplicates": built.duplicates},
        )
        done.append(built)
    uow.commit()
    return tuple(done)


REINDEX_JOB = "registry.reindex"
REINDEX_SCHEDULE = "registry.reindex-stale"
REINDEX_INTERVAL_SECONDS = 900


def register_jobs(jobs: JobRegistry, settings: Settings, store: DatasetStore) -> None:
    """A timer that rebuilds the indexes a load has made stale, so they follow the data without an
    operator (``wanshi registry reindex`` does the same at once). Called once from the composition root."""
    registry = Registry.build(settings, store)

    def run(uow: UnitOfWork, _payload: dict[str, object], _ctx: JobContext) -> None:
        reindex(uow, registry, SYSTEM, only_stale=True)

    jobs.handler(REINDEX_JOB, run)
    jobs.every(REINDEX_SCHEDULE, REINDEX_JOB, REINDEX_INTERVAL_SECONDS)
