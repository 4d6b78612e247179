"""The security view (态势感知): what the audit log says about sign-ins, lockouts, privilege changes and
refusals, counted per period and scoped to the divisions of the viewer's grants; and the alerts drawn from it.

Reading these figures is reading the audit log, so every read is itself recorded, like a search.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field

from wanshi.audit import policies, repository
from wanshi.audit.domain import (
    ADMIN_ROLES,
    COUNTED_KINDS,
    SECURITY_KINDS,
    TREND_KINDS,
    AlertKind,
    AuditEntry,
    DayCount,
    KindCount,
    SecurityAlert,
    SecurityEvent,
    SecurityKind,
    SecuritySummary,
    SourceCount,
    busiest_window,
    outside_working_hours,
    security_kind,
)
from wanshi.infra.uow import UnitOfWork
from wanshi.kernel import clock
from wanshi.kernel.actor import Actor
from wanshi.notify.api import mask_personal_data

SUMMARY_ACTION = "audit.security.summary"
EVENTS_ACTION = "audit.security.events"
ALERTS_ACTION = "audit.security.alerts"

DEFAULT_FAILURE_BURST = 20
BURST_WINDOW = timedelta(minutes=15)
ALERT_LOOKBACK = timedelta(hours=24)
LOCKOUTS_TOLERATED = 2  # an account locked more often than this within the lookback is being targeted
TREND_DAYS = 30
TOP_SOURCES = 10

# Resident ID numbers (18 characters, or the old 15 digits) typed as a user name at sign-in.
_ID_NUMBER = re.compile(r"(?<![0-9])(?:[0-9]{17}[0-9Xx]|[0-9]{15})(?![0-9Xx])")


def mask_account(name: str) -> str:
    """A sign-in name may be a mobile or an ID number (personal data): show only enough to tell them apart."""
    name = _ID_NUMBER.sub(lambda m: f"{m.group()[:6]}********{m.group()[-4:]}", name)
    return mask_personal_data(name)


class SecurityPeriod(StrEnum):
    DAY = "24h"
    WEEK = "7d"
    MONTH = "30d"

    @property
    def length(self) -> timedelta:
        return {"24h": timedelta(hours=24), "7d": timedelta(days=7), "30d": timedelta(days=30)}[self.value]


class SecuritySummaryQuery(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    period: SecurityPeriod = Field(
        default=SecurityPeriod.DAY, description="window of the top failure sources: 24h, 7d or 30d"
    )


class SecurityEventQuery(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    period: SecurityPeriod = Field(default=SecurityPeriod.DAY, description="24h, 7d or 30d")
    kind: SecurityKind | None = Field(default=None, description="only events of this kind; all if empty")
    limit: int = Field(default=50, ge=1, le=200)


@dataclass(frozen=True)
class _Window:
    """Whose entries and which 24 hours the alert checks read."""

    scopes: tuple[str, ...] | None
    include_platform: bool
    since: datetime
    until: datetime


def summarise_security(uow: UnitOfWork, query: SecuritySummaryQuery, actor: Actor) -> SecuritySummary:
    uow.authorize(policies.can_summarise_security(actor), actor, SUMMARY_ACTION, object_type="audit_entry")
    now = clock.now()
    scopes = policies.security_scopes(actor)
    platform = policies.sees_platform_security_events(actor)
    counted = repository.count_security_events(
        uow.session,
        scopes=scopes,
        include_platform=platform,
        kinds=COUNTED_KINDS,
        since=now - timedelta(days=7),
        recent=now - timedelta(hours=24),
    )
    today = now.astimezone(clock.CHINA_TZ).date()
    first_day = today - timedelta(days=TREND_DAYS - 1)
    per_day = repository.daily_security_counts(
        uow.session,
        scopes=scopes,
        include_platform=platform,
        kinds=TREND_KINDS,
        since=datetime.combine(first_day, time(), tzinfo=clock.CHINA_TZ),
    )
    trend = []
    for offset in range(TREND_DAYS):
        day = first_day + timedelta(days=offset)
        found = per_day.get(day, {})
        trend.append(DayCount(day, tuple((kind, found.get(kind, 0)) for kind in TREND_KINDS)))
    sources = repository.top_failure_sources(
        uow.session,
        scopes=scopes,
        include_platform=platform,
        since=now - query.period.length,
        limit=TOP_SOURCES,
    )
    uow.audit(actor, SUMMARY_ACTION, object_type="audit_entry", detail={"period": query.period.value})
    uow.commit()
    return SecuritySummary(
        at=now,
        counts=tuple(KindCount(kind, *counted[kind]) for kind in COUNTED_KINDS),
        trend=tuple(trend),
        top_sources=tuple(SourceCount(address, n) for address, n in sources),
    )


def _event(entry: AuditEntry) -> SecurityEvent:
    method = entry.detail.get("method", "")
    return SecurityEvent(
        seq=entry.seq,
        at=entry.at,
        account=mask_account(entry.actor),
        actor_kind=entry.actor_kind,
        tenant=entry.tenant,
        action=entry.action,
        kind=security_kind(entry.action, entry.outcome),
        outcome=entry.outcome,
        source_address=entry.source_address,
        method=method if isinstance(method, str) else "",
    )


def list_security_events(
    uow: UnitOfWork, query: SecurityEventQuery, actor: Actor
) -> tuple[SecurityEvent, ...]:
    """The latest security events, newest first."""
    uow.authorize(policies.can_list_security_events(actor), actor, EVENTS_ACTION, object_type="audit_entry")
    entries = repository.latest_security_events(
        uow.session,
        scopes=policies.security_scopes(actor),
        include_platform=policies.sees_platform_security_events(actor),
        kinds=(query.kind,) if query.kind else tuple(SECURITY_KINDS),
        since=clock.now() - query.period.length,
        limit=query.limit,
    )
    uow.audit(
        actor,
        EVENTS_ACTION,
        object_type="audit_entry",
        detail={"filters": query.model_dump(mode="json", exclude_defaults=True), "returned": len(entries)},
    )
    uow.commit()
    return tuple(_event(e) for e in entries)


def security_alerts(
    uow: UnitOfWork, actor: Actor, now: datetime, *, failure_burst: int = DEFAULT_FAILURE_BURST
) -> tuple[SecurityAlert, ...]:
    """What in the 24 hours up to `now` needs an administrator's attention, most pressing kind first.

    (a) more than `failure_burst` failed sign-ins from one source address within 15 minutes (credential
    stuffing or password spraying); (b) an account locked more than twice (someone is targeting it);
    (c) an administrator role granted outside 08:00–20:00 China time (a grant nobody was there to see).
    """
    uow.authorize(policies.can_check_security_alerts(actor), actor, ALERTS_ACTION, object_type="audit_entry")
    window = _Window(
        policies.security_scopes(actor),
        policies.sees_platform_security_events(actor),
        now - ALERT_LOOKBACK,
        now,
    )
    alerts = _bursts(uow, window, failure_burst) + _lockouts(uow, window) + _night_grants(uow, window)
    uow.audit(
        actor,
        ALERTS_ACTION,
        object_type="audit_entry",
        detail={"alerts": len(alerts), "failure_burst": failure_burst},
    )
    uow.commit()
    return tuple(alerts)


def _bursts(uow: UnitOfWork, w: _Window, failure_burst: int) -> list[SecurityAlert]:
    found = repository.failure_times_of_busy_sources(
        uow.session,
        scopes=w.scopes,
        include_platform=w.include_platform,
        since=w.since,
        until=w.until,
        more_than=failure_burst,
    )
    alerts = []
    for address, hits in found.items():
        times = [clock.as_utc(at) for at, _ in hits]
        count, first = busiest_window(times, BURST_WINDOW)
        if count > failure_burst:
            last = first + count - 1
            alerts.append(
                SecurityAlert(
                    AlertKind.CREDENTIAL_STUFFING, address, count, times[first], times[last], hits[last][1]
                )
            )
    return sorted(alerts, key=lambda a: (-a.count, a.subject))


def _lockouts(uow: UnitOfWork, w: _Window) -> list[SecurityAlert]:
    found = repository.repeated_lockouts(
        uow.session,
        scopes=w.scopes,
        include_platform=w.include_platform,
        since=w.since,
        until=w.until,
        more_than=LOCKOUTS_TOLERATED,
    )
    names = {e.seq: e.actor for e in repository.entries_by_seq(uow.session, [row[4] for row in found])}
    return [
        SecurityAlert(
            AlertKind.REPEATED_LOCKOUT,
            user_id,
            count,
            clock.as_utc(first_at),
            clock.as_utc(last_at),
            seq,
            actor=mask_account(names.get(seq, "")),
        )
        for user_id, count, first_at, last_at, seq in found
    ]


def _night_grants(uow: UnitOfWork, w: _Window) -> list[SecurityAlert]:
    alerts = []
    grants = repository.role_grants(
        uow.session, scopes=w.scopes, include_platform=w.include_platform, since=w.since, until=w.until
    )
    for entry in grants:
        role = entry.detail.get("role", "")
        at = clock.as_utc(entry.at)
        if role in ADMIN_ROLES and outside_working_hours(at, clock.CHINA_TZ):
            alerts.append(
                SecurityAlert(
                    AlertKind.OFF_HOURS_ADMIN_GRANT,
                    entry.object_id,
                    1,
                    at,
                    at,
                    entry.seq,
                    actor=mask_account(entry.actor),
                    role=str(role),
                )
            )
    return alerts
