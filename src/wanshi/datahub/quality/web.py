"""The quality console (/admin/quality) and its JSON API (/api/v1/quality), over the same services.

Charts are server-rendered inline SVG (no JavaScript): every bar and point carries a ``<title>``, every chart
an ``aria-label`` and a data table beside it, and every colour is repeated as text (优/良/中/差), so the
charts read the same to a screen reader, in a high-contrast mode and on a phone (the SVG scales to the
screen's width; labels sit above their bars rather than beside them).
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import pairwise
from typing import Annotated, Any

from fastapi import APIRouter, Depends, File, Form, Query, Request, UploadFile
from pydantic import BaseModel, ConfigDict
from pydantic import ValidationError as PydanticValidationError
from starlette.responses import RedirectResponse, Response

from wanshi.bootstrap import Platform
from wanshi.datahub.quality import api as quality
from wanshi.datahub.quality import policies
from wanshi.datahub.quality.domain import severity_label
from wanshi.infra.uow import UnitOfWork
from wanshi.kernel.actor import Actor
from wanshi.kernel.errors import Conflict, NotFound, ValidationFailed, WanshiError
from wanshi.web.auth import csrf_protect, get_platform, require_staff
from wanshi.web.web_registry import AdminSection, form_problems, render_admin

pages = APIRouter(prefix="/admin/quality", dependencies=[Depends(csrf_protect)], include_in_schema=False)
api_router = APIRouter(prefix="/api/v1/quality", tags=["quality"], dependencies=[Depends(csrf_protect)])
routers = [pages, api_router]

Staff = Annotated[Actor, Depends(require_staff)]
PlatformDep = Annotated[Platform, Depends(get_platform)]
PAGE_SIZE = 20
MAX_UPLOAD_BYTES = 200_000
DAY_CHOICES = (7, 30, 90, 365)

# --- charts -----------------------------------------------------------------------------------------------
# No viewBox: text keeps its size and the bars and x positions are percentages of the width, so a chart is as
# readable on a phone as on a desk (the CSP forbids inline styles, so nothing is sized by CSS).
BAR_ROW = 36
BAR_SPAN = 78.0  # percent of the width for the longest bar; the rest holds its value
LINE_HEIGHT = 170
LINE_TOP = 12
LINE_BOTTOM = 28
LINE_LEFT = 9.0  # percent: room for the axis labels
LINE_RIGHT = 97.0
COLOURS = {"ok": "#1b7f3b", "warn": "#9a5b00", "bad": "#b3261e"}


def grade(score: float) -> tuple[str, str]:
    """(tone, word) of a score: colour and the same meaning in text."""
    if score >= 95:
        return "ok", "优"
    if score >= 85:
        return "ok", "良"
    if score >= 70:
        return "warn", "中"
    return "bad", "差"


def rate_grade(rate: float) -> tuple[str, str]:
    """(tone, word) of a failure rate in percent."""
    if rate < 1:
        return "ok", "低"
    if rate < 10:
        return "warn", "中"
    return "bad", "高"


@dataclass(frozen=True)
class Bar:
    label: str
    value_text: str
    word: str
    colour: str
    y: int
    width: float  # percent
    href: str


@dataclass(frozen=True)
class BarChart:
    title: str
    height: int
    bars: tuple[Bar, ...]


def bar_chart(
    series: quality.Series, *, title: str, maximum: float, rates: bool = False, href: str = ""
) -> BarChart:
    """Horizontal bars, one per point, its label above it (long department names fit a phone)."""
    bars = []
    for index, point in enumerate(series.points):
        tone, word = rate_grade(point.value) if rates else grade(point.value)
        bars.append(
            Bar(
                label=point.label,
                value_text=f"{point.value:.1f}%" if rates else f"{point.value:.1f}",
                word=word,
                colour=COLOURS[tone],
                y=index * BAR_ROW + 16,
                width=round(max(BAR_SPAN * min(point.value, maximum) / maximum, 0.5), 2),
                href=href.format(key=point.key) if href else "",
            )
        )
    return BarChart(title, max(len(bars), 1) * BAR_ROW + 4, tuple(bars))


@dataclass(frozen=True)
class Dot:
    x: float  # percent
    y: float
    label: str
    value_text: str
    word: str
    colour: str


@dataclass(frozen=True)
class LineChart:
    title: str
    height: int
    dots: tuple[Dot, ...]
    segments: tuple[tuple[Dot, Dot], ...]
    gridlines: tuple[tuple[float, str], ...]  # (y, label)
    first: str
    last: str


def line_chart(series: quality.Series, *, title: str) -> LineChart:
    """Scores (0–100) by day, left to right; one dot per day with its value in a tooltip and the table."""
    points = series.points
    inner = LINE_HEIGHT - LINE_TOP - LINE_BOTTOM

    def y_of(value: float) -> float:
        return round(LINE_TOP + inner * (1 - value / 100.0), 1)

    span = LINE_RIGHT - LINE_LEFT
    dots = []
    for index, point in enumerate(points):
        x = LINE_LEFT + (span * index / (len(points) - 1) if len(points) > 1 else span / 2)
        tone, word = grade(point.value)
        dots.append(
            Dot(round(x, 2), y_of(point.value), point.label, f"{point.value:.1f}", word, COLOURS[tone])
        )
    return LineChart(
        title=title,
        height=LINE_HEIGHT,
        dots=tuple(dots),
        segments=tuple(pairwise(dots)),
        gridlines=tuple((y_of(v), str(v)) for v in (0, 50, 100)),
        first=points[0].label if points else "",
        last=points[-1].label if points else "",
    )


# --- pages ------------------------------------------------------------------------------------------------
def _organisation_filter(value: str) -> int | None:
    return int(value) if value.isdigit() else None


@pages.get("")
def dashboard_page(
    request: Request,
    platform: PlatformDep,
    actor: Staff,
    days: Annotated[int, Query(ge=1, le=366)] = 30,
    organisation: Annotated[str, Query(max_length=20)] = "",
) -> Response:
    organisation_id = _organisation_filter(organisation)
    with platform.uow() as uow:
        board = quality.quality_dashboard(
            uow, quality.DashboardQuery(days=days, organisation_id=organisation_id), actor
        )
    return render_admin(
        request,
        actor,
        "quality/dashboard.html",
        {
            "board": board,
            "days": days,
            "day_choices": DAY_CHOICES,
            "organisation": organisation_id,
            "departments": bar_chart(
                board.by_department,
                title="各部门当前质量得分",
                maximum=100,
                href=f"?days={days}&organisation={{key}}",
            ),
            # Failure rates are mostly a few percent: bars scale to the worst rule; the text gives the rate.
            "rules": bar_chart(
                board.by_rule,
                title="不合格率最高的规则",
                maximum=max((p.value for p in board.by_rule.points), default=0.0) or 1.0,
                rates=True,
            ),
            "trend": line_chart(board.over_time, title="每日平均质量得分"),
            "grade": grade,
            "can_check_consistency": bool(policies.bureau_scopes(actor)),
        },
    )


@pages.post("/run")
def run_by_code(
    request: Request,
    platform: PlatformDep,
    actor: Staff,
    resource_code: Annotated[str, Form(max_length=40)] = "",
) -> Response:
    with platform.uow() as uow:
        try:
            done = _run(uow, platform, resource_code, actor)
        except (ValidationFailed, NotFound, PydanticValidationError) as exc:
            uow.rollback()
            return _error_page(request, actor, exc)
    return RedirectResponse(f"/admin/quality/runs/{done.id}", status_code=303)


def _run(uow: UnitOfWork, platform: Platform, code: str, actor: Actor) -> quality.Run:
    return quality.run_quality_check(
        uow,
        platform.datastore,
        quality.RunQualityCheck(resource_code=code),
        actor,
        tickets=quality.TicketOptions(platform.files, platform.settings.quality_ticket_days),
    )


def _error_page(request: Request, actor: Actor, exc: WanshiError | PydanticValidationError) -> Response:
    fields, general = form_problems(exc)
    message = general or next(iter(fields.values()), "")
    status = exc.http_status if isinstance(exc, WanshiError) else 422
    return render_admin(request, actor, "quality/refused.html", {"message": message}, status_code=status)


@pages.get("/runs/{run_id}")
def run_page(request: Request, platform: PlatformDep, actor: Staff, run_id: int) -> Response:
    with platform.uow() as uow:
        detail = quality.get_run(uow, run_id, actor)
    tickets = {t.rule_id: t for t in detail.tickets}
    return render_admin(
        request,
        actor,
        "quality/run.html",
        {"detail": detail, "run": detail.run, "tickets": tickets, "grade": grade, "severity": severity_label},
    )


def _resource_page(
    request: Request,
    uow: UnitOfWork,
    actor: Actor,
    resource_id: int,
    *,
    text: str | None = None,
    error: WanshiError | PydanticValidationError | None = None,
    done: str = "",
) -> Response:
    view = quality.get_rule_set(uow, resource_id, actor)
    runs = quality.list_runs(uow, quality.RunQuery(resource_id=resource_id, limit=PAGE_SIZE), actor)
    history = quality.score_history(uow, actor, resource_id=resource_id)
    fields, general = form_problems(error) if error is not None else ({}, "")
    return render_admin(
        request,
        actor,
        "quality/resource.html",
        {
            "view": view,
            "runs": runs,
            "trend": line_chart(history, title="质量得分走势"),
            "history": history,
            "text": text if text is not None else (view.current.text if view.current else ""),
            "error": general or next(iter(fields.values()), ""),
            "done": done if done in ("saved", "unchanged") else "",
            "grade": grade,
        },
        status_code=error.http_status if isinstance(error, WanshiError) else (422 if error else 200),
    )


@pages.get("/resources/{resource_id}")
def resource_page(
    request: Request, platform: PlatformDep, actor: Staff, resource_id: int, done: str = ""
) -> Response:
    with platform.uow() as uow:
        return _resource_page(request, uow, actor, resource_id, done=done)


@pages.post("/resources/{resource_id}/rules")
async def save_rules_from_form(
    request: Request,
    platform: PlatformDep,
    actor: Staff,
    resource_id: int,
    text: Annotated[str, Form(max_length=MAX_UPLOAD_BYTES)] = "",
    file: Annotated[UploadFile | None, File()] = None,
) -> Response:
    if file is not None and file.filename:
        content = await file.read(MAX_UPLOAD_BYTES + 1)
        if len(content) > MAX_UPLOAD_BYTES:
            error: WanshiError = ValidationFailed(
                "规则文件过大", code="quality_rules_too_large", field="text"
            )
            with platform.uow() as uow:
                return _resource_page(request, uow, actor, resource_id, text=text, error=error)
        try:
            text = content.decode("utf-8-sig")
        except UnicodeDecodeError:
            error = ValidationFailed("规则文件须为 UTF-8 编码", code="quality_rules_encoding", field="text")
            with platform.uow() as uow:
                return _resource_page(request, uow, actor, resource_id, text="", error=error)
    with platform.uow() as uow:
        try:
            before = quality.get_rule_set(uow, resource_id, actor).current
            saved = quality.save_rule_set(uow, quality.SaveRuleSet(resource_id=resource_id, text=text), actor)
        except (ValidationFailed, PydanticValidationError) as exc:
            uow.rollback()
            return _resource_page(request, uow, actor, resource_id, text=text, error=exc)
    done = "unchanged" if before is not None and before.version == saved.version else "saved"
    return RedirectResponse(f"/admin/quality/resources/{resource_id}?done={done}", status_code=303)


@pages.post("/resources/{resource_id}/run")
def run_resource(request: Request, platform: PlatformDep, actor: Staff, resource_id: int) -> Response:
    with platform.uow() as uow:
        code = quality.get_rule_set(uow, resource_id, actor).target.code
        try:
            done = _run(uow, platform, code, actor)
        except (ValidationFailed, Conflict) as exc:
            uow.rollback()
            return _resource_page(request, uow, actor, resource_id, error=exc)
    return RedirectResponse(f"/admin/quality/runs/{done.id}", status_code=303)


CONSISTENCY_EXAMPLE = """name: person_basic
key: id_number
sources:
  police: {resource: "101001001/000001"}
  civil: {resource: "101001002/000001", columns: {name: xm}}
fields:
  name: police
  address: civil
"""


def _consistency_page(
    request: Request,
    actor: Actor,
    *,
    text: str,
    outcome: quality.ConsistencyOutcome | None = None,
    error: WanshiError | PydanticValidationError | None = None,
) -> Response:
    fields, general = form_problems(error) if error is not None else ({}, "")
    return render_admin(
        request,
        actor,
        "quality/consistency.html",
        {"text": text, "outcome": outcome, "error": general or next(iter(fields.values()), "")},
        status_code=error.http_status if isinstance(error, WanshiError) else (422 if error else 200),
    )


@pages.get("/consistency")
def consistency_form(request: Request, actor: Staff) -> Response:
    return _consistency_page(request, actor, text=CONSISTENCY_EXAMPLE)


@pages.post("/consistency")
def consistency_from_form(
    request: Request,
    platform: PlatformDep,
    actor: Staff,
    config_text: Annotated[str, Form(max_length=MAX_UPLOAD_BYTES)] = "",
) -> Response:
    with platform.uow() as uow:
        try:
            outcome = quality.check_sources(
                uow,
                platform.datastore,
                quality.CheckConsistency(config_text=config_text),
                actor,
                tickets=quality.TicketOptions(platform.files, platform.settings.quality_ticket_days),
            )
        except (ValidationFailed, NotFound, PydanticValidationError) as exc:
            uow.rollback()
            return _consistency_page(request, actor, text=config_text, error=exc)
    return _consistency_page(request, actor, text=config_text, outcome=outcome)


# --- JSON API ---------------------------------------------------------------------------------------------
class Out(BaseModel):
    model_config = ConfigDict(frozen=True)


class RunOut(Out):
    id: int
    kind: quality.RunKind
    resource_id: int
    resource_code: str
    resource_name: str
    provider_organisation_id: int
    dataset: str
    rule_set_version: int
    rows: int
    score: float
    seconds: float
    trigger: quality.Trigger
    at: str

    @classmethod
    def of(cls, run: quality.Run) -> RunOut:
        data: dict[str, Any] = {k: getattr(run, k) for k in cls.model_fields if k != "at"}
        return cls(**data, at=run.at.isoformat())


class OutcomeOut(Out):
    rule_id: str
    kind: str
    field: str
    severity: str
    message: str
    checked: int
    failed: int
    sample_keys: list[str]
    ticket_id: int | None


class RunDetailOut(Out):
    run: RunOut
    outcomes: list[OutcomeOut]
    tickets: list[dict[str, Any]]


class RunPageOut(Out):
    items: list[RunOut]
    total: int


class PointOut(Out):
    label: str
    value: float
    count: int


@api_router.get("/runs", summary="Quality runs the caller may see, newest first")
def api_runs(
    platform: PlatformDep,
    actor: Staff,
    resource_id: int | None = None,
    organisation_id: int | None = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> RunPageOut:
    with platform.uow() as uow:
        page = quality.list_runs(
            uow,
            quality.RunQuery(
                resource_id=resource_id, organisation_id=organisation_id, limit=limit, offset=offset
            ),
            actor,
        )
    return RunPageOut(items=[RunOut.of(r) for r in page.items], total=page.total)


@api_router.get("/runs/{run_id}", summary="One run with its rule results (sample keys masked) and tickets")
def api_run(platform: PlatformDep, actor: Staff, run_id: int) -> RunDetailOut:
    with platform.uow() as uow:
        detail = quality.get_run(uow, run_id, actor)
    return RunDetailOut(
        run=RunOut.of(detail.run),
        outcomes=[OutcomeOut(**{**o.__dict__, "sample_keys": list(o.sample_keys)}) for o in detail.outcomes],
        tickets=[t.__dict__ for t in detail.tickets],
    )


@api_router.get("/history", summary="Daily mean score of a resource, a department or all the caller sees")
def api_history(
    platform: PlatformDep,
    actor: Staff,
    resource_id: int | None = None,
    organisation_id: int | None = None,
    days: Annotated[int, Query(ge=1, le=366)] = 90,
) -> list[PointOut]:
    with platform.uow() as uow:
        series = quality.score_history(
            uow, actor, days=days, resource_id=resource_id, organisation_id=organisation_id
        )
    return [PointOut(label=p.label, value=round(p.value, 2), count=p.count) for p in series.points]


admin_sections = [
    AdminSection(
        "/admin/quality",
        "数据质量",
        45,
        policies.can_browse,
        description="质量规则、检查记录、按部门和规则的得分与趋势、问题工单。",
    )
]
