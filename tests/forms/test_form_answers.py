"""The server's evaluation of answers: visibility, rules, repeated groups, computed fields and checks."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

import pytest
from forms_world import ID_NUMBER, MARRIAGE
from hypothesis import given
from hypothesis import strategies as st

from wanshi.forms.domain.answers import Evaluation, evaluate, flatten, plain
from wanshi.forms.domain.schema import parse_form
from wanshi.forms.expressions import form_expressions

TODAY = date(2026, 10, 8)
FORM = parse_form(MARRIAGE)


def check(
    raw: dict[str, Any] | None, prefilled: dict[str, str] | None = None, document: Any = FORM
) -> Evaluation:
    shaped = None if raw is None else {k: v if isinstance(v, list) else [v] for k, v in raw.items()}
    return evaluate(document, shaped, today=TODAY, expressions=form_expressions(), prefilled=prefilled)


def codes(evaluation: Evaluation) -> dict[str, str]:
    return {p.path: p.code for p in evaluation.problems}


MARRY = {
    "name": "张三",
    "id_number": ID_NUMBER,
    "kind": "marry",
    "date": "2026-10-12",
    "consent": "true",
}


def test_a_complete_answer_passes_with_typed_values() -> None:
    result = check(MARRY)
    assert result.ok, result.problems
    assert result.values["date"] == date(2026, 10, 12)
    assert result.values["consent"] is True
    # The event rule sets the fee for a marriage registration and locks it.
    assert result.values["fee"] == Decimal(0)
    assert result.states["fee"].locked


def test_blank_form_shows_defaults_and_prefilled_values_without_problems_being_final() -> None:
    blank = check(None, prefilled={"name": "李四"})
    assert blank.shown("name") == ("李四",)
    assert set(codes(blank)) >= {"id_number", "kind", "date", "consent"}


def test_required_fields_are_named_in_chinese() -> None:
    result = check({"kind": "marry"})
    messages = {p.path: p.message for p in result.problems}
    assert messages["name"] == "请填写申请人姓名"
    assert messages["id_number"] == "请填写身份证号码"
    assert messages["consent"] == "请填写本人承诺所填信息真实"


def test_a_choice_shows_dependent_fields_and_a_rule_makes_another_required() -> None:
    divorce = {**MARRY, "kind": "divorce"}
    result = check(divorce)
    assert result.states["agreement"].visible
    assert result.states["phone"].required
    assert codes(result) == {"agreement": "required", "phone": "required"}
    # The same answers with the marriage choice: the divorce fields are hidden and not checked.
    hidden = check({**divorce, "kind": "marry", "agreement": "something"})
    assert hidden.ok
    assert not hidden.states["agreement"].visible
    assert "agreement" not in hidden.values


def test_hidden_answers_never_reach_the_values() -> None:
    result = check({**MARRY, "agreement": "不应出现", "children.0.child_name": "小明"})
    assert "agreement" not in result.values
    assert "children" not in result.values


def test_repeated_group_rows_are_checked_row_by_row_and_counted() -> None:
    raw = {
        **MARRY,
        "kind": "divorce",
        "phone": "13905510000",
        "agreement": "协议",
        "children.0.child_name": "小明",
        "children.0.child_age": "7",
        "children.1.child_age": "31",
    }
    result = check(raw)
    assert codes(result) == {"children.1.child_name": "required", "children.1.child_age": "above_maximum"}
    assert result.rows["children"] == 2
    assert result.shown("child_count") == ("2",)
    assert result.values["children"][0] == {"child_name": "小明", "child_age": Decimal(7)}


def test_rows_beyond_the_maximum_are_not_kept() -> None:
    raw = {**MARRY, "kind": "divorce", "children._rows": "99"}
    assert check(raw).rows["children"] == 5


@pytest.mark.parametrize(
    ("field", "value", "code"),
    [
        ("id_number", "340102199003070015", "invalid_resident_id"),
        ("id_number", "12345", "invalid_resident_id"),
        ("phone", "1234", "invalid_phone"),
        ("date", "2026/10/12", "not_a_date"),
        ("kind", "remarry", "not_an_option"),
    ],
)
def test_bad_values_get_a_stable_code(field: str, value: str, code: str) -> None:
    assert codes(check({**MARRY, field: value}))[field] == code


def test_numbers_respect_decimal_places_and_bounds() -> None:
    document = parse_form(
        {
            "title": "测试表单",
            "fields": [
                {
                    "key": "amount",
                    "type": "number",
                    "label": "金额",
                    "validation": {"decimals": 2, "minimum": 1},
                }
            ],
        }
    )
    assert codes(check({"amount": "1.234"}, document=document)) == {"amount": "too_many_decimals"}
    assert codes(check({"amount": "0.5"}, document=document)) == {"amount": "below_minimum"}
    assert codes(check({"amount": "abc"}, document=document)) == {"amount": "not_a_number"}
    assert check({"amount": "12.50"}, document=document).values["amount"] == Decimal("12.50")


def test_dates_bounded_by_today() -> None:
    document = parse_form(
        {
            "title": "测试表单",
            "fields": [
                {"key": "born", "type": "date", "label": "出生日期", "validation": {"latest": "today"}}
            ],
        }
    )
    assert codes(check({"born": "2026-10-09"}, document=document)) == {"born": "too_late"}
    assert check({"born": "2026-10-08"}, document=document).ok


def test_a_locked_prefilled_value_cannot_be_overwritten() -> None:
    document = parse_form(
        {
            "title": "测试表单",
            "fields": [
                {
                    "key": "name",
                    "type": "text",
                    "label": "姓名",
                    "prefill": "account.name",
                    "prefill_locked": True,
                }
            ],
        }
    )
    result = check({"name": "冒名顶替"}, prefilled={"name": "王五"}, document=document)
    assert result.values["name"] == "王五"


def test_computed_fields_use_the_sandbox_and_stay_empty_on_partial_answers() -> None:
    document = parse_form(
        {
            "title": "测试表单",
            "fields": [
                {"key": "price", "type": "number", "label": "单价", "validation": {"decimals": 2}},
                {"key": "quantity", "type": "number", "label": "数量"},
                {"key": "total", "type": "computed", "label": "合计", "expression": "price * quantity"},
                {"key": "holder_age", "type": "computed", "label": "年龄", "expression": "age(id)"},
                {"key": "id", "type": "id_number", "label": "身份证"},
            ],
        }
    )
    assert check({"price": "2.50", "quantity": "4"}, document=document).shown("total") == ("10",)
    assert check({"price": "2.50"}, document=document).shown("total") == ()
    assert check({"id": ID_NUMBER}, document=document).shown("holder_age")[0].isdigit()


def test_json_answers_are_checked_exactly_like_posted_pages() -> None:
    answers = {
        "name": "张三",
        "id_number": ID_NUMBER,
        "kind": "divorce",
        "agreement": "协议",
        "children": [{"child_name": "小明", "child_age": 7}, {"child_age": 40}],
        "date": "2026-10-12",
        "consent": True,
        "fee": 12.5,
    }
    from_json = evaluate(FORM, flatten(answers), today=TODAY, expressions=form_expressions())
    posted = check(
        {
            "name": "张三",
            "id_number": ID_NUMBER,
            "kind": "divorce",
            "agreement": "协议",
            "children.0.child_name": "小明",
            "children.0.child_age": "7",
            "children.1.child_age": "40",
            "date": "2026-10-12",
            "consent": "true",
            "fee": "12.5",
        }
    )
    assert from_json.problems == posted.problems
    assert plain(from_json.values) == plain(posted.values)


@given(st.text(max_size=30), st.sampled_from(["marry", "divorce", "", "x"]))
def test_any_text_gives_problems_never_a_crash(name: str, kind: str) -> None:
    result = check({"name": name, "kind": kind, "fee": name, "date": name, "id_number": name})
    assert all(p.message for p in result.problems)


def test_a_rule_chain_settles() -> None:
    document = parse_form(
        {
            "title": "测试表单",
            "fields": [
                {"key": "a", "type": "checkbox", "label": "甲"},
                {"key": "b", "type": "text", "label": "乙"},
                {"key": "c", "type": "text", "label": "丙"},
            ],
            "rules": [
                {
                    "name": "甲则乙",
                    "when": {"all": [{"field": "a", "op": "eq", "value": True}]},
                    "then": [{"action": "set", "target": "b", "value": "是"}],
                },
                {
                    "name": "乙则丙",
                    "when": {"all": [{"field": "b", "op": "eq", "value": "是"}]},
                    "then": [{"action": "set", "target": "c", "value": "也是"}],
                },
            ],
        }
    )
    result = check({"a": "true"}, document=document)
    assert result.values["c"] == "也是"
    assert check({}, document=document).values.get("c") is None


def test_numbers_with_absurd_exponents_are_refused_not_written_out() -> None:
    document = parse_form(
        {"title": "测试表单", "fields": [{"key": "amount", "type": "number", "label": "金额"}]}
    )
    assert codes(check({"amount": "1e9999999"}, document=document)) == {"amount": "number_too_large"}
    assert codes(check({"amount": "1e-9999999"}, document=document)) == {"amount": "number_too_large"}
    assert check({"amount": "0"}, document=document).ok
