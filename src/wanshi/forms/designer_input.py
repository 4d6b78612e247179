"""Reading the designer's HTML forms into pieces of a form definition.

A clerk never sees JSON: every control of the designer is a plain input, and this module turns what was
posted into the field, rule or settings document the domain edits take. Rules about what is valid stay in
the domain; this only translates names and shapes, dropping what was left empty.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from wanshi.forms.domain.schema import FieldType, Op

Posted = Mapping[str, str]
OTHER_SOURCE = "__other__"
CLAUSES = 3
EFFECTS = 2
TEXT_KEYS = ("help", "placeholder", "unit", "expression", "prefill", "source")
INT_RULES = ("min_length", "max_length", "decimals", "min_items", "max_items", "max_file_mb")
TEXT_RULES = ("minimum", "maximum", "pattern", "pattern_message", "earliest", "latest")


def _text(posted: Posted, name: str) -> str:
    return str(posted.get(name, "") or "").strip()


def _flag(posted: Posted, name: str) -> bool:
    return _text(posted, name) in ("on", "true", "1")


def _int(posted: Posted, name: str) -> int | str | None:
    text = _text(posted, name)
    if not text:
        return None
    # A non-number is passed on as typed, so the definition's validator names the problem in Chinese.
    return int(text) if text.lstrip("-").isdigit() else text


def options_from_text(text: str) -> list[dict[str, str]]:
    """One option per line: "值=显示文字", or only the text, which then is its own value."""
    out = []
    for raw_line in text.splitlines():
        line = raw_line.strip()
        if not line:
            continue
        value, sep, label = line.partition("=")
        if sep:
            out.append({"value": value.strip(), "label": label.strip()})
        else:
            out.append({"value": line, "label": line})
    return out


def options_to_text(options: Any) -> str:
    return "\n".join(o.value if o.value == o.label else f"{o.value}={o.label}" for o in options)


def _clause(posted: Posted, prefix: str) -> dict[str, Any] | None:
    field, op = _text(posted, f"{prefix}field"), _text(posted, f"{prefix}op")
    if not field or not op:
        return None
    clause: dict[str, Any] = {"field": field, "op": op}
    if op in (Op.IN.value, Op.NOT_IN.value):
        clause["value"] = [
            v.strip() for v in _text(posted, f"{prefix}value").replace("，", ",").split(",") if v.strip()
        ]
    elif op not in (Op.FILLED.value, Op.EMPTY.value):
        clause["value"] = _text(posted, f"{prefix}value")
    return clause


def condition_from(posted: Posted, prefix: str) -> dict[str, Any] | None:
    """Up to three clauses ``{prefix}{n}_field/op/value`` joined by ``{prefix}join`` (all or any)."""
    clauses = [c for n in range(CLAUSES) if (c := _clause(posted, f"{prefix}{n}_")) is not None]
    if not clauses:
        return None
    join = "any" if _text(posted, f"{prefix}join") == "any" else "all"
    return {join: clauses}


def field_from(posted: Posted, *, children: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    kind = _text(posted, "type")
    field: dict[str, Any] = {"key": _text(posted, "key"), "type": kind, "label": _text(posted, "label")}
    for name in TEXT_KEYS:
        if _text(posted, name):
            field[name] = _text(posted, name)
    if field.get("prefill") == OTHER_SOURCE:
        # A source the list cannot offer in full (an e-licence type), typed in.
        field["prefill"] = _text(posted, "prefill_other")
        if not field["prefill"]:
            del field["prefill"]
    if _flag(posted, "prefill_locked"):
        field["prefill_locked"] = True
    default = _text(posted, "default")
    if default:
        field["default"] = default == "true" if kind == FieldType.CHECKBOX.value else default
    options = options_from_text(_text(posted, "options"))
    if options:
        field["options"] = options
    validation: dict[str, Any] = {}
    if _flag(posted, "required"):
        validation["required"] = True
    for name in INT_RULES:
        value = _int(posted, name)
        if value is not None:
            validation[name] = value
    for name in TEXT_RULES:
        if _text(posted, name):
            validation[name] = _text(posted, name)
    accept = [a.strip() for a in _text(posted, "accept").split(",") if a.strip()]
    if accept:
        validation["accept"] = accept
    if validation:
        field["validation"] = validation
    layout: dict[str, Any] = {}
    width = _int(posted, "width")
    if width is not None and width != 12:
        layout["width"] = width
    if _flag(posted, "new_row"):
        layout["new_row"] = True
    if _text(posted, "emphasis") not in ("", "normal"):
        layout["emphasis"] = _text(posted, "emphasis")
    if layout:
        field["layout"] = layout
    visible = condition_from(posted, "vis")
    if visible:
        field["visible_when"] = visible
    if children:
        field["children"] = children
    return field


def rule_from(posted: Posted) -> dict[str, Any]:
    effects = []
    for n in range(EFFECTS):
        action, target = _text(posted, f"then{n}_action"), _text(posted, f"then{n}_target")
        if action and target:
            effect: dict[str, Any] = {"action": action, "target": target}
            if action == "set":
                effect["value"] = _text(posted, f"then{n}_value")
            effects.append(effect)
    return {"name": _text(posted, "name"), "when": condition_from(posted, "when") or {}, "then": effects}


def settings_from(posted: Posted) -> dict[str, Any]:
    return {
        "title": _text(posted, "title"),
        "description": _text(posted, "description"),
        "submit_label": _text(posted, "submit_label") or "提交",
        "style": {
            "theme": _text(posted, "theme") or "standard",
            "label_position": _text(posted, "label_position") or "top",
            "accent": _text(posted, "accent") or "blue",
        },
    }
