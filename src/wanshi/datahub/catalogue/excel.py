"""The catalogue as the spreadsheet data bureaus exchange: one row per 信息项, the resource's metadata
repeated on each of its rows, Chinese headers. Reading reports every problem with its row number, a
stable code and a Chinese message; it never stops at the first one.

Pure translation between workbook rows and metadata; the services decide what an import changes.
"""

from __future__ import annotations

import io
import zipfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from openpyxl import Workbook, load_workbook
from openpyxl.styles import Font
from openpyxl.utils.exceptions import InvalidFileException

from wanshi.datahub.catalogue.domain import (
    DataType,
    Grade,
    InformationItem,
    Labelled,
    Metadata,
    OpenType,
    ShareType,
    UpdateCycle,
    by_label,
    classify,
    code_problems,
)

SHEET_TITLE = "政务数据资源目录"
MAX_ROWS = 100_000
YES, NO = "是", "否"
RELATED_SEPARATORS = ("；", ",", "，", "\n", " ")

# (header, key). The metadata columns repeat on every row of a resource; the 信息项 columns vary.
COLUMNS: tuple[tuple[str, str], ...] = (
    ("资源代码", "code"),
    ("资源分类", "classification"),
    ("资源名称", "name"),
    ("提供方", "provider_name"),
    ("提供方代码", "provider_code"),
    ("资源摘要", "summary"),
    ("资源格式", "format"),
    ("信息项标识", "item_name"),
    ("信息项名称", "item_label"),
    ("数据类型", "data_type"),
    ("数据长度", "length"),
    ("小数位数", "scale"),
    ("是否必填", "required"),
    ("分级", "grade"),
    ("共享类型", "share_type"),
    ("共享条件", "share_conditions"),
    ("不予共享依据", "share_basis"),
    ("共享方式", "share_method"),
    ("开放类型", "open_type"),
    ("开放条件", "open_conditions"),
    ("更新周期", "update_cycle"),
    ("发布日期", "release_date"),
    ("关联资源代码", "related_codes"),
)
HEADERS = {key: header for header, key in COLUMNS}
ITEM_KEYS = frozenset({"item_name", "item_label", "data_type", "length", "scale", "required", "grade"})
# 资源分类 is read from the code, so it is written for people and ignored when read.
DERIVED_KEYS = frozenset({"classification"})
# Columns added after sheets were first exchanged: a file without them still imports, read as blank.
OPTIONAL_KEYS = frozenset({"scale"})
RESOURCE_KEYS = tuple(k for _h, k in COLUMNS if k not in ITEM_KEYS | DERIVED_KEYS | {"code"})


@dataclass(frozen=True)
class RowProblem:
    row: int  # the spreadsheet's row number, header = 1
    code: str
    message: str


@dataclass(frozen=True)
class SheetResource:
    """One resource read from the sheet: its rows' numbers, metadata and provider as written."""

    code: str
    rows: tuple[int, ...]
    provider_name: str
    provider_code: str
    metadata: Metadata


@dataclass(frozen=True)
class ExportResource:
    code: str
    provider_name: str
    provider_code: str
    metadata: Metadata


@dataclass
class ReadResult:
    resources: list[SheetResource] = field(default_factory=list)
    problems: list[RowProblem] = field(default_factory=list)


# --- writing ----------------------------------------------------------------------------------------------
def _row(r: ExportResource, item: InformationItem) -> list[Any]:
    meta = r.metadata
    c = classify(r.code)
    values: dict[str, Any] = {
        "code": r.code,
        "classification": f"{c.top.label} {c.path}",
        "name": meta.name,
        "provider_name": r.provider_name,
        "provider_code": r.provider_code,
        "summary": meta.summary,
        "format": meta.format,
        "item_name": item.name,
        "item_label": item.label,
        "data_type": item.data_type.label,
        "length": item.length,
        "scale": item.scale,
        "required": YES if item.required else NO,
        "grade": item.grade.label,
        "share_type": meta.share_type.label,
        "share_conditions": meta.share_conditions,
        "share_basis": meta.share_basis,
        "share_method": meta.share_method,
        "open_type": meta.open_type.label,
        "open_conditions": meta.open_conditions,
        "update_cycle": meta.update_cycle.label,
        "release_date": meta.release_date.isoformat() if meta.release_date else "",
        "related_codes": ";".join(meta.related_codes),
    }
    return [values[key] for _header, key in COLUMNS]


def write_workbook(resources: Iterable[ExportResource]) -> bytes:
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = SHEET_TITLE
    sheet.append([header for header, _key in COLUMNS])
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    sheet.freeze_panes = "A2"
    for r in resources:
        for item in r.metadata.items:
            sheet.append(_row(r, item))
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


# --- reading ----------------------------------------------------------------------------------------------
def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.date().isoformat() if value.time() == datetime.min.time() else value.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


class _Row:
    def __init__(self, number: int, values: dict[str, str], problems: list[RowProblem]) -> None:
        self.number = number
        self.values = values
        self._problems = problems

    def problem(self, code: str, message: str) -> None:
        self._problems.append(RowProblem(self.number, code, f"第 {self.number} 行：{message}"))

    def choice(self, key: str, enum: type[Labelled], default: Labelled | None = None) -> Any:
        text = self.values[key]
        if not text and default is not None:
            return default
        found = by_label(enum, text)
        if found is None:
            options = "、".join(m.label for m in enum)
            self.problem("catalogue_import_value_invalid", f"{HEADERS[key]}“{text}”无效，应为：{options}")
        return found

    def length(self) -> int | None:
        text = self.values["length"]
        if not text:
            return None
        if not text.isdigit():
            self.problem("catalogue_import_length_invalid", f"数据长度“{text}”不是正整数")
            return None
        return int(text)

    def scale(self) -> int | None:
        text = self.values["scale"]
        if not text:
            return None
        if not text.isdigit():
            self.problem("catalogue_import_scale_invalid", f"小数位数“{text}”不是 0 或正整数")
            return None
        return int(text)

    def required(self) -> bool:
        text = self.values["required"]
        if text not in ("", YES, NO):
            self.problem("catalogue_import_required_invalid", f"是否必填“{text}”无效，应为“是”或“否”")
        return text == YES

    def release_date(self) -> date | None:
        text = self.values["release_date"]
        if not text:
            return None
        try:
            return date.fromisoformat(text.replace("/", "-"))
        except ValueError:
            self.problem("catalogue_import_date_invalid", f"发布日期“{text}”无效，应形如 2026-03-01")
            return None


def _related(text: str) -> tuple[str, ...]:
    for separator in RELATED_SEPARATORS:
        text = text.replace(separator, ";")
    return tuple(dict.fromkeys(part.strip() for part in text.split(";") if part.strip()))


def _header_map(header: Sequence[Any], result: ReadResult) -> dict[str, int] | None:
    positions = {_text(value): index for index, value in enumerate(header) if _text(value)}
    needed = [h for h, key in COLUMNS if key not in DERIVED_KEYS | OPTIONAL_KEYS]
    missing = [h for h in needed if h not in positions]
    if missing:
        result.problems.append(
            RowProblem(1, "catalogue_import_columns_missing", "第 1 行：缺少列：" + "、".join(missing))
        )
        return None
    return {key: positions[header] for header, key in COLUMNS if header in positions}


def _resource(code: str, rows: list[_Row]) -> SheetResource | None:
    first = rows[0]
    for row in rows[1:]:
        for key in RESOURCE_KEYS:
            if row.values[key] != first.values[key]:
                row.problem(
                    "catalogue_import_inconsistent",
                    f"资源 {code} 的{HEADERS[key]}与第 {first.number} 行不一致",
                )
    items = []
    for row in rows:
        items.append(
            InformationItem(
                name=row.values["item_name"],
                label=row.values["item_label"],
                data_type=row.choice("data_type", DataType, DataType.STRING) or DataType.STRING,
                length=row.length(),
                required=row.required(),
                grade=row.choice("grade", Grade, Grade.INTERNAL) or Grade.INTERNAL,
                scale=row.scale(),
            )
        )
    share_type = first.choice("share_type", ShareType)
    open_type = first.choice("open_type", OpenType, OpenType.NONE)
    update_cycle = first.choice("update_cycle", UpdateCycle)
    release_date = first.release_date()
    if share_type is None or open_type is None or update_cycle is None:
        return None
    meta = Metadata(
        name=first.values["name"],
        summary=first.values["summary"],
        format=first.values["format"],
        items=tuple(items),
        share_type=share_type,
        share_conditions=first.values["share_conditions"],
        share_basis=first.values["share_basis"],
        share_method=first.values["share_method"],
        open_type=open_type,
        open_conditions=first.values["open_conditions"],
        update_cycle=update_cycle,
        release_date=release_date,
        related_codes=_related(first.values["related_codes"]),
    )
    return SheetResource(
        code=code,
        rows=tuple(r.number for r in rows),
        provider_name=first.values["provider_name"],
        provider_code=first.values["provider_code"],
        metadata=meta,
    )


def read_workbook(content: bytes) -> ReadResult:
    result = ReadResult()
    try:
        book = load_workbook(io.BytesIO(content), read_only=True, data_only=True)
    except (InvalidFileException, zipfile.BadZipFile, KeyError, OSError, ValueError):
        result.problems.append(
            RowProblem(0, "catalogue_import_not_xlsx", "文件不是有效的 Excel（.xlsx）工作簿")
        )
        return result
    sheet = book.worksheets[0]
    rows = sheet.iter_rows(values_only=True)
    header = next(rows, None)
    positions = _header_map(header or (), result)
    if positions is None:
        return result
    grouped: dict[str, list[_Row]] = {}
    for number, raw in enumerate(rows, start=2):
        if number > MAX_ROWS + 1:
            result.problems.append(
                RowProblem(number, "catalogue_import_too_many_rows", f"一次最多导入 {MAX_ROWS} 行")
            )
            break
        values = {key: _text(raw[i]) if i < len(raw) else "" for key, i in positions.items()}
        if not any(values.values()):
            continue
        row = _Row(number, {key: values.get(key, "") for _h, key in COLUMNS}, result.problems)
        code = values["code"]
        if not code:
            row.problem("catalogue_import_code_required", "缺少资源代码")
            continue
        bad_code = code_problems(code)
        if bad_code:
            row.problem(bad_code[0].code, bad_code[0].message)
            continue
        grouped.setdefault(code, []).append(row)
    book.close()
    for code, group in grouped.items():
        found = _resource(code, group)
        if found is not None:
            result.resources.append(found)
    return result
