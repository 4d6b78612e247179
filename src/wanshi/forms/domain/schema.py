"""A form definition (表单定义) as one validated JSON document, format ``wanshi.form/1``.

A form is a list of fields laid out on a twelve-column grid, a style, and event rules. Fields may be grouped
(a fieldset) or repeated (a table of rows: 家庭成员, 股东), shown only under a condition, computed from
other fields, and prefilled from what government already holds (免填报): the signed-in account, the
population registry, the legal-person registry.

Conditions are data, not code: ``{"all": [{"field": "marital", "op": "eq", "value": "married"}]}``. A clerk
builds them from drop-downs in the designer, and the same structure drives the server's validation and the
live check in the browser, so the two can never disagree. Only computed fields carry an expression, checked
by the platform's script sandbox before a form may be saved.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from decimal import Decimal
from enum import StrEnum
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from wanshi.kernel.errors import ValidationFailed
from wanshi.kernel.reasons import reason

FORMAT = "wanshi.form/1"
FIELD_KEY = re.compile(r"^[a-z][a-z0-9_]{0,39}$")
# Names the page itself uses beside the fields.
RESERVED_KEYS = frozenset({"csrf_token", "revision", "form_key", "form_version"})
LABEL_MAX = 100
HELP_MAX = 500
TITLE_MAX = 100
FIELDS_MAX = 300
OPTIONS_MAX = 500
RULES_MAX = 100
TEXT_DEFAULT_MAX = 200
TEXTAREA_DEFAULT_MAX = 2000
TEXT_HARD_MAX = 20000
ROWS_HARD_MAX = 200
EXPRESSION_MAX = 500
GRID = 12


class Labelled(StrEnum):
    @property
    def label(self) -> str:
        return _LABELS[self]


class FieldType(Labelled):
    TEXT = "text"
    TEXTAREA = "textarea"
    NUMBER = "number"
    DATE = "date"
    SELECT = "select"
    RADIO = "radio"
    CHECKBOX = "checkbox"
    CHECKLIST = "checklist"
    ID_NUMBER = "id_number"
    CREDIT_CODE = "credit_code"
    PHONE = "phone"
    EMAIL = "email"
    DIVISION = "division"
    FILE = "file"
    GROUP = "group"
    REPEAT = "repeat"
    COMPUTED = "computed"
    STATIC = "static"

    @property
    def holds_value(self) -> bool:
        return self not in (FieldType.GROUP, FieldType.STATIC)

    @property
    def has_options(self) -> bool:
        return self in (FieldType.SELECT, FieldType.RADIO, FieldType.CHECKLIST)

    @property
    def is_container(self) -> bool:
        return self in (FieldType.GROUP, FieldType.REPEAT)


class Op(Labelled):
    EQ = "eq"
    NE = "ne"
    IN = "in"
    NOT_IN = "not_in"
    GT = "gt"
    GE = "ge"
    LT = "lt"
    LE = "le"
    FILLED = "filled"
    EMPTY = "empty"
    CONTAINS = "contains"

    @property
    def needs_value(self) -> bool:
        return self not in (Op.FILLED, Op.EMPTY)


class Action(Labelled):
    SHOW = "show"
    HIDE = "hide"
    REQUIRE = "require"
    SET = "set"
    LOCK = "lock"


class Theme(Labelled):
    STANDARD = "standard"
    COMPACT = "compact"
    OFFICIAL = "official"


class LabelPosition(Labelled):
    TOP = "top"
    LEFT = "left"


class Emphasis(Labelled):
    NORMAL = "normal"
    HIGHLIGHT = "highlight"
    MUTED = "muted"


_LABELS: dict[StrEnum, str] = {
    FieldType.TEXT: "单行文本",
    FieldType.TEXTAREA: "多行文本",
    FieldType.NUMBER: "数字",
    FieldType.DATE: "日期",
    FieldType.SELECT: "下拉选择",
    FieldType.RADIO: "单选",
    FieldType.CHECKBOX: "勾选（是/否）",
    FieldType.CHECKLIST: "多选",
    FieldType.ID_NUMBER: "身份证号码",
    FieldType.CREDIT_CODE: "统一社会信用代码",
    FieldType.PHONE: "电话号码",
    FieldType.EMAIL: "电子邮箱",
    FieldType.DIVISION: "行政区划",
    FieldType.FILE: "附件上传",
    FieldType.GROUP: "分组",
    FieldType.REPEAT: "可重复分组（明细表）",
    FieldType.COMPUTED: "计算字段",
    FieldType.STATIC: "说明文字",
    Op.EQ: "等于",
    Op.NE: "不等于",
    Op.IN: "属于其中之一",
    Op.NOT_IN: "不属于其中任何一个",
    Op.GT: "大于",
    Op.GE: "大于等于",
    Op.LT: "小于",
    Op.LE: "小于等于",
    Op.FILLED: "已填写",
    Op.EMPTY: "未填写",
    Op.CONTAINS: "包含",
    Action.SHOW: "显示",
    Action.HIDE: "隐藏",
    Action.REQUIRE: "设为必填",
    Action.SET: "设定值为",
    Action.LOCK: "设为只读",
    Theme.STANDARD: "标准",
    Theme.COMPACT: "紧凑",
    Theme.OFFICIAL: "公文（红头）",
    LabelPosition.TOP: "标签在上",
    LabelPosition.LEFT: "标签在左",
    Emphasis.NORMAL: "普通",
    Emphasis.HIGHLIGHT: "醒目",
    Emphasis.MUTED: "弱化",
}

Scalar = str | int | Decimal | bool
PREFILLABLE = frozenset(FieldType) - {
    FieldType.GROUP,
    FieldType.STATIC,
    FieldType.COMPUTED,
    FieldType.REPEAT,
    FieldType.FILE,
}


class Part(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Option(Part):
    value: str = Field(min_length=1, max_length=100)
    label: str = Field(min_length=1, max_length=LABEL_MAX)


class Clause(Part):
    """One test on one field. Inside a repeated group, a key names the same row's field first, then the
    form's top-level field."""

    field: str
    op: Op
    value: Scalar | tuple[Scalar, ...] | None = None

    @model_validator(mode="after")
    def _value_fits_op(self) -> Clause:
        if self.op.needs_value and self.value is None:
            raise ValueError(f"条件“{self.op.label}”需要填写比较的值")
        if self.op in (Op.IN, Op.NOT_IN) and not isinstance(self.value, tuple):
            raise ValueError(f"条件“{self.op.label}”的值应为若干选项")
        return self


class Condition(Part):
    """All clauses hold (and), or any holds (or); an empty condition always holds."""

    all: tuple[Clause, ...] = ()
    any: tuple[Clause, ...] = ()

    @model_validator(mode="after")
    def _one_kind(self) -> Condition:
        if self.all and self.any:
            raise ValueError("一个条件只能是“全部满足”或“满足其一”之一")
        return self

    @property
    def clauses(self) -> tuple[Clause, ...]:
        return self.all or self.any


class Validation(Part):
    required: bool = False
    min_length: int | None = Field(default=None, ge=0, le=TEXT_HARD_MAX)
    max_length: int | None = Field(default=None, ge=1, le=TEXT_HARD_MAX)
    minimum: Decimal | None = None
    maximum: Decimal | None = None
    decimals: int | None = Field(default=None, ge=0, le=6)
    pattern: str | None = Field(default=None, max_length=300)
    pattern_message: str = Field(default="", max_length=LABEL_MAX)
    min_items: int | None = Field(default=None, ge=0, le=ROWS_HARD_MAX)
    max_items: int | None = Field(default=None, ge=1, le=ROWS_HARD_MAX)
    # Dates: ISO dates or "today"; a birth date is not after today, an appointment not before it.
    earliest: str | None = None
    latest: str | None = None
    # Files: media types accepted (empty: the platform's list) and the largest file in MB.
    accept: tuple[str, ...] = ()
    max_file_mb: int | None = Field(default=None, ge=1, le=200)

    @field_validator("pattern")
    @classmethod
    def _pattern_compiles(cls, value: str | None) -> str | None:
        if value:
            try:
                re.compile(value)
            except re.error as exc:
                raise ValueError(f"格式规则（正则表达式）无法识别：{exc}") from None
        return value

    @field_validator("earliest", "latest")
    @classmethod
    def _date_bound(cls, value: str | None) -> str | None:
        if value and value != "today" and not re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
            raise ValueError("日期范围应为 YYYY-MM-DD 或 today")
        return value

    @model_validator(mode="after")
    def _ranges(self) -> Validation:
        pairs = (
            (self.min_length, self.max_length, "最少字数不能大于最多字数"),
            (self.minimum, self.maximum, "最小值不能大于最大值"),
            (self.min_items, self.max_items, "最少项数不能大于最多项数"),
        )
        for low, high, message in pairs:
            if low is not None and high is not None and low > high:
                raise ValueError(message)
        return self


class Layout(Part):
    width: int = Field(default=GRID, ge=1, le=GRID)
    new_row: bool = False
    emphasis: Emphasis = Emphasis.NORMAL


class FieldDef(Part):
    key: str
    type: FieldType
    label: str = Field(min_length=1, max_length=LABEL_MAX)
    help: str = Field(default="", max_length=HELP_MAX)
    placeholder: str = Field(default="", max_length=LABEL_MAX)
    default: Scalar | None = None
    options: tuple[Option, ...] = Field(default=(), max_length=OPTIONS_MAX)
    validation: Validation = Validation()
    layout: Layout = Layout()
    visible_when: Condition | None = None
    # 免填报: "account.name", "population.address", "legal_person.name" …; services check the source.
    prefill: str = Field(default="", max_length=100)
    # A prefilled value the applicant may not change (an identity the platform verified).
    prefill_locked: bool = False
    expression: str = Field(default="", max_length=EXPRESSION_MAX)
    unit: str = Field(default="", max_length=20)
    children: tuple[FieldDef, ...] = Field(default=(), max_length=FIELDS_MAX)
    # A shared field group (共享字段组) this group was inserted from: "key@version".
    source: str = Field(default="", max_length=80)

    @field_validator("key")
    @classmethod
    def _key(cls, value: str) -> str:
        if not FIELD_KEY.fullmatch(value):
            raise ValueError(f"字段标识“{value}”无效：小写字母开头，只含小写字母、数字和下划线，最长40字")
        if value in RESERVED_KEYS:
            raise ValueError(f"字段标识“{value}”为系统保留，请换一个")
        return value

    @model_validator(mode="after")
    def _consistent(self) -> FieldDef:
        kind = self.type
        if kind.has_options and not self.options:
            raise ValueError(f"“{self.label}”是{kind.label}，至少需要一个选项")
        if self.options and not kind.has_options:
            raise ValueError(f"“{self.label}”是{kind.label}，不能设置选项")
        values = [o.value for o in self.options]
        if len(set(values)) != len(values):
            raise ValueError(f"“{self.label}”的选项值有重复")
        if kind.is_container and not self.children:
            raise ValueError(f"“{self.label}”是{kind.label}，至少需要一个子字段")
        if self.children and not kind.is_container:
            raise ValueError(f"“{self.label}”是{kind.label}，不能包含子字段")
        if kind is FieldType.REPEAT and any(c.type is FieldType.REPEAT for c in self.children):
            raise ValueError(f"“{self.label}”：明细表里不能再嵌套明细表")
        if (kind is FieldType.COMPUTED) != bool(self.expression):
            raise ValueError(f"“{self.label}”：只有计算字段有计算公式，且计算字段必须有公式")
        if self.prefill and kind not in PREFILLABLE:
            raise ValueError(f"“{self.label}”是{kind.label}，不能设置预填")
        if self.prefill_locked and not self.prefill:
            raise ValueError(f"“{self.label}”：没有预填来源时不能锁定预填值")
        return self

    def walk(self) -> Iterator[FieldDef]:
        yield self
        for child in self.children:
            yield from child.walk()


class Effect(Part):
    action: Action
    target: str
    value: Scalar | None = None

    @model_validator(mode="after")
    def _value(self) -> Effect:
        if (self.action is Action.SET) != (self.value is not None):
            raise ValueError("只有“设定值为”需要填写值")
        return self


class Rule(Part):
    """An event rule (事件规则): while ``when`` holds, the effects apply. Rules are evaluated again whenever a
    value changes, so a rule is never stale: clearing the answer that triggered it undoes it."""

    name: str = Field(min_length=1, max_length=LABEL_MAX)
    when: Condition
    then: tuple[Effect, ...] = Field(min_length=1, max_length=20)


class Style(Part):
    theme: Theme = Theme.STANDARD
    label_position: LabelPosition = LabelPosition.TOP
    accent: Literal["blue", "red", "green", "grey"] = "blue"


class FormDocument(Part):
    format: Literal["wanshi.form/1"] = "wanshi.form/1"
    title: str = Field(min_length=2, max_length=TITLE_MAX)
    description: str = Field(default="", max_length=HELP_MAX)
    style: Style = Style()
    fields: tuple[FieldDef, ...] = Field(min_length=1, max_length=FIELDS_MAX)
    rules: tuple[Rule, ...] = Field(default=(), max_length=RULES_MAX)
    submit_label: str = Field(default="提交", max_length=20)

    def walk(self) -> Iterator[FieldDef]:
        for field in self.fields:
            yield from field.walk()

    @model_validator(mode="after")
    def _references(self) -> FormDocument:
        problems = list(_reference_problems(self))
        if len(list(self.walk())) > FIELDS_MAX:
            problems.append(f"字段总数不能超过{FIELDS_MAX}个")
        if problems:
            raise ValueError("；".join(problems))
        return self

    def field(self, key: str) -> FieldDef | None:
        return next((f for f in self.walk() if f.key == key), None)

    def repeat_of(self, key: str) -> FieldDef | None:
        """The repeated group a field lives in, if any."""
        for top in self.walk():
            if top.type is FieldType.REPEAT and any(c.key == key for c in top.walk() if c is not top):
                return top
        return None


def _reference_problems(document: FormDocument) -> Iterator[str]:
    keys: dict[str, FieldDef] = {}
    for field in document.walk():
        if field.key in keys:
            yield f"字段标识“{field.key}”重复"
        keys[field.key] = field
    for field in document.walk():
        if field.visible_when is not None:
            yield from _clause_problems(field.visible_when, keys, f"“{field.label}”的显示条件")
    for rule in document.rules:
        yield from _clause_problems(rule.when, keys, f"规则“{rule.name}”")
        for effect in rule.then:
            target = keys.get(effect.target)
            if target is None:
                yield f"规则“{rule.name}”作用的字段“{effect.target}”不存在"
            elif effect.action in (Action.SET, Action.REQUIRE, Action.LOCK) and not target.type.holds_value:
                yield f"规则“{rule.name}”不能对“{target.label}”{effect.action.label}"


def _clause_problems(condition: Condition, keys: dict[str, FieldDef], where: str) -> Iterator[str]:
    for clause in condition.clauses:
        target = keys.get(clause.field)
        if target is None:
            yield f"{where}引用的字段“{clause.field}”不存在"
        elif not target.type.holds_value or target.type is FieldType.REPEAT:
            yield f"{where}不能以“{target.label}”（{target.type.label}）作为条件"


def describe(error: ValidationError) -> str:
    """One Chinese sentence per problem, naming where it is, for the designer and the API."""
    parts = []
    for problem in error.errors():
        where = ".".join(str(p) for p in problem["loc"])
        parts.append(f"{where}：{reason(problem)}" if where else reason(problem))
    return "；".join(parts)


def parse_form(document: Any) -> FormDocument:
    try:
        return FormDocument.model_validate(document)
    except ValidationError as exc:
        raise ValidationFailed(f"表单定义有误：{describe(exc)}", code="form_invalid") from None


FieldDef.model_rebuild()
