"""The script engine a workflow runs with: sandboxed expressions and scripts, platform functions, and
service tasks dispatched to named platform actions.

A new engine is made for each run, bound to that run's action runner (which carries the unit of work and
who acts) and to the working-day calendar, so nothing of one request leaks into another.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import date, datetime, time, timedelta
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


def platform_functions(calendar: WorkingDays) -> dict[str, Callable[..., Any]]:
    """What scripts, conditions and timer expressions may call beyond the sandbox's builtins."""

    def working_days_after(n: int) -> str:
        """A timer that fires when the n-th working day after today is over (00:00 China time next day)."""
        if not isinstance(n, int) or n < 0:
            raise ValidationFailed("工作日数应为非负整数", code="workflow_timer_invalid")
        due = calendar.add_working_days(clock.today_in_china(), n)
        return datetime.combine(due + timedelta(days=1), time(0), clock.CHINA_TZ).isoformat()

    def today() -> date:
        return clock.today_in_china()

    return {"working_days_after": working_days_after, "today": today}


def make_sandbox(calendar: WorkingDays) -> Sandbox:
    return Sandbox(SCRIPT_LIMITS, functions=platform_functions(calendar))


class PlatformScriptEngine(PythonScriptEngine):  # type: ignore[misc]
    def __init__(self, sandbox: Sandbox, actions: ActionRunner | None = None) -> None:
        super().__init__(environment=SandboxEnvironment(sandbox))
        self.sandbox = sandbox
        self._actions = actions

    def run_action(self, task: Any, extensions: Mapping[str, Any]) -> bool:
        """Evaluate the action's inputs over the task data, run it, keep its result."""
        name = extensions.get("action")
        if not name or self._actions is None:
            raise ValidationFailed(
                f"服务任务“{task.task_spec.bpmn_name}”没有可执行的平台动作", code="workflow_action_missing"
            )
        inputs = {
            key: self.sandbox.evaluate(expr, task.data) for key, expr in extensions.get("inputs", {}).items()
        }
        result = dict(self._actions(name, inputs))
        variable = extensions.get("resultVariable")
        if variable:
            task.data[variable] = result
        return True
