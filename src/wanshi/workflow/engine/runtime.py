"""Parsing a definition and driving one instance: start, complete a task, fire timers, return, migrate.

Errors from the engine (a script that fails, a condition no flow satisfies, a sandbox refusal) become one
``ProcessFailed`` naming the step, in Chinese, with the sandbox's code when there is one, so the clerk who
triggered it and the administrator who must fix the definition read the same thing.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from uuid import UUID

from lxml import etree
from SpiffWorkflow.bpmn.parser.ValidationException import ValidationException
from SpiffWorkflow.bpmn.specs.defaults import ManualTask, UserTask
from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition
from SpiffWorkflow.bpmn.specs.mixins.events.event_types import CatchingEvent
from SpiffWorkflow.bpmn.util.diff import SpecDiff, WorkflowDiff, migrate_workflow
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.exceptions import SpiffWorkflowException
from SpiffWorkflow.util.task import TaskState

from wanshi.kernel.errors import ValidationFailed, WanshiError
from wanshi.workflow.engine import codec
from wanshi.workflow.engine.parser import WanshiParser, safe_xml


class DefinitionInvalid(ValidationFailed):
    code = "workflow_definition_invalid"
    default_message = "流程定义有误"


class ProcessFailed(ValidationFailed):
    code = "workflow_step_failed"
    default_message = "流程执行出错"


@dataclass(frozen=True)
class Deployed:
    """A parsed, executable definition: what every instance of one version runs on."""

    process_id: str
    name: str
    spec: Any
    subprocess_specs: dict[str, Any]
    elements: dict[str, Any] = field(default_factory=dict)

    def task_specs(self) -> Iterator[Any]:
        yield from self.spec.task_specs.values()
        for sub in self.subprocess_specs.values():
            yield from sub.task_specs.values()


def parse_definition(bpmn_xml: str, dmn_xmls: Sequence[str] = ()) -> Deployed:
    """Parse a BPMN document (one executable process) and its DMN decisions; refuse anything unsafe."""
    parser = WanshiParser()
    try:
        parser.add_bpmn_xml(safe_xml(bpmn_xml), filename="definition.bpmn")
        for index, dmn in enumerate(dmn_xmls):
            parser.add_dmn_xml(safe_xml(dmn), filename=f"decision-{index + 1}.dmn")
        ids = parser.get_process_ids()
        if len(ids) != 1:
            raise DefinitionInvalid(f"流程文件应恰好包含一个可执行流程（isExecutable），实际为 {len(ids)} 个")
        spec = parser.get_spec(ids[0])
        subprocess_specs = parser.get_subprocess_specs(ids[0])
    except etree.XMLSyntaxError as exc:
        raise DefinitionInvalid(f"不是有效的 XML：{exc.msg}（第 {exc.lineno} 行）") from None
    except ValidationException as exc:
        where = f"（元素 {exc.id}）" if getattr(exc, "id", None) else ""
        raise DefinitionInvalid(f"流程定义有误{where}：{exc.args[0] if exc.args else exc}") from None
    except SpiffWorkflowException as exc:
        raise DefinitionInvalid(f"流程定义有误：{exc}") from None
    return Deployed(ids[0], spec.description or ids[0], spec, subprocess_specs)


def _failure(exc: BaseException) -> WanshiError:
    cause: BaseException | None = exc
    while cause is not None and not isinstance(cause, WanshiError):
        cause = getattr(cause, "exception", None) or cause.__cause__ or cause.__context__
    task = getattr(exc, "task", None)
    step = f"“{task.task_spec.bpmn_name or task.task_spec.bpmn_id}”" if task is not None else ""
    if isinstance(cause, WanshiError):
        return ProcessFailed(f"环节{step}执行出错：{cause.message}", code=cause.error_code, step=step)
    return ProcessFailed(f"环节{step}执行出错：{exc}", step=step)


@dataclass(frozen=True)
class ReadyTask:
    id: str
    element_id: str
    name: str
    extensions: Mapping[str, Any]
    data: Mapping[str, Any]


class Run:
    """One instance, loaded for one unit of work."""

    def __init__(self, deployed: Deployed, workflow: Any) -> None:
        self.deployed = deployed
        self.workflow = workflow

    @classmethod
    def start(cls, deployed: Deployed, data: Mapping[str, Any], script_engine: Any) -> Run:
        workflow = BpmnWorkflow(deployed.spec, deployed.subprocess_specs, script_engine=script_engine)
        for task in workflow.get_tasks(state=TaskState.READY):
            task.data.update(data)
        run = cls(deployed, workflow)
        run._advance()
        return run

    @classmethod
    def load(cls, deployed: Deployed, state: bytes, script_engine: Any) -> Run:
        return cls(deployed, codec.load(state, deployed.spec, deployed.subprocess_specs, script_engine))

    def dump(self) -> bytes:
        return codec.dump(self.workflow)

    def _advance(self) -> None:
        try:
            self.workflow.do_engine_steps()
        except SpiffWorkflowException as exc:
            raise _failure(exc) from None

    @property
    def completed(self) -> bool:
        return bool(self.workflow.completed)

    def ready_tasks(self) -> list[ReadyTask]:
        """User and manual tasks waiting for a person."""
        return [
            ReadyTask(
                str(t.id),
                t.task_spec.bpmn_id,
                t.task_spec.bpmn_name or t.task_spec.bpmn_id,
                dict(getattr(t.task_spec, "extensions", {}) or {}),
                t.data,
            )
            for t in self.workflow.get_tasks(state=TaskState.READY)
            if isinstance(t.task_spec, (UserTask, ManualTask))
        ]

    def complete(self, task_id: str, data: Mapping[str, Any]) -> None:
        task = self._task(task_id)
        if task.state != TaskState.READY:
            raise ValidationFailed("该环节已办理或已撤回", code="workflow_task_not_ready")
        task.data.update(data)
        try:
            task.run()
        except SpiffWorkflowException as exc:
            raise _failure(exc) from None
        self._advance()

    def _task(self, task_id: str) -> Any:
        try:
            task = self.workflow.get_task_from_id(UUID(task_id))
        except (ValueError, KeyError, SpiffWorkflowException):
            task = None
        if task is None:
            raise ValidationFailed("环节不存在", code="workflow_task_missing")
        return task

    def fire_timers(self) -> None:
        try:
            self.workflow.refresh_timers()
        except SpiffWorkflowException as exc:
            raise _failure(exc) from None
        self._advance()

    def next_timer_at(self) -> datetime | None:
        """When the earliest waiting timer is due, for the worker to come back then."""
        moments = []
        for task in self.workflow.get_tasks(state=TaskState.WAITING):
            definition = getattr(task.task_spec, "event_definition", None)
            if not isinstance(task.task_spec, CatchingEvent) or not isinstance(
                definition, TimerEventDefinition
            ):
                continue
            if task._get_internal_data("event_value") is None:
                definition.has_fired(task)
            value = task._get_internal_data("event_value")
            if isinstance(value, str):
                moments.append(TimerEventDefinition.get_datetime(value))
        return min(moments) if moments else None

    def return_to(self, element_id: str) -> None:
        """Send the instance back to an earlier step (退回): that step is ready again, later work undone."""
        # Only a person's step: returning to a service task would run its platform action again.
        done = [
            t
            for t in self.workflow.get_tasks(state=TaskState.COMPLETED)
            if t.task_spec.bpmn_id == element_id and isinstance(t.task_spec, (UserTask, ManualTask))
        ]
        if not done:
            raise ValidationFailed("只能退回到已办理过的环节", code="workflow_return_invalid")
        try:
            self.workflow.reset_from_task_id(done[-1].id)
        except SpiffWorkflowException as exc:
            raise _failure(exc) from None
        self._advance()

    def completed_user_steps(self) -> list[tuple[str, str]]:
        """(element id, name) of the person-handled steps already done, in order, for 退回."""
        seen: dict[str, str] = {}
        for task in sorted(
            self.workflow.get_tasks(state=TaskState.COMPLETED), key=lambda t: t.last_state_change
        ):
            if isinstance(task.task_spec, (UserTask, ManualTask)):
                seen.setdefault(task.task_spec.bpmn_id, task.task_spec.bpmn_name or task.task_spec.bpmn_id)
        return list(seen.items())

    def data(self) -> dict[str, Any]:
        """The process variables as they stand: those of the step waiting longest-recently, or at the end
        those the end event left."""
        ready = self.workflow.get_tasks(state=TaskState.READY | TaskState.WAITING)
        if ready:
            return dict(max(ready, key=lambda t: t.last_state_change).data)
        last = self.workflow.last_task
        return {**(dict(last.data) if last is not None else {}), **dict(self.workflow.data)}

    def migrate_to(self, target: Deployed) -> list[str]:
        """Move a running instance onto another version's definition (explicit command only).

        Steps that no longer exist must not be waiting; otherwise the migration is refused and names them.
        """
        diff = WorkflowDiff(self.workflow, SpecDiff(codec.REGISTRY, self.workflow.spec, target.spec))
        stranded = [
            t.task_spec.bpmn_name or t.task_spec.name for t in diff.removed if t.state & TaskState.READY
        ]
        if stranded:
            raise ValidationFailed(
                f"新版本删除了正在办理的环节：{'、'.join(stranded)}，不能迁移",
                code="workflow_migration_stranded",
            )
        migrate_workflow(diff, self.workflow, target.spec)
        self.deployed = target
        self._advance()
        return [t.task_spec.name for t in diff.removed]
