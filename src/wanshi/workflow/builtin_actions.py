"""The actions the platform offers every process from the start: verifying a person or an enterprise in the
base registries, and working out a deadline in working days. Other contexts register theirs the same way."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from wanshi.datahub.registry import api as registry
from wanshi.kernel import clock
from wanshi.workdays import api as workdays
from wanshi.workflow.actions import ActionContext, ActionInput, ActionRegistry, ActionSpec

PURPOSE = "流程自动核验"


def register_builtin_actions(actions: ActionRegistry, registries: Callable[[], registry.Registry]) -> None:
    def verify_person(ctx: ActionContext, inputs: Mapping[str, Any]) -> Mapping[str, Any]:
        cmd = registry.VerifyPerson(
            id_number=str(inputs["id_number"]), name=str(inputs["name"]), purpose=PURPOSE
        )
        verdict = registry.verify_person(ctx.uow, registries(), cmd, ctx.actor)
        return {
            "matched": verdict.matched,
            "result": verdict.result.value,
            "status": verdict.status,
            "message": verdict.message,
        }

    def verify_enterprise(ctx: ActionContext, inputs: Mapping[str, Any]) -> Mapping[str, Any]:
        cmd = registry.VerifyEnterprise(
            credit_code=str(inputs["credit_code"]), name=str(inputs["name"]), purpose=PURPOSE
        )
        verdict = registry.verify_enterprise(ctx.uow, registries(), cmd, ctx.actor)
        return {
            "matched": verdict.matched,
            "result": verdict.result.value,
            "status": verdict.status,
            "message": verdict.message,
        }

    def deadline(ctx: ActionContext, inputs: Mapping[str, Any]) -> Mapping[str, Any]:
        calendar = workdays.load_calendar(ctx.uow)
        due = calendar.deadline(
            clock.today_in_china(), int(inputs["days"]), workdays.TimeLimitUnit.WORKING_DAY
        )
        return {"due_date": due.due_date, "confirmed": due.confirmed}

    actions.register(
        ActionSpec(
            "registry.verify_person",
            "核验人口信息（实名）",
            (ActionInput("id_number", "身份证号码"), ActionInput("name", "姓名")),
            verify_person,
            "在人口库中核对身份证号码与姓名，并返回人员状态",
        )
    )
    actions.register(
        ActionSpec(
            "registry.verify_enterprise",
            "核验法人信息",
            (ActionInput("credit_code", "统一社会信用代码"), ActionInput("name", "名称")),
            verify_enterprise,
            "在法人库中核对统一社会信用代码与名称，并返回登记状态",
        )
    )
    actions.register(
        ActionSpec(
            "workdays.deadline",
            "计算工作日期限",
            (ActionInput("days", "工作日数"),),
            deadline,
            "从今天起算若干工作日后的日期（按法定节假日与调休）",
        )
    )
