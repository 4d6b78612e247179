"""The designer's plain controls become pieces of a definition: options, conditions, rules, other sources."""

from __future__ import annotations

from wanshi.forms import designer_input
from wanshi.forms.domain.schema import parse_form


def test_a_field_from_the_editor_with_options_condition_layout_and_an_e_licence_source() -> None:
    field = designer_input.field_from(
        {
            "key": "licence_no",
            "type": "select",
            "label": "证照",
            "options": "a=甲\n乙\n\n",
            "required": "on",
            "width": "6",
            "new_row": "on",
            "vis0_field": "kind",
            "vis0_op": "in",
            "vis0_value": "x，y",
            "vis1_field": "other",
            "vis1_op": "filled",
            "visjoin": "any",
            "prefill": designer_input.OTHER_SOURCE,
            "prefill_other": "licence.DL.number",
        }
    )
    assert field["options"] == [{"value": "a", "label": "甲"}, {"value": "乙", "label": "乙"}]
    assert field["validation"] == {"required": True}
    assert field["layout"] == {"width": 6, "new_row": True}
    assert field["visible_when"] == {
        "any": [{"field": "kind", "op": "in", "value": ["x", "y"]}, {"field": "other", "op": "filled"}]
    }
    assert field["prefill"] == "licence.DL.number"
    document = parse_form(
        {
            "title": "测试表单",
            "fields": [
                {"key": "kind", "type": "text", "label": "类别"},
                {"key": "other", "type": "text", "label": "其他"},
                field,
            ],
        }
    )
    assert document.field("licence_no") is not None


def test_an_empty_other_source_means_no_prefill_and_a_bad_number_is_left_for_the_validator() -> None:
    field = designer_input.field_from(
        {"key": "a", "type": "text", "label": "甲", "prefill": designer_input.OTHER_SOURCE, "max_length": "x"}
    )
    assert "prefill" not in field
    assert field["validation"] == {"max_length": "x"}


def test_a_rule_from_the_editor() -> None:
    rule = designer_input.rule_from(
        {
            "name": "外籍须填护照",
            "when0_field": "nationality",
            "when0_op": "ne",
            "when0_value": "CN",
            "then0_action": "require",
            "then0_target": "passport",
            "then1_action": "set",
            "then1_target": "fee",
            "then1_value": "0",
        }
    )
    assert rule == {
        "name": "外籍须填护照",
        "when": {"all": [{"field": "nationality", "op": "ne", "value": "CN"}]},
        "then": [
            {"action": "require", "target": "passport"},
            {"action": "set", "target": "fee", "value": "0"},
        ],
    }
