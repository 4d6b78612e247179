"""Runs after loads and the tickets they feed: open -> re-run (no duplicate) -> fixed reload -> closed."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select
from test_catalogue_world import NOW, World, build_world
from test_quality_ops_world import (
    BAD,
    GOOD,
    GOOD2,
    RULES,
    load_csv,
    publish_resource,
    replace_data,
    run,
    save_rules,
    sweep,
)

from wanshi.bootstrap import Platform
from wanshi.datahub.quality import api as quality
from wanshi.infra.tables import audit_entry
from wanshi.kernel import clock
from wanshi.kernel.actor import SYSTEM
from wanshi.tickets import api as tickets


@pytest.fixture
def world(platform: Platform) -> Iterator[World]:
    previous = clock.set_clock(lambda: NOW)
    yield build_world(platform)
    clock.set_clock(previous)


def _tickets(platform: Platform, resource_id: int, rule_id: str) -> list[tickets.Ticket]:
    with platform.uow() as uow:
        return tickets.tickets_for_source(uow, quality.TICKET_SOURCE_TYPE, f"{resource_id}:{rule_id}")


def _history(platform: Platform, ticket_id: int) -> list[tuple[str, str]]:
    with platform.uow() as uow:
        detail = tickets.get_ticket(uow, ticket_id, SYSTEM)
    return [(h.kind.value, h.note) for h in detail.history]


def test_a_failing_rule_opens_one_ticket_until_a_fixed_reload_closes_it(
    platform: Platform, world: World, tmp_path: Path
) -> None:
    resource_id = publish_resource(platform, world)
    save_rules(platform, world, resource_id)
    load_csv(
        platform,
        tmp_path,
        "v1.csv",
        [(GOOD, "甲公司", "100"), (BAD, "乙公司", "50"), (GOOD2, "丙公司", "-1")],
    )

    # The load is checked by the sweep, once.
    assert sweep(platform) == 1
    assert sweep(platform) == 0
    with platform.uow() as uow:
        page = quality.list_runs(uow, quality.RunQuery(), world["prov_admin"])
    assert page.total == 1
    first = page.items[0]
    assert (first.trigger, first.rows, first.dataset) == (quality.Trigger.LOAD, 3, "market_entity")
    assert first.load_id is not None
    assert 0 < first.score < 100
    with platform.uow() as uow:
        detail = quality.get_run(uow, first.id, world["yh_clerk"])
    by_rule = {o.rule_id: o for o in detail.outcomes}
    assert (by_rule["uscc.checksum"].checked, by_rule["uscc.checksum"].failed) == (3, 1)
    assert by_rule["capital.range"].failed == 1
    assert (by_rule["fresh"].checked, by_rule["fresh"].failed) == (1, 0)
    # Sample keys are masked before they are stored.
    assert by_rule["uscc.checksum"].sample_keys == ("911100********341X",)

    opened = _tickets(platform, resource_id, "uscc.checksum")
    assert len(opened) == 1
    ticket = opened[0]
    assert ticket.state is tickets.TicketState.OPEN
    assert ticket.organisation_id == world.org_id("yaohai")
    assert ticket.category == quality.TICKET_CATEGORY
    assert (ticket.time_limit_amount, ticket.time_limit_unit) == (5, "working_day")
    assert ticket.deadline_date == date(2026, 3, 9)  # Monday 2 March + 5 working days
    assert "不合格 1 条" in ticket.description
    assert "911100********341X" in ticket.description
    assert BAD not in ticket.description
    assert BAD not in ticket.title
    assert by_rule["uscc.checksum"].ticket_id == ticket.id
    assert {t.rule_id for t in detail.tickets} == {"uscc.checksum", "capital.range"}
    assert _tickets(platform, resource_id, "fresh") == []

    # Re-run on demand: the same ticket gets the new figures as a comment, no second ticket.
    second = run(platform, world, "yh_clerk")
    assert second.trigger is quality.Trigger.CONSOLE
    assert [t.id for t in _tickets(platform, resource_id, "uscc.checksum")] == [ticket.id]
    comments = [note for kind, note in _history(platform, ticket.id) if kind == "commented"]
    assert len(comments) == 1
    assert f"第 {second.id} 次检查" in comments[0]

    # The department says it is done, but the data still fails: the ticket goes back to it.
    with platform.uow() as uow:
        tickets.start_ticket(uow, tickets.StartTicket(ticket_id=ticket.id), world["yh_clerk"])
    with platform.uow() as uow:
        tickets.resolve_ticket(
            uow, tickets.ResolveTicket(ticket_id=ticket.id, note="已更正"), world["yh_clerk"], platform.files
        )
    run(platform, world, "yh_clerk")
    again = _tickets(platform, resource_id, "uscc.checksum")
    assert [(t.id, t.state) for t in again] == [(ticket.id, tickets.TicketState.IN_PROGRESS)]

    # The corrected extract is loaded: the sweep checks it and closes the ticket with a note.
    replace_data(platform, tmp_path, "v2.csv", [(GOOD, "甲公司", "100"), (GOOD2, "丙公司", "-1")])
    assert sweep(platform) == 1
    closed = _tickets(platform, resource_id, "uscc.checksum")
    assert [(t.id, t.state) for t in closed] == [(ticket.id, tickets.TicketState.CLOSED)]
    closing = [note for kind, note in _history(platform, ticket.id) if kind == "closed"]
    assert len(closing) == 1
    assert "及时校核、动态更新" in closing[0]
    # The rule still failing keeps its own ticket open.
    capital = _tickets(platform, resource_id, "capital.range")
    assert [t.state for t in capital] == [tickets.TicketState.OPEN]

    # Passing again changes nothing; failing again later is a new ticket (closed is final).
    run(platform, world, "prov_admin")
    assert len(_tickets(platform, resource_id, "uscc.checksum")) == 1
    replace_data(platform, tmp_path, "v3.csv", [(BAD, "乙公司", "50")])
    assert sweep(platform) == 1
    states = sorted(t.state.value for t in _tickets(platform, resource_id, "uscc.checksum"))
    assert states == ["closed", "open"]
    with platform.uow() as uow:
        actions = list(uow.session.execute(select(audit_entry.c.action)).scalars())
    assert actions.count("quality.run.completed") == 6
    assert "quality.rule_set.saved" in actions


def test_a_retried_ticket_step_changes_nothing_and_a_crash_is_finished_by_the_sweep(
    platform: Platform, world: World, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    resource_id = publish_resource(platform, world)
    save_rules(platform, world, resource_id)
    load_csv(platform, tmp_path, "v1.csv", [(BAD, "乙公司", "-5")])

    from wanshi.datahub.quality import services

    real = services._sync_rule
    calls = {"n": 0}

    def crash_on_second(*args: object, **kwargs: object) -> None:
        calls["n"] += 1
        if calls["n"] == 2:
            raise RuntimeError("worker died")
        real(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(services, "_sync_rule", crash_on_second)
    with pytest.raises(RuntimeError):
        run(platform, world, "prov_admin")
    monkeypatch.setattr(services, "_sync_rule", real)
    # The run was recorded before the crash, and the first rule's ticket; not the second's.
    assert len(_tickets(platform, resource_id, "uscc.checksum")) == 1
    assert _tickets(platform, resource_id, "capital.range") == []
    # The sweep finishes the interrupted step: the second rule's ticket, no second one for the first.
    assert sweep(platform) == 0  # the load itself was already checked
    sweep(platform)
    assert len(_tickets(platform, resource_id, "uscc.checksum")) == 1
    assert len(_tickets(platform, resource_id, "capital.range")) == 1
    uscc = _tickets(platform, resource_id, "uscc.checksum")[0]
    assert [k for k, _n in _history(platform, uscc.id)].count("commented") == 0


def test_timeliness_fails_when_the_newest_load_is_older_than_the_update_cycle(
    platform: Platform, world: World, tmp_path: Path
) -> None:
    resource_id = publish_resource(platform, world)
    save_rules(platform, world, resource_id)
    load_csv(platform, tmp_path, "v1.csv", [(GOOD, "甲公司", "1")])
    assert run(platform, world, "prov_admin").score == 100.0
    clock.set_clock(lambda: NOW + timedelta(days=3))  # the resource is updated daily (two days' grace)
    late = run(platform, world, "prov_admin")
    with platform.uow() as uow:
        outcomes = {o.rule_id: o for o in quality.get_run(uow, late.id, world["prov_admin"]).outcomes}
    assert (outcomes["fresh"].checked, outcomes["fresh"].failed) == (1, 1)
    assert [t.state for t in _tickets(platform, resource_id, "fresh")] == [tickets.TicketState.OPEN]


def test_the_worker_checks_a_completed_load_through_the_registered_schedule(
    platform: Platform, world: World, tmp_path: Path
) -> None:
    assert platform.jobs.schedules["quality.sweep"].interval_seconds == 300
    resource_id = publish_resource(platform, world)
    save_rules(platform, world, resource_id)
    load_csv(platform, tmp_path, "v1.csv", [(BAD, "乙公司", "1")])
    worker = platform.worker()
    worker.sync_schedules()
    worker.run_until_idle()
    with platform.uow() as uow:
        runs = quality.list_runs(uow, quality.RunQuery(), SYSTEM).items
    assert [(r.trigger, r.actor) for r in runs] == [(quality.Trigger.LOAD, "quality")]
    assert len(_tickets(platform, resource_id, "uscc.checksum")) == 1


def test_a_resource_whose_rules_do_not_fit_its_data_is_audited_and_the_others_still_run(
    platform: Platform, world: World, tmp_path: Path
) -> None:
    good = publish_resource(platform, world)
    broken = publish_resource(platform, world, "luyang", "331007001/000002")  # same dataset, wrong rules
    save_rules(platform, world, good)
    save_rules(platform, world, broken, RULES.replace("field: capital", "field: no_such_column"))
    load_csv(platform, tmp_path, "v1.csv", [(GOOD, "甲公司", "1")])
    assert sweep(platform) == 1
    with platform.uow() as uow:
        failed = uow.session.execute(
            select(audit_entry.c.object_id, audit_entry.c.outcome).where(
                audit_entry.c.action == "quality.run.failed"
            )
        ).all()
        runs = quality.list_runs(uow, quality.RunQuery(), SYSTEM).items
    assert [(r.object_id, r.outcome) for r in failed] == [(str(broken), "failure")]
    assert [r.resource_id for r in runs] == [good]
