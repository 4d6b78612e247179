"""The data resource catalogue (政务数据资源目录): resources, their versions and the rules on their metadata.

Metadata follow the 政务信息资源目录编制指南(试行) (2017) and GB/T 21063. Pure Python: no SQLAlchemy, no web.

Resource code (资源代码): 前段码 = 类 (1 digit: 1 基础, 2 主题, 3 部门信息资源) + 项 (2) + 目 (3) +
细目 (3, optional), then "/" and the 后段码 = 顺序码 (6 digits), e.g. ``101001001/000001``. The
classification is read from the code, so the two can never disagree.

Lifecycle of a version::

    draft ──mount──▶ mounted ──submit──▶ submitted ──publish──▶ published ──(next publish)──▶ superseded
                        ▲                    │
                        └──── returned ◀─return (reasons)

A resource is what readers see: until its first publication its state is its working version's status;
afterwards it stays ``published`` (readers always get the published version) while a new version goes
through the same steps beside it, and it is replaced only when that version is published. ``withdrawn``
(下线) is final: the code stays taken, so a consumer's reference never silently points elsewhere.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from datetime import date, datetime
from enum import StrEnum
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from wanshi.kernel.errors import Conflict, ValidationFailed

CODE_PATTERN = re.compile(r"^([1-3])(\d{2})(\d{3})(\d{3})?/(\d{6})$")
FIELD_NAME = re.compile(r"^[a-z][a-z0-9_]{0,62}$")
NAME_MAX = 200
SUMMARY_MAX = 2000
FORMAT_MAX = 60
LABEL_MAX = 100
CONDITIONS_MAX = 1000
METHOD_MAX = 100
NOTE_MAX = 2000
REASON_MIN = 2
MAX_FIELDS = 500
MAX_LENGTH = 65_535
# 小数位数 of a 数值型 item: ingest stores decimals as decimal128(38, scale) and accepts at most 18 places
# (ingest's MAX_DECIMAL_SCALE; a test keeps the two equal). Absent, an item keeps the two places of money.
DEFAULT_SCALE = 2
MAX_SCALE = 18
MAX_RELATED = 50
DATASET_PATTERN = re.compile(r"^[a-z][a-z0-9_]{0,62}$")
# Words in a URL's query string that mark a credential written in clear.
SECRET_WORDS = ("password", "passwd", "pwd", "secret", "token", "key", "signature", "credential")
SECRET_REF_PATTERN = re.compile(r"^(env|vault|file):[A-Za-z0-9_./-]{1,200}$")


class Labelled(StrEnum):
    @property
    def label(self) -> str:
        return LABELS[(type(self), self.value)]


class TopClass(Labelled):
    BASIC = "1"
    THEME = "2"
    DEPARTMENT = "3"


class DataType(Labelled):
    STRING = "string"
    INTEGER = "integer"
    DECIMAL = "decimal"
    DATE = "date"
    DATETIME = "datetime"
    BOOLEAN = "boolean"


class Grade(Labelled):
    """分级 of an information item: who may see its values."""

    PUBLIC = "public"
    INTERNAL = "internal"
    SENSITIVE = "sensitive"
    CORE = "core"


class ShareType(Labelled):
    UNCONDITIONAL = "unconditional"
    CONDITIONAL = "conditional"
    NONE = "none"


class OpenType(Labelled):
    UNCONDITIONAL = "unconditional"
    CONDITIONAL = "conditional"
    NONE = "none"


class UpdateCycle(Labelled):
    REALTIME = "realtime"
    DAILY = "daily"
    WEEKLY = "weekly"
    MONTHLY = "monthly"
    QUARTERLY = "quarterly"
    YEARLY = "yearly"
    IRREGULAR = "irregular"


class VersionStatus(Labelled):
    DRAFT = "draft"
    MOUNTED = "mounted"
    SUBMITTED = "submitted"
    RETURNED = "returned"
    PUBLISHED = "published"
    SUPERSEDED = "superseded"


class ResourceState(Labelled):
    DRAFT = "draft"
    MOUNTED = "mounted"
    SUBMITTED = "submitted"
    RETURNED = "returned"
    PUBLISHED = "published"
    WITHDRAWN = "withdrawn"


class MountKind(Labelled):
    DATASET = "dataset"
    DATABASE = "database"
    HTTP = "http"


class EventKind(Labelled):
    REGISTERED = "registered"
    UPDATED = "updated"
    MOUNTED = "mounted"
    SUBMITTED = "submitted"
    PUBLISHED = "published"
    RETURNED = "returned"
    VERSION_STARTED = "version_started"
    WITHDRAWN = "withdrawn"


# A list, not a dict: members of different enums with equal values (无条件共享/开放) are equal strings.
_PAIRS: list[tuple[StrEnum, str]] = [
    (TopClass.BASIC, "基础信息资源"),
    (TopClass.THEME, "主题信息资源"),
    (TopClass.DEPARTMENT, "部门信息资源"),
    (DataType.STRING, "字符型"),
    (DataType.INTEGER, "整数型"),
    (DataType.DECIMAL, "数值型"),
    (DataType.DATE, "日期型"),
    (DataType.DATETIME, "日期时间型"),
    (DataType.BOOLEAN, "布尔型"),
    (Grade.PUBLIC, "公开"),
    (Grade.INTERNAL, "内部"),
    (Grade.SENSITIVE, "敏感"),
    (Grade.CORE, "核心"),
    (ShareType.UNCONDITIONAL, "无条件共享"),
    (ShareType.CONDITIONAL, "有条件共享"),
    (ShareType.NONE, "不予共享"),
    (OpenType.UNCONDITIONAL, "无条件开放"),
    (OpenType.CONDITIONAL, "有条件开放"),
    (OpenType.NONE, "不予开放"),
    (UpdateCycle.REALTIME, "实时"),
    (UpdateCycle.DAILY, "每日"),
    (UpdateCycle.WEEKLY, "每周"),
    (UpdateCycle.MONTHLY, "每月"),
    (UpdateCycle.QUARTERLY, "每季度"),
    (UpdateCycle.YEARLY, "每年"),
    (UpdateCycle.IRREGULAR, "不定期"),
    (VersionStatus.DRAFT, "已注册"),
    (VersionStatus.MOUNTED, "已挂接"),
    (VersionStatus.SUBMITTED, "待审核"),
    (VersionStatus.RETURNED, "已退回"),
    (VersionStatus.PUBLISHED, "已发布"),
    (VersionStatus.SUPERSEDED, "已替代"),
    (ResourceState.DRAFT, "已注册"),
    (ResourceState.MOUNTED, "已挂接"),
    (ResourceState.SUBMITTED, "待审核"),
    (ResourceState.RETURNED, "已退回"),
    (ResourceState.PUBLISHED, "已发布"),
    (ResourceState.WITHDRAWN, "已下线"),
    (MountKind.DATASET, "数据中心分析库"),
    (MountKind.DATABASE, "部门数据库"),
    (MountKind.HTTP, "接口服务"),
    (EventKind.REGISTERED, "注册"),
    (EventKind.UPDATED, "修改"),
    (EventKind.MOUNTED, "挂接"),
    (EventKind.SUBMITTED, "提交审核"),
    (EventKind.PUBLISHED, "发布"),
    (EventKind.RETURNED, "退回"),
    (EventKind.VERSION_STARTED, "新建版本"),
    (EventKind.WITHDRAWN, "下线"),
]
LABELS: dict[tuple[type, str], str] = {(type(member), member.value): text for member, text in _PAIRS}


def by_label(enum: type[Labelled], text: str) -> Labelled | None:
    """The member whose Chinese label (or value) is ``text``, as people type it into a spreadsheet."""
    text = text.strip()
    for member in enum:
        if text in (member.label, member.value):
            return member
    return None


# --- problems ---------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Problem:
    """One thing wrong with metadata: a stable code, a Chinese message and the field (or 信息项) concerned."""

    code: str
    message: str
    field: str = ""
    item: int | None = None  # index of the 信息项, when the problem is in one


def refuse(problems: list[Problem]) -> None:
    if problems:
        first = problems[0]
        raise ValidationFailed(
            first.message,
            code=first.code,
            field=first.field,
            problems=[{"code": p.code, "message": p.message, "field": p.field} for p in problems],
        )


# --- resource codes ---------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Classification:
    top: TopClass
    item: str  # 项
    subject: str  # 目
    detail: str  # 细目, "" when the code has none

    @property
    def path(self) -> str:
        parts = [self.top.value, self.item, self.subject] + ([self.detail] if self.detail else [])
        return "-".join(parts)


def code_problems(code: str) -> list[Problem]:
    found = CODE_PATTERN.fullmatch(code)
    if found is None:
        return [
            Problem(
                "catalogue_code_invalid",
                f"资源代码“{code}”格式不正确：应为 类(1位，1–3)+项(2位)+目(3位)+细目(3位，可无)/顺序码(6位)，"
                "如 101001001/000001",
                "code",
            )
        ]
    _top, item, subject, detail, sequence = found.groups()
    if item == "00" or subject == "000" or detail == "000" or sequence == "000000":
        return [
            Problem("catalogue_code_zero_part", f"资源代码“{code}”的项、目、细目和顺序码不能全为 0", "code")
        ]
    return []


def classify(code: str) -> Classification:
    refuse(code_problems(code))
    found = CODE_PATTERN.fullmatch(code)
    assert found is not None
    top, item, subject, detail, _sequence = found.groups()
    return Classification(TopClass(top), item, subject, detail or "")


# --- metadata ---------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class InformationItem:
    """信息项: one field of the resource."""

    name: str
    label: str
    data_type: DataType = DataType.STRING
    length: int | None = None
    required: bool = False
    grade: Grade = Grade.INTERNAL
    # 小数位数, for 数值型 items only; left out, a 数值型 item gets DEFAULT_SCALE.
    scale: int | None = None

    def __post_init__(self) -> None:
        # Filled in here rather than at each entry point (form, sheet, pack, stored versions written before
        # items had a scale), so that "absent" and "2" are one value and compare, diff and export alike.
        if self.data_type is DataType.DECIMAL and self.scale is None:
            object.__setattr__(self, "scale", DEFAULT_SCALE)

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "label": self.label,
            "data_type": self.data_type.value,
            "length": self.length,
            "required": self.required,
            "grade": self.grade.value,
            "scale": self.scale,
        }

    @classmethod
    def of(cls, data: dict[str, Any]) -> InformationItem:
        return cls(
            name=data["name"],
            label=data["label"],
            data_type=DataType(data["data_type"]),
            length=data["length"],
            required=bool(data["required"]),
            grade=Grade(data["grade"]),
            scale=data.get("scale"),
        )


@dataclass(frozen=True)
class Metadata:
    """What a version says about the resource; the code and the provider belong to the resource itself."""

    name: str
    summary: str
    format: str
    items: tuple[InformationItem, ...]
    share_type: ShareType
    update_cycle: UpdateCycle
    share_conditions: str = ""
    share_basis: str = ""
    share_method: str = ""
    open_type: OpenType = OpenType.NONE
    open_conditions: str = ""
    release_date: date | None = None
    related_codes: tuple[str, ...] = ()

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "summary": self.summary,
            "format": self.format,
            "items": [i.as_dict() for i in self.items],
            "share_type": self.share_type.value,
            "share_conditions": self.share_conditions,
            "share_basis": self.share_basis,
            "share_method": self.share_method,
            "open_type": self.open_type.value,
            "open_conditions": self.open_conditions,
            "update_cycle": self.update_cycle.value,
            "release_date": self.release_date.isoformat() if self.release_date else None,
            "related_codes": list(self.related_codes),
        }

    @classmethod
    def of(cls, data: dict[str, Any]) -> Metadata:
        return cls(
            name=data["name"],
            summary=data["summary"],
            format=data["format"],
            items=tuple(InformationItem.of(i) for i in data["items"]),
            share_type=ShareType(data["share_type"]),
            share_conditions=data["share_conditions"],
            share_basis=data["share_basis"],
            share_method=data["share_method"],
            open_type=OpenType(data["open_type"]),
            open_conditions=data["open_conditions"],
            update_cycle=UpdateCycle(data["update_cycle"]),
            release_date=date.fromisoformat(data["release_date"]) if data["release_date"] else None,
            related_codes=tuple(data["related_codes"]),
        )


def _text(value: str, *, code: str, label: str, field: str, maximum: int, required: bool) -> list[Problem]:
    if required and not value:
        return [Problem(f"catalogue_{code}_required", f"请填写{label}", field)]
    if len(value) > maximum:
        return [Problem(f"catalogue_{code}_too_long", f"{label}不能超过 {maximum} 个字", field)]
    return []


def _item_problems(index: int, item: InformationItem) -> list[Problem]:
    where = f"第 {index + 1} 个信息项"
    found: list[Problem] = []
    if not FIELD_NAME.fullmatch(item.name):
        found.append(
            Problem(
                "catalogue_item_name_invalid",
                f"{where}的标识“{item.name}”无效：须以小写字母开头，只含小写字母、数字和下划线，不超过 63 位",
                "items",
                index,
            )
        )
    if not item.label:
        found.append(Problem("catalogue_item_label_required", f"{where}缺少中文名称", "items", index))
    elif len(item.label) > LABEL_MAX:
        found.append(
            Problem(
                "catalogue_item_label_too_long", f"{where}的名称不能超过 {LABEL_MAX} 个字", "items", index
            )
        )
    if item.length is not None and not 1 <= item.length <= MAX_LENGTH:
        found.append(
            Problem(
                "catalogue_item_length_invalid", f"{where}的数据长度须在 1–{MAX_LENGTH} 之间", "items", index
            )
        )
    if item.scale is not None and item.data_type is not DataType.DECIMAL:
        found.append(
            Problem(
                "catalogue_item_scale_not_decimal",
                f"{where}不是数值型，不能填写小数位数",
                "items",
                index,
            )
        )
    elif item.scale is not None and not 0 <= item.scale <= MAX_SCALE:
        found.append(
            Problem(
                "catalogue_item_scale_invalid", f"{where}的小数位数须在 0–{MAX_SCALE} 之间", "items", index
            )
        )
    return found


def metadata_problems(code: str, meta: Metadata) -> list[Problem]:
    """Every problem with the metadata, in form order (an import reports all of them at once)."""
    found = _text(meta.name, code="name", label="资源名称", field="name", maximum=NAME_MAX, required=True)
    found += _text(
        meta.summary, code="summary", label="资源摘要", field="summary", maximum=SUMMARY_MAX, required=True
    )
    found += _text(
        meta.format, code="format", label="资源格式", field="format", maximum=FORMAT_MAX, required=True
    )
    if not meta.items:
        found.append(Problem("catalogue_items_required", "至少须登记一个信息项", "items"))
    if len(meta.items) > MAX_FIELDS:
        found.append(Problem("catalogue_items_too_many", f"信息项不能超过 {MAX_FIELDS} 个", "items"))
    seen: set[str] = set()
    for index, item in enumerate(meta.items):
        found += _item_problems(index, item)
        if item.name in seen:
            found.append(
                Problem("catalogue_item_name_duplicate", f"信息项标识“{item.name}”重复", "items", index)
            )
        seen.add(item.name)
    found += _text(
        meta.share_conditions,
        code="share_conditions",
        label="共享条件",
        field="share_conditions",
        maximum=CONDITIONS_MAX,
        required=meta.share_type is ShareType.CONDITIONAL,
    )
    found += _text(
        meta.share_basis,
        code="share_basis",
        label="不予共享的法律法规或政策依据",
        field="share_basis",
        maximum=CONDITIONS_MAX,
        required=meta.share_type is ShareType.NONE,
    )
    found += _text(
        meta.share_method,
        code="share_method",
        label="共享方式",
        field="share_method",
        maximum=METHOD_MAX,
        required=False,
    )
    found += _text(
        meta.open_conditions,
        code="open_conditions",
        label="开放条件",
        field="open_conditions",
        maximum=CONDITIONS_MAX,
        required=meta.open_type is OpenType.CONDITIONAL,
    )
    if len(meta.related_codes) > MAX_RELATED:
        found.append(
            Problem("catalogue_related_too_many", f"关联资源不能超过 {MAX_RELATED} 个", "related_codes")
        )
    for related in meta.related_codes:
        for problem in code_problems(related):
            found.append(replace(problem, code="catalogue_related_code_invalid", field="related_codes"))
    if code in meta.related_codes:
        found.append(Problem("catalogue_related_self", "资源不能关联自身", "related_codes"))
    return found


def check_metadata(code: str, meta: Metadata) -> None:
    refuse(code_problems(code) + metadata_problems(code, meta))


# --- mounting ---------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Mount:
    """Where the resource's data lives. Credentials are never stored: ``secret_ref`` names where the
    platform finds them at run time (``env:NAME``, ``vault:path``, ``file:path``)."""

    kind: MountKind
    dataset: str = ""
    url: str = ""
    query: str = ""
    secret_ref: str = ""

    def as_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind.value,
            "dataset": self.dataset,
            "url": self.url,
            "query": self.query,
            "secret_ref": self.secret_ref,
        }

    @classmethod
    def of(cls, data: dict[str, Any]) -> Mount:
        return cls(MountKind(data["kind"]), data["dataset"], data["url"], data["query"], data["secret_ref"])


def _credential_problems(url: str) -> list[Problem]:
    parts = urlsplit(url)
    if parts.password:
        return [
            Problem(
                "catalogue_mount_secret_in_clear",
                "连接地址中不能包含密码，请把密码存入密钥库并填写密钥引用",
                "url",
            )
        ]
    for key, _value in parse_qsl(parts.query, keep_blank_values=True):
        if any(word in key.lower() for word in SECRET_WORDS):
            return [
                Problem(
                    "catalogue_mount_secret_in_clear",
                    f"连接地址的参数“{key}”像是凭据，请改用密钥引用",
                    "url",
                )
            ]
    return []


def mount_problems(mount: Mount) -> list[Problem]:
    found: list[Problem] = []
    if mount.secret_ref and not SECRET_REF_PATTERN.fullmatch(mount.secret_ref):
        found.append(
            Problem(
                "catalogue_mount_secret_ref_invalid",
                "密钥引用须形如 env:NAME、vault:路径 或 file:路径",
                "secret_ref",
            )
        )
    if mount.kind is MountKind.DATASET:
        if not DATASET_PATTERN.fullmatch(mount.dataset):
            found.append(
                Problem(
                    "catalogue_mount_dataset_invalid",
                    "数据集名称须以小写字母开头，只含小写字母、数字和下划线",
                    "dataset",
                )
            )
        return found
    scheme = urlsplit(mount.url).scheme.lower()
    if mount.kind is MountKind.DATABASE:
        if not scheme or "://" not in mount.url or scheme in ("http", "https"):
            found.append(
                Problem(
                    "catalogue_mount_url_invalid",
                    "请填写数据库连接地址（SQLAlchemy URL），如 postgresql+psycopg://用户@主机/库",
                    "url",
                )
            )
        if not mount.query.strip():
            found.append(Problem("catalogue_mount_query_required", "请填写取数查询语句", "query"))
    elif scheme not in ("http", "https") or not urlsplit(mount.url).netloc:
        found.append(Problem("catalogue_mount_url_invalid", "请填写 http 或 https 接口地址", "url"))
    return found + _credential_problems(mount.url)


# --- diff -------------------------------------------------------------------------------------------------
METADATA_LABELS = {
    "name": "资源名称",
    "summary": "资源摘要",
    "format": "资源格式",
    "share_type": "共享类型",
    "share_conditions": "共享条件",
    "share_basis": "不予共享依据",
    "share_method": "共享方式",
    "open_type": "开放类型",
    "open_conditions": "开放条件",
    "update_cycle": "更新周期",
    "release_date": "发布日期",
    "related_codes": "关联资源代码",
}
ITEM_LABELS = {
    "label": "名称",
    "data_type": "数据类型",
    "length": "数据长度",
    "required": "必填",
    "grade": "分级",
    "scale": "小数位数",
}


@dataclass(frozen=True)
class Change:
    key: str
    label: str
    before: Any
    after: Any


@dataclass(frozen=True)
class ItemChange:
    name: str
    changes: tuple[Change, ...]


@dataclass(frozen=True)
class Diff:
    metadata: tuple[Change, ...] = ()
    items_added: tuple[InformationItem, ...] = ()
    items_removed: tuple[InformationItem, ...] = ()
    items_changed: tuple[ItemChange, ...] = ()
    # Order of the items changed, though none was added, removed or altered.
    items_reordered: bool = False
    mount_changed: bool = False

    @property
    def empty(self) -> bool:
        return not (
            self.metadata
            or self.items_added
            or self.items_removed
            or self.items_changed
            or self.items_reordered
            or self.mount_changed
        )


def diff(
    before: Metadata, after: Metadata, *, mounts: tuple[Mount | None, Mount | None] = (None, None)
) -> Diff:
    """What changed from one version to the next, as a reviewer reads it."""
    old, new = before.as_dict(), after.as_dict()
    metadata = tuple(
        Change(key, label, old[key], new[key])
        for key, label in METADATA_LABELS.items()
        if old[key] != new[key]
    )
    old_items = {i.name: i for i in before.items}
    new_items = {i.name: i for i in after.items}
    changed = []
    for name, item in new_items.items():
        if name in old_items and old_items[name] != item:
            a, b = old_items[name].as_dict(), item.as_dict()
            changed.append(
                ItemChange(
                    name,
                    tuple(Change(k, label, a[k], b[k]) for k, label in ITEM_LABELS.items() if a[k] != b[k]),
                )
            )
    common_before = [n for n in old_items if n in new_items]
    common_after = [n for n in new_items if n in old_items]
    return Diff(
        metadata=metadata,
        items_added=tuple(i for n, i in new_items.items() if n not in old_items),
        items_removed=tuple(i for n, i in old_items.items() if n not in new_items),
        items_changed=tuple(changed),
        items_reordered=common_before != common_after,
        mount_changed=mounts[0] != mounts[1],
    )


# --- versions and resources -------------------------------------------------------------------------------
class TransitionRefused(Conflict):
    code = "catalogue_transition_refused"
    default_message = "资源当前状态不允许此操作，请刷新后重试"


EDITABLE = frozenset({VersionStatus.DRAFT, VersionStatus.MOUNTED, VersionStatus.RETURNED})


@dataclass(frozen=True)
class Version:
    resource_id: int
    number: int
    status: VersionStatus
    metadata: Metadata
    mount: Mount | None
    created_by: str
    created_at: datetime
    updated_at: datetime
    submitted_at: datetime | None = None
    reviewed_by: str = ""
    reviewed_at: datetime | None = None
    review_note: str = ""

    def _refuse(self, what: str) -> TransitionRefused:
        return TransitionRefused(
            f"版本 {self.number} {self.status.label}，不能{what}", status=self.status.value, action=what
        )

    def edit(self, metadata: Metadata, at: datetime) -> Version:
        if self.status not in EDITABLE:
            raise self._refuse("修改")
        if metadata.release_date is None:
            # 发布日期 is the first publication's; a form or sheet left blank does not erase it.
            metadata = replace(metadata, release_date=self.metadata.release_date)
        return replace(self, metadata=metadata, updated_at=at)

    def mounted(self, mount: Mount, at: datetime) -> Version:
        if self.status not in EDITABLE:
            raise self._refuse("挂接")
        status = VersionStatus.RETURNED if self.status is VersionStatus.RETURNED else VersionStatus.MOUNTED
        return replace(self, mount=mount, status=status, updated_at=at)

    def submitted(self, at: datetime) -> Version:
        if self.status not in (VersionStatus.MOUNTED, VersionStatus.RETURNED):
            raise self._refuse("提交审核")
        if self.mount is None:
            raise Conflict("请先挂接数据再提交审核", code="catalogue_not_mounted")
        return replace(self, status=VersionStatus.SUBMITTED, submitted_at=at, updated_at=at)

    def reviewed(self, publish: bool, reviewer: str, note: str, at: datetime, release: date) -> Version:
        if self.status is not VersionStatus.SUBMITTED:
            raise self._refuse("审核")
        if not publish:
            return replace(
                self,
                status=VersionStatus.RETURNED,
                reviewed_by=reviewer,
                reviewed_at=at,
                review_note=note,
                updated_at=at,
            )
        metadata = self.metadata
        if metadata.release_date is None:
            metadata = replace(metadata, release_date=release)
        return replace(
            self,
            status=VersionStatus.PUBLISHED,
            metadata=metadata,
            reviewed_by=reviewer,
            reviewed_at=at,
            review_note=note,
            updated_at=at,
        )


@dataclass(frozen=True)
class Resource:
    id: int
    code: str
    provider_organisation_id: int
    provider_code: str
    # The provider's division: the tenant, for scoping and later partitioning.
    division_code: str
    state: ResourceState
    published_version: int | None
    working_version: int | None
    created_by: str
    created_at: datetime
    updated_at: datetime
    # Optimistic lock: a change made from a stale copy is refused.
    lock: int = 0
    withdrawn_reason: str = ""

    @property
    def classification(self) -> Classification:
        return classify(self.code)

    def follow(self, working: Version, at: datetime) -> Resource:
        """The resource after its working version changed: unpublished resources wear its status."""
        if self.state is ResourceState.WITHDRAWN:
            raise TransitionRefused("资源已下线，不能再修改", state=self.state.value)
        if working.status is VersionStatus.PUBLISHED:
            return replace(
                self,
                state=ResourceState.PUBLISHED,
                published_version=working.number,
                working_version=None,
                updated_at=at,
            )
        if self.published_version is not None:
            return replace(self, working_version=working.number, updated_at=at)
        return replace(
            self, state=ResourceState(working.status.value), working_version=working.number, updated_at=at
        )

    def start_version(self, at: datetime) -> tuple[Resource, int]:
        if self.state is not ResourceState.PUBLISHED:
            raise TransitionRefused("只有已发布的资源才能新建版本", state=self.state.value)
        if self.working_version is not None:
            raise Conflict(
                f"版本 {self.working_version} 尚未发布，请在该版本上修改", code="catalogue_version_open"
            )
        assert self.published_version is not None
        number = self.published_version + 1
        return replace(self, working_version=number, updated_at=at), number

    def withdraw(self, reason: str, at: datetime) -> Resource:
        if self.state is not ResourceState.PUBLISHED:
            raise TransitionRefused(f"资源{self.state.label}，不能下线", state=self.state.value)
        return replace(
            self, state=ResourceState.WITHDRAWN, working_version=None, withdrawn_reason=reason, updated_at=at
        )


@dataclass(frozen=True)
class HistoryEntry:
    id: int
    resource_id: int
    version_number: int | None
    kind: EventKind
    from_state: str
    to_state: str
    actor: str
    actor_kind: str
    actor_user_id: int | None
    note: str
    detail: dict[str, Any]
    occurred_at: datetime
