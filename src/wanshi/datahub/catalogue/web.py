"""Catalogue pages in the admin area (/admin/catalogue) and the JSON API (/api/v1/catalogue), over the same
services. Forms post back and redirect, and work without JavaScript; a refused step shows the page
again with the reasons beside the fields.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, File, Form, Path, Query, Request, UploadFile
from pydantic import BaseModel, ConfigDict, Field
from pydantic import ValidationError as PydanticValidationError
from starlette.responses import RedirectResponse, Response

from wanshi.bootstrap import Platform
from wanshi.datahub.catalogue import api as catalogue
from wanshi.datahub.catalogue import policies
from wanshi.infra.uow import UnitOfWork
from wanshi.kernel import clock
from wanshi.kernel.actor import Actor
from wanshi.kernel.errors import Conflict, ValidationFailed, WanshiError
from wanshi.org import api as org
from wanshi.web.auth import csrf_protect, get_platform, require_staff
from wanshi.web.web_registry import AdminSection, Stat, form_problems, render_admin

pages = APIRouter(prefix="/admin/catalogue", dependencies=[Depends(csrf_protect)], include_in_schema=False)
api_router = APIRouter(prefix="/api/v1/catalogue", tags=["catalogue"], dependencies=[Depends(csrf_protect)])
routers = [pages, api_router]

Staff = Annotated[Actor, Depends(require_staff)]
PlatformDep = Annotated[Platform, Depends(get_platform)]
PAGE_SIZE = 20
ORGANISATION_CHOICES = 500
# Blank rows offered under a resource's 信息项 in the form, so fields can be added without JavaScript.
BLANK_ITEMS = 3
MAX_FORM_ITEMS = 500
MAX_IMPORT_BYTES = 20 * 1024 * 1024
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
METADATA_KEYS = (
    "name",
    "summary",
    "format",
    "share_type",
    "share_conditions",
    "share_basis",
    "share_method",
    "open_type",
    "open_conditions",
    "update_cycle",
    "release_date",
)
ITEM_KEYS = ("name", "label", "data_type", "length", "scale", "required", "grade")
FORM_LABELS = {
    "code": "资源代码",
    "provider_organisation_id": "提供方",
    "name": "资源名称",
    "summary": "资源摘要",
    "format": "资源格式",
    "items": "信息项",
    "share_type": "共享类型",
    "share_conditions": "共享条件",
    "share_basis": "不予共享依据",
    "share_method": "共享方式",
    "open_type": "开放类型",
    "open_conditions": "开放条件",
    "update_cycle": "更新周期",
    "release_date": "发布日期",
    "related_codes": "关联资源代码",
    "dataset": "数据集名称",
    "url": "连接地址",
    "query": "取数查询",
    "secret_ref": "密钥引用",
    "note": "意见",
    "reason": "理由",
}


def _choices(uow: UnitOfWork, actor: Actor) -> list[org.Organisation]:
    found, _total = org.list_organisations(uow, org.OrganisationQuery(limit=ORGANISATION_CHOICES), actor)
    return [o for o in found if o.active]


def _enums() -> dict[str, Any]:
    return {
        "top_classes": list(catalogue.TopClass),
        "share_types": list(catalogue.ShareType),
        "open_types": list(catalogue.OpenType),
        "update_cycles": list(catalogue.UpdateCycle),
        "data_types": list(catalogue.DataType),
        "grades": list(catalogue.Grade),
        "states": list(catalogue.ResourceState),
        "mount_kinds": list(catalogue.MountKind),
        "labels": FORM_LABELS,
        "default_scale": catalogue.DEFAULT_SCALE,
        "max_scale": catalogue.MAX_SCALE,
    }


def _problems(exc: WanshiError | PydanticValidationError) -> tuple[dict[str, str], str, list[str]]:
    """Messages per field, one for the form, and every problem of the metadata (all at once)."""
    fields, general = form_problems(exc)
    listed = []
    if isinstance(exc, WanshiError):
        listed = [str(p["message"]) for p in exc.details.get("problems", [])]
    return fields, general, listed


# --- browse -----------------------------------------------------------------------------------------------
def _query(params: dict[str, str], page: int) -> tuple[catalogue.ResourceQuery, dict[str, str]]:
    """The filters from the query string; a value that is not one of the options is ignored."""

    def pick(key: str, enum: type[Any]) -> Any:
        value = params.get(key, "")
        return enum(value) if value in {m.value for m in enum} else None

    provider = params.get("provider", "")
    classification = params.get("classification", "").strip()
    query = catalogue.ResourceQuery(
        q=params.get("q", "").strip()[:100],
        provider_organisation_id=int(provider) if provider.isdigit() else None,
        top_class=pick("top_class", catalogue.TopClass),
        classification=classification[:9] if classification.isdigit() else "",
        share_type=pick("share_type", catalogue.ShareType),
        open_type=pick("open_type", catalogue.OpenType),
        state=pick("state", catalogue.ResourceState),
        limit=PAGE_SIZE,
        offset=(max(page, 1) - 1) * PAGE_SIZE,
    )
    kept = {
        "q": query.q,
        "provider": str(query.provider_organisation_id or ""),
        "top_class": query.top_class.value if query.top_class else "",
        "classification": query.classification,
        "share_type": query.share_type.value if query.share_type else "",
        "open_type": query.open_type.value if query.open_type else "",
        "state": query.state.value if query.state else "",
    }
    return query, kept


@pages.get("")
def browse_page(
    request: Request, platform: PlatformDep, actor: Staff, page: Annotated[int, Query(ge=1, le=10_000)] = 1
) -> Response:
    query, filters = _query(dict(request.query_params), page)
    with platform.uow() as uow:
        found = catalogue.search_resources(uow, query, actor)
        organisations = _choices(uow, actor)
    kept = {k: v for k, v in filters.items() if v}
    pages_total = max((found.total + PAGE_SIZE - 1) // PAGE_SIZE, 1)
    return render_admin(
        request,
        actor,
        "catalogue/list.html",
        {
            **_enums(),
            "found": found,
            "filters": filters,
            "organisations": organisations,
            "page": page,
            "pages": pages_total,
            "export_url": f"/admin/catalogue/export.xlsx?{urlencode(kept)}",
            "can_register": policies.can_register_somewhere(actor),
        },
    )


@pages.get("/export.xlsx")
def export_page(request: Request, platform: PlatformDep, actor: Staff) -> Response:
    query, _filters = _query(dict(request.query_params), 1)
    with platform.uow() as uow:
        content = catalogue.export_catalogue(uow, query, actor)
    return _xlsx(content)


def _xlsx(content: bytes) -> Response:
    stamp = clock.today_in_china().strftime("%Y%m%d")
    return Response(
        content,
        media_type=XLSX,
        headers={"content-disposition": f"attachment; filename=catalogue-{stamp}.xlsx"},
    )


# --- import -----------------------------------------------------------------------------------------------
def _import_page(
    request: Request, actor: Actor, report: catalogue.ImportReport | None = None, error: str = ""
) -> Response:
    status = 422 if error or (report is not None and not report.ok) else 200
    return render_admin(
        request,
        actor,
        "catalogue/import.html",
        {"report": report, "error": error, "max_mb": MAX_IMPORT_BYTES // (1024 * 1024)},
        status_code=status,
    )


@pages.get("/import")
def import_form(request: Request, actor: Staff) -> Response:
    return _import_page(request, actor)


@pages.post("/import")
async def import_from_form(
    request: Request, platform: PlatformDep, actor: Staff, file: Annotated[UploadFile | None, File()] = None
) -> Response:
    if file is None or not file.filename:
        return _import_page(request, actor, error="请选择要导入的 Excel 文件")
    content = await file.read(MAX_IMPORT_BYTES + 1)
    if len(content) > MAX_IMPORT_BYTES:
        return _import_page(request, actor, error="文件过大")
    with platform.uow() as uow:
        report = catalogue.import_catalogue(uow, content, actor)
    return _import_page(request, actor, report)


# --- register and edit ------------------------------------------------------------------------------------
def _items_from(form: dict[str, str]) -> list[dict[str, Any]]:
    """The 信息项 rows of the form; a row whose identifier and name are both blank is left out."""
    items = []
    for index in range(MAX_FORM_ITEMS):
        if f"items-{index}-name" not in form:
            break
        row = {key: form.get(f"items-{index}-{key}", "").strip() for key in ITEM_KEYS}
        if not row["name"] and not row["label"]:
            continue
        items.append(
            {
                **row,
                "length": int(row["length"]) if row["length"].isdigit() else None,
                # Passed on as typed: a scale that is not a number is refused, not silently dropped.
                "scale": row["scale"] or None,
                "required": row["required"] == "on",
            }
        )
    return items


def _spec_values(form: dict[str, str]) -> dict[str, Any]:
    values: dict[str, Any] = {key: form.get(key, "") for key in METADATA_KEYS}
    values["release_date"] = values["release_date"] or None
    values["items"] = _items_from(form)
    values["related_codes"] = [
        c for c in form.get("related_codes", "").replace("；", ";").split(";") if c.strip()
    ]
    return values


def _form_page(
    request: Request,
    uow: UnitOfWork,
    actor: Actor,
    *,
    values: dict[str, Any],
    resource: catalogue.Resource | None = None,
    error: WanshiError | PydanticValidationError | None = None,
) -> Response:
    errors, general, listed = _problems(error) if error is not None else ({}, "", [])
    items = list(values.get("items", []))
    return render_admin(
        request,
        actor,
        "catalogue/form.html",
        {
            **_enums(),
            "values": values,
            "items": items + [{} for _ in range(BLANK_ITEMS)],
            "resource": resource,
            "organisations": _choices(uow, actor) if resource is None else [],
            "errors": errors,
            "general": general,
            "listed": listed,
        },
        status_code=422 if error is not None else 200,
    )


def _values_of(meta: catalogue.Metadata) -> dict[str, Any]:
    values = meta.as_dict()
    values["related_codes"] = ";".join(meta.related_codes)
    values["release_date"] = values["release_date"] or ""
    return values


@pages.get("/new")
def new_page(request: Request, platform: PlatformDep, actor: Staff) -> Response:
    defaults = {"share_type": "unconditional", "open_type": "none", "update_cycle": "irregular", "items": []}
    with platform.uow() as uow:
        return _form_page(request, uow, actor, values=defaults)


@pages.post("/new")
async def register_from_form(request: Request, platform: PlatformDep, actor: Staff) -> Response:
    form = {k: v for k, v in (await request.form()).items() if isinstance(v, str)}
    values = {**_spec_values(form), "code": form.get("code", "").strip()}
    provider = form.get("provider_organisation_id", "")
    with platform.uow() as uow:
        try:
            registered = catalogue.register_resource(
                uow,
                catalogue.RegisterResource(
                    **values, provider_organisation_id=int(provider) if provider.isdigit() else 0
                ),
                actor,
            )
        except (ValidationFailed, Conflict, PydanticValidationError) as exc:
            uow.rollback()
            shown = {
                **values,
                "provider_organisation_id": provider,
                "related_codes": form.get("related_codes", ""),
            }
            return _form_page(request, uow, actor, values=shown, error=exc)
    return RedirectResponse(f"/admin/catalogue/{registered.id}?done=registered", status_code=303)


@pages.get("/{resource_id}/edit")
def edit_page(request: Request, platform: PlatformDep, actor: Staff, resource_id: int) -> Response:
    with platform.uow() as uow:
        detail = catalogue.get_resource(uow, resource_id, actor)
        if detail.working is None or "update" not in detail.actions:
            return _detail_page(
                request, uow, actor, resource_id, error=Conflict("该资源当前没有可修改的版本")
            )
        return _form_page(
            request, uow, actor, values=_values_of(detail.working.metadata), resource=detail.resource
        )


@pages.post("/{resource_id}/edit")
async def edit_from_form(request: Request, platform: PlatformDep, actor: Staff, resource_id: int) -> Response:
    form = {k: v for k, v in (await request.form()).items() if isinstance(v, str)}
    values = _spec_values(form)
    with platform.uow() as uow:
        try:
            catalogue.update_draft(uow, catalogue.UpdateDraft(resource_id=resource_id, **values), actor)
        except (ValidationFailed, Conflict, PydanticValidationError) as exc:
            uow.rollback()
            resource = catalogue.get_resource(uow, resource_id, actor).resource
            shown = {**values, "related_codes": form.get("related_codes", "")}
            return _form_page(request, uow, actor, values=shown, resource=resource, error=exc)
    return RedirectResponse(f"/admin/catalogue/{resource_id}?done=updated", status_code=303)


# --- the resource page and its steps ----------------------------------------------------------------------
DONE = frozenset({"registered", "updated", "mounted", "submitted", "reviewed", "version", "withdrawn"})


def _detail_page(
    request: Request,
    uow: UnitOfWork,
    actor: Actor,
    resource_id: int,
    *,
    error: WanshiError | PydanticValidationError | None = None,
    done: str = "",
) -> Response:
    detail = catalogue.get_resource(uow, resource_id, actor)
    errors, general, listed = _problems(error) if error is not None else ({}, "", [])
    return render_admin(
        request,
        actor,
        "catalogue/detail.html",
        {
            **_enums(),
            "detail": detail,
            "resource": detail.resource,
            "view": detail.view,
            "classification": detail.resource.classification,
            "errors": errors,
            "general": general,
            "listed": listed,
            "done": done if done in DONE else "",
            # The same rule read_rows authorises with: the provider's staff and its reviewers.
            "can_preview": policies.can_provide(
                actor, detail.resource.provider_organisation_id, detail.resource.division_code
            ),
        },
        status_code=error.http_status if isinstance(error, WanshiError) else (422 if error else 200),
    )


@pages.get("/{resource_id}")
def detail_page(
    request: Request, platform: PlatformDep, actor: Staff, resource_id: int, done: str = ""
) -> Response:
    with platform.uow() as uow:
        return _detail_page(request, uow, actor, resource_id, done=done)


def _act(
    request: Request,
    platform: Platform,
    actor: Actor,
    resource_id: int,
    done: str,
    step: Callable[[UnitOfWork], object],
) -> Response:
    """Run one step; a refused step shows the resource again with the reason."""
    with platform.uow() as uow:
        try:
            step(uow)
        except (ValidationFailed, Conflict, PydanticValidationError) as exc:
            uow.rollback()
            return _detail_page(request, uow, actor, resource_id, error=exc)
    return RedirectResponse(f"/admin/catalogue/{resource_id}?done={done}", status_code=303)


@pages.post("/{resource_id}/mount")
def mount_from_form(
    request: Request,
    platform: PlatformDep,
    actor: Staff,
    resource_id: int,
    kind: Annotated[str, Form(max_length=20)],
    dataset: Annotated[str, Form(max_length=100)] = "",
    url: Annotated[str, Form(max_length=2000)] = "",
    query: Annotated[str, Form(max_length=20_000)] = "",
    secret_ref: Annotated[str, Form(max_length=220)] = "",
) -> Response:
    return _act(
        request,
        platform,
        actor,
        resource_id,
        "mounted",
        lambda uow: catalogue.mount_resource(
            uow,
            catalogue.MountResource(
                resource_id=resource_id,
                kind=kind,
                dataset=dataset,
                url=url,
                query=query,
                secret_ref=secret_ref,
            ),
            actor,
        ),
    )


@pages.post("/{resource_id}/submit")
def submit_from_form(
    request: Request,
    platform: PlatformDep,
    actor: Staff,
    resource_id: int,
    note: Annotated[str, Form(max_length=4000)] = "",
) -> Response:
    return _act(
        request,
        platform,
        actor,
        resource_id,
        "submitted",
        lambda uow: catalogue.submit_resource(
            uow, catalogue.SubmitResource(resource_id=resource_id, note=note), actor
        ),
    )


@pages.post("/{resource_id}/review")
def review_from_form(
    request: Request,
    platform: PlatformDep,
    actor: Staff,
    resource_id: int,
    decision: Annotated[str, Form(pattern="^(publish|return)$")],
    note: Annotated[str, Form(max_length=4000)] = "",
) -> Response:
    return _act(
        request,
        platform,
        actor,
        resource_id,
        "reviewed",
        lambda uow: catalogue.review_resource(
            uow,
            catalogue.ReviewResource(resource_id=resource_id, publish=decision == "publish", note=note),
            actor,
        ),
    )


@pages.post("/{resource_id}/version")
def version_from_form(
    request: Request,
    platform: PlatformDep,
    actor: Staff,
    resource_id: int,
    note: Annotated[str, Form(max_length=4000)] = "",
) -> Response:
    return _act(
        request,
        platform,
        actor,
        resource_id,
        "version",
        lambda uow: catalogue.start_version(
            uow, catalogue.StartVersion(resource_id=resource_id, note=note), actor
        ),
    )


@pages.post("/{resource_id}/withdraw")
def withdraw_from_form(
    request: Request,
    platform: PlatformDep,
    actor: Staff,
    resource_id: int,
    reason: Annotated[str, Form(max_length=4000)] = "",
) -> Response:
    return _act(
        request,
        platform,
        actor,
        resource_id,
        "withdrawn",
        lambda uow: catalogue.withdraw_resource(
            uow, catalogue.WithdrawResource(resource_id=resource_id, reason=reason), actor
        ),
    )


@pages.get("/{resource_id}/diff")
def diff_page(
    request: Request,
    platform: PlatformDep,
    actor: Staff,
    resource_id: int,
    from_version: Annotated[int, Query(alias="from", ge=1)],
    to_version: Annotated[int, Query(alias="to", ge=1)],
) -> Response:
    with platform.uow() as uow:
        detail = catalogue.get_resource(uow, resource_id, actor)
        change = catalogue.version_diff(uow, resource_id, from_version, to_version, actor)
    return render_admin(
        request,
        actor,
        "catalogue/diff.html",
        {
            "detail": detail,
            "resource": detail.resource,
            "change": change,
            "from": from_version,
            "to": to_version,
        },
    )


# --- JSON API ---------------------------------------------------------------------------------------------
class Out(BaseModel):
    model_config = ConfigDict(frozen=True)


class ItemOut(Out):
    name: str
    label: str
    data_type: catalogue.DataType
    length: int | None
    required: bool
    grade: catalogue.Grade
    scale: int | None


class MetadataOut(Out):
    name: str
    summary: str
    format: str
    items: list[ItemOut]
    share_type: catalogue.ShareType
    share_conditions: str
    share_basis: str
    share_method: str
    open_type: catalogue.OpenType
    open_conditions: str
    update_cycle: catalogue.UpdateCycle
    release_date: date | None
    related_codes: list[str]

    @classmethod
    def of(cls, meta: catalogue.Metadata) -> MetadataOut:
        return cls.model_validate(meta.as_dict())


class MountOut(Out):
    kind: catalogue.MountKind
    dataset: str
    url: str
    query: str
    secret_ref: str


class ResourceOut(Out):
    id: int
    code: str
    top_class: catalogue.TopClass
    classification: str
    provider_organisation_id: int
    provider_code: str
    provider_name: str
    division_code: str
    state: catalogue.ResourceState
    state_label: str
    published_version: int | None
    working_version: int | None
    version_number: int = Field(description="The version whose metadata follow")
    metadata: MetadataOut
    updated_at: datetime

    @classmethod
    def of(cls, view: catalogue.ResourceView) -> ResourceOut:
        r = view.resource
        return cls(
            id=r.id,
            code=r.code,
            top_class=r.classification.top,
            classification=r.classification.path,
            provider_organisation_id=r.provider_organisation_id,
            provider_code=r.provider_code,
            provider_name=view.provider_name,
            division_code=r.division_code,
            state=r.state,
            state_label=r.state.label,
            published_version=r.published_version,
            working_version=r.working_version,
            version_number=view.version_number,
            metadata=MetadataOut.of(view.metadata),
            updated_at=r.updated_at,
        )


class VersionOut(Out):
    number: int
    status: catalogue.VersionStatus
    metadata: MetadataOut
    mount: MountOut | None
    created_by: str
    created_at: datetime
    submitted_at: datetime | None
    reviewed_by: str
    reviewed_at: datetime | None
    review_note: str

    @classmethod
    def of(cls, v: catalogue.Version) -> VersionOut:
        return cls(
            number=v.number,
            status=v.status,
            metadata=MetadataOut.of(v.metadata),
            mount=MountOut.model_validate(v.mount.as_dict()) if v.mount else None,
            created_by=v.created_by,
            created_at=v.created_at,
            submitted_at=v.submitted_at,
            reviewed_by=v.reviewed_by,
            reviewed_at=v.reviewed_at,
            review_note=v.review_note,
        )


class HistoryOut(Out):
    id: int
    version_number: int | None
    kind: catalogue.EventKind
    kind_label: str
    from_state: str
    to_state: str
    actor: str
    note: str
    detail: dict[str, Any]
    occurred_at: datetime


class ChangeOut(Out):
    key: str
    label: str
    before: Any
    after: Any


class ItemChangeOut(Out):
    name: str
    changes: list[ChangeOut]


class DiffOut(Out):
    metadata: list[ChangeOut]
    items_added: list[ItemOut]
    items_removed: list[ItemOut]
    items_changed: list[ItemChangeOut]
    items_reordered: bool
    mount_changed: bool

    @classmethod
    def of(cls, d: catalogue.Diff) -> DiffOut:
        def change(c: catalogue.Change) -> ChangeOut:
            return ChangeOut(key=c.key, label=c.label, before=c.before, after=c.after)

        return cls(
            metadata=[change(c) for c in d.metadata],
            items_added=[ItemOut.model_validate(i.as_dict()) for i in d.items_added],
            items_removed=[ItemOut.model_validate(i.as_dict()) for i in d.items_removed],
            items_changed=[
                ItemChangeOut(name=c.name, changes=[change(x) for x in c.changes]) for c in d.items_changed
            ],
            items_reordered=d.items_reordered,
            mount_changed=d.mount_changed,
        )


class DetailOut(Out):
    resource: ResourceOut
    published: VersionOut | None
    working: VersionOut | None
    versions: list[VersionOut]
    history: list[HistoryOut]
    pending_diff: DiffOut | None
    actions: list[str] = Field(description="What the caller may do with the resource now")

    @classmethod
    def of(cls, d: catalogue.ResourceDetail) -> DetailOut:
        return cls(
            resource=ResourceOut.of(d.view),
            published=VersionOut.of(d.published) if d.published else None,
            working=VersionOut.of(d.working) if d.working else None,
            versions=[VersionOut.of(v) for v in d.versions],
            history=[
                HistoryOut(
                    id=h.id,
                    version_number=h.version_number,
                    kind=h.kind,
                    kind_label=h.kind.label,
                    from_state=h.from_state,
                    to_state=h.to_state,
                    actor=h.actor,
                    note=h.note,
                    detail=h.detail,
                    occurred_at=h.occurred_at,
                )
                for h in d.history
            ],
            pending_diff=DiffOut.of(d.pending_diff) if d.pending_diff else None,
            actions=sorted(d.actions),
        )


class PageOut(Out):
    items: list[ResourceOut]
    total: int
    limit: int
    offset: int


class SchemaFieldOut(Out):
    name: str
    label: str
    type: str
    required: bool
    max_length: int | None
    scale: int | None


class SchemaOut(Out):
    code: str
    version_number: int
    fields: list[SchemaFieldOut]


class ProblemOut(Out):
    row: int
    code: str
    message: str


class ImportOut(Out):
    ok: bool
    created: int
    updated: int
    unchanged: int
    problems: list[ProblemOut]


class In(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class MountIn(In):
    kind: catalogue.MountKind
    dataset: str = Field(default="", max_length=100)
    url: str = Field(default="", max_length=2000)
    query: str = Field(default="", max_length=20_000)
    secret_ref: str = Field(default="", max_length=220)


class NoteIn(In):
    note: str = Field(default="", max_length=4000)


class ReviewIn(In):
    publish: bool
    note: str = Field(default="", max_length=4000)


class ReasonIn(In):
    reason: str = Field(max_length=4000)


def _detail_out(uow: UnitOfWork, resource_id: int, actor: Actor) -> DetailOut:
    return DetailOut.of(catalogue.get_resource(uow, resource_id, actor))


@api_router.get(
    "", summary="Search the catalogue: published resources for all staff, drafts for their owners"
)
def api_search(
    platform: PlatformDep,
    actor: Staff,
    q: Annotated[str, Query(max_length=100)] = "",
    provider_organisation_id: int | None = None,
    top_class: catalogue.TopClass | None = None,
    classification: Annotated[str, Query(max_length=9, pattern=r"^\d*$")] = "",
    share_type: catalogue.ShareType | None = None,
    open_type: catalogue.OpenType | None = None,
    state: catalogue.ResourceState | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> PageOut:
    query = catalogue.ResourceQuery(
        q=q,
        provider_organisation_id=provider_organisation_id,
        top_class=top_class,
        classification=classification,
        share_type=share_type,
        open_type=open_type,
        state=state,
        limit=limit,
        offset=offset,
    )
    with platform.uow() as uow:
        found = catalogue.search_resources(uow, query, actor)
    return PageOut(
        items=[ResourceOut.of(v) for v in found.items], total=found.total, limit=limit, offset=offset
    )


@api_router.post("", status_code=201, summary="Register (注册) a resource as a draft")
def api_register(platform: PlatformDep, actor: Staff, body: catalogue.RegisterResource) -> DetailOut:
    with platform.uow() as uow:
        registered = catalogue.register_resource(uow, body, actor)
        return _detail_out(uow, registered.id, actor)


@api_router.get("/export.xlsx", summary="The catalogue as the data bureaus' Excel layout")
def api_export(request: Request, platform: PlatformDep, actor: Staff) -> Response:
    return export_page(request, platform, actor)


@api_router.post("/import", summary="Import an Excel catalogue; with any problem nothing changes")
async def api_import(platform: PlatformDep, actor: Staff, file: Annotated[UploadFile, File()]) -> ImportOut:
    content = await file.read(MAX_IMPORT_BYTES + 1)
    if len(content) > MAX_IMPORT_BYTES:
        raise ValidationFailed("文件过大", code="catalogue_import_too_large", field="file")
    with platform.uow() as uow:
        report = catalogue.import_catalogue(uow, content, actor)
    return ImportOut(
        ok=report.ok,
        created=report.created,
        updated=report.updated,
        unchanged=report.unchanged,
        problems=[ProblemOut(row=p.row, code=p.code, message=p.message) for p in report.problems],
    )


@api_router.get("/schema", summary="A published resource's fields, in the shape the ingest pipeline reads")
def api_schema(platform: PlatformDep, actor: Staff, code: Annotated[str, Query(max_length=40)]) -> SchemaOut:
    with platform.uow() as uow:
        schema = catalogue.resource_schema(uow, code)
    return SchemaOut(
        code=schema.code,
        version_number=schema.version_number,
        fields=[SchemaFieldOut.model_validate(f, from_attributes=True) for f in schema.fields],
    )


@api_router.get("/{resource_id}", summary="A resource with its versions, pending diff and history")
def api_get(platform: PlatformDep, actor: Staff, resource_id: int) -> DetailOut:
    with platform.uow() as uow:
        return _detail_out(uow, resource_id, actor)


@api_router.put("/{resource_id}", summary="Edit the working version (never the published one)")
def api_update(
    platform: PlatformDep, actor: Staff, resource_id: int, body: catalogue.MetadataSpec
) -> DetailOut:
    with platform.uow() as uow:
        catalogue.update_draft(
            uow, catalogue.UpdateDraft(resource_id=resource_id, **body.model_dump()), actor
        )
        return _detail_out(uow, resource_id, actor)


@api_router.post("/{resource_id}/mount", summary="Mount (挂接) the data; secrets only as references")
def api_mount(platform: PlatformDep, actor: Staff, resource_id: int, body: MountIn) -> DetailOut:
    with platform.uow() as uow:
        catalogue.mount_resource(
            uow, catalogue.MountResource(resource_id=resource_id, **body.model_dump()), actor
        )
        return _detail_out(uow, resource_id, actor)


@api_router.post("/{resource_id}/submit", summary="Submit the working version for review")
def api_submit(platform: PlatformDep, actor: Staff, resource_id: int, body: NoteIn) -> DetailOut:
    with platform.uow() as uow:
        catalogue.submit_resource(
            uow, catalogue.SubmitResource(resource_id=resource_id, note=body.note), actor
        )
        return _detail_out(uow, resource_id, actor)


@api_router.post("/{resource_id}/review", summary="Publish (发布) or return with reasons (the data bureau)")
def api_review(platform: PlatformDep, actor: Staff, resource_id: int, body: ReviewIn) -> DetailOut:
    with platform.uow() as uow:
        catalogue.review_resource(
            uow,
            catalogue.ReviewResource(resource_id=resource_id, publish=body.publish, note=body.note),
            actor,
        )
        return _detail_out(uow, resource_id, actor)


@api_router.post(
    "/{resource_id}/versions", status_code=201, summary="Start a new version of a published resource"
)
def api_start_version(platform: PlatformDep, actor: Staff, resource_id: int, body: NoteIn) -> DetailOut:
    with platform.uow() as uow:
        catalogue.start_version(uow, catalogue.StartVersion(resource_id=resource_id, note=body.note), actor)
        return _detail_out(uow, resource_id, actor)


@api_router.post("/{resource_id}/withdraw", summary="Withdraw (下线) a published resource for good")
def api_withdraw(platform: PlatformDep, actor: Staff, resource_id: int, body: ReasonIn) -> DetailOut:
    with platform.uow() as uow:
        catalogue.withdraw_resource(
            uow, catalogue.WithdrawResource(resource_id=resource_id, reason=body.reason), actor
        )
        return _detail_out(uow, resource_id, actor)


@api_router.get("/{resource_id}/diff", summary="What changed between two versions")
def api_diff(
    platform: PlatformDep,
    actor: Staff,
    resource_id: int,
    from_version: Annotated[int, Query(alias="from", ge=1)],
    to_version: Annotated[int, Query(alias="to", ge=1)],
) -> DiffOut:
    with platform.uow() as uow:
        return DiffOut.of(catalogue.version_diff(uow, resource_id, from_version, to_version, actor))


# --- live rows: the preview page and the rows API ---------------------------------------------------------
PREVIEW_ROWS = 20


class RowsOut(Out):
    code: str
    version_number: int
    kind: catalogue.MountKind
    fields: list[ItemOut]
    rows: list[dict[str, Any]] = Field(description="Values of sensitive and core fields are masked")
    limit: int


@pages.get("/{resource_id}/preview")
def preview_page(
    request: Request,
    platform: PlatformDep,
    actor: Staff,
    resource_id: int,
    limit: Annotated[int, Query(ge=1, le=500)] = PREVIEW_ROWS,
) -> Response:
    config = catalogue.LiveConfig.from_settings(platform.settings)
    error: WanshiError | None = None
    rows = None
    with platform.uow() as uow:
        detail = catalogue.get_resource(uow, resource_id, actor)
        try:
            rows = catalogue.read_rows(uow, platform.datastore, config, detail.resource.code, limit, actor)
        except (ValidationFailed, Conflict, catalogue.LiveSourceFailed) as exc:
            uow.rollback()
            error = exc
    return render_admin(
        request,
        actor,
        "catalogue/preview.html",
        {"detail": detail, "resource": detail.resource, "answer": rows, "error": error, "limit": limit},
        status_code=error.http_status if error is not None else 200,
    )


@api_router.get(
    "/resources/{code:path}/rows",
    summary="The first rows of a resource's data, wherever it is mounted (dataset, database or HTTP API)",
)
def api_rows(
    platform: PlatformDep,
    actor: Staff,
    code: Annotated[str, Path(max_length=40)],
    limit: Annotated[int, Query(ge=1, le=100_000)] = PREVIEW_ROWS,
) -> RowsOut:
    config = catalogue.LiveConfig.from_settings(platform.settings)
    with platform.uow() as uow:
        answer = catalogue.read_rows(uow, platform.datastore, config, code, limit, actor)
    return RowsOut(
        code=answer.code,
        version_number=answer.version_number,
        kind=answer.kind,
        fields=[ItemOut.model_validate(i.as_dict()) for i in answer.items],
        rows=list(answer.rows),
        limit=answer.limit,
    )


# --- admin area -------------------------------------------------------------------------------------------
def _stats(platform: Platform, actor: Actor) -> list[Stat]:
    with platform.uow() as uow:
        published = catalogue.search_resources(
            uow, catalogue.ResourceQuery(state=catalogue.ResourceState.PUBLISHED, limit=1), actor
        ).total
        waiting = catalogue.search_resources(
            uow, catalogue.ResourceQuery(state=catalogue.ResourceState.SUBMITTED, limit=1), actor
        ).total
    return [Stat("已发布资源", published, "ok"), Stat("待审核", waiting, "warn" if waiting else "")]


admin_sections = [
    AdminSection(
        "/admin/catalogue",
        "数据资源目录",
        40,
        policies.can_browse,
        description="政务数据资源的注册、挂接、审核发布、版本与 Excel 导入导出。",
        stats=_stats,
    )
]
