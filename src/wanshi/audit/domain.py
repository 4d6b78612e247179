"""What an auditor reads: entries, a page of them, the result of checking the hash chain. Pure Python."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

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
