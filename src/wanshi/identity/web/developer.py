"""统一开发平台: register the systems that sign people in through the platform (OIDC clients).

An organisation's administrator registers and manages its own systems; the data bureau sees those of its
divisions and can disable them. Pages and the JSON API (/api/v1/oidc-clients) call the same services.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Query, Request
from pydantic import BaseModel, Field, ValidationError
from starlette.responses import RedirectResponse, Response

from wanshi.bootstrap import Platform
from wanshi.identity.domain.oidc import SCOPE_WORDS, SENSITIVE_SCOPES, ClientType, OidcClient, Scope
from wanshi.identity.policies import oidc as policies
from wanshi.identity.services.oidc import ClientQuery, IssuedClient, OidcService, RegisterClient
from wanshi.identity.web.oidc import provider_of
from wanshi.infra.uow import UnitOfWork
from wanshi.kernel.actor import Actor, Role
from wanshi.kernel.errors import Conflict, NotFound, PermissionDenied, ValidationFailed, WanshiError
from wanshi.org import api as org
from wanshi.web.auth import csrf_protect, get_platform, require_staff
from wanshi.web.templating import render
from wanshi.web.web_registry import AdminSection, china_time, form_problems

PAGE = 50
NO_STORE = {"Cache-Control": "no-store"}
TYPE_NAMES = {
    ClientType.CONFIDENTIAL: "机密客户端（服务端系统，持有密钥）",
    ClientType.PUBLIC: "公开客户端（移动应用或桌面应用，无密钥）",
}

pages = APIRouter(prefix="/developer", dependencies=[Depends(csrf_protect)], include_in_schema=False)
clients_api = APIRouter(
    prefix="/api/v1/oidc-clients", tags=["oidc-clients"], dependencies=[Depends(csrf_protect)]
)

PlatformDep = Annotated[Platform, Depends(get_platform)]
StaffDep = Annotated[Actor, Depends(require_staff)]


def _service(request: Request) -> OidcService:
    return provider_of(request).oidc


def _names(uow: UnitOfWork, clients: list[OidcClient], actor: Actor) -> dict[int, str]:
    names = {}
    for organisation_id in {c.organisation_id for c in clients}:
        try:
            names[organisation_id] = org.get_organisation(uow, organisation_id, actor).name
        except NotFound:
            names[organisation_id] = f"#{organisation_id}"
    return names


def _own_organisations(uow: UnitOfWork, actor: Actor) -> list[org.Organisation]:
    found = []
    for organisation_id in sorted(actor.organisations_for(Role.ORG_ADMIN)):
        try:
            found.append(org.get_organisation(uow, organisation_id, actor))
        except NotFound:
            continue
    return found


# --- pages ---------------------------------------------------------------------------------------------
@pages.get("")
def clients_page(
    request: Request, platform: PlatformDep, actor: StaffDep, page: Annotated[int, Query(ge=1)] = 1
) -> Response:
    with platform.uow() as uow:
        clients, total = _service(request).list_clients(
            uow, ClientQuery(limit=PAGE, offset=(page - 1) * PAGE), actor
        )
        names = _names(uow, clients, actor)
    return render(
        request,
        "identity/developer_clients.html",
        {
            "clients": clients,
            "total": total,
            "page": page,
            "has_next": page * PAGE < total,
            "names": names,
            "can_register": bool(actor.organisations_for(Role.ORG_ADMIN)),
            "china_time": china_time,
        },
    )


def _form_page(
    request: Request,
    platform: Platform,
    actor: Actor,
    form: dict[str, Any],
    *,
    errors: dict[str, str] | None = None,
    general: str = "",
    status_code: int = 200,
) -> Response:
    with platform.uow() as uow:
        organisations = _own_organisations(uow, actor)
    if not organisations:
        raise PermissionDenied("只有单位管理员可以登记接入系统")
    return render(
        request,
        "identity/developer_client_form.html",
        {
            "form": form,
            "errors": errors or {},
            "general": general,
            "organisations": organisations,
            "types": TYPE_NAMES,
            "scopes": [(s, SCOPE_WORDS[s], s in SENSITIVE_SCOPES) for s in Scope if s is not Scope.OPENID],
        },
        status_code=status_code,
    )


@pages.get("/clients/new")
def new_client_page(request: Request, platform: PlatformDep, actor: StaffDep) -> Response:
    blank = {"client_type": ClientType.CONFIDENTIAL.value, "scopes": [Scope.PROFILE.value]}
    return _form_page(request, platform, actor, blank)


def _lines(text: str) -> list[str]:
    return [line.strip() for line in text.splitlines() if line.strip()]


@pages.post("/clients")
def register_client_page(
    request: Request,
    platform: PlatformDep,
    actor: StaffDep,
    name: Annotated[str, Form(max_length=200)] = "",
    description: Annotated[str, Form(max_length=600)] = "",
    organisation_id: Annotated[str, Form(max_length=20)] = "",
    client_type: Annotated[str, Form(max_length=20)] = ClientType.CONFIDENTIAL.value,
    redirect_uris: Annotated[str, Form(max_length=6000)] = "",
    post_logout_redirect_uris: Annotated[str, Form(max_length=6000)] = "",
    scopes: Annotated[list[str] | None, Form()] = None,
) -> Response:
    form: dict[str, Any] = {
        "name": name,
        "description": description,
        "organisation_id": organisation_id,
        "client_type": client_type,
        "redirect_uris": redirect_uris,
        "post_logout_redirect_uris": post_logout_redirect_uris,
        "scopes": scopes or [],
    }
    values = {
        "name": name,
        "description": description,
        "client_type": client_type,
        "redirect_uris": _lines(redirect_uris),
        "post_logout_redirect_uris": _lines(post_logout_redirect_uris),
        "scopes": ["openid", *(scopes or [])],
        **({"organisation_id": organisation_id} if organisation_id else {}),
    }
    try:
        cmd = RegisterClient.model_validate(values)
        with platform.uow() as uow:
            issued = _service(request).register_client(uow, cmd, actor)
    except (ValidationError, ValidationFailed, Conflict, NotFound) as exc:
        errors, general = form_problems(exc)
        status = exc.http_status if isinstance(exc, WanshiError) else 422
        return _form_page(request, platform, actor, form, errors=errors, general=general, status_code=status)
    return _client_page(request, platform, actor, issued.client, secret=issued.secret, done="registered")


def _client_page(
    request: Request,
    platform: Platform,
    actor: Actor,
    client: OidcClient,
    *,
    secret: str | None = None,
    done: str = "",
) -> Response:
    with platform.uow() as uow:
        names = _names(uow, [client], actor)
    response = render(
        request,
        "identity/developer_client.html",
        {
            "client": client,
            "organisation_name": names.get(client.organisation_id, ""),
            "secret": secret,
            "done": done,
            "types": TYPE_NAMES,
            "scope_words": SCOPE_WORDS,
            "china_time": china_time,
            "can_rotate": client.active
            and client.client_type is ClientType.CONFIDENTIAL
            and policies.can_rotate_client_secret(actor, client.organisation_id),
            "can_disable": client.active
            and policies.can_disable_client(actor, client.organisation_id, client.division_code),
            "issuer": provider_of(request).issuer(str(request.base_url)),
        },
    )
    if secret:
        response.headers.update(NO_STORE)
    return response


@pages.get("/clients/{client_id}")
def client_page(request: Request, client_id: str, platform: PlatformDep, actor: StaffDep) -> Response:
    with platform.uow() as uow:
        client = _service(request).get_client(uow, client_id, actor)
    return _client_page(request, platform, actor, client, done=request.query_params.get("done", ""))


@pages.post("/clients/{client_id}/secret")
def rotate_secret_page(request: Request, client_id: str, platform: PlatformDep, actor: StaffDep) -> Response:
    with platform.uow() as uow:
        issued = _service(request).rotate_client_secret(uow, client_id, actor)
    return _client_page(request, platform, actor, issued.client, secret=issued.secret, done="rotated")


@pages.post("/clients/{client_id}/disable")
def disable_page(request: Request, client_id: str, platform: PlatformDep, actor: StaffDep) -> Response:
    with platform.uow() as uow:
        _service(request).disable_client(uow, client_id, actor)
    return RedirectResponse(f"/developer/clients/{client_id}?done=disabled", status_code=303)


# --- JSON API ------------------------------------------------------------------------------------------
class ClientOut(BaseModel):
    client_id: str
    name: str
    description: str
    organisation_id: int
    division_code: str
    client_type: ClientType
    redirect_uris: list[str]
    post_logout_redirect_uris: list[str]
    scopes: list[Scope]
    active: bool
    created_by: str
    created_at: datetime
    secret_rotated_at: datetime | None
    disabled_at: datetime | None


class IssuedOut(ClientOut):
    client_secret: str | None = Field(
        description="Shown in this answer only, never again (stored as a digest); null for a public client"
    )


class ClientListOut(BaseModel):
    total: int
    items: list[ClientOut]


def _out(client: OidcClient) -> ClientOut:
    return ClientOut(
        client_id=client.client_id,
        name=client.name,
        description=client.description,
        organisation_id=client.organisation_id,
        division_code=client.division_code,
        client_type=client.client_type,
        redirect_uris=list(client.redirect_uris),
        post_logout_redirect_uris=list(client.post_logout_redirect_uris),
        scopes=client.scope_list,
        active=client.active,
        created_by=client.created_by,
        created_at=client.created_at,
        secret_rotated_at=client.secret_rotated_at,
        disabled_at=client.disabled_at,
    )


def _issued(issued: IssuedClient) -> IssuedOut:
    return IssuedOut(**_out(issued.client).model_dump(), client_secret=issued.secret)


@clients_api.get("", response_model=ClientListOut, summary="Relying systems I manage or oversee")
def list_clients_api(
    request: Request, platform: PlatformDep, actor: StaffDep, query: Annotated[ClientQuery, Query()]
) -> ClientListOut:
    with platform.uow() as uow:
        clients, total = _service(request).list_clients(uow, query, actor)
    return ClientListOut(total=total, items=[_out(c) for c in clients])


@clients_api.post("", response_model=IssuedOut, status_code=201, summary="Register a relying system")
def register_client_api(
    request: Request, platform: PlatformDep, actor: StaffDep, cmd: RegisterClient
) -> Response:
    with platform.uow() as uow:
        issued = _service(request).register_client(uow, cmd, actor)
    return Response(
        _issued(issued).model_dump_json(), status_code=201, media_type="application/json", headers=NO_STORE
    )


@clients_api.get("/{client_id}", response_model=ClientOut, summary="One relying system")
def get_client_api(request: Request, client_id: str, platform: PlatformDep, actor: StaffDep) -> ClientOut:
    with platform.uow() as uow:
        return _out(_service(request).get_client(uow, client_id, actor))


@clients_api.post("/{client_id}/secret", response_model=IssuedOut, summary="Issue a new client secret")
def rotate_secret_api(request: Request, client_id: str, platform: PlatformDep, actor: StaffDep) -> Response:
    with platform.uow() as uow:
        issued = _service(request).rotate_client_secret(uow, client_id, actor)
    return Response(_issued(issued).model_dump_json(), media_type="application/json", headers=NO_STORE)


@clients_api.post("/{client_id}/disable", response_model=ClientOut, summary="Disable a relying system")
def disable_client_api(request: Request, client_id: str, platform: PlatformDep, actor: StaffDep) -> ClientOut:
    with platform.uow() as uow:
        return _out(_service(request).disable_client(uow, client_id, actor))


admin_sections = [
    AdminSection(
        "/developer",
        "统一开发平台",
        70,
        policies.can_list_clients,
        description="登记通过统一身份认证登录的业务系统：回调地址、授权范围和密钥。",
    )
]

routers = [pages, clients_api]
