"""Service items through Excel: a workbook a clerk recognises and can fill, a round trip that loses nothing,
and every mistake of a file reported with its sheet, row and column (issue #5 item 4)."""

from __future__ import annotations

import io
import zipfile
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from openpyxl import Workbook, load_workbook
from openpyxl.worksheet.worksheet import Worksheet

from wanshi.items import sheets
from wanshi.items.domain.codes import ImplementationCode
from wanshi.items.domain.documents import BasicDocument, ImplementationDocument, RecordKind, parse_document
from wanshi.items.domain.elements import (
    ELEMENT_LABELS,
    ENTERPRISE_FIELDS,
    PERSON_FIELDS,
    PREFILL_SOURCES,
    Audience,
    CaseType,
    Elements,
    FieldType,
    HandlingForm,
    ImplementerNature,
    ItemType,
    Level,
    LimitUnit,
    MaterialForm,
    MaterialSource,
    Necessity,
    Registry,
    ResultType,
    parse_elements,
)
from wanshi.items.domain.locks import Adjust
from wanshi.items.domain.views import BasicCard, ItemCard
from wanshi.items.sheets import ItemEntry, Problem, read_workbook, write_workbook
from wanshi.kernel.errors import ValidationFailed
from wanshi.kernel.identifiers.credit_code import generate_credit_code

FOOD = "340A0101000000"
HEFEI_BODY = generate_credit_code("1", "1", "340100", "00000051")
YAOHAI_BODY = generate_credit_code("1", "1", "340102", "00000078")

FULL_ELEMENTS: dict[str, Any] = {
    "name": "食品经营许可证核发",
    "item_type": "行政许可",
    "summary": "从事食品销售和餐饮服务活动，应当依法取得食品经营许可。\n仅销售预包装食品的，备案即可。",
    "basis": [
        {"name": "《中华人民共和国食品安全法》", "article": "第三十五条　国家对食品生产经营实行许可制度。"},
        {"name": "《食品经营许可和备案管理办法》", "article": ""},
    ],
    "level": ["市级", "县级"],
    "audience": ["法人", "自然人"],
    "case_type": "承诺件",
    "conditions": [
        "具有与经营的食品品种、数量相适应的经营场所，并与有毒、有害场所保持规定的距离",
        "有食品安全管理人员和管理制度",
        "=具有合理的设备布局和工艺流程",
    ],
    "legal_limit": {"value": 20, "unit": "工作日", "note": "不含现场核查时间"},
    "promised_limit": {"value": 10, "unit": "工作日"},
    "charged": True,
    "fees": [{"name": "证书工本费", "standard": "10元/件", "basis": "皖价费〔2019〕1号", "reducible": True}],
    "process": [
        {"name": "申请", "description": "申请人通过皖事通办或窗口提交申请。"},
        {"name": "受理", "description": ""},
        {"name": "审查", "description": "审查材料，必要时现场核查。\n核查不超过 5 个工作日。"},
        {"name": "决定", "description": "作出准予或不予许可的决定。"},
    ],
    "forms": ["窗口办理", "网上办理", "快递申请"],
    "visits": 1,
    "visits_reason": "现场核查经营场所",
    "online": True,
    "online_depth": 3,
    "online_url": "https://www.ahzwfw.gov.cn/item/340A0101000000",
    "booking": True,
    "delivery": True,
    "online_payment": True,
    "result": {
        "name": "食品经营许可证",
        "type": "证照",
        "sample": "许可证样本.pdf",
        "licence_type": "食品经营许可证",
    },
    "intermediary": "",
    "entrusted_by": "安徽省市场监督管理局",
    "joint_bodies": ["合肥市卫生健康委员会", "合肥市消防救援支队，负责消防检查"],
    "places": [
        {
            "name": "合肥市政务服务中心",
            "address": "合肥市怀宁路 1806 号",
            "hours": "工作日 9:00-12:00，13:00-17:00",
            "phone": "0551-12345678",
        },
        {"name": "滨湖分中心", "address": "合肥市庐州大道 1号", "hours": "", "phone": ""},
    ],
    "consult": "0551-12345",
    "complaint": "12345 政务服务便民热线",
    "faq": [{"question": "个体工商户需要办理吗？", "answer": "需要。\n仅销售预包装食品的办理备案。"}],
    "materials": [
        {
            "name": "食品经营许可申请书",
            "necessity": "必要",
            "form": "电子",
            "copies": 1,
            "blank_form": "申请书.docx",
        },
        {
            "name": "营业执照",
            "necessity": "情形必要",
            "form": "纸质或电子",
            "source": "政府部门核发",
            "copies": 0,
            "licence_type": "营业执照",
            "registry": {"registry": "法人库", "fields": ["name", "legal_rep_name"]},
            "deferrable": True,
        },
        {
            "name": "食品安全管理制度文本",
            "source": "申请人自备",
            "copies": 2,
            "sample": "示例.pdf",
            "standard": "加盖公章\n内容完整",
            "basis": "《食品经营许可和备案管理办法》第十二条",
        },
    ],
    "fields": [
        {"key": "enterprise_name", "label": "经营者名称", "prefill": "legal_person.name"},
        {"key": "address", "label": "经营场所", "type": "地址", "prefill": "legal_person.address"},
        {
            "key": "category",
            "label": "经营项目",
            "type": "选项",
            "choices": ["预包装食品销售", "热食类食品制售"],
        },
        {"key": "area", "label": "经营面积", "type": "数字", "required": False},
    ],
    "themes": ["准营准办", "市场监管"],
    "keywords": ["餐饮许可", "开饭店", "卖吃的"],
}
LEAN_ELEMENTS: dict[str, Any] = {
    "name": "出生医学证明补发",
    "item_type": "公共服务",
    "audience": ["自然人"],
    "case_type": "即办件",
    "legal_limit": {"value": 1, "unit": "自然日"},
    "promised_limit": {"value": 0, "unit": "自然日"},
    "visits": 0,
}


def implementation(
    elements: dict[str, Any], body: str = HEFEI_BODY, division: str = "340100", **more: Any
) -> ItemCard:
    document = ImplementationDocument(elements=parse_elements(elements), body_code=body, **more)
    code = ImplementationCode(FOOD, division, body, document.handling_no, document.business_no)
    return ItemCard(str(code), FOOD, 1, 1, "合肥市市场监督管理局", division, "合肥市", document, None)


def basic(elements: dict[str, Any], code: str = FOOD, adjust: dict[str, str] | None = None) -> BasicCard:
    document = BasicDocument(elements=parse_elements(elements), adjust=adjust or {})
    return BasicCard(code, 1, 1, "安徽省市场监督管理局", document, None)


def assert_same(read: list[ItemEntry], cards: list[ItemCard | BasicCard]) -> None:
    assert [(e.kind, e.code) for e in read] == [(sheets.entry_of(c).kind, c.code) for c in cards]
    for entry, card in zip(read, cards, strict=True):
        expected = sheets.entry_of(card)
        assert (entry.basic_code, entry.organisation_name, entry.division_code) == (
            expected.basic_code,
            expected.organisation_name,
            expected.division_code,
        )
        assert parse_document(entry.kind, entry.document) == card.document


def round_trip(cards: list[ItemCard | BasicCard]) -> list[ItemEntry]:
    reading = read_workbook(write_workbook(cards))
    assert reading.problems == []
    return reading.entries


# --- the round trip ------------------------------------------------------------------------------------
def test_every_element_and_part_comes_back_in_order() -> None:
    cards: list[ItemCard | BasicCard] = [
        basic(FULL_ELEMENTS, adjust={"visits": "locked", "materials": "free"}),
        implementation(
            FULL_ELEMENTS, body_nature="受委托组织", handling_no=2, business_no=3, business_name="变更"
        ),
        implementation(LEAN_ELEMENTS, body=YAOHAI_BODY, division="340102"),
    ]
    assert_same(round_trip(cards), cards)


def test_the_read_document_is_the_written_one_field_by_field() -> None:
    card = implementation(FULL_ELEMENTS)
    [entry] = round_trip([card])
    elements = parse_document(entry.kind, entry.document).elements  # type: ignore[attr-defined]
    assert elements.conditions[2] == "=具有合理的设备布局和工艺流程"
    assert [m.name for m in elements.materials] == ["食品经营许可申请书", "营业执照", "食品安全管理制度文本"]
    assert elements.materials[1].registry.fields == ("name", "legal_rep_name")
    assert elements.process[2].description == "审查材料，必要时现场核查。\n核查不超过 5 个工作日。"
    assert elements.fields[2].choices == ("预包装食品销售", "热食类食品制售")
    assert elements.joint_bodies[1] == "合肥市消防救援支队，负责消防检查"


def test_empty_optional_elements_stay_empty() -> None:
    [entry] = round_trip([implementation(LEAN_ELEMENTS)])
    elements: Elements = parse_document(entry.kind, entry.document).elements  # type: ignore[attr-defined]
    assert elements.result is None
    assert (elements.materials, elements.fees, elements.faq) == ((), (), ())
    assert elements.level == ()
    assert elements.summary == ""
    assert elements.promised_limit.value == 0


def test_carriage_returns_from_web_forms_come_back_as_line_feeds() -> None:
    card = implementation({**LEAN_ELEMENTS, "summary": "第一段\r\n第二段"})
    [entry] = read_workbook(write_workbook([card])).entries
    assert entry.document["elements"]["summary"] == "第一段\n第二段"


# Generated entries: every element and part drawn, with the rules between elements kept.
_CHARS = st.characters(codec="utf-8", categories=("L", "N", "P", "S", "Zs"))
_CHINESE = st.sampled_from("政务服务事项办理材料许可证明（）、，。；：“”《》〔〕—…·")


def texts(min_size: int = 0, max_size: int = 12, lines: bool = False) -> st.SearchStrategy[str]:
    alphabet = st.one_of(_CHARS, _CHINESE, st.just("\n")) if lines else st.one_of(_CHARS, _CHINESE)
    return st.text(alphabet, max_size=max_size).map(str.strip).filter(lambda t: len(t) >= min_size)


def enums(kind: Any, unique: bool = True, min_size: int = 0) -> st.SearchStrategy[list[Any]]:
    return st.lists(st.sampled_from(list(kind)), min_size=min_size, max_size=len(kind), unique=unique)


@st.composite
def registries(draw: st.DrawFn) -> dict[str, Any]:
    registry = draw(st.sampled_from(list(Registry)))
    offered = PERSON_FIELDS if registry is Registry.POPULATION else ENTERPRISE_FIELDS
    return {
        "registry": registry.label,
        "fields": draw(st.lists(st.sampled_from(offered), min_size=1, max_size=4)),
    }


materials = st.fixed_dictionaries(
    {
        "name": texts(1),
        "necessity": st.sampled_from(list(Necessity)),
        "form": st.sampled_from(list(MaterialForm)),
        "source": st.sampled_from(list(MaterialSource)),
        "copies": st.integers(0, 99),
        "blank_form": texts(),
        "sample": texts(),
        "standard": texts(lines=True, max_size=30),
        "basis": texts(),
        "deferrable": st.booleans(),
        "licence_type": texts(),
        "registry": st.none() | registries(),
    }
)
fees = st.fixed_dictionaries(
    {"name": texts(1), "standard": texts(1), "basis": texts(), "reducible": st.booleans()}
)
steps = st.fixed_dictionaries({"name": texts(1), "description": texts(lines=True, max_size=30)})
places = st.fixed_dictionaries(
    {
        "name": texts(1),
        "address": texts(1),
        "hours": texts(),
        "phone": st.sampled_from(["", "0551-12345678", "+86 551 6288 0000（总机）"]),
    }
)
questions = st.fixed_dictionaries({"question": texts(1), "answer": texts(1, 30, lines=True)})
bases = st.fixed_dictionaries({"name": texts(1), "article": texts(lines=True, max_size=30)})
words = st.lists(texts(1), max_size=4)


@st.composite
def form_fields(draw: st.DrawFn) -> dict[str, Any]:
    kind = draw(st.sampled_from(list(FieldType)))
    return {
        "key": draw(st.from_regex(r"[a-z][a-z0-9_]{0,10}", fullmatch=True)),
        "label": draw(texts(1)),
        "type": kind,
        "required": draw(st.booleans()),
        "prefill": draw(st.sampled_from(["", *sorted(PREFILL_SOURCES)])),
        "choices": draw(st.lists(texts(1), min_size=1 if kind is FieldType.CHOICE else 0, max_size=3)),
    }


def _named(name: str) -> Callable[[dict[str, Any]], Any]:
    return lambda part: part[name]


@st.composite
def elements(draw: st.DrawFn) -> Elements:
    charged_fees = draw(st.lists(fees, max_size=3, unique_by=_named("name")))
    depth = draw(st.integers(0, 4))
    online = depth >= 3 or draw(st.booleans())
    forms = draw(enums(HandlingForm, min_size=1))
    if online and HandlingForm.ONLINE not in forms:
        forms.append(HandlingForm.ONLINE)
    visits = 0 if depth == 4 else draw(st.integers(0, 10))
    case_type = draw(st.sampled_from(list(CaseType)))
    legal = draw(st.integers(1, 3650))
    promised = draw(st.integers(0, 1) if case_type is CaseType.IMMEDIATE else st.integers(1, legal))
    unit = draw(st.sampled_from(list(LimitUnit)))
    data = {
        "name": draw(texts(2, 20)),
        "item_type": draw(st.sampled_from(list(ItemType))),
        "summary": draw(texts(lines=True, max_size=40)),
        "basis": draw(st.lists(bases, max_size=3)),
        "level": draw(enums(Level)),
        "audience": draw(enums(Audience, min_size=1)),
        "case_type": case_type,
        "conditions": draw(words),
        "legal_limit": {"value": legal, "unit": unit, "note": draw(texts())},
        "promised_limit": {"value": promised, "unit": unit, "note": draw(texts())},
        "charged": bool(charged_fees),
        "fees": charged_fees,
        "process": draw(st.lists(steps, max_size=4)),
        "forms": forms,
        "visits": visits,
        "visits_reason": draw(texts(1 if visits else 0)),
        "online": online,
        "online_depth": depth,
        "online_url": draw(texts()),
        "booking": draw(st.booleans()),
        "delivery": draw(st.booleans()),
        "online_payment": bool(charged_fees) and draw(st.booleans()),
        "result": draw(
            st.none()
            | st.fixed_dictionaries(
                {
                    "name": texts(1),
                    "type": st.sampled_from(list(ResultType)),
                    "sample": texts(),
                    "licence_type": texts(),
                }
            )
        ),
        "intermediary": draw(texts(lines=True)),
        "entrusted_by": draw(texts()),
        "joint_bodies": draw(words),
        "places": draw(st.lists(places, max_size=3)),
        "consult": draw(texts()),
        "complaint": draw(texts()),
        "faq": draw(st.lists(questions, max_size=3)),
        "materials": draw(st.lists(materials, max_size=4, unique_by=_named("name"))),
        "fields": draw(st.lists(form_fields(), max_size=4, unique_by=_named("key"))),
        "themes": draw(words),
        "keywords": draw(words),
    }
    return parse_elements(data)


DIVISIONS = ("340100", "340102", "340200")


@st.composite
def cards(draw: st.DrawFn) -> ItemCard | BasicCard:
    basic_code = draw(st.from_regex(r"[0-9]{3}[0-9A-Z][0-9]{10}", fullmatch=True))
    organisation = draw(texts(1, 20))
    if draw(st.booleans()):
        adjust = draw(st.dictionaries(st.sampled_from(sorted(ELEMENT_LABELS)), st.sampled_from(list(Adjust))))
        document = BasicDocument(elements=draw(elements()), adjust=adjust)
        return BasicCard(basic_code, 1, 1, organisation, document, None)
    division = draw(st.sampled_from(DIVISIONS))
    body = generate_credit_code("1", "1", division, draw(st.from_regex(r"[0-9]{8}", fullmatch=True)))
    implemented = ImplementationDocument(
        elements=draw(elements()),
        body_code=body,
        body_nature=draw(st.sampled_from(list(ImplementerNature))),
        handling_no=draw(st.integers(1, 9)),
        business_no=draw(st.integers(0, 99)),
        business_name=draw(texts()),
    )
    code = ImplementationCode(basic_code, division, body, implemented.handling_no, implemented.business_no)
    return ItemCard(str(code), basic_code, 1, 1, organisation, division, "", implemented, None)


card_lists = st.lists(cards(), min_size=1, max_size=3, unique_by=lambda c: c.code)


@settings(max_examples=40)
@given(card_lists)
def test_any_entries_come_back_exactly(generated: list[ItemCard | BasicCard]) -> None:
    assert_same(round_trip(generated), generated)


# --- what the clerk sees --------------------------------------------------------------------------------
def _book(content: bytes) -> Any:
    return load_workbook(io.BytesIO(content))


def _rows(sheet: Worksheet) -> list[dict[str, Any]]:
    values = [list(row) for row in sheet.iter_rows(values_only=True)]
    return [dict(zip(values[0], row, strict=True)) for row in values[1:]]


def test_the_workbook_speaks_chinese_with_labels_and_lines() -> None:
    book = _book(write_workbook([implementation(FULL_ELEMENTS)]))
    assert book.sheetnames == [
        "说明",
        "事项清单",
        "申请材料",
        "收费项目",
        "办理流程",
        "办理地点",
        "常见问题",
        "设定依据",
        "申请表字段",
    ]
    [row] = _rows(book["事项清单"])
    assert row["类别"] == "实施清单事项"
    assert row["事项类型"] == "行政许可"
    assert row["服务对象"] == "法人、自然人"
    assert row["是否收费"] == "是"
    assert row["支持预约"] == "是"
    assert row["网上办理深度"] == "Ⅲ级 在线预审"
    assert row["法定办结时限"] == 20
    assert row["法定办结时限单位"] == "工作日"
    assert row["受理条件"].split("\n") == FULL_ELEMENTS["conditions"]
    assert row["实施主体统一社会信用代码"] == HEFEI_BODY
    materials = _rows(book["申请材料"])
    assert [m["材料名称"] for m in materials] == ["食品经营许可申请书", "营业执照", "食品安全管理制度文本"]
    assert materials[1]["事项编码"] == row["实施编码"]
    assert materials[1]["必要性"] == "情形必要"
    assert materials[1]["容缺受理"] == "是"
    assert materials[1]["共享数据来源"] == "法人库"


def test_text_that_looks_like_a_formula_is_stored_as_text() -> None:
    sheet = _book(write_workbook([implementation(FULL_ELEMENTS)]))["事项清单"]
    header = [c.value for c in sheet[1]]
    cell = sheet.cell(row=2, column=header.index("受理条件") + 1)
    assert cell.data_type == "s"


def test_headers_are_frozen_and_enumerations_offer_lists() -> None:
    book = _book(write_workbook([]))
    main = book["事项清单"]
    assert main.freeze_panes == "A2"
    assert book["申请材料"].freeze_panes == "B2"
    header = [c.value for c in main[1]]
    letter = main.cell(row=1, column=header.index("事项类型") + 1).column_letter
    lists = {str(v.sqref).split(":")[0]: v.formula1 for v in main.data_validations.dataValidation}
    assert "行政许可" in lists[f"{letter}2"]
    assert "公共服务" in lists[f"{letter}2"]
    assert lists[f"{main.cell(row=1, column=header.index('是否网办') + 1).column_letter}2"] == '"是,否"'
    assert main.column_dimensions["B"].number_format == "@"  # 基本编码 stays text
    assert main.column_dimensions["K"].width >= 20  # 事项名称
    guide = "\n".join(str(c) for row in book["说明"].iter_rows(values_only=True) for c in row if c)
    assert "Alt+Enter" in guide
    assert "申请表字段" in guide
    assert "行政许可" in guide


# --- a workbook a clerk filled --------------------------------------------------------------------------
def _template() -> Any:
    return _book(write_workbook([]))


def _fill(book: Any, title: str, values: dict[str, Any]) -> int:
    sheet = book[title]
    header = [c.value for c in sheet[1]]
    unknown = set(values) - set(header)
    assert not unknown, unknown
    sheet.append([values.get(h) for h in header])
    return int(sheet.max_row)


def _save(book: Any) -> bytes:
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


CLERK_ROW: dict[str, Any] = {
    "基本编码": FOOD,
    "实施主体": "合肥市市场监督管理局",
    "区划代码": 340100,  # typed as a number
    "实施主体统一社会信用代码": HEFEI_BODY.lower(),
    "事项名称": "食品经营许可证核发",
    "事项类型": "行政许可",
    "服务对象": "法人，自然人",
    "受理条件": "有经营场所\n\n有管理制度\n",
    "法定办结时限": 20,
    "承诺办结时限": 10.0,
    "到现场次数": 1,
    "到现场原因": "现场核查",
}


def test_a_clerks_row_is_read_with_the_code_made_for_it() -> None:
    book = _template()
    _fill(book, "事项清单", CLERK_ROW)
    code = str(ImplementationCode(FOOD, "340100", HEFEI_BODY))
    _fill(book, "申请材料", {"事项编码": code.lower(), "材料名称": "营业执照", "材料形式": "electronic"})
    _fill(book, "申请材料", {"事项编码": code, "材料名称": "申请书"})
    reading = read_workbook(_save(book))
    assert reading.problems == []
    [entry] = reading.entries
    assert (entry.kind, entry.code, entry.division_code) == (RecordKind.IMPLEMENTATION, code, "340100")
    document = parse_document(entry.kind, entry.document)
    assert isinstance(document, ImplementationDocument)
    assert document.elements.audience == (Audience.ENTERPRISE, Audience.PERSON)
    assert document.elements.conditions == ("有经营场所", "有管理制度")
    assert document.elements.case_type is CaseType.PROMISED  # the domain's default for a blank cell
    assert [m.name for m in document.elements.materials] == ["营业执照", "申请书"]
    assert document.elements.materials[0].form is MaterialForm.ELECTRONIC


def test_a_basic_entry_needs_no_body_and_keeps_its_adjustment_rules() -> None:
    book = _template()
    row = {k: v for k, v in CLERK_ROW.items() if k not in ("区划代码", "实施主体统一社会信用代码")}
    _fill(book, "事项清单", {**row, "地方可调整要素": "到办事现场次数：锁定（与省级一致）\n申请材料:free"})
    [entry] = read_workbook(_save(book)).entries
    document = parse_document(entry.kind, entry.document)
    assert (entry.kind, entry.code) == (RecordKind.BASIC, FOOD)
    assert isinstance(document, BasicDocument)
    assert document.adjust == {"visits": Adjust.LOCKED, "materials": Adjust.FREE}


def _problems(book: Any) -> list[tuple[str, int, str, str]]:
    return [(p.sheet, p.row, p.column, p.code) for p in read_workbook(_save(book)).problems]


def test_every_bad_cell_is_named_with_its_sheet_row_and_column() -> None:
    book = _template()
    bad = {**CLERK_ROW, "事项类型": "行政审批", "是否收费": "收", "到现场次数": "一次", "服务对象": "个人"}
    row = _fill(book, "事项清单", bad)
    reading = read_workbook(_save(book))
    assert reading.entries == []
    assert [(p.sheet, p.row, p.column, p.code) for p in reading.problems] == [
        ("事项清单", row, "事项类型", "item_value_invalid"),
        ("事项清单", row, "服务对象", "item_value_invalid"),
        ("事项清单", row, "是否收费", "item_value_invalid"),
        ("事项清单", row, "到现场次数", "item_value_invalid"),
    ]
    first = reading.problems[0]
    assert "行政许可" in first.message
    assert first.text.startswith(f"「事项清单」第 {row} 行「事项类型」：“行政审批”无效")


def test_the_domains_checks_are_reported_at_their_cells() -> None:
    book = _template()
    row = _fill(book, "事项清单", {**CLERK_ROW, "事项名称": None})
    code = str(ImplementationCode(FOOD, "340100", HEFEI_BODY))
    _fill(book, "申请材料", {"事项编码": code, "材料名称": "营业执照"})
    part = _fill(
        book,
        "申请材料",
        {"事项编码": code, "必要性": "必要", "共享数据来源": "人口库", "共享数据字段": "age"},
    )
    problems = read_workbook(_save(book)).problems
    assert [(p.sheet, p.row, p.column) for p in problems] == [
        ("事项清单", row, "事项名称"),
        ("申请材料", part, "材料名称"),
        ("申请材料", part, "共享数据来源"),
    ]
    assert problems[0].message == problems[1].message == "必须填写"
    assert "人口库不提供字段：age" in problems[2].message


def test_a_rule_between_elements_is_reported_on_the_whole_row() -> None:
    book = _template()
    row = _fill(book, "事项清单", {**CLERK_ROW, "承诺办结时限": 30, "是否收费": "是"})
    [problem] = read_workbook(_save(book)).problems
    assert (problem.sheet, problem.row, problem.column, problem.code) == (
        "事项清单",
        row,
        "",
        "item_elements_invalid",
    )
    assert problem.message == "承诺办结时限不得超过法定办结时限；收费事项须列出收费项目"


def test_lengths_are_explained_in_words() -> None:
    book = _template()
    code = str(ImplementationCode(FOOD, "340100", HEFEI_BODY))
    row = _fill(
        book, "事项清单", {**CLERK_ROW, "事项名称": "长" * 201, "关键词": "\n".join(map(str, range(51)))}
    )
    for number in range(101):
        _fill(book, "设定依据", {"事项编码": code, "法律法规名称": f"法规{number}"})
    problems = read_workbook(_save(book)).problems
    assert [(p.row, p.column, p.message) for p in problems] == [
        (row, "事项名称", "不得超过 200 个字"),
        (row, "设定依据", "最多 100 项"),
        (row, "关键词", "最多 50 项"),
    ]


def test_codes_must_agree_be_unique_and_be_known() -> None:
    book = _template()
    wrong = str(ImplementationCode(FOOD, "340100", HEFEI_BODY, 2))
    mismatch = _fill(book, "事项清单", {**CLERK_ROW, "实施编码": wrong})
    good = _fill(book, "事项清单", {**CLERK_ROW, "实施主体统一社会信用代码": YAOHAI_BODY})
    twice = _fill(book, "事项清单", {**CLERK_ROW, "实施主体统一社会信用代码": YAOHAI_BODY})
    orphan = _fill(book, "常见问题", {"事项编码": "340A0101000001", "问题": "问", "解答": "答"})
    bad_body = _fill(book, "事项清单", {**CLERK_ROW, "实施主体统一社会信用代码": "91340100MA2N00000X"})
    basic_row = _fill(book, "事项清单", {**CLERK_ROW, "类别": "基本目录事项", "基本编码": "12345"})
    reading = read_workbook(_save(book))
    found = {(p.row, p.column): p.code for p in reading.problems}
    assert found == {
        (mismatch, "实施编码"): "item_code_mismatch",
        (twice, "实施编码"): "item_code_duplicate",
        (bad_body, "实施主体统一社会信用代码"): "item_body_code_invalid",
        (basic_row, "基本编码"): "item_code_invalid",
        (basic_row, "实施主体统一社会信用代码"): "item_value_misplaced",
        (orphan, "事项编码"): "item_part_orphan",
    }
    # The duplicated code's first row is left out too: its parts could belong to either.
    assert reading.entries == []
    assert good < twice


def test_a_good_entry_is_read_beside_a_bad_one() -> None:
    book = _template()
    _fill(book, "事项清单", {**CLERK_ROW, "事项类型": "不存在"})
    _fill(book, "事项清单", {**CLERK_ROW, "实施主体统一社会信用代码": YAOHAI_BODY, "区划代码": "340102"})
    reading = read_workbook(_save(book))
    assert [p.column for p in reading.problems] == ["事项类型"]
    assert [e.organisation_name for e in reading.entries] == ["合肥市市场监督管理局"]
    assert reading.entries[0].document["body_code"] == YAOHAI_BODY


def test_a_bad_adjustment_rule_is_a_problem() -> None:
    book = _template()
    row = {k: v for k, v in CLERK_ROW.items() if k not in ("区划代码", "实施主体统一社会信用代码")}
    at = _fill(book, "事项清单", {**row, "地方可调整要素": "办理时间：随便改"})
    [problem] = read_workbook(_save(book)).problems
    assert (problem.row, problem.column, problem.code) == (at, "地方可调整要素", "item_value_invalid")


def test_a_sheet_without_its_columns_stops_every_entry() -> None:
    book = _template()
    _fill(book, "事项清单", CLERK_ROW)
    book["办理地点"].delete_cols(3)
    reading = read_workbook(_save(book))
    assert reading.entries == []
    assert [(p.sheet, p.row, p.code) for p in reading.problems] == [
        ("办理地点", 1, "item_sheet_columns_missing")
    ]
    assert "地址" in reading.problems[0].message


def test_the_main_sheet_must_be_there_and_unused_part_sheets_need_not() -> None:
    book = _template()
    _fill(book, "事项清单", CLERK_ROW)
    for title in ("收费项目", "设定依据", "说明"):
        del book[title]
    assert len(read_workbook(_save(book)).entries) == 1
    del book["事项清单"]
    reading = read_workbook(_save(book))
    assert reading.entries == []
    assert [(p.sheet, p.code) for p in reading.problems] == [("", "item_sheet_missing")]
    assert reading.problems[0].text == "文件：缺少工作表「事项清单」"


def test_blank_rows_are_skipped() -> None:
    book = _template()
    book["事项清单"].append([None, "  "])
    _fill(book, "事项清单", CLERK_ROW)
    reading = read_workbook(_save(book))
    assert reading.problems == []
    assert len(reading.entries) == 1


# --- files that are not workbooks, or too large ---------------------------------------------------------
@pytest.mark.parametrize(
    "content",
    [b"", b"not a workbook", "基本编码,事项名称\n340A0101000000,食品\n".encode(), b"PK\x03\x04broken"],
)
def test_what_is_not_a_workbook_is_refused(content: bytes) -> None:
    with pytest.raises(ValidationFailed) as caught:
        read_workbook(content)
    assert caught.value.error_code == "item_sheet_unreadable"


def test_a_zip_that_is_not_a_workbook_is_refused() -> None:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("readme.txt", "hello")
    with pytest.raises(ValidationFailed) as caught:
        read_workbook(out.getvalue())
    assert caught.value.error_code == "item_sheet_unreadable"


def test_a_zip_bomb_is_refused_before_it_is_inflated() -> None:
    out = io.BytesIO()
    with (
        zipfile.ZipFile(io.BytesIO(write_workbook([]))) as source,
        zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as bomb,
    ):
        for member in source.infolist():
            bomb.writestr(member, source.read(member))
        bomb.writestr("xl/media/padding.bin", bytes(sheets.MAX_UNPACKED_BYTES))
    assert len(out.getvalue()) < sheets.MAX_BYTES
    with pytest.raises(ValidationFailed) as caught:
        read_workbook(out.getvalue())
    assert caught.value.error_code == "item_sheet_too_large"


def test_a_file_over_the_byte_limit_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    content = write_workbook([implementation(FULL_ELEMENTS)])
    monkeypatch.setattr(sheets, "MAX_BYTES", len(content) - 1)
    with pytest.raises(ValidationFailed) as caught:
        read_workbook(content)
    assert caught.value.error_code == "item_sheet_too_large"


def test_rows_past_the_limit_are_a_problem_not_a_crash(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sheets, "MAX_ROWS", 2)
    book = Workbook()
    template = _template()
    for title in template.sheetnames:
        book.create_sheet(title).append([c.value for c in template[title][1]])
    for number in range(3):
        _fill(book, "事项清单", {**CLERK_ROW, "办理项编号": number + 1})
    reading = read_workbook(_save(book))
    assert reading.entries == []
    assert [(p.sheet, p.row, p.code) for p in reading.problems] == [
        ("事项清单", 4, "item_sheet_too_many_rows")
    ]


def test_a_problem_reads_as_one_chinese_sentence() -> None:
    assert Problem("申请材料", 3, "份数", "x", "应为整数").text == "「申请材料」第 3 行「份数」：应为整数"
    assert (
        Problem("事项清单", 2, "", "x", "承诺件须写明承诺办结时限").text
        == "「事项清单」第 2 行：承诺件须写明承诺办结时限"
    )
    assert Problem("", 4, "实施编码", "x", "重复").text == "第 4 个事项「实施编码」：重复"
