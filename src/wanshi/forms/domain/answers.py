"""Answers to a form: read, evaluate and check them. The server's word on every submission.

Answers arrive in one shape whatever the channel: a mapping from a field's *path* to the strings typed
(``name``, ``children.0.name``; several strings for a multiple choice). HTML forms give that shape already;
JSON answers are flattened into it by ``flatten``, so an API client and a browser are checked by the same
code and get the same problems.

Evaluation runs to a fixed point: visibility, event rules and computed fields depend on values, and a rule
may set a value that another condition reads. Hidden fields take no part: their answers are dropped, they
are not checked, and conditions see them as unanswered, so an answer typed before a choice changed never
leaks into a submission.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any, Protocol

from wanshi.forms.domain.schema import (
    ROWS_HARD_MAX,
    TEXT_DEFAULT_MAX,
    TEXTAREA_DEFAULT_MAX,
    Action,
    Clause,
    Condition,
    FieldDef,
    FieldType,
    FormDocument,
    Op,
)
from wanshi.kernel.errors import WanshiError
from wanshi.kernel.identifiers import InvalidIdentifier, validate_credit_code, validate_resident_id

Raw = Mapping[str, Sequence[str]]
MOBILE = re.compile(r"^1[3-9][0-9]{9}$")
LANDLINE = re.compile(r"^0[0-9]{2,3}-?[0-9]{7,8}(-[0-9]{1,6})?$")
EMAIL = re.compile(r"^[^@\s]{1,64}@[A-Za-z0-9-]{1,63}(\.[A-Za-z0-9-]{1,63})+$")
DIVISION = re.compile(r"^[1-9][0-9]{5}$")
ROWS_SUFFIX = "._rows"
NUMBER_MAX_DIGITS = 30
TRUE_WORDS = frozenset({"true", "on", "1", "yes", "是"})


class Expressions(Protocol):
    """The platform's script sandbox, as computed fields use it."""

    def evaluate(self, expression: str, variables: Mapping[str, Any]) -> Any: ...


@dataclass(frozen=True)
class Problem:
    path: str
    code: str
    message: str


@dataclass
class FieldState:
    path: str
    definition: FieldDef
    visible: bool = True
    required: bool = False
    locked: bool = False
    # What the input shows: the strings typed (or prefilled, set or computed).
    shown: tuple[str, ...] = ()
    value: Any = None


@dataclass(frozen=True)
class Evaluation:
    document: FormDocument
    states: Mapping[str, FieldState]
    rows: Mapping[str, int]
    problems: tuple[Problem, ...]
    values: Mapping[str, Any]

    @property
    def ok(self) -> bool:
        return not self.problems

    def problems_for(self, path: str) -> tuple[Problem, ...]:
        return tuple(p for p in self.problems if p.path == path)

    def shown(self, path: str) -> tuple[str, ...]:
        state = self.states.get(path)
        return state.shown if state else ()

    def raw(self) -> dict[str, list[str]]:
        """The answers as the page should carry them on (row counts included)."""
        out = {path: list(s.shown) for path, s in self.states.items() if s.definition.type.holds_value}
        out.update({f"{key}{ROWS_SUFFIX}": [str(n)] for key, n in self.rows.items()})
        return out


@dataclass
class _Context:
    document: FormDocument
    raw: Raw
    prefilled: Mapping[str, str]
    fresh: bool
    today: date
    expressions: Expressions
    rows: dict[str, int] = field(default_factory=dict)
    states: dict[str, FieldState] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)


def evaluate(
    document: FormDocument,
    raw: Raw | None,
    *,
    today: date,
    expressions: Expressions,
    prefilled: Mapping[str, str] | None = None,
) -> Evaluation:
    """Evaluate answers; ``raw`` None is a blank form (defaults and prefilled values only)."""
    ctx = _Context(document, raw or {}, prefilled or {}, raw is None, today, expressions)
    _lay_out(ctx)
    _settle(ctx)
    _check(ctx)
    values = _values(ctx)
    return Evaluation(document, ctx.states, ctx.rows, tuple(ctx.problems), values)


# --- layout: one state per field path -----------------------------------------------------------------
def _lay_out(ctx: _Context) -> None:
    for top in ctx.document.fields:
        _add(ctx, top, "")


def _add(ctx: _Context, definition: FieldDef, prefix: str) -> None:
    path = f"{prefix}{definition.key}"
    ctx.states[path] = FieldState(path, definition)
    if definition.type is FieldType.GROUP:
        for child in definition.children:
            _add(ctx, child, prefix)
    elif definition.type is FieldType.REPEAT:
        ctx.rows[path] = _row_count(ctx, definition, path)
        for index in range(ctx.rows[path]):
            for child in definition.children:
                _add(ctx, child, f"{path}.{index}.")
    if definition.type.holds_value and definition.type is not FieldType.REPEAT:
        ctx.states[path].shown = _initial(ctx, definition, path)


def _row_count(ctx: _Context, definition: FieldDef, path: str) -> int:
    least = definition.validation.min_items or (1 if definition.validation.required else 0)
    most = min(definition.validation.max_items or ROWS_HARD_MAX, ROWS_HARD_MAX)
    given = ctx.raw.get(f"{path}{ROWS_SUFFIX}")
    if given and given[0].strip().isdigit():
        count = int(given[0])
    else:
        pattern = re.compile(rf"^{re.escape(path)}\.(\d+)\.")
        indexes = [int(m.group(1)) for key in ctx.raw if (m := pattern.match(key))]
        count = max(indexes) + 1 if indexes else (least or 1 if ctx.fresh else 0)
    return max(least, min(count, most))


def _initial(ctx: _Context, definition: FieldDef, path: str) -> tuple[str, ...]:
    prefilled = ctx.prefilled.get(definition.key) if definition.prefill else None
    if prefilled is not None and (ctx.fresh or definition.prefill_locked):
        return (prefilled,)
    if not ctx.fresh:
        return tuple(s.strip() for s in ctx.raw.get(path, ()) if s.strip())
    if definition.default is None:
        return ()
    if isinstance(definition.default, bool):
        return ("true",) if definition.default else ()
    return (str(definition.default),)


# --- the fixed point of visibility, rules and computed fields -----------------------------------------
def _settle(ctx: _Context) -> None:
    # Each pass can only settle what the previous one changed; a chain longer than the form is a cycle.
    for _ in range(len(ctx.states) + 2):
        before = {p: (s.visible, s.required, s.locked, s.shown) for p, s in ctx.states.items()}
        _apply_visibility(ctx)
        _apply_rules(ctx)
        _compute(ctx)
        if before == {p: (s.visible, s.required, s.locked, s.shown) for p, s in ctx.states.items()}:
            return
    ctx.problems.append(Problem("", "form_rules_cycle", "表单的规则相互依赖、无法确定结果，请联系表单管理员"))


def _apply_visibility(ctx: _Context) -> None:
    shown_by = _targets(ctx, Action.SHOW)
    active_show, active_hide = _active(ctx, Action.SHOW), _active(ctx, Action.HIDE)
    for path, state in ctx.states.items():
        d = state.definition
        visible = d.visible_when is None or _holds(ctx, d.visible_when, path)
        if d.key in shown_by:
            visible = visible and (path, d.key) in active_show
        visible = visible and (path, d.key) not in active_hide
        state.visible = visible and _parent_visible(ctx, path)


def _parent_visible(ctx: _Context, path: str) -> bool:
    parts = path.split(".")
    if len(parts) >= 3:
        parent = ctx.states.get(".".join(parts[:-2]))
        if parent is not None and not parent.visible:
            return False
    groups = _groups_containing(ctx.document, parts[-1])
    return all(
        ctx.states[_sibling(path, g.key)].visible for g in groups if _sibling(path, g.key) in ctx.states
    )


def _groups_containing(document: FormDocument, key: str) -> list[FieldDef]:
    return [g for g in document.walk() if g.type is FieldType.GROUP and any(c.key == key for c in g.children)]


def _sibling(path: str, key: str) -> str:
    head, _, _ = path.rpartition(".")
    return f"{head}.{key}" if head else key


def _targets(ctx: _Context, action: Action) -> set[str]:
    return {e.target for r in ctx.document.rules for e in r.then if e.action is action}


def _active(ctx: _Context, action: Action) -> set[tuple[str, str]]:
    """(path, key) pairs an active rule applies ``action`` to. A rule's condition is read in the row of the
    field it acts on, so a rule inside a repeated group acts row by row."""
    out: set[tuple[str, str]] = set()
    for rule in ctx.document.rules:
        for effect in rule.then:
            if effect.action is not action:
                continue
            for path in _paths_of(ctx, effect.target):
                if _holds(ctx, rule.when, path):
                    out.add((path, effect.target))
    return out


def _paths_of(ctx: _Context, key: str) -> Iterator[str]:
    for path, state in ctx.states.items():
        if state.definition.key == key:
            yield path


def _apply_rules(ctx: _Context) -> None:
    required = _active(ctx, Action.REQUIRE)
    locked = _active(ctx, Action.LOCK)
    for path, state in ctx.states.items():
        d = state.definition
        state.required = d.validation.required or (path, d.key) in required
        state.locked = (d.prefill_locked and bool(ctx.prefilled.get(d.key))) or (path, d.key) in locked
    for rule in ctx.document.rules:
        for effect in rule.then:
            if effect.action is not Action.SET:
                continue
            for path in _paths_of(ctx, effect.target):
                if _holds(ctx, rule.when, path):
                    state = ctx.states[path]
                    state.shown = _as_strings(effect.value)
                    state.locked = True


def _compute(ctx: _Context) -> None:
    for path, state in ctx.states.items():
        if state.definition.type is not FieldType.COMPUTED or not state.visible:
            continue
        variables = _variables(ctx, path)
        try:
            result = ctx.expressions.evaluate(state.definition.expression, variables)
        except (WanshiError, ArithmeticError, TypeError, ValueError):
            # Missing or partial answers make most formulas fail; the field stays empty until they are given.
            state.shown = ()
            continue
        state.shown = _as_strings(result)
        state.locked = True


def _variables(ctx: _Context, path: str) -> dict[str, Any]:
    """Typed visible values for a formula: the form's top level, then the row's own fields over them."""
    out: dict[str, Any] = {}
    for top, state in ctx.states.items():
        if "." in top or not state.visible or not state.definition.type.holds_value:
            continue
        if state.definition.type is FieldType.REPEAT:
            out[top] = [_row_values(ctx, top, i) for i in range(ctx.rows.get(top, 0))]
        else:
            out[top] = _typed_or_none(state)
    head = path.rpartition(".")[0]
    if head:
        out.update(_row_values(ctx, *_split_row(head)))
    return out


def _split_row(head: str) -> tuple[str, int]:
    repeat, _, index = head.rpartition(".")
    return repeat, int(index)


def _row_values(ctx: _Context, repeat: str, index: int) -> dict[str, Any]:
    prefix = f"{repeat}.{index}."
    return {
        s.definition.key: _typed_or_none(s)
        for p, s in ctx.states.items()
        if p.startswith(prefix) and s.visible and s.definition.type.holds_value
    }


def _typed_or_none(state: FieldState) -> Any:
    try:
        return _parse(state.definition, state.shown, date.min)
    except _Unparsable:
        return None


# --- conditions ---------------------------------------------------------------------------------------
def _holds(ctx: _Context, condition: Condition, at_path: str) -> bool:
    clauses = condition.clauses
    if not clauses:
        return True
    results = (_clause_holds(ctx, clause, at_path) for clause in clauses)
    return all(results) if condition.all else any(results)


def _clause_holds(ctx: _Context, clause: Clause, at_path: str) -> bool:
    state = ctx.states.get(_sibling(at_path, clause.field)) or ctx.states.get(clause.field)
    if state is None:
        return False
    value = _typed_or_none(state) if state.visible else None
    empty = value in (None, "", ()) or value is False
    if clause.op is Op.FILLED:
        return not empty
    if clause.op is Op.EMPTY:
        return empty
    if empty and clause.op not in (Op.NE, Op.NOT_IN):
        return False
    return _compare(clause.op, value, clause.value, state.definition)


def _compare(op: Op, value: Any, wanted: Any, definition: FieldDef) -> bool:
    if op is Op.CONTAINS:
        items = value if isinstance(value, tuple) else (value,)
        return any(str(wanted) in str(item) for item in items)
    if op in (Op.IN, Op.NOT_IN):
        choices = {_coerce(w, definition) for w in wanted}
        items = value if isinstance(value, tuple) else (value,)
        hit = any(item in choices for item in items)
        return hit if op is Op.IN else not hit
    target = _coerce(wanted, definition)
    if op is Op.EQ:
        return bool(value == target)
    if op is Op.NE:
        return bool(value != target)
    try:
        if op is Op.GT:
            return bool(value > target)
        if op is Op.GE:
            return bool(value >= target)
        if op is Op.LT:
            return bool(value < target)
        return bool(value <= target)
    except TypeError:
        return False


def _coerce(wanted: Any, definition: FieldDef) -> Any:
    """A condition's literal in the type of the field it tests."""
    try:
        return _parse(definition, _as_strings(wanted), date.min)
    except _Unparsable:
        return wanted


# --- checking -------------------------------------------------------------------------------------------
class _Unparsable(Exception):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def _check(ctx: _Context) -> None:
    for path, state in ctx.states.items():
        d = state.definition
        if not state.visible or not d.type.holds_value or d.type is FieldType.COMPUTED:
            continue
        if d.type is FieldType.REPEAT:
            _check_rows(ctx, path, d)
            continue
        if not state.shown:
            if state.required:
                verb = "上传" if d.type is FieldType.FILE else "选择" if d.type.has_options else "填写"
                ctx.problems.append(Problem(path, "required", f"请{verb}{d.label}"))
            continue
        try:
            state.value = _parse(d, state.shown, ctx.today)
        except _Unparsable as exc:
            ctx.problems.append(Problem(path, exc.code, exc.message))


def _check_rows(ctx: _Context, path: str, d: FieldDef) -> None:
    count = ctx.rows.get(path, 0)
    least = d.validation.min_items or (1 if ctx.states[path].required else 0)
    if count < least:
        ctx.problems.append(Problem(path, "too_few_rows", f"{d.label}至少填写{least}项"))


def _parse(d: FieldDef, shown: tuple[str, ...], today: date) -> Any:
    """The typed value of a field's strings, or _Unparsable with a Chinese message."""
    kind = d.type
    if kind is FieldType.CHECKBOX:
        return bool(shown) and shown[0].lower() in TRUE_WORDS
    if kind in (FieldType.CHECKLIST, FieldType.FILE):
        return _many(d, shown)
    if not shown:
        return None
    text = shown[0]
    if kind in (FieldType.TEXT, FieldType.TEXTAREA):
        return _text(d, text)
    if kind is FieldType.NUMBER or kind is FieldType.COMPUTED:
        return _number(d, text)
    if kind is FieldType.DATE:
        return _date(d, text, today)
    if kind in (FieldType.SELECT, FieldType.RADIO):
        if text not in {o.value for o in d.options}:
            raise _Unparsable("not_an_option", f"{d.label}：请从列出的选项中选择")
        return text
    if kind is FieldType.ID_NUMBER:
        return _identifier(d, text.upper(), validate_resident_id)
    if kind is FieldType.CREDIT_CODE:
        return _identifier(d, text.upper(), validate_credit_code)
    if kind is FieldType.PHONE:
        compact = text.replace(" ", "")
        if not (MOBILE.fullmatch(compact) or LANDLINE.fullmatch(compact)):
            raise _Unparsable("invalid_phone", f"{d.label}：请填写11位手机号码或带区号的固定电话")
        return compact
    if kind is FieldType.EMAIL:
        if not EMAIL.fullmatch(text):
            raise _Unparsable("invalid_email", f"{d.label}：电子邮箱格式不正确")
        return text
    if kind is FieldType.DIVISION:
        if not DIVISION.fullmatch(text):
            raise _Unparsable("invalid_division", f"{d.label}：请选择行政区划（6位代码）")
        return text
    raise _Unparsable("unsupported", f"{d.label}：不支持的字段类型")


def _text(d: FieldDef, text: str) -> str:
    rule = d.validation
    longest = rule.max_length or (TEXTAREA_DEFAULT_MAX if d.type is FieldType.TEXTAREA else TEXT_DEFAULT_MAX)
    if len(text) > longest:
        raise _Unparsable("too_long", f"{d.label}：不能超过{longest}个字（现有{len(text)}个）")
    if rule.min_length is not None and len(text) < rule.min_length:
        raise _Unparsable("too_short", f"{d.label}：至少{rule.min_length}个字")
    if rule.pattern and not re.fullmatch(rule.pattern, text):
        raise _Unparsable("pattern_mismatch", f"{d.label}：{rule.pattern_message or '格式不正确'}")
    return text


def _number(d: FieldDef, text: str) -> Decimal:
    rule = d.validation
    try:
        number = Decimal(text.replace(",", "").replace("，", ""))
    except InvalidOperation:
        raise _Unparsable("not_a_number", f"{d.label}：请填写数字") from None
    if not number.is_finite():
        raise _Unparsable("not_a_number", f"{d.label}：请填写数字")
    if number != 0 and not -NUMBER_MAX_DIGITS <= number.adjusted() <= NUMBER_MAX_DIGITS:
        # "1e9999999" parses, but no answer has that many digits, and writing it out would cost megabytes.
        raise _Unparsable("number_too_large", f"{d.label}：数值过大或过小")
    places = rule.decimals if rule.decimals is not None else (None if d.type is FieldType.COMPUTED else 0)
    exponent = number.as_tuple().exponent
    if places is not None and isinstance(exponent, int) and -exponent > places:
        message = "请填写整数" if places == 0 else f"最多保留{places}位小数"
        raise _Unparsable("too_many_decimals", f"{d.label}：{message}")
    if rule.minimum is not None and number < rule.minimum:
        raise _Unparsable("below_minimum", f"{d.label}：不能小于{rule.minimum}{d.unit}")
    if rule.maximum is not None and number > rule.maximum:
        raise _Unparsable("above_maximum", f"{d.label}：不能大于{rule.maximum}{d.unit}")
    return number


def _date(d: FieldDef, text: str, today: date) -> date:
    try:
        value = date.fromisoformat(text)
    except ValueError:
        raise _Unparsable("not_a_date", f"{d.label}：日期格式应为 年-月-日，如 2026-10-08") from None
    earliest, latest = (_bound(b, today) for b in (d.validation.earliest, d.validation.latest))
    if earliest and value < earliest:
        raise _Unparsable("too_early", f"{d.label}：不能早于{earliest.isoformat()}")
    if latest and value > latest:
        raise _Unparsable("too_late", f"{d.label}：不能晚于{latest.isoformat()}")
    return value


def _bound(text: str | None, today: date) -> date | None:
    if not text or today == date.min:
        return None
    return today if text == "today" else date.fromisoformat(text)


def _many(d: FieldDef, shown: tuple[str, ...]) -> tuple[str, ...]:
    rule = d.validation
    if d.type is FieldType.CHECKLIST:
        allowed = {o.value for o in d.options}
        if any(s not in allowed for s in shown):
            raise _Unparsable("not_an_option", f"{d.label}：请从列出的选项中选择")
    elif any(not s.isdigit() for s in shown):
        raise _Unparsable("invalid_file", f"{d.label}：附件无效，请重新上传")
    unique = tuple(dict.fromkeys(shown))
    if rule.min_items is not None and unique and len(unique) < rule.min_items:
        raise _Unparsable("too_few_items", f"{d.label}：至少选择{rule.min_items}项")
    if rule.max_items is not None and len(unique) > rule.max_items:
        raise _Unparsable("too_many_items", f"{d.label}：最多{rule.max_items}项")
    return unique


def _identifier(d: FieldDef, text: str, validate: Any) -> str:
    try:
        return str(validate(text).value)
    except InvalidIdentifier as exc:
        raise _Unparsable(exc.error_code, f"{d.label}：{exc.message}") from None


# --- output -------------------------------------------------------------------------------------------
def _values(ctx: _Context) -> dict[str, Any]:
    """Visible answers, typed, nested: a repeated group is a list of rows."""
    out: dict[str, Any] = {}
    for path, state in ctx.states.items():
        d = state.definition
        if "." in path or not state.visible or not d.type.holds_value:
            continue
        if d.type is FieldType.REPEAT:
            out[path] = [_row_output(ctx, path, i) for i in range(ctx.rows.get(path, 0))]
        elif state.shown or d.type is FieldType.CHECKBOX:
            out[path] = _typed_or_none(state)
    return out


def _row_output(ctx: _Context, repeat: str, index: int) -> dict[str, Any]:
    prefix = f"{repeat}.{index}."
    return {
        s.definition.key: _typed_or_none(s)
        for p, s in ctx.states.items()
        if p.startswith(prefix)
        and s.visible
        and s.definition.type.holds_value
        and (s.shown or s.definition.type is FieldType.CHECKBOX)
    }


def _as_strings(value: Any) -> tuple[str, ...]:
    if value is None or value == "":
        return ()
    if isinstance(value, bool):
        return ("true",) if value else ()
    if isinstance(value, (list, tuple)):
        return tuple(s for v in value for s in _as_strings(v))
    if isinstance(value, Decimal):
        return (format(value.normalize(), "f") if value == value.to_integral() else str(value),)
    if isinstance(value, float):
        return (format(Decimal(str(value)).normalize(), "f"),)
    if isinstance(value, date):
        return (value.isoformat(),)
    return (str(value),)


def flatten(answers: Mapping[str, Any]) -> dict[str, list[str]]:
    """JSON answers (``{"children": [{"name": "…"}]}``) in the paths-and-strings shape pages post."""
    out: dict[str, list[str]] = {}

    def put(prefix: str, value: Any) -> None:
        if isinstance(value, Mapping):
            for key, inner in value.items():
                put(f"{prefix}{key}", inner)
        elif isinstance(value, list) and value and all(isinstance(v, Mapping) for v in value):
            out[f"{prefix}{ROWS_SUFFIX}"] = [str(len(value))]
            for index, row in enumerate(value):
                for key, inner in row.items():
                    put(f"{prefix}.{index}.{key}", inner)
        else:
            out[prefix] = list(_as_strings(value))

    for key, value in answers.items():
        put(key, value)
    return out


def plain(values: Mapping[str, Any]) -> dict[str, Any]:
    """Typed values as JSON: numbers as strings keep their precision, dates in ISO form."""

    def convert(value: Any) -> Any:
        if isinstance(value, Mapping):
            return {k: convert(v) for k, v in value.items()}
        if isinstance(value, (list, tuple)):
            return [convert(v) for v in value]
        if isinstance(value, Decimal):
            return _as_strings(value)[0]
        if isinstance(value, date):
            return value.isoformat()
        return value

    return {k: convert(v) for k, v in values.items()}


def touched_problems(evaluation: Evaluation, touched: Iterable[str]) -> tuple[Problem, ...]:
    """The problems a live check shows while the applicant is still typing: only of fields they left."""
    seen = set(touched)
    return tuple(p for p in evaluation.problems if p.path in seen or not p.path)
