"""The audit administrator's pages and JSON API: search the audit log and verify its hash chain."""

from __future__ import annotations

import json
from datetime import date, datetime, time, timedelta
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel, Field, ValidationError
from starlette.responses import Response

from wanshi.audit import api as audit
from wanshi.audit import policies
from wanshi.bootstrap import Platform
from wanshi.kernel import clock
from wanshi.kernel.actor import Actor
from wanshi.web.auth import csrf_protect, get_platform, require_staff
from wanshi.web.web_registry import AdminSection, form_problems, render_admin

PAGE = 50
OUTCOME_NAMES = {"success": "成功", "failure": "失败", "denied": "拒绝", "locked": "锁定"}
FIELD_LABELS = {
    "since": "开始日期",
    "until": "结束日期",
    "actor": "操作人",
    "action": "操作",
    "object_type": "对象类型",
    "object_id": "对象编号",
    "outcome": "结果",
    "tenant": "行政区划代码",
    "request_id": "请求编号",
}
TEXT_FILTERS = ("actor", "action", "object_type", "object_id", "outcome", "tenant", "request_id")

pages = APIRouter(prefix="/admin/audit", dependencies=[Depends(csrf_protect)], include_in_schema=False)
audit_api = APIRouter(prefix="/api/v1/audit", tags=["audit"], dependencies=[Depends(csrf_protect)])

PlatformDep = Annotated[Platform, Depends(get_platform)]
StaffDep = Annotated[Actor, Depends(require_staff)]


def _day_start(value: str, field: str, errors: dict[str, str], *, next_day: bool = False) -> datetime | None:
    """A date typed on the form as the start of that day (or of the next: "until" includes its day)."""
    if not value:
        return None
    try:
        day = date.fromisoformat(value)
    except ValueError:
        errors[field] = "不是有效的日期"
        return None
    return datetime.combine(day + timedelta(days=int(next_day)), time(), tzinfo=clock.CHINA_TZ)


def _cursor_url(request: Request, before_seq: int | None) -> str:
    """The same search, starting below the given entry (or from the newest)."""
    params = [(k, v) for k, v in request.query_params.multi_items() if k != "before_seq"]
    if before_seq is not None:
        params.append(("before_seq", str(before_seq)))
    return f"{request.url.path}?{urlencode(params)}"


def _page(
    request: Request,
    actor: Actor,
    form: dict[str, str],
    *,
    found: audit.AuditPage | None = None,
    errors: dict[str, str] | None = None,
    chain: audit.ChainReport | None = None,
    status_code: int = 200,
) -> Response:
    return render_admin(
        request,
        actor,
        "admin/audit.html",
        {
            "form": form,
            "found": found,
            "older_url": _cursor_url(request, found.entries[-1].seq) if found and found.has_more else "",
            "newest_url": _cursor_url(request, None) if "before_seq" in request.query_params else "",
            "errors": errors or {},
            "chain": chain,
            "outcome_names": OUTCOME_NAMES,
            "labels": FIELD_LABELS,
            # Readable Chinese rather than \u escapes; autoescaping still makes it safe in the page.
            "as_json": lambda detail: json.dumps(detail, ensure_ascii=False, sort_keys=True),
        },
        status_code=status_code,
    )


@pages.get("")
def audit_page(
    request: Request,
    platform: PlatformDep,
    actor: StaffDep,
    since: Annotated[str, Query(max_length=10)] = "",
    until: Annotated[str, Query(max_length=10)] = "",
    before_seq: Annotated[int | None, Query(ge=1)] = None,
) -> Response:
    form = {name: request.query_params.get(name, "").strip() for name in TEXT_FILTERS}
    form.update(since=since, until=until)
    errors: dict[str, str] = {}
    values: dict[str, Any] = {k: v for k, v in form.items() if k in TEXT_FILTERS}
    values["since"] = _day_start(since, "since", errors)
    values["until"] = _day_start(until, "until", errors, next_day=True)
    try:
        query = audit.AuditQuery(**values, limit=PAGE, before_seq=before_seq)
    except ValidationError as exc:
        errors.update(form_problems(exc)[0])
    else:
        if not errors:
            with platform.uow() as uow:
                found = audit.search_audit(uow, query, actor)
            return _page(request, actor, form, found=found)
    return _page(request, actor, form, errors=errors, status_code=422)


@pages.post("/verify")
def verify_page(request: Request, platform: PlatformDep, actor: StaffDep) -> Response:
    with platform.uow() as uow:
        chain = audit.verify_audit(uow, actor)
    return _page(request, actor, dict.fromkeys((*TEXT_FILTERS, "since", "until"), ""), chain=chain)


class AuditEntryOut(BaseModel):
    seq: int
    at: datetime
    actor: str
    actor_kind: str
    tenant: str
    action: str
    object_type: str
    object_id: str
    outcome: str
    request_id: str
    source_address: str
    detail: dict[str, Any]


class AuditPageOut(BaseModel):
    entries: list[AuditEntryOut]
    has_more: bool
    next_before_seq: int | None = Field(description="pass as before_seq for the next, older page")


class ChainProblemOut(BaseModel):
    seq: int
    problem: str


class ChainReportOut(BaseModel):
    checked: int
    intact: bool
    problems: list[ChainProblemOut]


def _entry_out(e: audit.AuditEntry) -> AuditEntryOut:
    return AuditEntryOut(
        seq=e.seq,
        at=clock.as_utc(e.at),
        actor=e.actor,
        actor_kind=e.actor_kind,
        tenant=e.tenant,
        action=e.action,
        object_type=e.object_type,
        object_id=e.object_id,
        outcome=e.outcome,
        request_id=e.request_id,
        source_address=e.source_address,
        detail=e.detail,
    )


@audit_api.get(
    "", response_model=AuditPageOut, summary="Search the audit log (audit administrators; itself audited)"
)
def search_audit_api(
    platform: PlatformDep, actor: StaffDep, query: Annotated[audit.AuditQuery, Query()]
) -> AuditPageOut:
    with platform.uow() as uow:
        found = audit.search_audit(uow, query, actor)
    return AuditPageOut(
        entries=[_entry_out(e) for e in found.entries],
        has_more=found.has_more,
        next_before_seq=found.entries[-1].seq if found.has_more else None,
    )


@audit_api.post("/verify", response_model=ChainReportOut, summary="Verify the audit log's hash chain")
def verify_audit_api(platform: PlatformDep, actor: StaffDep) -> ChainReportOut:
    with platform.uow() as uow:
        chain = audit.verify_audit(uow, actor)
    return ChainReportOut(
        checked=chain.checked,
        intact=chain.intact,
        problems=[ChainProblemOut(seq=p.seq, problem=p.problem) for p in chain.problems],
    )


admin_sections = [
    AdminSection(
        "/admin/audit",
        "审计日志",
        40,
        policies.can_search_audit,
        description="查询操作记录，校验哈希链是否完整。",
    )
]

routers = [pages, audit_api]
