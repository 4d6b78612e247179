"""The form designer (/admin/forms): a clerk builds a form from plain controls, previews it and publishes it.

Every step posts the revision the page was drawn from. When somebody else saved in between, the step is
not applied; the page shows the latest draft, says who changed it and when, and offers to apply the same
step again on top of their change, so nobody's work is silently lost.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, File, Form, Query, Request, UploadFile
from starlette.datastructures import FormData
from starlette.responses import RedirectResponse, Response

from wanshi.bootstrap import Platform
from wanshi.forms import designer_input, policies, services
from wanshi.forms.domain import edits
from wanshi.forms.domain.records import FormKind
from wanshi.forms.domain.schema import (
    Action,
    Emphasis,
    FieldType,
    FormDocument,
    LabelPosition,
    Op,
    Theme,
)
from wanshi.forms.prefill import SOURCES, source_label
from wanshi.forms.rendering import read_posted
from wanshi.forms.web import evaluate_posted, form_view
from wanshi.kernel.actor import Actor, data_bureau_divisions, provider_organisations
from wanshi.kernel.errors import Conflict, ValidationFailed, WanshiError
from wanshi.org import api as org
from wanshi.web.auth import csrf_protect, get_platform, require_staff
from wanshi.web.web_registry import AdminSection, render_admin

pages = APIRouter(prefix="/admin/forms", dependencies=[Depends(csrf_protect)], include_in_schema=False)
routers = [pages]
admin_sections = [
    AdminSection(
        "/admin/forms", "表单中心", 34, policies.can_list, "设计、预览和发布办事表单，共享字段组与模板"
    )
]

PlatformDep = Annotated[Platform, Depends(get_platform)]
StaffDep = Annotated[Actor, Depends(require_staff)]
SOURCE_MAX_BYTES = 512 * 1024
WIDTHS = (
    (12, "整行"),
    (6, "半行"),
    (4, "三分之一行"),
    (3, "四分之一行"),
    (8, "三分之二行"),
    (9, "四分之三行"),
)
ACCENTS = (("blue", "蓝"), ("red", "红"), ("green", "绿"), ("grey", "灰"))


def _prefill_choices() -> list[tuple[str, str]]:
    return [(source, source_label(source)) for source in sorted(SOURCES)]


def _designable(platform: Platform, actor: Actor) -> list[org.Organisation]:
    """Organisations the actor may design forms for, to choose an owner from."""
    with platform.reader() as uow:
        found: dict[int, org.Organisation] = {}
        for organisation_id in provider_organisations(actor):
            try:
                found[organisation_id] = org.get_organisation(uow, organisation_id, actor)
            except WanshiError:
                continue
        for division in data_bureau_divisions(actor):
            listed, _ = org.list_organisations(
                uow, org.OrganisationQuery(division_code=division, limit=500), actor
            )
            found.update({o.id: o for o in listed})
    return sorted(found.values(), key=lambda o: (o.division_code, o.name))


# --- list and create ------------------------------------------------------------------------------------
@pages.get("")
def list_page(
    request: Request,
    platform: PlatformDep,
    actor: StaffDep,
    kind: FormKind = FormKind.FORM,
    q: Annotated[str, Query(max_length=60)] = "",
    archived: bool = False,
) -> Response:
    with platform.reader() as uow:
        found, total = services.list_forms(
            uow,
            services.ListForms(kinds=(kind,), with_shared=kind.shared, q=q, include_archived=archived),
            actor,
        )
        templates, _ = services.list_forms(
            uow, services.ListForms(kinds=(FormKind.TEMPLATE, FormKind.FORM), with_shared=True), actor
        )
    return render_admin(
        request,
        actor,
        "forms/admin/list.html",
        {
            "records": found,
            "total": total,
            "kind": kind,
            "kinds": list(FormKind),
            "q": q,
            "archived": archived,
            "organisations": _designable(platform, actor),
            "starts": [t for t in templates if t.latest_version],
        },
    )


@pages.post("")
def create_page(
    request: Request,
    platform: PlatformDep,
    actor: StaffDep,
    key: Annotated[str, Form(max_length=60)],
    title: Annotated[str, Form(max_length=100)],
    organisation_id: Annotated[int, Form()],
    kind: Annotated[FormKind, Form()] = FormKind.FORM,
    start_from: Annotated[str, Form(max_length=60)] = "",
) -> Response:
    try:
        with platform.uow() as uow:
            created = services.create_form(
                uow,
                services.CreateForm(
                    key=key.strip(),
                    kind=kind,
                    organisation_id=organisation_id,
                    title=title.strip(),
                    start_from=start_from,
                ),
                actor,
            )
    except (ValidationFailed, Conflict) as exc:
        with platform.reader() as uow:
            found, total = services.list_forms(
                uow, services.ListForms(kinds=(kind,), with_shared=kind.shared), actor
            )
        return render_admin(
            request,
            actor,
            "forms/admin/list.html",
            {
                "records": found,
                "total": total,
                "kind": kind,
                "kinds": list(FormKind),
                "q": "",
                "archived": False,
                "organisations": _designable(platform, actor),
                "starts": [],
                "error": exc.message,
                "entered": {"key": key, "title": title, "organisation_id": organisation_id},
            },
            status_code=exc.http_status,
        )
    return RedirectResponse(f"/admin/forms/{created.id}", status_code=303)


# --- the designer ---------------------------------------------------------------------------------------
def _designer(
    request: Request,
    platform: Platform,
    actor: Actor,
    form_id: int,
    *,
    selected: str = "",
    rule_index: int | None = None,
    error: str = "",
    conflict: dict[str, Any] | None = None,
    notice: str = "",
    status: int = 200,
) -> Response:
    with platform.reader() as uow:
        detail = services.get_form(uow, form_id, actor)
        fragments, _ = services.list_forms(
            uow, services.ListForms(kinds=(FormKind.FRAGMENT,), with_shared=True), actor
        )
    document = detail.document
    field = document.field(selected) if selected else None
    rule = (
        document.rules[rule_index]
        if rule_index is not None and 0 <= rule_index < len(document.rules)
        else None
    )
    return render_admin(
        request,
        actor,
        "forms/admin/designer.html",
        {
            "detail": detail,
            "record": detail.record,
            "document": document,
            "field": field,
            "rule": rule,
            "rule_index": rule_index,
            "containers": [f for f in document.walk() if f.type.is_container],
            "value_fields": [
                f for f in document.walk() if f.type.holds_value and f.type is not FieldType.REPEAT
            ],
            "field_types": list(FieldType),
            "ops": list(Op),
            "actions": list(Action),
            "widths": WIDTHS,
            "themes": list(Theme),
            "label_positions": list(LabelPosition),
            "emphases": list(Emphasis),
            "accents": ACCENTS,
            "prefill_choices": _prefill_choices(),
            "options_text": designer_input.options_to_text(field.options) if field else "",
            "fragments": [f for f in fragments if f.latest_version and f.id != form_id],
            "error": error,
            "conflict": conflict,
            "notice": notice,
        },
        status_code=status,
    )


@pages.get("/{form_id}")
def designer_page(
    request: Request,
    platform: PlatformDep,
    actor: StaffDep,
    form_id: int,
    field: Annotated[str, Query(max_length=40)] = "",
    rule: Annotated[int | None, Query(ge=0)] = None,
) -> Response:
    return _designer(request, platform, actor, form_id, selected=field, rule_index=rule)


def _edit(
    request: Request,
    platform: Platform,
    actor: Actor,
    form_id: int,
    posted: FormData,
    change: Callable[[FormDocument], FormDocument],
    *,
    describe: str,
    selected: str = "",
) -> Response:
    """Apply one designer step to the draft the page was drawn from, and save it with that revision."""
    revision_text = str(posted.get("revision") or "")
    if not revision_text.isdigit():
        return _designer(request, platform, actor, form_id, error="页面缺少修订号，请刷新后重试", status=422)
    try:
        with platform.reader() as uow:
            detail = services.get_form(uow, form_id, actor)
        changed = change(detail.document)
        with platform.uow() as uow:
            services.save_draft(
                uow,
                services.SaveDraft(
                    form_id=form_id,
                    revision=int(revision_text),
                    document=changed.model_dump(mode="json", exclude_defaults=True),
                ),
                actor,
            )
    except Conflict as exc:
        replay = [(k, str(v)) for k, v in posted.multi_items() if k not in ("revision", "csrf_token")]
        conflict = {
            "message": exc.message,
            "describe": describe,
            "action": request.url.path,
            "replay": replay,
        }
        return _designer(request, platform, actor, form_id, selected=selected, conflict=conflict, status=409)
    except ValidationFailed as exc:
        return _designer(request, platform, actor, form_id, selected=selected, error=exc.message, status=422)
    target = f"/admin/forms/{form_id}" + (f"?field={selected}" if selected else "")
    return RedirectResponse(target, status_code=303)


def _posted_dict(posted: FormData) -> dict[str, str]:
    return {k: str(v) for k, v in posted.items() if isinstance(v, str)}


@pages.post("/{form_id}/fields")
async def add_field_page(request: Request, platform: PlatformDep, actor: StaffDep, form_id: int) -> Response:
    posted = await request.form()
    values = _posted_dict(posted)
    label = values.get("label", "").strip()
    kind = values.get("type", "")
    parent = values.get("parent", "") or None
    key_holder: dict[str, str] = {}

    def change(document: FormDocument) -> FormDocument:
        key = edits.suggest_key(label, {f.key for f in document.walk()})
        key_holder["key"] = key
        field: dict[str, Any] = {"key": key, "type": kind, "label": label}
        if kind in (FieldType.SELECT.value, FieldType.RADIO.value, FieldType.CHECKLIST.value):
            field["options"] = [{"value": "1", "label": "选项一"}, {"value": "2", "label": "选项二"}]
        if kind in (FieldType.GROUP.value, FieldType.REPEAT.value):
            child = edits.suggest_key(f"{label}内容", {f.key for f in document.walk()} | {key})
            field["children"] = [{"key": child, "type": FieldType.TEXT.value, "label": "内容"}]
        if kind == FieldType.COMPUTED.value:
            field["expression"] = "0"
        return edits.add_field(document, field, parent=parent)

    response = _edit(request, platform, actor, form_id, posted, change, describe=f"添加字段“{label}”")
    if response.status_code == 303 and key_holder:
        return RedirectResponse(f"/admin/forms/{form_id}?field={key_holder['key']}", status_code=303)
    return response


@pages.post("/{form_id}/fields/{key}")
async def update_field_page(
    request: Request, platform: PlatformDep, actor: StaffDep, form_id: int, key: str
) -> Response:
    posted = await request.form()
    field = designer_input.field_from(_posted_dict(posted))

    def change(document: FormDocument) -> FormDocument:
        return edits.replace_field(document, key, field)

    return _edit(
        request,
        platform,
        actor,
        form_id,
        posted,
        change,
        describe=f"修改字段“{field['label']}”",
        selected=field["key"] or key,
    )


@pages.post("/{form_id}/fields/{key}/move")
async def move_field_page(
    request: Request, platform: PlatformDep, actor: StaffDep, form_id: int, key: str
) -> Response:
    posted = await request.form()
    direction: Literal["up", "down"] = "up" if posted.get("direction") == "up" else "down"
    return _edit(
        request,
        platform,
        actor,
        form_id,
        posted,
        lambda d: edits.move_field(d, key, direction),
        describe=f"移动字段“{key}”",
    )


@pages.post("/{form_id}/fields/{key}/delete")
async def delete_field_page(
    request: Request, platform: PlatformDep, actor: StaffDep, form_id: int, key: str
) -> Response:
    posted = await request.form()
    return _edit(
        request,
        platform,
        actor,
        form_id,
        posted,
        lambda d: edits.remove_field(d, key),
        describe=f"删除字段“{key}”",
    )


@pages.post("/{form_id}/rules")
async def rule_page(request: Request, platform: PlatformDep, actor: StaffDep, form_id: int) -> Response:
    posted = await request.form()
    rule = designer_input.rule_from(_posted_dict(posted))
    index_text = str(posted.get("index") or "")
    index = int(index_text) if index_text.isdigit() else None
    return _edit(
        request,
        platform,
        actor,
        form_id,
        posted,
        lambda d: edits.set_rule(d, rule, index=index),
        describe=f"保存规则“{rule['name']}”",
    )


@pages.post("/{form_id}/rules/{index}/delete")
async def delete_rule_page(
    request: Request, platform: PlatformDep, actor: StaffDep, form_id: int, index: int
) -> Response:
    posted = await request.form()
    return _edit(
        request, platform, actor, form_id, posted, lambda d: edits.remove_rule(d, index), describe="删除规则"
    )


@pages.post("/{form_id}/settings")
async def settings_page(request: Request, platform: PlatformDep, actor: StaffDep, form_id: int) -> Response:
    posted = await request.form()
    settings = designer_input.settings_from(_posted_dict(posted))
    return _edit(
        request,
        platform,
        actor,
        form_id,
        posted,
        lambda d: edits.set_settings(d, settings),
        describe="修改表单标题与样式",
    )


@pages.post("/{form_id}/fragments")
async def fragment_page(request: Request, platform: PlatformDep, actor: StaffDep, form_id: int) -> Response:
    posted = await request.form()
    fragment_key = str(posted.get("fragment") or "")
    parent = str(posted.get("parent") or "") or None
    with platform.reader() as uow:
        fragment = services.published_form(uow, fragment_key, actor)
    source = f"{fragment_key}@{fragment.version.number}"
    return _edit(
        request,
        platform,
        actor,
        form_id,
        posted,
        lambda d: edits.insert_fragment(d, fragment.document, source=source, parent=parent),
        describe=f"插入共享字段组“{fragment.document.title}”",
    )


@pages.post("/{form_id}/publish")
def publish_page(
    request: Request,
    platform: PlatformDep,
    actor: StaffDep,
    form_id: int,
    revision: Annotated[int, Form()],
    note: Annotated[str, Form(max_length=services.NOTE_MAX)] = "",
) -> Response:
    try:
        with platform.uow() as uow:
            published = services.publish_form(
                uow, services.PublishForm(form_id=form_id, revision=revision, note=note), actor
            )
    except Conflict as exc:
        conflict = {
            "message": exc.message,
            "describe": "发布",
            "action": request.url.path,
            "replay": [("note", note)],
        }
        return _designer(request, platform, actor, form_id, conflict=conflict, status=409)
    except ValidationFailed as exc:
        return _designer(request, platform, actor, form_id, error=exc.message, status=422)
    return _designer(request, platform, actor, form_id, notice=f"已发布第 {published.number} 版")


@pages.post("/{form_id}/archive")
def archive_page(
    request: Request,
    platform: PlatformDep,
    actor: StaffDep,
    form_id: int,
    revision: Annotated[int, Form()],
    archived: Annotated[bool, Form()],
) -> Response:
    try:
        with platform.uow() as uow:
            services.set_archived(
                uow, services.SetArchived(form_id=form_id, revision=revision, archived=archived), actor
            )
    except Conflict as exc:
        return _designer(request, platform, actor, form_id, error=exc.message, status=409)
    return RedirectResponse(f"/admin/forms/{form_id}", status_code=303)


# --- preview and source ---------------------------------------------------------------------------------
def _preview(
    request: Request, platform: Platform, actor: Actor, form_id: int, posted: FormData | None
) -> Response:
    """The draft as an applicant will see it, checked by the same rules; nothing is stored."""
    with platform.reader() as uow:
        detail = services.get_form(uow, form_id, actor)
    document, division = detail.document, detail.record.division_code
    checking = request.url.path.endswith("/check")
    passed = False
    status = 200
    if posted is None:
        view = form_view(platform, services.check_answers(document, None), division)
    else:
        read = read_posted(posted, trigger=request.headers.get("HX-Trigger-Name"))
        evaluation, names = evaluate_posted(platform, request, document, actor, read)
        submitted = read.submitting and not checking
        view = form_view(
            platform,
            evaluation,
            division,
            touched=read.touched,
            live=not submitted,
            summary=submitted,
            file_names=names,
        )
        passed = submitted and evaluation.ok
        status = 422 if submitted and not evaluation.ok else 200
    if checking:
        return render_admin(request, actor, "forms/_body.html", {"view": view})
    base = f"/admin/forms/{form_id}/preview"
    return render_admin(
        request,
        actor,
        "forms/admin/preview.html",
        {
            "record": detail.record,
            "view": view,
            "action": base,
            "check_url": f"{base}/check",
            "passed": passed,
        },
        status_code=status,
    )


@pages.get("/{form_id}/preview")
def preview_page(request: Request, platform: PlatformDep, actor: StaffDep, form_id: int) -> Response:
    return _preview(request, platform, actor, form_id, None)


@pages.post("/{form_id}/preview")
async def preview_post(request: Request, platform: PlatformDep, actor: StaffDep, form_id: int) -> Response:
    return _preview(request, platform, actor, form_id, await request.form())


@pages.post("/{form_id}/preview/check")
async def preview_check(request: Request, platform: PlatformDep, actor: StaffDep, form_id: int) -> Response:
    return _preview(request, platform, actor, form_id, await request.form())


@pages.get("/{form_id}/source.json")
def source_download(platform: PlatformDep, actor: StaffDep, form_id: int) -> Response:
    with platform.reader() as uow:
        detail = services.get_form(uow, form_id, actor)
    body = json.dumps(detail.record.draft, ensure_ascii=False, indent=2)
    return Response(
        body,
        media_type="application/json",
        headers={"Content-Disposition": f'attachment; filename="{detail.record.key}.json"'},
    )


@pages.post("/{form_id}/source")
async def source_upload(
    request: Request,
    platform: PlatformDep,
    actor: StaffDep,
    form_id: int,
    revision: Annotated[int, Form()],
    upload: Annotated[UploadFile, File()],
) -> Response:
    content = await upload.read(SOURCE_MAX_BYTES + 1)
    if len(content) > SOURCE_MAX_BYTES:
        return _designer(request, platform, actor, form_id, error="文件过大（最大 512 KB）", status=422)
    try:
        document = json.loads(content.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError):
        return _designer(
            request, platform, actor, form_id, error="不是有效的 JSON 文件（UTF-8 编码）", status=422
        )
    try:
        with platform.uow() as uow:
            services.save_draft(
                uow, services.SaveDraft(form_id=form_id, revision=revision, document=document), actor
            )
    except (Conflict, ValidationFailed) as exc:
        return _designer(request, platform, actor, form_id, error=exc.message, status=exc.http_status)
    return RedirectResponse(f"/admin/forms/{form_id}", status_code=303)
