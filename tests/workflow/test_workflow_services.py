"""The process centre on the database: deploying, starting, the clerk's steps, joint handling across
departments, forms on tasks, returning and delegating, timers, time limits, restart and migration."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from sqlalchemy import select
from workflow_world import FILES, deploy, open_task, publish_review_form, workflow_world

from wanshi.bootstrap import Platform, build_platform
from wanshi.config import Settings
from wanshi.infra.tables import audit_entry
from wanshi.kernel import clock
from wanshi.kernel.actor import SYSTEM
from wanshi.kernel.errors import Conflict, PermissionDenied, ValidationFailed
from wanshi.workflow import repository
from wanshi.workflow.domain.clocks import Level
from wanshi.workflow.domain.records import EventKind, InstanceStatus, TaskState
from wanshi.workflow.engine.runtime import DefinitionInvalid, ProcessFailed
from wanshi.workflow.services import definitions, instances, supervision
from wanshi.workflow.steps import save_instance
from worlds import World


@pytest.fixture
def world(platform: Platform) -> World:
    return workflow_world(platform)


@pytest.fixture
def at() -> Iterator[list[datetime]]:
    """The platform clock, fixed and movable (China time 10:00 on the day given)."""
    now = [datetime(2026, 9, 28, 2, 0, tzinfo=UTC)]
    previous = clock.set_clock(lambda: now[0])
    yield now
    clock.set_clock(previous)


def on(moment: list[datetime], day: date) -> None:
    moment[0] = datetime(day.year, day.month, day.day, 2, 0, tzinfo=UTC)


def start(platform: Platform, world: World, key: str, **extra: object) -> int:
    with platform.uow() as uow:
        started = instances.start_process(
            uow,
            instances.StartProcess(definition_key=key, organisation_id=world.org_id("civil"), **extra),  # type: ignore[arg-type]
            platform.actions,
            world["civil_clerk"],
        )
    return started.id


def claim_and_complete(
    platform: Platform, world: World, instance_id: int, element: str, user: str, **extra: object
) -> None:
    task = open_task(platform, instance_id, element)
    with platform.uow() as uow:
        instances.claim_task(uow, task.id, world[user])
    with platform.uow() as uow:
        instances.complete_task(
            uow, instances.CompleteTask(task_id=task.id, **extra), platform.actions, world[user]
        )  # type: ignore[arg-type]


def test_deploying_checks_actions_forms_scripts_and_candidates(platform: Platform, world: World) -> None:
    with pytest.raises(DefinitionInvalid) as unpublished:
        deploy(platform, world, "permit", "permit.bpmn", "fee_level.dmn")
    assert "表单“permit-review”不存在或尚未发布" in unpublished.value.message
    with pytest.raises(DefinitionInvalid) as reading:
        deploy(platform, world, "reader", "read_file.bpmn")
    assert "open" in reading.value.message
    broken = (
        (FILES / "five_steps.bpmn")
        .read_text(encoding="utf-8")
        .replace('wanshi:roles="clerk"', 'wanshi:roles="janitor"', 1)
    )
    with platform.uow() as uow:
        created = definitions.create_definition(
            uow,
            definitions.CreateDefinition(
                key="broken", organisation_id=world.org_id("civil"), name="坏流程", bpmn_xml=broken
            ),
            world["civil_clerk"],
        )
    with platform.uow() as uow, pytest.raises(DefinitionInvalid) as roles:
        definitions.deploy_definition(
            uow,
            definitions.DeployDefinition(definition_id=created.id, revision=1),
            platform.actions,
            world["civil_clerk"],
        )
    assert "候选角色不存在：janitor" in roles.value.message


def test_another_department_cannot_change_a_definition(platform: Platform, world: World) -> None:
    definition_id = deploy(platform, world, "five", "five_steps.bpmn")
    with platform.uow() as uow, pytest.raises(PermissionDenied):
        definitions.save_definition(
            uow,
            definitions.SaveDefinition(
                definition_id=definition_id,
                revision=2,
                bpmn_xml=(FILES / "five_steps.bpmn").read_text(encoding="utf-8"),
            ),
            world["market_clerk"],
        )


def test_joint_handling_with_a_form_across_two_departments(
    platform: Platform, world: World, at: list[datetime]
) -> None:
    publish_review_form(platform, world)
    deploy(platform, world, "permit", "permit.bpmn", "fee_level.dmn")
    market_code = world.organisations["market"].code
    instance_id = start(
        platform,
        world,
        "permit",
        data={"market_org": market_code},
        legal_limit={"amount": 20},
        business_key="BJ-2026-0001",
    )
    accept = open_task(platform, instance_id, "accept")
    assert accept.form_key == "permit-review"
    assert accept.due_date == date(2026, 9, 29)
    with platform.reader() as uow:
        claimable, _ = instances.list_tasks(uow, instances.TaskQuery(view="claimable"), world["civil_clerk2"])
        elsewhere, _ = instances.list_tasks(uow, instances.TaskQuery(view="claimable"), world["market_clerk"])
    assert [t.id for t, _ in claimable] == [accept.id]
    assert elsewhere == []
    with platform.uow() as uow, pytest.raises(PermissionDenied):
        instances.claim_task(uow, accept.id, world["market_clerk"])
    with platform.uow() as uow:
        instances.claim_task(uow, accept.id, world["civil_clerk"])
    # The form is checked by the server before the step moves.
    with platform.uow() as uow, pytest.raises(ValidationFailed) as invalid:
        instances.complete_task(
            uow,
            instances.CompleteTask(task_id=accept.id, answers={"amount": ["-5"]}, outcome="approve"),
            platform.actions,
            world["civil_clerk"],
        )
    assert invalid.value.error_code == "workflow_form_invalid"
    assert open_task(platform, instance_id, "accept").state is TaskState.OPEN
    with platform.uow() as uow:
        instances.complete_task(
            uow,
            instances.CompleteTask(
                task_id=accept.id, answers={"amount": ["5000"]}, outcome="approve", opinion="材料齐全"
            ),
            platform.actions,
            world["civil_clerk"],
        )
    market = open_task(platform, instance_id, "market_opinion")
    civil = open_task(platform, instance_id, "civil_opinion")
    assert market.organisation_id == world.org_id("market")
    assert civil.organisation_id == world.org_id("civil")
    claim_and_complete(platform, world, instance_id, "market_opinion", "market_clerk", outcome="approve")
    claim_and_complete(platform, world, instance_id, "civil_opinion", "civil_clerk2", outcome="approve")
    decide = open_task(platform, instance_id, "decide")
    assert decide.roles == ("supervisor",)
    claim_and_complete(platform, world, instance_id, "decide", "civil_boss", outcome="approve")
    with platform.reader() as uow:
        view = instances.get_instance(uow, instance_id, platform.actions, world["civil_boss"])
        audited = (
            uow.session.execute(select(audit_entry.c.action).where(audit_entry.c.action.like("workflow.%")))
            .scalars()
            .all()
        )
    assert view.instance.status is InstanceStatus.COMPLETED
    assert view.data["amount"] == Decimal("5000")
    assert view.data["fee_level"] == "small"
    kinds = [h.kind for h in view.history]
    assert kinds[0] is EventKind.STARTED
    assert kinds[-1] is EventKind.COMPLETED
    assert kinds.count(EventKind.TASK_COMPLETED) == 4
    assert audited.count("workflow.task.complete") == 4
    assert view.clocks[0][1].level is Level.DONE_IN_TIME


def test_an_instance_survives_a_restart(platform: Platform, world: World, settings: Settings) -> None:
    deploy(platform, world, "five", "five_steps.bpmn")
    instance_id = start(platform, world, "five")
    claim_and_complete(platform, world, instance_id, "receive", "civil_clerk")
    platform.dispose()
    again = build_platform(settings)
    try:
        for element in ("accept", "review", "decide", "conclude"):
            claim_and_complete(again, world, instance_id, element, "civil_clerk")
        with again.reader() as uow:
            assert repository.get_instance(uow.session, instance_id).status is InstanceStatus.COMPLETED  # type: ignore[union-attr]
    finally:
        again.dispose()


def test_a_stale_step_is_refused_and_leaves_nothing(platform: Platform, world: World) -> None:
    deploy(platform, world, "five", "five_steps.bpmn")
    instance_id = start(platform, world, "five")
    with platform.reader() as uow:
        stale = repository.get_instance(uow.session, instance_id)
    claim_and_complete(platform, world, instance_id, "receive", "civil_clerk")
    assert stale is not None
    from wanshi.workflow.engine.runtime import Run
    from wanshi.workflow.steps import deployed, load_version

    with platform.uow() as uow:
        run = Run.load(deployed(load_version(uow, stale.version_id)), stale.state, None)
        with pytest.raises(Conflict) as refused:
            save_instance(uow, stale, run)
    assert refused.value.error_code == "workflow_instance_changed"
    assert open_task(platform, instance_id, "accept").state is TaskState.OPEN


def test_return_and_delegate(platform: Platform, world: World) -> None:
    deploy(platform, world, "five", "five_steps.bpmn")
    instance_id = start(platform, world, "five")
    for element in ("receive", "accept"):
        claim_and_complete(platform, world, instance_id, element, "civil_clerk")
    review = open_task(platform, instance_id, "review")
    with platform.uow() as uow:
        instances.claim_task(uow, review.id, world["civil_clerk"])
    with platform.uow() as uow:
        instances.return_task(
            uow,
            instances.ReturnTask(task_id=review.id, to_element="accept", reason="材料需重新核对"),
            platform.actions,
            world["civil_clerk"],
        )
    accept = open_task(platform, instance_id, "accept")
    with platform.uow() as uow:
        instances.claim_task(uow, accept.id, world["civil_clerk"])
    with platform.uow() as uow, pytest.raises(ValidationFailed):
        instances.delegate_task(
            uow,
            instances.DelegateTask(task_id=accept.id, to_user_id=world["market_clerk"].user_id or 0),
            world["civil_clerk"],
        )
    with platform.uow() as uow:
        instances.delegate_task(
            uow,
            instances.DelegateTask(
                task_id=accept.id, to_user_id=world["civil_clerk2"].user_id or 0, note="请代办"
            ),
            world["civil_clerk"],
        )
    with platform.uow() as uow, pytest.raises(PermissionDenied):
        instances.complete_task(
            uow, instances.CompleteTask(task_id=accept.id), platform.actions, world["civil_clerk"]
        )
    with platform.uow() as uow:
        instances.complete_task(
            uow, instances.CompleteTask(task_id=accept.id), platform.actions, world["civil_clerk2"]
        )
    assert open_task(platform, instance_id, "review").assignee_id is None
    with platform.reader() as uow:
        history = repository.history(uow.session, instance_id=instance_id)
    returned = next(h for h in history if h.kind is EventKind.RETURNED)
    assert returned.detail == {"from": "review", "to": "accept", "reason": "材料需重新核对"}
    assert any(h.kind is EventKind.TASK_DELEGATED for h in history)


def test_a_runaway_script_is_stopped_and_the_step_rolls_back(platform: Platform, world: World) -> None:
    deploy(platform, world, "loop", "loop_script.bpmn")
    instance_id = start(platform, world, "loop")
    first = open_task(platform, instance_id, "first")
    with platform.uow() as uow:
        instances.claim_task(uow, first.id, world["civil_clerk"])
    with platform.reader() as uow:
        before = repository.get_instance(uow.session, instance_id)
    with platform.uow() as uow, pytest.raises(ProcessFailed) as failed:
        instances.complete_task(
            uow, instances.CompleteTask(task_id=first.id), platform.actions, world["civil_clerk"]
        )
    assert failed.value.error_code == "script_timeout"
    with platform.reader() as uow:
        after = repository.get_instance(uow.session, instance_id)
    assert after is not None
    assert before is not None
    assert after.revision == before.revision
    assert open_task(platform, instance_id, "first").state is TaskState.OPEN


def test_timers_fire_from_the_worker_in_working_days(
    platform: Platform, world: World, at: list[datetime]
) -> None:
    deploy(platform, world, "escalation", "timer.bpmn")
    instance_id = start(platform, world, "escalation")
    fire = platform.jobs.handlers["workflow.fire_timers"]
    on(at, date(2026, 9, 30))
    with platform.uow() as uow:
        fire(uow, {}, None)  # type: ignore[arg-type]
    assert open_task(platform, instance_id, "review").state is TaskState.OPEN
    # 2026-09-28 + 2 working days is 09-30; the timer fires once that day is over (10-01, a holiday).
    on(at, date(2026, 10, 1))
    with platform.uow() as uow:
        fire(uow, {}, None)  # type: ignore[arg-type]
    assert open_task(platform, instance_id, "supervise").roles == ("supervisor",)
    with platform.reader() as uow:
        tasks = repository.instance_tasks(uow.session, instance_id)
    assert [t.state for t in tasks if t.element_id == "review"] == [TaskState.CANCELLED]


def test_the_clock_pauses_for_supplements_across_national_day(
    platform: Platform, world: World, at: list[datetime]
) -> None:
    deploy(platform, world, "supplement", "supplement.bpmn")
    on(at, date(2026, 9, 29))
    instance_id = start(platform, world, "supplement", legal_limit={"amount": 5})
    with platform.reader() as uow:
        view = instances.get_instance(uow, instance_id, platform.actions, world["civil_clerk"])
    assert view.clocks[0][1].due_date == date(2026, 10, 12)
    on(at, date(2026, 9, 30))
    claim_and_complete(platform, world, instance_id, "check", "civil_clerk")
    on(at, date(2026, 10, 8))
    with platform.reader() as uow:
        paused = instances.get_instance(uow, instance_id, platform.actions, world["civil_clerk"]).clocks[0][1]
    assert paused.level is Level.PAUSED
    on(at, date(2026, 10, 9))
    claim_and_complete(platform, world, instance_id, "wait", "civil_clerk")
    with platform.reader() as uow:
        resumed = instances.get_instance(uow, instance_id, platform.actions, world["civil_clerk"]).clocks[0][
            1
        ]
    # Paused 09-30..10-09: the working days 10-08 and 10-09 are not counted, so due moves two working days.
    assert resumed.due_date == date(2026, 10, 14)
    on(at, date(2026, 10, 13))
    with platform.reader() as uow:
        report = supervision.supervise(uow, world["civil_boss"])
    assert report.levels[Level.YELLOW] == 1
    on(at, date(2026, 10, 15))
    with platform.reader() as uow:
        late = supervision.supervise(uow, world["civil_boss"])
    assert late.levels[Level.RED] == 1
    assert late.overdue[0]["instance_id"] == instance_id
    assert late.trend[-1][1] == 1
    with platform.reader() as uow, pytest.raises(PermissionDenied):
        supervision.supervise(uow, world["civil_clerk"])


def test_migrating_running_instances_is_explicit(platform: Platform, world: World) -> None:
    definition_id = deploy(platform, world, "five", "five_steps.bpmn")
    first = start(platform, world, "five")
    second = start(platform, world, "five")
    claim_and_complete(platform, world, first, "receive", "civil_clerk")
    text = (
        (FILES / "five_steps.bpmn")
        .read_text(encoding="utf-8")
        .replace(
            '<bpmn:sequenceFlow id="f4" sourceRef="decide" targetRef="conclude" />',
            '<bpmn:sequenceFlow id="f4" sourceRef="decide" targetRef="archive" />'
            '<bpmn:userTask id="archive" name="归档" wanshi:roles="clerk" />'
            '<bpmn:sequenceFlow id="f4b" sourceRef="archive" targetRef="conclude" />',
        )
    )
    with platform.uow() as uow:
        definitions.save_definition(
            uow,
            definitions.SaveDefinition(definition_id=definition_id, revision=2, bpmn_xml=text),
            world["civil_clerk"],
        )
    with platform.uow() as uow:
        definitions.deploy_definition(
            uow,
            definitions.DeployDefinition(definition_id=definition_id, revision=3),
            platform.actions,
            world["civil_clerk"],
        )
    third = start(platform, world, "five")
    with platform.reader() as uow:
        versions = {i: repository.get_instance(uow.session, i).version_number for i in (first, second, third)}  # type: ignore[union-attr]
    assert versions == {first: 1, second: 1, third: 2}
    with platform.uow() as uow:
        dry = instances.migrate_instances(
            uow,
            instances.MigrateInstances(definition_key="five", from_version=1, to_version=2, dry_run=True),
            platform.actions,
            world["civil_clerk"],
        )
    assert sorted(dry.migrated) == sorted([first, second])
    with platform.reader() as uow:
        assert repository.get_instance(uow.session, first).version_number == 1  # type: ignore[union-attr]
    with platform.uow() as uow:
        done = instances.migrate_instances(
            uow,
            instances.MigrateInstances(definition_key="five", from_version=1, to_version=2),
            platform.actions,
            world["civil_clerk"],
        )
    assert sorted(done.migrated) == sorted([first, second])
    for element in ("accept", "review", "decide", "archive", "conclude"):
        claim_and_complete(platform, world, first, element, "civil_clerk")
    with platform.reader() as uow:
        assert repository.get_instance(uow.session, first).status is InstanceStatus.COMPLETED  # type: ignore[union-attr]


def test_timers_and_recomputation_are_the_systems_alone(platform: Platform, world: World) -> None:
    with platform.uow() as uow, pytest.raises(PermissionDenied):
        instances.fire_due_timers(uow, platform.actions, world["prov_admin"])
    with platform.uow() as uow:
        assert instances.fire_due_timers(uow, platform.actions, SYSTEM) == 0
