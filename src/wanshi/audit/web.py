"""The audit administrator's pages and JSON API: search the audit log and verify its hash chain."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel, Field, ValidationError
from starlette.responses import Response

from wanshi.audit import api as audit
from wanshi.audit import policies
from wanshi.bootstrap import Platform
from wanshi.identity.api import ROLE_NAMES
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


# --- the security view (安全态势): the page and its JSON API over the same services -----------------------
SECURITY_BLURB = "登录失败、账号锁定、新设备登录、权限变更和越权拒绝的统计与告警。"
KIND_NAMES = {
    audit.SecurityKind.FAILED_LOGIN: "登录失败",
    audit.SecurityKind.LOCKOUT: "账号锁定",
    audit.SecurityKind.NEW_DEVICE: "新设备登录",
    audit.SecurityKind.PRIVILEGE: "权限变更",
    audit.SecurityKind.REFUSAL: "越权拒绝",
    audit.SecurityKind.ACCOUNT: "账号与凭据变更",
    audit.SecurityKind.APPLICATION: "接入应用变更",
    audit.SecurityKind.LOGIN: "登录成功",
}
PERIOD_NAMES = {
    audit.SecurityPeriod.DAY: "最近 24 小时",
    audit.SecurityPeriod.WEEK: "最近 7 天",
    audit.SecurityPeriod.MONTH: "最近 30 天",
}
ACTION_NAMES = {
    "identity.login": "登录",
    "identity.second_factor": "第二因子验证",
    "identity.account.locked": "账号被锁定",
    "identity.login.new_device": "在新设备上登录",
    "identity.role.grant": "授予角色",
    "identity.role.revoke": "撤销角色",
    "identity.user.create": "创建账号",
    "identity.password.reset": "重置密码",
    "identity.password.change": "修改密码",
    "identity.password.recover": "找回密码",
    "identity.totp.enrol": "绑定动态口令",
    "identity.totp.remove": "解除动态口令",
    "identity.session.end": "结束登录会话",
    "identity.delegation.grant": "授权代办",
    "identity.delegation.revoke": "撤销代办授权",
    "identity.user.register": "注册个人账号",
    "identity.assurance.raise": "提升实名等级",
    "identity.qr.decide": "扫码确认登录",
    "identity.legal_person.register": "开通法人账号",
    "identity.enterprise.act_for": "切换为企业身份",
    "identity.enterprise.act_as_self": "切换回个人身份",
}
OIDC_CLIENT_ACTION = "接入应用变更"
METHOD_NAMES = {"pwd": "密码", "sms": "短信验证码", "totp": "动态口令", "otp": "动态口令", "qr": "扫码"}
SECURITY_OUTCOME_NAMES = {**OUTCOME_NAMES, "denied_by_user": "用户拒绝", "throttled": "来源地址受限"}
SECURITY_FIELD_LABELS = {"period": "时间范围", "kind": "事件类型"}
ALERT_TITLES = {
    audit.AlertKind.CREDENTIAL_STUFFING: "疑似撞库攻击",
    audit.AlertKind.REPEATED_LOCKOUT: "账号反复被锁定",
    audit.AlertKind.OFF_HOURS_ADMIN_GRANT: "非工作时间授予管理员角色",
}
# Colours of the trend series: each at least 4.5:1 against white and of a different hue; the legend
# names them and the data table carries the figures, so colour is never the only cue.
KIND_COLOURS = {
    audit.SecurityKind.FAILED_LOGIN: "#b45309",
    audit.SecurityKind.LOCKOUT: "#6b21a8",
    audit.SecurityKind.REFUSAL: "#1e40af",
}
CHART_LEFT, CHART_TOP, CHART_HEIGHT, SLOT, BAR_WIDTH = 40, 10, 160, 20, 14

security_pages = APIRouter(
    prefix="/admin/security", dependencies=[Depends(csrf_protect)], include_in_schema=False
)
security_api = APIRouter(prefix="/api/v1/security", tags=["security"], dependencies=[Depends(csrf_protect)])


def action_label(action: str) -> str:
    """The message id naming an action in plain Chinese, or "" for one the view does not know."""
    if action.startswith("identity.oidc.client."):
        return OIDC_CLIENT_ACTION
    return ACTION_NAMES.get(action, "")


def method_text(methods: str, translate: Callable[[str], str]) -> str:
    """The sign-in methods recorded as "pwd totp", named in the page's language."""
    return translate("、").join(translate(METHOD_NAMES.get(m, m)) for m in methods.split())


@dataclass(frozen=True)
class ChartBar:
    x: int
    y: float
    height: float
    colour: str
    kind: audit.SecurityKind
    value: int


@dataclass(frozen=True)
class ChartDay:
    day: date
    x: int
    bars: tuple[ChartBar, ...]
    total: int
    tick: str  # the date under every fifth bar, "" elsewhere


@dataclass(frozen=True)
class TrendChart:
    days: tuple[ChartDay, ...]
    top: int
    width: int
    height: int
    left: int
    ceiling: int
    baseline: int


def trend_chart(trend: tuple[audit.DayCount, ...]) -> TrendChart:
    """Stacked bars, one per China day, laid out here so the template draws plain SVG rectangles."""
    top = max((d.total for d in trend), default=0)
    scale = CHART_HEIGHT / top if top else 0.0
    baseline = CHART_TOP + CHART_HEIGHT
    days = []
    for index, day in enumerate(trend):
        x = CHART_LEFT + index * SLOT + (SLOT - BAR_WIDTH) // 2
        bottom = float(baseline)
        bars = []
        for kind in audit.TREND_KINDS:
            value = day.of(kind)
            if not value:
                continue
            height = value * scale
            bottom -= height
            bars.append(ChartBar(x, round(bottom, 2), round(height, 2), KIND_COLOURS[kind], kind, value))
        tick = day.day.strftime("%m-%d") if index % 5 == 0 or index == len(trend) - 1 else ""
        days.append(ChartDay(day.day, x, tuple(bars), day.total, tick))
    width = CHART_LEFT + SLOT * len(trend)
    return TrendChart(tuple(days), top, width, baseline + 24, CHART_LEFT - 4, CHART_TOP, baseline)


SecurityPeriodParam = Annotated[str, Query(max_length=8)]
SecurityKindParam = Annotated[str, Query(max_length=20)]


def _security_query(period: str, kind: str, errors: dict[str, str]) -> audit.SecurityEventQuery:
    try:
        return audit.SecurityEventQuery(period=period or audit.SecurityPeriod.DAY, kind=kind or None)
    except ValidationError as exc:
        errors.update(form_problems(exc)[0])
        return audit.SecurityEventQuery()


@security_pages.get("")
def security_page(
    request: Request,
    platform: PlatformDep,
    actor: StaffDep,
    period: SecurityPeriodParam = "",
    kind: SecurityKindParam = "",
) -> Response:
    errors: dict[str, str] = {}
    query = _security_query(period, kind, errors)
    with platform.uow() as uow:
        summary = audit.summarise_security(uow, audit.SecuritySummaryQuery(period=query.period), actor)
        alerts = audit.security_alerts(
            uow, actor, clock.now(), failure_burst=platform.settings.security_failure_burst
        )
        events = audit.list_security_events(uow, query, actor)
    return render_admin(
        request,
        actor,
        "admin/security.html",
        {
            "form": {"period": period or query.period.value, "kind": kind},
            "errors": errors,
            "labels": SECURITY_FIELD_LABELS,
            "summary": summary,
            "chart": trend_chart(summary.trend),
            "alerts": alerts,
            "events": events,
            "period": query.period,
            "failure_burst": platform.settings.security_failure_burst,
            "links_to_audit": policies.can_search_audit(actor),
            "kind_names": KIND_NAMES,
            "trend_kinds": audit.TREND_KINDS,
            "kind_colours": KIND_COLOURS,
            "period_names": PERIOD_NAMES,
            "outcome_names": SECURITY_OUTCOME_NAMES,
            "alert_titles": ALERT_TITLES,
            "role_names": ROLE_NAMES,
            "action_label": action_label,
            "method_text": method_text,
        },
        status_code=422 if errors else 200,
    )


class KindCountOut(BaseModel):
    kind: audit.SecurityKind
    last_24h: int
    last_7d: int


class DayCountOut(BaseModel):
    day: date = Field(description="China calendar day")
    counts: dict[audit.SecurityKind, int]
    total: int


class SourceCountOut(BaseModel):
    address: str
    failures: int


class SecuritySummaryOut(BaseModel):
    at: datetime
    counts: list[KindCountOut]
    trend: list[DayCountOut]
    top_sources: list[SourceCountOut] = Field(
        description="addresses with the most failed sign-ins in the period"
    )


class SecurityEventOut(BaseModel):
    seq: int = Field(description="the audit entry's sequence number")
    at: datetime
    account: str = Field(description="masked where it looks like a mobile or resident ID number")
    actor_kind: str
    tenant: str
    action: str
    kind: audit.SecurityKind | None
    outcome: str
    source_address: str
    method: str


class SecurityEventsOut(BaseModel):
    events: list[SecurityEventOut]


class SecurityAlertOut(BaseModel):
    kind: audit.AlertKind
    subject: str = Field(description="the source address, or the user id of the account concerned")
    count: int
    first_at: datetime
    last_at: datetime
    seq: int
    actor: str
    role: str


class SecurityAlertsOut(BaseModel):
    alerts: list[SecurityAlertOut]


@security_api.get(
    "/summary", response_model=SecuritySummaryOut, summary="Security figures of the viewer's divisions"
)
def security_summary_api(
    platform: PlatformDep, actor: StaffDep, query: Annotated[audit.SecuritySummaryQuery, Query()]
) -> SecuritySummaryOut:
    with platform.uow() as uow:
        found = audit.summarise_security(uow, query, actor)
    return SecuritySummaryOut(
        at=clock.as_utc(found.at),
        counts=[KindCountOut(kind=c.kind, last_24h=c.last_day, last_7d=c.last_week) for c in found.counts],
        trend=[DayCountOut(day=d.day, counts=dict(d.counts), total=d.total) for d in found.trend],
        top_sources=[SourceCountOut(address=s.address, failures=s.failures) for s in found.top_sources],
    )


@security_api.get(
    "/events", response_model=SecurityEventsOut, summary="The latest security events, newest first"
)
def security_events_api(
    platform: PlatformDep, actor: StaffDep, query: Annotated[audit.SecurityEventQuery, Query()]
) -> SecurityEventsOut:
    with platform.uow() as uow:
        found = audit.list_security_events(uow, query, actor)
    return SecurityEventsOut(
        events=[
            SecurityEventOut(
                seq=e.seq,
                at=clock.as_utc(e.at),
                account=e.account,
                actor_kind=e.actor_kind,
                tenant=e.tenant,
                action=e.action,
                kind=e.kind,
                outcome=e.outcome,
                source_address=e.source_address,
                method=e.method,
            )
            for e in found
        ]
    )


@security_api.get("/alerts", response_model=SecurityAlertsOut, summary="Security alerts of the last 24 hours")
def security_alerts_api(platform: PlatformDep, actor: StaffDep) -> SecurityAlertsOut:
    with platform.uow() as uow:
        found = audit.security_alerts(
            uow, actor, clock.now(), failure_burst=platform.settings.security_failure_burst
        )
    return SecurityAlertsOut(
        alerts=[
            SecurityAlertOut(
                kind=a.kind,
                subject=a.subject,
                count=a.count,
                first_at=a.first_at,
                last_at=a.last_at,
                seq=a.seq,
                actor=a.actor,
                role=a.role,
            )
            for a in found
        ]
    )


admin_sections = [
    AdminSection(
        "/admin/audit",
        "审计日志",
        40,
        policies.can_search_audit,
        description="查询操作记录，校验哈希链是否完整。",
    ),
    AdminSection(
        "/admin/security", "安全态势", 38, policies.can_summarise_security, description=SECURITY_BLURB
    ),
]

routers = [pages, audit_api, security_pages, security_api]
