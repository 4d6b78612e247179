"""Aggregation (归集) in the admin area (/admin/loads: the loads console) and the JSON API (/api/v1/ingest:
pushed batches, loads, pull schedules), over the same services. Forms post back and redirect and work
without JavaScript; a refused step shows the form again with the reason.
"""

from __future__ import annotations

import json
import tempfile
from datetime import datetime
from pathlib import Path as FilePath
from typing import Annotated, Any

from fastapi import APIRouter, Depends, File, Form, Header, Path, Query, Request, UploadFile
from pydantic import BaseModel, ConfigDict, Field
from starlette.responses import JSONResponse, RedirectResponse, Response

from wanshi.bootstrap import Platform
from wanshi.datahub.catalogue import api as catalogue
from wanshi.datahub.ingest import api as ingest
from wanshi.datahub.ingest import policies
from wanshi.kernel.actor import Actor
from wanshi.kernel.errors import Conflict, NotFound, ValidationFailed, WanshiError
from wanshi.web.auth import csrf_protect, get_platform, require_staff
from wanshi.web.web_registry import AdminSection, Stat, render_admin

pages = APIRouter(prefix="/admin/loads", dependencies=[Depends(csrf_protect)], include_in_schema=False)
api_router = APIRouter(prefix="/api/v1/ingest", tags=["ingest"], dependencies=[Depends(csrf_protect)])
routers = [pages, api_router]

Staff = Annotated[Actor, Depends(require_staff)]
PlatformDep = Annotated[Platform, Depends(get_platform)]
PAGE_SIZE = 20
QUARANTINE_PAGE = 20
COPY_BLOCK = 1 << 20
STATUS_LABELS = {
    ingest.LoadStatus.RUNNING: "归集中",
    ingest.LoadStatus.COMPLETE: "已完成",
    ingest.LoadStatus.FAILED: "失败",
}
FORMAT_LABELS = {
    ingest.SourceFormat.CSV: "CSV 文件",
    ingest.SourceFormat.XLSX: "Excel 文件",
    ingest.SourceFormat.JSONL: "JSON Lines 文件",
    ingest.SourceFormat.PARQUET: "Parquet 文件",
    ingest.SourceFormat.PUSH: "接口推送",
    ingest.SourceFormat.DATABASE: "数据库抽取",
}
FIELD_LABELS = {
    "resource": "目标资源",
    "file": "文件",
    "dataset": "数据集名称",
    "watermark_column": "水位列",
    "interval": "抽取间隔（分钟）",
    "format": "文件格式",
    "mapping": "字段对应",
}


# --- JSON API ---------------------------------------------------------------------------------------------
class Out(BaseModel):
    model_config = ConfigDict(frozen=True)


class LoadOut(Out):
    id: int
    dataset: str
    resource_code: str
    source: str
    format: ingest.SourceFormat
    encoding: str
    status: ingest.LoadStatus
    rows_read: int
    rows_stored: int
    rows_quarantined: int
    rows_duplicate: int
    started_at: datetime
    finished_at: datetime | None
    created_by: str
    error: str
    repeated: bool = Field(description="True when this answer is an earlier load met again (nothing added)")

    @classmethod
    def of(cls, load: ingest.Load) -> LoadOut:
        c = load.counts
        return cls(
            id=load.id,
            dataset=load.dataset,
            resource_code=load.resource_code,
            source=load.source,
            format=load.format,
            encoding=load.encoding,
            status=load.status,
            rows_read=c.read,
            rows_stored=c.stored,
            rows_quarantined=c.quarantined,
            rows_duplicate=c.duplicate,
            started_at=load.started_at,
            finished_at=load.finished_at,
            created_by=load.created_by,
            error=load.error,
            repeated=load.repeated,
        )


class LoadPageOut(Out):
    items: list[LoadOut]
    total: int
    limit: int
    offset: int


class QuarantineOut(Out):
    load: LoadOut
    columns: list[str]
    rows: list[dict[str, Any]] = Field(description="Source values (personal data masked), _row and _reasons")
    total: int
    limit: int
    offset: int


class ScheduleOut(Out):
    id: int
    resource_code: str
    dataset: str
    watermark_column: str
    interval_seconds: int
    enabled: bool
    next_run_at: datetime
    last_run_at: datetime | None
    last_load_id: int | None
    last_status: str
    last_error: str

    @classmethod
    def of(cls, s: ingest.PullSchedule) -> ScheduleOut:
        return cls.model_validate(s, from_attributes=True)


class ScheduleIn(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    resource_code: str = Field(max_length=40)
    dataset: str = Field(max_length=63)
    watermark_column: str = Field(max_length=120)
    interval_minutes: int = Field(ge=1, le=31 * 24 * 60)
    enabled: bool = True


async def _read_limited(request: Request, limit: int) -> bytes:
    """The request body, refused as soon as it passes ``limit`` (a declared length is checked first)."""
    too_large = ingest.PayloadTooLarge(f"提交的数据超过 {limit // (1024 * 1024)} MiB 的上限，请分批推送")
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise too_large
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            raise too_large
    return bytes(body)


def _records(body: bytes) -> tuple[dict[str, Any], ...]:
    invalid = ValidationFailed(
        '请求体须为 JSON 对象 {"rows": [{…}, …]}，rows 中每一项为一条记录',
        code="ingest_body_invalid",
        field="rows",
    )
    try:
        data = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise invalid from None
    rows = data.get("rows") if isinstance(data, dict) else None
    if not isinstance(rows, list) or not all(isinstance(r, dict) for r in rows):
        raise invalid
    return tuple(rows)


@api_router.post(
    "/{dataset}/batches",
    summary="Push a JSON batch into the dataset a published resource is mounted on (idempotent by key)",
    response_model=LoadOut,
    status_code=201,
    responses={200: {"description": "The same key and body again: the original load, nothing added"}},
)
async def api_push(
    request: Request,
    platform: PlatformDep,
    actor: Staff,
    dataset: Annotated[str, Path(max_length=63)],
    idempotency_key: Annotated[str, Header(alias="Idempotency-Key", min_length=1, max_length=200)],
) -> Response:
    body = await _read_limited(request, platform.settings.ingest_push_max_bytes)
    command = ingest.PushRows(dataset=dataset, idempotency_key=idempotency_key, records=_records(body))
    with platform.uow() as uow:
        load = ingest.push_rows(uow, platform.datastore, command, actor)
    out = LoadOut.of(load)
    return JSONResponse(out.model_dump(mode="json"), status_code=200 if load.repeated else 201)


@api_router.get("/loads", summary="Loads the caller may see, newest first")
def api_loads(
    platform: PlatformDep,
    actor: Staff,
    dataset: Annotated[str, Query(max_length=63)] = "",
    status: ingest.LoadStatus | None = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> LoadPageOut:
    with platform.uow() as uow:
        found = ingest.search_loads(
            uow, actor, dataset=dataset or None, status=status, limit=limit, offset=offset
        )
    return LoadPageOut(
        items=[LoadOut.of(x) for x in found.items], total=found.total, limit=found.limit, offset=found.offset
    )


@api_router.get("/loads/{load_id}", summary="One load with its counts")
def api_load(platform: PlatformDep, actor: Staff, load_id: int) -> LoadOut:
    with platform.uow() as uow:
        return LoadOut.of(ingest.get_load(uow, load_id, actor))


@api_router.get("/loads/{load_id}/quarantine", summary="A load's quarantined rows with their reasons")
def api_quarantine(
    platform: PlatformDep,
    actor: Staff,
    load_id: int,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> QuarantineOut:
    with platform.uow() as uow:
        found = ingest.quarantine_rows(uow, platform.datastore, load_id, actor, limit=limit, offset=offset)
    return QuarantineOut(
        load=LoadOut.of(found.load),
        columns=list(found.columns),
        rows=list(found.rows),
        total=found.total,
        limit=found.limit,
        offset=found.offset,
    )


@api_router.get("/schedules", summary="Scheduled pulls the caller may see")
def api_schedules(platform: PlatformDep, actor: Staff) -> list[ScheduleOut]:
    with platform.uow() as uow:
        return [ScheduleOut.of(s) for s in ingest.list_pull_schedules(uow, actor)]


@api_router.post("/schedules", summary="Pull a database-mounted resource on a timer (set again to change)")
def api_schedule(platform: PlatformDep, actor: Staff, body: ScheduleIn) -> ScheduleOut:
    with platform.uow() as uow:
        return ScheduleOut.of(ingest.schedule_pull(uow, ingest.SchedulePull(**body.model_dump()), actor))


# --- the loads console ------------------------------------------------------------------------------------
def _common() -> dict[str, Any]:
    return {
        "status_labels": STATUS_LABELS,
        "format_labels": FORMAT_LABELS,
        "statuses": list(ingest.LoadStatus),
        "labels": FIELD_LABELS,
    }


@pages.get("")
def loads_page(
    request: Request,
    platform: PlatformDep,
    actor: Staff,
    status: Annotated[str, Query(max_length=20)] = "",
    dataset: Annotated[str, Query(max_length=63)] = "",
    page: Annotated[int, Query(ge=1, le=10_000)] = 1,
) -> Response:
    chosen = ingest.LoadStatus(status) if status in {s.value for s in ingest.LoadStatus} else None
    with platform.uow() as uow:
        found = ingest.search_loads(
            uow,
            actor,
            dataset=dataset.strip() or None,
            status=chosen,
            limit=PAGE_SIZE,
            offset=(page - 1) * PAGE_SIZE,
        )
    return render_admin(
        request,
        actor,
        "ingest/list.html",
        {
            **_common(),
            "found": found,
            "filters": {"status": chosen.value if chosen else "", "dataset": dataset.strip()},
            "page": page,
            "pages": max((found.total + PAGE_SIZE - 1) // PAGE_SIZE, 1),
            "can_upload": policies.can_load_file(actor),
        },
    )


# --- upload -----------------------------------------------------------------------------------------------
def _upload_page(
    request: Request,
    platform: Platform,
    actor: Actor,
    *,
    error: WanshiError | None = None,
    chosen: str = "",
) -> Response:
    with platform.uow() as uow:
        targets = catalogue.load_targets(uow, actor, catalogue.MountKind.DATASET)
    # The form has two controls: every problem that is not the resource's is the file's (its format, its
    # columns, its size).
    field = error.details.get("field") if error is not None else None
    errors = {"resource" if field == "resource" else "file": error.message} if error is not None else {}
    return render_admin(
        request,
        actor,
        "ingest/upload.html",
        {
            **_common(),
            "targets": targets,
            "chosen": chosen,
            "errors": errors,
            "max_mb": platform.settings.ingest_upload_max_bytes // (1024 * 1024),
        },
        status_code=error.http_status if error is not None else 200,
    )


@pages.get("/upload")
def upload_form(request: Request, platform: PlatformDep, actor: Staff) -> Response:
    return _upload_page(request, platform, actor)


async def _save(upload: UploadFile, folder: FilePath, limit: int) -> FilePath:
    """The upload copied into a private temporary file; refused as soon as it passes ``limit``."""
    folder.mkdir(parents=True, exist_ok=True)
    handle = tempfile.NamedTemporaryFile(dir=folder, prefix="upload-", delete=False)  # noqa: SIM115
    path = FilePath(handle.name)
    size = 0
    try:
        with handle:
            while block := await upload.read(COPY_BLOCK):
                size += len(block)
                if size > limit:
                    raise ingest.PayloadTooLarge(
                        f"文件超过 {limit // (1024 * 1024)} MiB 的上限，请改用命令行 wanshi ingest load 归集",
                        field="file",
                    )
                handle.write(block)
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    return path


@pages.post("/upload")
async def upload_from_form(
    request: Request,
    platform: PlatformDep,
    actor: Staff,
    resource: Annotated[str, Form(max_length=40)] = "",
    file: Annotated[UploadFile | None, File()] = None,
) -> Response:
    if not resource:
        error: WanshiError = ValidationFailed("请选择目标资源", field="resource")
        return _upload_page(request, platform, actor, error=error)
    if file is None or not file.filename:
        return _upload_page(
            request,
            platform,
            actor,
            error=ValidationFailed("请选择要上传的文件", field="file"),
            chosen=resource,
        )
    folder = platform.settings.data_dir / "tmp" / "uploads"
    try:
        path = await _save(file, folder, platform.settings.ingest_upload_max_bytes)
    except ingest.PayloadTooLarge as exc:
        return _upload_page(request, platform, actor, error=exc, chosen=resource)
    try:
        with platform.uow() as uow:
            load = ingest.upload_file(
                uow, platform.datastore, ingest.UploadFile(resource, path, file.filename), actor
            )
    except (ValidationFailed, Conflict, NotFound) as exc:
        return _upload_page(request, platform, actor, error=exc, chosen=resource)
    finally:
        path.unlink(missing_ok=True)
    done = "repeated" if load.repeated else "loaded"
    return RedirectResponse(f"/admin/loads/{load.id}?done={done}", status_code=303)


# --- scheduled pulls --------------------------------------------------------------------------------------
def _schedules_page(
    request: Request,
    platform: Platform,
    actor: Actor,
    *,
    error: WanshiError | None = None,
    values: dict[str, str] | None = None,
    done: bool = False,
) -> Response:
    with platform.uow() as uow:
        schedules = ingest.list_pull_schedules(uow, actor)
        targets = (
            catalogue.load_targets(uow, actor, catalogue.MountKind.DATABASE)
            if policies.can_schedule_pull(actor)
            else []
        )
    field = error.details.get("field") if error is not None else None
    errors = {field if field in FIELD_LABELS else "resource": error.message} if error is not None else {}
    return render_admin(
        request,
        actor,
        "ingest/schedules.html",
        {
            **_common(),
            "schedules": schedules,
            "targets": targets,
            "errors": errors,
            "values": values or {"interval": "60"},
            "done": done,
        },
        status_code=error.http_status if error is not None else 200,
    )


@pages.get("/schedules")
def schedules_page(request: Request, platform: PlatformDep, actor: Staff, done: str = "") -> Response:
    return _schedules_page(request, platform, actor, done=done == "saved")


@pages.post("/schedules")
def schedule_from_form(
    request: Request,
    platform: PlatformDep,
    actor: Staff,
    resource: Annotated[str, Form(max_length=40)] = "",
    dataset: Annotated[str, Form(max_length=63)] = "",
    watermark_column: Annotated[str, Form(max_length=120)] = "",
    interval: Annotated[str, Form(max_length=10)] = "",
    enabled: Annotated[str, Form(max_length=5)] = "",
) -> Response:
    values = {
        "resource": resource,
        "dataset": dataset.strip(),
        "watermark_column": watermark_column.strip(),
        "interval": interval.strip(),
        "enabled": enabled,
    }
    if not resource:
        return _schedules_page(
            request, platform, actor, error=ValidationFailed("请选择资源", field="resource"), values=values
        )
    if not values["interval"].isdigit():
        error = ValidationFailed("抽取间隔须为分钟数", field="interval")
        return _schedules_page(request, platform, actor, error=error, values=values)
    command = ingest.SchedulePull(
        resource_code=resource,
        dataset=values["dataset"],
        watermark_column=values["watermark_column"],
        interval_minutes=int(values["interval"]),
        enabled=enabled == "on",
    )
    try:
        with platform.uow() as uow:
            ingest.schedule_pull(uow, command, actor)
    except (ValidationFailed, Conflict, NotFound) as exc:
        return _schedules_page(request, platform, actor, error=exc, values=values)
    return RedirectResponse("/admin/loads/schedules?done=saved", status_code=303)


# --- one load ---------------------------------------------------------------------------------------------
@pages.get("/{load_id}")
def load_page(
    request: Request,
    platform: PlatformDep,
    actor: Staff,
    load_id: int,
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
    done: str = "",
) -> Response:
    with platform.uow() as uow:
        found = ingest.quarantine_rows(
            uow,
            platform.datastore,
            load_id,
            actor,
            limit=QUARANTINE_PAGE,
            offset=(page - 1) * QUARANTINE_PAGE,
        )
    return render_admin(
        request,
        actor,
        "ingest/detail.html",
        {
            **_common(),
            "found": found,
            "load": found.load,
            "page": page,
            "pages": max((found.total + QUARANTINE_PAGE - 1) // QUARANTINE_PAGE, 1),
            "done": done if done in ("loaded", "repeated") else "",
            "reasons_column": ingest.REASONS_COLUMN,
            "row_column": ingest.ROW_COLUMN,
        },
    )


# --- admin area -------------------------------------------------------------------------------------------
def _stats(platform: Platform, actor: Actor) -> list[Stat]:
    with platform.uow() as uow:
        running = ingest.search_loads(uow, actor, status=ingest.LoadStatus.RUNNING, limit=1).total
        failed = ingest.search_loads(uow, actor, status=ingest.LoadStatus.FAILED, limit=1).total
    return [
        Stat("归集中", running, "warn" if running else ""),
        Stat("失败", failed, "bad" if failed else "ok"),
    ]


admin_sections = [
    AdminSection(
        "/admin/loads",
        "数据归集",
        45,
        policies.can_list_loads,
        description="归集记录与隔离区、上传文件归集、定时抽取部门数据库。",
        stats=_stats,
    )
]
