"""Events the org context publishes."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from wanshi.kernel.events import Event


@dataclass(frozen=True)
class DivisionTableLoaded(Event):
    name: ClassVar[str] = "org.DivisionTableLoaded"
    revision: str
    added: int
    changed: int
    retired: int


@dataclass(frozen=True)
class OrganisationCreated(Event):
    name: ClassVar[str] = "org.OrganisationCreated"
    organisation_id: int
    division_code: str
    organisation_name: str
