"""Platform actions that service tasks may run: named, typed, registered by the contexts that own them.

A diagram names an action (``wanshi:action="registry.verify_person"``) and gives expressions for its
inputs; it can never run anything else. The designer's palette lists what is registered, and a definition
naming an unknown action, or leaving out a required input, is refused at deployment.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from wanshi.infra.uow import UnitOfWork
from wanshi.kernel.actor import Actor
from wanshi.kernel.errors import ValidationFailed


@dataclass(frozen=True)
class ActionInput:
    name: str
    label: str
    required: bool = True


@dataclass(frozen=True)
class ActionContext:
    """Where an action runs: the step's unit of work, the instance, and on whose behalf."""

    uow: UnitOfWork
    instance_id: int
    business_key: str
    organisation_id: int
    division_code: str
    actor: Actor


Handler = Callable[[ActionContext, Mapping[str, Any]], Mapping[str, Any]]


@dataclass(frozen=True)
class ActionSpec:
    name: str
    label: str
    inputs: tuple[ActionInput, ...]
    handler: Handler
    description: str = ""

    def missing(self, given: set[str]) -> list[str]:
        return [i.label for i in self.inputs if i.required and i.name not in given]


@dataclass
class ActionRegistry:
    specs: dict[str, ActionSpec] = field(default_factory=dict)

    def register(self, spec: ActionSpec) -> None:
        if spec.name in self.specs:
            raise ValueError(f"action {spec.name} registered twice")
        self.specs[spec.name] = spec

    def get(self, name: str) -> ActionSpec:
        found = self.specs.get(name)
        if found is None:
            raise ValidationFailed(f"平台动作“{name}”不存在", code="workflow_action_unknown")
        return found

    def run(self, ctx: ActionContext, name: str, inputs: Mapping[str, Any]) -> Mapping[str, Any]:
        spec = self.get(name)
        missing = spec.missing(set(inputs))
        if missing:
            raise ValidationFailed(
                f"平台动作“{spec.label}”缺少输入：{'、'.join(missing)}", code="workflow_action_input"
            )
        return spec.handler(ctx, inputs)
