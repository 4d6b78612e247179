"""The process designer and the supervisors' pages (/admin/workflow).

The designer page is one form: without JavaScript its textarea holds the BPMN (or a file can be uploaded);
with JavaScript the vendored bpmn-js modeler draws it and our Chinese panel edits the platform's attributes,
and the XML goes back in the same textarea. Saving quotes the revision the page was drawn from.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Query, Request
from starlette.datastructures import UploadFile
from starlette.responses import RedirectResponse, Response

from wanshi.bootstrap import Platform
from wanshi.kernel import clock as kclock
from wanshi.kernel.actor import SYSTEM, Actor
from wanshi.kernel.errors import Conflict, ValidationFailed
from wanshi.org import api as org
from wanshi.web.auth import csrf_protect, get_platform, require_staff
from wanshi.web.web_registry import AdminSection, render_admin
from wanshi.workflow import policies
from wanshi.workflow.domain.clocks import Level, PauseReason
from wanshi.workflow.domain.records import ClockKind
from wanshi.workflow.services import definitions, instances, supervision

pages = APIRouter(prefix="/admin/workflow", dependencies=[Depends(csrf_protect)], include_in_schema=False)
palette_api = APIRouter(prefix="/api/v1/workflow", tags=["workflow"], dependencies=[Depends(csrf_protect)])
routers = [pages, palette_api]
admin_sections = [
    AdminSection(
        "/admin/workflow", "流程中心", 36, policies.can_list_definitions, "设计、部署流程，迁移运行中的实例"
    ),
    AdminSection(
        "/admin/workflow/supervision", "效能监察", 37, policies.can_supervise, "办理时限预警与超期情况"
    ),
]

PlatformDep = Annotated[Platform, Depends(get_platform)]
StaffDep = Annotated[Actor, Depends(require_staff)]
XML_MAX_BYTES = 1_000_000
LEVEL_TONES = {Level.NORMAL: "ok", Level.YELLOW: "warn", Level.RED: "bad", Level.PAUSED: ""}


def _organisations(platform: Platform, actor: Actor) -> list[org.Organisation]:
    with platform.reader() as uow:
        listed, _ = org.list_organisations(uow, org.OrganisationQuery(limit=500), SYSTEM)
    return [o for o in listed if policies.can_design(actor, o.id, o.division_code)]


@pages.get("")
def list_page(request: Request, platform: PlatformDep, actor: StaffDep) -> Response:
    with platform.reader() as uow:
        found = definitions.list_definitions(uow, actor)
    return render_admin(
        request,
        actor,
        "workflow/admin/list.html",
        {"definitions": found, "organisations": _organisations(platform, actor)},
    )


@pages.post("")
def create_page(
    request: Request,
    platform: PlatformDep,
    actor: StaffDep,
    key: Annotated[str, Form(max_length=60)],
    name: Annotated[str, Form(max_length=100)],
    organisation_id: Annotated[int, Form()],
) -> Response:
    try:
        with platform.uow() as uow:
            created = definitions.create_definition(
                uow,
                definitions.CreateDefinition(
                    key=key.strip(), name=name.strip(), organisation_id=organisation_id
                ),
                actor,
            )
    except (ValidationFailed, Conflict) as exc:
        with platform.reader() as uow:
            found = definitions.list_definitions(uow, actor)
        return render_admin(
            request,
            actor,
            "workflow/admin/list.html",
            {"definitions": found, "organisations": _organisations(platform, actor), "error": exc.message},
            status_code=exc.http_status,
        )
    return RedirectResponse(f"/admin/workflow/{created.id}", status_code=303)


def _designer(
    request: Request,
    platform: Platform,
    actor: Actor,
    definition_id: int,
    *,
    error: str = "",
    notice: str = "",
    xml: str | None = None,
    status: int = 200,
    report: Any = None,
) -> Response:
    with platform.reader() as uow:
        detail = definitions.get_definition(uow, definition_id, platform.actions, actor)
        running = instances.list_running(uow, detail.definition.key, actor)
    return render_admin(
        request,
        actor,
        "workflow/admin/designer.html",
        {
            "detail": detail,
            "definition": detail.definition,
            "xml": detail.definition.draft_bpmn if xml is None else xml,
            "error": error,
            "notice": notice,
            "running": running,
            "report": report,
        },
        status_code=status,
    )


@pages.get("/{definition_id:int}")
def designer_page(request: Request, platform: PlatformDep, actor: StaffDep, definition_id: int) -> Response:
    return _designer(request, platform, actor, definition_id)


@pages.post("/{definition_id:int}")
async def save_page(request: Request, platform: PlatformDep, actor: StaffDep, definition_id: int) -> Response:
    posted = await request.form()
    revision = str(posted.get("revision") or "")
    xml = str(posted.get("bpmn_xml") or "")
    upload = posted.get("bpmn_file")
    if isinstance(upload, UploadFile) and upload.filename:
        content = await upload.read(XML_MAX_BYTES + 1)
        if len(content) > XML_MAX_BYTES:
            return _designer(
                request, platform, actor, definition_id, error="文件过大（最大 1 MB）", status=422
            )
        xml = content.decode("utf-8", errors="replace")
    dmn: list[str] = []
    for item in posted.getlist("dmn_file"):
        if isinstance(item, UploadFile) and item.filename:
            dmn.append((await item.read(XML_MAX_BYTES)).decode("utf-8", errors="replace"))
    if not revision.isdigit():
        return _designer(
            request, platform, actor, definition_id, error="页面缺少修订号，请刷新后重试", status=422
        )
    try:
        with platform.reader() as uow:
            current = definitions.get_definition(uow, definition_id, platform.actions, actor).definition
        keep_dmn = tuple(dmn) if dmn else (() if posted.get("clear_dmn") else current.draft_dmn)
        with platform.uow() as uow:
            definitions.save_definition(
                uow,
                definitions.SaveDefinition(
                    definition_id=definition_id, revision=int(revision), bpmn_xml=xml, dmn_xml=keep_dmn
                ),
                actor,
            )
    except (ValidationFailed, Conflict) as exc:
        # What the clerk drew is kept on the page, so a refusal never loses their work.
        return _designer(
            request, platform, actor, definition_id, error=exc.message, xml=xml, status=exc.http_status
        )
    return RedirectResponse(f"/admin/workflow/{definition_id}", status_code=303)


@pages.post("/{definition_id:int}/deploy")
def deploy_page(
    request: Request,
    platform: PlatformDep,
    actor: StaffDep,
    definition_id: int,
    revision: Annotated[int, Form()],
    note: Annotated[str, Form(max_length=definitions.NOTE_MAX)] = "",
) -> Response:
    try:
        with platform.uow() as uow:
            deployed = definitions.deploy_definition(
                uow,
                definitions.DeployDefinition(definition_id=definition_id, revision=revision, note=note),
                platform.actions,
                actor,
            )
    except (ValidationFailed, Conflict) as exc:
        return _designer(request, platform, actor, definition_id, error=exc.message, status=exc.http_status)
    return _designer(request, platform, actor, definition_id, notice=f"已部署第 {deployed.number} 版")


@pages.post("/{definition_id:int}/migrate")
def migrate_page(
    request: Request,
    platform: PlatformDep,
    actor: StaffDep,
    definition_id: int,
    from_version: Annotated[int, Form(ge=1)],
    to_version: Annotated[int, Form(ge=1)],
    dry_run: Annotated[bool, Form()] = False,
) -> Response:
    with platform.reader() as uow:
        key = definitions.get_definition(uow, definition_id, platform.actions, actor).definition.key
    cmd = instances.MigrateInstances(
        definition_key=key, from_version=from_version, to_version=to_version, dry_run=dry_run
    )
    with platform.uow() as uow:
        report = instances.migrate_instances(uow, cmd, platform.actions, actor)
    verb = "可迁移" if dry_run else "已迁移"
    return _designer(
        request, platform, actor, definition_id, notice=f"{verb} {len(report.migrated)} 个实例", report=report
    )


@palette_api.get("/palette", summary="流程设计器的候选项：角色、部门、平台动作、表单、决策表")
def palette(
    platform: PlatformDep, actor: StaffDep, definition: Annotated[int, Query(ge=1)]
) -> dict[str, Any]:
    with platform.reader() as uow:
        detail = definitions.get_definition(uow, definition, platform.actions, actor)
        return definitions.palette(
            uow, platform.actions, detail.definition.organisation_id, detail.definition.draft_dmn, actor
        )


# --- instances and supervision ------------------------------------------------------------------------
@pages.get("/instances/{instance_id:int}")
def instance_page(request: Request, platform: PlatformDep, actor: StaffDep, instance_id: int) -> Response:
    with platform.reader() as uow:
        view = instances.get_instance(uow, instance_id, platform.actions, actor)
    return render_admin(
        request,
        actor,
        "workflow/admin/instance.html",
        {
            "view": view,
            "pauses": list(PauseReason),
            "clock_kinds": {k.value: k.label for k in ClockKind},
            "today": kclock.today_in_china(),
        },
    )


@pages.post("/instances/{instance_id:int}/pause")
def pause_page(
    platform: PlatformDep,
    actor: StaffDep,
    instance_id: int,
    reason: Annotated[PauseReason, Form()],
    note: Annotated[str, Form(max_length=500)] = "",
) -> Response:
    with platform.uow() as uow:
        instances.pause_clock(
            uow, instances.ClockPause(instance_id=instance_id, reason=reason, note=note), actor
        )
    return RedirectResponse(f"/admin/workflow/instances/{instance_id}", status_code=303)


@pages.post("/instances/{instance_id:int}/resume")
def resume_page(platform: PlatformDep, actor: StaffDep, instance_id: int) -> Response:
    with platform.uow() as uow:
        instances.resume_clock(uow, instance_id, actor)
    return RedirectResponse(f"/admin/workflow/instances/{instance_id}", status_code=303)


@pages.get("/supervision")
def supervision_page(request: Request, platform: PlatformDep, actor: StaffDep) -> Response:
    with platform.reader() as uow:
        report = supervision.supervise(uow, actor)
        names = {
            o.id: o.name for o in org.list_organisations(uow, org.OrganisationQuery(limit=500), SYSTEM)[0]
        }
    peak = max([1, *(late for _, late, _ in report.trend)])
    return render_admin(
        request,
        actor,
        "workflow/admin/supervision.html",
        {"report": report, "levels": Level, "tones": LEVEL_TONES, "names": names, "peak": peak},
    )
