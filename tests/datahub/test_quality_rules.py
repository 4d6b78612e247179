"""Rule files load from YAML and JSON; mistakes give a Chinese message and a stable reason code."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from wanshi.datahub.quality import RuleFileError, load_rules
from wanshi.datahub.quality.rules import IdChecksumRule, RangeRule

GOOD = """
dataset: population
key: record_id
rules:
  - {id: id.checksum, kind: id_checksum, field: id_number, message: 身份证号码无效}
  - {id: birth.range, kind: range, field: birth_date, min: 1900-01-01, max: 2026-06-30,
     message: 出生日期超出范围, severity: warning}
"""


def test_yaml_and_json_files_load(tmp_path: Path) -> None:
    rules = load_rules(GOOD)
    assert isinstance(rules.rules[0], IdChecksumRule)
    assert isinstance(rules.rules[1], RangeRule)
    assert rules.rules[1].severity == "warning"
    path = tmp_path / "rules.json"
    path.write_text(json.dumps(rules.model_dump(mode="json")), encoding="utf-8")
    assert load_rules(path) == rules


def one(rule: str) -> str:
    return f"dataset: population\nkey: k\nrules:\n  - {rule}\n"


@pytest.mark.parametrize(
    ("text", "reason", "words"),
    [
        ("dataset: [", "syntax", "无法解析"),
        ("- 1", "not_mapping", "顶层"),
        ("dataset: population\nkey: k\nrules: []", "empty", "不能为空"),
        (one("{id: a, kind: nope, field: f, message: m}"), "unknown_kind", "规则类型未知"),
        (one("{id: a, field: f, message: m}"), "missing", "kind"),
        (one("{id: a, kind: not_null, field: f}"), "missing", "message"),
        (one("{id: a, kind: not_null, field: f, message: m, colour: red}"), "unknown_key", "colour"),
        (one("{id: A!, kind: not_null, field: f, message: m}"), "bad_id", "规则编号"),
        (one("{id: a, kind: not_null, field: 'a b', message: m}"), "bad_name", "字段名"),
        (one("{id: a, kind: range, field: f, message: m}"), "range_empty", "min 或 max"),
        (one("{id: a, kind: range, field: f, message: m, min: 5, max: 1}"), "range_inverted", "不能大于"),
        (one("{id: a, kind: range, field: f, message: m, min: 5, max: 2020-01-01}"), "range_mixed", "同为"),
        (one("{id: a, kind: code_table, field: f, message: m}"), "code_table_source", "values"),
        (one("{id: a, kind: format, field: f, message: m, pattern: '[a'}"), "bad_pattern", "正则表达式"),
        (one("{id: a, kind: not_null, field: f, message: m, severity: fatal}"), "bad_value", "取值无效"),
        (
            one(
                "{id: a, kind: not_null, field: f, message: m}\n"
                "  - {id: a, kind: unique, field: f, message: m}"
            ),
            "duplicate_rule_id",
            "重复",
        ),
    ],
)
def test_mistakes_have_stable_codes_and_chinese_messages(text: str, reason: str, words: str) -> None:
    with pytest.raises(RuleFileError) as caught:
        load_rules(text)
    assert caught.value.error_code == "quality_rule_invalid"
    assert caught.value.details["reason"] == reason
    assert words in caught.value.message
