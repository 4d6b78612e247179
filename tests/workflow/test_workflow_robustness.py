"""What a reviewer broke the process centre with: joint handling seen from the other department, a failing
timer among healthy ones, returning a pausing step, racing claims, returning to a service task."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime

import pytest
from workflow_world import deploy, open_task, publish_review_form, workflow_world

from wanshi.bootstrap import Platform
from wanshi.kernel import clock
from wanshi.kernel.actor import SYSTEM
from wanshi.kernel.errors import PermissionDenied, ValidationFailed
from wanshi.workflow import repository
from wanshi.workflow.domain.clocks import Level
from wanshi.workflow.domain.records import EventKind, TaskState
from wanshi.workflow.services import instances
from worlds import World


@pytest.fixture
def world(platform: Platform) -> World:
    return workflow_world(platform)


@pytest.fixture
def at() -> Iterator[list[datetime]]:
    now = [datetime(2026, 9, 28, 2, 0, tzinfo=UTC)]
    previous = clock.set_clock(lambda: now[0])
    yield now
    clock.set_clock(previous)


def on(moment: list[datetime], day: date) -> None:
    moment[0] = datetime(day.year, day.month, day.day, 2, 0, tzinfo=UTC)


def start(platform: Platform, world: World, key: str, **extra: object) -> int:
    with platform.uow() as uow:
        return instances.start_process(
            uow,
            instances.StartProcess(definition_key=key, organisation_id=world.org_id("civil"), **extra),  # type: ignore[arg-type]
            platform.actions,
            world["civil_clerk"],
        ).id


def handle(
    platform: Platform, world: World, instance_id: int, element: str, user: str, **extra: object
) -> None:
    task = open_task(platform, instance_id, element)
    with platform.uow() as uow:
        instances.claim_task(uow, task.id, world[user])
    with platform.uow() as uow:
        instances.complete_task(
            uow, instances.CompleteTask(task_id=task.id, **extra), platform.actions, world[user]
        )  # type: ignore[arg-type]


def test_the_other_department_sees_its_joint_task_but_not_the_whole_instance(
    platform: Platform, world: World
) -> None:
    publish_review_form(platform, world)
    deploy(platform, world, "permit", "permit.bpmn", "fee_level.dmn")
    instance_id = start(platform, world, "permit", data={"market_org": world.organisations["market"].code})
    handle(
        platform, world, instance_id, "accept", "civil_clerk", answers={"amount": ["10"]}, outcome="approve"
    )
    market = open_task(platform, instance_id, "market_opinion")
    with platform.reader() as uow:
        view = instances.get_task_view(uow, market.id, platform.actions, world["market_clerk"])
    assert view.instance.id == instance_id
    with platform.reader() as uow, pytest.raises(PermissionDenied):
        instances.get_instance(uow, instance_id, platform.actions, world["market_clerk"])


def test_a_failing_timer_does_not_hold_up_the_others(
    platform: Platform, world: World, at: list[datetime]
) -> None:
    deploy(platform, world, "escalation_checked", "timer_divide.bpmn")
    broken = start(platform, world, "escalation_checked", data={"divisor": 0})
    healthy = start(platform, world, "escalation_checked", data={"divisor": 1})
    on(at, date(2026, 10, 1))
    with platform.uow() as uow:
        assert instances.fire_due_timers(uow, platform.actions, SYSTEM) == 1
    assert open_task(platform, healthy, "supervise").state is TaskState.OPEN
    assert open_task(platform, broken, "review").state is TaskState.OPEN
    with platform.reader() as uow:
        failed = repository.get_instance(uow.session, broken)
        history = repository.history(uow.session, instance_id=broken)
    assert failed is not None
    assert failed.next_timer_at is not None
    assert failed.next_timer_at > clock.now()
    assert history[-1].kind is EventKind.TIMER_FAILED
    assert history[-1].detail["error"] == "script_failed"


def test_returning_a_pausing_step_starts_the_clock_again(
    platform: Platform, world: World, at: list[datetime]
) -> None:
    deploy(platform, world, "supplement", "supplement.bpmn")
    on(at, date(2026, 9, 29))
    instance_id = start(platform, world, "supplement", legal_limit={"amount": 5})
    on(at, date(2026, 9, 30))
    handle(platform, world, instance_id, "check", "civil_clerk")
    wait = open_task(platform, instance_id, "wait")
    with platform.uow() as uow:
        instances.claim_task(uow, wait.id, world["civil_clerk"])
    on(at, date(2026, 10, 9))
    with platform.uow() as uow:
        instances.return_task(
            uow,
            instances.ReturnTask(task_id=wait.id, to_element="check", reason="需重新预审"),
            platform.actions,
            world["civil_clerk"],
        )
    on(at, date(2026, 10, 12))
    with platform.reader() as uow:
        reading = instances.get_instance(uow, instance_id, platform.actions, world["civil_clerk"]).clocks[0][
            1
        ]
    assert reading.level is not Level.PAUSED
    assert reading.due_date == date(2026, 10, 14)


def test_two_clerks_racing_for_a_task_cannot_both_claim_it(platform: Platform, world: World) -> None:
    deploy(platform, world, "five", "five_steps.bpmn")
    instance_id = start(platform, world, "five")
    task = open_task(platform, instance_id, "receive")
    with platform.uow() as uow:
        instances.claim_task(uow, task.id, world["civil_clerk"])
    # The second clerk's request read the task before the first claim landed.
    with platform.uow() as uow:
        lost = repository.update_task(
            uow.session,
            task.id,
            TaskState.OPEN,
            assignee=repository.UNASSIGNED,
            assignee_id=world["civil_clerk2"].user_id,
        )
        uow.commit()
    assert lost is False
    assert open_task(platform, instance_id, "receive").assignee_name == "civil_clerk"


def test_a_return_goes_only_to_a_persons_step(platform: Platform, world: World) -> None:
    publish_review_form(platform, world)
    deploy(platform, world, "permit", "permit.bpmn", "fee_level.dmn")
    instance_id = start(platform, world, "permit", data={"market_org": world.organisations["market"].code})
    handle(
        platform, world, instance_id, "accept", "civil_clerk", answers={"amount": ["10"]}, outcome="approve"
    )
    civil = open_task(platform, instance_id, "civil_opinion")
    with platform.uow() as uow:
        instances.claim_task(uow, civil.id, world["civil_clerk"])
    with platform.uow() as uow, pytest.raises(ValidationFailed) as refused:
        instances.return_task(
            uow,
            instances.ReturnTask(task_id=civil.id, to_element="deadline", reason="重算期限"),
            platform.actions,
            world["civil_clerk"],
        )
    assert refused.value.error_code == "workflow_return_invalid"
