"""Filling in a published form (/forms/{key}) and the forms JSON API (/api/v1/forms).

The page works without JavaScript: every post is evaluated by the server and the form drawn again. With
JavaScript, htmx posts the form to ``/check`` on each change and swaps in the redrawn fields, so fields
appear and disappear and problems show as the person goes, from the same evaluation as the final check.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel, Field
from starlette.responses import HTMLResponse, Response

from wanshi.bootstrap import Platform
from wanshi.datahub.registry import api as registry
from wanshi.forms import services
from wanshi.forms.domain.answers import Evaluation, flatten, plain
from wanshi.forms.domain.records import FormKind
from wanshi.forms.domain.schema import FieldType, FormDocument
from wanshi.forms.prefill import resolve_prefill
from wanshi.forms.rendering import FormView, Option, Posted, answers_json, apply_action, read_posted
from wanshi.forms.uploads import store_uploads
from wanshi.kernel.actor import Actor
from wanshi.org import api as org
from wanshi.web.auth import csrf_protect, current_actor, get_platform, require_staff
from wanshi.web.templating import render

pages = APIRouter(prefix="/forms", dependencies=[Depends(csrf_protect)], include_in_schema=False)
json_api = APIRouter(prefix="/api/v1/forms", tags=["forms"], dependencies=[Depends(csrf_protect)])
routers = [pages, json_api]

PlatformDep = Annotated[Platform, Depends(get_platform)]
Visitor = Annotated[Actor, Depends(current_actor)]
StaffDep = Annotated[Actor, Depends(require_staff)]
Version = Annotated[int | None, Query(ge=1)]


def division_options(platform: Platform, division_code: str) -> list[Option]:
    """Cities and counties of the form owner's province, for 行政区划 fields."""
    province = f"{division_code[:2]}0000"
    with platform.reader() as uow:
        found = [
            d
            for level in (org.DivisionLevel.PREFECTURE, org.DivisionLevel.COUNTY)
            for d in org.divisions_within(uow, province, level)
        ]
    return [Option(d.code, d.name) for d in sorted(found, key=lambda d: d.code)]


def prefilled_for(
    platform: Platform, document: FormDocument, actor: Actor, *, locked_only: bool = False
) -> dict[str, str]:
    """Prefilled values for the person. ``locked_only``: a post carries the other prefilled values as typed,
    so only fields that may not be changed need the registries again (not on every keystroke)."""
    if not any(f.prefill and (f.prefill_locked or not locked_only) for f in document.walk()):
        return {}
    with platform.uow() as uow:
        values = resolve_prefill(
            uow,
            document,
            actor,
            people=platform.identity,
            registries=registry.Registry.build(platform.settings, platform.datastore),
        )
        # The registries log every read (who, what, why) in this unit of work.
        uow.commit()
    return values


def evaluate_posted(
    platform: Platform, request: Request, document: FormDocument, actor: Actor, posted: Posted
) -> tuple[Evaluation, dict[str, str]]:
    """Store uploads, apply the page action and evaluate: what every page with a form does with a post."""
    raw = dict(posted.raw)
    file_names: dict[str, str] = {}
    if posted.uploads:
        raw, file_names = store_uploads(platform, document, raw, posted.uploads, actor)
    raw = apply_action(raw, posted.action)
    evaluation = services.check_answers(
        document, raw, prefilled=prefilled_for(platform, document, actor, locked_only=True)
    )
    return evaluation, file_names


def form_view(
    platform: Platform,
    evaluation: Evaluation,
    division_code: str,
    *,
    touched: tuple[str, ...] = (),
    live: bool = False,
    summary: bool = False,
    file_names: dict[str, str] | None = None,
) -> FormView:
    return FormView(
        evaluation,
        touched=touched,
        live=live,
        show_summary=summary,
        divisions=division_options(platform, division_code)
        if any(f.type is FieldType.DIVISION for f in evaluation.document.walk())
        else (),
        file_names=file_names or {},
    )


# --- the page ---------------------------------------------------------------------------------------------
def _published(platform: Platform, key: str, actor: Actor, version: int | None) -> services.Published:
    with platform.reader() as uow:
        return services.published_form(uow, key, actor, version=version)


@pages.get("/{key}")
def fill_page(
    request: Request, platform: PlatformDep, actor: Visitor, key: str, version: Version = None
) -> Response:
    published = _published(platform, key, actor, version)
    evaluation = services.check_answers(
        published.document, None, prefilled=prefilled_for(platform, published.document, actor)
    )
    return _fill(
        request, platform, published, form_view(platform, evaluation, published.version.division_code)
    )


def _fill(
    request: Request, platform: Platform, published: services.Published, view: FormView, status: int = 200
) -> HTMLResponse:
    return render(
        request,
        "forms/fill.html",
        {
            "published": published,
            "view": view,
            "action": request.url.path,
            "check_url": f"{request.url.path}/check",
        },
        status_code=status,
    )


@pages.post("/{key}")
async def fill_post(request: Request, platform: PlatformDep, actor: Visitor, key: str) -> Response:
    published = _published(platform, key, actor, None)
    posted = read_posted(await request.form())
    evaluation, names = evaluate_posted(platform, request, published.document, actor, posted)
    if not posted.submitting:
        view = form_view(
            platform,
            evaluation,
            published.version.division_code,
            touched=posted.touched,
            live=True,
            file_names=names,
        )
        return _fill(request, platform, published, view)
    if not evaluation.ok:
        view = form_view(
            platform, evaluation, published.version.division_code, summary=True, file_names=names
        )
        return _fill(request, platform, published, view, 422)
    return render(
        request,
        "forms/filled.html",
        {"published": published, "evaluation": evaluation, "values": plain(evaluation.values)},
    )


@pages.post("/{key}/check")
async def fill_check(request: Request, platform: PlatformDep, actor: Visitor, key: str) -> Response:
    """The live check htmx calls on every change: the form's fields drawn again."""
    published = _published(platform, key, actor, None)
    return await live_check(request, platform, published.document, published.version.division_code, actor)


async def live_check(
    request: Request, platform: Platform, document: FormDocument, division_code: str, actor: Actor
) -> Response:
    """The fields of a form drawn again for htmx after a change, problems shown for fields already left:
    what every page with a form answers at its ``…/check`` address."""
    posted = read_posted(await request.form(), trigger=request.headers.get("HX-Trigger-Name"))
    evaluation, names = evaluate_posted(platform, request, document, actor, posted)
    view = form_view(platform, evaluation, division_code, touched=posted.touched, live=True, file_names=names)
    return render(request, "forms/_body.html", {"view": view})


# --- JSON API -----------------------------------------------------------------------------------------------
class FormSummary(BaseModel):
    id: int
    key: str
    kind: FormKind
    title: str
    organisation_id: int
    revision: int
    latest_version: int | None
    draft_changed: bool
    archived: bool


class FormOut(FormSummary):
    draft: dict[str, Any]


class CreateIn(BaseModel):
    key: str = Field(max_length=60, description="表单标识，小写字母开头，如 birth-registration")
    kind: FormKind = FormKind.FORM
    organisation_id: int
    title: str = Field(min_length=2, max_length=100)
    start_from: str = Field(default="", max_length=60, description="以某个已发布模板或表单为起点")


class DraftIn(BaseModel):
    revision: int = Field(description="编辑开始时读到的修订号；他人已保存时返回 409 form_changed")
    document: dict[str, Any]


class PublishIn(BaseModel):
    revision: int
    note: str = Field(default="", max_length=services.NOTE_MAX)


class VersionOut(BaseModel):
    key: str
    version: int
    document: dict[str, Any]
    published_at: str


class CheckIn(BaseModel):
    answers: dict[str, Any] = Field(description="按字段标识给出的回答；明细表为对象数组")


def _summary(r: Any) -> dict[str, Any]:
    return {
        "id": r.id,
        "key": r.key,
        "kind": r.kind,
        "title": r.title,
        "organisation_id": r.organisation_id,
        "revision": r.revision,
        "latest_version": r.latest_version,
        "draft_changed": r.draft_changed,
        "archived": r.archived,
    }


@json_api.get("", summary="表单列表（本部门的表单及共享字段组、模板）")
def api_list(
    platform: PlatformDep,
    actor: StaffDep,
    kind: FormKind = FormKind.FORM,
    q: Annotated[str, Query(max_length=60)] = "",
    page: Annotated[int, Query(ge=1)] = 1,
) -> dict[str, Any]:
    with platform.reader() as uow:
        found, total = services.list_forms(
            uow,
            services.ListForms(kinds=(kind,), with_shared=kind is not FormKind.FORM, q=q, page=page),
            actor,
        )
    return {"total": total, "items": [FormSummary(**_summary(r)) for r in found]}


@json_api.post("", status_code=201, summary="新建表单")
def api_create(platform: PlatformDep, actor: StaffDep, body: CreateIn) -> FormOut:
    with platform.uow() as uow:
        created = services.create_form(uow, services.CreateForm(**body.model_dump()), actor)
    return FormOut(**_summary(created), draft=created.draft)


@json_api.get("/{form_id}", summary="表单草稿与修订号")
def api_get(platform: PlatformDep, actor: StaffDep, form_id: int) -> FormOut:
    with platform.reader() as uow:
        detail = services.get_form(uow, form_id, actor)
    return FormOut(**_summary(detail.record), draft=detail.record.draft)


@json_api.put("/{form_id}/draft", summary="保存草稿（乐观并发：须带上读到的修订号）")
def api_save(platform: PlatformDep, actor: StaffDep, form_id: int, body: DraftIn) -> FormOut:
    with platform.uow() as uow:
        saved = services.save_draft(
            uow, services.SaveDraft(form_id=form_id, revision=body.revision, document=body.document), actor
        )
    return FormOut(**_summary(saved), draft=saved.draft)


@json_api.post("/{form_id}/publish", summary="发布草稿为新版本")
def api_publish(platform: PlatformDep, actor: StaffDep, form_id: int, body: PublishIn) -> VersionOut:
    with platform.uow() as uow:
        published = services.publish_form(
            uow, services.PublishForm(form_id=form_id, revision=body.revision, note=body.note), actor
        )
    return VersionOut(
        key=published.key,
        version=published.number,
        document=published.document,
        published_at=published.published_at.isoformat(),
    )


@json_api.get("/published/{key}", summary="已发布的表单定义（公开）")
def api_published(platform: PlatformDep, actor: Visitor, key: str, version: Version = None) -> VersionOut:
    found = _published(platform, key, actor, version)
    return VersionOut(
        key=key,
        version=found.version.number,
        document=found.version.document,
        published_at=found.version.published_at.isoformat(),
    )


@json_api.post("/published/{key}/check", summary="按已发布的表单校验回答（与网页同一套规则）")
def api_check(
    platform: PlatformDep, actor: Visitor, key: str, body: CheckIn, version: Version = None
) -> dict[str, Any]:
    found = _published(platform, key, actor, version)
    evaluation = services.check_answers(
        found.document, flatten(body.answers), prefilled=prefilled_for(platform, found.document, actor)
    )
    return {**answers_json(evaluation), "version": found.version.number, "values": plain(evaluation.values)}
