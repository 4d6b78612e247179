from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select, update

from wanshi.audit import api as audit
from wanshi.bootstrap import Platform
from wanshi.infra.context import RequestContext, reset_request, set_request
from wanshi.infra.jobs import JobRegistry, Worker
from wanshi.infra.tables import audit_entry
from wanshi.kernel import clock
from wanshi.kernel.actor import SYSTEM, Actor, ActorKind, Role, RoleGrant
from wanshi.kernel.errors import PermissionDenied


def _staff(name: str, role: Role, division: str) -> Actor:
    return Actor(
        kind=ActorKind.STAFF,
        user_id=hash(name) % 10_000,
        username=name,
        division_code=division,
        grants=(RoleGrant(role, 1, division),),
    )


PROVINCE_AUDITOR = _staff("auditor.ah", Role.AUDIT_ADMIN, "340000")
HEFEI_AUDITOR = _staff("auditor.hf", Role.AUDIT_ADMIN, "340100")
YAOHAI_AUDITOR = _staff("auditor.yh", Role.AUDIT_ADMIN, "340102")
PROVINCE_SYS_ADMIN = _staff("admin.ah", Role.SYS_ADMIN, "340000")


def _record(platform: Platform, action: str, tenant: str, **kw: object) -> None:
    with platform.uow() as uow:
        uow.audit(SYSTEM, action, tenant=tenant, **kw)  # type: ignore[arg-type]
        uow.commit()


@pytest.fixture
def entries(platform: Platform) -> None:
    _record(platform, "org.organisation.create", "340102", object_type="organisation", object_id=1)
    _record(platform, "org.organisation.create", "340103", object_type="organisation", object_id=2)
    _record(platform, "identity.user.create", "341000", object_type="user", object_id=3)
    _record(platform, "identity.login", "", outcome="failure", object_type="user")


def _search(platform: Platform, who: Actor, **filters: object) -> audit.AuditPage:
    with platform.uow() as uow:
        return audit.search_audit(uow, audit.AuditQuery(**filters), who)  # type: ignore[arg-type]


def _tenants(page: audit.AuditPage) -> list[str]:
    return [e.tenant for e in page.entries if not e.action.startswith("audit.")]


@pytest.mark.usefixtures("entries")
def test_each_auditor_sees_the_entries_of_their_own_division_subtree(platform: Platform) -> None:
    assert _tenants(_search(platform, PROVINCE_AUDITOR, action="o")) == ["340103", "340102"]
    assert _tenants(_search(platform, PROVINCE_AUDITOR, action="identity.")) == ["", "341000"]
    assert _tenants(_search(platform, HEFEI_AUDITOR)) == ["340103", "340102"]
    assert _tenants(_search(platform, YAOHAI_AUDITOR)) == ["340102"]
    # The tenant filter narrows within what the auditor may see; it never widens it.
    assert _tenants(_search(platform, YAOHAI_AUDITOR, tenant="340103")) == []
    assert _tenants(_search(platform, HEFEI_AUDITOR, tenant="340103")) == ["340103"]


@pytest.mark.usefixtures("entries")
def test_system_administrator_may_not_read_the_audit_log_and_the_refusal_is_recorded(
    platform: Platform,
) -> None:
    with pytest.raises(PermissionDenied):
        _search(platform, PROVINCE_SYS_ADMIN)
    with platform.uow() as uow, pytest.raises(PermissionDenied):
        audit.verify_audit(uow, PROVINCE_SYS_ADMIN)
    denied = _search(platform, PROVINCE_AUDITOR, outcome="denied").entries
    assert [(e.actor, e.action) for e in denied] == [
        ("admin.ah", "audit.verify"),
        ("admin.ah", "audit.search"),
    ]


@pytest.mark.usefixtures("entries")
def test_every_search_is_itself_recorded_with_its_filters(platform: Platform) -> None:
    _search(platform, YAOHAI_AUDITOR, action="org.", outcome="success")
    newest = _search(platform, PROVINCE_AUDITOR, action="audit.search").entries
    assert newest[0].actor == "auditor.yh"
    assert newest[0].tenant == "340102"
    assert newest[0].detail == {"filters": {"action": "org.", "outcome": "success"}, "returned": 1}
    # A search never finds itself: the entry is written after the read.
    assert all(e.actor != "auditor.ah" for e in newest)


def test_filters_combine_and_pages_run_newest_first(platform: Platform) -> None:
    token = set_request(RequestContext(request_id="req-abc12345", source_address="10.0.0.1"))
    try:
        _record(platform, "cases.case.accept", "340102", object_type="case", object_id="C-1")
    finally:
        reset_request(token)
    for i in range(5):
        _record(platform, "cases.case.note", "340102", object_type="case", object_id=f"N-{i}")
    by_request = _search(platform, PROVINCE_AUDITOR, request_id="req-abc12345").entries
    assert [(e.object_id, e.source_address) for e in by_request] == [("C-1", "10.0.0.1")]
    assert [e.object_id for e in _search(platform, PROVINCE_AUDITOR, object_id="N-3").entries] == ["N-3"]
    first = _search(platform, PROVINCE_AUDITOR, action="cases.case.note", limit=2)
    assert [e.object_id for e in first.entries] == ["N-4", "N-3"]
    assert first.has_more
    second = _search(
        platform, PROVINCE_AUDITOR, action="cases.case.note", limit=2, before_seq=first.entries[-1].seq
    )
    assert [e.object_id for e in second.entries] == ["N-2", "N-1"]
    last = _search(
        platform, PROVINCE_AUDITOR, action="cases.case.note", limit=2, before_seq=second.entries[-1].seq
    )
    assert [e.object_id for e in last.entries] == ["N-0"]
    assert not last.has_more
    assert _search(platform, PROVINCE_AUDITOR, actor="nobody").entries == ()
    assert len(_search(platform, PROVINCE_AUDITOR, object_type="case", outcome="success").entries) == 6


def test_time_range_is_inclusive_at_the_start_and_naive_times_are_china_time(platform: Platform) -> None:
    old = clock.now() - timedelta(days=10)
    previous = clock.set_clock(lambda: old)
    try:
        _record(platform, "t.old", "340102")
    finally:
        clock.set_clock(previous)
    _record(platform, "t.new", "340102")
    recent = _search(platform, PROVINCE_AUDITOR, action="t.", since=clock.now() - timedelta(days=1))
    assert [e.action for e in recent.entries] == ["t.new"]
    older = _search(platform, PROVINCE_AUDITOR, action="t.", until=clock.now() - timedelta(days=1))
    assert [e.action for e in older.entries] == ["t.old"]
    # 10 days ago at the same wall-clock time in China: a naive time is read as China time.
    naive_china = old.astimezone(clock.CHINA_TZ).replace(tzinfo=None)
    assert audit.AuditQuery(since=naive_china).since == old


@pytest.mark.usefixtures("entries")
def test_verify_names_broken_entries_and_is_recorded(platform: Platform) -> None:
    with platform.uow() as uow:
        report = audit.verify_audit(uow, YAOHAI_AUDITOR)
    assert report.intact
    assert report.checked == 4
    with platform.engine.begin() as conn:
        conn.execute(update(audit_entry).where(audit_entry.c.seq == 2).values(actor="mallory"))
    with platform.uow() as uow:
        broken = audit.verify_audit(uow, YAOHAI_AUDITOR)
    assert not broken.intact
    assert [p.seq for p in broken.problems] == [2]
    with platform.engine.connect() as conn:
        last = conn.execute(select(audit_entry).order_by(audit_entry.c.seq.desc()).limit(1)).one()
    assert (last.action, last.detail["intact"], last.detail["broken"]) == ("audit.verify", False, [2])


def _write_old_and_new(platform: Platform) -> None:
    then = clock.now() - timedelta(days=400)
    previous = clock.set_clock(lambda: then)
    try:
        for i in range(3):
            _record(platform, "t.old", "340102", object_id=i)
    finally:
        clock.set_clock(previous)
    _record(platform, "t.new", "340102")


def test_purge_removes_only_expired_entries_is_audited_and_keeps_the_chain_verifiable(
    platform: Platform,
) -> None:
    _write_old_and_new(platform)
    with platform.uow() as uow:
        assert audit.purge_expired_audit(uow, SYSTEM, 180) == 3
    with platform.uow() as uow:
        report = audit.verify_audit(uow, PROVINCE_AUDITOR)
    assert report.intact, report.problems
    actions = [e.action for e in _search(platform, PROVINCE_AUDITOR).entries]
    assert actions == ["audit.verify", "audit.purge", "t.new"]
    purge = _search(platform, PROVINCE_AUDITOR, action="audit.purge").entries[0]
    assert (purge.actor, purge.detail["purged"], purge.detail["retention_days"]) == ("system", 3, 180)


def test_only_the_retention_job_or_a_province_auditor_may_purge(platform: Platform) -> None:
    for actor in (HEFEI_AUDITOR, PROVINCE_SYS_ADMIN):
        with platform.uow() as uow, pytest.raises(PermissionDenied):
            audit.purge_expired_audit(uow, actor, 180)
    with platform.uow() as uow:
        assert audit.purge_expired_audit(uow, PROVINCE_AUDITOR, 180) == 0


def test_the_daily_purge_job_runs_on_its_schedule(platform: Platform) -> None:
    registry = JobRegistry()
    audit.register_jobs(registry, retention_days=180)
    assert registry.schedules[audit.PURGE_JOB].interval_seconds == 24 * 60 * 60
    _write_old_and_new(platform)
    worker = Worker(platform.session_factory, registry, platform.worker_config())
    worker.sync_schedules()
    assert worker.run_until_idle() == 1
    with platform.engine.connect() as conn:
        actions = conn.execute(select(audit_entry.c.action).order_by(audit_entry.c.seq)).scalars().all()
    assert actions == ["t.new", "audit.purge"]
