"""The ticket state machine, numbers and overdue derivation: pure Python, no database."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime

import pytest

from wanshi.kernel.errors import Conflict, ValidationFailed
from wanshi.tickets.domain import (
    TRANSITIONS,
    Ticket,
    TicketPriority,
    TicketState,
    Transition,
    TransitionRefused,
    allowed_transitions,
    check_source,
    clean_text,
    format_number,
    is_ticket_number,
    next_state,
)

AT = datetime(2026, 3, 2, 2, 0, tzinfo=UTC)

ALLOWED = {
    (TicketState.OPEN, Transition.START): TicketState.IN_PROGRESS,
    (TicketState.OPEN, Transition.TRANSFER): TicketState.OPEN,
    (TicketState.IN_PROGRESS, Transition.TRANSFER): TicketState.OPEN,
    (TicketState.IN_PROGRESS, Transition.RESOLVE): TicketState.RESOLVED,
    (TicketState.RESOLVED, Transition.CLOSE): TicketState.CLOSED,
    (TicketState.RESOLVED, Transition.REOPEN): TicketState.IN_PROGRESS,
}


def ticket(state: TicketState = TicketState.OPEN, **changes: object) -> Ticket:
    base = Ticket(
        id=1,
        number="GD20260302000001",
        category="general",
        title="路灯不亮",
        description="",
        source_type="",
        source_id="",
        priority=TicketPriority.NORMAL,
        organisation_id=10,
        division_code="340102",
        assignee_user_id=None,
        state=state,
        time_limit_amount=5,
        time_limit_unit="working_day",
        start_date=date(2026, 3, 2),
        deadline_date=date(2026, 3, 9),
        deadline_confirmed=True,
        created_by="hf_clerk",
        created_by_kind="staff",
        created_by_user_id=5,
        creator_organisation_id=2,
        created_at=AT,
        updated_at=AT,
        resolved_at=None,
        closed_at=None,
        version=1,
    )
    return replace(base, **changes)  # type: ignore[arg-type]


@pytest.mark.parametrize("state", list(TicketState))
@pytest.mark.parametrize("transition", list(Transition))
def test_every_transition_from_every_state(state: TicketState, transition: Transition) -> None:
    expected = ALLOWED.get((state, transition))
    if expected is None:
        with pytest.raises(TransitionRefused) as refused:
            next_state(state, transition)
        assert refused.value.error_code == "ticket_transition_refused"
        assert refused.value.http_status == 409
        assert refused.value.details == {"state": state.value, "transition": transition.value}
        assert transition not in allowed_transitions(state)
    else:
        assert next_state(state, transition) is expected
        assert transition in allowed_transitions(state)


def test_the_table_is_the_documented_machine() -> None:
    assert {(s, t) for t, (sources, _) in TRANSITIONS.items() for s in sources} == set(ALLOWED)
    assert allowed_transitions(TicketState.CLOSED) == frozenset()


def test_ticket_methods_follow_the_machine() -> None:
    later = datetime(2026, 3, 3, tzinfo=UTC)
    started = ticket().start(7, later)
    assert (started.state, started.assignee_user_id, started.updated_at) == (
        TicketState.IN_PROGRESS,
        7,
        later,
    )

    moved = started.transfer(11, "340103", later)
    assert (moved.state, moved.organisation_id, moved.division_code) == (TicketState.OPEN, 11, "340103")
    assert moved.assignee_user_id is None
    assert moved.deadline_date == started.deadline_date

    resolved = started.resolve(later)
    assert (resolved.state, resolved.resolved_at) == (TicketState.RESOLVED, later)
    reopened = resolved.reopen(later)
    assert (reopened.state, reopened.resolved_at, reopened.assignee_user_id) == (
        TicketState.IN_PROGRESS,
        None,
        7,
    )
    closed = resolved.close(later)
    assert (closed.state, closed.closed_at) == (TicketState.CLOSED, later)

    with pytest.raises(TransitionRefused):
        closed.reopen(later)
    with pytest.raises(TransitionRefused):
        ticket().resolve(later)


def test_transfer_to_the_same_organisation_is_refused() -> None:
    with pytest.raises(ValidationFailed) as refused:
        ticket().transfer(10, "340102", AT)
    assert refused.value.error_code == "ticket_transfer_same_organisation"


def test_overdue_is_derived_from_deadline_and_state() -> None:
    due = date(2026, 3, 9)
    assert not ticket().is_overdue(due)
    assert ticket().is_overdue(date(2026, 3, 10))
    assert ticket(TicketState.IN_PROGRESS).is_overdue(date(2026, 3, 10))
    assert not ticket(TicketState.RESOLVED).is_overdue(date(2026, 4, 1))
    assert not ticket(TicketState.CLOSED).is_overdue(date(2026, 4, 1))


def test_numbers_read_out_on_the_phone() -> None:
    assert format_number(date(2025, 9, 30), 1) == "GD20250930000001"
    assert format_number(date(2025, 9, 30), 999_999) == "GD20250930999999"
    assert is_ticket_number("GD20250930000001")
    assert not is_ticket_number("GD2025093000001")
    with pytest.raises(Conflict) as exhausted:
        format_number(date(2025, 9, 30), 1_000_000)
    assert exhausted.value.error_code == "ticket_numbers_exhausted"


def test_texts_and_sources_are_checked_with_stable_codes() -> None:
    assert clean_text("  说明 ", field="note", what="备注", maximum=10) == "说明"
    with pytest.raises(ValidationFailed) as missing:
        clean_text(" ", field="reason", what="理由", maximum=10, minimum=2)
    assert missing.value.error_code == "ticket_reason_required"
    with pytest.raises(ValidationFailed) as short:
        clean_text("短", field="reason", what="理由", maximum=10, minimum=2)
    assert short.value.error_code == "ticket_reason_required"
    with pytest.raises(ValidationFailed) as long:
        clean_text("长" * 11, field="title", what="标题", maximum=10)
    assert long.value.error_code == "ticket_title_too_long"
    assert check_source(" rating ", " 12 ") == ("rating", "12")
    with pytest.raises(ValidationFailed) as half:
        check_source("rating", "")
    assert half.value.error_code == "ticket_source_incomplete"
