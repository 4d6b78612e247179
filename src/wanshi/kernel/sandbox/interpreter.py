"""A whitelist interpreter for the safe subset of Python that BPMN scripts, conditions and DMN entries use.

A source is parsed with ``ast`` once, checked (every node type, name, attribute and call against the
whitelist; nesting and length against the limits) and compiled into a tree of closures; the result is cached
per source. Running a program never calls Python's ``eval`` or ``exec``: each closure evaluates one node on
sandbox values, counting steps and checking sizes as it goes.
"""

from __future__ import annotations

import ast
import decimal
from collections.abc import Callable, Mapping, MutableMapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Final, Literal, NoReturn

from wanshi.kernel.sandbox.builtins import (
    ATTRIBUTE_NAMES,
    BUILTINS,
    DATA_ATTRIBUTES,
    KEY_METHODS,
    METHOD_NAMES,
    METHODS,
)
from wanshi.kernel.sandbox.errors import SandboxError, SandboxMemory, SandboxViolation
from wanshi.kernel.sandbox.limits import Limits
from wanshi.kernel.sandbox.runtime import (
    BINARY,
    BREAK,
    COMPARE,
    CONTINUE,
    ITERABLE,
    SCALARS,
    Eval,
    Exec,
    State,
    augmented,
    iterate,
    runtime_error,
    type_name,
    unpack,
)

# Arithmetic in scripts is the same everywhere, whatever context the platform set for its own use; the
# exponent bounds keep Decimal results printable.
DECIMAL_CONTEXT: Final = decimal.Context(
    prec=28,
    rounding=decimal.ROUND_HALF_EVEN,
    Emin=-999_999,
    Emax=999_999,
    traps=[decimal.InvalidOperation, decimal.DivisionByZero, decimal.Overflow],
)
# A compiled program takes about a hundred times its source in memory (2 MB for a 20,000-character script):
# short sources (conditions, DMN entries: the hot path) get a large cache, long scripts a small one.
SHORT_SOURCE: Final = 2_000
SHORT_CACHE_SIZE: Final = 2_048
LONG_CACHE_SIZE: Final = 64
DEFAULT_LIMITS: Final = Limits()

_OPERATORS: Final[dict[type[ast.AST], str]] = {
    ast.Add: "+",
    ast.Sub: "-",
    ast.Mult: "*",
    ast.Div: "/",
    ast.FloorDiv: "//",
    ast.Mod: "%",
    ast.Pow: "**",
    ast.LShift: "<<",
    ast.RShift: ">>",
    ast.BitOr: "|",
    ast.BitXor: "^",
    ast.BitAnd: "&",
    ast.Eq: "==",
    ast.NotEq: "!=",
    ast.Lt: "<",
    ast.LtE: "<=",
    ast.Gt: ">",
    ast.GtE: ">=",
    ast.Is: "is",
    ast.IsNot: "is not",
    ast.In: "in",
    ast.NotIn: "not in",
}

# How a refused construct is named in the message ("不允许使用 import").
_CONSTRUCTS: Final[dict[type[ast.AST], str]] = {
    ast.Import: "import",
    ast.ImportFrom: "import",
    ast.FunctionDef: "def（定义函数）",
    ast.AsyncFunctionDef: "async def",
    ast.ClassDef: "class（定义类）",
    ast.Return: "return",
    ast.With: "with",
    ast.AsyncWith: "async with",
    ast.AsyncFor: "async for",
    ast.Try: "try",
    ast.TryStar: "try",
    ast.Raise: "raise",
    ast.Global: "global",
    ast.Nonlocal: "nonlocal",
    ast.Assert: "assert",
    ast.AnnAssign: "类型注解",
    ast.Match: "match",
    ast.Lambda: "lambda",
    ast.NamedExpr: ":=",
    ast.Await: "await",
    ast.Yield: "yield",
    ast.YieldFrom: "yield from",
    ast.Starred: "* 展开",
    ast.MatMult: "@ 运算",
    ast.Slice: "切片",
}


def _refuse(node: ast.AST, reason: str) -> NoReturn:
    raise SandboxViolation(reason, line=getattr(node, "lineno", None))


def _forbidden(node: ast.AST) -> NoReturn:
    construct = _CONSTRUCTS.get(type(node), type(node).__name__)
    _refuse(node, f"不允许使用 {construct}")


def _check_name(node: ast.AST, name: str) -> None:
    if name.startswith("_"):
        _refuse(node, f"不允许使用以下划线开头的名称 {name}")


def _tick(st: State) -> None:
    st.steps += 1
    if st.steps >= st.check_at:
        st.checkpoint()


def _located_expression(run: Eval, line: int) -> Eval:
    """Give any failure inside an expression (a condition, an elif's test) the expression's line."""

    def expression(st: State) -> Any:
        try:
            return run(st)
        except SandboxError as exc:
            exc.at_line(line)
            raise
        except Exception as exc:
            raise runtime_error(exc).at_line(line) from None

    return expression


def _located(run: Exec, line: int) -> Exec:
    """Count the statement as a step and give any failure inside it the statement's line."""

    def located(st: State) -> int:
        st.steps += 1
        if st.steps >= st.check_at:
            st.checkpoint()
        try:
            return run(st)
        except SandboxError as exc:
            exc.at_line(line)
            raise
        except Exception as exc:
            # Not chained: the original may hold a huge value that a log formatter would render in full.
            raise runtime_error(exc).at_line(line) from None

    return located


class _Compiler:
    """Checks a parsed source against the whitelist and turns it into closures."""

    def __init__(self, functions: frozenset[str], limits: Limits) -> None:
        self.functions = functions
        self.limits = limits

    # --- statements ---------------------------------------------------------------------------------------

    def block(self, nodes: Sequence[ast.stmt], loops: int) -> Exec:
        runs = tuple(self.statement(node, loops) for node in nodes)
        if len(runs) == 1:
            return runs[0]

        def block(st: State) -> int:
            for run in runs:
                signal = run(st)
                if signal:
                    return signal
            return 0

        return block

    def statement(self, node: ast.stmt, loops: int) -> Exec:
        return _located(self._statement(node, loops), node.lineno)

    def _statement(self, node: ast.stmt, loops: int) -> Exec:
        if isinstance(node, ast.Expr):
            value = self.expr(node.value)

            def expression(st: State) -> int:
                value(st)
                return 0

            return expression
        if isinstance(node, ast.Assign):
            return self.assign(node)
        if isinstance(node, ast.AugAssign):
            return self.aug_assign(node)
        if isinstance(node, ast.If):
            return self.if_(node, loops)
        if isinstance(node, ast.For):
            return self.for_(node, loops)
        if isinstance(node, ast.While):
            return self.while_(node, loops)
        if isinstance(node, ast.Pass):
            return lambda st: 0
        if isinstance(node, ast.Break | ast.Continue):
            if not loops:
                _refuse(node, "break 和 continue 只能用在循环里")
            signal = BREAK if isinstance(node, ast.Break) else CONTINUE
            return lambda st: signal
        if isinstance(node, ast.Delete):
            return self.delete(node)
        _forbidden(node)

    def assign(self, node: ast.Assign) -> Exec:
        value = self.expr(node.value)
        stores = tuple(self.target(target) for target in node.targets)
        if len(stores) == 1:
            store = stores[0]

            def assign_one(st: State) -> int:
                store(st, value(st))
                return 0

            return assign_one

        def assign(st: State) -> int:
            result = value(st)
            for store in stores:
                store(st, result)
            return 0

        return assign

    def target(self, node: ast.expr) -> Callable[[State, Any], None]:
        if isinstance(node, ast.Name):
            name = node.id
            _check_name(node, name)

            def store_name(st: State, value: Any) -> None:
                st.ns[name] = value

            return store_name
        if isinstance(node, ast.Subscript):
            if isinstance(node.slice, ast.Slice):
                _refuse(node, "不允许给切片赋值")
            container, key = self.expr(node.value), self.expr(node.slice)

            def store_item(st: State, value: Any) -> None:
                _store_item(st, container(st), key(st), value)

            return store_item
        if isinstance(node, ast.Tuple | ast.List):
            stores = tuple(self.target(element) for element in node.elts)
            count = len(stores)

            def store_unpacked(st: State, value: Any) -> None:
                for store, item in zip(stores, unpack(value, count), strict=True):
                    store(st, item)

            return store_unpacked
        if isinstance(node, ast.Attribute):
            _refuse(node, f"不允许给属性 {node.attr} 赋值")
        _forbidden(node)

    def aug_assign(self, node: ast.AugAssign) -> Exec:
        symbol = self.operator(node.op)
        value = self.expr(node.value)
        target = node.target
        if isinstance(target, ast.Name):
            name = target.id
            _check_name(target, name)
            load = self.expr(ast.copy_location(ast.Name(id=name, ctx=ast.Load()), target))

            def aug_name(st: State) -> int:
                st.ns[name] = augmented(st, symbol, load(st), value(st))
                return 0

            return aug_name
        if isinstance(target, ast.Subscript) and not isinstance(target.slice, ast.Slice):
            container, key = self.expr(target.value), self.expr(target.slice)

            def aug_item(st: State) -> int:
                obj, index = container(st), key(st)
                _store_item(st, obj, index, augmented(st, symbol, _load_item(st, obj, index), value(st)))
                return 0

            return aug_item
        _refuse(node, "增量赋值只能用于变量或下标")

    def if_(self, node: ast.If, loops: int) -> Exec:
        # An elif chain runs as one flat list of branches, however long, not as nested ifs.
        branches: list[tuple[Eval, Exec]] = [(self.expr(node.test), self.block(node.body, loops))]
        while len(node.orelse) == 1 and isinstance(node.orelse[0], ast.If):
            node = node.orelse[0]
            branches.append(
                (_located_expression(self.expr(node.test), node.lineno), self.block(node.body, loops))
            )
        orelse = self.block(node.orelse, loops) if node.orelse else None
        chain = tuple(branches)

        def if_(st: State) -> int:
            for test, body in chain:
                if test(st):
                    return body(st)
            return orelse(st) if orelse is not None else 0

        return if_

    def for_(self, node: ast.For, loops: int) -> Exec:
        iterable, store = self.expr(node.iter), self.target(node.target)
        body = self.block(node.body, loops + 1)
        orelse = self.block(node.orelse, loops) if node.orelse else None

        def for_(st: State) -> int:
            for item in iterate(iterable(st)):
                st.steps += 1
                if st.steps >= st.check_at:
                    st.checkpoint()
                store(st, item)
                if body(st) == BREAK:
                    return 0
            return orelse(st) if orelse is not None else 0

        return for_

    def while_(self, node: ast.While, loops: int) -> Exec:
        test, body = self.expr(node.test), self.block(node.body, loops + 1)
        orelse = self.block(node.orelse, loops) if node.orelse else None

        def while_(st: State) -> int:
            while True:
                st.steps += 1
                if st.steps >= st.check_at:
                    st.checkpoint()
                if not test(st):
                    return orelse(st) if orelse is not None else 0
                if body(st) == BREAK:
                    return 0

        return while_

    def delete(self, node: ast.Delete) -> Exec:
        deletes: list[Callable[[State], None]] = []
        for target in node.targets:
            if isinstance(target, ast.Name):
                _check_name(target, target.id)
                deletes.append(_delete_name(target.id))
            elif isinstance(target, ast.Subscript) and not isinstance(target.slice, ast.Slice):
                deletes.append(_delete_item(self.expr(target.value), self.expr(target.slice)))
            else:
                _refuse(target, "del 只能删除变量或字典、列表中的一项")

        def delete(st: State) -> int:
            for run in deletes:
                run(st)
            return 0

        return delete

    # --- expressions --------------------------------------------------------------------------------------

    def operator(self, node: ast.AST) -> str:
        symbol = _OPERATORS.get(type(node))
        if symbol is None:
            _forbidden(node)
        return symbol

    def expr(self, node: ast.expr) -> Eval:
        if isinstance(node, ast.Constant):
            return self.constant(node)
        if isinstance(node, ast.Name):
            return self.name(node)
        if isinstance(node, ast.BinOp):
            return self.binop(node)
        if isinstance(node, ast.UnaryOp):
            return self.unary(node)
        if isinstance(node, ast.BoolOp):
            return self.boolop(node)
        if isinstance(node, ast.Compare):
            return self.compare(node)
        if isinstance(node, ast.IfExp):
            return self.ifexp(node)
        if isinstance(node, ast.Subscript):
            return self.subscript(node)
        if isinstance(node, ast.Attribute):
            return self.attribute(node)
        if isinstance(node, ast.Call):
            return self.call(node)
        if isinstance(node, ast.List | ast.Tuple | ast.Set):
            return self.sequence(node)
        if isinstance(node, ast.Dict):
            return self.dict_(node)
        if isinstance(node, ast.ListComp | ast.SetComp | ast.GeneratorExp | ast.DictComp):
            return self.comprehension(node)
        if isinstance(node, ast.JoinedStr):
            return self.fstring(node)
        _forbidden(node)

    def constant(self, node: ast.Constant) -> Eval:
        value = node.value
        if type(value) not in SCALARS:
            _refuse(node, f"不允许使用 {type_name(value)} 类型的字面量")
        if type(value) is int and value.bit_length() > self.limits.max_int_bits:
            raise SandboxMemory(f"整数超过 {self.limits.max_int_bits} 位，已被拒绝", line=node.lineno)
        return lambda st: value

    def name(self, node: ast.Name) -> Eval:
        name = node.id
        _check_name(node, name)

        def load(st: State) -> Any:
            value = st.ns.get(name, _UNSET)
            if value is _UNSET:
                return st.fetch(name)
            return value

        return load

    def binop(self, node: ast.BinOp) -> Eval:
        function = BINARY[self.operator(node.op)]
        left, right = self.expr(node.left), self.expr(node.right)

        def binop(st: State) -> Any:
            st.steps += 1
            if st.steps >= st.check_at:
                st.checkpoint()
            return function(st, left(st), right(st))

        return binop

    def unary(self, node: ast.UnaryOp) -> Eval:
        operand = self.expr(node.operand)
        if isinstance(node.op, ast.Not):
            return lambda st: not operand(st)
        if isinstance(node.op, ast.USub):
            return lambda st: st.result(-operand(st))
        if isinstance(node.op, ast.UAdd):
            return lambda st: st.result(+operand(st))
        return lambda st: st.result(~operand(st))

    def boolop(self, node: ast.BoolOp) -> Eval:
        values = tuple(self.expr(value) for value in node.values)
        if isinstance(node.op, ast.And):

            def and_(st: State) -> Any:
                _tick(st)
                result = None
                for value in values:
                    result = value(st)
                    if not result:
                        return result
                return result

            return and_

        def or_(st: State) -> Any:
            _tick(st)
            result = None
            for value in values:
                result = value(st)
                if result:
                    return result
            return result

        return or_

    def compare(self, node: ast.Compare) -> Eval:
        left = self.expr(node.left)
        functions = tuple(COMPARE[self.operator(op)] for op in node.ops)
        rights = tuple(self.expr(comparator) for comparator in node.comparators)
        if len(functions) == 1:
            function, right = functions[0], rights[0]

            def compare_one(st: State) -> Any:
                st.steps += 1
                if st.steps >= st.check_at:
                    st.checkpoint()
                return function(st, left(st), right(st))

            return compare_one
        pairs = tuple(zip(functions, rights, strict=True))

        def compare_chain(st: State) -> Any:
            _tick(st)
            current = left(st)
            result: Any = True
            for function, right in pairs:
                following = right(st)
                result = function(st, current, following)
                if not result:
                    return result
                current = following
            return result

        return compare_chain

    def ifexp(self, node: ast.IfExp) -> Eval:
        test, body, orelse = self.expr(node.test), self.expr(node.body), self.expr(node.orelse)
        return lambda st: body(st) if test(st) else orelse(st)

    def subscript(self, node: ast.Subscript) -> Eval:
        container = self.expr(node.value)
        if isinstance(node.slice, ast.Slice):
            parts = tuple(
                self.expr(part) if part is not None else None
                for part in (node.slice.lower, node.slice.upper, node.slice.step)
            )

            def sliced(st: State) -> Any:
                _tick(st)
                obj = container(st)
                bounds = [part(st) if part is not None else None for part in parts]
                if type(obj) not in (str, list, tuple):
                    raise SandboxError(f"{type_name(obj)} 类型的值不能切片", kind="TypeError")
                return st.produced(obj[bounds[0] : bounds[1] : bounds[2]])

            return sliced
        key = self.expr(node.slice)

        def item(st: State) -> Any:
            st.steps += 1
            if st.steps >= st.check_at:
                st.checkpoint()
            return _load_item(st, container(st), key(st))

        return item

    def attribute(self, node: ast.Attribute) -> Eval:
        name = node.attr
        _check_name(node, name)
        if name in METHOD_NAMES and name not in ATTRIBUTE_NAMES:
            _refuse(node, f"方法 {name} 只能直接调用")
        if name not in ATTRIBUTE_NAMES:
            _refuse(node, f"不允许读取属性 {name}")
        obj = self.expr(node.value)

        def attribute(st: State) -> Any:
            value = obj(st)
            if name not in DATA_ATTRIBUTES.get(type(value), ()):
                raise SandboxViolation(f"不允许读取 {type_name(value)} 的属性 {name}")
            return getattr(value, name)

        return attribute

    def sequence(self, node: ast.List | ast.Tuple | ast.Set) -> Eval:
        kind: type = list if isinstance(node, ast.List) else tuple if isinstance(node, ast.Tuple) else set
        if any(isinstance(element, ast.Starred) for element in node.elts):
            parts = tuple(
                (True, self.expr(element.value))
                if isinstance(element, ast.Starred)
                else (False, self.expr(element))
                for element in node.elts
            )

            def build(st: State) -> list[Any]:
                items: list[Any] = []
                for spread, part in parts:
                    if spread:
                        value = part(st)
                        if type(value) not in ITERABLE:
                            raise SandboxError(f"{type_name(value)} 类型的值不能展开", kind="TypeError")
                        st.need(len(items) + len(value))
                        items.extend(value)
                    else:
                        items.append(part(st))
                return items

        else:
            elements = tuple(self.expr(element) for element in node.elts)

            def build(st: State) -> list[Any]:
                return [element(st) for element in elements]

        if kind is tuple:

            def tuple_(st: State) -> Any:
                _tick(st)
                return st.new_tuple(tuple(build(st)))

            return tuple_
        if kind is set:

            def set_(st: State) -> Any:
                _tick(st)
                items = build(st)
                st.weigh(items)
                return st.produced(set(items))

            return set_

        def list_(st: State) -> Any:
            _tick(st)
            return st.produced(build(st))

        return list_

    def dict_(self, node: ast.Dict) -> Eval:
        entries = tuple(
            (self.expr(key) if key is not None else None, self.expr(value))
            for key, value in zip(node.keys, node.values, strict=True)
        )

        def dict_(st: State) -> Any:
            _tick(st)
            result: dict[Any, Any] = {}
            for key, value in entries:
                if key is None:
                    merged = value(st)
                    if type(merged) is not dict:
                        raise SandboxError(f"** 只能展开字典，得到的是 {type_name(merged)}", kind="TypeError")
                    st.need(len(result) + len(merged))
                    result.update(merged)
                else:
                    result[st.key(key(st))] = value(st)
            return st.produced(result)

        return dict_

    def comprehension(self, node: ast.ListComp | ast.SetComp | ast.GeneratorExp | ast.DictComp) -> Eval:
        names: set[str] = set()
        levels = []
        for generator in node.generators:
            if generator.is_async:
                _refuse(node, "不允许使用 async")
            for target in ast.walk(generator.target):
                if isinstance(target, ast.Name):
                    names.add(target.id)
            levels.append(
                (
                    self.expr(generator.iter),
                    self.target(generator.target),
                    tuple(self.expr(condition) for condition in generator.ifs),
                )
            )
        scoped = tuple(sorted(names))
        if isinstance(node, ast.DictComp):
            key, value = self.expr(node.key), self.expr(node.value)

            def emit(st: State, out: Any) -> None:
                out[st.key(key(st))] = value(st)

            empty: Callable[[], Any] = dict
        else:
            element = self.expr(node.elt)
            if isinstance(node, ast.SetComp):

                def emit(st: State, out: Any) -> None:
                    out.add(st.key(element(st)))

                empty = set
            else:

                def emit(st: State, out: Any) -> None:
                    out.append(element(st))

                empty = list

        run: Callable[[State, Any], None] = emit
        for iterable, store, conditions in reversed(levels):
            run = _comprehension_level(iterable, store, conditions, run)

        def comprehension(st: State) -> Any:
            _tick(st)
            # Comprehension variables are local to it, as in Python: save and restore what they shadow.
            saved = [(name, st.ns.get(name, _UNSET)) for name in scoped]
            out = empty()
            try:
                run(st, out)
            finally:
                for name, previous in saved:
                    if previous is _UNSET:
                        st.ns.pop(name, None)
                    else:
                        st.ns[name] = previous
            return st.produced(out)

        return comprehension

    def fstring(self, node: ast.JoinedStr) -> Eval:
        parts: list[Eval] = []
        for value in node.values:
            if isinstance(value, ast.Constant) and type(value.value) is str:
                parts.append(_literal(value.value))
            elif isinstance(value, ast.FormattedValue):
                parts.append(self.formatted(value))
            else:
                _forbidden(value)
        pieces = tuple(parts)

        def fstring(st: State) -> Any:
            _tick(st)
            return st.produced("".join([piece(st) for piece in pieces]))

        return fstring

    def formatted(self, node: ast.FormattedValue) -> Eval:
        value = self.expr(node.value)
        spec = self.fstring(node.format_spec) if isinstance(node.format_spec, ast.JoinedStr) else None
        conversion = node.conversion

        def formatted(st: State) -> str:
            result = value(st)
            if conversion in (ord("r"), ord("a")):
                if type(result) in (list, tuple, dict, set):
                    st.text_budget(result)
                result = st.produced(repr(result) if conversion == ord("r") else ascii(result))
            elif conversion == ord("s"):
                result = st.text(result)
            return st.format(result, spec(st) if spec is not None else "")

        return formatted

    # --- calls --------------------------------------------------------------------------------------------

    def call(self, node: ast.Call) -> Eval:
        for argument in node.args:
            if isinstance(argument, ast.Starred):
                _refuse(argument, "调用时不允许使用 * 展开参数")
        for keyword in node.keywords:
            if keyword.arg is None:
                _refuse(node, "调用时不允许使用 ** 展开参数")
            _check_name(node, keyword.arg)
        func = node.func
        if isinstance(func, ast.Name):
            _check_name(func, func.id)
            if func.id in self.functions:
                return self.function_call(node, func.id)
            if func.id in BUILTINS:
                return self.builtin_call(node, func.id)
            _refuse(node, f"不允许调用 {func.id}")
        if isinstance(func, ast.Attribute):
            # The receiver first, as Python evaluates it: in open(f).read() the fault is open, not read.
            receiver = self.expr(func.value)
            _check_name(func, func.attr)
            if func.attr not in METHOD_NAMES:
                _refuse(node, f"不允许调用方法 {func.attr}")
            return self.method_call(node, func.attr, receiver)
        _refuse(node, "只能调用内置函数、平台函数或数据的方法")

    def arguments(
        self, node: ast.Call, takes_key: bool
    ) -> tuple[tuple[Eval, ...], tuple[tuple[str, Eval], ...]]:
        args = tuple(self.expr(argument) for argument in node.args)
        keywords: list[tuple[str, Eval]] = []
        for keyword in node.keywords:
            assert keyword.arg is not None
            if keyword.arg == "key" and takes_key:
                keywords.append((keyword.arg, self.key_function(keyword.value)))
            else:
                keywords.append((keyword.arg, self.expr(keyword.value)))
        return args, tuple(keywords)

    def key_function(self, node: ast.expr) -> Eval:
        """``key=`` of sorted/min/max/sort: a builtin or platform function named directly, or None."""
        if isinstance(node, ast.Constant) and node.value is None:
            return lambda st: None
        if isinstance(node, ast.Name) and node.id in self.functions:
            name = node.id

            def platform_key(st: State) -> Callable[[Any], Any]:
                return lambda value: st.call_function(name, [value], {})

            return platform_key
        if isinstance(node, ast.Name) and node.id in BUILTINS:
            spec = BUILTINS[node.id]
            if spec.min_args > 1 or (spec.max_args is not None and spec.max_args < 1):
                _refuse(node, f"{node.id} 不能用作 key")
            impl = spec.impl

            def builtin_key(st: State) -> Callable[[Any], Any]:
                return lambda value: impl(st, [value], {})

            return builtin_key
        _refuse(node, "key 只能是一个函数名（如 key=len），不能是表达式")

    def builtin_call(self, node: ast.Call, name: str) -> Eval:
        spec = BUILTINS[name]
        count = len(node.args)
        if count < spec.min_args or (spec.max_args is not None and count > spec.max_args):
            _refuse(node, f"{name} 的参数个数不对")
        if spec.keywords is not None:
            for keyword in node.keywords:
                if keyword.arg not in spec.keywords:
                    _refuse(node, f"{name} 不接受参数 {keyword.arg}")
        args, keywords = self.arguments(node, spec.takes_key)
        impl = spec.impl
        if len(args) == 1 and not keywords:
            only = args[0]

            def call_one(st: State) -> Any:
                st.steps += 1
                if st.steps >= st.check_at:
                    st.checkpoint()
                return impl(st, [only(st)], {})

            return call_one

        def call(st: State) -> Any:
            _tick(st)
            values = [arg(st) for arg in args]
            st.charge(len(values))
            return impl(st, values, {key: value(st) for key, value in keywords})

        return call

    def function_call(self, node: ast.Call, name: str) -> Eval:
        args, keywords = self.arguments(node, takes_key=False)

        def call(st: State) -> Any:
            _tick(st)
            values = [arg(st) for arg in args]
            return st.call_function(name, values, {key: value(st) for key, value in keywords})

        return call

    def method_call(self, node: ast.Call, name: str, obj: Eval) -> Eval:
        args, keywords = self.arguments(node, takes_key=name in KEY_METHODS)

        def call(st: State) -> Any:
            _tick(st)
            receiver = obj(st)
            method = METHODS.get(type(receiver), {}).get(name)
            if method is None:
                raise SandboxViolation(f"不允许调用 {type_name(receiver)} 的方法 {name}")
            values = [arg(st) for arg in args]
            st.charge(len(values))
            return method(st, receiver, values, {key: value(st) for key, value in keywords})

        return call


_UNSET: Final = object()


def _literal(text: str) -> Eval:
    return lambda st: text


def _load_item(st: State, container: Any, key: Any) -> Any:
    if type(key) is tuple:
        st.weigh(key)
    return container[key]


def _store_item(st: State, container: Any, key: Any, value: Any) -> None:
    kind = type(container)
    if kind is dict:
        if st.key(key) not in container:
            st.grow(container, 1)
    elif kind is not list:
        raise SandboxError(f"{kind.__name__} 类型的值不能按下标赋值", kind="TypeError")
    container[key] = value


def _delete_name(name: str) -> Callable[[State], None]:
    def delete(st: State) -> None:
        if name in st.ns:
            del st.ns[name]
        elif name in st.deleted or name not in st.inputs:
            raise SandboxError(f"未定义的变量 {name}", kind="NameError")
        st.deleted.add(name)

    return delete


def _delete_item(container: Eval, key: Eval) -> Callable[[State], None]:
    def delete(st: State) -> None:
        obj, index = container(st), key(st)
        if type(obj) not in (dict, list):
            raise SandboxError(f"{type_name(obj)} 类型的值不能删除其中的项", kind="TypeError")
        del obj[st.key(index)]

    return delete


def _comprehension_level(
    iterable: Eval,
    store: Callable[[State, Any], None],
    conditions: tuple[Eval, ...],
    inner: Callable[[State, Any], None],
) -> Callable[[State, Any], None]:
    def level(st: State, out: Any) -> None:
        for item in iterate(iterable(st)):
            st.steps += 1
            if st.steps >= st.check_at:
                st.checkpoint()
            store(st, item)
            for condition in conditions:
                if not condition(st):
                    break
            else:
                inner(st, out)

    return level


# --- parsing ------------------------------------------------------------------------------------------------


def _parse(source: str, mode: Literal["eval", "exec"], limits: Limits) -> ast.AST:
    try:
        tree = ast.parse(source, mode=mode)
    except SyntaxError as exc:
        if "too many nested" in exc.msg:
            raise SandboxMemory(f"脚本嵌套超过 {limits.max_depth} 层", line=exc.lineno) from None
        raise SandboxViolation(f"语法错误：{exc.msg}", line=exc.lineno) from None
    except (RecursionError, MemoryError):
        raise SandboxMemory(f"脚本嵌套超过 {limits.max_depth} 层") from None
    except ValueError as exc:
        raise SandboxViolation(f"脚本无法解析：{exc}") from None
    _check_depth(tree, limits.max_depth)
    return tree


def _check_depth(tree: ast.AST, max_depth: int) -> None:
    """Nesting of statements and expressions, measured without recursion (the tree may be very deep).

    An elif is as deep as its if: it is compiled into the if's flat list of branches.
    """
    stack: list[tuple[ast.AST, int]] = [(tree, 0)]
    while stack:
        node, depth = stack.pop()
        if isinstance(node, ast.expr | ast.stmt):
            depth += 1
            if depth > max_depth:
                raise SandboxMemory(f"脚本嵌套超过 {max_depth} 层", line=getattr(node, "lineno", None))
        for child in ast.iter_child_nodes(node):
            is_elif = isinstance(node, ast.If) and isinstance(child, ast.If) and node.orelse == [child]
            stack.append((child, depth - 1 if is_elif else depth))


@dataclass(frozen=True)
class _Refusal:
    """A source found wrong once; raised afresh (with a fresh traceback) on every use."""

    error: type[SandboxError]
    reason: str
    line: int | None

    def raise_(self) -> NoReturn:
        raise self.error(self.reason, line=self.line)


@dataclass(frozen=True)
class _Program:
    run: Callable[[State], Any]


class Sandbox:
    """Runs BPMN scripts and evaluates conditions and DMN entries in a safe subset of Python.

    ``functions`` are trusted callables the platform offers to scripts (``working_days_after(n)``); they
    receive sandbox values only and their results are checked like process data.
    """

    def __init__(
        self, limits: Limits = DEFAULT_LIMITS, functions: Mapping[str, Callable[..., Any]] | None = None
    ) -> None:
        self.limits = limits
        self._functions = dict(functions or {})
        for name in self._functions:
            if not name.isidentifier() or name.startswith("_") or name in BUILTINS:
                raise ValueError(f"platform function name not usable in scripts: {name!r}")
        self._callables = frozenset(BUILTINS) | frozenset(self._functions)
        self._compiler = _Compiler(frozenset(self._functions), limits)
        self._short_programs = lru_cache(maxsize=SHORT_CACHE_SIZE)(self._build)
        self._long_programs = lru_cache(maxsize=LONG_CACHE_SIZE)(self._build)

    def check(self, source: str, mode: Literal["eval", "exec"]) -> None:
        """Validate a source without running it (when a BPMN is deployed): syntax, constructs, size."""
        self._program(source, mode)

    def evaluate(self, expression: str, variables: Mapping[str, Any]) -> Any:
        """The value of an expression over ``variables``, which it reads but never changes."""
        program = self._program(expression, "eval")
        state = State(self.limits, variables, self._functions, self._callables)
        with decimal.localcontext(DECIMAL_CONTEXT):
            try:
                return state.deliver(program.run(state))
            except SandboxError:
                raise
            except Exception as exc:
                raise runtime_error(exc) from None

    def execute(self, script: str, variables: MutableMapping[str, Any]) -> None:
        """Run a script; if it succeeds, its top-level assignments and ``del`` go into ``variables``."""
        program = self._program(script, "exec")
        state = State(self.limits, variables, self._functions, self._callables)
        with decimal.localcontext(DECIMAL_CONTEXT):
            try:
                program.run(state)
                for value in state.ns.values():
                    state.deliver(value)
            except SandboxError:
                raise
            except Exception as exc:
                raise runtime_error(exc) from None
        variables.update(state.ns)
        for name in state.deleted - state.ns.keys():
            variables.pop(name, None)

    def _program(self, source: str, mode: Literal["eval", "exec"]) -> _Program:
        if mode not in ("eval", "exec"):
            raise ValueError(f"mode must be 'eval' or 'exec', not {mode!r}")
        if len(source) > self.limits.max_source:
            # Refused before it reaches a cache, where a huge source would stay.
            raise SandboxMemory(f"脚本长度 {len(source)} 个字符，超过上限 {self.limits.max_source}")
        cache = self._short_programs if len(source) <= SHORT_SOURCE else self._long_programs
        built = cache(source, mode)
        if isinstance(built, _Refusal):
            built.raise_()
        return built

    def _build(self, source: str, mode: Literal["eval", "exec"]) -> _Program | _Refusal:
        try:
            if mode == "eval":
                # eval() ignores surrounding blank space, and BPMN editors leave it around conditions.
                tree = _parse(source.strip(), mode, self.limits)
                assert isinstance(tree, ast.Expression)
                return _Program(self._expression(tree.body))
            tree = _parse(source, mode, self.limits)
            assert isinstance(tree, ast.Module)
            return _Program(self._compiler.block(tree.body, 0) if tree.body else (lambda st: 0))
        except SandboxError as exc:
            return _Refusal(type(exc), exc.reason, exc.line)
        except RecursionError:
            # Only when the caller's own stack is already deep: the nesting itself was checked.
            return _Refusal(SandboxMemory, f"脚本嵌套超过 {self.limits.max_depth} 层", None)

    def _expression(self, node: ast.expr) -> Eval:
        return _located_expression(self._compiler.expr(node), node.lineno)
