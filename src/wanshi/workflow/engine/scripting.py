"""The script engine a workflow runs with: sandboxed expressions and scripts, platform functions, and
service tasks dispatched to named platform actions.

One sandbox serves every run (its compiled programs are cached, so a condition is parsed once per process);
what differs per run — the unit of work behind actions, the working-day calendar — is bound to a new engine
object per run and reaches the platform functions through a context variable while a script runs.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import date, datetime, time, timedelta
from functools import cache
from typing import Any, Protocol

from SpiffWorkflow.bpmn.script_engine import PythonScriptEngine

from wanshi.kernel import clock
from wanshi.kernel.errors import ValidationFailed
from wanshi.kernel.sandbox import Limits, Sandbox
from wanshi.workflow.engine.environment import SandboxEnvironment

SCRIPT_LIMITS = Limits()
ActionRunner = Callable[[str, dict[str, Any]], Mapping[str, Any]]


class WorkingDays(Protocol):
    def add_working_days(self, start: date, n: int) -> date: ...


_calendar: ContextVar[WorkingDays | None] = ContextVar("workflow_calendar", default=None)


def working_days_after(n: int) -> str:
    """A timer that fires when the n-th working day after today is over (00:00 China time next day)."""
    calendar = _calendar.get()
    if calendar is None:
        raise ValidationFailed("工作日历不可用", code="workflow_calendar_missing")
    if not isinstance(n, int) or n < 0:
        raise ValidationFailed("工作日数应为非负整数", code="workflow_timer_invalid")
    due = calendar.add_working_days(clock.today_in_china(), n)
    return datetime.combine(due + timedelta(days=1), time(0), clock.CHINA_TZ).isoformat()


def today() -> date:
    return clock.today_in_china()


FUNCTIONS: dict[str, Callable[..., Any]] = {"working_days_after": working_days_after, "today": today}


@cache
def shared_sandbox() -> Sandbox:
    return Sandbox(SCRIPT_LIMITS, functions=FUNCTIONS)


class PlatformScriptEngine(PythonScriptEngine):  # type: ignore[misc]
    def __init__(self, calendar: WorkingDays, actions: ActionRunner | None = None) -> None:
        self.sandbox = shared_sandbox()
        super().__init__(environment=SandboxEnvironment(self.sandbox))
        self._calendar = calendar
        self._actions = actions

    @contextmanager
    def _bound(self) -> Iterator[None]:
        token = _calendar.set(self._calendar)
        try:
            yield
        finally:
            _calendar.reset(token)

    def evaluate(self, task: Any, expression: str, external_context: Any = None) -> Any:
        with self._bound():
            return super().evaluate(task, expression, external_context)

    def execute(self, task: Any, script: str, external_context: Any = None) -> Any:
        with self._bound():
            return super().execute(task, script, external_context)

    def run_action(self, task: Any, extensions: Mapping[str, Any]) -> bool:
        """Evaluate the action's inputs over the task data, run it, keep its result."""
        name = extensions.get("action")
        if not name or self._actions is None:
            step = task.task_spec.bpmn_name
            raise ValidationFailed(f"服务任务“{step}”没有可执行的平台动作", code="workflow_action_missing")
        with self._bound():
            inputs = {
                key: self.sandbox.evaluate(expr, task.data)
                for key, expr in extensions.get("inputs", {}).items()
            }
        result = dict(self._actions(name, inputs))
        variable = extensions.get("resultVariable")
        if variable:
            task.data[variable] = result
        return True
