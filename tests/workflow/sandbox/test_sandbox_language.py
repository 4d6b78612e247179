"""The language the sandbox accepts: what works gives Python's answer, errors become sandbox errors."""

from __future__ import annotations

import warnings
from datetime import date, datetime, timedelta
from decimal import Decimal, localcontext
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from wanshi.kernel.errors import ValidationFailed
from wanshi.kernel.sandbox import (
    Sandbox,
    SandboxError,
    SandboxMemory,
    SandboxTimeout,
    SandboxViolation,
)

SANDBOX = Sandbox()


def run(script: str, **variables: Any) -> dict[str, Any]:
    SANDBOX.execute(script, variables)
    return variables


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        ("amount > 1000 and kind == 'A'", True),
        ("amount > 1000 and kind == 'B'", False),
        ("kind or 'none'", "A"),
        ("1 < amount <= 5000 != 3", True),
        ("kind in ('A', 'B') and 'x' not in items", True),
        ("note is None and kind is not None", True),
        ("'big' if amount > 1000 else 'small'", "big"),
        ("amount // 7, amount % 7, -amount, +amount, ~amount", (214, 2, -1500, 1500, -1501)),
        ("amount / 4 + 0.5", 375.5),
        ("2 ** 10 + (1 << 4) + (amount >> 2) + (6 & 3) + (6 | 3) + (6 ^ 3)", 1024 + 16 + 375 + 2 + 7 + 5),
        ("items[0]['amount'] + items[-1]['amount']", 300),
        ("[1, 2, 3, 4][1:3] + [1, 2, 3, 4][::-2]", [2, 3, 4, 2]),
        ("'中华人民共和国'[2:4]", "人民"),
        ("{'a': 1, **extra}", {"a": 1, "b": 2}),
        ("[*items[:1], 9]", [{"amount": 100}, 9]),
        ("{1, 2} | {3}", {1, 2, 3}),
        ("[x * 2 for x in range(5) if x % 2]", [2, 6]),
        ("{k: v for k, v in extra.items()}", {"b": 2}),
        ("{x % 3 for x in range(10)}", {0, 1, 2}),
        ("sum(i['amount'] for i in items)", 300),
        ("[(x, y) for x in range(2) for y in 'ab']", [(0, "a"), (0, "b"), (1, "a"), (1, "b")]),
        ("f'{kind}-{amount:>6}-{amount:,}-{ratio:.2f}-{kind!r}'", "A-  1500-1,500-0.33-'A'"),
        ("f'{amount:0{width}d}'", "00001500"),
        (
            "len(items), min(3, 1, 2), max([4, 9]), abs(-3), round(2.675, 2), round(7.5)",
            (2, 1, 9, 3, 2.67, 8),
        ),
        ("int('42') + int('ff', 16) + int(3.9) + int(Decimal('7.5'))", 42 + 255 + 3 + 7),
        ("float('1.5') + float(2)", 3.5),
        ("str(12) + str(None) + str([1, 'a'])", "12None[1, 'a']"),
        ("bool([]), bool('x')", (False, True)),
        ("sorted([3, 1, 2], reverse=True)", [3, 2, 1]),
        ("sorted(['bb', 'a', 'ccc'], key=len)", ["a", "bb", "ccc"]),
        ("max(['bb', 'a', 'ccc'], key=len), min([], default=0)", ("ccc", 0)),
        ("any(x > 2 for x in [1, 3]), all([])", (True, True)),
        (
            "list('ab'), tuple([1]), set([1, 1]), dict([('a', 1)], b=2)",
            (["a", "b"], (1,), {1}, {"a": 1, "b": 2}),
        ),
        ("list(enumerate('ab', start=1)), list(zip([1, 2], 'ab')), list(reversed([1, 2]))", None),
        ("Decimal('0.1') + Decimal('0.2') == Decimal('0.3')", True),
        ("(Decimal('10') / 3).quantize(Decimal('0.01'))", Decimal("3.33")),
        ("' Ab ,c '.strip().lower().split(',')", ["ab ", "c"]),
        ("'-'.join(['a', 'b']) + 'x'.zfill(3) + 'ab'.replace('a', 'z') + 'a'.upper()", "a-b00xzbA"),
        ("'abc'.startswith(('x', 'a')) and '123'.isdigit() and 'abc'.find('c') == 2", True),
        ("d.year, d.month, d.day, d.weekday(), d.isoformat()", (2024, 2, 29, 3, "2024-02-29")),
        ("(d + timedelta(days=1)).isoformat(), (d - date(2024, 1, 1)).days", ("2024-03-01", 59)),
        ("t.hour, t.date(), t.strftime('%Y年%m月%d日')", (9, date(2024, 2, 29), "2024年02月29日")),
        ("f'{d:%Y/%m/%d}'", "2024/02/29"),
        ("extra.get('b'), extra.get('z', 0), list(extra.keys()), list(extra.values())", (2, 0, ["b"], [2])),
        ("[1, 2, 2].count(2), [1, 2].index(2), (1, 2).index(1)", (2, 1, 0)),
        ("(1.5).is_integer()", False),
    ],
)
def test_expressions_give_pythons_answer(expression: str, expected: Any) -> None:
    variables = {
        "amount": 1500,
        "kind": "A",
        "note": None,
        "items": [{"amount": 100}, {"amount": 200}],
        "extra": {"b": 2},
        "ratio": 1 / 3,
        "width": 8,
        "d": date(2024, 2, 29),
        "t": datetime(2024, 2, 29, 9, 30),
    }
    python = eval(expression, {"Decimal": Decimal, "date": date, "timedelta": timedelta}, dict(variables))
    assert SANDBOX.evaluate(expression, variables) == python
    if expected is not None:
        assert python == expected


def test_statements_assign_loop_branch_and_unpack() -> None:
    script = """
total = 0
evens = []
for i, item in enumerate(items):
    if item < 0:
        continue
    elif item == 99:
        break
    else:
        total += item
    if item % 2 == 0:
        evens.append(item)
else:
    finished = True
n = 3
while n:
    n -= 1
else:
    n = "done"
a, (b, c) = 1, [2, 3]
first = second = "same"
counts = {}
for word in "a b a".split():
    counts[word] = counts.get(word, 0) + 1
counts["a"] += 10
grid = [[0] * 2 for row in range(2)]
grid[1][0] = 5
tmp = 1
del tmp, counts["b"]
pass
"""
    result = run(script, items=[4, -1, 3, 2])
    assert result["total"] == 9
    assert result["evens"] == [4, 2]
    assert result["finished"] is True
    assert result["n"] == "done"
    assert (result["a"], result["b"], result["c"]) == (1, 2, 3)
    assert result["first"] == result["second"] == "same"
    assert result["counts"] == {"a": 12}
    assert result["grid"] == [[0, 0], [5, 0]]
    assert "tmp" not in result


def test_a_long_elif_chain_is_not_nesting() -> None:
    branches = "".join(f"elif code == {i}:\n    label = 'L{i}'\n" for i in range(1, 200))
    script = f"if code == 0:\n    label = 'L0'\n{branches}else:\n    label = 'other'\n"
    assert run(script, code=150)["label"] == "L150"
    assert run(script, code=999)["label"] == "other"
    with pytest.raises(SandboxError, match="第 5 行：除数不能为零"):
        SANDBOX.execute(
            "if code == 0:\n    x = 1\nelif code == 1:\n    x = 2\nelif code / 0:\n    x = 3", {"code": 5}
        )


def test_decimal_arithmetic_ignores_the_callers_decimal_context() -> None:
    with localcontext() as context:
        context.prec = 3
        assert SANDBOX.evaluate("Decimal(1) / Decimal(7)", {}) == Decimal("0.1428571428571428571428571429")


def test_break_skips_the_else_of_a_loop() -> None:
    result = run("for x in [1, 99, 2]:\n    if x == 99:\n        break\nelse:\n    finished = True\n")
    assert "finished" not in result


def test_top_level_assignments_become_process_data_and_del_removes_it() -> None:
    variables: dict[str, Any] = {"keep": 1, "scratch": 2, "items": [1]}
    SANDBOX.execute("items.append(2)\nnew = keep + 1\ndel scratch", variables)
    assert variables == {"keep": 1, "items": [1, 2], "new": 2}


def test_comprehension_variables_stay_inside_the_comprehension() -> None:
    result = run("x = 'outer'\nsquares = [x * x for x in range(3)]")
    assert result == {"x": "outer", "squares": [0, 1, 4]}
    assert "y" not in run("total = sum(y for y in [1, 2])")


def test_a_failed_script_changes_no_process_data() -> None:
    items = [1, 2]
    variables: dict[str, Any] = {"items": items, "count": 1}
    with pytest.raises(SandboxError):
        SANDBOX.execute("count = 99\nitems.append(3)\nboom = 1 / 0", variables)
    assert variables == {"items": [1, 2], "count": 1}
    assert items == [1, 2]


def test_evaluate_never_changes_the_variables() -> None:
    items = [1, 2, 3]
    assert SANDBOX.evaluate("items.append(4) or len(items)", {"items": items}) == 4
    assert items == [1, 2, 3]


def test_values_of_the_script_are_not_the_callers_objects() -> None:
    rows = [{"a": 1}]
    variables: dict[str, Any] = {"rows": rows}
    SANDBOX.execute("rows[0]['a'] = 2", variables)
    assert rows == [{"a": 1}]
    assert variables["rows"] == [{"a": 2}]


@pytest.mark.parametrize(
    ("source", "kind", "message"),
    [
        ("x = 1\ny = x / 0", "ZeroDivisionError", "第 2 行：除数不能为零"),
        ("x = {}['missing']", "KeyError", "第 1 行：键 'missing' 不存在"),
        ("x = [1][5]", "IndexError", "第 1 行：下标超出范围"),
        ("x = 1 + 'a'", "TypeError", "第 1 行：数据类型不匹配"),
        ("x = int('abc')", "ValueError", "第 1 行：取值无效"),
        ("\n\nx = undefined_name", "NameError", "第 3 行：未定义的变量 undefined_name"),
        ("a, b = [1, 2, 3]", "ValueError", "第 1 行：拆分赋值需要 2 个值"),
        ("x = 1\nfor i in 5:\n    pass", "TypeError", "第 2 行：int 类型的值不能遍历"),
        ("x = Decimal(1) / Decimal(0)", "DivisionByZero", "第 1 行：除数不能为零"),
        ("x = (-8) ** 0.5", "TypeError", "第 1 行：运算结果的类型 complex 不受支持"),
        ("d = {1: 1}\nfor k in d:\n    d[k + 1] = 1", "RuntimeError", "第 2 行：遍历时修改了正在遍历的数据"),
        ("if True:\n    x = [1, 2].index(5)", "ValueError", "第 2 行：要查找的值不在其中"),
    ],
)
def test_errors_in_scripts_become_sandbox_errors_with_line_and_kind(
    source: str, kind: str, message: str
) -> None:
    with pytest.raises(SandboxError) as raised:
        SANDBOX.execute(source, {})
    error = raised.value
    assert type(error) is SandboxError
    assert error.error_code == "script_failed"
    assert error.kind == kind
    assert error.message.startswith(message)
    assert error.details == {"line": error.line, "kind": kind}
    assert error.__cause__ is None


def test_syntax_errors_are_violations_with_the_line() -> None:
    with pytest.raises(SandboxViolation) as raised:
        SANDBOX.check("x = 1\ny = (\n", "exec")
    assert raised.value.line == 2
    assert raised.value.message.startswith("第 2 行：语法错误")


def test_check_accepts_a_valid_script_without_running_it() -> None:
    SANDBOX.check("while True:\n    pass", "exec")
    SANDBOX.check("amount > 1000", "eval")


def test_conditions_may_carry_surrounding_blank_space() -> None:
    assert SANDBOX.evaluate("\n    amount > 1\n  ", {"amount": 2}) is True


def test_unused_variables_are_not_read() -> None:
    assert SANDBOX.evaluate("1", {"anything": object()}) == 1


def test_process_data_may_shadow_builtin_names_but_calls_reach_the_builtin() -> None:
    assert SANDBOX.evaluate("type + len([1])", {"type": 1}) == 2


def test_platform_functions_are_called_with_sandbox_values() -> None:
    calls: list[tuple[Any, ...]] = []

    def working_days_after(n: int, start: date | None = None) -> date:
        calls.append((n, start))
        return (start or date(2024, 1, 1)) + timedelta(days=n)

    def reject(reason: str) -> None:
        raise ValidationFailed(f"不予受理：{reason}")

    sandbox = Sandbox(functions={"working_days_after": working_days_after, "reject": reject})
    assert sandbox.evaluate("working_days_after(3, start=d)", {"d": date(2024, 5, 6)}) == date(2024, 5, 9)
    assert sandbox.evaluate("sorted([3, 1], key=working_days_after)", {}) == [1, 3]
    assert calls[0] == (3, date(2024, 5, 6))
    with pytest.raises(SandboxError, match="第 1 行：不予受理：材料不全") as raised:
        sandbox.execute("reject('材料不全')", {})
    assert raised.value.kind == "ValidationFailed"


@pytest.mark.parametrize("name", ["_private", "len", "not an identifier"])
def test_platform_function_names_must_be_usable(name: str) -> None:
    with pytest.raises(ValueError, match="not usable"):
        Sandbox(functions={name: len})


def test_the_error_classes_carry_stable_codes() -> None:
    assert [cls.code for cls in (SandboxError, SandboxViolation, SandboxTimeout, SandboxMemory)] == [
        "script_failed",
        "script_forbidden",
        "script_timeout",
        "script_too_large",
    ]
    assert all(
        cls.http_status == 422 for cls in (SandboxError, SandboxViolation, SandboxTimeout, SandboxMemory)
    )


# --- agreement with Python on random expressions ------------------------------------------------------------

VARIABLES: dict[str, Any] = {"a": 7, "b": -3, "s": "ab", "t": "中文"}
LEAVES = st.one_of(
    st.integers(-50, 50).map(lambda n: f"({n})"),
    st.text(alphabet="ab中 ", max_size=3).map(repr),
    st.sampled_from(sorted(VARIABLES)),
    st.sampled_from(["True", "False", "None"]),
)
# "is" only against None: identity of equal numbers depends on Python's constant folding and int cache.
BINARY = ["+", "-", "*", "//", "%", "==", "!=", "<", "<=", ">", ">=", "and", "or", "in", "not in"]


def _expressions(children: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    return st.one_of(
        st.tuples(children, st.sampled_from(BINARY), children).map(lambda p: f"({p[0]} {p[1]} {p[2]})"),
        st.tuples(children, st.integers(0, 3)).map(lambda p: f"({p[0]} ** {p[1]})"),
        st.tuples(children, children, children).map(lambda p: f"({p[0]} < {p[1]} <= {p[2]})"),
        st.tuples(children, children, children).map(lambda p: f"({p[0]} if {p[1]} else {p[2]})"),
        st.tuples(children, children).map(lambda p: f"({p[0]})[{p[1]}]"),
        st.tuples(children, children).map(lambda p: f"[{p[0]}, {p[1]}]"),
        children.map(lambda c: f"(not {c})"),
        children.map(lambda c: f"({c} is None)"),
        children.map(lambda c: f"(-{c})"),
        children.map(lambda c: f"len(str({c}))"),
        children.map(lambda c: f"str({c}).upper()"),
        children.map(lambda c: f"abs({c})"),
        children.map(lambda c: f"f'<{{{c}}}>'"),
    )


EXPRESSIONS = st.recursive(LEAVES, _expressions, max_leaves=10)


@given(EXPRESSIONS)
def test_random_expressions_agree_with_python(expression: str) -> None:
    def python() -> Any:
        with warnings.catch_warnings():
            # Python's compiler warns about "(5)[x]"; the answer is still a TypeError, as ours.
            warnings.simplefilter("ignore", SyntaxWarning)
            return eval(expression, {}, dict(VARIABLES))

    try:
        ours = SANDBOX.evaluate(expression, VARIABLES)
    except (SandboxMemory, SandboxTimeout, SandboxViolation):
        # A limit (or the refusal of % on text) spoke before Python would have: nothing to compare.
        return
    except SandboxError as error:
        kind = error.kind
    else:
        theirs = python()
        assert type(ours) is type(theirs)
        assert ours == theirs
        return
    with pytest.raises(Exception) as python_error:  # noqa: PT011
        python()
    assert kind == type(python_error.value).__name__
