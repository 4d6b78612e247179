"""Task and event specs that behave as the platform needs.

- A service task runs a named platform action from the action registry (never code from the diagram).
- Timer events read the platform's clock (``wanshi.kernel.clock``) rather than the machine's, so a timer
  behaves the same in tests, in a time-shifted rehearsal and in production.
"""

from __future__ import annotations

from datetime import UTC
from typing import Any

from SpiffWorkflow.bpmn.specs.defaults import ServiceTask
from SpiffWorkflow.bpmn.specs.event_definitions.timer import (
    DurationTimerEventDefinition,
    TimeDateEventDefinition,
    TimerEventDefinition,
)

from wanshi.kernel import clock


class PlatformServiceTask(ServiceTask):  # type: ignore[misc]
    def _execute(self, task: Any) -> Any:
        return task.workflow.script_engine.run_action(task, self.extensions)


class ClockedTimeDate(TimeDateEventDefinition):  # type: ignore[misc]
    def has_fired(self, my_task: Any) -> bool:
        event_value = my_task._get_internal_data("event_value")
        if event_value is None:
            event_value = my_task.workflow.script_engine.evaluate(my_task, self.expression)
            my_task._set_internal_data(event_value=event_value)
        if TimerEventDefinition.parse_time_or_duration(event_value) <= clock.now().astimezone(UTC):
            my_task._set_internal_data(event_fired=True)
        return bool(my_task._get_internal_data("event_fired", False))


class ClockedDuration(DurationTimerEventDefinition):  # type: ignore[misc]
    def has_fired(self, my_task: Any) -> bool:
        event_value = my_task._get_internal_data("event_value")
        now = clock.now().astimezone(UTC)
        if event_value is None:
            expression = my_task.workflow.script_engine.evaluate(my_task, self.expression)
            parsed = TimerEventDefinition.parse_iso_duration(expression)
            event_value = (now + TimerEventDefinition.get_timedelta_from_start(parsed, now)).isoformat()
            my_task._set_internal_data(event_value=event_value)
        if TimerEventDefinition.get_datetime(event_value) <= now:
            my_task._set_internal_data(event_fired=True)
        return bool(my_task._get_internal_data("event_fired", False))
