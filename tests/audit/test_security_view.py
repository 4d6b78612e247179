"""The security view (安全态势): counts and scoping, the alerts, the page with its chart, the API, English."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from importlib import resources

import pytest
from fastapi import Request
from fastapi.testclient import TestClient

from wanshi.audit import api as audit
from wanshi.audit import web as audit_web
from wanshi.bootstrap import Platform
from wanshi.config import Settings
from wanshi.identity.api import ROLE_NAMES
from wanshi.infra.context import RequestContext, reset_request, set_request
from wanshi.kernel import clock
from wanshi.kernel.actor import SYSTEM, Actor, ActorKind, Role, RoleGrant
from wanshi.kernel.errors import PermissionDenied
from wanshi.web.app import create_app
from wanshi.web.auth import current_actor
from wanshi.web.i18n import catalogue

# 10:00 in Hefei on a Sunday; every entry below is placed relative to it.
NOW = datetime(2026, 11, 29, 2, 0, tzinfo=UTC)
BURST = 5


def _staff(name: str, role: Role, division: str) -> Actor:
    return Actor(
        kind=ActorKind.STAFF,
        user_id=abs(hash(name)) % 10_000,
        username=name,
        division_code=division,
        grants=(RoleGrant(role, 1, division),),
    )


PROVINCE_SECADMIN = _staff("secadmin.ah", Role.SECURITY_ADMIN, "340000")
YAOHAI_SECADMIN = _staff("secadmin.yh", Role.SECURITY_ADMIN, "340102")
LUYANG_SECADMIN = _staff("secadmin.ly", Role.SECURITY_ADMIN, "340103")
YAOHAI_AUDITOR = _staff("auditor.yh", Role.AUDIT_ADMIN, "340102")
YAOHAI_CLERK = _staff("clerk.yh", Role.CLERK, "340102")
GRANTER = _staff("admin.ah", Role.SYS_ADMIN, "340000")


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings.model_copy(update={"security_failure_burst": BURST})


@pytest.fixture(autouse=True)
def frozen_clock() -> Iterator[None]:
    previous = clock.set_clock(lambda: NOW)
    yield
    clock.set_clock(previous)


@contextmanager
def _at(moment: datetime, address: str = "") -> Iterator[None]:
    at = moment.astimezone(UTC)  # the clock gives UTC, and SQLite stores the time without its zone
    previous = clock.set_clock(lambda: at)
    token = set_request(RequestContext(request_id=f"r{moment.timestamp()}", source_address=address))
    try:
        yield
    finally:
        reset_request(token)
        clock.set_clock(previous)


def _write(
    platform: Platform,
    action: str,
    *,
    tenant: str,
    ago: timedelta = timedelta(minutes=5),
    address: str = "203.0.113.9",
    name: str = "someone",
    outcome: str = "success",
    object_id: str = "",
    detail: dict[str, object] | None = None,
) -> None:
    who = Actor(kind=ActorKind.ANONYMOUS, username=name)
    with _at(NOW - ago, address), platform.uow() as uow:
        uow.audit(
            who,
            action,
            tenant=tenant,
            outcome=outcome,
            object_type="user",
            object_id=object_id,
            detail=detail,
        )
        uow.commit()


def _failures(platform: Platform, tenant: str, count: int, *, address: str, **kw: object) -> None:
    for _ in range(count):
        _write(platform, "identity.login", tenant=tenant, outcome="failure", address=address, **kw)  # type: ignore[arg-type]


@pytest.fixture
def events(platform: Platform) -> None:
    """Two sibling counties of Hefei, and a sign-in failure of an unknown name (no tenant)."""
    _failures(platform, "340102", 3, address="10.0.0.1", name="13800138000", detail={"method": "pwd"})
    _write(platform, "identity.second_factor", tenant="340102", outcome="failure", address="10.0.0.1")
    _write(platform, "identity.login", tenant="340102", outcome="failure", ago=timedelta(days=3))
    _write(platform, "identity.login", tenant="340102", outcome="failure", ago=timedelta(days=40))
    _write(platform, "identity.account.locked", tenant="340102", object_id="7", detail={"failures": 5})
    _write(platform, "identity.login.new_device", tenant="340102", object_id="7")
    _write(platform, "identity.role.grant", tenant="340102", object_id="7", detail={"role": "clerk"})
    _write(platform, "tickets.ticket.assign", tenant="340102", outcome="denied")
    _write(platform, "identity.login", tenant="340102", detail={"method": "pwd totp"})
    _failures(platform, "340103", 2, address="10.0.0.2", name="340103199001011234")
    _write(platform, "identity.account.locked", tenant="340103", object_id="8")
    _write(platform, "identity.login", tenant="", outcome="failure", address="10.0.0.3", name="nobody")


def _summary(platform: Platform, who: Actor, period: str = "24h") -> audit.SecuritySummary:
    with platform.uow() as uow:
        return audit.summarise_security(uow, audit.SecuritySummaryQuery(period=period), who)


def _events(platform: Platform, who: Actor, **query: object) -> tuple[audit.SecurityEvent, ...]:
    with platform.uow() as uow:
        return audit.list_security_events(uow, audit.SecurityEventQuery(**query), who)


def _alerts(platform: Platform, who: Actor) -> tuple[audit.SecurityAlert, ...]:
    with platform.uow() as uow:
        return audit.security_alerts(uow, who, NOW, failure_burst=BURST)


def _counts(summary: audit.SecuritySummary) -> dict[str, tuple[int, int]]:
    return {c.kind.value: (c.last_day, c.last_week) for c in summary.counts}


# --- counts and scoping -----------------------------------------------------------------------------------
@pytest.mark.usefixtures("events")
def test_counts_per_kind_for_the_last_day_and_week_of_the_viewers_own_county(platform: Platform) -> None:
    assert _counts(_summary(platform, YAOHAI_SECADMIN)) == {
        "failed_login": (4, 5),  # three passwords and one second factor today, one three days ago
        "lockout": (1, 1),
        "new_device": (1, 1),
        "privilege": (1, 1),
        "refusal": (1, 1),
    }
    assert _counts(_summary(platform, LUYANG_SECADMIN))["failed_login"] == (2, 2)
    # The province sees both counties and the failures of names nobody has.
    assert _counts(_summary(platform, PROVINCE_SECADMIN))["failed_login"] == (7, 8)
    assert _counts(_summary(platform, YAOHAI_AUDITOR)) == _counts(_summary(platform, YAOHAI_SECADMIN))


@pytest.mark.usefixtures("events")
def test_a_county_administrator_never_sees_a_sibling_countys_events(platform: Platform) -> None:
    seen = _events(platform, YAOHAI_SECADMIN, period="30d")
    assert {e.tenant for e in seen} == {"340102"}
    assert "10.0.0.2" not in {e.source_address for e in seen}
    sources = _summary(platform, YAOHAI_SECADMIN).top_sources
    assert [(s.address, s.failures) for s in sources] == [("10.0.0.1", 4)]
    province = _summary(platform, PROVINCE_SECADMIN).top_sources
    assert [(s.address, s.failures) for s in province] == [("10.0.0.1", 4), ("10.0.0.2", 2), ("10.0.0.3", 1)]


@pytest.mark.usefixtures("events")
def test_events_are_newest_first_filtered_by_kind_and_period_with_personal_numbers_masked(
    platform: Platform,
) -> None:
    today = _events(platform, YAOHAI_SECADMIN, kind="failed_login")
    assert len(today) == 4
    assert [e.seq for e in today] == sorted((e.seq for e in today), reverse=True)
    assert {e.account for e in today} == {"138****8000", "someone"}
    assert all(e.kind is audit.SecurityKind.FAILED_LOGIN for e in today)
    assert len(_events(platform, YAOHAI_SECADMIN, kind="failed_login", period="7d")) == 5
    refused = _events(platform, YAOHAI_SECADMIN, kind="refusal")
    assert [(e.action, e.outcome) for e in refused] == [("tickets.ticket.assign", "denied")]
    luyang = _events(platform, LUYANG_SECADMIN, kind="failed_login")
    assert {e.account for e in luyang} == {"340103********1234"}
    kinds = {e.kind for e in _events(platform, YAOHAI_SECADMIN)}
    assert audit.SecurityKind.LOGIN in kinds
    assert audit.SecurityKind.PRIVILEGE in kinds


@pytest.mark.usefixtures("events")
def test_the_trend_has_thirty_china_days_ending_today(platform: Platform) -> None:
    trend = _summary(platform, YAOHAI_SECADMIN).trend
    assert len(trend) == 30
    assert trend[-1].day.isoformat() == "2026-11-29"
    assert trend[-1].of(audit.SecurityKind.FAILED_LOGIN) == 4
    assert trend[-1].of(audit.SecurityKind.LOCKOUT) == 1
    assert trend[-1].of(audit.SecurityKind.REFUSAL) == 1
    assert trend[-4].of(audit.SecurityKind.FAILED_LOGIN) == 1  # three days ago
    assert sum(d.total for d in trend) == 7  # forty days ago is outside


def test_an_entry_just_after_china_midnight_counts_for_the_china_day(platform: Platform) -> None:
    # 16:30 UTC on the 27th is 00:30 on the 28th in China.
    _write(
        platform,
        "identity.login",
        tenant="340102",
        outcome="failure",
        ago=NOW - NOW.replace(day=27, hour=16, minute=30),
    )
    trend = {d.day.isoformat(): d.total for d in _summary(platform, YAOHAI_SECADMIN).trend}
    assert trend["2026-11-28"] == 1
    assert trend["2026-11-27"] == 0


@pytest.mark.usefixtures("events")
def test_a_clerk_is_refused_and_the_refusal_is_recorded_and_counted(platform: Platform) -> None:
    with pytest.raises(PermissionDenied):
        _summary(platform, YAOHAI_CLERK)
    with pytest.raises(PermissionDenied):
        _events(platform, YAOHAI_CLERK)
    with pytest.raises(PermissionDenied):
        _alerts(platform, YAOHAI_CLERK)
    refused = _events(platform, YAOHAI_SECADMIN, kind="refusal")
    assert [e.action for e in refused] == [
        "audit.security.alerts",
        "audit.security.events",
        "audit.security.summary",
        "tickets.ticket.assign",
    ]
    assert {e.account for e in refused[:3]} == {"clerk.yh"}


def test_every_look_at_the_view_is_itself_audited(platform: Platform) -> None:
    _summary(platform, YAOHAI_SECADMIN, period="7d")
    _events(platform, YAOHAI_SECADMIN, kind="lockout")
    with platform.uow() as uow:
        page = audit.search_audit(uow, audit.AuditQuery(action="audit.security."), YAOHAI_AUDITOR)
    recorded = {e.action: e.detail for e in page.entries}
    assert recorded["audit.security.summary"] == {"period": "7d"}
    assert recorded["audit.security.events"] == {"filters": {"kind": "lockout"}, "returned": 0}


# --- alerts -------------------------------------------------------------------------------------------------
def test_a_burst_of_failures_from_one_address_within_fifteen_minutes_is_flagged(platform: Platform) -> None:
    for minute in range(BURST + 1):  # one over the threshold, within 15 minutes
        _write(
            platform,
            "identity.login",
            tenant="",
            outcome="failure",
            address="198.51.100.7",
            ago=timedelta(minutes=40 - minute * 2),
        )
    for minute in range(BURST):  # at the threshold: not flagged
        _write(
            platform,
            "identity.login",
            tenant="",
            outcome="failure",
            address="198.51.100.8",
            ago=timedelta(minutes=30 - minute),
        )
    for step in range(BURST * 3):  # many, but spread over hours
        _write(
            platform,
            "identity.login",
            tenant="",
            outcome="failure",
            address="198.51.100.9",
            ago=timedelta(minutes=20 * step + 1),
        )
    alerts = _alerts(platform, PROVINCE_SECADMIN)
    assert [(a.kind, a.subject, a.count) for a in alerts] == [
        (audit.AlertKind.CREDENTIAL_STUFFING, "198.51.100.7", BURST + 1)
    ]
    assert alerts[0].last_at - alerts[0].first_at == timedelta(minutes=2 * BURST)
    # The failures carry no tenant: a county administrator has no part in them.
    assert _alerts(platform, YAOHAI_SECADMIN) == ()


def test_an_account_locked_more_than_twice_in_a_day_is_flagged(platform: Platform) -> None:
    for hours in (1, 5, 9):
        _write(
            platform,
            "identity.account.locked",
            tenant="340102",
            object_id="7",
            name="13800138000",
            ago=timedelta(hours=hours),
        )
    for hours in (2, 30, 40):  # only one of these within 24 hours
        _write(
            platform, "identity.account.locked", tenant="340102", object_id="9", ago=timedelta(hours=hours)
        )
    for hours in (1, 2, 3):
        _write(
            platform, "identity.account.locked", tenant="340103", object_id="8", ago=timedelta(hours=hours)
        )
    alerts = _alerts(platform, YAOHAI_SECADMIN)
    assert [(a.kind, a.subject, a.count, a.actor) for a in alerts] == [
        (audit.AlertKind.REPEATED_LOCKOUT, "7", 3, "138****8000")
    ]
    assert {a.subject for a in _alerts(platform, PROVINCE_SECADMIN)} == {"7", "8"}


def test_an_administrator_role_granted_out_of_hours_is_flagged(platform: Platform) -> None:
    def grant(role: str, day: int, china_hour: int, user: str) -> None:
        moment = datetime(2026, 11, day, china_hour, 30, tzinfo=clock.CHINA_TZ)
        with _at(moment), platform.uow() as uow:
            uow.audit(
                GRANTER,
                "identity.role.grant",
                object_type="user",
                object_id=user,
                tenant="340102",
                detail={"role": role, "organisation_id": 1},
            )
            uow.commit()

    grant("security_admin", 28, 22, "11")  # late evening
    grant("org_admin", 29, 7, "12")  # before work
    grant("clerk", 28, 23, "13")  # not an administrator role
    grant("sys_admin", 28, 10, "14")  # during working hours
    grant("audit_admin", 28, 20, "15")  # 20:30 is after hours
    grant("sys_admin", 28, 3, "16")  # out of hours, but more than 24 hours before 10:00 on the 29th
    found = [(a.subject, a.role, a.actor) for a in _alerts(platform, YAOHAI_SECADMIN)]
    assert found == [
        ("11", "security_admin", "admin.ah"),
        ("12", "org_admin", "admin.ah"),
        ("15", "audit_admin", "admin.ah"),
    ]
    assert _alerts(platform, LUYANG_SECADMIN) == ()


def test_the_system_may_check_for_alerts_across_every_division(platform: Platform) -> None:
    for hours in (1, 2, 3):
        _write(
            platform, "identity.account.locked", tenant="340103", object_id="8", ago=timedelta(hours=hours)
        )
    with platform.uow() as uow:
        alerts = audit.security_alerts(uow, SYSTEM, NOW)
    assert [a.subject for a in alerts] == ["8"]


# --- the page and the API -----------------------------------------------------------------------------------
@pytest.fixture
def act_as(platform: Platform) -> Iterator[tuple[TestClient, Callable[[Actor], None]]]:
    """A client whose requests act as the chosen actor: this tests the view, not the sign-in forms."""
    app = create_app(platform)
    chosen: list[Actor] = [YAOHAI_SECADMIN]

    def acting(request: Request) -> Actor:
        request.state.actor = chosen[0]
        return chosen[0]

    app.dependency_overrides[current_actor] = acting
    with TestClient(app) as client:
        yield client, lambda who: chosen.__setitem__(0, who)


@pytest.mark.usefixtures("events")
def test_the_page_shows_alerts_counts_chart_with_its_table_and_events(
    platform: Platform, act_as: tuple[TestClient, Callable[[Actor], None]]
) -> None:
    client, become = act_as
    for hours in (1, 2):
        _write(
            platform, "identity.account.locked", tenant="340102", object_id="7", ago=timedelta(hours=hours)
        )
    page = client.get("/admin/security")
    assert page.status_code == 200
    html = page.text
    assert "账号反复被锁定" in html  # three lockouts of account 7 today
    assert re.search(r"<svg[^>]*role=\"img\"[^>]*aria-labelledby=\"trend-title trend-desc\"", html)
    assert html.count('class="bar-failed_login"') == 2  # today and three days ago
    table = html.split('id="trend-table"')[1].split("</table>")[0]
    assert table.count("<tr>") == 31  # the head and thirty days
    rows = re.sub(r">\s+<", "><", table)
    assert '<th scope="row">2026-11-29</th><td>4</td><td>3</td><td>1</td><td>8</td>' in rows
    events = html.split('id="security-events"')[1]
    assert "138****8000" in events
    assert "13800138000" not in html
    assert "登录（密码）" in events
    assert "10.0.0.2" not in html  # Luyang's
    assert 'href="/admin/audit?before_seq=' not in html  # a security administrator does not read the log
    assert 'href="/admin/security"' in html  # in the admin navigation
    become(YAOHAI_AUDITOR)
    assert 'href="/admin/audit?before_seq=' in client.get("/admin/security").text
    narrowed = client.get("/admin/security", params={"kind": "lockout", "period": "7d"}).text
    assert "登录（密码）" not in narrowed.split('id="security-events"')[1]
    bad = client.get("/admin/security", params={"kind": "nonsense"})
    assert bad.status_code == 422
    assert 'id="f-kind-error"' in bad.text


@pytest.mark.usefixtures("events")
def test_the_api_returns_the_same_figures_and_refuses_a_clerk(
    act_as: tuple[TestClient, Callable[[Actor], None]],
) -> None:
    client, become = act_as
    summary = client.get("/api/v1/security/summary", params={"period": "7d"}).json()
    counts = {c["kind"]: (c["last_24h"], c["last_7d"]) for c in summary["counts"]}
    assert counts["failed_login"] == (4, 5)
    assert len(summary["trend"]) == 30
    assert summary["top_sources"][0] == {"address": "10.0.0.1", "failures": 4}
    events = client.get("/api/v1/security/events", params={"kind": "failed_login", "limit": 2}).json()[
        "events"
    ]
    assert len(events) == 2
    assert events[0]["account"] in {"138****8000", "someone"}
    assert client.get("/api/v1/security/alerts").json() == {"alerts": []}
    assert client.get("/api/v1/security/events", params={"kind": "nonsense"}).status_code == 422
    become(YAOHAI_CLERK)
    assert client.get("/admin/security").status_code == 403
    for path in ("/api/v1/security/summary", "/api/v1/security/events", "/api/v1/security/alerts"):
        assert client.get(path).status_code == 403
    assert 'href="/admin/security"' not in client.get("/admin").text


@pytest.mark.usefixtures("events")
def test_the_page_renders_in_english(act_as: tuple[TestClient, Callable[[Actor], None]]) -> None:
    client, _ = act_as
    client.get("/lang/en?next=/admin/security")
    html = client.get("/admin/security").text
    assert "Security overview" in html
    assert "Failed sign-ins" in html
    assert "Sign in (Password)" in html
    assert "Sign in (Password, Authenticator code)" in html
    assert "安全态势" not in html
    assert "登录失败" not in html


def test_every_message_of_the_view_has_an_english_translation() -> None:
    template = (resources.files("wanshi.web") / "templates" / "admin" / "security.html").read_text("utf-8")
    msgids = set(re.findall(r"""_\(\s*"([^"]+)"\s*\)|_\(\s*'([^']+)'\s*\)""", template))
    texts = {a or b for a, b in msgids}
    for mapping in (
        audit_web.KIND_NAMES,
        audit_web.PERIOD_NAMES,
        audit_web.ACTION_NAMES,
        audit_web.METHOD_NAMES,
        audit_web.SECURITY_OUTCOME_NAMES,
        audit_web.SECURITY_FIELD_LABELS,
        audit_web.ALERT_TITLES,
        ROLE_NAMES,
    ):
        texts.update(mapping.values())
    texts.update({audit_web.OIDC_CLIENT_ACTION, audit_web.SECURITY_BLURB, "安全态势", "、"})
    assert sorted(texts - set(catalogue("en"))) == []
