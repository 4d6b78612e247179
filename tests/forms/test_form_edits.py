"""The designer's edits: each keeps the definition valid, and refuses what would break a reference."""

from __future__ import annotations

import pytest
from forms_world import MARRIAGE

from wanshi.forms.domain import edits
from wanshi.forms.domain.schema import FieldType, parse_form
from wanshi.kernel.errors import ValidationFailed

FORM = parse_form(MARRIAGE)


def test_adding_a_field_to_a_group_and_at_the_end() -> None:
    added = edits.add_field(FORM, {"key": "remark", "type": "textarea", "label": "备注"})
    assert added.fields[-1].key == "remark"
    nested = edits.add_field(FORM, {"key": "school", "type": "text", "label": "就读学校"}, parent="children")
    assert [c.key for c in nested.field("children").children] == ["child_name", "child_age", "school"]  # type: ignore[union-attr]
    with pytest.raises(ValidationFailed, match="不是分组"):
        edits.add_field(FORM, {"key": "x", "type": "text", "label": "X"}, parent="name")


def test_renaming_a_key_carries_it_into_every_condition_and_rule() -> None:
    kind = FORM.field("kind")
    assert kind is not None
    renamed = edits.replace_field(FORM, "kind", {**kind.model_dump(mode="json"), "key": "registration"})
    assert renamed.field("agreement").visible_when.clauses[0].field == "registration"  # type: ignore[union-attr]
    assert all(c.field == "registration" for r in renamed.rules for c in r.when.clauses)


def test_a_field_in_use_cannot_be_removed_and_the_users_are_named() -> None:
    with pytest.raises(ValidationFailed) as caught:
        edits.remove_field(FORM, "kind")
    assert "离婚协议要点" in caught.value.message
    assert "规则“离婚须填写电话”" in caught.value.message
    assert edits.remove_field(FORM, "consent").field("consent") is None


def test_moving_stays_within_the_siblings() -> None:
    moved = edits.move_field(FORM, "id_number", "up")
    assert [f.key for f in moved.fields][:2] == ["id_number", "name"]
    assert edits.move_field(moved, "id_number", "up") == moved


def test_a_shared_group_is_inserted_with_its_source_and_clashes_are_refused() -> None:
    fragment = parse_form(
        {
            "title": "联系人信息",
            "fields": [
                {"key": "contact", "type": "text", "label": "联系人"},
                {"key": "contact_phone", "type": "phone", "label": "联系电话"},
            ],
        }
    )
    inserted = edits.insert_fragment(FORM, fragment, source="contact@3")
    group = inserted.fields[-1]
    assert group.type is FieldType.GROUP
    assert group.source == "contact@3"
    assert [c.key for c in group.children] == ["contact", "contact_phone"]
    with pytest.raises(ValidationFailed, match="重复"):
        edits.insert_fragment(inserted, fragment, source="contact@3")


def test_rules_are_added_replaced_and_removed() -> None:
    rule = {
        "name": "隐藏费用",
        "when": {"all": [{"field": "kind", "op": "eq", "value": "divorce"}]},
        "then": [{"action": "hide", "target": "fee"}],
    }
    added = edits.set_rule(FORM, rule)
    assert added.rules[-1].name == "隐藏费用"
    replaced = edits.set_rule(added, {**rule, "name": "改名"}, index=len(added.rules) - 1)
    assert replaced.rules[-1].name == "改名"
    assert len(edits.remove_rule(replaced, 0).rules) == len(replaced.rules) - 1
    with pytest.raises(ValidationFailed):
        edits.remove_rule(FORM, 99)


def test_keys_are_suggested_from_pinyin_initials_and_kept_unique() -> None:
    assert edits.suggest_key("申请人姓名", set()) == "sqrxm"
    assert edits.suggest_key("申请人姓名", {"sqrxm"}) == "sqrxm_2"
    assert edits.suggest_key("123", set()) == "f1"
