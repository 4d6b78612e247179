"""Admin pages and JSON API for organisations and the division table (GB/T 2260)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, File, Form, Query, Request, UploadFile
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from starlette.responses import RedirectResponse, Response

from wanshi.bootstrap import Platform
from wanshi.infra.uow import UnitOfWork
from wanshi.kernel.actor import Actor, ActorKind, Role
from wanshi.kernel.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from wanshi.org import api as org
from wanshi.org import policies
from wanshi.org.domain import LEVEL_NAMES
from wanshi.web.auth import csrf_protect, get_platform, require_staff
from wanshi.web.web_registry import AdminSection, Stat, form_problems, render_admin

PAGE = 50
# The national table (about 3,200 rows) is some 100 KB; twenty times that is no division table.
MAX_DIVISION_TABLE_BYTES = 2 * 1024 * 1024

KIND_NAMES = {
    org.OrganisationKind.GOVERNMENT: "人民政府",
    org.OrganisationKind.DEPARTMENT: "政府部门",
    org.OrganisationKind.SERVICE_CENTRE: "政务服务中心",
    org.OrganisationKind.INSTITUTION: "事业单位",
}
FIELD_LABELS = {
    "name": "名称",
    "short_name": "简称",
    "code": "统一社会信用代码",
    "kind": "类型",
    "division_code": "行政区划",
}

pages = APIRouter(prefix="/admin", dependencies=[Depends(csrf_protect)], include_in_schema=False)
organisations_api = APIRouter(
    prefix="/api/v1/organisations", tags=["organisations"], dependencies=[Depends(csrf_protect)]
)
divisions_api = APIRouter(
    prefix="/api/v1/divisions", tags=["divisions"], dependencies=[Depends(csrf_protect)]
)

PlatformDep = Annotated[Platform, Depends(get_platform)]
StaffDep = Annotated[Actor, Depends(require_staff)]


# --- shared by pages and API ------------------------------------------------
def _subtree(uow: UnitOfWork, scopes: tuple[str, ...]) -> list[org.Division]:
    """Every division within the scopes (each scope's own, its prefectures and counties), in code order."""
    found: dict[str, org.Division] = {}
    for scope in scopes:
        try:
            found[scope] = org.get_division(uow, scope)
        except NotFound:
            continue
        for level in (org.DivisionLevel.PREFECTURE, org.DivisionLevel.COUNTY):
            found.update((d.code, d) for d in org.divisions_within(uow, scope, level))
    return [found[code] for code in sorted(found)]


def _options(divisions: list[org.Division]) -> list[tuple[str, str]]:
    """Indented by level, so the tree still reads as one in a select list."""
    depth = {org.DivisionLevel.PROVINCE: 0, org.DivisionLevel.PREFECTURE: 1, org.DivisionLevel.COUNTY: 2}
    return [(d.code, "　" * depth[d.level] + f"{d.name}（{d.code}）") for d in divisions]


def _lineage(uow: UnitOfWork, code: str) -> tuple[org.Division, list[org.Division], list[org.Division]]:
    """A division, its ancestors from the top down, and its children."""
    current = org.get_division(uow, code)
    ancestors: list[org.Division] = []
    parent = current.parent_code
    while parent:
        ancestors.insert(0, org.get_division(uow, parent))
        parent = ancestors[0].parent_code
    return current, ancestors, org.list_child_divisions(uow, code)


def _visible_scopes(actor: Actor) -> tuple[str, ...]:
    return policies.visible_division_scopes(actor) or ()


def _manageable_scopes(actor: Actor) -> tuple[str, ...]:
    return tuple(code for code in actor.divisions_for(*Role) if policies.can_manage_organisation(actor, code))


def _filled(form: dict[str, Any]) -> dict[str, Any]:
    """An empty field counts as not given, so a blank required field reads "required", not "too short"."""
    return {k: v for k, v in form.items() if v != ""}


def _is_staff(actor: Actor) -> bool:
    return actor.kind is ActorKind.STAFF


# --- pages: organisations ------------------------------------------------
@pages.get("/organisations")
def organisations_page(
    request: Request,
    platform: PlatformDep,
    actor: StaffDep,
    division: Annotated[str, Query(max_length=6)] = "",
    q: Annotated[str, Query(max_length=60)] = "",
    page: Annotated[int, Query(ge=1)] = 1,
) -> Response:
    query = org.OrganisationQuery(division_code=division or None, q=q, limit=PAGE, offset=(page - 1) * PAGE)
    with platform.uow() as uow:
        found, total = org.list_organisations(uow, query, actor)
        visible = _subtree(uow, _visible_scopes(actor))
    return render_admin(
        request,
        actor,
        "admin/organisations.html",
        {
            "organisations": found,
            "total": total,
            "page": page,
            "has_next": page * PAGE < total,
            "q": q,
            "division": division,
            "division_options": _options(visible),
            "division_names": {d.code: d.name for d in visible},
            "kind_names": KIND_NAMES,
            "can_create": bool(_manageable_scopes(actor)),
        },
    )


def _organisation_form(
    request: Request,
    platform: Platform,
    actor: Actor,
    *,
    form: dict[str, Any],
    organisation: org.Organisation | None = None,
    errors: dict[str, str] | None = None,
    general: str = "",
    status_code: int = 200,
) -> Response:
    with platform.uow() as uow:
        options = _options(_subtree(uow, _manageable_scopes(actor)))
    editable = organisation is None or policies.can_manage_organisation(actor, organisation.division_code)
    return render_admin(
        request,
        actor,
        "admin/organisation_form.html",
        {
            "organisation": organisation,
            "editable": editable,
            "form": form,
            "errors": errors or {},
            "general": general,
            "labels": FIELD_LABELS,
            "division_options": options,
            "kind_names": KIND_NAMES,
        },
        status_code=status_code,
    )


@pages.get("/organisations/new")
def new_organisation_page(request: Request, platform: PlatformDep, actor: StaffDep) -> Response:
    if not _manageable_scopes(actor):
        raise PermissionDenied()
    return _organisation_form(request, platform, actor, form={"kind": org.OrganisationKind.DEPARTMENT.value})


@pages.post("/organisations")
def create_organisation_page(
    request: Request,
    platform: PlatformDep,
    actor: StaffDep,
    name: Annotated[str, Form(max_length=200)] = "",
    short_name: Annotated[str, Form(max_length=200)] = "",
    code: Annotated[str, Form(max_length=100)] = "",
    kind: Annotated[str, Form(max_length=40)] = "",
    division_code: Annotated[str, Form(max_length=12)] = "",
) -> Response:
    form = {
        "name": name,
        "short_name": short_name,
        "code": code,
        "kind": kind,
        "division_code": division_code,
    }
    try:
        cmd = org.CreateOrganisation.model_validate(_filled(form))
        with platform.uow() as uow:
            created = org.create_organisation(uow, cmd, actor)
    except (ValidationError, ValidationFailed, Conflict) as exc:
        errors, general = form_problems(exc)
        status = 409 if isinstance(exc, Conflict) else 422
        return _organisation_form(
            request, platform, actor, form=form, errors=errors, general=general, status_code=status
        )
    return RedirectResponse(f"/admin/organisations/{created.id}?saved=1", status_code=303)


@pages.get("/organisations/{organisation_id}")
def organisation_page(
    request: Request, organisation_id: int, platform: PlatformDep, actor: StaffDep
) -> Response:
    with platform.uow() as uow:
        found = org.get_organisation(uow, organisation_id, actor)
    form = {
        "name": found.name,
        "short_name": found.short_name,
        "code": found.code,
        "active": found.active,
    }
    return _organisation_form(request, platform, actor, form=form, organisation=found)


@pages.post("/organisations/{organisation_id}")
def update_organisation_page(
    request: Request,
    organisation_id: int,
    platform: PlatformDep,
    actor: StaffDep,
    name: Annotated[str, Form(max_length=200)] = "",
    short_name: Annotated[str, Form(max_length=200)] = "",
    code: Annotated[str, Form(max_length=100)] = "",
    active: Annotated[bool, Form()] = False,
) -> Response:
    form: dict[str, Any] = {"name": name, "short_name": short_name, "code": code, "active": active}
    with platform.uow() as uow:
        current = org.get_organisation(uow, organisation_id, actor)
    try:
        cmd = org.UpdateOrganisation.model_validate({**_filled(form), "organisation_id": organisation_id})
        with platform.uow() as uow:
            org.update_organisation(uow, cmd, actor)
    except (ValidationError, ValidationFailed, Conflict) as exc:
        errors, general = form_problems(exc)
        status = 409 if isinstance(exc, Conflict) else 422
        return _organisation_form(
            request,
            platform,
            actor,
            form=form,
            organisation=current,
            errors=errors,
            general=general,
            status_code=status,
        )
    return RedirectResponse(f"/admin/organisations/{organisation_id}?saved=1", status_code=303)


# --- pages: divisions ------------------------------------------------
def _divisions_page(
    request: Request, platform: Platform, actor: Actor, code: str, *, status_code: int = 200, **extra: Any
) -> Response:
    with platform.uow() as uow:
        if code:
            current, ancestors, children = _lineage(uow, code)
        else:
            current, ancestors, children = None, [], org.list_child_divisions(uow, None)
    return render_admin(
        request,
        actor,
        "admin/divisions.html",
        {
            "current": current,
            "ancestors": ancestors,
            "children": children,
            "level_names": LEVEL_NAMES,
            "can_load": policies.can_load_divisions(actor),
            "max_mb": MAX_DIVISION_TABLE_BYTES // (1024 * 1024),
            **extra,
        },
        status_code=status_code,
    )


@pages.get("/divisions")
def divisions_page(
    request: Request,
    platform: PlatformDep,
    actor: StaffDep,
    code: Annotated[str, Query(pattern=r"^(\d{6})?$")] = "",
) -> Response:
    return _divisions_page(request, platform, actor, code)


@pages.post("/divisions/load")
async def load_divisions_page(
    request: Request,
    platform: PlatformDep,
    actor: StaffDep,
    table: Annotated[UploadFile | None, File()] = None,
) -> Response:
    def failed(message: str) -> Response:
        return _divisions_page(request, platform, actor, "", status_code=422, error=message)

    if table is None or not table.filename:
        return failed("请选择要上传的区划代码表文件")
    raw = await table.read(MAX_DIVISION_TABLE_BYTES + 1)
    if len(raw) > MAX_DIVISION_TABLE_BYTES:
        return failed("文件过大，区划代码表不应超过 2 MB")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        return failed("文件须为 UTF-8 编码的制表符分隔文本")
    try:
        with platform.uow() as uow:
            summary = org.load_divisions(uow, org.LoadDivisions(table_text=text), actor)
    except ValidationFailed as exc:
        return failed(exc.message)
    return _divisions_page(request, platform, actor, "", loaded=summary)


# --- JSON API ------------------------------------------------
class OrganisationOut(BaseModel):
    id: int
    name: str
    short_name: str
    code: str
    kind: org.OrganisationKind
    division_code: str
    parent_id: int | None
    active: bool


class OrganisationListOut(BaseModel):
    total: int
    items: list[OrganisationOut]


class OrganisationChange(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=2, max_length=120)
    short_name: str = Field(default="", max_length=60)
    code: str = Field(default="", max_length=40)
    active: bool = True


class DivisionOut(BaseModel):
    code: str
    name: str
    level: org.DivisionLevel
    parent_code: str | None


class DivisionTreeOut(BaseModel):
    division: DivisionOut
    ancestors: list[DivisionOut]
    children: list[DivisionOut]


class DivisionTableIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    table_text: str = Field(
        max_length=MAX_DIVISION_TABLE_BYTES, description="the TSV: Source, Revision, Code, Name"
    )


class DivisionLoadOut(BaseModel):
    source: str
    revision: str
    total: int
    added: int
    changed: int
    retired: int


def _organisation_out(o: org.Organisation) -> OrganisationOut:
    return OrganisationOut(
        id=o.id,
        name=o.name,
        short_name=o.short_name,
        code=o.code,
        kind=o.kind,
        division_code=o.division_code,
        parent_id=o.parent_id,
        active=o.active,
    )


def _division_out(d: org.Division) -> DivisionOut:
    return DivisionOut(code=d.code, name=d.name, level=d.level, parent_code=d.parent_code)


@organisations_api.get("", response_model=OrganisationListOut, summary="Organisations I may see")
def list_organisations_api(
    platform: PlatformDep, actor: StaffDep, query: Annotated[org.OrganisationQuery, Query()]
) -> OrganisationListOut:
    with platform.uow() as uow:
        found, total = org.list_organisations(uow, query, actor)
    return OrganisationListOut(total=total, items=[_organisation_out(o) for o in found])


@organisations_api.post("", response_model=OrganisationOut, status_code=201, summary="Create an organisation")
def create_organisation_api(
    platform: PlatformDep, actor: StaffDep, cmd: org.CreateOrganisation
) -> OrganisationOut:
    with platform.uow() as uow:
        return _organisation_out(org.create_organisation(uow, cmd, actor))


@organisations_api.get("/{organisation_id}", response_model=OrganisationOut, summary="One organisation")
def get_organisation_api(organisation_id: int, platform: PlatformDep, actor: StaffDep) -> OrganisationOut:
    with platform.uow() as uow:
        return _organisation_out(org.get_organisation(uow, organisation_id, actor))


@organisations_api.put("/{organisation_id}", response_model=OrganisationOut, summary="Change an organisation")
def update_organisation_api(
    organisation_id: int, change: OrganisationChange, platform: PlatformDep, actor: StaffDep
) -> OrganisationOut:
    cmd = org.UpdateOrganisation(organisation_id=organisation_id, **change.model_dump())
    with platform.uow() as uow:
        # Looked up as this actor first, so another tenant's organisation is "not found", as on the page.
        org.get_organisation(uow, organisation_id, actor)
        return _organisation_out(org.update_organisation(uow, cmd, actor))


@divisions_api.get("", response_model=list[DivisionOut], summary="Divisions under a parent (top level: none)")
def list_divisions_api(
    platform: PlatformDep, parent: Annotated[str | None, Query(pattern=r"^\d{6}$")] = None
) -> list[DivisionOut]:
    with platform.uow() as uow:
        return [_division_out(d) for d in org.list_child_divisions(uow, parent)]


@divisions_api.get(
    "/{code}", response_model=DivisionTreeOut, summary="A division with its parents and children"
)
def get_division_api(code: str, platform: PlatformDep) -> DivisionTreeOut:
    with platform.uow() as uow:
        current, ancestors, children = _lineage(uow, code)
    return DivisionTreeOut(
        division=_division_out(current),
        ancestors=[_division_out(d) for d in ancestors],
        children=[_division_out(d) for d in children],
    )


@divisions_api.post("", response_model=DivisionLoadOut, summary="Load a newer division table (TSV text)")
def load_divisions_api(platform: PlatformDep, actor: StaffDep, table: DivisionTableIn) -> DivisionLoadOut:
    cmd = org.LoadDivisions(table_text=table.table_text)
    with platform.uow() as uow:
        return DivisionLoadOut.model_validate(org.load_divisions(uow, cmd, actor))


# --- admin area ------------------------------------------------
def _organisation_stats(platform: Platform, actor: Actor) -> list[Stat]:
    with platform.uow() as uow:
        _, total = org.list_organisations(uow, org.OrganisationQuery(limit=1), actor)
    return [Stat("组织数", total)]


admin_sections = [
    AdminSection(
        "/admin/organisations",
        "组织机构",
        10,
        policies.can_view_organisations,
        description="各级政府、部门和政务服务中心，按行政区划管理。",
        stats=_organisation_stats,
    ),
    AdminSection(
        "/admin/divisions",
        "行政区划",
        20,
        _is_staff,
        description="浏览省、市、县三级区划，载入民政部发布的新版代码表。",
    ),
]

routers = [pages, organisations_api, divisions_api]
