"""The engine without a database: parsing with our extensions, steps across save and reload, gateways,
joint handling, decisions, platform actions, timers on the platform clock, returning and migrating."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from engine_support import FILES, definition, engine, step, waiting
from lxml import etree

from wanshi.kernel import clock
from wanshi.kernel.errors import ValidationFailed
from wanshi.workflow.engine.layout import with_layout
from wanshi.workflow.engine.runtime import DefinitionInvalid, ProcessFailed, Run, parse_definition

BPMN = "http://www.omg.org/spec/BPMN/20100524/MODEL"
ACTIONS = {"workdays.deadline": lambda inputs: {"due_date": f"+{inputs['days']}"}}


@pytest.fixture
def fixed_clock() -> Iterator[list[datetime]]:
    now = [datetime(2026, 9, 28, 2, 0, tzinfo=UTC)]
    previous = clock.set_clock(lambda: now[0])
    yield now
    clock.set_clock(previous)


def test_five_steps_run_across_save_and_reload_and_the_state_stays_small() -> None:
    run = Run.start(definition("five_steps.bpmn"), {"applicant": "张三"}, engine())
    sizes = []
    for element in ("receive", "accept", "review", "decide", "conclude"):
        assert waiting(run) == [element]
        run = step(run, element, {f"{element}_by": "clerk"})
        sizes.append(len(run.dump()))
    assert run.completed
    assert run.data()["applicant"] == "张三"
    assert max(sizes) < 4000


def test_extensions_are_read_from_the_diagram() -> None:
    run = Run.start(definition("permit.bpmn", "fee_level.dmn"), {"amount": Decimal("5000")}, engine(ACTIONS))
    accept = run.ready_tasks()[0]
    assert accept.extensions == {"roles": ("clerk",), "form": "permit-review", "timeLimit": 1}
    # The service task ran the named action with its input and kept the result.
    assert run.data()["reply"] == {"due_date": "+5"}


def test_approval_splits_into_joint_handling_and_the_decision_table_sets_the_fee() -> None:
    run = Run.start(
        definition("permit.bpmn", "fee_level.dmn"),
        {"amount": Decimal("5000"), "market_org": "x"},
        engine(ACTIONS),
    )
    run = step(run, "accept", {"outcome": "approve"})
    assert waiting(run) == ["civil_opinion", "market_opinion"]
    run = step(run, "market_opinion")
    assert waiting(run) == ["civil_opinion"]
    run = step(run, "civil_opinion")
    assert waiting(run) == ["decide"]
    assert run.data()["fee_level"] == "small"
    run = step(run, "decide")
    assert run.completed


def test_refusal_takes_the_default_flow() -> None:
    run = Run.start(definition("permit.bpmn", "fee_level.dmn"), {"amount": Decimal("5000")}, engine(ACTIONS))
    run = step(run, "accept", {"outcome": "reject"})
    assert run.completed
    assert "fee_level" not in run.data()


def test_a_return_reopens_an_earlier_step() -> None:
    run = Run.start(definition("five_steps.bpmn"), {}, engine())
    for element in ("receive", "accept", "review"):
        run = step(run, element)
    assert [e for e, _ in run.completed_user_steps()] == ["receive", "accept", "review"]
    run.return_to("accept")
    assert waiting(run) == ["accept"]
    with pytest.raises(ValidationFailed) as refused:
        run.return_to("conclude")
    assert refused.value.error_code == "workflow_return_invalid"


def test_a_timer_fires_on_the_platform_clock_in_working_days(fixed_clock: list[datetime]) -> None:
    run = Run.start(definition("timer.bpmn"), {}, engine())
    due = run.next_timer_at()
    # Monday 2026-09-28 plus two working days is Wednesday; the timer fires when that day is over.
    assert due == datetime(2026, 9, 30, 16, 0, tzinfo=UTC)
    fixed_clock[0] = due - timedelta(minutes=1)
    run.fire_timers()
    assert waiting(run) == ["review"]
    fixed_clock[0] = due
    run.fire_timers()
    assert waiting(run) == ["supervise"]
    assert run.data()["escalated"] is True


def test_migration_moves_a_running_instance_and_refuses_to_strand_a_waiting_step() -> None:
    old = definition("five_steps.bpmn")
    text = (FILES / "five_steps.bpmn").read_text(encoding="utf-8")
    extra = text.replace(
        '<bpmn:sequenceFlow id="f2" sourceRef="accept" targetRef="review" />',
        '<bpmn:sequenceFlow id="f2" sourceRef="accept" targetRef="expert" />'
        '<bpmn:userTask id="expert" name="专家评审" wanshi:roles="clerk" />'
        '<bpmn:sequenceFlow id="f2b" sourceRef="expert" targetRef="review" />',
    )
    new = parse_definition(extra)
    run = step(Run.start(old, {}, engine()), "receive")
    run.migrate_to(new)
    run = step(run, "accept")
    assert waiting(run) == ["expert"]
    without_accept = (
        text.replace('<bpmn:userTask id="accept" name="受理" wanshi:roles="clerk" />', "")
        .replace('sourceRef="receive" targetRef="accept"', 'sourceRef="receive" targetRef="review"')
        .replace('<bpmn:sequenceFlow id="f2" sourceRef="accept" targetRef="review" />', "")
    )
    stranded = step(Run.start(old, {}, engine()), "receive")
    with pytest.raises(ValidationFailed) as refused:
        stranded.migrate_to(parse_definition(without_accept))
    assert refused.value.error_code == "workflow_migration_stranded"


def test_a_script_that_never_ends_is_stopped_and_reported() -> None:
    run = Run.start(definition("loop_script.bpmn"), {}, engine())
    task = run.ready_tasks()[0]
    with pytest.raises(ProcessFailed) as failed:
        run.complete(task.id, {})
    assert failed.value.error_code == "script_timeout"
    assert "计算" in failed.value.message


def test_a_script_cannot_read_a_file() -> None:
    with pytest.raises(ProcessFailed) as failed:
        Run.start(definition("read_file.bpmn"), {}, engine())
    assert failed.value.error_code == "script_forbidden"


@pytest.mark.parametrize(
    ("xml", "expected"),
    [
        ("<not-xml", "不是有效的 XML"),
        ('<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]><x>&e;</x>', ""),
        (
            f'<bpmn:definitions xmlns:bpmn="{BPMN}" id="d" targetNamespace="t">'
            '<bpmn:process id="p" isExecutable="false"><bpmn:startEvent id="s"/></bpmn:process>'
            "</bpmn:definitions>",
            "恰好包含一个可执行流程",
        ),
    ],
)
def test_bad_definitions_are_refused_in_chinese(xml: str, expected: str) -> None:
    with pytest.raises(DefinitionInvalid) as refused:
        parse_definition(xml)
    assert expected in refused.value.message
    assert "root:" not in refused.value.message


def test_a_definition_without_a_diagram_gets_one_the_modeler_can_draw() -> None:
    text = (FILES / "permit.bpmn").read_text(encoding="utf-8")
    laid_out = with_layout(text)
    root = etree.fromstring(laid_out.encode("utf-8"))
    shapes = {s.get("bpmnElement") for s in root.iter("{http://www.omg.org/spec/BPMN/20100524/DI}BPMNShape")}
    edges = {e.get("bpmnElement") for e in root.iter("{http://www.omg.org/spec/BPMN/20100524/DI}BPMNEdge")}
    process = root.find(f"{{{BPMN}}}process")
    assert process is not None
    assert shapes == {el.get("id") for el in process if el.tag != f"{{{BPMN}}}sequenceFlow"}
    assert edges == {el.get("id") for el in process if el.tag == f"{{{BPMN}}}sequenceFlow"}
    assert with_layout(laid_out) == laid_out
    # Still the same executable process.
    run = Run.start(
        parse_definition(laid_out, [(FILES / "fee_level.dmn").read_text(encoding="utf-8")]),
        {},
        engine(ACTIONS),
    )
    assert waiting(run) == ["accept"]
