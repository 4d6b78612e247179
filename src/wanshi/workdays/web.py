"""Calendar pages for administrators (a year at a glance, overrides, imports) and a deadline API."""

from __future__ import annotations

import calendar as month_grid
from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Depends, File, Form, Query, Request, UploadFile
from pydantic import BaseModel
from starlette.responses import RedirectResponse, Response

from wanshi.bootstrap import Platform
from wanshi.kernel import clock
from wanshi.kernel.actor import Actor
from wanshi.kernel.errors import ValidationFailed
from wanshi.web.auth import csrf_protect, get_platform, require_staff
from wanshi.web.web_registry import AdminSection, permitted, render_admin
from wanshi.workdays import api as workdays
from wanshi.workdays import policies

MAX_SCHEDULE_BYTES = 256 * 1024

pages = APIRouter(prefix="/admin/calendar", dependencies=[Depends(csrf_protect)], include_in_schema=False)
json_api = APIRouter(prefix="/api/v1/calendar", tags=["calendar"], dependencies=[Depends(csrf_protect)])

PlatformDep = Annotated[Platform, Depends(get_platform)]
StaffDep = Annotated[Actor, Depends(require_staff)]


def _months(cal: workdays.WorkdayCalendar, year: int) -> list[dict[str, Any]]:
    """Twelve month grids (weeks starting Monday) of DayInfo, None for padding cells."""
    months = []
    for month in range(1, 13):
        weeks = [
            [cal.day_info(d) if d.month == month else None for d in week]
            for week in month_grid.Calendar(firstweekday=0).monthdatescalendar(year, month)
        ]
        months.append({"month": month, "weeks": weeks})
    return months


def _page(request: Request, platform: Platform, actor: Actor, year: int, **extra: Any) -> Response:
    with platform.uow() as uow:
        cal = workdays.load_calendar(uow)
        overrides = workdays.list_overrides(uow, workdays.ListOverrides(year=year), actor)
        schedules = workdays.list_year_schedules(uow, actor)
    return render_admin(
        request,
        actor,
        "workdays/calendar.html",
        {
            "year": year,
            "months": _months(cal, year),
            "confirmed": cal.is_confirmed(year),
            "overrides": overrides,
            "schedules": schedules,
            **extra,
        },
        status_code=422 if extra.get("problems") or extra.get("error") else 200,
    )


@pages.get("")
def calendar_page(
    request: Request,
    platform: PlatformDep,
    actor: StaffDep,
    year: Annotated[int | None, Query(ge=2004, le=2100)] = None,
) -> Response:
    return _page(request, platform, actor, year or clock.today_in_china().year)


@pages.post("/overrides")
def set_override_page(
    request: Request,
    platform: PlatformDep,
    actor: StaffDep,
    day: Annotated[date, Form()],
    kind: Annotated[str, Form(pattern="^(workday|rest)$")],
    name: Annotated[str, Form(max_length=40)],
    note: Annotated[str, Form(max_length=200)] = "",
) -> Response:
    try:
        with platform.uow() as uow:
            workdays.set_override(uow, workdays.SetOverride(day, kind == "workday", name, note), actor)
    except ValidationFailed as exc:
        return _page(request, platform, actor, day.year, error=exc.message)
    return RedirectResponse(f"/admin/calendar?year={day.year}&saved=1", status_code=303)


@pages.post("/overrides/{day}/delete")
def remove_override_page(day: date, platform: PlatformDep, actor: StaffDep) -> Response:
    with platform.uow() as uow:
        workdays.remove_override(uow, workdays.RemoveOverride(day), actor)
    return RedirectResponse(f"/admin/calendar?year={day.year}&saved=1", status_code=303)


@pages.post("/import")
async def import_page(
    request: Request,
    platform: PlatformDep,
    actor: StaffDep,
    document: Annotated[str, Form(max_length=MAX_SCHEDULE_BYTES)] = "",
    upload: Annotated[UploadFile | None, File()] = None,
) -> Response:
    text = document
    if upload is not None and upload.filename:
        raw = await upload.read(MAX_SCHEDULE_BYTES + 1)
        if len(raw) > MAX_SCHEDULE_BYTES:
            return _page(
                request, platform, actor, clock.today_in_china().year, error="文件过大（最大 256 KB）"
            )
        text = raw.decode("utf-8", errors="replace")
    try:
        with platform.uow() as uow:
            result = workdays.import_year_schedule(uow, workdays.ImportYearSchedule(text), actor)
    except workdays.ScheduleInvalid as exc:
        return _page(
            request,
            platform,
            actor,
            clock.today_in_china().year,
            problems=exc.details["problems"],
            document=text,
        )
    except ValidationFailed as exc:
        return _page(request, platform, actor, clock.today_in_china().year, error=exc.message, document=text)
    return RedirectResponse(f"/admin/calendar?year={result.schedule.schedule.year}&saved=1", status_code=303)


class DeadlineOut(BaseModel):
    start: date
    amount: int
    unit: str
    due_date: date
    confirmed: bool
    unconfirmed_years: list[int]
    warning: str | None


@json_api.get(
    "/deadline", response_model=DeadlineOut, summary="Due date of a time limit (working or calendar days)"
)
def deadline_api(
    platform: PlatformDep,
    start: date,
    amount: Annotated[int, Query(ge=0, le=3650)],
    unit: workdays.TimeLimitUnit = workdays.TimeLimitUnit.WORKING_DAY,
) -> DeadlineOut:
    with platform.uow() as uow:
        limit = workdays.load_calendar(uow).deadline(start, amount, unit)
    return DeadlineOut(
        start=limit.start,
        amount=limit.amount,
        unit=limit.unit.value,
        due_date=limit.due_date,
        confirmed=limit.confirmed,
        unconfirmed_years=list(limit.unconfirmed_years),
        warning=limit.warning,
    )


admin_sections = [
    AdminSection(
        "/admin/calendar",
        "工作日历",
        40,
        permitted(policies.authorise_list_overrides),
        description="法定节假日与调休，单日调整，导入全年安排。",
    )
]

routers = [pages, json_api]
