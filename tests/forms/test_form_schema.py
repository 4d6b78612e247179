"""The form definition document: what the validator refuses, in Chinese."""

from __future__ import annotations

from typing import Any

import pytest
from forms_world import MARRIAGE

from wanshi.forms.domain.schema import FieldType, parse_form
from wanshi.kernel.errors import ValidationFailed


def broken(change: dict[str, Any]) -> str:
    document = {"title": "测试表单", "fields": [{"key": "a", "type": "text", "label": "甲"}], **change}
    with pytest.raises(ValidationFailed) as caught:
        parse_form(document)
    assert caught.value.error_code == "form_invalid"
    return caught.value.message


def test_the_reference_form_is_valid_and_round_trips() -> None:
    document = parse_form(MARRIAGE)
    again = parse_form(document.model_dump(mode="json"))
    assert again == document
    assert {f.type for f in document.walk()} >= {FieldType.REPEAT, FieldType.COMPUTED, FieldType.RADIO}


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (
            {
                "fields": [
                    {"key": "a", "type": "text", "label": "甲"},
                    {"key": "a", "type": "text", "label": "乙"},
                ]
            },
            "重复",
        ),
        ({"fields": [{"key": "A1", "type": "text", "label": "甲"}]}, "字段标识“A1”无效"),
        ({"fields": [{"key": "csrf_token", "type": "text", "label": "甲"}]}, "保留"),
        ({"fields": [{"key": "a", "type": "select", "label": "甲"}]}, "至少需要一个选项"),
        ({"fields": [{"key": "a", "type": "group", "label": "甲"}]}, "至少需要一个子字段"),
        ({"fields": [{"key": "a", "type": "computed", "label": "甲"}]}, "计算字段必须有公式"),
        (
            {"fields": [{"key": "a", "type": "file", "label": "甲", "prefill": "account.name"}]},
            "不能设置预填",
        ),
        (
            {
                "fields": [
                    {
                        "key": "a",
                        "type": "text",
                        "label": "甲",
                        "visible_when": {"all": [{"field": "zz", "op": "filled"}]},
                    }
                ]
            },
            "引用的字段“zz”不存在",
        ),
        (
            {"rules": [{"name": "规则", "when": {}, "then": [{"action": "hide", "target": "nope"}]}]},
            "作用的字段“nope”不存在",
        ),
        (
            {"fields": [{"key": "a", "type": "text", "label": "甲", "validation": {"pattern": "("}}]},
            "正则表达式",
        ),
        (
            {
                "fields": [
                    {
                        "key": "a",
                        "type": "text",
                        "label": "甲",
                        "validation": {"min_length": 5, "max_length": 2},
                    }
                ]
            },
            "最少字数不能大于最多字数",
        ),
        ({"title": "甲"}, "title"),
        ({"fields": []}, "fields"),
        ({"surprise": 1}, "surprise"),
    ],
)
def test_invalid_definitions_are_refused_with_a_reason(change: dict[str, Any], expected: str) -> None:
    assert expected in broken(change)


def test_nested_repeats_are_refused() -> None:
    inner = {
        "key": "inner",
        "type": "repeat",
        "label": "内",
        "children": [{"key": "x", "type": "text", "label": "X"}],
    }
    message = broken({"fields": [{"key": "outer", "type": "repeat", "label": "外", "children": [inner]}]})
    assert "不能再嵌套明细表" in message
