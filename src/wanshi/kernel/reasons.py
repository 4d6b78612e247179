"""Pydantic's validation errors in Chinese, for every context that validates documents with pydantic."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

TYPE_REASONS = {
    "missing": "必须填写",
    "extra_forbidden": "不是可识别的要素",
    "enum": "取值不在允许范围内",
    "literal_error": "取值不在允许范围内",
    "string_too_short": "不能为空",
    "too_short": "不能为空",
    "int_type": "应为整数",
    "int_parsing": "应为整数",
    "int_from_float": "应为整数",
    "bool_type": "应为“是”或“否”",
    "bool_parsing": "应为“是”或“否”",
    "string_type": "应为文字",
    "model_type": "应为对象",
    "model_attributes_type": "应为对象",
    "dict_type": "应为对象",
    "tuple_type": "应为列表",
    "list_type": "应为列表",
}


def reason(error: Mapping[str, Any]) -> str:
    """A pydantic error's reason in Chinese, without its location."""
    kind = str(error.get("type", ""))
    context = error.get("ctx") or {}
    message = str(error.get("msg", ""))
    if message.startswith("Value error, "):
        return message.removeprefix("Value error, ")
    if kind in TYPE_REASONS:
        return TYPE_REASONS[kind]
    if kind == "too_long":
        return f"最多 {context.get('max_length')} 项"
    if kind == "string_too_long":
        return f"不得超过 {context.get('max_length')} 个字"
    if kind in ("greater_than_equal", "less_than_equal"):
        bound = "不得小于" if kind == "greater_than_equal" else "不得大于"
        return f"{bound} {context.get('ge', context.get('le'))}"
    return message
