"""Admin pages and JSON API for staff accounts: list, create with roles, grant and revoke, reset password."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Form, Query, Request
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from starlette.responses import RedirectResponse, Response

from wanshi.bootstrap import Platform
from wanshi.identity import api as identity
from wanshi.identity import policies
from wanshi.infra.uow import UnitOfWork
from wanshi.kernel.actor import Actor, Role
from wanshi.kernel.errors import Conflict, NotFound, PermissionDenied, ValidationFailed, WanshiError
from wanshi.org import api as org
from wanshi.web.auth import csrf_protect, get_platform, require_staff
from wanshi.web.web_registry import AdminSection, Stat, form_problems, render_admin

PAGE = 50
# The create form lists this many organisations at most; a province-wide administrator narrows by name.
ORGANISATION_CHOICES = 200

FIELD_LABELS = {
    "username": "用户名",
    "display_name": "姓名",
    "organisation_id": "所属单位",
    "password": "初始密码",
    "roles": "角色",
}
DONE_MESSAGES = {
    "created": "账号已创建。",
    "granted": "角色已授予。",
    "revoked": "角色已收回。",
    "reset": "密码已重置。",
}

pages = APIRouter(prefix="/admin/users", dependencies=[Depends(csrf_protect)], include_in_schema=False)
users_api = APIRouter(prefix="/api/v1/users", tags=["users"], dependencies=[Depends(csrf_protect)])

PlatformDep = Annotated[Platform, Depends(get_platform)]
StaffDep = Annotated[Actor, Depends(require_staff)]


def _organisation_names(uow: UnitOfWork, ids: set[int], actor: Actor) -> dict[int, str]:
    names = {}
    for organisation_id in ids:
        try:
            names[organisation_id] = org.get_organisation(uow, organisation_id, actor).name
        except NotFound:
            names[organisation_id] = f"#{organisation_id}"
    return names


# --- pages ---------------------------------------------------------------------------------------
def _users_page(
    request: Request,
    platform: Platform,
    actor: Actor,
    q: str,
    page: int,
    *,
    failed: tuple[int, str] | None = None,
    status_code: int = 200,
) -> Response:
    with platform.uow() as uow:
        staff, total = platform.identity.list_staff(
            uow, identity.StaffQuery(q=q, limit=PAGE, offset=(page - 1) * PAGE), actor
        )
        ids = {u.organisation_id for u in staff} | {g.organisation_id for u in staff for g in u.grants}
        names = _organisation_names(uow, ids, actor)
    return render_admin(
        request,
        actor,
        "admin/users.html",
        {
            "staff": staff,
            "total": total,
            "q": q,
            "page": page,
            "has_next": page * PAGE < total,
            "organisation_names": names,
            "role_names": identity.ROLE_NAMES,
            "done": DONE_MESSAGES.get(request.query_params.get("done", "")),
            "can_create": _may_create_somewhere(actor),
            "failed": failed,
            "grantable": lambda u: [
                r for r in Role if policies.can_grant(actor, r, u.organisation_id, u.division_code)
            ],
            "can_revoke": lambda g: policies.can_grant(actor, g.role, g.organisation_id, g.division_code),
            "can_reset": lambda u: (
                u.id != actor.user_id
                and policies.can_manage_account(actor, u.organisation_id, u.division_code)
            ),
        },
        status_code=status_code,
    )


@pages.get("")
def users_page(
    request: Request,
    platform: PlatformDep,
    actor: StaffDep,
    q: Annotated[str, Query(max_length=64)] = "",
    page: Annotated[int, Query(ge=1)] = 1,
) -> Response:
    return _users_page(request, platform, actor, q, page)


def _back_to_list(q: str, page: int, done: str) -> Response:
    return RedirectResponse(
        f"/admin/users?{urlencode({'q': q, 'page': page, 'done': done})}", status_code=303
    )


def _refused(
    request: Request, platform: Platform, actor: Actor, q: str, page: int, user_id: int, exc: WanshiError
) -> Response:
    return _users_page(
        request, platform, actor, q, page, failed=(user_id, exc.message), status_code=exc.http_status
    )


@pages.post("/{user_id}/roles")
def grant_role_page(
    request: Request,
    user_id: int,
    platform: PlatformDep,
    actor: StaffDep,
    role: Annotated[Role, Form()],
    q: Annotated[str, Form(max_length=64)] = "",
    page: Annotated[int, Form(ge=1)] = 1,
) -> Response:
    try:
        with platform.uow() as uow:
            platform.identity.grant_role(uow, identity.GrantRole(user_id=user_id, role=role), actor)
    except (ValidationFailed, Conflict) as exc:
        return _refused(request, platform, actor, q, page, user_id, exc)
    return _back_to_list(q, page, "granted")


@pages.post("/{user_id}/roles/revoke")
def revoke_role_page(
    user_id: int,
    platform: PlatformDep,
    actor: StaffDep,
    role: Annotated[Role, Form()],
    organisation_id: Annotated[int, Form()],
    q: Annotated[str, Form(max_length=64)] = "",
    page: Annotated[int, Form(ge=1)] = 1,
) -> Response:
    cmd = identity.GrantRole(user_id=user_id, role=role, organisation_id=organisation_id)
    with platform.uow() as uow:
        platform.identity.revoke_role(uow, cmd, actor)
    return _back_to_list(q, page, "revoked")


@pages.post("/{user_id}/password")
def reset_password_page(
    request: Request,
    user_id: int,
    platform: PlatformDep,
    actor: StaffDep,
    new_password: Annotated[str, Form(max_length=256)],
    q: Annotated[str, Form(max_length=64)] = "",
    page: Annotated[int, Form(ge=1)] = 1,
) -> Response:
    try:
        with platform.uow() as uow:
            platform.identity.set_password(
                uow, identity.SetPassword(user_id=user_id, new_password=new_password), actor
            )
    except ValidationFailed as exc:
        return _refused(request, platform, actor, q, page, user_id, exc)
    return _back_to_list(q, page, "reset")


def _may_create_somewhere(actor: Actor) -> bool:
    return any(policies.can_create_staff(actor, g.organisation_id, g.division_code) for g in actor.grants)


def _creatable_in(uow: UnitOfWork, actor: Actor, unit_q: str) -> tuple[list[org.Organisation], bool]:
    """Organisations the actor may open accounts in: their own first, then those matching the search.

    Returns them and whether the search matched more than the form lists.
    """
    own = []
    for organisation_id in sorted({g.organisation_id for g in actor.grants}):
        try:
            own.append(org.get_organisation(uow, organisation_id, actor))
        except NotFound:
            continue
    found, total = org.list_organisations(
        uow, org.OrganisationQuery(q=unit_q, limit=ORGANISATION_CHOICES), actor
    )
    unique = {o.id: o for o in [*own, *found]}
    creatable = [o for o in unique.values() if policies.can_create_staff(actor, o.id, o.division_code)]
    return creatable, total > len(found)


def _user_form(
    request: Request,
    platform: Platform,
    actor: Actor,
    *,
    form: dict[str, Any],
    unit_q: str = "",
    errors: dict[str, str] | None = None,
    general: str = "",
    status_code: int = 200,
) -> Response:
    if not _may_create_somewhere(actor):
        raise PermissionDenied()
    with platform.uow() as uow:
        organisations, more = _creatable_in(uow, actor, unit_q)
    roles = [
        r for r in Role if any(policies.can_grant(actor, r, o.id, o.division_code) for o in organisations)
    ]
    return render_admin(
        request,
        actor,
        "admin/user_form.html",
        {
            "form": form,
            "unit_q": unit_q,
            "more_units": more,
            "errors": errors or {},
            "general": general,
            "labels": FIELD_LABELS,
            "organisation_options": [(o.id, f"{o.name}（{o.division_code}）") for o in organisations],
            "roles": roles,
            "role_names": identity.ROLE_NAMES,
        },
        status_code=status_code,
    )


@pages.get("/new")
def new_user_page(
    request: Request,
    platform: PlatformDep,
    actor: StaffDep,
    unit_q: Annotated[str, Query(max_length=60)] = "",
) -> Response:
    return _user_form(request, platform, actor, form={"roles": []}, unit_q=unit_q)


@pages.post("")
def create_user_page(
    request: Request,
    platform: PlatformDep,
    actor: StaffDep,
    username: Annotated[str, Form(max_length=100)] = "",
    display_name: Annotated[str, Form(max_length=100)] = "",
    organisation_id: Annotated[str, Form(max_length=20)] = "",
    password: Annotated[str, Form(max_length=256)] = "",
    roles: Annotated[list[str] | None, Form()] = None,
    unit_q: Annotated[str, Form(max_length=60)] = "",
) -> Response:
    form: dict[str, Any] = {
        "username": username,
        "display_name": display_name,
        "organisation_id": organisation_id,
        "roles": roles or [],
    }
    # An empty field counts as not given: a blank required field reads "required", not "wrong format".
    values = {k: v for k, v in {**form, "password": password}.items() if v != ""}
    try:
        cmd = identity.CreateStaffUser.model_validate(values)
        with platform.uow() as uow:
            created = platform.identity.create_staff_user(uow, cmd, actor)
    except (ValidationError, ValidationFailed, Conflict, NotFound) as exc:
        errors, general = form_problems(exc)
        status = exc.http_status if isinstance(exc, WanshiError) else 422
        return _user_form(
            request,
            platform,
            actor,
            form=form,
            unit_q=unit_q,
            errors=errors,
            general=general,
            status_code=status,
        )
    return _back_to_list(created.username, 1, "created")


# --- JSON API ------------------------------------------------------------------------------------
class RoleGrantOut(BaseModel):
    role: Role
    role_name: str
    organisation_id: int
    division_code: str


class StaffUserOut(BaseModel):
    id: int
    username: str
    display_name: str
    organisation_id: int
    division_code: str
    active: bool
    locked_until: datetime | None
    grants: list[RoleGrantOut]


class StaffListOut(BaseModel):
    total: int
    items: list[StaffUserOut]


class RoleChange(BaseModel):
    model_config = ConfigDict(extra="forbid")

    role: Role
    organisation_id: int | None = Field(default=None, description="default: the user's own organisation")


class PasswordReset(BaseModel):
    model_config = ConfigDict(extra="forbid")

    new_password: str = Field(min_length=1, max_length=256)


def _user_out(u: identity.StaffUser) -> StaffUserOut:
    return StaffUserOut(
        id=u.id,
        username=u.username,
        display_name=u.display_name,
        organisation_id=u.organisation_id,
        division_code=u.division_code,
        active=u.active,
        locked_until=u.locked_until,
        grants=[
            RoleGrantOut(
                role=g.role,
                role_name=identity.ROLE_NAMES[g.role],
                organisation_id=g.organisation_id,
                division_code=g.division_code,
            )
            for g in u.grants
        ],
    )


@users_api.get("", response_model=StaffListOut, summary="Staff accounts I may see")
def list_users_api(
    platform: PlatformDep, actor: StaffDep, query: Annotated[identity.StaffQuery, Query()]
) -> StaffListOut:
    with platform.uow() as uow:
        staff, total = platform.identity.list_staff(uow, query, actor)
    return StaffListOut(total=total, items=[_user_out(u) for u in staff])


@users_api.post("", response_model=StaffUserOut, status_code=201, summary="Create a staff account with roles")
def create_user_api(platform: PlatformDep, actor: StaffDep, cmd: identity.CreateStaffUser) -> StaffUserOut:
    with platform.uow() as uow:
        return _user_out(platform.identity.create_staff_user(uow, cmd, actor))


@users_api.post("/{user_id}/roles", response_model=StaffUserOut, summary="Grant a role")
def grant_role_api(user_id: int, change: RoleChange, platform: PlatformDep, actor: StaffDep) -> StaffUserOut:
    cmd = identity.GrantRole(user_id=user_id, role=change.role, organisation_id=change.organisation_id)
    with platform.uow() as uow:
        return _user_out(platform.identity.grant_role(uow, cmd, actor))


@users_api.delete("/{user_id}/roles/{role}", response_model=StaffUserOut, summary="Revoke a role")
def revoke_role_api(
    user_id: int,
    role: Role,
    platform: PlatformDep,
    actor: StaffDep,
    organisation_id: Annotated[int | None, Query(description="default: the user's own organisation")] = None,
) -> StaffUserOut:
    cmd = identity.GrantRole(user_id=user_id, role=role, organisation_id=organisation_id)
    with platform.uow() as uow:
        return _user_out(platform.identity.revoke_role(uow, cmd, actor))


@users_api.put("/{user_id}/password", status_code=204, summary="Reset another account's password")
def reset_password_api(
    user_id: int, reset: PasswordReset, platform: PlatformDep, actor: StaffDep
) -> Response:
    cmd = identity.SetPassword(user_id=user_id, new_password=reset.new_password)
    with platform.uow() as uow:
        platform.identity.set_password(uow, cmd, actor)
    return Response(status_code=204)


# --- admin area ----------------------------------------------------------------------------------
def _staff_stats(platform: Platform, actor: Actor) -> list[Stat]:
    with platform.uow() as uow:
        _, total = platform.identity.list_staff(uow, identity.StaffQuery(limit=1), actor)
    return [Stat("工作人员账号", total)]


admin_sections = [
    AdminSection(
        "/admin/users",
        "用户与角色",
        30,
        policies.can_view_staff,
        description="工作人员账号，角色的授予与收回，密码重置。",
        stats=_staff_stats,
    )
]

routers = [pages, users_api]
