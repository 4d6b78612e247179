"""The declarative rule model (DC-4): rule files in YAML or JSON, validated into typed rules.

Every rule has a stable id (quality scores and tickets refer to it across versions of the file), a
Chinese message for the data provider and a severity. Mistakes in a file raise ``RuleFileError`` with a
stable code in ``details["reason"]`` and a Chinese message that names the rule and the field.
"""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Annotated, Any, Literal

import duckdb
import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from wanshi.kernel.errors import ValidationFailed

Severity = Literal["error", "warning", "info"]
RULE_ID = r"^[a-z][a-z0-9_.-]{0,63}$"
FIELD = r"^[A-Za-z_][A-Za-z0-9_]{0,62}$"
DATASET = r"^[a-z][a-z0-9_]{0,62}$"


class RuleFileError(ValidationFailed):
    code = "quality_rule_invalid"
    default_message = "质量规则文件有误"


class _Rule(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(pattern=RULE_ID)
    field: str = Field(pattern=FIELD)
    message: str = Field(min_length=1)
    severity: Severity = "error"


class NotNullRule(_Rule):
    kind: Literal["not_null"]
    blank_is_null: bool = True  # an empty or all-space string is as missing as NULL for a provider


class FormatRule(_Rule):
    """The value matches a regular expression (DuckDB/RE2 syntax), anchored at both ends."""

    kind: Literal["format"]
    pattern: str = Field(min_length=1)


class CodeTableRule(_Rule):
    """The value is in a list given here or in a named code table handed to the engine ("division")."""

    kind: Literal["code_table"]
    values: tuple[str, ...] | None = None
    table: str | None = Field(default=None, pattern=DATASET)

    @model_validator(mode="after")
    def _one_source(self) -> CodeTableRule:
        if (self.values is None) == (self.table is None):
            raise ValueError("code_table_source")
        return self


class IdChecksumRule(_Rule):
    """居民身份证号码: 18 characters, digits, a real birth date, the GB 11643 check character."""

    kind: Literal["id_checksum"]
    skip_null: bool = False


class UsccChecksumRule(_Rule):
    """统一社会信用代码: charset, the GB 32100 check character and the embedded 组织机构代码 check."""

    kind: Literal["uscc_checksum"]
    skip_null: bool = False
    check_org_code: bool = True


class RangeRule(_Rule):
    """Numbers or dates between min and max, both inclusive; either may be left open."""

    kind: Literal["range"]
    min: float | date | None = None
    max: float | date | None = None

    @model_validator(mode="after")
    def _bounds(self) -> RangeRule:
        if self.min is None and self.max is None:
            raise ValueError("range_empty")
        if self.min is not None and self.max is not None:
            if isinstance(self.min, date) != isinstance(self.max, date):
                raise ValueError("range_mixed")
            if self.min > self.max:  # type: ignore[operator]
                raise ValueError("range_inverted")
        return self


class UniqueRule(_Rule):
    kind: Literal["unique"]


class ReferentialRule(_Rule):
    """The value exists in a column of another dataset of the store."""

    kind: Literal["referential"]
    dataset: str = Field(pattern=DATASET)
    column: str = Field(pattern=FIELD)


class CrossFieldRule(_Rule):
    """A fact inside the ID number (``field``) agrees with another field of the same row."""

    kind: Literal["cross_field"]
    check: Literal["id_birth_date", "id_sex"]
    other: str = Field(pattern=FIELD)
    male: str = "男"
    female: str = "女"


class TimelinessRule(_Rule):
    """The newest load is not older than the update cycle; evaluated from metadata, not from rows.
    ``field`` names the load-time column the metadata was taken from (for the report only)."""

    kind: Literal["timeliness"]
    max_age_days: float | None = Field(default=None, gt=0)  # None: the resource's update cycle


Rule = Annotated[
    NotNullRule
    | FormatRule
    | CodeTableRule
    | IdChecksumRule
    | UsccChecksumRule
    | RangeRule
    | UniqueRule
    | ReferentialRule
    | CrossFieldRule
    | TimelinessRule,
    Field(discriminator="kind"),
]


class RuleSet(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    dataset: str = Field(pattern=DATASET)
    key: str = Field(pattern=FIELD)  # the row key reported for failing rows
    rules: tuple[Rule, ...] = Field(min_length=1)

    @model_validator(mode="after")
    def _unique_ids(self) -> RuleSet:
        seen: set[str] = set()
        for rule in self.rules:
            if rule.id in seen:
                raise ValueError(f"duplicate_rule_id:{rule.id}")
            seen.add(rule.id)
        return self


# Stable reason codes with their Chinese wording; pydantic's own error types map onto them.
_REASONS = {
    "syntax": "无法解析",
    "not_mapping": "顶层应为对象（包含 dataset、key、rules）",
    "missing": "缺少必填项",
    "unknown_kind": "规则类型未知，可用：not_null、format、code_table、id_checksum、uscc_checksum、range、"
    "unique、referential、cross_field、timeliness",
    "unknown_key": "含有未知的配置项",
    "bad_id": "规则编号须以小写字母开头，只含小写字母、数字和 _ . -（最长64位）",
    "bad_name": "字段名或数据集名称无效",
    "bad_value": "取值无效",
    "code_table_source": "代码表规则须且只能指定 values（代码列表）或 table（代码表名称）之一",
    "range_empty": "范围规则至少要指定 min 或 max",
    "range_mixed": "范围规则的 min 和 max 须同为数值或同为日期",
    "range_inverted": "范围规则的 min 不能大于 max",
    "duplicate_rule_id": "规则编号重复",
    "bad_pattern": "正则表达式无效",
    "empty": "规则列表不能为空",
}


def load_rules(source: str | Path, *, format: Literal["yaml", "json"] | None = None) -> RuleSet:
    """A rule set from a file path or from YAML/JSON text (JSON is YAML, so YAML is the default)."""
    if isinstance(source, Path):
        where = source.name
        fmt = format or ("json" if source.suffix.lower() == ".json" else "yaml")
        text = source.read_text(encoding="utf-8")
    else:
        where, fmt, text = "规则文件", format or "yaml", source
    try:
        data = json.loads(text) if fmt == "json" else yaml.safe_load(text)
    except (json.JSONDecodeError, yaml.YAMLError) as exc:
        raise RuleFileError(f"{where}{_REASONS['syntax']}：{exc}", reason="syntax") from None
    return parse_rules(data, where=where)


def parse_rules(data: Any, *, where: str = "规则文件") -> RuleSet:
    if not isinstance(data, dict):
        raise RuleFileError(f"{where}：{_REASONS['not_mapping']}", reason="not_mapping")
    try:
        rule_set = RuleSet.model_validate(data)
    except ValidationError as exc:
        raise _explain(exc, data, where) from None
    for rule in rule_set.rules:
        if isinstance(rule, FormatRule):
            _check_pattern(rule, where)
    return rule_set


def _check_pattern(rule: FormatRule, where: str) -> None:
    # The engine runs patterns in DuckDB (RE2: \p{Han} works, look-arounds do not), so DuckDB judges them.
    conn = duckdb.connect()
    try:
        conn.execute("SELECT regexp_full_match('', ?)", [rule.pattern])
    except duckdb.Error as exc:
        raise RuleFileError(
            f"{where}：规则“{rule.id}”的{_REASONS['bad_pattern']}：{exc}", reason="bad_pattern", rule=rule.id
        ) from None
    finally:
        conn.close()


def _explain(exc: ValidationError, data: dict[str, Any], where: str) -> RuleFileError:
    error = exc.errors()[0]
    loc = error["loc"]
    rule_id: str | None = None
    if len(loc) >= 2 and loc[0] == "rules" and isinstance(loc[1], int):
        rules = data.get("rules")
        if isinstance(rules, list) and loc[1] < len(rules) and isinstance(rules[loc[1]], dict):
            rule_id = str(rules[loc[1]].get("id", f"第{loc[1] + 1}条"))
        else:
            rule_id = f"第{loc[1] + 1}条"
    names = [str(part) for part in loc if not isinstance(part, int)]
    # A discriminated union puts the rule kind in the location; it is not a field the author wrote.
    field = next((n for n in reversed(names) if n != "rules" and n not in _KINDS), None)
    reason = _reason(error)
    if error["type"] == "union_tag_not_found":
        field = "kind"
    detail = _REASONS[reason]
    if reason == "duplicate_rule_id":
        rule_id = str(error.get("ctx", {}).get("error", "")).split(":", 1)[-1] or rule_id
    subject = f"规则“{rule_id}”" if rule_id else ""
    at = f"的配置项“{field}”" if field and reason not in _MODEL_REASONS else ""
    return RuleFileError(f"{where}：{subject}{at}{detail}", reason=reason, rule=rule_id, field=field)


_KINDS = frozenset(
    ("not_null", "format", "code_table", "id_checksum", "uscc_checksum", "range", "unique",
     "referential", "cross_field", "timeliness")
)  # fmt: skip
_MODEL_REASONS = frozenset(
    ("code_table_source", "range_empty", "range_mixed", "range_inverted", "duplicate_rule_id")
)


def _reason(error: Any) -> str:
    kind = error["type"]
    if kind in ("union_tag_invalid", "union_tag_not_found"):
        return "unknown_kind" if kind == "union_tag_invalid" else "missing"
    if kind == "missing":
        return "missing"
    if kind == "extra_forbidden":
        return "unknown_key"
    if kind == "too_short":
        return "empty"
    if kind == "string_pattern_mismatch":
        return "bad_id" if error["loc"][-1] == "id" else "bad_name"
    if kind == "value_error":
        message = str(error.get("ctx", {}).get("error", ""))
        code = message.split(":", 1)[0]
        if code in _REASONS:
            return code
    return "bad_value"
