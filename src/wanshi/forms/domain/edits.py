"""What the designer does to a form, one step at a time. Each edit returns a new, fully checked document.

Edits work on the JSON form of the document and parse the result again, so no edit can leave a definition
that the validator would refuse: a step that would break a reference (a rule naming a removed field) is
refused with a message that names what depends on it.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from typing import Any, Literal

from pypinyin import Style, lazy_pinyin

from wanshi.forms.domain.schema import FIELD_KEY, FieldType, FormDocument, parse_form
from wanshi.kernel.errors import ValidationFailed

Json = dict[str, Any]
KEY_STEM_MAX = 30


def _fields_lists(node: Json) -> Iterator[list[Json]]:
    """Every list of fields in the document: the top level and each container's children."""
    yield node["fields"]
    stack = list(node["fields"])
    while stack:
        field = stack.pop()
        if field.get("children"):
            yield field["children"]
            stack.extend(field["children"])


def _locate(document: Json, key: str) -> tuple[list[Json], int]:
    for siblings in _fields_lists(document):
        for index, field in enumerate(siblings):
            if field["key"] == key:
                return siblings, index
    raise ValidationFailed(f"字段“{key}”不存在", code="form_field_missing")


def _json(document: FormDocument) -> Json:
    return document.model_dump(mode="json", exclude_defaults=True)


def _edited(document: FormDocument, change: Callable[[Json], None]) -> FormDocument:
    data = _json(document)
    change(data)
    return parse_form(data)


def add_field(document: FormDocument, field: Json, *, parent: str | None = None) -> FormDocument:
    """Append a field at the top level or inside a group or repeated group."""

    def change(data: Json) -> None:
        if parent is None:
            data["fields"].append(field)
            return
        siblings, index = _locate(data, parent)
        container = siblings[index]
        if FieldType(container["type"]) not in (FieldType.GROUP, FieldType.REPEAT):
            message = f"“{container['label']}”不是分组，不能在里面添加字段"
            raise ValidationFailed(message, code="form_not_a_group")
        container.setdefault("children", []).append(field)

    return _edited(document, change)


def replace_field(document: FormDocument, key: str, field: Json) -> FormDocument:
    """Replace a field's definition, keeping its children; a new key is carried into every reference."""
    new_key = field["key"]

    def change(data: Json) -> None:
        siblings, index = _locate(data, key)
        children = siblings[index].get("children")
        if children and "children" not in field:
            field["children"] = children
        siblings[index] = field
        if new_key != key:
            _rename_references(data, key, new_key)

    return _edited(document, change)


def _rename_references(data: Json, old: str, new: str) -> None:
    def conditions() -> Iterator[Json]:
        for siblings in _fields_lists(data):
            for field in siblings:
                if field.get("visible_when"):
                    yield field["visible_when"]
        for rule in data.get("rules", []):
            yield rule["when"]

    for condition in conditions():
        for clause in condition.get("all", []) + condition.get("any", []):
            if clause["field"] == old:
                clause["field"] = new
    for rule in data.get("rules", []):
        for effect in rule["then"]:
            if effect["target"] == old:
                effect["target"] = new


def remove_field(document: FormDocument, key: str) -> FormDocument:
    field = document.field(key)
    if field is None:
        raise ValidationFailed(f"字段“{key}”不存在", code="form_field_missing")
    removed = {f.key for f in field.walk()}
    users = sorted(_users_of(document, removed) - {f.label for f in field.walk()})
    if users:
        raise ValidationFailed(
            f"“{field.label}”被以下设置引用，请先修改它们：{'、'.join(users)}", code="form_field_in_use"
        )

    def change(data: Json) -> None:
        siblings, index = _locate(data, key)
        del siblings[index]

    return _edited(document, change)


def _users_of(document: FormDocument, keys: set[str]) -> set[str]:
    users = set()
    for field in document.walk():
        if field.visible_when and any(c.field in keys for c in field.visible_when.clauses):
            users.add(field.label)
        if field.expression and any(re.search(rf"\b{k}\b", field.expression) for k in keys):
            users.add(field.label)
    for rule in document.rules:
        if any(c.field in keys for c in rule.when.clauses) or any(e.target in keys for e in rule.then):
            users.add(f"规则“{rule.name}”")
    return users


def move_field(document: FormDocument, key: str, direction: Literal["up", "down"]) -> FormDocument:
    def change(data: Json) -> None:
        siblings, index = _locate(data, key)
        other = index - 1 if direction == "up" else index + 1
        if 0 <= other < len(siblings):
            siblings[index], siblings[other] = siblings[other], siblings[index]

    return _edited(document, change)


def set_rule(document: FormDocument, rule: Json, *, index: int | None = None) -> FormDocument:
    """Add a rule, or replace the rule at ``index``."""

    def change(data: Json) -> None:
        rules = data.setdefault("rules", [])
        if index is None:
            rules.append(rule)
        elif 0 <= index < len(rules):
            rules[index] = rule
        else:
            raise ValidationFailed("规则不存在", code="form_rule_missing")

    return _edited(document, change)


def remove_rule(document: FormDocument, index: int) -> FormDocument:
    def change(data: Json) -> None:
        rules = data.get("rules", [])
        if not 0 <= index < len(rules):
            raise ValidationFailed("规则不存在", code="form_rule_missing")
        del rules[index]

    return _edited(document, change)


def set_settings(document: FormDocument, settings: Json) -> FormDocument:
    """Title, description, submit label and style."""

    def change(data: Json) -> None:
        data.update(settings)

    return _edited(document, change)


def insert_fragment(
    document: FormDocument, fragment: FormDocument, *, source: str, parent: str | None = None
) -> FormDocument:
    """Insert a shared field group as a group of its own, remembering which version it came from."""
    clashes = sorted({f.key for f in fragment.walk()} & {f.key for f in document.walk()})
    if clashes:
        raise ValidationFailed(
            f"字段组中的字段标识与本表单重复：{'、'.join(clashes)}，请先修改本表单中的这些字段",
            code="form_field_key_taken",
        )
    group = {
        "key": suggest_key(fragment.title, {f.key for f in document.walk()}),
        "type": FieldType.GROUP.value,
        "label": fragment.title,
        "source": source,
        "children": [f.model_dump(mode="json", exclude_defaults=True) for f in fragment.fields],
    }
    rules = [r.model_dump(mode="json", exclude_defaults=True) for r in fragment.rules]

    def change(data: Json) -> None:
        data.setdefault("rules", []).extend(rules)

    return _edited(add_field(document, group, parent=parent), change)


def suggest_key(label: str, taken: set[str]) -> str:
    """A field key from the label's pinyin initials (申请人姓名 → sqrxm), unique in the form."""
    syllables = lazy_pinyin(label, style=Style.NORMAL, errors="default")
    letters = "".join(part[0] for part in syllables if part and part[0].isascii()).lower()
    stem = re.sub(r"[^a-z0-9_]", "", letters)[:KEY_STEM_MAX]
    if not stem or not stem[0].isalpha():
        stem = f"f{stem}"
    key, n = stem, 2
    while key in taken or not FIELD_KEY.fullmatch(key):
        key, n = f"{stem}_{n}", n + 1
    return key
