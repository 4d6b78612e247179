"""The base registries over HTTP: the JSON service API (/api/v1/registry) and the call-log page
(/admin/registry/calls), over the same services.

The API authenticates with the staff session like the catalogue's, so every state-changing request
(verification writes a log row) carries the session's CSRF token in the x-csrf-token header.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel, ConfigDict, Field
from pydantic import ValidationError as PydanticValidationError
from starlette.responses import Response

from wanshi.bootstrap import Platform
from wanshi.datahub.registry import api as registry
from wanshi.datahub.registry import policies
from wanshi.kernel.actor import Actor, ActorKind
from wanshi.org import api as org
from wanshi.web.auth import csrf_protect, get_platform, require_staff
from wanshi.web.web_registry import AdminSection, form_problems, render_admin

pages = APIRouter(prefix="/admin/registry", dependencies=[Depends(csrf_protect)], include_in_schema=False)
api_router = APIRouter(prefix="/api/v1/registry", tags=["registry"], dependencies=[Depends(csrf_protect)])
routers = [pages, api_router]

Staff = Annotated[Actor, Depends(require_staff)]
PlatformDep = Annotated[Platform, Depends(get_platform)]
PAGE_SIZE = 50
ORGANISATION_CHOICES = 500
_SEE_ALL = Actor(kind=ActorKind.SYSTEM, username="registry")


def _registry(platform: Platform) -> registry.Registry:
    return registry.Registry.build(platform.settings, platform.datastore)


# --- JSON API ---------------------------------------------------------------------------------------------
class Out(BaseModel):
    model_config = ConfigDict(frozen=True)


class VerificationOut(Out):
    result: registry.Result = Field(description="Stable result code")
    ok: bool = Field(description="Identity matches and the subject is active")
    matched: bool = Field(description="Number and name belong together, whatever the status")
    status: str = Field(description="Status as the registry records it (存续, 注销, 死亡 ...)")
    message: str
    subject: str = Field(description="The identifier, masked")
    as_of: datetime | None = Field(description="When the index that answered was built")

    @classmethod
    def of(cls, v: registry.PersonVerification | registry.EnterpriseVerification) -> VerificationOut:
        return cls(
            result=v.result,
            ok=v.ok,
            matched=v.matched,
            status=v.status,
            message=v.message,
            subject=v.subject,
            as_of=v.as_of,
        )


class PrefillOut(Out):
    found: bool
    subject: str
    values: dict[str, str | None]
    as_of: datetime | None

    @classmethod
    def of(cls, p: registry.Prefill) -> PrefillOut:
        return cls(found=p.found, subject=p.subject, values=dict(p.values), as_of=p.as_of)


class LicenceOut(Out):
    subject: str
    licences: list[dict[str, str]]


class CreditOut(Out):
    subject: str
    records: list[dict[str, str]]


class CallOut(Out):
    id: int
    at: datetime
    actor: str
    actor_kind: str
    organisation_id: int | None
    division_code: str
    purpose: str
    operation: str
    subject_masked: str
    subject_hash: str = Field(description="HMAC of the identifier: the same subject, the same value")
    result: str
    duration_ms: int
    request_id: str


class CallPageOut(Out):
    items: list[CallOut]
    total: int
    limit: int
    offset: int


class GrantOut(Out):
    organisation_id: int
    organisation_name: str
    division_code: str
    operations: list[registry.Operation]
    note: str
    granted_by: str
    granted_at: datetime

    @classmethod
    def of(cls, g: registry.Grant) -> GrantOut:
        return cls(
            organisation_id=g.organisation_id,
            organisation_name=g.organisation_name,
            division_code=g.division_code,
            operations=list(g.operations),
            note=g.note,
            granted_by=g.granted_by,
            granted_at=g.granted_at,
        )


class IndexOut(Out):
    kind: registry.Kind
    dataset: str
    built: bool
    built_at: datetime | None
    rows: int
    duplicates: int
    build_seconds: float
    stale: bool


class GrantIn(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")
    operations: tuple[registry.Operation, ...] = Field(min_length=1)
    note: str = Field(default="", max_length=2000)


@api_router.post(
    "/persons/verify", summary="实名核验: a name against an ID number in the population registry"
)
def api_verify_person(platform: PlatformDep, actor: Staff, body: registry.VerifyPerson) -> VerificationOut:
    with platform.uow() as uow:
        return VerificationOut.of(registry.verify_person(uow, _registry(platform), body, actor))


@api_router.post(
    "/enterprises/verify", summary="A name (and legal representative) against a 统一社会信用代码"
)
def api_verify_enterprise(
    platform: PlatformDep, actor: Staff, body: registry.VerifyEnterprise
) -> VerificationOut:
    with platform.uow() as uow:
        return VerificationOut.of(registry.verify_enterprise(uow, _registry(platform), body, actor))


@api_router.post("/persons/prefill", summary="免填报: the asked-for fields of a person's record")
def api_person_prefill(platform: PlatformDep, actor: Staff, body: registry.PersonPrefill) -> PrefillOut:
    with platform.uow() as uow:
        return PrefillOut.of(registry.person_prefill(uow, _registry(platform), body, actor))


@api_router.post("/enterprises/prefill", summary="免填报: the asked-for fields of an enterprise's record")
def api_enterprise_prefill(
    platform: PlatformDep, actor: Staff, body: registry.EnterprisePrefill
) -> PrefillOut:
    with platform.uow() as uow:
        return PrefillOut.of(registry.enterprise_prefill(uow, _registry(platform), body, actor))


@api_router.post("/licences/lookup", summary="E-licences (电子证照) held by a person or an organisation")
def api_licences(platform: PlatformDep, actor: Staff, body: registry.LicenceQuery) -> LicenceOut:
    with platform.uow() as uow:
        found = registry.find_licences(uow, _registry(platform), body, actor)
    return LicenceOut(subject=found.subject, licences=[vars(x) for x in found.licences])


@api_router.post("/credit/lookup", summary="Credit records (信用记录) of a person or an organisation")
def api_credit(platform: PlatformDep, actor: Staff, body: registry.CreditQuery) -> CreditOut:
    with platform.uow() as uow:
        found = registry.credit_records(uow, _registry(platform), body, actor)
    return CreditOut(subject=found.subject, records=[vars(x) for x in found.records])


def _call_out(row: Any) -> CallOut:
    return CallOut.model_validate(row, from_attributes=True)


@api_router.get("/calls", summary="The call log: auditors and the data bureau see all, a department its own")
def api_calls(
    platform: PlatformDep,
    actor: Staff,
    since: date | None = None,
    until: date | None = None,
    operation: registry.Operation | None = None,
    organisation_id: int | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> CallPageOut:
    query = registry.CallQuery(
        since=since,
        until=until,
        operation=operation,
        organisation_id=organisation_id,
        limit=limit,
        offset=offset,
    )
    with platform.uow() as uow:
        page = registry.search_calls(uow, query, actor)
    return CallPageOut(items=[_call_out(r) for r in page.items], total=page.total, limit=limit, offset=offset)


@api_router.get("/index", summary="The registry indexes: size, age and whether a load made them stale")
def api_index(platform: PlatformDep, actor: Staff) -> list[IndexOut]:
    with platform.uow() as uow:
        found = registry.index_status(uow, _registry(platform), actor)
    return [IndexOut.model_validate(s, from_attributes=True) for s in found]


@api_router.get("/grants", summary="Registry functions granted to departments (the data bureau)")
def api_grants(platform: PlatformDep, actor: Staff) -> list[GrantOut]:
    with platform.uow() as uow:
        return [GrantOut.of(g) for g in registry.list_grants(uow, actor)]


@api_router.put("/grants/{organisation_id}", summary="Grant registry functions to a department")
def api_grant(platform: PlatformDep, actor: Staff, organisation_id: int, body: GrantIn) -> GrantOut:
    command = registry.GrantRegistry(
        organisation_id=organisation_id, operations=body.operations, note=body.note
    )
    with platform.uow() as uow:
        return GrantOut.of(registry.grant_registry(uow, command, actor))


@api_router.delete("/grants/{organisation_id}", status_code=204, summary="Withdraw a department's grant")
def api_revoke(platform: PlatformDep, actor: Staff, organisation_id: int) -> Response:
    with platform.uow() as uow:
        registry.revoke_registry(uow, registry.RevokeRegistry(organisation_id=organisation_id), actor)
    return Response(status_code=204)


# --- the call-log page ------------------------------------------------------------------------------------
def _filters(params: dict[str, str], page: int) -> tuple[dict[str, Any], dict[str, str]]:
    """The filters from the query string; a value that is not one of the options is ignored."""
    kept = {k: params.get(k, "").strip() for k in ("since", "until", "operation", "organisation")}
    values: dict[str, Any] = {
        "since": kept["since"] or None,
        "until": kept["until"] or None,
        "operation": kept["operation"] if kept["operation"] in set(registry.Operation) else None,
        "organisation_id": int(kept["organisation"]) if kept["organisation"].isdigit() else None,
        "limit": PAGE_SIZE,
        "offset": (max(page, 1) - 1) * PAGE_SIZE,
    }
    return values, kept


@pages.get("")
def registry_home() -> Response:
    return Response(status_code=303, headers={"location": "/admin/registry/calls"})


@pages.get("/calls")
def calls_page(
    request: Request, platform: PlatformDep, actor: Staff, page: Annotated[int, Query(ge=1, le=10_000)] = 1
) -> Response:
    values, kept = _filters(dict(request.query_params), page)
    errors: dict[str, str] = {}
    try:
        query = registry.CallQuery(**values)
    except PydanticValidationError as exc:
        errors, _general = form_problems(exc)
        query = registry.CallQuery(
            **{**values, **{k: None for k in errors if k in ("since", "until")}},
        )
    with platform.uow() as uow:
        found = registry.search_calls(uow, query, actor)
        indexes = registry.index_status(uow, _registry(platform), actor)
        grants = registry.list_grants(uow, actor) if policies.can_list_grants(actor) else ()
        # Organisation names are not secret; the log itself is filtered by the caller's scope.
        organisations, _total = org.list_organisations(
            uow, org.OrganisationQuery(limit=ORGANISATION_CHOICES), _SEE_ALL
        )
    return render_admin(
        request,
        actor,
        "registry/calls.html",
        {
            "found": found,
            "filters": kept,
            "errors": errors,
            "labels": {"since": "开始日期", "until": "结束日期"},
            "operations": list(registry.Operation),
            "results": {r.value: r.label for r in registry.Result},
            "operation_names": {o.value: o.label for o in registry.Operation},
            "organisations": organisations,
            "organisation_names": {o.id: o.name for o in organisations},
            "indexes": indexes,
            "grants": grants,
            "page": page,
            "has_next": found.offset + len(found.items) < found.total,
        },
        status_code=422 if errors else 200,
    )


admin_sections = [
    AdminSection(
        "/admin/registry/calls",
        "基础库调用",
        45,
        policies.can_see_registry,
        description="人口库、法人库核验与预填调用日志，索引状态与部门授权。",
    )
]
