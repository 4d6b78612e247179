"""What an auditor reads: entries, a page of them, the result of checking the hash chain. Pure Python."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta, tzinfo
from enum import StrEnum
from typing import Any

from wanshi.kernel.actor import Role

# Outcomes the platform writes today; the search accepts any string so a new outcome stays findable.
KNOWN_OUTCOMES = ("success", "failure", "denied", "locked")


@dataclass(frozen=True)
class AuditEntry:
    seq: int
    at: datetime
    actor: str
    actor_kind: str
    tenant: str
    action: str
    object_type: str
    object_id: str
    outcome: str
    request_id: str
    source_address: str
    detail: dict[str, Any]


@dataclass(frozen=True)
class AuditPage:
    entries: tuple[AuditEntry, ...]
    has_more: bool


@dataclass(frozen=True)
class ChainProblem:
    seq: int
    problem: str


@dataclass(frozen=True)
class ChainReport:
    checked: int
    problems: tuple[ChainProblem, ...]

    @property
    def intact(self) -> bool:
        return not self.problems


# --- the security view (态势感知): which entries are security events, and what the view returns -----------
class SecurityKind(StrEnum):
    FAILED_LOGIN = "failed_login"
    LOCKOUT = "lockout"
    NEW_DEVICE = "new_device"
    PRIVILEGE = "privilege"
    REFUSAL = "refusal"
    ACCOUNT = "account"
    APPLICATION = "application"
    LOGIN = "login"


@dataclass(frozen=True)
class EventRule:
    """Entries of one kind: any of the actions (or the prefix), with any of the outcomes (empty: any)."""

    actions: tuple[str, ...] = ()
    action_prefix: str = ""
    outcomes: tuple[str, ...] = ()


LOGIN_ACTIONS = ("identity.login", "identity.second_factor")
SECURITY_KINDS: dict[SecurityKind, EventRule] = {
    # A try against a locked account is still a try: an attacker does not stop when the lock begins.
    SecurityKind.FAILED_LOGIN: EventRule(LOGIN_ACTIONS, outcomes=("failure", "locked", "throttled")),
    SecurityKind.LOCKOUT: EventRule(("identity.account.locked",)),
    SecurityKind.NEW_DEVICE: EventRule(("identity.login.new_device",)),
    SecurityKind.PRIVILEGE: EventRule(
        (
            "identity.role.grant",
            "identity.role.revoke",
            "identity.delegation.grant",
            "identity.delegation.revoke",
        ),
        outcomes=("success",),
    ),
    SecurityKind.REFUSAL: EventRule(outcomes=("denied",)),
    SecurityKind.ACCOUNT: EventRule(
        (
            "identity.user.create",
            "identity.user.register",
            "identity.assurance.raise",
            "identity.password.reset",
            "identity.password.change",
            "identity.password.recover",
            "identity.totp.enrol",
            "identity.totp.remove",
            "identity.session.end",
        ),
        outcomes=("success",),
    ),
    SecurityKind.APPLICATION: EventRule(action_prefix="identity.oidc.client.", outcomes=("success",)),
    SecurityKind.LOGIN: EventRule(LOGIN_ACTIONS, outcomes=("success",)),
}
# What the summary counts and the trend chart draws: the first five are the signals of trouble.
COUNTED_KINDS = (
    SecurityKind.FAILED_LOGIN,
    SecurityKind.LOCKOUT,
    SecurityKind.NEW_DEVICE,
    SecurityKind.PRIVILEGE,
    SecurityKind.REFUSAL,
)
TREND_KINDS = (SecurityKind.FAILED_LOGIN, SecurityKind.LOCKOUT, SecurityKind.REFUSAL)


def security_kind(action: str, outcome: str) -> SecurityKind | None:
    """The first kind an entry belongs to (a refused role grant is a refusal, not a privilege change)."""
    for kind in (SecurityKind.REFUSAL, *(k for k in SECURITY_KINDS if k is not SecurityKind.REFUSAL)):
        rule = SECURITY_KINDS[kind]
        if rule.outcomes and outcome not in rule.outcomes:
            continue
        if action in rule.actions or (rule.action_prefix and action.startswith(rule.action_prefix)):
            return kind
        if not rule.actions and not rule.action_prefix:
            return kind
    return None


@dataclass(frozen=True)
class KindCount:
    kind: SecurityKind
    last_day: int
    last_week: int


@dataclass(frozen=True)
class DayCount:
    day: date
    counts: tuple[tuple[SecurityKind, int], ...]

    @property
    def total(self) -> int:
        return sum(n for _, n in self.counts)

    def of(self, kind: SecurityKind) -> int:
        return dict(self.counts).get(kind, 0)


@dataclass(frozen=True)
class SourceCount:
    address: str
    failures: int


@dataclass(frozen=True)
class SecuritySummary:
    at: datetime
    counts: tuple[KindCount, ...]
    trend: tuple[DayCount, ...]
    top_sources: tuple[SourceCount, ...]


@dataclass(frozen=True)
class SecurityEvent:
    seq: int
    at: datetime
    account: str  # masked when it looks like a mobile or resident ID number
    actor_kind: str
    tenant: str
    action: str
    kind: SecurityKind | None
    outcome: str
    source_address: str
    method: str


class AlertKind(StrEnum):
    CREDENTIAL_STUFFING = "credential_stuffing"
    REPEATED_LOCKOUT = "repeated_lockout"
    OFF_HOURS_ADMIN_GRANT = "off_hours_admin_grant"


@dataclass(frozen=True)
class SecurityAlert:
    kind: AlertKind
    subject: str  # the source address of a burst; the user id of a locked or promoted account
    count: int
    first_at: datetime
    last_at: datetime
    seq: int  # the entry that shows it best: the last of the burst, the latest lockout, the grant
    actor: str = ""  # masked: the name typed at the latest lockout, or who granted the role
    role: str = ""  # the administrator role granted out of hours


# Administrator roles: a grant of one of these out of hours is worth a second look.
ADMIN_ROLES = frozenset({Role.SYS_ADMIN, Role.SECURITY_ADMIN, Role.AUDIT_ADMIN, Role.ORG_ADMIN})
WORKING_HOURS = (8, 20)  # China time, from 08:00 up to 20:00


def outside_working_hours(at: datetime, china: tzinfo) -> bool:
    hour = at.astimezone(china).hour
    return not WORKING_HOURS[0] <= hour < WORKING_HOURS[1]


def busiest_window(times: list[datetime], width: timedelta) -> tuple[int, int]:
    """The most entries within any span shorter than the width: (count, index of the first). Sorted times."""
    best, best_start, start = 0, 0, 0
    for end, moment in enumerate(times):
        while moment - times[start] >= width:
            start += 1
        if end - start + 1 > best:
            best, best_start = end - start + 1, start
    return best, best_start
