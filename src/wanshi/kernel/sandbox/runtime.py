"""The state of one sandboxed call: budgets, variables, and the checks every produced value goes through.

Values inside the sandbox are only those of ``SCALARS`` and ``CONTAINERS``. Process data is copied in when a
script first reads a name (so a script never holds the caller's objects and a failed script changes nothing),
and checked again on the way out. Every string or container an operation produces passes ``produced`` (size
and memory budget); every int passes the bit limit; operations that could build something huge are checked
*before* they run (``need``).

The time limit is cooperative (checked every ``CHECK_EVERY`` steps), so no single C-level operation may run
long: work proportional to a value's size is charged as steps *before* it runs (``charge``), and so is work
proportional to its expanded size (``weigh``): comparing, hashing or sorting nested values visits shared
elements once per reference, and ``[[0] * 10**5] * 10**5`` is small in memory but 10**10 elements to compare.

Tuples are the one place where Python itself recurses without a guard (hashing a tuple nested a million deep
overflows the C stack), so the nesting of tuples is tracked where tuples are built and never exceeds
``max_depth``. Lists and dicts nested deeper than that can only be built by mutation; Python's recursion guard
covers them (``RecursionError`` becomes ``SandboxMemory``) and the nesting is checked where data leaves.
"""

from __future__ import annotations

import builtins
import re
from collections.abc import Callable, Mapping
from datetime import date, datetime, timedelta
from decimal import Decimal, DecimalException, DivisionByZero, InvalidOperation
from time import monotonic
from typing import Any, Final

from wanshi.kernel.sandbox.errors import SandboxError, SandboxMemory, SandboxTimeout, SandboxViolation
from wanshi.kernel.sandbox.limits import Limits

NoneType = type(None)
SCALARS: Final[frozenset[type]] = frozenset(
    {NoneType, bool, int, float, Decimal, str, date, datetime, timedelta}
)
CONTAINERS: Final[frozenset[type]] = frozenset({list, tuple, dict, set})
SIZED: Final[frozenset[type]] = frozenset({str, list, tuple, dict, set})
ITERABLE: Final[frozenset[type]] = SIZED
SEQUENCES: Final[frozenset[type]] = frozenset({str, list, tuple})
INTEGERS: Final[frozenset[type]] = frozenset({int, bool})
NUMBERS: Final[frozenset[type]] = frozenset({int, bool, float, Decimal})

# Python's own builtins that the sandbox does not offer: naming one gets "not allowed", not "undefined".
PYTHON_BUILTINS: Final[frozenset[str]] = frozenset(dir(builtins))

# The time is read every this many steps: often enough to stop within a few milliseconds of the deadline,
# rarely enough to cost nothing.
CHECK_EVERY: Final = 1_000
# Bounds for f-string format specs: enough for any report line, far from a memory bomb.
FORMAT_MAX_WIDTH: Final = 1_000
FORMAT_MAX_PRECISION: Final = 100
STRFTIME_MAX: Final = 100
# Arithmetic rounds to 28 digits anyway; a longer Decimal (only constructors make one) would only make every
# multiplication slower (a 1,000-digit product costs as much as a hundred interpreted steps).
DECIMAL_MAX_DIGITS: Final = 100
_SPEC = re.compile(
    r"(?:(?P<fill>.)?(?P<align>[<>=^]))?(?P<sign>[-+ ])?z?#?0?(?P<width>\d+)?[,_]?"
    r"(?:\.(?P<precision>\d+))?(?P<type>[bcdeEfFgGnosxX%])?",
    re.DOTALL,
)

# Control signals of statements: 0 is "carry on".
BREAK: Final = 1
CONTINUE: Final = 2

Eval = Callable[["State"], Any]
Exec = Callable[["State"], int]


def type_name(value: object) -> str:
    return type(value).__name__


class State:
    """Budgets and variables of one call. Closures compiled from the script receive it as their argument."""

    __slots__ = (
        "allocated",
        "callables",
        "check_at",
        "deadline",
        "deleted",
        "functions",
        "inputs",
        "limits",
        "ns",
        "steps",
        "tuple_depths",
    )

    def __init__(
        self,
        limits: Limits,
        inputs: Mapping[str, Any],
        functions: Mapping[str, Callable[..., Any]],
        callables: frozenset[str],
    ) -> None:
        self.limits = limits
        self.inputs = inputs
        self.functions = functions
        # Names a script may call (the sandbox's builtins and the platform's functions).
        self.callables = callables
        # The script's namespace: names it assigned, and process data copied in on first read.
        self.ns: dict[str, Any] = {}
        self.deleted: set[str] = set()
        self.steps = 0
        self.check_at = min(CHECK_EVERY, limits.max_steps + 1)
        self.deadline = monotonic() + limits.max_seconds
        self.allocated = 0
        self.tuple_depths: dict[int, tuple[tuple[Any, ...], int]] = {}

    # --- time ---------------------------------------------------------------------------------------------

    def checkpoint(self) -> None:
        if self.steps > self.limits.max_steps:
            raise SandboxTimeout(f"脚本运行超过 {self.limits.max_steps} 步，已被中止（是否有死循环？）")
        if monotonic() > self.deadline:
            raise SandboxTimeout(f"脚本运行超过 {self.limits.max_seconds:g} 秒，已被中止（是否有死循环？）")
        self.check_at = min(self.steps + CHECK_EVERY, self.limits.max_steps + 1)

    def charge(self, steps: int) -> None:
        """Count bulk work (one step per element) done by a single operation."""
        self.steps += steps
        if self.steps >= self.check_at:
            self.checkpoint()

    def weigh(self, value: Any) -> int:
        """Charge the work of a C-level operation that walks ``value`` (comparing, hashing, searching).

        The weight counts every element reached, shared ones once per reference, since that is how often
        Python visits them. The walk stops as soon as the remaining budget is spent, so it never costs more
        than the budget allows, and the operation is refused before it runs.
        """
        cutoff = self.limits.max_steps - self.steps
        weight = _weight(value, cutoff, self.limits.max_depth)
        self.charge(weight)
        return weight

    def weigh_pair(self, a: Any, b: Any) -> None:
        """Comparing two containers stops at the smaller one: charge that."""
        cutoff, depth = self.limits.max_steps - self.steps, self.limits.max_depth
        self.charge(min(_weight(a, cutoff, depth), _weight(b, cutoff, depth)))

    def key(self, value: Any) -> Any:
        """A value about to be hashed: tuples do not cache their hash, so hashing walks them every time."""
        if type(value) is tuple:
            self.weigh(value)
        return value

    # --- memory -------------------------------------------------------------------------------------------

    def need(self, size: int) -> None:
        """Refuse, before building it, a string or container that would exceed the size limit."""
        if size > self.limits.max_size:
            raise SandboxMemory(f"要生成的数据长度 {size} 超过上限 {self.limits.max_size}")

    def allocate(self, amount: int) -> None:
        self.allocated += amount
        if self.allocated > self.limits.max_allocated:
            raise SandboxMemory(f"脚本生成的数据总量超过上限 {self.limits.max_allocated}")

    def produced(self, value: Any) -> Any:
        """Account for a new string or container."""
        size = len(value)
        if size > self.limits.max_size:
            raise SandboxMemory(f"生成的数据长度 {size} 超过上限 {self.limits.max_size}")
        self.allocated += size
        if self.allocated > self.limits.max_allocated:
            raise SandboxMemory(f"脚本生成的数据总量超过上限 {self.limits.max_allocated}")
        return value

    def grow(self, container: Any, extra: int) -> None:
        """Account, before it happens, for a container growing in place."""
        if extra > 0:
            self.need(len(container) + extra)
            self.allocate(extra)

    def integer(self, value: int) -> int:
        if value.bit_length() > self.limits.max_int_bits:
            raise SandboxMemory(f"整数超过 {self.limits.max_int_bits} 位，已被拒绝")
        return value

    def decimal(self, value: Decimal) -> Decimal:
        """Arithmetic rounds to 28 digits; only a constructor can make a longer Decimal: keep it short."""
        if value.is_finite() and value.adjusted() - int(value.as_tuple().exponent) >= DECIMAL_MAX_DIGITS:
            raise SandboxMemory(f"十进制数超过 {DECIMAL_MAX_DIGITS} 位有效数字，已被拒绝")
        return value

    def result(self, value: Any) -> Any:
        """Check any value an operation returned."""
        kind = type(value)
        if kind is int:
            return self.integer(value)
        if kind in SIZED:
            return self.produced(value)
        if kind in SCALARS:
            return value
        raise SandboxError(f"运算结果的类型 {kind.__name__} 不受支持", kind="TypeError")

    # --- tuples -------------------------------------------------------------------------------------------

    def tuple_depth(self, value: tuple[Any, ...]) -> int:
        known = self.tuple_depths.get(id(value))
        if known is not None and known[0] is value:
            return known[1]
        depth = 1
        for item in value:
            if type(item) is tuple:
                depth = max(depth, self.tuple_depth(item) + 1)
        if depth > 1:
            self.tuple_depths[id(value)] = (value, depth)
        return depth

    def new_tuple(self, value: tuple[Any, ...]) -> tuple[Any, ...]:
        """Check a tuple just built from existing values: its nesting, then its size."""
        depth = 1
        for item in value:
            if type(item) is tuple:
                depth = max(depth, self.tuple_depth(item) + 1)
        if depth > self.limits.max_depth:
            raise SandboxMemory(f"数据嵌套超过 {self.limits.max_depth} 层")
        if depth > 1:
            self.tuple_depths[id(value)] = (value, depth)
        self.produced(value)
        return value

    # --- names --------------------------------------------------------------------------------------------

    def fetch(self, name: str) -> Any:
        """A name not (yet) in the namespace: copy it in from the process data."""
        if name not in self.deleted and name in self.inputs:
            value = self.take(self.inputs[name], 0, name)
            self.ns[name] = value
            return value
        if name in self.callables:
            raise SandboxViolation(f"{name} 是函数，只能直接调用")
        if name in PYTHON_BUILTINS:
            raise SandboxViolation(f"不允许使用 {name}")
        raise SandboxError(f"未定义的变量 {name}", kind="NameError")

    def take(self, value: Any, depth: int, name: str) -> Any:
        """Copy a value from outside (process data, a platform function's result) into the sandbox."""
        kind = type(value)
        if kind is int:
            return self.integer(value)
        if kind is Decimal:
            return self.decimal(value)
        if kind in SCALARS:
            return value
        if kind not in CONTAINERS:
            raise SandboxViolation(f"数据 {name} 含有脚本不能使用的类型 {kind.__name__}")
        if depth >= self.limits.max_depth:
            raise SandboxMemory(f"数据 {name} 嵌套超过 {self.limits.max_depth} 层")
        if len(value) > self.limits.max_size:
            raise SandboxMemory(f"数据 {name} 的长度 {len(value)} 超过上限 {self.limits.max_size}")
        self.allocate(len(value))
        depth += 1
        if kind is list:
            return [self.take(item, depth, name) for item in value]
        if kind is tuple:
            return tuple([self.take(item, depth, name) for item in value])
        if kind is dict:
            return {self.take(k, depth, name): self.take(v, depth, name) for k, v in value.items()}
        return {self.take(item, depth, name) for item in value}

    def deliver(self, value: Any) -> Any:
        """Check a value leaving the sandbox: allowed types only, nesting (so no cycles) and size bounded.

        The total counts shared elements once per reference, as serialising the value will.
        """
        if type(value) in SCALARS:
            return value
        total = 0
        stack: list[tuple[Any, int]] = [(value, 0)]
        while stack:
            item, depth = stack.pop()
            kind = type(item)
            if kind in SCALARS:
                continue
            if kind not in CONTAINERS:
                raise SandboxError(f"结果的类型 {kind.__name__} 不受支持", kind="TypeError")
            if depth >= self.limits.max_depth:
                raise SandboxMemory(f"数据嵌套超过 {self.limits.max_depth} 层（或引用了自身）")
            total += len(item)
            if total > self.limits.max_allocated:
                raise SandboxMemory(f"结果数据总量超过上限 {self.limits.max_allocated}")
            children = [x for pair in item.items() for x in pair] if kind is dict else item
            stack.extend((child, depth + 1) for child in children if type(child) not in SCALARS)
        return value

    def call_function(self, name: str, args: list[Any], kwargs: dict[str, Any]) -> Any:
        """Call a trusted platform function with sandbox values; its result is copied in like process data."""
        for arg in args:
            self.deliver(arg)
        for arg in kwargs.values():
            self.deliver(arg)
        try:
            result = self.functions[name](*args, **kwargs)
        except SandboxError:
            raise
        except Exception as exc:
            message = getattr(exc, "message", None)
            reason = message if isinstance(message, str) else f"平台函数 {name} 运行出错"
            raise SandboxError(reason, kind=type(exc).__name__) from exc
        return self.take(result, 0, f"{name}() 的结果")

    # --- text ---------------------------------------------------------------------------------------------

    def text(self, value: Any) -> str:
        """``str(value)``, refused before it runs if the text would be too long."""
        if type(value) is str:
            return value
        if type(value) in CONTAINERS:
            self.text_budget(value)
        return self.produced(str(value))  # type: ignore[no-any-return]

    def text_budget(self, value: Any) -> None:
        """Estimate (from above) the length of a container's text without building it."""
        budget = self.limits.max_size
        total = 0
        stack: list[tuple[Any, int]] = [(value, 0)]
        while stack:
            item, depth = stack.pop()
            kind = type(item)
            if kind in CONTAINERS:
                if depth >= self.limits.max_depth:
                    raise SandboxMemory(f"数据嵌套超过 {self.limits.max_depth} 层（或引用了自身）")
                self.charge(len(item))
                # Brackets (or "set()"), and ", " between elements, ": " within dict items.
                total += 5 + (4 if kind is dict else 2) * len(item)
                children = [x for pair in item.items() for x in pair] if kind is dict else item
                stack.extend((child, depth + 1) for child in children)
            elif kind is str:
                total += len(repr(item)) if len(item) <= budget else len(item)
            else:
                total += len(repr(item))
            if total > budget:
                raise SandboxMemory(f"转换成的文字长度超过上限 {budget}")

    def format(self, value: Any, spec: str) -> str:
        """``format(value, spec)`` with the spec's width and precision bounded."""
        if not spec:
            return self.text(value)
        kind = type(value)
        if kind in (date, datetime):
            if len(spec) > STRFTIME_MAX:
                raise SandboxMemory(f"日期格式过长（上限 {STRFTIME_MAX} 个字符）")
            return self.produced(format(value, spec))  # type: ignore[no-any-return]
        match = _SPEC.fullmatch(spec)
        if match is None:
            raise SandboxError(f"格式说明 {spec!r} 无效", kind="ValueError")
        width = int(match["width"] or 0)
        precision = int(match["precision"] or 0)
        if width > FORMAT_MAX_WIDTH or precision > FORMAT_MAX_PRECISION:
            raise SandboxMemory(
                f"格式说明中的宽度或精度过大（宽度上限 {FORMAT_MAX_WIDTH}，精度上限 {FORMAT_MAX_PRECISION}）"
            )
        if kind is Decimal and value.is_finite() and match["type"] in (None, "f", "F", "%", "n"):
            # Fixed-point formatting writes out every digit of the exponent: 1E+999999999 would be a gigabyte.
            exponent = value.as_tuple().exponent
            assert isinstance(exponent, int)
            digits = abs(value.adjusted()) + abs(exponent) + precision + width
            self.need(digits)
        return self.produced(format(value, spec))  # type: ignore[no-any-return]


def _weight(value: Any, cutoff: int, max_depth: int) -> int:
    """Elements reached when walking ``value`` (long strings count per KiB), stopping past ``cutoff``."""
    kind = type(value)
    if kind not in CONTAINERS:
        return 1 + (len(value) >> 10 if kind is str else 0)
    total = 0
    stack: list[tuple[Any, int]] = [(value, 0)]
    while stack and total <= cutoff:
        item, depth = stack.pop()
        total += 1
        kind = type(item)
        if kind in CONTAINERS:
            if depth >= max_depth:
                raise SandboxMemory(f"数据嵌套超过 {max_depth} 层（或引用了自身）")
            children = [x for pair in item.items() for x in pair] if kind is dict else item
            if set(map(type, children)).isdisjoint(_NESTED):
                total += len(children)
            else:
                stack.extend((child, depth + 1) for child in children)
        elif kind is str:
            total += len(item) >> 10
    return total


_NESTED: Final[frozenset[type]] = CONTAINERS | {str}


def runtime_error(exc: BaseException) -> SandboxError:
    """Turn a Python exception raised by an operation on sandbox values into a sandbox error."""
    if isinstance(exc, RecursionError | MemoryError):
        return SandboxMemory("数据嵌套过深或过大", kind=type(exc).__name__)
    kind = type(exc).__name__
    if isinstance(exc, ZeroDivisionError | DivisionByZero):
        return SandboxError("除数不能为零", kind=kind)
    if isinstance(exc, KeyError):
        return SandboxError(f"键 {_describe(exc.args[0] if exc.args else None)} 不存在", kind=kind)
    if isinstance(exc, IndexError):
        return SandboxError("下标超出范围", kind=kind)
    if isinstance(exc, InvalidOperation | DecimalException):
        return SandboxError("十进制数运算无效（结果无法表示或溢出）", kind=kind)
    if isinstance(exc, OverflowError):
        return SandboxError("数值超出范围", kind=kind)
    if isinstance(exc, TypeError):
        return SandboxError(f"数据类型不匹配（{_english(exc)}）", kind=kind)
    if isinstance(exc, ValueError):
        return SandboxError(f"取值无效（{_english(exc)}）", kind=kind)
    if isinstance(exc, RuntimeError):
        return SandboxError("遍历时修改了正在遍历的数据", kind=kind)
    return SandboxError("脚本运行出错", kind=kind)


def _describe(value: Any) -> str:
    """A short text for a value in a message (never the repr of a large or nested value)."""
    if type(value) is str:
        return repr(value[:40])
    if type(value) in SCALARS and type(value) is not int:
        return repr(value)
    if type(value) is int and value.bit_length() < 64:
        return repr(value)
    return f"（{type_name(value)}）"


def _english(exc: BaseException) -> str:
    # Python's own wording says which operand was wrong; it is short, and names no internals.
    return str(exc)[:120]


# --- operators ----------------------------------------------------------------------------------------------


def op_add(st: State, a: Any, b: Any) -> Any:
    return st.result(a + b)


def op_sub(st: State, a: Any, b: Any) -> Any:
    return st.result(a - b)


def op_mul(st: State, a: Any, b: Any) -> Any:
    if type(a) in SEQUENCES and type(b) in INTEGERS:
        st.need(len(a) * b)
    elif type(b) in SEQUENCES and type(a) in INTEGERS:
        st.need(len(b) * a)
    return st.result(a * b)


def op_div(st: State, a: Any, b: Any) -> Any:
    return st.result(a / b)


def op_floordiv(st: State, a: Any, b: Any) -> Any:
    return st.result(a // b)


def op_mod(st: State, a: Any, b: Any) -> Any:
    if type(a) is str:
        raise SandboxViolation("不允许用 % 格式化字符串，请使用 f-string")
    return st.result(a % b)


def op_pow(st: State, a: Any, b: Any) -> Any:
    if type(a) in INTEGERS and type(b) in INTEGERS and b > 0:
        # |a| ** b has at least (bits - 1) * b + 1 bits: refuse before computing 10 ** 10 ** 10.
        bits = int(a).bit_length()
        if bits > 1 and (bits - 1) * b >= st.limits.max_int_bits:
            raise SandboxMemory(f"整数超过 {st.limits.max_int_bits} 位，已被拒绝")
    return st.result(a**b)


def op_lshift(st: State, a: Any, b: Any) -> Any:
    if (
        type(a) in INTEGERS
        and type(b) in INTEGERS
        and a
        and b > 0
        and int(a).bit_length() + b > st.limits.max_int_bits
    ):
        raise SandboxMemory(f"整数超过 {st.limits.max_int_bits} 位，已被拒绝")
    return st.result(a << b)


def op_rshift(st: State, a: Any, b: Any) -> Any:
    return st.result(a >> b)


def op_or(st: State, a: Any, b: Any) -> Any:
    return st.result(a | b)


def op_xor(st: State, a: Any, b: Any) -> Any:
    return st.result(a ^ b)


def op_and(st: State, a: Any, b: Any) -> Any:
    return st.result(a & b)


_IN_PLACE: Final[dict[type, frozenset[str]]] = {
    list: frozenset({"+", "*"}),
    set: frozenset({"|", "&", "-", "^"}),
    dict: frozenset({"|"}),
}


def augmented(st: State, symbol: str, a: Any, b: Any) -> Any:
    """``a op= b``: lists, sets and dicts change in place as in Python (others rebind), growth accounted."""
    kind = type(a)
    if symbol in _IN_PLACE.get(kind, ()):
        before = len(a)
        if symbol == "*":
            if type(b) not in INTEGERS:
                raise SandboxError("列表只能乘以整数", kind="TypeError")
            st.need(before * b)
            a *= b
        else:
            if type(b) not in ITERABLE:
                raise SandboxError(f"不能把 {type_name(b)} 合并进 {kind.__name__}", kind="TypeError")
            st.need(before + len(b))
            if symbol == "+":
                a += b
            elif symbol == "|":
                a |= b
            elif symbol == "&":
                a &= b
            elif symbol == "-":
                a -= b
            else:
                a ^= b
        st.allocate(max(0, len(a) - before))
        return a
    return BINARY[symbol](st, a, b)


BINARY: Final[dict[str, Callable[[State, Any, Any], Any]]] = {
    "+": op_add,
    "-": op_sub,
    "*": op_mul,
    "/": op_div,
    "//": op_floordiv,
    "%": op_mod,
    "**": op_pow,
    "<<": op_lshift,
    ">>": op_rshift,
    "|": op_or,
    "^": op_xor,
    "&": op_and,
}


def cmp_in(st: State, a: Any, b: Any) -> bool:
    kind = type(b)
    if kind is list or kind is tuple:
        st.weigh(b)
    elif kind is dict or kind is set:
        st.key(a)
    elif kind is str and type(a) is str:
        st.charge(len(b) >> 10)
    return a in b


def cmp_not_in(st: State, a: Any, b: Any) -> bool:
    return not cmp_in(st, a, b)


def _ordered(compare: Callable[[Any, Any], Any]) -> Callable[[State, Any, Any], Any]:
    def run(st: State, a: Any, b: Any) -> Any:
        kind = type(a)
        if kind is type(b):
            if kind in CONTAINERS:
                st.weigh_pair(a, b)
            elif kind is str:
                st.charge(min(len(a), len(b)) >> 10)
        return compare(a, b)

    return run


COMPARE: Final[dict[str, Callable[[State, Any, Any], Any]]] = {
    "==": _ordered(lambda a, b: a == b),
    "!=": _ordered(lambda a, b: a != b),
    "<": _ordered(lambda a, b: a < b),
    "<=": _ordered(lambda a, b: a <= b),
    ">": _ordered(lambda a, b: a > b),
    ">=": _ordered(lambda a, b: a >= b),
    "is": lambda st, a, b: a is b,
    "is not": lambda st, a, b: a is not b,
    "in": cmp_in,
    "not in": cmp_not_in,
}


def iterate(value: Any) -> Any:
    """What a ``for`` or a comprehension may walk over (dicts give their keys, as in Python)."""
    if type(value) in ITERABLE:
        return value
    raise SandboxError(f"{type_name(value)} 类型的值不能遍历", kind="TypeError")


def unpack(value: Any, count: int) -> list[Any]:
    if type(value) not in ITERABLE:
        raise SandboxError(f"{type_name(value)} 类型的值不能拆分赋值", kind="TypeError")
    if len(value) != count:
        raise SandboxError(f"拆分赋值需要 {count} 个值，实际有 {len(value)} 个", kind="ValueError")
    return list(value)
