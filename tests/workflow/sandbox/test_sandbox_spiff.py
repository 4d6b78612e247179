"""SpiffWorkflow runs BPMN scripts, gateway conditions and DMN tables through the sandbox.

Benign files (files/) prove the happy path; hostile files (hostile/) must stop with our error, without
reading or writing anything or reaching the network, and within a bounded time.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from SpiffWorkflow.bpmn.exceptions import WorkflowTaskException
from SpiffWorkflow.bpmn.script_engine import PythonScriptEngine
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.spiff.parser.process import VALIDATOR, SpiffBpmnParser
from SpiffWorkflow.util.task import TaskState

from wanshi.kernel.sandbox import (
    Sandbox,
    SandboxError,
    SandboxMemory,
    SandboxTimeout,
    SandboxViolation,
)
from wanshi.workflow.engine.environment import SandboxEnvironment, dmn_list_of_values

HERE = Path(__file__).parent
FILES = HERE / "files"
HOSTILE = HERE / "hostile"

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
)
_recordings: list[list[str]] = []


def _audit(event: str, args: tuple[Any, ...]) -> None:
    if _recordings and event.startswith(WATCHED_PREFIXES) and not _bookkeeping(event, args):
        _recordings[-1].append(f"{event} {args!r:.200}")


def _bookkeeping(event: str, args: tuple[Any, ...]) -> bool:
    """Reads done by the host around a failing script, not by the script.

    SpiffWorkflow's DMN engine parses entries like "> 1000" expecting a SyntaxError, and building that error
    makes the parser look for a source file named "<unknown>"; when a script fails, SpiffWorkflow walks the
    traceback, and ``traceback`` reads the Python source of each frame.
    """
    return event == "open" and (args[0] == "<unknown>" or (str(args[0]).endswith(".py") and args[1] == "r"))


sys.addaudithook(_audit)


@contextmanager
def outside_world() -> Iterator[list[str]]:
    events: list[str] = []
    _recordings.append(events)
    try:
        yield events
    finally:
        _recordings.pop()


def workflow(process_id: str, *files: Path, data: dict[str, Any]) -> BpmnWorkflow:
    parser = SpiffBpmnParser(validator=VALIDATOR)
    for path in files:
        if path.suffix == ".dmn":
            parser.add_dmn_file(str(path))
        else:
            parser.add_bpmn_file(str(path))
    engine = PythonScriptEngine(environment=SandboxEnvironment(Sandbox()))
    run = BpmnWorkflow(
        parser.get_spec(process_id), parser.get_subprocess_specs(process_id), script_engine=engine
    )
    run.get_tasks(state=TaskState.READY)[0].data.update(data)
    return run


def sandbox_error(error: BaseException) -> SandboxError:
    """SpiffWorkflow wraps the script's error; find ours in the chain."""
    current: BaseException | None = error
    while current is not None:
        if isinstance(current, SandboxError):
            return current
        current = current.__cause__ or current.__context__
    raise AssertionError(f"no sandbox error behind {error!r}")


# --- happy path ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("amount", "kind", "decision"),
    [(700, "A", "review"), (700, "B", "auto"), (300, "A", "auto")],
)
def test_script_task_and_gateway_condition_run_in_the_sandbox(amount: int, kind: str, decision: str) -> None:
    run = workflow(
        "review_route",
        FILES / "review_route.bpmn",
        data={"items": [{"amount": amount}, {"amount": 600}, {"amount": 0}], "kind": kind},
    )
    with outside_world() as events:
        run.do_engine_steps()
    assert run.is_completed()
    assert run.data["total"] == amount + 600
    assert run.data["summary"] == f"2 项，共 {amount + 600:,} 元"
    assert run.data["decision"] == decision
    assert "count" not in run.data  # the script's del removed its scratch variable
    assert events == []


@pytest.mark.parametrize(
    ("amount", "kind", "fee", "checks"),
    [
        (2000, "B", 200, ["身份核验", "财务复核", "现场核查（B 类）"]),
        (800, "A", 50, ["身份核验", "财务复核"]),
        (9000, "C", 0, ["身份核验", "领导审批", "现场核查（C 类）"]),
        (100, "D", None, ["身份核验"]),
    ],
)
def test_dmn_tables_unique_and_collect_decide_in_the_sandbox(
    amount: int, kind: str, fee: int | None, checks: list[str]
) -> None:
    run = workflow(
        "decide_fee",
        FILES / "decide_fee.bpmn",
        FILES / "fee_unique.dmn",
        FILES / "checks_collect.dmn",
        data={"amount": amount, "kind": kind},
    )
    with outside_world() as events:
        run.do_engine_steps()
    assert run.is_completed()
    assert run.data.get("fee") == fee
    assert run.data["checks"] == checks
    assert events == []


def test_the_stock_engine_would_not_match_a_dmn_list_of_values() -> None:
    """Why dmn_list_of_values exists: SpiffWorkflow compares the input with a tuple, which never matches."""
    run = workflow(
        "decide_fee",
        FILES / "decide_fee.bpmn",
        FILES / "fee_unique.dmn",
        FILES / "checks_collect.dmn",
        data={"amount": 2000, "kind": "B"},
    )
    run.script_engine = PythonScriptEngine()
    run.do_engine_steps()
    assert "fee" not in run.data


# --- hostile files ------------------------------------------------------------------------------------------


@pytest.mark.timeout(30)
def test_a_script_task_cannot_read_a_file(tmp_path: Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET")
    run = workflow("read_file", HOSTILE / "read_file.bpmn", data={"path": str(secret)})
    with outside_world() as events, pytest.raises(WorkflowTaskException) as raised:
        run.do_engine_steps()
    error = sandbox_error(raised.value)
    assert type(error) is SandboxViolation
    assert error.error_code == "script_forbidden"
    assert error.message == "第 1 行：不允许调用 open"
    assert events == []
    assert not run.is_completed()
    assert all("TOP-SECRET" not in repr(task.data) for task in run.get_tasks())


@pytest.mark.timeout(30)
def test_a_script_task_cannot_import_os_or_socket(tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    run = workflow("import_os_socket", HOSTILE / "import_os_socket.bpmn", data={"marker": str(marker)})
    with outside_world() as events, pytest.raises(WorkflowTaskException) as raised:
        run.do_engine_steps()
    error = sandbox_error(raised.value)
    assert type(error) is SandboxViolation
    assert error.message == "第 1 行：不允许使用 import"
    assert events == []
    assert not marker.exists()


@pytest.mark.timeout(30)
def test_an_endless_script_task_is_stopped() -> None:
    run = workflow("infinite_loop", HOSTILE / "infinite_loop.bpmn", data={})
    with outside_world() as events, pytest.raises(WorkflowTaskException) as raised:
        run.do_engine_steps()
    error = sandbox_error(raised.value)
    assert type(error) is SandboxTimeout
    assert error.error_code == "script_timeout"
    assert events == []
    assert all("rounds" not in task.data for task in run.get_tasks())


@pytest.mark.timeout(30)
def test_a_memory_bomb_script_task_is_stopped() -> None:
    run = workflow("memory_bomb", HOSTILE / "memory_bomb.bpmn", data={})
    with outside_world() as events, pytest.raises(WorkflowTaskException) as raised:
        run.do_engine_steps()
    error = sandbox_error(raised.value)
    assert type(error) is SandboxMemory
    assert error.error_code == "script_too_large"
    assert error.line == 3
    assert events == []
    assert all("blob" not in task.data for task in run.get_tasks())


@pytest.mark.timeout(30)
@pytest.mark.parametrize(
    ("process_id", "expected"),
    [("gateway_escape", SandboxViolation), ("gateway_loop", SandboxTimeout)],
)
def test_a_hostile_gateway_condition_is_stopped(process_id: str, expected: type[SandboxError]) -> None:
    run = workflow(process_id, HOSTILE / f"{process_id}.bpmn", data={})
    with outside_world() as events, pytest.raises(WorkflowTaskException) as raised:
        run.do_engine_steps()
    assert type(sandbox_error(raised.value)) is expected
    assert events == []
    assert not run.is_completed()


@pytest.mark.timeout(30)
def test_a_hostile_dmn_input_entry_is_stopped(tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    run = workflow(
        "hostile_decision",
        HOSTILE / "hostile_decision.bpmn",
        HOSTILE / "hostile_entry.dmn",
        data={"kind": "A", "marker": str(marker)},
    )
    with outside_world() as events, pytest.raises(WorkflowTaskException) as raised:
        run.do_engine_steps()
    error = sandbox_error(raised.value)
    assert type(error) is SandboxViolation
    assert error.message == "第 1 行：不允许使用以下划线开头的名称 __import__"
    assert events == []
    assert not marker.exists()
    assert all("outcome" not in task.data for task in run.get_tasks())


# --- the environment's contract -----------------------------------------------------------------------------


def test_evaluate_sees_external_names_and_task_data_wins() -> None:
    environment = SandboxEnvironment()
    context = {"a": 1, "shared": "task"}
    assert environment.evaluate("a + b", context, {"b": 2}) == 3
    assert environment.evaluate("shared", context, {"shared": "external"}) == "task"
    assert environment.evaluate("a", context, None) == 1


def test_execute_updates_the_task_data_and_keeps_external_names_out_of_it() -> None:
    environment = SandboxEnvironment()
    context: dict[str, Any] = {"a": 1}
    assert environment.execute("b = a + limit\nseen = limit", context, {"limit": 10}) is True
    assert context == {"a": 1, "b": 11, "seen": 10}


def test_execute_refuses_task_data_that_hides_an_external_name() -> None:
    with pytest.raises(SandboxViolation, match="重名：limit"):
        SandboxEnvironment().execute("x = 1", {"limit": 1}, {"limit": 2})


def test_service_calls_are_not_for_scripts() -> None:
    with pytest.raises(SandboxViolation, match="不能调用外部服务"):
        SandboxEnvironment().call_service({}, operation_name="http_get")


def test_the_environment_uses_the_given_sandbox() -> None:
    sandbox = Sandbox(functions={"double": lambda n: n * 2})
    assert SandboxEnvironment(sandbox).evaluate("double(a)", {"a": 4}) == 8


@pytest.mark.parametrize(
    ("expression", "rewritten"),
    [
        ('(kind) == ("A", "B")', "kind in ('A', 'B')"),
        ('(kind) == ("A",)', "kind in ('A',)"),
        ('(kind) == ("A")', '(kind) == ("A")'),
        ("(a, b) == (1, 2)", "(a, b) == (1, 2)"),
        ("amount> 1000", "amount> 1000"),
        ("x == (1, 2) == y", "x == (1, 2) == y"),
        ("not valid python ==, (", "not valid python ==, ("),
    ],
)
def test_dmn_lists_of_values_mean_one_of(expression: str, rewritten: str) -> None:
    assert dmn_list_of_values(expression) == rewritten
