"""What other contexts use of the process centre: start processes, read instances, register actions."""

from wanshi.workflow.actions import ActionContext, ActionInput, ActionRegistry, ActionSpec
from wanshi.workflow.domain.clocks import ClockUnit, Level, PauseReason
from wanshi.workflow.domain.records import Instance, InstanceStatus, Task, TaskState
from wanshi.workflow.jobs import register_jobs
from wanshi.workflow.services.definitions import SaveProcessEntry, save_process_entry
from wanshi.workflow.services.instances import (
    ClockPause,
    CompleteTask,
    StartProcess,
    TimeLimit,
    complete_task,
    count_instances,
    get_instance,
    pause_clock,
    resume_clock,
    start_process,
)

__all__ = [
    "ActionContext",
    "ActionInput",
    "ActionRegistry",
    "ActionSpec",
    "ClockPause",
    "ClockUnit",
    "CompleteTask",
    "Instance",
    "InstanceStatus",
    "Level",
    "PauseReason",
    "SaveProcessEntry",
    "StartProcess",
    "Task",
    "TaskState",
    "TimeLimit",
    "complete_task",
    "count_instances",
    "get_instance",
    "pause_clock",
    "register_jobs",
    "resume_clock",
    "save_process_entry",
    "start_process",
]
