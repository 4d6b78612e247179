"""Enterprise identity pages (企业身份): open a legal person's account, authorise and revoke agents (经办人),
and switch one's session between oneself and an enterprise; JSON twins under /api/v1/enterprises.

Pages and API call the same services; the services authorise, so a page never shows what its service
would refuse.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Request
from pydantic import BaseModel, Field, ValidationError
from starlette.responses import RedirectResponse, Response

from wanshi.bootstrap import Platform
from wanshi.identity import api as identity
from wanshi.identity.domain.enterprise import (
    ROLE_NAMES,
    STATUS_NAMES,
    ActingRole,
    DelegationScope,
    DelegationStatus,
)
from wanshi.kernel import clock
from wanshi.kernel.actor import Actor, Assurance
from wanshi.kernel.errors import NotAuthenticated, WanshiError
from wanshi.web.auth import csrf_protect, current_actor, get_platform
from wanshi.web.errors import field_errors
from wanshi.web.templating import render

BASE = "/account/enterprises"
DONE_MESSAGES = {
    "registered": "法人账号已开通",
    "switched": "已切换为企业身份办事",
    "self": "已切换回个人身份",
    "granted": "已授权经办人",
    "revoked": "已撤销授权",
}
FORM_LABELS = {
    "credit_code": "统一社会信用代码",
    "name": "企业名称",
    "agent_id_number": "经办人身份证号",
    "agent_name": "经办人姓名",
    "scopes": "授权事项",
    "valid_from": "开始日期",
    "valid_until": "截止日期",
}


def signed_in(actor: Annotated[Actor, Depends(current_actor)]) -> Actor:
    if actor.user_id is None:
        raise NotAuthenticated()
    return actor


pages = APIRouter(dependencies=[Depends(csrf_protect)], include_in_schema=False)
enterprise_api = APIRouter(
    prefix="/api/v1/enterprises", tags=["enterprises"], dependencies=[Depends(csrf_protect)]
)
PlatformDep = Annotated[Platform, Depends(get_platform)]
PersonDep = Annotated[Actor, Depends(signed_in)]


def enterprises(platform: Platform) -> identity.Enterprises:
    return platform.identity.enterprises


def _problem(exc: ValidationError | WanshiError) -> str:
    if isinstance(exc, WanshiError):
        return exc.message
    return "；".join(
        f"{FORM_LABELS.get(p['field'], p['field'])}：{p['message']}" for p in field_errors(list(exc.errors()))
    )


def _status(exc: ValidationError | WanshiError) -> int:
    return exc.http_status if isinstance(exc, WanshiError) else 422


def _china_day(value: datetime | None) -> str:
    return clock.as_utc(value).astimezone(clock.CHINA_TZ).strftime("%Y-%m-%d") if value else ""


def _common() -> dict[str, Any]:
    return {
        "scope_names": identity.SCOPE_NAMES,
        "role_names": ROLE_NAMES,
        "status_names": STATUS_NAMES,
        "china_day": _china_day,
        "base": BASE,
    }


# --- my enterprises ---------------------------------------------------------------------------------------
def _list_page(request: Request, platform: Platform, actor: Actor, **extra: Any) -> Response:
    status = int(extra.pop("status_code", 200))
    with platform.uow() as uow:
        mine = enterprises(platform).my_enterprises(uow, actor)
        account = platform.identity.accounts.my_account(uow, actor)
    acting = next((a for a in mine if a.legal_person.id == actor.legal_person_id), None)
    context = {
        **_common(),
        "enterprises": mine,
        "acting": acting,
        "may_claim": account.assurance is not None and account.assurance.rank >= Assurance.REAL_NAME.rank,
        "done": DONE_MESSAGES.get(request.query_params.get("done", ""), ""),
        "form": {},
        **extra,
    }
    return render(request, "identity/enterprise_list.html", context, status_code=status)


@pages.get(BASE)
def my_enterprises_page(request: Request, platform: PlatformDep, actor: PersonDep) -> Response:
    return _list_page(request, platform, actor)


@pages.post(BASE)
def claim_page(
    request: Request,
    platform: PlatformDep,
    actor: PersonDep,
    credit_code: Annotated[str, Form(max_length=30)],
    name: Annotated[str, Form(max_length=100)],
) -> Response:
    form = {"credit_code": credit_code, "name": name}
    try:
        cmd = identity.ClaimLegalPerson(credit_code=credit_code, name=name)
        with platform.uow() as uow:
            company = enterprises(platform).claim_legal_person(uow, cmd, actor)
    except (ValidationError, WanshiError) as exc:
        return _list_page(request, platform, actor, form=form, error=_problem(exc), status_code=_status(exc))
    return RedirectResponse(f"{BASE}/{company.id}?done=registered", status_code=303)


@pages.post(f"{BASE}/switch-back")
def act_as_self_page(platform: PlatformDep, actor: PersonDep) -> Response:
    with platform.uow() as uow:
        enterprises(platform).act_as_self(uow, actor)
    return RedirectResponse(f"{BASE}?done=self", status_code=303)


@pages.post(f"{BASE}/{{legal_person_id}}/switch")
def act_for_page(legal_person_id: int, platform: PlatformDep, actor: PersonDep) -> Response:
    with platform.uow() as uow:
        enterprises(platform).act_for(uow, legal_person_id, actor)
    return RedirectResponse(f"{BASE}?done=switched", status_code=303)


# --- one enterprise ---------------------------------------------------------------------------------------
def _detail_page(
    request: Request, platform: Platform, actor: Actor, legal_person_id: int, **extra: Any
) -> Response:
    status = int(extra.pop("status_code", 200))
    service = enterprises(platform)
    with platform.uow() as uow:
        company = service.get_legal_person(uow, legal_person_id, actor)
        is_rep = company.legal_rep_user_id == actor.user_id
        delegations = service.list_delegations(uow, legal_person_id, actor) if is_rep else []
        mine = next((a for a in service.my_enterprises(uow, actor) if a.legal_person.id == company.id), None)
    today = clock.today_in_china()
    context = {
        **_common(),
        "company": company,
        "is_rep": is_rep,
        "mine": mine,
        "delegations": delegations,
        "now": clock.now(),
        "open_statuses": (DelegationStatus.ACTIVE, DelegationStatus.PENDING),
        "scopes": list(DelegationScope),
        "today": today.isoformat(),
        "max_days": platform.settings.delegation_max_days,
        "done": DONE_MESSAGES.get(request.query_params.get("done", ""), ""),
        "form": {},
        **extra,
    }
    return render(request, "identity/enterprise_detail.html", context, status_code=status)


@pages.get(f"{BASE}/{{legal_person_id}}")
def enterprise_page(
    request: Request, legal_person_id: int, platform: PlatformDep, actor: PersonDep
) -> Response:
    return _detail_page(request, platform, actor, legal_person_id)


@pages.post(f"{BASE}/{{legal_person_id}}/agents")
def grant_page(
    request: Request,
    legal_person_id: int,
    platform: PlatformDep,
    actor: PersonDep,
    agent_id_number: Annotated[str, Form(max_length=20)],
    agent_name: Annotated[str, Form(max_length=30)],
    valid_until: Annotated[str, Form(max_length=10)],
    valid_from: Annotated[str, Form(max_length=10)] = "",
    scopes: Annotated[list[str] | None, Form()] = None,
) -> Response:
    form: dict[str, Any] = {
        "agent_id_number": agent_id_number,
        "agent_name": agent_name,
        "valid_from": valid_from,
        "valid_until": valid_until,
        "scopes": scopes or [],
    }
    try:
        # Validated from the form's strings: pydantic parses the ISO dates of the date inputs.
        cmd = identity.GrantDelegation.model_validate(
            {**form, "legal_person_id": legal_person_id, "valid_from": valid_from or None}
        )
        with platform.uow() as uow:
            enterprises(platform).grant_delegation(uow, cmd, actor)
    except (ValidationError, WanshiError) as exc:
        return _detail_page(
            request,
            platform,
            actor,
            legal_person_id,
            form=form,
            error=_problem(exc),
            status_code=_status(exc),
        )
    return RedirectResponse(f"{BASE}/{legal_person_id}?done=granted", status_code=303)


@pages.post(f"{BASE}/{{legal_person_id}}/agents/{{delegation_id}}/revoke")
def revoke_page(
    legal_person_id: int, delegation_id: int, platform: PlatformDep, actor: PersonDep
) -> Response:
    cmd = identity.RevokeDelegation(legal_person_id=legal_person_id, delegation_id=delegation_id)
    with platform.uow() as uow:
        enterprises(platform).revoke_delegation(uow, cmd, actor)
    return RedirectResponse(f"{BASE}/{legal_person_id}?done=revoked", status_code=303)


# --- JSON -------------------------------------------------------------------------------------------------
class LegalPersonOut(BaseModel):
    id: int
    credit_code: str
    name: str
    assurance: str | None
    created_at: datetime


class ActingForOut(BaseModel):
    legal_person: LegalPersonOut
    role: ActingRole
    scopes: list[str]
    delegation_id: int | None
    valid_until: datetime | None  # exclusive; none for the legal representative


class MyEnterprisesOut(BaseModel):
    acting_for: int | None = Field(description="The legal person this session acts for now, if any")
    acting_scopes: list[str]
    enterprises: list[ActingForOut]


class DelegationOut(BaseModel):
    id: int
    legal_person_id: int
    agent_name: str
    agent_id_number: str = Field(description="Masked")
    scopes: list[str]
    valid_from: datetime
    valid_until: datetime = Field(description="Exclusive: the end of last_day in China time")
    last_day: date
    status: DelegationStatus
    revoked_at: datetime | None


class GrantIn(BaseModel):
    agent_id_number: str = Field(max_length=20)
    agent_name: str = Field(min_length=2, max_length=30)
    scopes: list[str] = Field(max_length=10, description="Of: apply, pay, licence, view")
    valid_from: date | None = None
    valid_until: date = Field(description="The last day, inclusive (China time)")


def _legal_person_out(company: identity.LegalPerson) -> LegalPersonOut:
    return LegalPersonOut(
        id=company.id,
        credit_code=company.credit_code,
        name=company.name,
        assurance=company.assurance.value if company.assurance else None,
        created_at=company.created_at,
    )


def _acting_out(acting: identity.ActingFor) -> ActingForOut:
    return ActingForOut(
        legal_person=_legal_person_out(acting.legal_person),
        role=acting.role,
        scopes=sorted(acting.scopes),
        delegation_id=acting.delegation_id,
        valid_until=acting.valid_until,
    )


def _delegation_out(delegation: identity.Delegation) -> DelegationOut:
    return DelegationOut(
        id=delegation.id,
        legal_person_id=delegation.legal_person_id,
        agent_name=delegation.agent_name,
        agent_id_number=delegation.agent_id_masked,
        scopes=sorted(delegation.scopes),
        valid_from=delegation.valid_from,
        valid_until=delegation.valid_until,
        last_day=delegation.last_day,
        status=delegation.status(clock.now()),
        revoked_at=delegation.revoked_at,
    )


@enterprise_api.get(
    "", response_model=MyEnterprisesOut, summary="Enterprises I may act for, and for which now"
)
def my_enterprises_api(platform: PlatformDep, actor: PersonDep) -> MyEnterprisesOut:
    with platform.uow() as uow:
        mine = enterprises(platform).my_enterprises(uow, actor)
    return MyEnterprisesOut(
        acting_for=actor.legal_person_id,
        acting_scopes=sorted(actor.delegated_scopes),
        enterprises=[_acting_out(a) for a in mine],
    )


@enterprise_api.post(
    "", response_model=LegalPersonOut, status_code=201, summary="Open a legal person's account"
)
def claim_api(body: identity.ClaimLegalPerson, platform: PlatformDep, actor: PersonDep) -> LegalPersonOut:
    with platform.uow() as uow:
        return _legal_person_out(enterprises(platform).claim_legal_person(uow, body, actor))


@enterprise_api.post("/act-as-self", status_code=204, summary="Act as oneself again")
def act_as_self_api(platform: PlatformDep, actor: PersonDep) -> Response:
    with platform.uow() as uow:
        enterprises(platform).act_as_self(uow, actor)
    return Response(status_code=204)


@enterprise_api.get("/{legal_person_id}", response_model=LegalPersonOut, summary="One legal person")
def legal_person_api(legal_person_id: int, platform: PlatformDep, actor: PersonDep) -> LegalPersonOut:
    with platform.uow() as uow:
        return _legal_person_out(enterprises(platform).get_legal_person(uow, legal_person_id, actor))


@enterprise_api.post(
    "/{legal_person_id}/act", response_model=ActingForOut, summary="Act for this legal person"
)
def act_for_api(legal_person_id: int, platform: PlatformDep, actor: PersonDep) -> ActingForOut:
    with platform.uow() as uow:
        return _acting_out(enterprises(platform).act_for(uow, legal_person_id, actor))


@enterprise_api.get(
    "/{legal_person_id}/delegations",
    response_model=list[DelegationOut],
    summary="The legal person's agents (legal representative only)",
)
def delegations_api(legal_person_id: int, platform: PlatformDep, actor: PersonDep) -> list[DelegationOut]:
    with platform.uow() as uow:
        found = enterprises(platform).list_delegations(uow, legal_person_id, actor)
    return [_delegation_out(d) for d in found]


@enterprise_api.post(
    "/{legal_person_id}/delegations",
    response_model=DelegationOut,
    status_code=201,
    summary="Authorise an agent",
)
def grant_api(legal_person_id: int, body: GrantIn, platform: PlatformDep, actor: PersonDep) -> DelegationOut:
    cmd = identity.GrantDelegation(legal_person_id=legal_person_id, **body.model_dump())
    with platform.uow() as uow:
        return _delegation_out(enterprises(platform).grant_delegation(uow, cmd, actor))


@enterprise_api.post(
    "/{legal_person_id}/delegations/{delegation_id}/revoke",
    response_model=DelegationOut,
    summary="Revoke an agent's delegation",
)
def revoke_api(
    legal_person_id: int, delegation_id: int, platform: PlatformDep, actor: PersonDep
) -> DelegationOut:
    cmd = identity.RevokeDelegation(legal_person_id=legal_person_id, delegation_id=delegation_id)
    with platform.uow() as uow:
        return _delegation_out(enterprises(platform).revoke_delegation(uow, cmd, actor))


routers = [pages, enterprise_api]
