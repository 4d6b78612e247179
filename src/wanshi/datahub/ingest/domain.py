"""Aggregation (归集) domain: the target schema, the field mapping, a load's identity and its counts.

Pure Python: the vectorised work lives in ``transform``; this module only says what is to be done.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from wanshi.kernel.errors import ValidationFailed, WanshiError

FIELD_NAME = re.compile(r"^[a-z][a-z0-9_]{0,62}$")
# Lineage columns added to every stored row; target fields may not start with an underscore.
SOURCE_COLUMN = "_source"
LOADED_AT_COLUMN = "_loaded_at"
ROW_COLUMN = "_row"
# Quarantine rows keep the reasons beside the original values.
REASON_CODES_COLUMN = "_reason_codes"
REASONS_COLUMN = "_reasons"
QUARANTINE_SUFFIX = "__quarantine"
MAX_DECIMAL_SCALE = 18


class FieldType(StrEnum):
    STRING = "string"
    INTEGER = "integer"
    DECIMAL = "decimal"
    DATE = "date"
    DATETIME = "datetime"
    BOOLEAN = "boolean"


class Identifier(StrEnum):
    """Identifier checks a field can ask for (GB 11643 居民身份证号码)."""

    RESIDENT_ID = "resident_id"


class SourceFormat(StrEnum):
    CSV = "csv"
    XLSX = "xlsx"
    JSONL = "jsonl"
    PARQUET = "parquet"
    PUSH = "push"
    DATABASE = "database"


class LoadStatus(StrEnum):
    RUNNING = "running"
    COMPLETE = "complete"
    FAILED = "failed"


class Reason(StrEnum):
    """Stable reason codes of quarantined rows; the Chinese text is ``reason_text``."""

    REQUIRED = "required"
    TOO_LONG = "too_long"
    NOT_INTEGER = "not_integer"
    NOT_DECIMAL = "not_decimal"
    NOT_DATE = "not_date"
    NOT_DATETIME = "not_datetime"
    NOT_BOOLEAN = "not_boolean"
    RESIDENT_ID = "invalid_resident_id"


_REASON_TEXT = {
    Reason.REQUIRED: "必填项为空",
    Reason.TOO_LONG: "超过最大长度{max_length}",
    Reason.NOT_INTEGER: "不是整数",
    Reason.NOT_DECIMAL: "不是小数或小数位超过{scale}位",
    Reason.NOT_DATE: "不是可识别的日期（如2020-10-24、2020/10/24、20201024、2020年10月24日）",
    Reason.NOT_DATETIME: "不是可识别的日期时间（如2020-10-24 08:30:00）",
    Reason.NOT_BOOLEAN: "不是可识别的是/否值",
    Reason.RESIDENT_ID: "不是有效的居民身份证号码（位数、出生日期或校验码错误）",
}


@dataclass(frozen=True)
class FieldSpec:
    name: str
    label: str
    type: FieldType = FieldType.STRING
    required: bool = False
    max_length: int | None = None
    # Decimal fields are stored as decimal128(38, scale); more fractional digits are quarantined.
    scale: int = 2
    identifier: Identifier | None = None

    def reason_text(self, reason: Reason) -> str:
        detail = _REASON_TEXT[reason].format(max_length=self.max_length, scale=self.scale)
        return f"{self.label}（{self.name}）{detail}"


@dataclass(frozen=True)
class TargetSchema:
    fields: tuple[FieldSpec, ...]

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(f.name for f in self.fields)

    def as_dict(self) -> dict[str, Any]:
        return {
            "fields": [
                {
                    "name": f.name,
                    "label": f.label,
                    "type": f.type.value,
                    "required": f.required,
                    "max_length": f.max_length,
                    "scale": f.scale,
                    "identifier": f.identifier.value if f.identifier else None,
                }
                for f in self.fields
            ]
        }


def parse_schema(data: Mapping[str, Any] | Sequence[Mapping[str, Any]]) -> TargetSchema:
    """A schema from plain data (a YAML file, the catalogue's DTO): ``{"fields": [{name, label, ...}]}``."""
    raw = data.get("fields") if isinstance(data, Mapping) else data
    if not isinstance(raw, Sequence) or not raw:
        raise ValidationFailed("目标结构须列出至少一个字段", field="fields")
    fields: list[FieldSpec] = []
    for item in raw:
        if not isinstance(item, Mapping):
            raise ValidationFailed("目标结构的每个字段须为键值对象", field="fields")
        fields.append(_parse_field(item))
    names = [f.name for f in fields]
    if len(set(names)) != len(names):
        raise ValidationFailed("目标结构中字段名重复", field="fields")
    return TargetSchema(tuple(fields))


def _parse_field(item: Mapping[str, Any]) -> FieldSpec:
    name = str(item.get("name", ""))
    if not FIELD_NAME.match(name):
        raise ValidationFailed(
            f"字段名“{name}”无效：须以小写字母开头，只含小写字母、数字和下划线", field="name"
        )
    try:
        kind = FieldType(str(item.get("type", "string")))
        identifier = Identifier(str(item["identifier"])) if item.get("identifier") else None
    except ValueError as exc:
        raise ValidationFailed(f"字段“{name}”的类型或标识符无效：{exc}", field=name) from None
    max_length = item.get("max_length")
    scale = int(item.get("scale", 2))
    if max_length is not None and int(max_length) < 1:
        raise ValidationFailed(f"字段“{name}”的最大长度须为正数", field=name)
    if not 0 <= scale <= MAX_DECIMAL_SCALE:
        raise ValidationFailed(f"字段“{name}”的小数位须在0–{MAX_DECIMAL_SCALE}之间", field=name)
    return FieldSpec(
        name=name,
        label=str(item.get("label") or name),
        type=kind,
        required=bool(item.get("required", False)),
        max_length=None if max_length is None else int(max_length),
        scale=scale,
        identifier=identifier,
    )


@dataclass(frozen=True)
class FieldMapping:
    """Target field -> source column. A field left out is read from the column of the same name, or
    else from the column headed with its Chinese label (exports are headed 身份证号, not id_number)."""

    columns: Mapping[str, str] = field(default_factory=dict)

    def resolve(self, schema: TargetSchema, source_columns: Sequence[str]) -> dict[str, str | None]:
        """Target field -> source column present in the source, or None when the source lacks it."""
        unknown = set(self.columns) - set(schema.names)
        if unknown:
            raise ValidationFailed(
                f"映射中的字段不在目标结构中：{'、'.join(sorted(unknown))}", field="mapping"
            )
        present = set(source_columns)
        resolved: dict[str, str | None] = {}
        for spec in schema.fields:
            if spec.name in self.columns:
                column = self.columns[spec.name]
                resolved[spec.name] = column if column in present else None
            elif spec.name in present:
                resolved[spec.name] = spec.name
            else:
                resolved[spec.name] = spec.label if spec.label in present else None
        return resolved


def load_key(content_hash: str, dataset: str, schema: TargetSchema, mapping: FieldMapping) -> str:
    """A load's identity: the same content loaded the same way into the same dataset is the same load."""
    recipe = json.dumps(
        {"dataset": dataset, "schema": schema.as_dict(), "mapping": dict(sorted(mapping.columns.items()))},
        ensure_ascii=False,
        sort_keys=True,
    )
    return hashlib.sha256(f"{content_hash}\n{recipe}".encode()).hexdigest()


def batch_id(key: str, chunk: int) -> str:
    # 24 hex digits (96 bits) of the load key keep ids short and collisions out of reach.
    return f"{key[:24]}-{chunk:06d}"


def batch_prefix(key: str) -> str:
    return f"{key[:24]}-"


@dataclass(frozen=True)
class LoadCounts:
    read: int = 0
    stored: int = 0
    quarantined: int = 0
    duplicate: int = 0
    chunks: int = 0

    def __add__(self, other: LoadCounts) -> LoadCounts:
        return LoadCounts(
            self.read + other.read,
            self.stored + other.stored,
            self.quarantined + other.quarantined,
            self.duplicate + other.duplicate,
            self.chunks + other.chunks,
        )


@dataclass(frozen=True)
class Load:
    id: int
    dataset: str
    source: str
    format: SourceFormat
    content_hash: str
    load_key: str
    encoding: str
    status: LoadStatus
    counts: LoadCounts
    started_at: datetime
    finished_at: datetime | None
    created_by: str
    error: str = ""
    # True when this call found the load already complete and added nothing.
    repeated: bool = False
    # Whose data it is: the catalogue resource loaded into and its provider (None for loads made
    # without a resource, such as the CLI's), for scoping the loads console.
    resource_code: str = ""
    organisation_id: int | None = None
    division_code: str = ""


@dataclass(frozen=True)
class LoadOwner:
    """The catalogue resource a load fills, and the provider the load belongs to."""

    resource_code: str
    organisation_id: int
    division_code: str


@dataclass(frozen=True)
class PullSchedule:
    """A database-mounted resource pulled every ``interval_seconds`` into ``dataset``."""

    id: int
    resource_code: str
    dataset: str
    watermark_column: str
    interval_seconds: int
    enabled: bool
    next_run_at: datetime
    organisation_id: int
    division_code: str
    created_by: str
    last_run_at: datetime | None = None
    last_load_id: int | None = None
    last_status: str = ""
    last_error: str = ""


@dataclass(frozen=True)
class LoadScope:
    """Which loads a reader sees: everything, or those of some providers and of some division subtrees;
    loads made without a provider (the CLI's) only with ``unowned``."""

    everything: bool = False
    organisations: frozenset[int] = frozenset()
    divisions: tuple[str, ...] = ()
    unowned: bool = False


class PayloadTooLarge(WanshiError):
    code = "ingest_payload_too_large"
    http_status = 413
    default_message = "提交的数据过大"
