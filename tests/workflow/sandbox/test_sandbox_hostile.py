"""Hostile scripts: each is refused with the right error, quickly, touching no file, process or network.

While a hostile script runs, a Python audit hook records every event that reaching the outside world would
raise (open, os.*, subprocess.*, socket.*, import, exec, ...): the sandbox must raise none of them.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from wanshi.kernel.sandbox import (
    Limits,
    Sandbox,
    SandboxError,
    SandboxMemory,
    SandboxTimeout,
    SandboxViolation,
)

# Events raised by anything that reads or writes a file, starts a process, opens a socket, imports a module
# or runs Python's own eval/exec.
WATCHED_PREFIXES = (
    "open",
    "os.",
    "subprocess.",
    "socket.",
    "shutil.",
    "exec",
    "import",
    "ctypes.",
    "urllib.",
    "http.",
    "ftplib.",
    "smtplib.",
    "pty.",
    "webbrowser.",
    "code.__new__",
    "marshal.",
    "pickle.",
)
_recordings: list[list[str]] = []


def _audit(event: str, args: tuple[Any, ...]) -> None:
    # The parser looks for the source of a syntax error in a file named "<unknown>": not the script's doing.
    if (
        _recordings
        and event.startswith(WATCHED_PREFIXES)
        and not (event == "open" and args[0] == "<unknown>")
    ):
        _recordings[-1].append(f"{event} {args!r:.200}")


sys.addaudithook(_audit)


@contextmanager
def outside_world() -> Iterator[list[str]]:
    """Record what reached the outside world inside the block."""
    events: list[str] = []
    _recordings.append(events)
    try:
        yield events
    finally:
        _recordings.pop()


SANDBOX = Sandbox()
DATA = {"x": "abc", "xs": [1, 2, 3], "n": 5}

# (mode, source, expected error)
HOSTILE = [
    # imports, files, introspection
    ("eval", "__import__('os')", SandboxViolation),
    ("exec", "import os", SandboxViolation),
    ("exec", "from os import system", SandboxViolation),
    ("exec", "import socket\nsocket.create_connection(('127.0.0.1', 9))", SandboxViolation),
    ("eval", "open('/etc/passwd').read()", SandboxViolation),
    ("eval", "open", SandboxViolation),
    ("eval", "().__class__.__bases__[0].__subclasses__()", SandboxViolation),
    ("eval", "x.__class__", SandboxViolation),
    ("eval", "[].__class__.__base__", SandboxViolation),
    ("eval", '"{0.__class__}".format(1)', SandboxViolation),
    ("eval", '"{0}".format_map(x)', SandboxViolation),
    ("eval", 'getattr(x, "__class__")', SandboxViolation),
    ("eval", "(y for y in []).gi_frame", SandboxViolation),
    ("eval", "[y for y in xs].gi_frame.f_globals", SandboxViolation),
    ("eval", 'eval("1")', SandboxViolation),
    ("exec", 'exec("import os")', SandboxViolation),
    ("eval", 'compile("1", "f", "eval")', SandboxViolation),
    ("eval", "globals()", SandboxViolation),
    ("eval", "locals()", SandboxViolation),
    ("eval", "vars()", SandboxViolation),
    ("eval", "dir()", SandboxViolation),
    ("eval", "type(x)", SandboxViolation),
    ("eval", "breakpoint()", SandboxViolation),
    ("eval", "input()", SandboxViolation),
    ("eval", "help()", SandboxViolation),
    ("eval", "print(x)", SandboxViolation),
    ("eval", "len.__self__", SandboxViolation),
    ("eval", "xs.append", SandboxViolation),
    ("eval", "x.upper", SandboxViolation),
    ("eval", "str.upper(x)", SandboxViolation),
    ("eval", "[len][0](x)", SandboxViolation),
    ("eval", "sorted(xs, key=lambda v: v)", SandboxViolation),
    ("eval", "sorted(xs, key=xs.index)", SandboxViolation),
    ("eval", "dict(key=len)", SandboxViolation),
    ("exec", "def f():\n    return 1", SandboxViolation),
    ("exec", "class A:\n    pass", SandboxViolation),
    ("eval", "lambda: 1", SandboxViolation),
    ("exec", "try:\n    x = 1\nexcept Exception:\n    pass", SandboxViolation),
    ("exec", "with x:\n    pass", SandboxViolation),
    ("exec", "raise ValueError", SandboxViolation),
    ("exec", "global x", SandboxViolation),
    ("exec", "x.y = 1", SandboxViolation),
    ("eval", "(y := 1)", SandboxViolation),
    ("eval", '"%s" % x', SandboxViolation),
    ("eval", '"%999999999d" % 1', SandboxViolation),
    ("eval", "b'bytes'", SandboxViolation),
    ("eval", "date.today()", SandboxViolation),
    ("eval", "socket.socket()", SandboxViolation),
    ("eval", "os.system('id')", SandboxViolation),
    ("exec", "_ = 1", SandboxViolation),
    ("exec", "break", SandboxViolation),
    # time
    ("exec", "while True:\n    pass", SandboxTimeout),
    ("exec", "while True:\n    xs.append(1)\n    xs.pop()", SandboxTimeout),
    ("exec", "for i in range(99999):\n    for j in range(99999):\n        pass", SandboxTimeout),
    ("eval", "[x for x in range(99999) for y in range(99999)]", SandboxTimeout),
    ("eval", "sum(x for x in range(99999) for y in range(99999))", SandboxTimeout),
    ("exec", "a = []\nwhile True:\n    a.append(a)", SandboxTimeout),
    # shared references: small in memory, huge to compare, hash or sort
    ("exec", "a = [0] * 99999\nb = [a] * 99999\nc = sorted(b)", SandboxTimeout),
    ("exec", "a = [0] * 99999\nb = [a] * 99999\nc = [a.copy()] * 99999\nd = b == c", SandboxTimeout),
    ("exec", "a = [0] * 99999\nb = [a] * 99999\nwhile True:\n    c = a.copy() in b", SandboxTimeout),
    ("exec", "t = tuple(range(50000))\ns = set([t] * 99999)", SandboxTimeout),
    ("exec", "t = tuple(range(50000))\nd = {}\nwhile True:\n    d[t] = 1", SandboxTimeout),
    ("exec", 's = "x" * 99999\nb = [s] * 99999\nc = [s + ""] * 99999\nd = b == c', SandboxTimeout),
    # memory
    ("exec", 'x = "a" * 10**9', SandboxMemory),
    ("exec", "x = [0] * 10**9", SandboxMemory),
    ("eval", "10**10**10", SandboxMemory),
    ("eval", "2**100000", SandboxMemory),
    ("exec", "x = " + "9" * 2000, SandboxMemory),
    ("eval", "1 << 10**6", SandboxMemory),
    ("eval", 'int("9" * 5000)', SandboxMemory),
    ("eval", 'Decimal("9" * 5000)', SandboxMemory),
    ("eval", 'int(Decimal("1e999999999"))', SandboxMemory),
    ("eval", 'round(Decimal("1e999999999"))', SandboxMemory),
    ("eval", "round(5, -10**9)", SandboxMemory),
    ("exec", "a = [1]\nwhile True:\n    a = a + a", SandboxMemory),
    ("exec", "a = [1]\nwhile True:\n    a += a", SandboxMemory),
    ("exec", "a = [1]\nwhile True:\n    a.extend(a)", SandboxMemory),
    ("exec", 's = "x" * 100000\nwhile True:\n    t = s + s[1:]', SandboxMemory),
    ("exec", 's = "x" * 99999\nparts = []\nwhile True:\n    parts.append(s.upper())', SandboxMemory),
    ("eval", "range(10**12)", SandboxMemory),
    ("exec", "for i in range(10**12):\n    pass", SandboxMemory),
    ("eval", "sorted(range(10**9))", SandboxMemory),
    ("eval", 'f"{1:>999999999}"', SandboxMemory),
    ("eval", 'f"{1:.999999999f}"', SandboxMemory),
    ("eval", 'f"{n:{x}}"', SandboxError),
    ("eval", 'f"{n:{n * 10**8}}"', SandboxMemory),
    ("eval", "f\"{Decimal('1e999999999'):f}\"", SandboxMemory),
    ("eval", "f\"{Decimal('1e-999999999'):f}\"", SandboxMemory),
    ("eval", 'date(2024, 1, 1).strftime("%c" * 10000)', SandboxMemory),
    ("eval", '"a".zfill(10**9)', SandboxMemory),
    ("eval", '"a".center(10**9)', SandboxMemory),
    ("eval", '"ab".replace("", "x" * 99999)', SandboxMemory),
    ("exec", 's = "ab"\nwhile True:\n    s = s.replace("", "x" * 99)', SandboxMemory),
    ("eval", '"".join(["x" * 99999] * 1000)', SandboxMemory),
    ("eval", 'str([["x" * 90000] * 1000])', SandboxMemory),
    ("eval", 'f"{[x * 30000] * 1000!r}"', SandboxMemory),
    ("exec", "a = [0] * 99999\nb = [a] * 99999", SandboxMemory),
    ("exec", "t = ()\nwhile True:\n    t = (t,)", SandboxMemory),
    ("exec", "t = ()\nwhile True:\n    t = tuple([t])", SandboxMemory),
    ("exec", "t = ()\nwhile True:\n    t = list(zip([t]))[0]", SandboxMemory),
    ("exec", "d = {}\nt = ()\nwhile True:\n    d[1] = t\n    t = d.popitem()", SandboxMemory),
    ("exec", "a = []\na.append(a)", SandboxMemory),
    ("exec", "a = []\nb = []\na.append(a)\nb.append(b)\nc = a == b", SandboxMemory),
    # source size and nesting
    ("eval", "-" * 10_000 + "1", SandboxMemory),
    ("eval", "+".join(["1"] * 9_000), SandboxMemory),
    ("eval", "(" * 10_000 + "1" + ")" * 10_000, SandboxMemory),
    ("eval", "(" * 300 + "1" + ")" * 300, SandboxMemory),
    ("eval", "[" * 100 + "]" * 100, SandboxMemory),
    ("eval", "not " * 4_000 + "x", SandboxMemory),
    ("exec", "x = 1\n" * 10_000, SandboxMemory),
    ("eval", "1 + " * 10_000 + "1", SandboxMemory),
]


@pytest.mark.timeout(20)
@pytest.mark.parametrize(("mode", "source", "expected"), HOSTILE, ids=[case[1][:50] for case in HOSTILE])
def test_hostile_script_is_refused_without_touching_the_outside(
    mode: str, source: str, expected: type[SandboxError]
) -> None:
    data = {key: value.copy() if isinstance(value, list) else value for key, value in DATA.items()}
    run = SANDBOX.evaluate if mode == "eval" else SANDBOX.execute
    with outside_world() as events, pytest.raises(SandboxError) as raised:
        run(source, data)
    assert type(raised.value) is expected or (expected is SandboxError and isinstance(raised.value, expected))
    assert raised.value.error_code == expected.code
    assert events == []
    assert data == DATA  # a refused script changes nothing


def test_the_audit_hook_does_see_the_outside_world(tmp_path: Path) -> None:
    """The control for the tests above: outside the sandbox, opening a file is recorded."""
    target = tmp_path / "control.txt"
    target.write_text("x")
    with outside_world() as events:
        target.read_text()
    assert any(event.startswith("open") and "control.txt" in event for event in events)


def test_forbidden_constructs_are_refused_before_running_with_the_line() -> None:
    with pytest.raises(SandboxViolation) as raised:
        SANDBOX.check("total = 1\nimport os\n", "exec")
    assert raised.value.message == "第 2 行：不允许使用 import"
    assert raised.value.line == 2
    assert raised.value.http_status == 422
    with pytest.raises(SandboxViolation, match="第 3 行：不允许调用 open"):
        SANDBOX.check("a = 1\nif a:\n    b = open('/etc/passwd')\n", "exec")
    with pytest.raises(SandboxViolation, match="不允许使用以下划线开头的名称 __class__"):
        SANDBOX.check("().__class__", "eval")


def test_a_refused_source_is_refused_again_each_time() -> None:
    # The outcome of a check is cached: the cached refusal must still raise, with a fresh error each time.
    errors = []
    for _ in range(3):
        with pytest.raises(SandboxViolation) as raised:
            SANDBOX.evaluate("__import__('os')", {})
        errors.append(raised.value)
    assert len({id(error) for error in errors}) == 3


@pytest.mark.timeout(20)
def test_an_endless_loop_is_stopped_by_the_step_budget_long_before_the_time_budget() -> None:
    sandbox = Sandbox(Limits(max_seconds=30.0))
    with pytest.raises(SandboxTimeout, match="200000 步"):
        sandbox.execute("while True:\n    pass", {})


@pytest.mark.timeout(20)
def test_the_time_budget_stops_a_script_the_step_budget_would_allow() -> None:
    sandbox = Sandbox(Limits(max_steps=10**12, max_seconds=0.2))
    with pytest.raises(SandboxTimeout, match=r"0\.2 秒"):
        sandbox.execute("while True:\n    pass", {})


def test_many_large_strings_exhaust_the_memory_budget() -> None:
    # Each round builds 200,000 characters, each string within the size limit: the total budget stops it.
    with pytest.raises(SandboxMemory, match="脚本生成的数据总量超过上限 2000000"):
        SANDBOX.execute('while True:\n    t = "x" * 50000 + "y" * 49999', {})


def test_huge_source_is_refused_before_parsing() -> None:
    with pytest.raises(SandboxMemory, match="超过上限 20000"):
        SANDBOX.check("x = 1\n" * 5_000, "exec")


def test_process_data_of_other_types_gives_no_access() -> None:
    class Secret:
        password = "hunter2"

        def __str__(self) -> str:
            return self.password

    data = {"thing": Secret(), "rows": [{"ok": 1}, Secret()]}
    for source in ("thing", "str(thing)", "thing == 1", "rows", "len(rows)"):
        with pytest.raises(SandboxViolation, match="不能使用的类型 Secret"):
            SANDBOX.evaluate(source, data)
    # Names the script does not read are never looked at.
    assert SANDBOX.evaluate("1 + 1", data) == 2


def test_deeply_nested_process_data_is_refused() -> None:
    nested: list[Any] = []
    for _ in range(100):
        nested = [nested]
    with pytest.raises(SandboxMemory, match="嵌套超过 60 层"):
        SANDBOX.evaluate("len(deep)", {"deep": nested})


def test_platform_functions_results_are_checked_like_process_data() -> None:
    sandbox = Sandbox(
        functions={
            "leak": object,
            "flood": lambda: list(range(200_000)),
            "secret_module": lambda: sys,
        }
    )
    with pytest.raises(SandboxViolation):
        sandbox.evaluate("leak()", {})
    with pytest.raises(SandboxViolation):
        sandbox.evaluate("secret_module()", {})
    with pytest.raises(SandboxMemory):
        sandbox.evaluate("flood()", {})
    with pytest.raises(SandboxViolation, match="只能直接调用"):
        sandbox.evaluate("leak", {})


def test_a_cycle_cannot_be_passed_to_a_platform_function() -> None:
    seen: list[Any] = []
    sandbox = Sandbox(functions={"keep": seen.append})
    with pytest.raises(SandboxMemory):
        sandbox.execute("a = []\na.append(a)\nkeep(a)", {})
    assert seen == []
