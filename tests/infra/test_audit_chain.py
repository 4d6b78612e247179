from __future__ import annotations

from datetime import timedelta

from sqlalchemy import delete, select, update

from wanshi.bootstrap import Platform
from wanshi.infra import audit
from wanshi.infra.context import RequestContext, reset_request, set_request
from wanshi.infra.tables import audit_entry
from wanshi.kernel import clock
from wanshi.kernel.actor import SYSTEM


def _write(platform: Platform, n: int) -> None:
    for i in range(n):
        with platform.uow() as uow:
            uow.audit(SYSTEM, "test.action", object_type="thing", object_id=i, detail={"i": i, "名": "张三"})
            uow.commit()


def _verify(platform: Platform) -> audit.VerifyReport:
    with platform.engine.connect() as conn:
        return audit.verify(conn)


def test_chain_verifies_and_carries_request_facts(platform: Platform) -> None:
    token = set_request(RequestContext(request_id="req-1", source_address="10.1.2.3", channel="web"))
    try:
        _write(platform, 5)
    finally:
        reset_request(token)
    report = _verify(platform)
    assert report.ok, report.problems
    assert report.checked == 5
    with platform.engine.connect() as conn:
        row = conn.execute(select(audit_entry).where(audit_entry.c.seq == 3)).one()
    assert (row.request_id, row.source_address, row.actor, row.object_id) == (
        "req-1",
        "10.1.2.3",
        "system",
        "2",
    )


def test_rolled_back_work_leaves_no_audit_entry(platform: Platform) -> None:
    with platform.uow() as uow:
        uow.audit(SYSTEM, "never.committed")
    assert _verify(platform).checked == 0


def test_edited_entry_is_named(platform: Platform) -> None:
    _write(platform, 6)
    with platform.engine.begin() as conn:
        conn.execute(update(audit_entry).where(audit_entry.c.seq == 4).values(actor="mallory"))
    report = _verify(platform)
    assert not report.ok
    assert [p.seq for p in report.problems] == [4]
    assert "edited" in report.problems[0].problem


def test_deleted_entry_is_named(platform: Platform) -> None:
    _write(platform, 6)
    with platform.engine.begin() as conn:
        conn.execute(delete(audit_entry).where(audit_entry.c.seq == 2))
    report = _verify(platform)
    assert [p.seq for p in report.problems] == [2]
    assert "missing" in report.problems[0].problem


def test_deleting_the_newest_entry_is_detected(platform: Platform) -> None:
    _write(platform, 3)
    with platform.engine.begin() as conn:
        conn.execute(delete(audit_entry).where(audit_entry.c.seq == 3))
    report = _verify(platform)
    assert not report.ok
    assert report.problems[-1].seq == 3


def test_purge_keeps_the_rest_verifiable(platform: Platform) -> None:
    start = clock.now() - timedelta(days=400)
    previous = clock.set_clock(lambda: start)
    try:
        _write(platform, 4)
    finally:
        clock.set_clock(previous)
    _write(platform, 3)
    with platform.uow() as uow:
        purged = audit.purge_before(uow.session, clock.now() - timedelta(days=180))
        uow.commit()
    assert purged == 4
    report = _verify(platform)
    assert report.ok, report.problems
    assert report.checked == 3
