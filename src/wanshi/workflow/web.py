"""The clerk's workbench (/tasks: 待办、待认领、已办, and each task's page) and the process JSON API
(/api/v1/workflow). A task with a form shows the form through the forms centre's renderer and is checked
by the same evaluation, with JavaScript or without."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Form, Query, Request
from pydantic import BaseModel, Field
from starlette.responses import RedirectResponse, Response

from wanshi.bootstrap import Platform
from wanshi.forms import api as forms
from wanshi.forms.rendering import FormView, read_posted
from wanshi.forms.web import evaluate_posted, form_view, live_check
from wanshi.identity import api as identity
from wanshi.kernel import clock as kclock
from wanshi.kernel.actor import SYSTEM, Actor, Role
from wanshi.kernel.errors import Conflict, ValidationFailed
from wanshi.web.auth import csrf_protect, get_platform, require_staff
from wanshi.web.templating import render
from wanshi.web.web_registry import china_time
from wanshi.workflow.domain.records import Instance, Task, TaskState
from wanshi.workflow.engine.codec import plain
from wanshi.workflow.services import definitions, instances, supervision

pages = APIRouter(prefix="/tasks", dependencies=[Depends(csrf_protect)], include_in_schema=False)
json_api = APIRouter(prefix="/api/v1/workflow", tags=["workflow"], dependencies=[Depends(csrf_protect)])
routers = [pages, json_api]

PlatformDep = Annotated[Platform, Depends(get_platform)]
StaffDep = Annotated[Actor, Depends(require_staff)]
View = Literal["mine", "claimable", "done"]
OUTCOMES = (("approve", "同意"), ("reject", "不同意"))
ROLE_CODES = frozenset(r.value for r in Role)


@pages.get("")
def task_list(
    request: Request,
    platform: PlatformDep,
    actor: StaffDep,
    view: View = "mine",
    page: Annotated[int, Query(ge=1)] = 1,
) -> Response:
    with platform.reader() as uow:
        found, total = instances.list_tasks(uow, instances.TaskQuery(view=view, page=page), actor)
        counts = {
            v: instances.list_tasks(uow, instances.TaskQuery(view=v, page_size=1), actor)[1]
            for v in ("mine", "claimable")
        }
    return render(
        request,
        "workflow/tasks.html",
        {
            "tasks": found,
            "total": total,
            "view": view,
            "counts": counts,
            "page": page,
            "today": kclock.today_in_china(),
            "china_time": china_time,
        },
    )


def _colleagues(platform: Platform, task: Task) -> list[tuple[int, str]]:
    """Staff of the task's organisation who hold one of its roles: whom it may be delegated to."""
    if task.organisation_id is None:
        return []
    with platform.reader() as uow:
        roles = [Role(r) for r in task.roles if r in ROLE_CODES]
        ids = identity.staff_user_ids(uow, [task.organisation_id], roles)
        actors = [identity.load_actor(uow, i) for i in ids]
    return [(a.user_id, a.display_name or a.label) for a in actors if a is not None and a.user_id is not None]


def _task_page(
    request: Request,
    platform: Platform,
    actor: Actor,
    task_id: int,
    *,
    view: FormView | None = None,
    error: str = "",
    status: int = 200,
) -> Response:
    with platform.reader() as uow:
        task, owner = instances.get_task(uow, task_id, actor)
        detail = instances.get_task_view(uow, task_id, platform.actions, actor)
        published = (
            forms.published_form(uow, task.form_key, SYSTEM, include_archived=True) if task.form_key else None
        )
    mine = task.state is TaskState.OPEN and actor.user_id is not None and task.assignee_id == actor.user_id
    if published is not None and view is None:
        prefilled = {k: str(v) for k, v in plain(detail.data).items() if isinstance(v, (str, int, float))}
        evaluation = forms.check_answers(published.document, None, prefilled=prefilled)
        view = form_view(platform, evaluation, published.version.division_code)
    return render(
        request,
        "workflow/task.html",
        {
            "task": task,
            "owner": owner,
            "detail": detail,
            "data": plain(detail.data),
            "mine": mine,
            "claimable": task.state is TaskState.OPEN and task.assignee_id is None,
            "published": published,
            "view": view,
            "outcomes": OUTCOMES,
            "colleagues": _colleagues(platform, task) if mine else [],
            "error": error,
            "today": kclock.today_in_china(),
            "china_time": china_time,
        },
        status_code=status,
    )


@pages.get("/{task_id:int}")
def task_page(request: Request, platform: PlatformDep, actor: StaffDep, task_id: int) -> Response:
    return _task_page(request, platform, actor, task_id)


def _back(task_id: int) -> RedirectResponse:
    return RedirectResponse(f"/tasks/{task_id}", status_code=303)


@pages.post("/{task_id:int}/claim")
def claim_page(request: Request, platform: PlatformDep, actor: StaffDep, task_id: int) -> Response:
    try:
        with platform.uow() as uow:
            instances.claim_task(uow, task_id, actor)
    except ValidationFailed as exc:
        return _task_page(request, platform, actor, task_id, error=exc.message, status=409)
    return _back(task_id)


@pages.post("/{task_id:int}/release")
def release_page(platform: PlatformDep, actor: StaffDep, task_id: int) -> Response:
    with platform.uow() as uow:
        instances.release_task(uow, task_id, actor)
    return RedirectResponse("/tasks?view=claimable", status_code=303)


@pages.post("/{task_id:int}/delegate")
def delegate_page(
    request: Request,
    platform: PlatformDep,
    actor: StaffDep,
    task_id: int,
    to_user_id: Annotated[int, Form()],
    note: Annotated[str, Form(max_length=instances.OPINION_MAX)] = "",
) -> Response:
    try:
        with platform.uow() as uow:
            instances.delegate_task(
                uow, instances.DelegateTask(task_id=task_id, to_user_id=to_user_id, note=note), actor
            )
    except ValidationFailed as exc:
        return _task_page(request, platform, actor, task_id, error=exc.message, status=422)
    return RedirectResponse("/tasks", status_code=303)


@pages.post("/{task_id:int}/return")
def return_page(
    request: Request,
    platform: PlatformDep,
    actor: StaffDep,
    task_id: int,
    to_element: Annotated[str, Form(max_length=100)],
    reason: Annotated[str, Form(max_length=instances.OPINION_MAX)] = "",
) -> Response:
    try:
        with platform.uow() as uow:
            instances.return_task(
                uow,
                instances.ReturnTask(task_id=task_id, to_element=to_element, reason=reason.strip() or "—"),
                platform.actions,
                actor,
            )
    except (ValidationFailed, Conflict) as exc:
        return _task_page(request, platform, actor, task_id, error=exc.message, status=exc.http_status)
    return RedirectResponse("/tasks", status_code=303)


@pages.post("/{task_id:int}/complete")
async def complete_page(request: Request, platform: PlatformDep, actor: StaffDep, task_id: int) -> Response:
    posted_form = await request.form()
    outcome = str(posted_form.get("outcome") or "")
    opinion = str(posted_form.get("opinion") or "")[: instances.OPINION_MAX]
    with platform.reader() as uow:
        task, _ = instances.get_task(uow, task_id, actor)
        published = (
            forms.published_form(uow, task.form_key, SYSTEM, include_archived=True) if task.form_key else None
        )
    answers: dict[str, list[str]] | None = None
    if published is not None:
        posted = read_posted(posted_form)
        evaluation, names = evaluate_posted(platform, request, published.document, actor, posted)
        if not posted.submitting or not evaluation.ok:
            view = form_view(
                platform,
                evaluation,
                published.version.division_code,
                touched=posted.touched,
                live=not posted.submitting,
                summary=posted.submitting,
                file_names=names,
            )
            return _task_page(
                request, platform, actor, task_id, view=view, status=200 if not posted.submitting else 422
            )
        answers = evaluation.raw()
    try:
        with platform.uow() as uow:
            instances.complete_task(
                uow,
                instances.CompleteTask(task_id=task_id, answers=answers, outcome=outcome, opinion=opinion),
                platform.actions,
                actor,
            )
    except (ValidationFailed, Conflict) as exc:
        return _task_page(request, platform, actor, task_id, error=exc.message, status=exc.http_status)
    return RedirectResponse("/tasks?done=1", status_code=303)


@pages.post("/{task_id:int}/check")
async def check_page(request: Request, platform: PlatformDep, actor: StaffDep, task_id: int) -> Response:
    with platform.reader() as uow:
        task, _ = instances.get_task(uow, task_id, actor)
        published = forms.published_form(uow, task.form_key, SYSTEM, include_archived=True)
    return await live_check(request, platform, published.document, published.version.division_code, actor)


# --- JSON API ----------------------------------------------------------------------------------------------
class DefinitionIn(BaseModel):
    key: str = Field(pattern=definitions.KEY_PATTERN)
    organisation_id: int
    name: str = Field(min_length=2, max_length=100)
    bpmn_xml: str = Field(default="", max_length=definitions.XML_MAX)
    dmn_xml: list[str] = Field(default_factory=list, max_length=20)


class DraftIn(BaseModel):
    revision: int
    bpmn_xml: str = Field(min_length=1, max_length=definitions.XML_MAX)
    dmn_xml: list[str] = Field(default_factory=list, max_length=20)


class DeployIn(BaseModel):
    revision: int
    note: str = Field(default="", max_length=definitions.NOTE_MAX)


class CompleteIn(BaseModel):
    answers: dict[str, Any] | None = Field(
        default=None, description="表单回答（按字段标识；明细表为对象数组）"
    )
    outcome: str = Field(default="", max_length=40)
    opinion: str = Field(default="", max_length=instances.OPINION_MAX)


class ReturnIn(BaseModel):
    to_element: str = Field(max_length=100)
    reason: str = Field(min_length=2, max_length=instances.OPINION_MAX)


class DelegateIn(BaseModel):
    to_user_id: int
    note: str = Field(default="", max_length=instances.OPINION_MAX)


def _definition_out(d: Any) -> dict[str, Any]:
    return {
        "id": d.id,
        "key": d.key,
        "name": d.name,
        "organisation_id": d.organisation_id,
        "revision": d.revision,
        "latest_version": d.latest_version,
        "draft_changed": d.draft_changed,
    }


def _instance_out(i: Instance) -> dict[str, Any]:
    return {
        "id": i.id,
        "definition_key": i.definition_key,
        "version": i.version_number,
        "business_key": i.business_key,
        "organisation_id": i.organisation_id,
        "status": i.status.value,
        "revision": i.revision,
        "started_at": i.started_at.isoformat(),
        "ended_at": i.ended_at.isoformat() if i.ended_at else None,
    }


def _task_out(t: Task) -> dict[str, Any]:
    return {
        "id": t.id,
        "instance_id": t.instance_id,
        "element_id": t.element_id,
        "name": t.name,
        "form_key": t.form_key,
        "roles": list(t.roles),
        "organisation_id": t.organisation_id,
        "assignee": t.assignee_name or None,
        "state": t.state.value,
        "due_date": t.due_date.isoformat() if t.due_date else None,
    }


@json_api.get("/definitions", summary="流程定义列表")
def api_definitions(platform: PlatformDep, actor: StaffDep) -> list[dict[str, Any]]:
    with platform.reader() as uow:
        return [_definition_out(d) for d in definitions.list_definitions(uow, actor)]


@json_api.post("/definitions", status_code=201, summary="新建流程定义")
def api_create_definition(platform: PlatformDep, actor: StaffDep, body: DefinitionIn) -> dict[str, Any]:
    cmd = definitions.CreateDefinition(**{**body.model_dump(), "dmn_xml": tuple(body.dmn_xml)})
    with platform.uow() as uow:
        return _definition_out(definitions.create_definition(uow, cmd, actor))


@json_api.get("/definitions/{definition_id}", summary="流程定义（草稿、修订号、部署前检查发现的问题）")
def api_definition(platform: PlatformDep, actor: StaffDep, definition_id: int) -> dict[str, Any]:
    with platform.reader() as uow:
        detail = definitions.get_definition(uow, definition_id, platform.actions, actor)
    return {
        **_definition_out(detail.definition),
        "bpmn_xml": detail.definition.draft_bpmn,
        "dmn_xml": list(detail.definition.draft_dmn),
        "problems": detail.problems,
        "versions": [
            {"number": v.number, "deployed_at": v.deployed_at.isoformat(), "note": v.note}
            for v in detail.versions
        ],
    }


@json_api.put("/definitions/{definition_id}/draft", summary="保存流程草稿（须带上读到的修订号）")
def api_save_definition(
    platform: PlatformDep, actor: StaffDep, definition_id: int, body: DraftIn
) -> dict[str, Any]:
    cmd = definitions.SaveDefinition(
        definition_id=definition_id,
        revision=body.revision,
        bpmn_xml=body.bpmn_xml,
        dmn_xml=tuple(body.dmn_xml),
    )
    with platform.uow() as uow:
        return _definition_out(definitions.save_definition(uow, cmd, actor))


@json_api.post("/definitions/{definition_id}/deploy", summary="部署为新版本")
def api_deploy(platform: PlatformDep, actor: StaffDep, definition_id: int, body: DeployIn) -> dict[str, Any]:
    cmd = definitions.DeployDefinition(definition_id=definition_id, revision=body.revision, note=body.note)
    with platform.uow() as uow:
        deployed = definitions.deploy_definition(uow, cmd, platform.actions, actor)
    return {"key": deployed.key, "version": deployed.number, "process_id": deployed.process_id}


@json_api.post("/instances", status_code=201, summary="启动流程实例")
def api_start(platform: PlatformDep, actor: StaffDep, body: instances.StartProcess) -> dict[str, Any]:
    with platform.uow() as uow:
        started = instances.start_process(uow, body, platform.actions, actor)
        tasks = instances.open_task_list(uow, started.id)
    return {**_instance_out(started), "tasks": [_task_out(t) for t in tasks]}


@json_api.get("/instances/{instance_id}", summary="流程实例：状态、待办、历史、时限")
def api_instance(platform: PlatformDep, actor: StaffDep, instance_id: int) -> dict[str, Any]:
    with platform.reader() as uow:
        view = instances.get_instance(uow, instance_id, platform.actions, actor)
    return {
        **_instance_out(view.instance),
        "tasks": [_task_out(t) for t in view.tasks],
        "data": plain(view.data),
        "history": [
            {
                "kind": h.kind.value,
                "label": h.kind.label,
                "actor": h.actor,
                "at": h.at.isoformat(),
                "detail": h.detail,
            }
            for h in view.history
        ],
        "clocks": [
            {
                "kind": kind,
                "used": r.used,
                "remaining": r.remaining,
                "due_date": r.due_date.isoformat() if r.due_date else None,
                "level": r.level.value,
                "level_label": r.level.label,
            }
            for kind, r in view.clocks
        ],
    }


@json_api.get("/tasks", summary="我的待办、可认领的待办、已办")
def api_tasks(
    platform: PlatformDep, actor: StaffDep, view: View = "mine", page: Annotated[int, Query(ge=1)] = 1
) -> dict[str, Any]:
    with platform.reader() as uow:
        found, total = instances.list_tasks(uow, instances.TaskQuery(view=view, page=page), actor)
    return {
        "total": total,
        "items": [{**_task_out(t), **{k: str(v) for k, v in facts.items()}} for t, facts in found],
    }


@json_api.post("/tasks/{task_id}/claim", summary="认领")
def api_claim(platform: PlatformDep, actor: StaffDep, task_id: int) -> dict[str, Any]:
    with platform.uow() as uow:
        return _task_out(instances.claim_task(uow, task_id, actor))


@json_api.post("/tasks/{task_id}/release", summary="释放（放回待认领）")
def api_release(platform: PlatformDep, actor: StaffDep, task_id: int) -> dict[str, Any]:
    with platform.uow() as uow:
        return _task_out(instances.release_task(uow, task_id, actor))


@json_api.post("/tasks/{task_id}/complete", summary="办理完成（有表单时按表单校验）")
def api_complete(platform: PlatformDep, actor: StaffDep, task_id: int, body: CompleteIn) -> dict[str, Any]:
    answers = forms.flatten(body.answers) if body.answers is not None else None
    cmd = instances.CompleteTask(task_id=task_id, answers=answers, outcome=body.outcome, opinion=body.opinion)
    with platform.uow() as uow:
        after = instances.complete_task(uow, cmd, platform.actions, actor)
        tasks = instances.open_task_list(uow, after.id)
    return {**_instance_out(after), "tasks": [_task_out(t) for t in tasks]}


@json_api.post("/tasks/{task_id}/return", summary="退回到已办理过的环节")
def api_return(platform: PlatformDep, actor: StaffDep, task_id: int, body: ReturnIn) -> dict[str, Any]:
    cmd = instances.ReturnTask(task_id=task_id, to_element=body.to_element, reason=body.reason)
    with platform.uow() as uow:
        return _instance_out(instances.return_task(uow, cmd, platform.actions, actor))


@json_api.post("/tasks/{task_id}/delegate", summary="委派给同部门有相应角色的同事")
def api_delegate(platform: PlatformDep, actor: StaffDep, task_id: int, body: DelegateIn) -> dict[str, Any]:
    cmd = instances.DelegateTask(task_id=task_id, to_user_id=body.to_user_id, note=body.note)
    with platform.uow() as uow:
        return _task_out(instances.delegate_task(uow, cmd, actor))


@json_api.get("/supervision", summary="效能监察：时限预警与超期统计")
def api_supervision(platform: PlatformDep, actor: StaffDep) -> dict[str, Any]:
    with platform.reader() as uow:
        report = supervision.supervise(uow, actor)
    return {
        "today": report.today.isoformat(),
        "levels": {k.value: v for k, v in report.levels.items()},
        "by_process": {key: {k.value: v for k, v in counts.items()} for key, counts in report.by_process},
        "overdue": [
            {**o, "due_date": o["due_date"].isoformat() if o["due_date"] else None} for o in report.overdue
        ],
        "concluded": {"in_time": report.concluded[0], "late": report.concluded[1]},
    }
