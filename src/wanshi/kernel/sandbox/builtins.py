"""What a script may call: the builtins, the methods of each value type, the attributes it may read.

Everything here is a whitelist keyed by exact type. A builtin or method receives the call's state, its
(already evaluated, sandbox-only) arguments, and returns a value that has been size-checked. Anything that
could build a large result checks the size it *would* build first.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any, Final

from wanshi.kernel.sandbox.errors import SandboxError, SandboxMemory
from wanshi.kernel.sandbox.runtime import (
    INTEGERS,
    ITERABLE,
    NUMBERS,
    SEQUENCES,
    STRFTIME_MAX,
    State,
    type_name,
)

Args = list[Any]
Kwargs = dict[str, Any]
BuiltinImpl = Callable[[State, Args, Kwargs], Any]
MethodImpl = Callable[[State, Any, Args, Kwargs], Any]

# round(x, n) with a huge n makes CPython compute 10 ** n: far beyond any useful number of decimals.
ROUND_MAX_DIGITS: Final = 1_000


@dataclass(frozen=True)
class Builtin:
    impl: BuiltinImpl
    min_args: int
    max_args: int | None
    # Keyword arguments accepted; None accepts any (dict(a=1)).
    keywords: frozenset[str] | None = frozenset()
    # Whether ``key=`` takes a function name (sorted, min, max).
    takes_key: bool = False


def _type_error(message: str) -> SandboxError:
    return SandboxError(message, kind="TypeError")


def _items(st: State, value: Any, what: str, *, deep: bool = False) -> Any:
    """An iterable argument, its elements counted as bulk work.

    ``deep`` when the operation compares or hashes the elements, which walks them.
    """
    if type(value) not in ITERABLE:
        raise _type_error(f"{what} 需要列表、元组、集合、字典或字符串，得到的是 {type_name(value)}")
    if deep:
        st.weigh(value)
    else:
        st.charge(len(value))
    return value


def _sorting(st: State, value: Any, what: str) -> Any:
    """Sorting compares each element about log2(n) times; a nested element costs its whole size each time."""
    if type(value) not in ITERABLE:
        raise _type_error(f"{what} 需要列表、元组、集合、字典或字符串，得到的是 {type_name(value)}")
    nested = st.weigh(value) - len(value) - 1
    if nested > 0:
        st.charge(nested * max(1, len(value).bit_length()))
    return value


def _int_digits_limit(st: State) -> int:
    # Decimal digits of the largest allowed int, plus a sign and some slack for underscores and spaces.
    return st.limits.max_int_bits * 30103 // 100000 + 4


def _len(st: State, args: Args, kwargs: Kwargs) -> Any:
    value = args[0]
    if type(value) not in ITERABLE:
        raise _type_error(f"{type_name(value)} 类型的值没有长度")
    return len(value)


def _abs(st: State, args: Args, kwargs: Kwargs) -> Any:
    return st.result(abs(args[0]))


def _bool(st: State, args: Args, kwargs: Kwargs) -> Any:
    return bool(args[0]) if args else False


def _int(st: State, args: Args, kwargs: Kwargs) -> Any:
    if not args:
        return 0
    value = args[0]
    base = kwargs.get("base", args[1] if len(args) > 1 else None)
    kind = type(value)
    if kind is str:
        # The longest text an allowed int can have is in base 2: one character per bit.
        if len(value.strip()) > st.limits.max_int_bits + 3:
            raise SandboxMemory(f"整数超过 {st.limits.max_int_bits} 位，已被拒绝")
        return st.integer(int(value) if base is None else int(value, base))
    if base is not None:
        raise _type_error("只有文字转换成整数时才能指定进制")
    if kind is Decimal and value.is_finite() and value.adjusted() >= _int_digits_limit(st):
        raise SandboxMemory(f"整数超过 {st.limits.max_int_bits} 位，已被拒绝")
    if kind not in NUMBERS:
        raise _type_error(f"{type_name(value)} 类型的值不能转换成整数")
    return st.integer(int(value))


def _float(st: State, args: Args, kwargs: Kwargs) -> Any:
    if not args:
        return 0.0
    value = args[0]
    if type(value) not in NUMBERS and type(value) is not str:
        raise _type_error(f"{type_name(value)} 类型的值不能转换成浮点数")
    return float(value)


def _str(st: State, args: Args, kwargs: Kwargs) -> Any:
    return st.text(args[0]) if args else ""


def _decimal(st: State, args: Args, kwargs: Kwargs) -> Any:
    if not args:
        return Decimal(0)
    value = args[0]
    if type(value) not in NUMBERS and type(value) is not str:
        raise _type_error(f"{type_name(value)} 类型的值不能转换成 Decimal")
    return st.decimal(Decimal(value))


def _round(st: State, args: Args, kwargs: Kwargs) -> Any:
    value = args[0]
    digits = kwargs.get("ndigits", args[1] if len(args) > 1 else None)
    if type(value) not in NUMBERS:
        raise _type_error(f"{type_name(value)} 类型的值不能取整")
    if digits is None:
        if type(value) is Decimal and value.is_finite() and value.adjusted() >= _int_digits_limit(st):
            raise SandboxMemory(f"整数超过 {st.limits.max_int_bits} 位，已被拒绝")
        return st.result(round(value))
    if type(digits) not in INTEGERS:
        raise _type_error("round 的位数必须是整数")
    if abs(digits) > ROUND_MAX_DIGITS:
        raise SandboxMemory(f"round 的位数不能超过 {ROUND_MAX_DIGITS}")
    return st.result(round(value, digits))


def _candidates(st: State, args: Args, name: str) -> Any:
    return _items(st, args[0], name, deep=True) if len(args) == 1 else _items(st, args, name, deep=True)


def _min(st: State, args: Args, kwargs: Kwargs) -> Any:
    if len(args) > 1 and "default" in kwargs:
        raise _type_error("min 有多个参数时不能指定 default")
    return min(_candidates(st, args, "min"), **kwargs)


def _max(st: State, args: Args, kwargs: Kwargs) -> Any:
    if len(args) > 1 and "default" in kwargs:
        raise _type_error("max 有多个参数时不能指定 default")
    return max(_candidates(st, args, "max"), **kwargs)


def _sum(st: State, args: Args, kwargs: Kwargs) -> Any:
    items = _items(st, args[0], "sum")
    start: Any = kwargs.get("start", args[1] if len(args) > 1 else 0)
    # Only numbers: sum(lists, []) would be quadratic concatenation outside every size check.
    for item in (start, *items):
        if type(item) not in NUMBERS and type(item) is not timedelta:
            raise _type_error(f"sum 只能累加数值，遇到了 {type_name(item)}")
    return st.result(sum(items, start))


def _sorted(st: State, args: Args, kwargs: Kwargs) -> Any:
    items = _sorting(st, args[0], "sorted")
    return st.produced(sorted(items, **kwargs))


def _any(st: State, args: Args, kwargs: Kwargs) -> Any:
    return any(_items(st, args[0], "any"))


def _all(st: State, args: Args, kwargs: Kwargs) -> Any:
    return all(_items(st, args[0], "all"))


def _list(st: State, args: Args, kwargs: Kwargs) -> Any:
    return st.produced(list(_items(st, args[0], "list"))) if args else []


def _tuple(st: State, args: Args, kwargs: Kwargs) -> Any:
    return st.new_tuple(tuple(_items(st, args[0], "tuple"))) if args else ()


def _set(st: State, args: Args, kwargs: Kwargs) -> Any:
    return st.produced(set(_items(st, args[0], "set", deep=True))) if args else set()


def _dict(st: State, args: Args, kwargs: Kwargs) -> Any:
    if args and type(args[0]) is not dict and type(args[0]) not in (list, tuple):
        raise _type_error(f"dict 需要字典或由键值对组成的列表，得到的是 {type_name(args[0])}")
    if args:
        _items(st, args[0], "dict", deep=True)
    return st.produced(dict(*args, **kwargs))


def _range(st: State, args: Args, kwargs: Kwargs) -> Any:
    for arg in args:
        if type(arg) not in INTEGERS:
            raise _type_error("range 的参数必须是整数")
    numbers = range(*args)
    try:
        size = len(numbers)
    except OverflowError:
        size = st.limits.max_size + 1
    # range() builds a list: a range of a billion is refused here, not iterated for ever.
    st.need(size)
    st.charge(size)
    return st.produced(list(numbers))


def _enumerate(st: State, args: Args, kwargs: Kwargs) -> Any:
    items = _items(st, args[0], "enumerate")
    start: Any = kwargs.get("start", args[1] if len(args) > 1 else 0)
    if type(start) not in INTEGERS:
        raise _type_error("enumerate 的起始值必须是整数")
    st.integer(start + len(items))
    return st.produced([st.new_tuple((start + i, item)) for i, item in enumerate(items)])


def _zip(st: State, args: Args, kwargs: Kwargs) -> Any:
    columns = [_items(st, arg, "zip") for arg in args]
    return st.produced([st.new_tuple(row) for row in zip(*columns, strict=False)])


def _reversed(st: State, args: Args, kwargs: Kwargs) -> Any:
    value = args[0]
    if type(value) not in SEQUENCES:
        raise _type_error(f"{type_name(value)} 类型的值不能反转")
    st.charge(len(value))
    return st.produced(list(reversed(value)))


def _numbers_only(args: Iterable[Any], what: str) -> None:
    for arg in args:
        if type(arg) not in NUMBERS:
            raise _type_error(f"{what} 的参数必须是数值")


def _date(st: State, args: Args, kwargs: Kwargs) -> Any:
    _numbers_only([*args, *kwargs.values()], "date")
    return date(*args, **kwargs)


def _datetime(st: State, args: Args, kwargs: Kwargs) -> Any:
    _numbers_only([*args, *kwargs.values()], "datetime")
    return datetime(*args, **kwargs)


def _timedelta(st: State, args: Args, kwargs: Kwargs) -> Any:
    _numbers_only([*args, *kwargs.values()], "timedelta")
    return timedelta(*args, **kwargs)


def _kw(*names: str) -> frozenset[str]:
    return frozenset(names)


BUILTINS: Final[dict[str, Builtin]] = {
    "len": Builtin(_len, 1, 1),
    "abs": Builtin(_abs, 1, 1),
    "bool": Builtin(_bool, 0, 1),
    "int": Builtin(_int, 0, 2, _kw("base")),
    "float": Builtin(_float, 0, 1),
    "str": Builtin(_str, 0, 1),
    "Decimal": Builtin(_decimal, 0, 1),
    "round": Builtin(_round, 1, 2, _kw("ndigits")),
    "min": Builtin(_min, 1, None, _kw("key", "default"), takes_key=True),
    "max": Builtin(_max, 1, None, _kw("key", "default"), takes_key=True),
    "sum": Builtin(_sum, 1, 2, _kw("start")),
    "sorted": Builtin(_sorted, 1, 1, _kw("key", "reverse"), takes_key=True),
    "any": Builtin(_any, 1, 1),
    "all": Builtin(_all, 1, 1),
    "list": Builtin(_list, 0, 1),
    "tuple": Builtin(_tuple, 0, 1),
    "set": Builtin(_set, 0, 1),
    "dict": Builtin(_dict, 0, 1, None),
    "range": Builtin(_range, 1, 3),
    "enumerate": Builtin(_enumerate, 1, 2, _kw("start")),
    "zip": Builtin(_zip, 0, None),
    "reversed": Builtin(_reversed, 1, 1),
    "date": Builtin(_date, 3, 3, _kw("year", "month", "day")),
    "datetime": Builtin(
        _datetime, 3, 7, _kw("year", "month", "day", "hour", "minute", "second", "microsecond")
    ),
    "timedelta": Builtin(
        _timedelta, 0, 7, _kw("days", "seconds", "microseconds", "milliseconds", "minutes", "hours", "weeks")
    ),
}


# --- methods ------------------------------------------------------------------------------------------------


def _plain(function: Callable[..., Any]) -> MethodImpl:
    """A method whose result is at most a small multiple of its receiver: run it, then check the result."""

    def call(st: State, obj: Any, args: Args, kwargs: Kwargs) -> Any:
        return st.result(function(obj, *args, **kwargs))

    return call


def _bulk(function: Callable[..., Any]) -> MethodImpl:
    """A method that compares its argument with every element (count, remove, issubset, ...)."""

    def call(st: State, obj: Any, args: Args, kwargs: Kwargs) -> Any:
        st.weigh(obj)
        for arg in args:
            st.weigh(arg)
        return st.result(function(obj, *args, **kwargs))

    return call


def _keyed(function: Callable[..., Any]) -> MethodImpl:
    """A method that hashes its first argument (dict.get, set.add, ...); returns what is already there."""

    def call(st: State, obj: Any, args: Args, kwargs: Kwargs) -> Any:
        if args:
            st.key(args[0])
        return function(obj, *args, **kwargs)

    return call


def _index(st: State, obj: Any, args: Args, kwargs: Kwargs) -> Any:
    # list.index puts the repr of a missing value in its message: a nested value would be rendered in full.
    if not args or kwargs:
        raise _type_error("index 需要要查找的值")
    st.weigh(obj)
    st.weigh(args[0])
    window = obj[slice(*args[1:3])] if len(args) > 1 else obj
    if args[0] not in window:
        raise SandboxError("要查找的值不在其中", kind="ValueError")
    return obj.index(*args)


def _element(function: Callable[..., Any]) -> MethodImpl:
    """A method returning an element already in the container (list.pop): nothing new to account."""

    def call(st: State, obj: Any, args: Args, kwargs: Kwargs) -> Any:
        return function(obj, *args, **kwargs)

    return call


def _width(st: State, args: Args, kwargs: Kwargs) -> None:
    width: Any = args[0] if args else kwargs.get("width")
    if type(width) not in INTEGERS:
        raise _type_error("宽度必须是整数")
    st.need(width)


def _padded(function: Callable[..., Any]) -> MethodImpl:
    def call(st: State, obj: Any, args: Args, kwargs: Kwargs) -> Any:
        _width(st, args, kwargs)
        return st.result(function(obj, *args, **kwargs))

    return call


def _str_replace(st: State, obj: Any, args: Args, kwargs: Kwargs) -> Any:
    if len(args) < 2 or type(args[0]) is not str or type(args[1]) is not str:
        raise _type_error("replace 需要两个文字参数")
    old, new = args[0], args[1]
    count = args[2] if len(args) > 2 else kwargs.get("count", -1)
    if type(count) not in INTEGERS:
        raise _type_error("replace 的次数必须是整数")
    hits = obj.count(old) if old else len(obj) + 1
    if count >= 0:
        hits = min(hits, count)
    st.need(len(obj) + hits * max(0, len(new) - len(old)))
    return st.produced(obj.replace(old, new, count))


def _str_join(st: State, obj: Any, args: Args, kwargs: Kwargs) -> Any:
    if len(args) != 1 or kwargs:
        raise _type_error("join 需要一个参数")
    parts = _items(st, args[0], "join")
    if type(parts) is dict:
        parts = list(parts)
    size = len(obj) * max(0, len(parts) - 1)
    for part in parts:
        if type(part) is not str:
            raise _type_error(f"join 只能连接文字，遇到了 {type_name(part)}")
        size += len(part)
    st.need(size)
    return st.produced(obj.join(parts))


def _strftime(st: State, obj: Any, args: Args, kwargs: Kwargs) -> Any:
    if len(args) != 1 or type(args[0]) is not str or kwargs:
        raise _type_error("strftime 需要一个文字参数")
    if len(args[0]) > STRFTIME_MAX:
        raise SandboxMemory(f"日期格式过长（上限 {STRFTIME_MAX} 个字符）")
    return st.produced(obj.strftime(args[0]))


def _dict_popitem(st: State, obj: Any, args: Args, kwargs: Kwargs) -> Any:
    return st.new_tuple(obj.popitem(*args, **kwargs))


def _list_remove(st: State, obj: Any, args: Args, kwargs: Kwargs) -> Any:
    if len(args) != 1 or kwargs:
        raise _type_error("remove 需要一个参数")
    st.weigh(obj)
    st.weigh(args[0])
    obj.remove(args[0])


def _list_append(st: State, obj: Any, args: Args, kwargs: Kwargs) -> Any:
    st.grow(obj, 1)
    obj.append(*args, **kwargs)


def _list_insert(st: State, obj: Any, args: Args, kwargs: Kwargs) -> Any:
    st.grow(obj, 1)
    obj.insert(*args, **kwargs)


def _list_extend(st: State, obj: Any, args: Args, kwargs: Kwargs) -> Any:
    if len(args) != 1 or kwargs:
        raise _type_error("extend 需要一个参数")
    st.grow(obj, len(_items(st, args[0], "extend")))
    obj.extend(args[0])


def _list_sort(st: State, obj: Any, args: Args, kwargs: Kwargs) -> Any:
    _sorting(st, obj, "sort")
    obj.sort(*args, **kwargs)


def _list_copy(st: State, obj: Any, args: Args, kwargs: Kwargs) -> Any:
    return st.produced(obj.copy(*args, **kwargs))


def _dict_keys(st: State, obj: Any, args: Args, kwargs: Kwargs) -> Any:
    # Lists, not views: a view is one more type whose attributes (mapping) would need vetting.
    return st.produced(list(obj.keys(*args, **kwargs)))


def _dict_values(st: State, obj: Any, args: Args, kwargs: Kwargs) -> Any:
    return st.produced(list(obj.values(*args, **kwargs)))


def _dict_items(st: State, obj: Any, args: Args, kwargs: Kwargs) -> Any:
    pairs = obj.items(*args, **kwargs)
    st.charge(len(pairs))
    return st.produced([st.new_tuple(pair) for pair in pairs])


def _dict_update(st: State, obj: Any, args: Args, kwargs: Kwargs) -> Any:
    if len(args) > 1:
        raise _type_error("update 最多一个位置参数")
    extra = len(kwargs)
    if args:
        if type(args[0]) not in (dict, list, tuple):
            raise _type_error(f"update 需要字典或由键值对组成的列表，得到的是 {type_name(args[0])}")
        extra += len(_items(st, args[0], "update", deep=True))
    before = len(obj)
    st.need(before + extra)
    obj.update(*args, **kwargs)
    st.allocate(len(obj) - before)


def _dict_setdefault(st: State, obj: Any, args: Args, kwargs: Kwargs) -> Any:
    if args and st.key(args[0]) not in obj:
        st.grow(obj, 1)
    return obj.setdefault(*args, **kwargs)


def _set_add(st: State, obj: Any, args: Args, kwargs: Kwargs) -> Any:
    if args:
        st.key(args[0])
    st.grow(obj, 1)
    obj.add(*args, **kwargs)


def _set_update(st: State, obj: Any, args: Args, kwargs: Kwargs) -> Any:
    extra = sum(len(_items(st, arg, "update", deep=True)) for arg in args)
    before = len(obj)
    st.need(before + extra)
    obj.update(*args, **kwargs)
    st.allocate(len(obj) - before)


def _set_combine(function: Callable[..., Any]) -> MethodImpl:
    def call(st: State, obj: Any, args: Args, kwargs: Kwargs) -> Any:
        st.need(len(obj) + sum(len(_items(st, arg, "集合运算", deep=True)) for arg in args))
        return st.result(function(obj, *args, **kwargs))

    return call


def _plains(kind: type, *names: str) -> dict[str, MethodImpl]:
    return {name: _plain(getattr(kind, name)) for name in names}


_STR_METHODS: Final = {
    **_plains(
        str,
        "lower",
        "upper",
        "strip",
        "lstrip",
        "rstrip",
        "startswith",
        "endswith",
        "split",
        "rsplit",
        "splitlines",
        "partition",
        "rpartition",
        "find",
        "rfind",
        "index",
        "rindex",
        "count",
        "isdigit",
        "isalpha",
        "isalnum",
        "isspace",
        "isupper",
        "islower",
        "isnumeric",
        "isdecimal",
        "title",
        "capitalize",
        "casefold",
        "swapcase",
        "removeprefix",
        "removesuffix",
    ),
    **{name: _padded(getattr(str, name)) for name in ("zfill", "ljust", "rjust", "center")},
    "replace": _str_replace,
    "join": _str_join,
}

_DATE_METHODS: Final = {
    **_plains(date, "weekday", "isoweekday", "isoformat", "replace", "toordinal"),
    "strftime": _strftime,
}

METHODS: Final[dict[type, dict[str, MethodImpl]]] = {
    str: _STR_METHODS,
    list: {
        **_plains(list, "reverse", "clear"),
        "pop": _element(list.pop),
        "count": _bulk(list.count),
        "index": _index,
        "remove": _list_remove,
        "append": _list_append,
        "insert": _list_insert,
        "extend": _list_extend,
        "sort": _list_sort,
        "copy": _list_copy,
    },
    tuple: {"count": _bulk(tuple.count), "index": _index},
    dict: {
        **_plains(dict, "clear"),
        "get": _keyed(dict.get),
        "pop": _keyed(dict.pop),
        "popitem": _dict_popitem,
        "copy": _list_copy,
        "keys": _dict_keys,
        "values": _dict_values,
        "items": _dict_items,
        "update": _dict_update,
        "setdefault": _dict_setdefault,
    },
    set: {
        **_plains(set, "clear"),
        "discard": _keyed(set.discard),
        "remove": _keyed(set.remove),
        "pop": _element(set.pop),
        **{name: _bulk(getattr(set, name)) for name in ("issubset", "issuperset", "isdisjoint")},
        **{
            name: _set_combine(getattr(set, name))
            for name in ("union", "intersection", "difference", "symmetric_difference")
        },
        "copy": _list_copy,
        "add": _set_add,
        "update": _set_update,
    },
    date: _DATE_METHODS,
    datetime: {**_DATE_METHODS, **_plains(datetime, "replace", "isoformat", "date")},
    timedelta: _plains(timedelta, "total_seconds"),
    Decimal: _plains(Decimal, "quantize", "normalize", "to_integral_value", "is_zero", "is_signed"),
    float: _plains(float, "is_integer"),
}

# Attributes a script may read (not call), by exact type.
DATA_ATTRIBUTES: Final[dict[type, frozenset[str]]] = {
    date: frozenset({"year", "month", "day"}),
    datetime: frozenset({"year", "month", "day", "hour", "minute", "second", "microsecond"}),
    timedelta: frozenset({"days", "seconds", "microseconds"}),
}

METHOD_NAMES: Final[frozenset[str]] = frozenset(name for table in METHODS.values() for name in table)
ATTRIBUTE_NAMES: Final[frozenset[str]] = frozenset(
    name for names in DATA_ATTRIBUTES.values() for name in names
)
# Methods that take ``key=`` as a function name.
KEY_METHODS: Final[frozenset[str]] = frozenset({"sort"})
