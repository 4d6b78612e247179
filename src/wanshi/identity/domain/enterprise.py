"""Legal persons (法人) and the agents (经办人) their legal representative authorises. Pure Python.

A legal person is known by its 统一社会信用代码 and acts through natural persons: its legal representative,
who holds every scope, and agents, each holding the scopes and the period a delegation names. Managing
agents stays with the legal representative: it is never delegable.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum

from wanshi.kernel.actor import Assurance
from wanshi.kernel.clock import CHINA_TZ


class DelegationScope(StrEnum):
    APPLY = "apply"  # 申办事项: submit applications in the enterprise's name
    PAY = "pay"  # 缴费: pay fees for it
    LICENCE = "licence"  # 证照使用: present its licences and certificates
    VIEW = "view"  # 查看办件: follow its applications


SCOPE_NAMES = {
    DelegationScope.APPLY: "申办事项",
    DelegationScope.PAY: "缴费",
    DelegationScope.LICENCE: "证照使用",
    DelegationScope.VIEW: "查看办件",
}

# Held by the legal representative alone; named so that relying systems can tell the two roles apart.
MANAGE_AGENTS = "manage_agents"
DELEGABLE = frozenset(s.value for s in DelegationScope)
LEGAL_REP_SCOPES = DELEGABLE | {MANAGE_AGENTS}


class ActingRole(StrEnum):
    LEGAL_REP = "legal_rep"
    AGENT = "agent"


ROLE_NAMES = {ActingRole.LEGAL_REP: "法定代表人", ActingRole.AGENT: "经办人"}


class DelegationStatus(StrEnum):
    PENDING = "pending"  # granted, its period not begun
    ACTIVE = "active"
    EXPIRED = "expired"
    REVOKED = "revoked"


STATUS_NAMES = {
    DelegationStatus.PENDING: "未生效",
    DelegationStatus.ACTIVE: "有效",
    DelegationStatus.EXPIRED: "已到期",
    DelegationStatus.REVOKED: "已撤销",
}


def parse_scopes(values: Iterable[str]) -> tuple[frozenset[str], list[str]]:
    """The delegable scopes asked for, and the values that are not delegable (unknown or reserved)."""
    asked = {v.strip() for v in values if v.strip()}
    return frozenset(asked & DELEGABLE), sorted(asked - DELEGABLE)


def scopes_text(scopes: Iterable[str]) -> str:
    """Chinese names in the vocabulary's order, for notices."""
    held = set(scopes)
    return "、".join(SCOPE_NAMES[s] for s in DelegationScope if s.value in held)


def period_bounds(valid_from: date, valid_until: date, now: datetime) -> tuple[datetime, datetime]:
    """Whole days in China time: from the start of the first day (or now, when that is today) to the end
    of the last day, so that a delegation "until 30 June" is good all of 30 June in Anhui."""
    start = datetime.combine(valid_from, time.min, CHINA_TZ).astimezone(UTC)
    end = datetime.combine(valid_until + timedelta(days=1), time.min, CHINA_TZ).astimezone(UTC)
    return max(start, now.astimezone(UTC)), end


def period_problem(valid_from: date, valid_until: date, today: date, max_days: int) -> str | None:
    if valid_from < today:
        return "授权开始日期不能早于今天"
    if valid_until < valid_from:
        return "授权截止日期不能早于开始日期"
    if (valid_until - valid_from).days > max_days:
        return f"授权期限最长 {max_days} 天，请缩短期限"
    return None


def may_claim(assurance: Assurance | None) -> bool:
    """A legal person account is opened by a real-name verified legal representative only."""
    return assurance is not None and assurance.rank >= Assurance.REAL_NAME.rank


@dataclass(frozen=True)
class LegalPerson:
    id: int
    credit_code: str
    name: str
    legal_rep_user_id: int
    assurance: Assurance | None
    created_at: datetime


@dataclass(frozen=True)
class Delegation:
    id: int
    legal_person_id: int
    agent_user_id: int
    agent_name: str
    agent_id_masked: str  # the agent's ID number, masked
    scopes: frozenset[str]
    valid_from: datetime
    valid_until: datetime  # exclusive
    granted_by_user_id: int
    created_at: datetime
    revoked_at: datetime | None

    def status(self, now: datetime) -> DelegationStatus:
        if self.revoked_at is not None:
            return DelegationStatus.REVOKED
        if now >= self.valid_until:
            return DelegationStatus.EXPIRED
        return DelegationStatus.PENDING if now < self.valid_from else DelegationStatus.ACTIVE

    @property
    def last_day(self) -> date:
        """The last day of the period, as the person who granted it chose it (China time)."""
        return (self.valid_until.astimezone(CHINA_TZ) - timedelta(microseconds=1)).date()


@dataclass(frozen=True)
class ActingFor:
    """A legal person a natural person may act for, and what they may do for it."""

    legal_person: LegalPerson
    role: ActingRole
    scopes: frozenset[str]
    delegation_id: int | None  # None for the legal representative
    valid_until: datetime | None  # exclusive; None for the legal representative
