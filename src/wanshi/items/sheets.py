"""The 实施清单 as the workbook departments keep: 「事项清单」 with one row per entry and its single-valued
elements, one sheet per kind of part (申请材料, 收费项目 ...) with one row per part led by its entry's code,
and 「说明」 telling the clerk how to fill it. Enumerations appear as their Chinese labels, switches as 是/否,
lists of free text one per line in the cell.

Reading never stops at the first mistake and never raises for bad content: every problem names its sheet,
row and column, and an entry with a problem is left out of the reading. Only a file that is not a workbook,
or one too large to open safely, is refused with ValidationFailed.
"""

from __future__ import annotations

import io
import re
import zipfile
import zlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, Protocol

from openpyxl import Workbook, load_workbook
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.styles import Alignment, Font
from openpyxl.utils import get_column_letter
from openpyxl.utils.exceptions import InvalidFileException
from openpyxl.workbook.workbook import Workbook as Book
from openpyxl.worksheet.datavalidation import DataValidation
from openpyxl.worksheet.worksheet import Worksheet
from pydantic import ValidationError

from wanshi.items.domain.codes import ImplementationCode, check_basic_code, check_body_code
from wanshi.items.domain.documents import DOCUMENTS, BasicDocument, ImplementationDocument, RecordKind
from wanshi.items.domain.elements import (
    ELEMENT_LABELS,
    ONLINE_DEPTH_LABELS,
    Audience,
    CaseType,
    Elements,
    FieldType,
    HandlingForm,
    ImplementerNature,
    ItemType,
    Labelled,
    Level,
    LimitUnit,
    MaterialForm,
    MaterialSource,
    Necessity,
    Registry,
    ResultType,
)
from wanshi.items.domain.locks import ADJUST_LABELS, Adjust
from wanshi.items.domain.views import BasicCard, ItemCard
from wanshi.kernel.errors import ValidationFailed
from wanshi.kernel.reasons import reason

GUIDE_TITLE = "说明"
MAIN_TITLE = "事项清单"
KEY_HEADER = "事项编码"
YES, NO = "是", "否"
MAX_BYTES = 20 * 1024 * 1024
# The archive's declared sizes bound what zipfile will inflate, so checking them stops a zip bomb before
# openpyxl (which holds shared strings in memory) opens it.
MAX_UNPACKED_BYTES = 100 * 1024 * 1024
MAX_MEMBERS = 500
MAX_ROWS = 50_000
MAX_COLUMNS = 100
DIVISION_CODE = re.compile(r"^[0-9]{6}$")
KINDS = (RecordKind.BASIC, RecordKind.IMPLEMENTATION)

Path = tuple[str, ...]
Location = tuple[str | int, ...]


# --- what is read and written ----------------------------------------------------------------------------
@dataclass(frozen=True)
class ItemEntry:
    """One entry as files carry it: who states it and its document, a mapping for ``parse_document``."""

    kind: RecordKind  # BASIC or IMPLEMENTATION
    code: str  # 实施编码, or the 基本编码 of a basic entry
    basic_code: str
    organisation_name: str  # the implementing body, or the department responsible for a basic entry
    division_code: str  # blank for a basic entry
    document: dict[str, Any]


@dataclass(frozen=True)
class Problem:
    """One mistake in a file. ``sheet`` is blank for JSON, where ``row`` counts entries from 1."""

    sheet: str
    row: int  # the sheet's row number (header = 1), or 0 for the whole file
    column: str  # the column's header, or the element's name; blank for the whole row
    code: str
    message: str

    @property
    def text(self) -> str:
        where = f"「{self.sheet}」第 {self.row} 行" if self.sheet else f"第 {self.row} 个事项"
        if self.row == 0:
            where = f"「{self.sheet}」" if self.sheet else "文件"
        return f"{where}「{self.column}」：{self.message}" if self.column else f"{where}：{self.message}"


@dataclass
class SheetReading:
    """The entries read without a problem, and every problem found."""

    entries: list[ItemEntry] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)


Exportable = ItemEntry | ItemCard | BasicCard


def entry_of(item: Exportable) -> ItemEntry:
    if isinstance(item, ItemEntry):
        return item
    kind, document = _typed(item)
    return ItemEntry(kind, item.code, *_identity(item), document.model_dump(mode="json"))


def _typed(item: Exportable) -> tuple[RecordKind, BasicDocument | ImplementationDocument]:
    if isinstance(item, ItemEntry):
        model = BasicDocument if item.kind is RecordKind.BASIC else ImplementationDocument
        return item.kind, model.model_validate(item.document)
    if isinstance(item, BasicCard):
        return RecordKind.BASIC, item.document
    return RecordKind.IMPLEMENTATION, item.document


def _identity(item: Exportable) -> tuple[str, str, str]:
    """Basic code, organisation name and division code."""
    if isinstance(item, ItemEntry):
        return item.basic_code, item.organisation_name, item.division_code
    if isinstance(item, BasicCard):
        return item.code, item.department_name, ""
    return item.basic_code, item.organisation_name, item.division_code


# --- cells -------------------------------------------------------------------------------------------------
class CellError(Exception):
    """A cell that cannot be read; the message says why, in Chinese."""


class Codec(Protocol):
    @property
    def choices(self) -> tuple[str, ...]:
        """Offered as a drop-down list when not empty."""
        ...

    def write(self, value: Any) -> Any: ...

    def read(self, text: str) -> Any: ...


@dataclass(frozen=True)
class TextCodec:
    choices: tuple[str, ...] = ()

    def write(self, value: Any) -> Any:
        return value or None

    def read(self, text: str) -> Any:
        return text


@dataclass(frozen=True)
class CodeCodec:
    """Codes are compared in capitals, as the domain normalises them."""

    choices: tuple[str, ...] = ()

    def write(self, value: Any) -> Any:
        return value or None

    def read(self, text: str) -> Any:
        return text.upper()


@dataclass(frozen=True)
class IntCodec:
    low: int
    high: int
    choices: tuple[str, ...] = ()

    def write(self, value: Any) -> Any:
        return value

    def read(self, text: str) -> Any:
        if not re.fullmatch(r"-?\d+", text) or not self.low <= int(text) <= self.high:
            raise CellError(f"“{text}”无效，应为 {self.low} 到 {self.high} 的整数")
        return int(text)


@dataclass(frozen=True)
class BoolCodec:
    choices: tuple[str, ...] = (YES, NO)

    def write(self, value: Any) -> Any:
        return YES if value else NO

    def read(self, text: str) -> Any:
        if text not in (YES, NO):
            raise CellError(f"“{text}”无效，应为“是”或“否”")
        return text == YES


@dataclass(frozen=True)
class ChoiceCodec:
    enum: type[Labelled]

    @property
    def choices(self) -> tuple[str, ...]:
        return tuple(m.label for m in self.enum)

    def write(self, value: Any) -> Any:
        return value.label if value is not None else None

    def read(self, text: str) -> Any:
        found = self.enum.parse(text)
        if not isinstance(found, self.enum):
            raise CellError(f"“{text}”无效，应为：" + "、".join(self.choices))
        return found.value


@dataclass(frozen=True)
class LabelsCodec:
    """Several values of an enumeration in one cell, separated by 、."""

    enum: type[Labelled]
    choices: tuple[str, ...] = ()

    def write(self, value: Any) -> Any:
        return "、".join(m.label for m in value) or None

    def read(self, text: str) -> Any:
        single = ChoiceCodec(self.enum)
        return [single.read(part) for part in re.split(r"[、,，/\s]+", text) if part]


@dataclass(frozen=True)
class LinesCodec:
    """A list of free text, one entry per line of the cell (free text may itself hold 、 or commas)."""

    choices: tuple[str, ...] = ()

    def write(self, value: Any) -> Any:
        return "\n".join(value) or None

    def read(self, text: str) -> Any:
        # Only line feeds separate: str.splitlines() would also cut at separators the text may hold.
        return [line.strip() for line in text.split("\n") if line.strip()]


@dataclass(frozen=True)
class TokensCodec:
    """A list of identifiers in one cell, separated by 、, commas or spaces."""

    choices: tuple[str, ...] = ()

    def write(self, value: Any) -> Any:
        return "、".join(value) or None

    def read(self, text: str) -> Any:
        return [part for part in re.split(r"[、,，;；\s]+", text) if part]


@dataclass(frozen=True)
class DepthCodec:
    choices: tuple[str, ...] = tuple(ONLINE_DEPTH_LABELS.values())

    def write(self, value: Any) -> Any:
        return ONLINE_DEPTH_LABELS[value]

    def read(self, text: str) -> Any:
        for depth, label in ONLINE_DEPTH_LABELS.items():
            if text in (label, label.split()[0], str(depth)):
                return depth
        raise CellError(f"“{text}”无效，应为：" + "、".join(self.choices))


@dataclass(frozen=True)
class KindCodec:
    choices: tuple[str, ...] = tuple(k.label for k in KINDS)

    def write(self, value: Any) -> Any:
        return value.label

    def read(self, text: str) -> Any:
        for kind in KINDS:
            if text in (kind.label, kind.value):
                return kind
        raise CellError(f"“{text}”无效，应为：" + "、".join(self.choices))


@dataclass(frozen=True)
class AdjustCodec:
    """A basic entry's adjustment rules, one element per line: ``承诺办结时限：只可缩短或减少``."""

    choices: tuple[str, ...] = ()

    def write(self, value: Any) -> Any:
        return "\n".join(f"{ELEMENT_LABELS[k]}：{ADJUST_LABELS[Adjust(v)]}" for k, v in value.items()) or None

    def read(self, text: str) -> Any:
        elements = {label: key for key, label in ELEMENT_LABELS.items()} | {k: k for k in ELEMENT_LABELS}
        rules = {label: rule.value for rule, label in ADJUST_LABELS.items()} | {
            r.value: r.value for r in Adjust
        }
        out: dict[str, str] = {}
        for line in (line.strip() for line in text.splitlines()):
            if not line:
                continue
            element, _sep, rule = (part.strip() for part in line.replace(":", "：").partition("："))
            if element not in elements or rule not in rules:
                raise CellError(
                    f"“{line}”无效，应写成“要素名称：规则”，规则为：" + "、".join(ADJUST_LABELS.values())
                )
            out[elements[element]] = rules[rule]
        return out


TEXT = TextCodec()
CODE = CodeCodec()
LINES = LinesCodec()
BOOL = BoolCodec()


@dataclass(frozen=True)
class Column:
    header: str
    path: Path
    codec: Codec = TEXT
    width: int = 16
    note: str = ""
    wrap: bool = False


@dataclass(frozen=True)
class PartSheet:
    title: str
    element: str  # the Elements field holding these parts
    columns: tuple[Column, ...]


def _elements(*columns: tuple[Any, ...]) -> tuple[Column, ...]:
    return tuple(Column(header, ("document", "elements", *path), *rest) for header, path, *rest in columns)


ENTRY_COLUMNS = (
    Column("类别", ("kind",), KindCodec(), 14, "留空时，填了实施主体统一社会信用代码的为实施清单事项"),
    Column("基本编码", ("basic_code",), CODE, 18, "14 位，如 511A0138000000"),
    Column(
        "实施编码",
        ("code",),
        CODE,
        58,
        "实施清单事项可留空，导入时按基本编码、区划代码等生成；基本目录事项不填",
    ),
    Column("实施主体", ("organisation",), TEXT, 24, "实施机关的全称；基本目录事项填省级主管部门"),
    Column("区划代码", ("division_code",), CODE, 10, "实施主体所在行政区划的 6 位代码，基本目录事项可不填"),
    Column("实施主体统一社会信用代码", ("document", "body_code"), CODE, 22, "18 位，实施清单事项必填"),
    Column("实施主体性质", ("document", "body_nature"), ChoiceCodec(ImplementerNature), 12),
    Column("办理项编号", ("document", "handling_no"), IntCodec(1, 9), 10, "1 到 9，默认 1"),
    Column("业务办理项编号", ("document", "business_no"), IntCodec(0, 99), 12, "0 到 99，默认 0"),
    Column("业务办理项名称", ("document", "business_name"), TEXT, 16, "一个事项分为新办、变更等情形时填写"),
)
ELEMENT_COLUMNS = _elements(
    ("事项名称", ("name",), TEXT, 30),
    ("事项类型", ("item_type",), ChoiceCodec(ItemType), 14),
    ("事项简介", ("summary",), TEXT, 40, "", True),
    ("行使层级", ("level",), LabelsCodec(Level), 16, "可填多个，用“、”分隔"),
    ("服务对象", ("audience",), LabelsCodec(Audience), 12, "自然人、法人，可填多个，用“、”分隔"),
    ("办件类型", ("case_type",), ChoiceCodec(CaseType), 10),
    ("受理条件", ("conditions",), LINES, 40, "每行一条", True),
    ("法定办结时限", ("legal_limit", "value"), IntCodec(0, 3650), 12, "整数"),
    ("法定办结时限单位", ("legal_limit", "unit"), ChoiceCodec(LimitUnit), 12),
    ("法定办结时限说明", ("legal_limit", "note"), TEXT, 16),
    ("承诺办结时限", ("promised_limit", "value"), IntCodec(0, 3650), 12, "整数，不得超过法定办结时限"),
    ("承诺办结时限单位", ("promised_limit", "unit"), ChoiceCodec(LimitUnit), 12),
    ("承诺办结时限说明", ("promised_limit", "note"), TEXT, 16),
    ("是否收费", ("charged",), BOOL, 10, "收费的须在「收费项目」中列出"),
    ("办理形式", ("forms",), LabelsCodec(HandlingForm), 24, "可填多个，用“、”分隔"),
    ("到现场次数", ("visits",), IntCodec(0, 10), 10, "0 到 10"),
    ("到现场原因", ("visits_reason",), TEXT, 24, "到现场次数大于 0 时必填"),
    ("是否网办", ("online",), BOOL, 10),
    ("网上办理深度", ("online_depth",), DepthCodec(), 16),
    ("网办地址", ("online_url",), TEXT, 30),
    ("支持预约", ("booking",), BOOL, 10),
    ("支持快递", ("delivery",), BOOL, 10),
    ("支持网上支付", ("online_payment",), BOOL, 12),
    ("审批结果名称", ("result", "name"), TEXT, 20, "无审批结果时，审批结果各列均不填"),
    ("审批结果类型", ("result", "type"), ChoiceCodec(ResultType), 12),
    ("审批结果样本", ("result", "sample"), TEXT, 20),
    ("审批结果证照类型", ("result", "licence_type"), TEXT, 20, "电子证照类型代码或名称"),
    ("中介服务", ("intermediary",), TEXT, 24, "", True),
    ("委托部门", ("entrusted_by",), TEXT, 20),
    ("联办机构", ("joint_bodies",), LINES, 24, "每行一个", True),
    ("咨询方式", ("consult",), TEXT, 24),
    ("监督投诉方式", ("complaint",), TEXT, 24),
    ("主题分类", ("themes",), LINES, 16, "每行一个", True),
    ("关键词", ("keywords",), LINES, 20, "每行一个", True),
)
ADJUST_COLUMN = Column(
    "地方可调整要素",
    ("document", "adjust"),
    AdjustCodec(),
    30,
    "仅基本目录事项填写，每行一条“要素名称：规则”；未写的要素按系统默认规则",
    True,
)
MAIN_COLUMNS = (*ENTRY_COLUMNS, *ELEMENT_COLUMNS, ADJUST_COLUMN)
IMPLEMENTATION_ONLY = tuple(c for c in ENTRY_COLUMNS if c.path[0] == "document")
BASIC_ONLY = (ADJUST_COLUMN,)

PART_SHEETS = (
    PartSheet(
        "申请材料",
        "materials",
        (
            Column("材料名称", ("name",), TEXT, 30),
            Column("必要性", ("necessity",), ChoiceCodec(Necessity), 10),
            Column("材料形式", ("form",), ChoiceCodec(MaterialForm), 12),
            Column("来源渠道", ("source",), ChoiceCodec(MaterialSource), 14),
            Column("份数", ("copies",), IntCodec(0, 99), 8, "0 到 99"),
            Column("空白表格", ("blank_form",), TEXT, 20),
            Column("示例样表", ("sample",), TEXT, 20),
            Column("受理标准", ("standard",), TEXT, 30, "", True),
            Column("材料依据", ("basis",), TEXT, 24),
            Column("容缺受理", ("deferrable",), BOOL, 10, "可先受理、后补交的填“是”"),
            Column("可替代的电子证照", ("licence_type",), TEXT, 20, "电子证照类型代码或名称，可免提交"),
            Column(
                "共享数据来源",
                ("registry", "registry"),
                ChoiceCodec(Registry),
                12,
                "由基础库共享、可免提交时填写",
            ),
            Column("共享数据字段", ("registry", "fields"), TokensCodec(), 24, "基础库的字段标识，用“、”分隔"),
        ),
    ),
    PartSheet(
        "收费项目",
        "fees",
        (
            Column("收费项目名称", ("name",), TEXT, 24),
            Column("收费标准", ("standard",), TEXT, 24),
            Column("收费依据", ("basis",), TEXT, 30),
            Column("是否允许减免", ("reducible",), BOOL, 12),
        ),
    ),
    PartSheet(
        "办理流程",
        "process",
        (Column("环节名称", ("name",), TEXT, 16), Column("环节说明", ("description",), TEXT, 50, "", True)),
    ),
    PartSheet(
        "办理地点",
        "places",
        (
            Column("地点名称", ("name",), TEXT, 24),
            Column("地址", ("address",), TEXT, 36),
            Column("办理时间", ("hours",), TEXT, 30),
            Column("联系电话", ("phone",), TEXT, 18),
        ),
    ),
    PartSheet(
        "常见问题",
        "faq",
        (Column("问题", ("question",), TEXT, 36, "", False), Column("解答", ("answer",), TEXT, 60, "", True)),
    ),
    PartSheet(
        "设定依据",
        "basis",
        (
            Column("法律法规名称", ("name",), TEXT, 36),
            Column("条款内容", ("article",), TEXT, 60, "", True),
        ),
    ),
    PartSheet(
        "申请表字段",
        "fields",
        (
            Column("字段标识", ("key",), TEXT, 16, "小写字母开头的字母、数字或下划线"),
            Column("字段名称", ("label",), TEXT, 16),
            Column("字段类型", ("type",), ChoiceCodec(FieldType), 14),
            Column("是否必填", ("required",), BOOL, 10),
            Column("预填来源", ("prefill",), TEXT, 24, "如 account.name、population.address"),
            Column("选项", ("choices",), LINES, 20, "选项类型的字段每行一个选项", True),
        ),
    ),
)
PART_BY_ELEMENT = {spec.element: spec for spec in PART_SHEETS}
KEY_COLUMN = Column(KEY_HEADER, ("@entry",), CODE, 58, "所属事项的实施编码（基本目录事项为基本编码）")


# --- where a domain error sits ---------------------------------------------------------------------------
@dataclass(frozen=True)
class Place:
    """Where a domain error points: a part (its sheet and index among its entry's parts) or the main row."""

    part: PartSheet | None
    index: int
    header: str


def locate(location: Location) -> Place:
    """The column a pydantic error location (relative to the entry's record) belongs to."""
    names = [p for p in location if isinstance(p, str)]
    if names in (["document"], ["document", "elements"]):
        return Place(None, 0, "")  # a rule between elements, or the whole document: the entry's row
    if len(location) == 3 and location[:2] == ("document", "elements") and location[2] in PART_BY_ELEMENT:
        return Place(None, 0, PART_BY_ELEMENT[str(location[2])].title)  # the list as a whole, e.g. too long
    if len(location) > 3 and location[:2] == ("document", "elements") and location[2] in PART_BY_ELEMENT:
        spec = PART_BY_ELEMENT[str(location[2])]
        index = location[3] if isinstance(location[3], int) else 0
        return Place(spec, index, _header(spec.columns, tuple(names[3:])))
    return Place(None, 0, _header(MAIN_COLUMNS, tuple(names)))


def _header(columns: Iterable[Column], path: Path) -> str:
    """The column at ``path``; else the first under it (a missing object); else the one above it (an
    entry of a list, or an object's own rule)."""
    if not path:
        return ""
    columns = tuple(columns)
    exact = [c for c in columns if c.path == path]
    below = [c for c in columns if c.path[: len(path)] == path]
    above = [c for c in columns if path[: len(c.path)] == c.path]
    found = exact or below or above
    return found[0].header if found else ""


@dataclass(frozen=True)
class Issue:
    """A problem of one entry before it is placed in a sheet or an entry of a JSON file."""

    location: Location
    code: str
    message: str


def entry_issues(
    kind: RecordKind, code: str, basic_code: str, organisation: str, division_code: str, document: Any
) -> tuple[str, list[Issue]]:
    """What is wrong with the fields that identify an entry, and its code: as stated, else (for an
    implementation entry) made from the basic code, division, body and handling numbers."""
    issues: list[Issue] = []
    try:
        basic_code = check_basic_code(basic_code)
    except ValidationFailed as exc:
        issues.append(Issue(("basic_code",), exc.error_code, exc.message))
    if not organisation.strip():
        issues.append(Issue(("organisation",), "item_organisation_required", "须填写实施主体"))
    if division_code and not DIVISION_CODE.match(division_code):
        issues.append(Issue(("division_code",), "item_division_invalid", "区划代码应为 6 位数字"))
    if kind is RecordKind.BASIC:
        if code and code != basic_code:
            issues.append(
                Issue(("code",), "item_code_mismatch", "基本目录事项的编码就是基本编码，不填实施编码")
            )
        return basic_code, issues
    if not division_code:
        issues.append(Issue(("division_code",), "item_division_invalid", "实施清单事项须填写区划代码"))
    derived = _derived_code(basic_code, division_code, document, issues)
    if code and derived and code != derived:
        issues.append(
            Issue(
                ("code",),
                "item_code_mismatch",
                f"与基本编码、区划代码、统一社会信用代码和办理项编号不一致，应为 {derived}",
            )
        )
    return code or derived, issues


def _derived_code(basic_code: str, division_code: str, document: Any, issues: list[Issue]) -> str:
    """The implementation code the entry's parts make, or blank when a part is wrong (issues say which)."""
    fields = document if isinstance(document, dict) else {}
    wrong = any(i.location in (("basic_code",), ("division_code",)) for i in issues)
    try:
        body = check_body_code(str(fields.get("body_code", "")))
    except ValidationFailed as exc:
        issues.append(Issue(("document", "body_code"), exc.error_code, exc.message))
        return ""
    handling, business = fields.get("handling_no", 1), fields.get("business_no", 0)
    if wrong or type(handling) is not int or type(business) is not int:
        return ""
    if not (1 <= handling <= 9 and 0 <= business <= 99):
        return ""  # the document's own validation names the number that is out of range
    return str(ImplementationCode(basic_code, division_code, body, handling, business))


def document_issues(kind: RecordKind, document: Any) -> list[Issue]:
    """What the domain finds wrong with a document, each at its element (locations start at the record)."""
    try:
        DOCUMENTS[kind].model_validate(document)
    except ValidationError as exc:
        return _issues(("document",), exc)
    except ValidationFailed as exc:
        # The body's code is checked with the kernel's identifier rules, whose error stops pydantic there:
        # the elements are then checked on their own so that their problems are reported too.
        issues = [Issue(("document", "body_code"), exc.error_code, exc.message)]
        try:
            Elements.model_validate(document.get("elements") if isinstance(document, dict) else None)
        except ValidationError as inner:
            issues += _issues(("document", "elements"), inner)
        return issues
    return []


def _issues(prefix: Location, exc: ValidationError) -> list[Issue]:
    return [Issue((*prefix, *e["loc"]), "item_elements_invalid", reason(e)) for e in exc.errors()]


# --- writing ---------------------------------------------------------------------------------------------
_WRAP = Alignment(wrap_text=True, vertical="top")
_BOLD = Font(bold=True)


def write_workbook(entries: Iterable[Exportable]) -> bytes:
    book = Workbook()
    guide = book.active
    assert guide is not None
    guide.title = GUIDE_TITLE
    _write_guide(guide)
    main = _start_sheet(book, MAIN_TITLE, MAIN_COLUMNS)
    parts = {
        spec.element: _start_sheet(book, spec.title, (KEY_COLUMN, *spec.columns)) for spec in PART_SHEETS
    }
    rows = {MAIN_TITLE: 1, **{spec.title: 1 for spec in PART_SHEETS}}
    for item in entries:
        kind, document = _typed(item)
        basic_code, organisation, division_code = _identity(item)
        record = {
            "kind": kind,
            "code": item.code if kind is RecordKind.IMPLEMENTATION else "",
            "basic_code": basic_code,
            "organisation": organisation,
            "division_code": division_code,
            "document": document,
        }
        rows[MAIN_TITLE] += 1
        _put_row(main, rows[MAIN_TITLE], MAIN_COLUMNS, record)
        for spec in PART_SHEETS:
            for part in getattr(document.elements, spec.element):
                rows[spec.title] += 1
                record = {"@entry": item.code, **dict(part)}
                _put_row(parts[spec.element], rows[spec.title], (KEY_COLUMN, *spec.columns), record)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _start_sheet(book: Book, title: str, columns: tuple[Column, ...]) -> Worksheet:
    sheet = book.create_sheet(title)
    sheet.append([c.header for c in columns])
    for cell in sheet[1]:
        cell.font = _BOLD
    # Part sheets keep their entry's code in view while the clerk scrolls right.
    sheet.freeze_panes = "A2" if title == MAIN_TITLE else "B2"
    for number, column in enumerate(columns, start=1):
        letter = get_column_letter(number)
        sheet.column_dimensions[letter].width = column.width
        if isinstance(column.codec, CodeCodec):
            # Typed codes stay text: Excel would turn 14 digits into a rounded number.
            sheet.column_dimensions[letter].number_format = "@"
        if column.codec.choices:
            listed = DataValidation(
                type="list",
                formula1='"' + ",".join(column.codec.choices) + '"',
                allow_blank=True,
                showErrorMessage=True,
                errorTitle="取值无效",
                error="请从下拉列表中选择：" + "、".join(column.codec.choices),
            )
            listed.add(f"{letter}2:{letter}{MAX_ROWS + 1}")
            sheet.add_data_validation(listed)
    return sheet


def _put_row(sheet: Worksheet, row: int, columns: tuple[Column, ...], record: Any) -> None:
    for number, column in enumerate(columns, start=1):
        value = _get(record, column.path)
        cell = sheet.cell(
            row=row, column=number, value=_clean(column.codec.write(value)) if value is not None else None
        )
        if isinstance(cell.value, str):
            # A value beginning with = is the clerk's text, never a formula to run.
            cell.data_type = "s"
        if column.wrap:
            cell.alignment = _WRAP


def _get(record: Any, path: Path) -> Any:
    for key in path:
        if record is None:
            return None
        record = record.get(key) if isinstance(record, dict) else getattr(record, key, None)
    return record


def _clean(value: Any) -> Any:
    # A workbook stores line breaks as LF and cannot hold other control characters at all.
    if isinstance(value, str):
        return ILLEGAL_CHARACTERS_RE.sub("", value.replace("\r\n", "\n").replace("\r", "\n"))
    return value


def _write_guide(sheet: Worksheet) -> None:
    sheet.column_dimensions["A"].width = 18
    sheet.column_dimensions["B"].width = 26
    sheet.column_dimensions["C"].width = 90
    lines = [
        "政务服务事项清单导入导出模板",
        "一、「事项清单」每行一个事项；「申请材料」「收费项目」「办理流程」「办理地点」「常见问题」「设定依据」"
        "「申请表字段」每行一条，第一列“事项编码”填所属事项的实施编码（基本目录事项填基本编码），"
        "同一事项的多行按办理时的先后顺序排列。",
        "二、实施清单事项的实施编码可以留空，导入时由基本编码、区划代码、实施主体统一社会信用代码、办理项编号"
        "和业务办理项编号生成；各分表的“事项编码”须与之一致。",
        "三、带下拉列表的列请从列表中选择；行使层级、服务对象、办理形式可填多个，用“、”分隔；受理条件、联办机构、"
        "主题分类、关键词、选项每行一条（单元格内按 Alt+Enter 换行）。",
        "四、“是否”类的列填“是”或“否”；时限、份数、次数填整数。未用到的分表可以没有行，请勿改动第一行的列名。",
        f"五、导入时逐行检查，所有问题一次列出（工作表、行号、列名和原因），有问题的事项不导入。"
        f"每个工作表最多 {MAX_ROWS} 行，文件不超过 {MAX_BYTES // 1024 // 1024} MB。",
        "",
    ]
    for line in lines:
        sheet.append([line])
        sheet.merge_cells(start_row=sheet.max_row, start_column=1, end_row=sheet.max_row, end_column=3)
        sheet.cell(row=sheet.max_row, column=1).alignment = _WRAP
        # Excel does not grow merged rows to fit their text; about 60 Chinese characters fill a line.
        sheet.row_dimensions[sheet.max_row].height = 18 * max(1, -(-len(line) // 60))
    sheet.cell(row=1, column=1).font = Font(bold=True, size=14)
    sheet.append(["工作表", "列名", "填写说明"])
    for cell in sheet[sheet.max_row]:
        cell.font = _BOLD
    sheets = [(MAIN_TITLE, MAIN_COLUMNS)] + [(s.title, (KEY_COLUMN, *s.columns)) for s in PART_SHEETS]
    for title, columns in sheets:
        for column in columns:
            options = "可选：" + "、".join(column.codec.choices) if column.codec.choices else ""
            sheet.append([title, column.header, "；".join(t for t in (column.note, options) if t)])
            sheet.cell(row=sheet.max_row, column=3).alignment = _WRAP


# --- reading ---------------------------------------------------------------------------------------------
def open_workbook(content: bytes) -> Book:
    """The workbook, after checking that it is one and that it is small enough to open."""
    if len(content) > MAX_BYTES:
        raise ValidationFailed(
            f"文件超过 {MAX_BYTES // 1024 // 1024} MB，请分批导入", code="item_sheet_too_large"
        )
    try:
        with zipfile.ZipFile(io.BytesIO(content)) as archive:
            members = archive.infolist()
        if len(members) > MAX_MEMBERS or sum(m.file_size for m in members) > MAX_UNPACKED_BYTES:
            raise ValidationFailed("工作簿解压后过大，请分批导入", code="item_sheet_too_large")
        return load_workbook(io.BytesIO(content), read_only=True, data_only=True)
    except (
        InvalidFileException,
        zipfile.BadZipFile,
        zlib.error,
        KeyError,
        OSError,
        ValueError,
        EOFError,
    ) as exc:
        raise ValidationFailed("文件不是有效的 Excel（.xlsx）工作簿", code="item_sheet_unreadable") from exc


def read_workbook(content: bytes) -> SheetReading:
    book = open_workbook(content)
    try:
        return _Reader(book).read()
    finally:
        book.close()


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return YES if value else NO
    if isinstance(value, datetime):
        return value.date().isoformat() if value.time() == datetime.min.time() else value.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def _put(target: dict[str, Any], path: Path, value: Any) -> None:
    for key in path[:-1]:
        target = target.setdefault(key, {})
    target[path[-1]] = value


@dataclass
class _Draft:
    """An entry being read: its main row, record, its parts' rows and whether anything was wrong."""

    row: int
    record: dict[str, Any]
    part_rows: dict[str, list[int]] = field(default_factory=dict)
    failed: bool = False


@dataclass
class _Row:
    number: int
    cells: dict[str, str]


class _Reader:
    def __init__(self, book: Book) -> None:
        self.sheets = {sheet.title.strip(): sheet for sheet in book.worksheets}
        self.problems: list[Problem] = []
        self.reported: set[tuple[str, int, str]] = set()
        self.drafts: dict[str, _Draft] = {}
        # A sheet that cannot be read as a whole leaves every entry possibly incomplete.
        self.broken = False

    def read(self) -> SheetReading:
        if MAIN_TITLE not in self.sheets:
            self._problem("", 0, "", "item_sheet_missing", f"缺少工作表「{MAIN_TITLE}」")
            return SheetReading(problems=self.problems)
        for row in self._rows(MAIN_TITLE, MAIN_COLUMNS):
            self._main_row(row)
        for spec in PART_SHEETS:
            if spec.title in self.sheets:
                for row in self._rows(spec.title, (KEY_COLUMN, *spec.columns)):
                    self._part_row(spec, row)
        entries = [entry for entry in map(self._finish, self.drafts.values()) if entry is not None]
        order = [MAIN_TITLE, *(spec.title for spec in PART_SHEETS)]
        self.problems.sort(key=lambda p: (order.index(p.sheet) if p.sheet in order else -1, p.row))
        return SheetReading([] if self.broken else entries, self.problems)

    def _problem(self, sheet: str, row: int, column: str, code: str, message: str) -> None:
        self.problems.append(Problem(sheet, row, column, code, message))
        self.reported.add((sheet, row, column))

    def _rows(self, title: str, columns: tuple[Column, ...]) -> Iterator[_Row]:
        rows = self.sheets[title].iter_rows(values_only=True, max_col=MAX_COLUMNS)
        header = [_text(v) for v in next(rows, ())]
        positions = {text: index for index, text in enumerate(header) if text}
        missing = [c.header for c in columns if c.header not in positions]
        if missing:
            self._problem(title, 1, "", "item_sheet_columns_missing", "缺少列：" + "、".join(missing))
            self.broken = True
            return
        for number, raw in enumerate(rows, start=2):
            if number > MAX_ROWS + 1:
                self._problem(title, number, "", "item_sheet_too_many_rows", f"每个工作表最多 {MAX_ROWS} 行")
                self.broken = True
                return
            cells = {
                c.header: _text(raw[positions[c.header]]) if positions[c.header] < len(raw) else ""
                for c in columns
            }
            if any(cells.values()):
                yield _Row(number, cells)

    def _decode(self, title: str, row: _Row, columns: Iterable[Column]) -> tuple[dict[str, Any], bool]:
        """The row's record, leaving out (and reporting) every cell that cannot be read."""
        record: dict[str, Any] = {}
        ok = True
        for column in columns:
            text = row.cells[column.header]
            if not text:
                continue
            try:
                _put(record, column.path, column.codec.read(text))
            except CellError as exc:
                self._problem(title, row.number, column.header, "item_value_invalid", str(exc))
                ok = False
        return record, ok

    def _main_row(self, row: _Row) -> None:
        record, ok = self._decode(MAIN_TITLE, row, MAIN_COLUMNS)
        document = record.setdefault("document", {})
        document.setdefault("elements", {})
        kind = record.get("kind") or (
            RecordKind.IMPLEMENTATION if record.get("code") or "body_code" in document else RecordKind.BASIC
        )
        record["kind"] = kind
        misplaced = BASIC_ONLY if kind is RecordKind.IMPLEMENTATION else IMPLEMENTATION_ONLY
        for column in misplaced:
            if row.cells[column.header]:
                message = f"{kind.label}不填此列"
                self._problem(MAIN_TITLE, row.number, column.header, "item_value_misplaced", message)
                ok = False
        code, issues = entry_issues(
            kind,
            record.get("code", ""),
            record.get("basic_code", ""),
            record.get("organisation", ""),
            record.get("division_code", ""),
            document,
        )
        for issue in issues:
            self._problem(MAIN_TITLE, row.number, locate(issue.location).header, issue.code, issue.message)
        record["code"] = code
        if code in self.drafts:
            first = self.drafts[code].row
            header = "实施编码" if kind is RecordKind.IMPLEMENTATION else "基本编码"
            self._problem(MAIN_TITLE, row.number, header, "item_code_duplicate", f"与第 {first} 行的事项重复")
            # Parts name their entry by code, so neither of the two can be told its own.
            self.drafts[code].failed = True
            return
        self.drafts[code] = _Draft(row.number, record, failed=not ok or bool(issues))

    def _part_row(self, spec: PartSheet, row: _Row) -> None:
        code = row.cells[KEY_HEADER].upper()
        draft = self.drafts.get(code)
        if draft is None:
            message = f"「{MAIN_TITLE}」中没有事项“{code}”"
            self._problem(spec.title, row.number, KEY_HEADER, "item_part_orphan", message)
            return
        part, ok = self._decode(spec.title, row, spec.columns)
        draft.record["document"]["elements"].setdefault(spec.element, []).append(part)
        draft.part_rows.setdefault(spec.element, []).append(row.number)
        draft.failed = draft.failed or not ok

    def _finish(self, draft: _Draft) -> ItemEntry | None:
        record = draft.record
        # A cell already reported was left out of the record; the domain would only repeat it as missing.
        for issue in document_issues(record["kind"], record["document"]):
            place = locate(issue.location)
            sheet, row = MAIN_TITLE, draft.row
            if place.part is not None:
                sheet, row = place.part.title, draft.part_rows[place.part.element][place.index]
            if (sheet, row, place.header) not in self.reported:
                self._problem(sheet, row, place.header, issue.code, issue.message)
            draft.failed = True
        if draft.failed:
            return None
        return ItemEntry(
            record["kind"],
            record["code"],
            record["basic_code"],
            record["organisation"],
            record.get("division_code", ""),
            record["document"],
        )
