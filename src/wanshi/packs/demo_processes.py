"""Process instances for the demo (`wanshi demo` only): applications under way at Hefei's and Wuhu's
service centres, so the clerks' task lists and the supervisors' time-limit pages have something to show.
Started once; a second run finds them and adds nothing."""

from __future__ import annotations

from dataclasses import dataclass

from wanshi.bootstrap import Platform
from wanshi.kernel.actor import Actor
from wanshi.org import api as org
from wanshi.workflow import api as workflow

PROCESS = "general_approval"
CENTRES = (("340100", "合肥市政务服务中心"), ("340200", "芜湖市政务服务中心"))
# Per centre: how many steps each demo application has gone through (收件, 受理审查) and whether its
# materials were complete (the last waits for the applicant's 补正, its time limits paused).
PROGRESS = ((0, "yes"), (1, "yes"), (2, "yes"), (2, "no"))


@dataclass(frozen=True)
class DemoInstances:
    started: int
    existing: int


def start_demo_instances(platform: Platform, actor: Actor) -> DemoInstances:
    with platform.reader() as uow:
        existing = workflow.count_instances(uow, PROCESS)
    if existing:
        return DemoInstances(0, existing)
    started = 0
    for division, name in CENTRES:
        with platform.reader() as uow:
            centre = org.find_organisation(uow, division, name)
        for steps, complete in PROGRESS:
            with platform.uow() as uow:
                instance = workflow.start_process(
                    uow,
                    workflow.StartProcess(
                        definition_key=PROCESS,
                        organisation_id=centre.id,
                        business_key=f"DEMO-{division}-{started + 1:03d}",
                        legal_limit=workflow.TimeLimit(amount=20),
                        promised_limit=workflow.TimeLimit(amount=5),
                    ),
                    platform.actions,
                    actor,
                )
            started += 1
            answers = {"materials_complete": [complete], "missing": ["户口簿复印件"]}
            for _ in range(steps):
                with platform.reader() as uow:
                    task = workflow.get_instance(uow, instance.id, platform.actions, actor).tasks[-1]
                with platform.uow() as uow:
                    workflow.complete_task(
                        uow,
                        workflow.CompleteTask(
                            task_id=task.id, answers=answers if task.form_key else None, outcome="approve"
                        ),
                        platform.actions,
                        actor,
                    )
    return DemoInstances(started, 0)
