"""The staff's service-item catalogue in the admin area (/admin/items) and its JSON API (/api/v1/items), over
the catalogue's services: the list, a record with its versions, history and differences, the steps of its
review, editing an entry's elements through a form without JSON, new basic entries, claims (认领) and bundles,
and import and export. Forms post back and redirect, and work without JavaScript; a refused step shows the
page again with the reasons beside the fields.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, File, Form, Query, Request, UploadFile
from pydantic import BaseModel, ConfigDict, Field
from pydantic import ValidationError as PydanticValidationError
from starlette.datastructures import FormData
from starlette.responses import RedirectResponse, Response

from wanshi.bootstrap import Platform
from wanshi.infra.uow import UnitOfWork
from wanshi.items import api as items
from wanshi.items import policies
from wanshi.items.domain.diff import DOCUMENT_LABELS, Change
from wanshi.items.domain.documents import LifeEvent, RecordKind, parse_document
from wanshi.items.domain.elements import (
    ELEMENT_LABELS,
    ONLINE_DEPTH_LABELS,
    Audience,
    CaseType,
    FieldType,
    HandlingForm,
    ImplementerNature,
    ItemType,
    Level,
    LimitUnit,
    MaterialForm,
    MaterialSource,
    Necessity,
)
from wanshi.items.domain.locks import ADJUST_LABELS, Adjust, Breach, adjust_rules
from wanshi.items.domain.records import RecordState, TransitionRefused, Version
from wanshi.items.services import exchange, reading
from wanshi.kernel import clock
from wanshi.kernel.actor import Actor
from wanshi.kernel.errors import Conflict, NotFound, ValidationFailed, WanshiError
from wanshi.org import api as org
from wanshi.web.auth import csrf_protect, get_platform, require_staff
from wanshi.web.web_registry import AdminSection, Stat, form_problems, render_admin

pages = APIRouter(prefix="/admin/items", dependencies=[Depends(csrf_protect)], include_in_schema=False)
api_router = APIRouter(prefix="/api/v1/items", tags=["items"], dependencies=[Depends(csrf_protect)])
routers = [pages, api_router]

Staff = Annotated[Actor, Depends(require_staff)]
PlatformDep = Annotated[Platform, Depends(get_platform)]
PAGE_SIZE = 20
ORGANISATION_CHOICES = 500
MAX_IMPORT_BYTES = 20 * 1024 * 1024
# Blank rows offered under each list of the form (materials, fees ...), so entries can be added without JS.
BLANK_ROWS = 3
MAX_FORM_ROWS = 100
LOCKED_NOTE = "由省级基本目录统一规定"

# --- the element form ---------------------------------------------------------------------------------------
TEXTS = ("name", "visits_reason", "online_url", "consult", "complaint")
LONG_TEXTS = ("summary",)
LINES = ("conditions", "themes", "keywords")
SWITCHES = ("charged", "online", "booking", "delivery", "online_payment")
LIMITS = ("legal_limit", "promised_limit")
CHOICES: dict[str, type[Any]] = {"item_type": ItemType, "case_type": CaseType}
SETS: dict[str, type[Any]] = {"audience": Audience, "forms": HandlingForm}
NUMBERS = ("visits", "online_depth")


@dataclass(frozen=True)
class RowColumn:
    key: str
    label: str
    kind: str = "text"  # text, long, number, switch, choice, tokens
    options: tuple[tuple[str, str], ...] = ()


def _options(kind: type[Any]) -> tuple[tuple[str, str], ...]:
    return tuple((m.value, m.label) for m in kind)


ROWS: dict[str, tuple[RowColumn, ...]] = {
    "materials": (
        RowColumn("name", "材料名称"),
        RowColumn("necessity", "必要性", "choice", _options(Necessity)),
        RowColumn("form", "材料形式", "choice", _options(MaterialForm)),
        RowColumn("source", "来源渠道", "choice", _options(MaterialSource)),
        RowColumn("copies", "份数", "number"),
        RowColumn("standard", "受理标准", "long"),
        RowColumn("licence_type", "可替代的电子证照"),
        RowColumn("deferrable", "容缺受理", "switch"),
    ),
    "fees": (
        RowColumn("name", "收费项目名称"),
        RowColumn("standard", "收费标准"),
        RowColumn("basis", "收费依据"),
        RowColumn("reducible", "是否允许减免", "switch"),
    ),
    "process": (RowColumn("name", "环节名称"), RowColumn("description", "环节说明", "long")),
    "places": (
        RowColumn("name", "地点名称"),
        RowColumn("address", "地址"),
        RowColumn("hours", "办理时间"),
        RowColumn("phone", "联系电话"),
    ),
    "faq": (RowColumn("question", "问题"), RowColumn("answer", "解答", "long")),
    "fields": (
        RowColumn("key", "字段标识"),
        RowColumn("label", "字段名称"),
        RowColumn("type", "字段类型", "choice", _options(FieldType)),
        RowColumn("required", "是否必填", "switch"),
        RowColumn("prefill", "预填来源"),
        RowColumn("choices", "选项（用“、”分隔）", "tokens"),
    ),
}
FORM_ELEMENTS = frozenset([*TEXTS, *LONG_TEXTS, *LINES, *SWITCHES, *LIMITS, *CHOICES, *SETS, *NUMBERS, *ROWS])
BY_LABEL = {label: key for key, label in ELEMENT_LABELS.items()}
DONE = {
    "created": "事项已创建。",
    "edited": "已保存。",
    "submitted": "已提交审核。",
    "published": "已发布。",
    "returned": "已退回。",
    "version": "已新建版本，可以修改。",
    "withdrawn": "事项已取消。",
}


def _lines(text: str) -> list[str]:
    return [line.strip() for line in text.replace("\r\n", "\n").split("\n") if line.strip()]


def _tokens(text: str) -> list[str]:
    return [t.strip() for t in text.replace("，", "、").replace(",", "、").split("、") if t.strip()]


def _row(form: FormData, part: str, index: int, base: dict[str, Any]) -> dict[str, Any] | None:
    """One row of a list in the form over the entry it was shown from (which keeps what the form does not
    show, such as a material's registry source); None when the person left it blank."""
    prefix = f"{part}-{index}-"
    texts = [c for c in ROWS[part] if c.kind in ("text", "long", "tokens")]
    if not any(str(form.get(prefix + c.key, "")).strip() for c in texts) and not base:
        return None
    row = dict(base)
    for column in ROWS[part]:
        value = str(form.get(prefix + column.key, "")).strip()
        if column.kind == "switch":
            row[column.key] = prefix + column.key in form
        elif column.kind == "tokens":
            row[column.key] = _tokens(value)
        elif column.kind == "number":
            if value:
                row[column.key] = value
            else:
                row.pop(column.key, None)
        else:
            row[column.key] = value
    return row


def _rows(form: FormData, part: str, current: list[Any]) -> tuple[list[dict[str, Any]], list[int | None]]:
    """A list's rows as typed, and for each the position of the stored entry it was shown from."""
    rows: list[dict[str, Any]] = []
    origins: list[int | None] = []
    for index in range(MAX_FORM_ROWS):
        prefix = f"{part}-{index}-"
        if prefix + ROWS[part][0].key not in form:
            break
        origin_text = str(form.get(prefix + "origin", ""))
        origin = int(origin_text) if origin_text.isdigit() and int(origin_text) < len(current) else None
        removed = prefix + "remove" in form
        base = current[origin] if origin is not None and isinstance(current[origin], dict) else {}
        row = None if removed else _row(form, part, index, base)
        if row is not None:
            rows.append(row)
            origins.append(origin)
    return rows, origins


@dataclass
class ElementForm:
    """What the element form shows: the elements (as stored, or as the person typed them), where each row
    of a list came from, the province's rules for an implementation entry, and the problems found."""

    elements: dict[str, Any]
    origins: dict[str, list[int | None]]
    rules: dict[str, Adjust] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)
    general: list[str] = field(default_factory=list)

    @classmethod
    def of(cls, elements: dict[str, Any], rules: dict[str, Adjust] | None = None) -> ElementForm:
        origins: dict[str, list[int | None]] = {
            part: list(range(len(elements.get(part) or []))) for part in ROWS
        }
        return cls(copy.deepcopy(elements), origins, rules or {})

    def locked(self, key: str) -> bool:
        return self.rules.get(key) is Adjust.LOCKED

    def rule(self, key: str) -> str:
        rule = self.rules.get(key)
        return ADJUST_LABELS[rule] if rule is not None and rule is not Adjust.LOCKED else ""

    def rows(self, part: str) -> list[tuple[int | None, dict[str, Any]]]:
        listed = list(self.elements.get(part) or [])
        origins = self.origins.get(part, [])
        shown = [(origins[i] if i < len(origins) else None, row) for i, row in enumerate(listed)]
        return shown + [(None, {}) for _ in range(BLANK_ROWS)]


def elements_from(
    form: FormData, current: dict[str, Any]
) -> tuple[dict[str, Any], dict[str, list[int | None]]]:
    """The elements after the form: each element the form offered (named by an ``edit`` field) as typed,
    every other element as stored. A locked element is not offered, so it stays the province's."""
    out = copy.deepcopy(current)
    origins: dict[str, list[int | None]] = {}
    for key in [k for k in form.getlist("edit") if k in FORM_ELEMENTS]:
        text = str(form.get(key, "")).strip()
        if key in TEXTS or key in LONG_TEXTS or key in CHOICES or key in NUMBERS:
            out[key] = text
        elif key in LINES:
            out[key] = _lines(text)
        elif key in SWITCHES:
            out[key] = key in form
        elif key in SETS:
            out[key] = [str(v) for v in form.getlist(key)]
        elif key in LIMITS:
            out[key] = {
                part: str(form.get(f"{key}-{part}", "")).strip() for part in ("value", "unit", "note")
            }
        else:
            out[key], origins[key] = _rows(form, key, list(current.get(key) or []))
    return out, origins


def _element_problems(exc: WanshiError, rules: dict[str, Adjust]) -> tuple[dict[str, str], list[str]]:
    """A refusal as messages beside the elements it names, and those that belong to no one element."""
    errors: dict[str, str] = {}
    general: list[str] = []
    elements = exc.details.get("elements")
    if isinstance(elements, list) and elements:
        for key in map(str, elements):
            errors[key] = Breach(key, rules.get(key, Adjust.LOCKED)).message
        return errors, general
    listed = exc.details.get("problems")
    for problem in map(str, listed if isinstance(listed, list) and listed else [exc.message]):
        where, _sep, message = problem.partition("：")
        element = BY_LABEL.get(where.split("·")[0])
        if element is not None and message:
            errors.setdefault(element, problem)
        else:
            general.append(problem)
    return errors, general


# --- small helpers ------------------------------------------------------------------------------------------
def _organisations(uow: UnitOfWork, actor: Actor) -> list[org.Organisation]:
    found, _total = org.list_organisations(uow, org.OrganisationQuery(limit=ORGANISATION_CHOICES), actor)
    return [o for o in found if o.active]


def _common() -> dict[str, Any]:
    return {
        "labels": ELEMENT_LABELS,
        "kinds": list(RecordKind),
        "states": list(RecordState),
        "item_types": list(ItemType),
        "case_types": list(CaseType),
        "audiences": list(Audience),
        "handling_forms": list(HandlingForm),
        "units": list(LimitUnit),
        "depths": ONLINE_DEPTH_LABELS,
        "natures": list(ImplementerNature),
        "life_events": list(LifeEvent),
        "row_columns": ROWS,
        "locked_note": LOCKED_NOTE,
        "display": display,
        "item_type_options": _options(ItemType),
        "case_type_options": _options(CaseType),
        "depth_options": [(str(k), v) for k, v in ONLINE_DEPTH_LABELS.items()],
    }


ENUMS: dict[str, type[Any]] = {**CHOICES, **SETS, "level": Level}


def display(key: str, value: Any) -> str:
    """An element's value (or one entry of a list of them) as a person reads it, in a difference or beside a
    locked element."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "是" if value else "否"
    if key in ENUMS:
        labels = {m.value: m.label for m in ENUMS[key]}
        values = value if isinstance(value, list | tuple) else [value]
        return "、".join(labels.get(str(v), str(v)) for v in values)
    if key in LIMITS and isinstance(value, dict):
        unit = {u.value: u.label for u in LimitUnit}.get(str(value.get("unit")), "")
        note = f"（{value['note']}）" if value.get("note") else ""
        return f"{value.get('value', '')} {unit}{note}"
    if key == "online_depth" and str(value).isdigit():
        return ONLINE_DEPTH_LABELS.get(int(value), str(value))
    if key in ROWS and isinstance(value, dict):
        columns = {c.key: c for c in ROWS[key]}
        return "；".join(
            f"{columns[k].label if k in columns else k}：{_cell(columns.get(k), v)}"
            for k, v in value.items()
            if v not in ("", None, [], {})
        )
    if isinstance(value, list | tuple):
        return "、".join(display(key, v) if isinstance(v, dict) else str(v) for v in value)
    if isinstance(value, dict):
        return "；".join(f"{k}：{display(k, v)}" for k, v in value.items() if v not in ("", None, [], {}))
    return str(value)


def _cell(column: RowColumn | None, value: Any) -> str:
    if column is not None and column.options:
        return dict(column.options).get(str(value), str(value))
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, dict):
        return display("", value)
    return "、".join(map(str, value)) if isinstance(value, list) else str(value)


def _state(value: str) -> RecordState | None:
    return RecordState(value) if value in {s.value for s in RecordState} else None


def _query(
    params: dict[str, str], page: int, limit: int = PAGE_SIZE
) -> tuple[reading.RecordQuery, dict[str, str]]:
    """The filters from the query string; a value that is not one of the options is ignored."""
    kind = params.get("kind", "")
    organisation = params.get("organisation", "")
    division = params.get("division", "").strip()
    item_type = params.get("item_type", "")
    query = reading.RecordQuery(
        q=params.get("q", "").strip()[:100],
        kind=RecordKind(kind) if kind in {k.value for k in RecordKind} else None,
        organisation_id=int(organisation) if organisation.isdigit() else None,
        division_code=division if division.isdigit() and len(division) == 6 else "",
        item_type=item_type if item_type in {t.value for t in ItemType} else "",
        state=_state(params.get("state", "")),
        limit=limit,
        offset=(max(page, 1) - 1) * limit,
    )
    kept = {
        "q": query.q,
        "kind": query.kind.value if query.kind else "",
        "organisation": str(query.organisation_id or ""),
        "division": query.division_code,
        "item_type": query.item_type,
        "state": query.state.value if query.state else "",
    }
    return query, kept


# --- the list -----------------------------------------------------------------------------------------------
@pages.get("")
def list_page(
    request: Request, platform: PlatformDep, actor: Staff, page: Annotated[int, Query(ge=1, le=10_000)] = 1
) -> Response:
    query, filters = _query(dict(request.query_params), page)
    with platform.uow() as uow:
        found = reading.list_records(uow, query, actor)
        counts = [
            (
                s,
                reading.list_records(
                    uow, query.model_copy(update={"state": s, "limit": 1, "offset": 0}), actor
                ).total,
            )
            for s in RecordState
        ]
        organisations = _organisations(uow, actor)
    kept = {k: v for k, v in filters.items() if v}
    return render_admin(
        request,
        actor,
        "items/admin/list.html",
        {
            **_common(),
            "found": found,
            "filters": filters,
            "counts": counts,
            "state_url": lambda s: "/admin/items?" + urlencode({**kept, "state": s}),
            "organisations": organisations,
            "page": page,
            "pages": max((found.total + PAGE_SIZE - 1) // PAGE_SIZE, 1),
            "export_query": urlencode(kept),
            "can_import": policies.can_import(actor),
        },
    )


# --- export and import --------------------------------------------------------------------------------------
def _export(request: Request, platform: Platform, actor: Actor, fmt: exchange.ExchangeFormat) -> Response:
    query, _filters = _query(dict(request.query_params), 1)
    with platform.uow() as uow:
        content = exchange.export_entries(uow, query, fmt, actor)
    stamp = clock.today_in_china().strftime("%Y%m%d")
    return Response(
        content,
        media_type=fmt.media_type,
        headers={"content-disposition": f"attachment; filename=service-items-{stamp}.{fmt.value}"},
    )


@pages.get("/export.xlsx")
def export_xlsx_page(request: Request, platform: PlatformDep, actor: Staff) -> Response:
    return _export(request, platform, actor, exchange.ExchangeFormat.XLSX)


@pages.get("/export.json")
def export_json_page(request: Request, platform: PlatformDep, actor: Staff) -> Response:
    return _export(request, platform, actor, exchange.ExchangeFormat.JSON)


def _format_of(filename: str) -> exchange.ExchangeFormat:
    if filename.lower().endswith(".json"):
        return exchange.ExchangeFormat.JSON
    if filename.lower().endswith(".xlsx"):
        return exchange.ExchangeFormat.XLSX
    raise ValidationFailed("请上传 .xlsx 或 .json 文件", code="item_import_format_unknown", field="file")


async def _read_upload(file: UploadFile | None) -> tuple[bytes, exchange.ExchangeFormat]:
    if file is None or not file.filename:
        raise ValidationFailed("请选择要导入的文件", code="item_import_file_missing", field="file")
    fmt = _format_of(file.filename)
    content = await file.read(MAX_IMPORT_BYTES + 1)
    if len(content) > MAX_IMPORT_BYTES:
        raise ValidationFailed("文件过大", code="item_import_too_large", field="file")
    return content, fmt


def _import_page(
    request: Request, actor: Actor, report: exchange.ImportReport | None = None, error: str = ""
) -> Response:
    status = 422 if error or (report is not None and not report.ok) else 200
    return render_admin(
        request,
        actor,
        "items/admin/import.html",
        {
            "report": report,
            "error": error,
            "max_mb": MAX_IMPORT_BYTES // (1024 * 1024),
            "can_publish": policies.review_scopes(actor) != (),
        },
        status_code=status,
    )


@pages.get("/import")
def import_form(request: Request, actor: Staff) -> Response:
    return _import_page(request, actor)


@pages.post("/import")
async def import_from_form(
    request: Request,
    platform: PlatformDep,
    actor: Staff,
    file: Annotated[UploadFile | None, File()] = None,
    publish: Annotated[str, Form(max_length=10)] = "",
) -> Response:
    try:
        content, fmt = await _read_upload(file)
        with platform.uow() as uow:
            report = exchange.import_entries(uow, content, fmt, actor, publish=publish == "on")
    except ValidationFailed as exc:
        return _import_page(request, actor, error=exc.message)
    return _import_page(request, actor, report)


# --- new entries: a basic entry, a claim, a bundle ----------------------------------------------------------
def _departments(uow: UnitOfWork, actor: Actor) -> list[org.Organisation]:
    return [
        o
        for o in _organisations(uow, actor)
        if o.division_code.endswith("0000") and policies.can_propose_basic(actor, o.id, o.division_code)
    ]


def _form_page(
    request: Request,
    actor: Actor,
    form: ElementForm,
    *,
    detail: reading.RecordDetail | None = None,
    lock: int = 0,
    departments: list[org.Organisation] | None = None,
    identity: dict[str, str] | None = None,
    status_code: int = 200,
) -> Response:
    return render_admin(
        request,
        actor,
        "items/admin/form.html",
        {
            **_common(),
            "form": form,
            "e": form.elements,
            "detail": detail,
            "record": detail.record if detail else None,
            "lock": lock,
            "departments": departments or [],
            "identity": identity or {},
        },
        status_code=status_code,
    )


@pages.get("/new")
def new_basic_page(request: Request, platform: PlatformDep, actor: Staff) -> Response:
    blank = {"audience": [], "forms": [HandlingForm.COUNTER.value], "visits": 1, "case_type": "promised"}
    with platform.uow() as uow:
        departments = _departments(uow, actor)
    return _form_page(request, actor, ElementForm.of(blank), departments=departments)


@pages.post("/new")
async def new_basic_from_form(request: Request, platform: PlatformDep, actor: Staff) -> Response:
    form = await request.form()
    elements, origins = elements_from(form, {})
    identity = {"code": str(form.get("code", "")).strip(), "department": str(form.get("department", ""))}
    department = identity["department"]
    with platform.uow() as uow:
        try:
            created = items.propose_basic(
                uow,
                items.ProposeBasic(
                    code=identity["code"],
                    department_id=int(department) if department.isdigit() else 0,
                    document={"elements": elements},
                ),
                actor,
            )
        except (ValidationFailed, NotFound) as exc:
            uow.rollback()
            attempted = ElementForm(elements, origins)
            attempted.errors, attempted.general = _element_problems(exc, {})
            if exc.error_code.startswith("item_code") or exc.error_code == "item_department_not_provincial":
                attempted.errors.pop("name", None)
                attempted.general = [exc.message]
            return _form_page(
                request,
                actor,
                attempted,
                departments=_departments(uow, actor),
                identity=identity,
                status_code=exc.http_status,
            )
    return RedirectResponse(f"/admin/items/{created.id}?done=created", status_code=303)


def _claim_choices(platform: Platform, uow: UnitOfWork, actor: Actor) -> dict[str, Any]:
    with platform.reader() as reader:
        basics = sorted(platform.items.snapshot(reader, actor).basics.values(), key=lambda c: c.code)
    bodies = [o for o in _organisations(uow, actor) if policies.can_claim(actor, o.id, o.division_code)]
    return {"basics": basics, "bodies": bodies, "natures": list(ImplementerNature)}


def _claim_page(
    request: Request,
    platform: Platform,
    actor: Actor,
    values: dict[str, str],
    error: WanshiError | None = None,
) -> Response:
    with platform.uow() as uow:
        choices = _claim_choices(platform, uow, actor)
    errors, general = form_problems(error) if error is not None else ({}, "")
    return render_admin(
        request,
        actor,
        "items/admin/claim.html",
        {**choices, "values": values, "errors": errors, "general": general},
        status_code=error.http_status if error is not None else 200,
    )


@pages.get("/claim")
def claim_page(request: Request, platform: PlatformDep, actor: Staff, basic_code: str = "") -> Response:
    return _claim_page(
        request, platform, actor, {"basic_code": basic_code[:20], "handling_no": "1", "business_no": "0"}
    )


@pages.post("/claim")
async def claim_from_form(request: Request, platform: PlatformDep, actor: Staff) -> Response:
    form = await request.form()
    values = {
        k: str(form.get(k, "")).strip()
        for k in (
            "basic_code",
            "organisation_id",
            "body_code",
            "body_nature",
            "handling_no",
            "business_no",
            "business_name",
        )
    }
    with platform.uow() as uow:
        try:
            body = org.get_organisation(uow, int(values["organisation_id"] or 0), actor)
            created = items.claim_item(
                uow,
                items.ClaimItem(
                    basic_code=values["basic_code"],
                    organisation_id=body.id,
                    body_code=values["body_code"] or body.code,
                    body_nature=values["body_nature"] or ImplementerNature.STATUTORY.value,
                    handling_no=_number(values["handling_no"], "handling_no", 1, 1, 9),
                    business_no=_number(values["business_no"], "business_no", 0, 0, 99),
                    business_name=values["business_name"],
                ),
                actor,
            )
        except (WanshiError, PydanticValidationError) as exc:
            uow.rollback()
            error = exc if isinstance(exc, WanshiError) else ValidationFailed(_pydantic_text(exc))
            return _claim_page(request, platform, actor, values, error)
    return RedirectResponse(f"/admin/items/{created.id}?done=created", status_code=303)


CLAIM_LABELS = {"handling_no": "办理项编号", "business_no": "业务办理项编号"}


def _number(text: str, name: str, default: int, low: int, high: int) -> int:
    if not text:
        return default
    if not text.isdigit() or not low <= int(text) <= high:
        raise ValidationFailed(
            f"{CLAIM_LABELS[name]}须为 {low} 到 {high} 的整数", code="item_claim_number_invalid", field=name
        )
    return int(text)


def _pydantic_text(exc: PydanticValidationError) -> str:
    fields, general = form_problems(exc)
    return "；".join([*(f"{k}：{v}" for k, v in fields.items()), *([general] if general else [])])


def _bundle_document(form: FormData, current: dict[str, Any]) -> dict[str, Any]:
    document = dict(current)
    for key in ("name", "audience", "life_event", "summary"):
        document[key] = str(form.get(key, "")).strip()
    days = str(form.get("promised_days", "")).strip()
    document["promised_days"] = days or 0
    document["keywords"] = _lines(str(form.get("keywords", "")))
    parts = []
    for index in range(MAX_FORM_ROWS):
        prefix = f"parts-{index}-"
        if prefix + "basic_code" not in form:
            break
        code = str(form.get(prefix + "basic_code", "")).strip().upper()
        if code:
            parts.append({"basic_code": code, "when": str(form.get(prefix + "when", "")).strip()})
    document["parts"] = parts
    return document


def _compilers(uow: UnitOfWork, actor: Actor) -> list[org.Organisation]:
    return [o for o in _organisations(uow, actor) if policies.can_compile_bundle(actor, o.division_code)]


def _bundle_page(
    request: Request,
    platform: Platform,
    actor: Actor,
    document: dict[str, Any],
    *,
    detail: reading.RecordDetail | None = None,
    lock: int = 0,
    identity: dict[str, str] | None = None,
    error: WanshiError | None = None,
) -> Response:
    with platform.uow() as uow:
        compilers = _compilers(uow, actor) if detail is None else []
    with platform.reader() as reader:
        basics = sorted(platform.items.snapshot(reader, actor).basics.values(), key=lambda c: c.code)
    parts = list(document.get("parts") or [])
    general = _bundle_problems(error) if error is not None else []
    return render_admin(
        request,
        actor,
        "items/admin/bundle_form.html",
        {
            **_common(),
            "doc": document,
            "parts": parts + [{} for _ in range(BLANK_ROWS)],
            "detail": detail,
            "record": detail.record if detail else None,
            "lock": lock,
            "compilers": compilers,
            "basics": basics,
            "identity": identity or {},
            "general": general,
        },
        status_code=error.http_status if error is not None else 200,
    )


def _bundle_problems(error: WanshiError) -> list[str]:
    """A refusal of a bundle, its parts named as the form names them."""
    listed = error.details.get("problems")
    if not isinstance(listed, list) or not listed:
        return [error.message]
    out = []
    for problem in map(str, listed):
        where, _sep, message = problem.partition("：")
        out.append(f"{DOCUMENT_LABELS.get(where.split('·')[0], where)}：{message}" if message else problem)
    return out


@pages.get("/bundles/new")
def new_bundle_page(request: Request, platform: PlatformDep, actor: Staff) -> Response:
    return _bundle_page(request, platform, actor, {"audience": "person", "life_event": "birth"})


@pages.post("/bundles/new")
async def new_bundle_from_form(request: Request, platform: PlatformDep, actor: Staff) -> Response:
    form = await request.form()
    document = _bundle_document(form, {})
    identity = {"code": str(form.get("code", "")).strip(), "organisation": str(form.get("organisation", ""))}
    with platform.uow() as uow:
        try:
            compiler = org.get_organisation(
                uow, int(identity["organisation"]) if identity["organisation"].isdigit() else 0, actor
            )
            created = items.compile_bundle(
                uow,
                items.CompileBundle(
                    code=identity["code"],
                    division_code=compiler.division_code,
                    organisation_id=compiler.id,
                    document=document,
                ),
                actor,
            )
        except (ValidationFailed, NotFound) as exc:
            uow.rollback()
            return _bundle_page(request, platform, actor, document, identity=identity, error=exc)
    return RedirectResponse(f"/admin/items/{created.id}?done=created", status_code=303)


# --- a record: detail, diff, edit and its steps -------------------------------------------------------------
def _chosen(detail: reading.RecordDetail, number: int | None) -> Version | None:
    return detail.version(number) if number is not None else detail.shown


def _detail_page(
    request: Request,
    uow: UnitOfWork,
    actor: Actor,
    record_id: int,
    *,
    version: int | None = None,
    error: WanshiError | None = None,
    done: str = "",
) -> Response:
    detail = reading.get_record(uow, record_id, actor)
    chosen = _chosen(detail, version)
    return render_admin(
        request,
        actor,
        "items/admin/detail.html",
        {
            **_common(),
            "detail": detail,
            "record": detail.record,
            "chosen": chosen,
            "typed": parse_document(detail.record.kind, chosen.document) if chosen else None,
            "error": error,
            "done": DONE.get(done, ""),
        },
        status_code=error.http_status if error is not None else 200,
    )


@pages.get("/{record_id}")
def detail_page(
    request: Request,
    platform: PlatformDep,
    actor: Staff,
    record_id: int,
    version: Annotated[int | None, Query(ge=1)] = None,
    done: str = "",
) -> Response:
    with platform.uow() as uow:
        return _detail_page(request, uow, actor, record_id, version=version, done=done)


@pages.get("/{record_id}/diff")
def diff_page(
    request: Request,
    platform: PlatformDep,
    actor: Staff,
    record_id: int,
    from_version: Annotated[int, Query(alias="from", ge=1)],
    to_version: Annotated[int, Query(alias="to", ge=1)],
) -> Response:
    with platform.uow() as uow:
        detail = reading.get_record(uow, record_id, actor)
        changes = reading.version_diff(uow, record_id, from_version, to_version, actor)
    return render_admin(
        request,
        actor,
        "items/admin/diff.html",
        {
            **_common(),
            "detail": detail,
            "record": detail.record,
            "changes": changes,
            "from_version": from_version,
            "to_version": to_version,
        },
    )


def _rules(uow: UnitOfWork, r: items.Record, actor: Actor) -> dict[str, Adjust]:
    """How an implementation entry may differ from the province's published entry; none for the others."""
    if r.kind is not RecordKind.IMPLEMENTATION:
        return {}
    try:
        basic = items.published_basic(uow, r.basic_code, actor)
    except ValidationFailed:
        return {}
    return adjust_rules(basic.adjust)


def _editable(detail: reading.RecordDetail) -> Version:
    working = detail.version(detail.record.working_version)
    if working is None or "edit" not in detail.actions:
        raise TransitionRefused("该事项当前没有可修改的版本")
    return working


@pages.get("/{record_id}/edit")
def edit_page(request: Request, platform: PlatformDep, actor: Staff, record_id: int) -> Response:
    with platform.uow() as uow:
        detail = reading.get_record(uow, record_id, actor)
        try:
            working = _editable(detail)
        except WanshiError as exc:
            return _detail_page(request, uow, actor, record_id, error=exc)
        if detail.record.kind is RecordKind.BUNDLE:
            return _bundle_page(
                request, platform, actor, working.document, detail=detail, lock=detail.record.lock
            )
        rules = _rules(uow, detail.record, actor)
    form = ElementForm.of(working.document["elements"], rules)
    return _form_page(request, actor, form, detail=detail, lock=detail.record.lock)


@pages.post("/{record_id}/edit")
async def edit_from_form(request: Request, platform: PlatformDep, actor: Staff, record_id: int) -> Response:
    form = await request.form()
    lock_text = str(form.get("lock", ""))
    lock = int(lock_text) if lock_text.isdigit() else -1
    with platform.uow() as uow:
        detail = reading.get_record(uow, record_id, actor)
        try:
            working = _editable(detail)
        except WanshiError as exc:
            return _detail_page(request, uow, actor, record_id, error=exc)
        if detail.record.kind is RecordKind.BUNDLE:
            document = _bundle_document(form, working.document)
            try:
                items.edit_version(
                    uow, items.EditVersion(record_id=record_id, lock=lock, document=document), actor
                )
            except WanshiError as exc:
                uow.rollback()
                return _bundle_page(request, platform, actor, document, detail=detail, lock=lock, error=exc)
            return RedirectResponse(f"/admin/items/{record_id}?done=edited", status_code=303)
        rules = _rules(uow, detail.record, actor)
        elements, origins = elements_from(form, working.document["elements"])
        try:
            items.edit_version(
                uow,
                items.EditVersion(
                    record_id=record_id, lock=lock, document={**working.document, "elements": elements}
                ),
                actor,
            )
        except WanshiError as exc:
            uow.rollback()
            attempted = ElementForm(elements, origins, rules)
            attempted.errors, attempted.general = _element_problems(exc, rules)
            if exc.error_code == "item_changed":
                attempted.general = [exc.message + "。您填写的内容仍在下方，可复制后刷新页面重新修改。"]
            return _form_page(
                request, actor, attempted, detail=detail, lock=lock, status_code=exc.http_status
            )
    return RedirectResponse(f"/admin/items/{record_id}?done=edited", status_code=303)


def _act(
    request: Request,
    platform: Platform,
    actor: Actor,
    record_id: int,
    done: str,
    step: Callable[[UnitOfWork], object],
) -> Response:
    """Run one step; a refused step shows the record again with the reason."""
    with platform.uow() as uow:
        try:
            step(uow)
        except (ValidationFailed, Conflict) as exc:
            uow.rollback()
            return _detail_page(request, uow, actor, record_id, error=exc)
    return RedirectResponse(f"/admin/items/{record_id}?done={done}", status_code=303)


Lock = Annotated[int, Form(ge=0)]
Note = Annotated[str, Form(max_length=4000)]


@pages.post("/{record_id}/submit")
def submit_from_form(
    request: Request, platform: PlatformDep, actor: Staff, record_id: int, lock: Lock, note: Note = ""
) -> Response:
    return _act(
        request,
        platform,
        actor,
        record_id,
        "submitted",
        lambda uow: items.submit_version(
            uow, items.Transition(record_id=record_id, lock=lock, note=note), actor
        ),
    )


@pages.post("/{record_id}/review")
def review_from_form(
    request: Request,
    platform: PlatformDep,
    actor: Staff,
    record_id: int,
    lock: Lock,
    decision: Annotated[str, Form(pattern="^(publish|return)$")],
    note: Note = "",
) -> Response:
    publish = decision == "publish"
    return _act(
        request,
        platform,
        actor,
        record_id,
        "published" if publish else "returned",
        lambda uow: items.review_version(
            uow, items.Review(record_id=record_id, lock=lock, publish=publish, note=note), actor
        ),
    )


@pages.post("/{record_id}/version")
def version_from_form(
    request: Request, platform: PlatformDep, actor: Staff, record_id: int, lock: Lock, note: Note = ""
) -> Response:
    return _act(
        request,
        platform,
        actor,
        record_id,
        "version",
        lambda uow: items.start_version(
            uow, items.Transition(record_id=record_id, lock=lock, note=note), actor
        ),
    )


@pages.post("/{record_id}/withdraw")
def withdraw_from_form(
    request: Request, platform: PlatformDep, actor: Staff, record_id: int, lock: Lock, reason: Note = ""
) -> Response:
    return _act(
        request,
        platform,
        actor,
        record_id,
        "withdrawn",
        lambda uow: items.withdraw_record(
            uow, items.Transition(record_id=record_id, lock=lock, note=reason), actor
        ),
    )


# --- JSON API -----------------------------------------------------------------------------------------------
class Out(BaseModel):
    model_config = ConfigDict(frozen=True)


class RecordOut(Out):
    id: int
    kind: RecordKind
    code: str
    basic_code: str
    name: str
    organisation_id: int
    organisation_name: str
    division_code: str
    state: RecordState
    state_label: str
    published_version: int | None
    working_version: int | None
    lock: int = Field(description="Send it back with a change: a stale one is refused with item_changed")
    withdrawn_reason: str
    updated_at: datetime

    @classmethod
    def of(cls, r: items.Record, organisation_name: str) -> RecordOut:
        return cls(
            id=r.id,
            kind=r.kind,
            code=r.code,
            basic_code=r.basic_code,
            name=r.name,
            organisation_id=r.organisation_id,
            organisation_name=organisation_name,
            division_code=r.division_code,
            state=r.state,
            state_label=r.state.label,
            published_version=r.published_version,
            working_version=r.working_version,
            lock=r.lock,
            withdrawn_reason=r.withdrawn_reason,
            updated_at=r.updated_at,
        )


class VersionOut(Out):
    number: int
    status: str
    status_label: str
    document: dict[str, Any]
    created_by: str
    created_at: datetime
    submitted_at: datetime | None
    reviewed_by: str
    reviewed_at: datetime | None
    review_note: str

    @classmethod
    def of(cls, v: Version) -> VersionOut:
        return cls(
            number=v.number,
            status=v.status.value,
            status_label=v.status.label,
            document=v.document,
            created_by=v.created_by,
            created_at=v.created_at,
            submitted_at=v.submitted_at,
            reviewed_by=v.reviewed_by,
            reviewed_at=v.reviewed_at,
            review_note=v.review_note,
        )


class HistoryOut(Out):
    version_number: int | None
    kind: str
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
    entry: str = Field(description="The named entry of a list that changed; empty for the whole element")
    before: Any = Field(description="null: added")
    after: Any = Field(description="null: removed")

    @classmethod
    def of(cls, c: Change) -> ChangeOut:
        return cls(key=c.key, label=c.label, entry=c.entry, before=c.before, after=c.after)


class DetailOut(Out):
    record: RecordOut
    versions: list[VersionOut]
    history: list[HistoryOut]
    pending: list[ChangeOut] = Field(description="The working version against the published one")
    actions: list[str] = Field(description="What the caller may do with the record now")

    @classmethod
    def of(cls, d: reading.RecordDetail) -> DetailOut:
        return cls(
            record=RecordOut.of(d.record, d.organisation_name),
            versions=[VersionOut.of(v) for v in d.versions],
            history=[
                HistoryOut(
                    version_number=h.version_number,
                    kind=h.kind.value,
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
            pending=[ChangeOut.of(c) for c in d.pending],
            actions=sorted(d.actions),
        )


class PageOut(Out):
    items: list[RecordOut]
    total: int
    limit: int
    offset: int


class ProblemOut(Out):
    sheet: str = Field(description="Blank for a JSON file")
    row: int = Field(description="The sheet's row, or the entry's position in a JSON file; 0 for the file")
    column: str
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


class DocumentIn(In):
    lock: int
    document: dict[str, Any]


class StepIn(In):
    lock: int
    note: str = Field(default="", max_length=4000)


class ReviewIn(StepIn):
    publish: bool


class WithdrawIn(In):
    lock: int
    reason: str = Field(max_length=4000)


def _detail_out(uow: UnitOfWork, record_id: int, actor: Actor) -> DetailOut:
    return DetailOut.of(reading.get_record(uow, record_id, actor))


@api_router.get("", summary="The catalogue as staff see it: published entries, and drafts to their keepers")
def api_list(
    platform: PlatformDep,
    actor: Staff,
    q: Annotated[str, Query(max_length=100)] = "",
    kind: RecordKind | None = None,
    state: RecordState | None = None,
    organisation_id: int | None = None,
    division_code: Annotated[str, Query(pattern=r"^(\d{6})?$")] = "",
    item_type: Annotated[str, Query(max_length=2)] = "",
    basic_code: Annotated[str, Query(max_length=20)] = "",
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> PageOut:
    query = reading.RecordQuery(
        q=q,
        kind=kind,
        state=state,
        organisation_id=organisation_id,
        division_code=division_code,
        item_type=item_type,
        basic_code=basic_code.strip().upper(),
        limit=limit,
        offset=offset,
    )
    with platform.uow() as uow:
        found = reading.list_records(uow, query, actor)
    return PageOut(
        items=[RecordOut.of(r, found.organisation_names.get(r.organisation_id, "")) for r in found.records],
        total=found.total,
        limit=limit,
        offset=offset,
    )


@api_router.get("/export.xlsx", summary="The entries the list selects as the departments' Excel workbook")
def api_export_xlsx(request: Request, platform: PlatformDep, actor: Staff) -> Response:
    return _export(request, platform, actor, exchange.ExchangeFormat.XLSX)


@api_router.get("/export.json", summary="The entries the list selects as the JSON interchange document")
def api_export_json(request: Request, platform: PlatformDep, actor: Staff) -> Response:
    return _export(request, platform, actor, exchange.ExchangeFormat.JSON)


@api_router.post("/import", summary="Import an .xlsx or .json file; with any problem nothing changes")
async def api_import(
    platform: PlatformDep,
    actor: Staff,
    file: Annotated[UploadFile, File()],
    publish: Annotated[bool, Form()] = False,
) -> ImportOut:
    content, fmt = await _read_upload(file)
    with platform.uow() as uow:
        report = exchange.import_entries(uow, content, fmt, actor, publish=publish)
    return ImportOut(
        ok=report.ok,
        created=report.created,
        updated=report.updated,
        unchanged=report.unchanged,
        problems=[
            ProblemOut(sheet=p.sheet, row=p.row, column=p.column, code=p.code, message=p.message)
            for p in report.problems
        ],
    )


@api_router.get("/{record_id}", summary="A record with its versions, pending changes, history and actions")
def api_get(platform: PlatformDep, actor: Staff, record_id: int) -> DetailOut:
    with platform.uow() as uow:
        return _detail_out(uow, record_id, actor)


@api_router.put("/{record_id}", summary="Replace the working version's document (never the published one)")
def api_edit(platform: PlatformDep, actor: Staff, record_id: int, body: DocumentIn) -> DetailOut:
    with platform.uow() as uow:
        items.edit_version(
            uow, items.EditVersion(record_id=record_id, lock=body.lock, document=body.document), actor
        )
        return _detail_out(uow, record_id, actor)


@api_router.post("/{record_id}/submit", summary="Submit the working version for review")
def api_submit(platform: PlatformDep, actor: Staff, record_id: int, body: StepIn) -> DetailOut:
    with platform.uow() as uow:
        items.submit_version(
            uow, items.Transition(record_id=record_id, lock=body.lock, note=body.note), actor
        )
        return _detail_out(uow, record_id, actor)


@api_router.post(
    "/{record_id}/review", summary="Publish (发布) or return with reasons (the reviewing bureau)"
)
def api_review(platform: PlatformDep, actor: Staff, record_id: int, body: ReviewIn) -> DetailOut:
    with platform.uow() as uow:
        items.review_version(
            uow,
            items.Review(record_id=record_id, lock=body.lock, publish=body.publish, note=body.note),
            actor,
        )
        return _detail_out(uow, record_id, actor)


@api_router.post(
    "/{record_id}/versions", status_code=201, summary="Start a new version of a published record"
)
def api_start_version(platform: PlatformDep, actor: Staff, record_id: int, body: StepIn) -> DetailOut:
    with platform.uow() as uow:
        items.start_version(uow, items.Transition(record_id=record_id, lock=body.lock, note=body.note), actor)
        return _detail_out(uow, record_id, actor)


@api_router.post(
    "/{record_id}/withdraw", summary="Withdraw (取消) a published record for good, with a reason"
)
def api_withdraw(platform: PlatformDep, actor: Staff, record_id: int, body: WithdrawIn) -> DetailOut:
    with platform.uow() as uow:
        items.withdraw_record(
            uow, items.Transition(record_id=record_id, lock=body.lock, note=body.reason), actor
        )
        return _detail_out(uow, record_id, actor)


@api_router.get("/{record_id}/diff", summary="What changed between two versions, element by element")
def api_diff(
    platform: PlatformDep,
    actor: Staff,
    record_id: int,
    from_version: Annotated[int, Query(alias="from", ge=1)],
    to_version: Annotated[int, Query(alias="to", ge=1)],
) -> list[ChangeOut]:
    with platform.uow() as uow:
        return [
            ChangeOut.of(c) for c in reading.version_diff(uow, record_id, from_version, to_version, actor)
        ]


# --- admin area ---------------------------------------------------------------------------------------------
def _stats(platform: Platform, actor: Actor) -> list[Stat]:
    with platform.uow() as uow:

        def count(state: RecordState) -> int:
            return reading.list_records(uow, reading.RecordQuery(state=state, limit=1), actor).total

        published, waiting, returned = (
            count(RecordState.PUBLISHED),
            count(RecordState.SUBMITTED),
            count(RecordState.RETURNED),
        )
    return [
        Stat("已发布事项", published, "ok"),
        Stat("待审核", waiting, "warn" if waiting else ""),
        Stat("已退回", returned, "bad" if returned else ""),
    ]


admin_sections = [
    AdminSection(
        "/admin/items",
        "政务服务事项",
        35,
        policies.can_list,
        description="基本目录、实施清单与一件事的编制、认领、审核发布、版本比对与 Excel/JSON 导入导出。",
        stats=_stats,
    )
]
