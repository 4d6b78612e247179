"""The elements of a service item (政务服务事项要素, GB/T 39554.1-2020 and the 实施清单 element list in
STANDARDS.md), as one document: what a basic-directory entry sets for the province and an implementation
entry states for one implementing body.

Decision: the elements are pydantic models rather than dataclasses. The document is deep (materials, fees,
places, questions ...) and arrives from YAML packs, JSON, Excel sheets and HTML forms; one declared shape
validates all of them with field-level messages. The models are frozen values; nothing here touches a
database or the web.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from enum import StrEnum
from functools import cache
from typing import Any, Self, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from wanshi.kernel.errors import ValidationFailed
from wanshi.kernel.reasons import reason

NAME_MAX = 200
TEXT_MAX = 4000
SHORT_MAX = 200
LIST_MAX = 100
PHONE_PATTERN = re.compile(r"^[0-9()+\- ]{3,40}(（[^）]{1,40}）)?$")
FIELD_KEY = re.compile(r"^[a-z][a-z0-9_]{0,62}$")
P = TypeVar("P", bound=BaseModel)
# What a field may be prefilled from (免填报): the signed-in account, and the base registries' fields that the
# registry context offers for prefill (its PERSON_FIELDS and ENTERPRISE_FIELDS; a test keeps them equal).
ACCOUNT_FIELDS = ("name", "id_number", "phone", "credit_code", "enterprise_name")
PERSON_FIELDS = ("name", "sex", "birth_date", "ethnicity", "household_division", "address", "phone", "status")
ENTERPRISE_FIELDS = (
    "name",
    "entity_type",
    "legal_rep_name",
    "registered_capital",
    "established_date",
    "status",
    "division",
    "address",
    "industry",
    "business_scope",
)
PREFILL_SOURCES = frozenset(
    [f"account.{f}" for f in ACCOUNT_FIELDS]
    + [f"population.{f}" for f in PERSON_FIELDS]
    + [f"legal_person.{f}" for f in ENTERPRISE_FIELDS]
)


class Labelled(StrEnum):
    @property
    def label(self) -> str:
        return LABELS[(type(self), self.value)]

    @classmethod
    def parse(cls, value: Any) -> Any:
        """The value or its Chinese label, as packs and sheets write them."""
        if isinstance(value, str):
            text = value.strip()
            for member in cls:
                if text in (member.value, member.label):
                    return member
        return value


class ItemType(Labelled):
    """事项类型 (STANDARDS.md): ten kinds of administrative power and public services."""

    LICENSING = "01"
    PENALTY = "02"
    COERCION = "03"
    LEVY = "04"
    BENEFIT = "05"
    INSPECTION = "06"
    CONFIRMATION = "07"
    REWARD = "08"
    ADJUDICATION = "09"
    OTHER_POWER = "10"
    PUBLIC_SERVICE = "20"


class Audience(Labelled):
    PERSON = "person"
    ENTERPRISE = "enterprise"


class Level(Labelled):
    """行使层级."""

    PROVINCE = "province"
    CITY = "city"
    COUNTY = "county"
    TOWN = "town"


class CaseType(Labelled):
    IMMEDIATE = "immediate"
    PROMISED = "promised"


class LimitUnit(Labelled):
    WORKDAY = "workday"
    DAY = "day"


class HandlingForm(Labelled):
    COUNTER = "counter"
    ONLINE = "online"
    POST = "post"


class Necessity(Labelled):
    REQUIRED = "required"
    OPTIONAL = "optional"
    CONDITIONAL = "conditional"


class MaterialForm(Labelled):
    PAPER = "paper"
    ELECTRONIC = "electronic"
    EITHER = "either"


class MaterialSource(Labelled):
    APPLICANT = "applicant"
    GOVERNMENT = "government"
    INTERMEDIARY = "intermediary"


class ResultType(Labelled):
    LICENCE = "licence"
    APPROVAL = "approval"
    FILING = "filing"
    OTHER = "other"


class ImplementerNature(Labelled):
    STATUTORY = "statutory"
    AUTHORISED = "authorised"
    ENTRUSTED = "entrusted"


class Registry(Labelled):
    """Base registries (基础库) a material's or a field's data can come from."""

    POPULATION = "population"
    LEGAL_PERSON = "legal_person"


class FieldType(Labelled):
    TEXT = "text"
    NUMBER = "number"
    DATE = "date"
    PHONE = "phone"
    ID_NUMBER = "id_number"
    CREDIT_CODE = "credit_code"
    ADDRESS = "address"
    CHOICE = "choice"


# Online depth (网上办理深度): Ⅳ is 全程网办; Ⅰ-Ⅲ follow common usage (STANDARDS.md marks them unconfirmed).
ONLINE_DEPTH_LABELS = {
    0: "不可网办",
    1: "Ⅰ级 在线咨询",
    2: "Ⅱ级 网上预约",
    3: "Ⅲ级 在线预审",
    4: "Ⅳ级 全程网办",
}

LABELS: dict[tuple[type[Labelled], str], str] = {
    (ItemType, "01"): "行政许可",
    (ItemType, "02"): "行政处罚",
    (ItemType, "03"): "行政强制",
    (ItemType, "04"): "行政征收",
    (ItemType, "05"): "行政给付",
    (ItemType, "06"): "行政检查",
    (ItemType, "07"): "行政确认",
    (ItemType, "08"): "行政奖励",
    (ItemType, "09"): "行政裁决",
    (ItemType, "10"): "其他行政权力",
    (ItemType, "20"): "公共服务",
    (Audience, "person"): "自然人",
    (Audience, "enterprise"): "法人",
    (Level, "province"): "省级",
    (Level, "city"): "市级",
    (Level, "county"): "县级",
    (Level, "town"): "乡镇（街道）级",
    (CaseType, "immediate"): "即办件",
    (CaseType, "promised"): "承诺件",
    (LimitUnit, "workday"): "工作日",
    (LimitUnit, "day"): "自然日",
    (HandlingForm, "counter"): "窗口办理",
    (HandlingForm, "online"): "网上办理",
    (HandlingForm, "post"): "快递申请",
    (Necessity, "required"): "必要",
    (Necessity, "optional"): "非必要",
    (Necessity, "conditional"): "情形必要",
    (MaterialForm, "paper"): "纸质",
    (MaterialForm, "electronic"): "电子",
    (MaterialForm, "either"): "纸质或电子",
    (MaterialSource, "applicant"): "申请人自备",
    (MaterialSource, "government"): "政府部门核发",
    (MaterialSource, "intermediary"): "中介机构出具",
    (ResultType, "licence"): "证照",
    (ResultType, "approval"): "批文",
    (ResultType, "filing"): "备案凭证",
    (ResultType, "other"): "其他",
    (ImplementerNature, "statutory"): "法定机关",
    (ImplementerNature, "authorised"): "授权组织",
    (ImplementerNature, "entrusted"): "受委托组织",
    (Registry, "population"): "人口库",
    (Registry, "legal_person"): "法人库",
    (FieldType, "text"): "文本",
    (FieldType, "number"): "数字",
    (FieldType, "date"): "日期",
    (FieldType, "phone"): "电话",
    (FieldType, "id_number"): "身份证号",
    (FieldType, "credit_code"): "统一社会信用代码",
    (FieldType, "address"): "地址",
    (FieldType, "choice"): "选项",
}


class Part(BaseModel):
    """A frozen part of the document; enumerations may be written as their Chinese labels."""

    model_config = ConfigDict(frozen=True, extra="forbid", str_strip_whitespace=True)

    @model_validator(mode="before")
    @classmethod
    def _labels(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        out = None
        for name, kind in _labelled_fields(cls):
            value = data.get(name)
            if isinstance(value, str) and value not in kind._value2member_map_:
                out = out or dict(data)
                out[name] = kind.parse(value)
        return out or data


@cache
def _labelled_fields(model: type[BaseModel]) -> tuple[tuple[str, type[Labelled]], ...]:
    """The fields of a part whose type is an enumeration with labels (looked up once per class)."""
    return tuple(
        (name, info.annotation)
        for name, info in model.model_fields.items()
        if isinstance(info.annotation, type) and issubclass(info.annotation, Labelled)
    )


Text = Field(default="", max_length=TEXT_MAX)
Short = Field(default="", max_length=SHORT_MAX)


class Limit(Part):
    """A time limit: 法定办结时限 or 承诺办结时限."""

    value: int = Field(ge=0, le=3650)
    unit: LimitUnit = LimitUnit.WORKDAY
    note: str = Short

    @property
    def shown(self) -> str:
        return f"{self.value} 个{self.unit.label}" + (f"（{self.note}）" if self.note else "")

    def longer_than(self, other: Limit) -> bool:
        """Whether this limit is longer than ``other``; a working day is taken as at least a calendar day."""
        if self.unit is other.unit:
            return self.value > other.value
        if self.unit is LimitUnit.DAY:
            return False if self.value <= other.value else self.value > other.value * 7 / 5 + 4
        return self.value > other.value


class Basis(Part):
    """设定依据: a law or regulation and its article."""

    name: str = Field(min_length=1, max_length=SHORT_MAX)
    article: str = Field(default="", max_length=TEXT_MAX)


class Fee(Part):
    name: str = Field(min_length=1, max_length=SHORT_MAX)
    standard: str = Field(min_length=1, max_length=SHORT_MAX)
    basis: str = Short
    reducible: bool = False


class Step(Part):
    """One step of 办理流程."""

    name: str = Field(min_length=1, max_length=60)
    description: str = Text


class RegistryFill(Part):
    """Where the government already holds a material's content (免提交 from the base registries)."""

    registry: Registry
    fields: tuple[str, ...] = Field(min_length=1, max_length=50)

    @model_validator(mode="after")
    def _known(self) -> Self:
        offered = PERSON_FIELDS if self.registry is Registry.POPULATION else ENTERPRISE_FIELDS
        unknown = [f for f in self.fields if f not in offered]
        if unknown:
            raise ValueError(f"{self.registry.label}不提供字段：" + "、".join(unknown))
        return self


class Material(Part):
    """申请材料."""

    name: str = Field(min_length=1, max_length=SHORT_MAX)
    necessity: Necessity = Necessity.REQUIRED
    form: MaterialForm = MaterialForm.EITHER
    source: MaterialSource = MaterialSource.APPLICANT
    copies: int = Field(default=1, ge=0, le=99)
    blank_form: str = Short
    sample: str = Short
    standard: str = Text
    basis: str = Short
    # 容缺受理: the case may be accepted with this material promised later.
    deferrable: bool = False
    # 免提交: an e-licence of this type (证照类型代码 or name) replaces the upload.
    licence_type: str = Field(default="", max_length=60)
    registry: RegistryFill | None = None

    @property
    def replaceable(self) -> bool:
        return bool(self.licence_type) or self.registry is not None


class Outcome(Part):
    """审批结果."""

    name: str = Field(min_length=1, max_length=SHORT_MAX)
    type: ResultType = ResultType.OTHER
    sample: str = Short
    licence_type: str = Field(default="", max_length=60)


class Place(Part):
    """办理地点和时间."""

    name: str = Field(min_length=1, max_length=SHORT_MAX)
    address: str = Field(min_length=1, max_length=SHORT_MAX)
    hours: str = Short
    phone: str = Short


class Question(Part):
    """常见问题."""

    question: str = Field(min_length=1, max_length=SHORT_MAX)
    answer: str = Field(min_length=1, max_length=TEXT_MAX)


class FormField(Part):
    """A field of the application (申请表); ``prefill`` names the registry field that fills it (免填报)."""

    key: str
    label: str = Field(min_length=1, max_length=60)
    type: FieldType = FieldType.TEXT
    required: bool = True
    prefill: str = Field(default="", max_length=80)
    choices: tuple[str, ...] = ()

    @field_validator("key")
    @classmethod
    def _key(cls, value: str) -> str:
        if not FIELD_KEY.match(value):
            raise ValueError("字段标识须为小写字母开头的字母、数字或下划线")
        return value

    @field_validator("prefill")
    @classmethod
    def _prefill(cls, value: str) -> str:
        if value and value not in PREFILL_SOURCES:
            raise ValueError(f"预填来源“{value}”不存在，可用：account.*、population.*、legal_person.*")
        return value


class Elements(Part):
    """The elements of a service item. A basic-directory entry fills them as the province's standard; an
    implementation entry as one body exercises the item. Rules between elements are checked here."""

    name: str = Field(min_length=2, max_length=NAME_MAX)
    item_type: ItemType
    summary: str = Text
    basis: tuple[Basis, ...] = Field(default=(), max_length=LIST_MAX)
    level: tuple[Level, ...] = Field(default=(), max_length=4)
    audience: tuple[Audience, ...] = Field(min_length=1, max_length=2)
    case_type: CaseType = CaseType.PROMISED
    conditions: tuple[str, ...] = Field(default=(), max_length=LIST_MAX)
    legal_limit: Limit
    promised_limit: Limit
    charged: bool = False
    fees: tuple[Fee, ...] = Field(default=(), max_length=LIST_MAX)
    process: tuple[Step, ...] = Field(default=(), max_length=LIST_MAX)
    forms: tuple[HandlingForm, ...] = Field(default=(HandlingForm.COUNTER,), min_length=1, max_length=3)
    visits: int = Field(default=1, ge=0, le=10)
    visits_reason: str = Short
    online: bool = False
    online_depth: int = Field(default=0, ge=0, le=4)
    online_url: str = Short
    booking: bool = False
    delivery: bool = False
    online_payment: bool = False
    result: Outcome | None = None
    intermediary: str = Text
    entrusted_by: str = Short
    joint_bodies: tuple[str, ...] = Field(default=(), max_length=LIST_MAX)
    places: tuple[Place, ...] = Field(default=(), max_length=LIST_MAX)
    consult: str = Short
    complaint: str = Short
    faq: tuple[Question, ...] = Field(default=(), max_length=LIST_MAX)
    materials: tuple[Material, ...] = Field(default=(), max_length=LIST_MAX)
    fields: tuple[FormField, ...] = Field(default=(), max_length=LIST_MAX)
    # For the guide: 主题 (browse by theme) and the words citizens use for the item.
    themes: tuple[str, ...] = Field(default=(), max_length=20)
    keywords: tuple[str, ...] = Field(default=(), max_length=50)

    @model_validator(mode="before")
    @classmethod
    def _label_lists(cls, data: Any) -> Any:
        if isinstance(data, dict):
            data = dict(data)
            for name, kind in (("level", Level), ("audience", Audience), ("forms", HandlingForm)):
                value = data.get(name)
                if isinstance(value, str):
                    value = [v for v in re.split(r"[、,，/ ]+", value) if v]
                if isinstance(value, list | tuple):
                    data[name] = [kind.parse(v) for v in value]
        return data

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        problems = list(consistency_problems(self))
        if problems:
            raise ValueError("；".join(problems))
        return self

    @property
    def fully_online(self) -> bool:
        return self.online_depth == 4


def consistency_problems(e: Elements) -> list[str]:
    """The rules between elements that make an entry coherent (in Chinese, for the person editing it)."""
    out: list[str] = []
    if e.promised_limit.longer_than(e.legal_limit):
        out.append("承诺办结时限不得超过法定办结时限")
    if e.case_type is CaseType.IMMEDIATE and e.promised_limit.value > 1:
        out.append("即办件的承诺办结时限不得超过 1 天")
    if e.case_type is CaseType.PROMISED and e.promised_limit.value == 0:
        out.append("承诺件须写明承诺办结时限")
    if e.charged and not e.fees:
        out.append("收费事项须列出收费项目")
    if not e.charged and e.fees:
        out.append("不收费事项不得列出收费项目")
    if e.visits > 0 and not e.visits_reason:
        out.append("到办事现场次数大于 0 时须说明原因")
    if e.online_depth == 4 and e.visits:
        out.append("全程网办（Ⅳ级）事项的到现场次数须为 0")
    if e.online_depth >= 3 and not e.online:
        out.append("网上办理深度Ⅲ级以上的事项须支持网办")
    if e.online and HandlingForm.ONLINE not in e.forms:
        out.append("支持网办的事项的办理形式须含网上办理")
    if e.online_payment and not e.charged:
        out.append("不收费事项无需网上支付")
    out += _duplicates("申请材料", [m.name for m in e.materials])
    out += _duplicates("申请表字段", [f.key for f in e.fields])
    out += _duplicates("收费项目", [f.name for f in e.fees])
    for f in e.fields:
        if f.type is FieldType.CHOICE and not f.choices:
            out.append(f"字段“{f.label}”为选项类型，须列出选项")
    for p in e.places:
        if p.phone and not PHONE_PATTERN.match(p.phone):
            out.append(f"办理地点“{p.name}”的电话格式有误")
    return out


def _duplicates(what: str, names: list[str]) -> list[str]:
    seen: set[str] = set()
    doubled = sorted({n for n in names if n in seen or seen.add(n)})  # type: ignore[func-returns-value]
    return [f"{what}“{n}”重复" for n in doubled]


def parse_elements(data: Any) -> Elements:
    """Elements from a mapping (pack, JSON, sheet); mistakes become one ValidationFailed naming each field."""
    return parse_part(Elements, data)


def parse_part(model: type[P], data: Any) -> P:
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise ValidationFailed(
            "事项要素有误：" + "；".join(describe(error) for error in exc.errors()[:20]),
            code="item_elements_invalid",
            problems=[describe(error) for error in exc.errors()],
        ) from exc


ELEMENT_LABELS: dict[str, str] = {
    "name": "事项名称",
    "item_type": "事项类型",
    "summary": "事项简介",
    "basis": "设定依据",
    "level": "行使层级",
    "audience": "服务对象",
    "case_type": "办件类型",
    "conditions": "受理条件",
    "legal_limit": "法定办结时限",
    "promised_limit": "承诺办结时限",
    "charged": "是否收费",
    "fees": "收费项目",
    "process": "办理流程",
    "forms": "办理形式",
    "visits": "到办事现场次数",
    "visits_reason": "到现场原因",
    "online": "是否网办",
    "online_depth": "网上办理深度",
    "online_url": "网办地址",
    "booking": "支持预约",
    "delivery": "支持快递",
    "online_payment": "支持网上支付",
    "result": "审批结果",
    "intermediary": "中介服务",
    "entrusted_by": "委托部门",
    "joint_bodies": "联办机构",
    "places": "办理地点和时间",
    "consult": "咨询方式",
    "complaint": "监督投诉方式",
    "faq": "常见问题",
    "materials": "申请材料",
    "fields": "申请表字段",
    "themes": "主题分类",
    "keywords": "关键词",
}


def describe(error: Mapping[str, Any]) -> str:
    """One pydantic error in Chinese, led by the element's name."""
    location = [str(p) for p in error.get("loc", ())]
    where = "·".join(ELEMENT_LABELS.get(p, p) for p in location if not p.isdigit()) or "事项"
    return f"{where}：{reason(error)}"
