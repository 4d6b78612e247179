"""Events the tickets context publishes; the raising context subscribes to follow its tickets.

Each carries the source reference, so a subscriber (the 差评 context, the quality context) can find its
own record without asking the tickets context.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from wanshi.kernel.events import Event


@dataclass(frozen=True)
class TicketEvent(Event):
    ticket_id: int
    number: str
    category: str
    organisation_id: int
    division_code: str
    source_type: str
    source_id: str


@dataclass(frozen=True)
class TicketOpened(TicketEvent):
    name: ClassVar[str] = "tickets.TicketOpened"
    deadline_date: str


@dataclass(frozen=True)
class TicketStarted(TicketEvent):
    name: ClassVar[str] = "tickets.TicketStarted"


@dataclass(frozen=True)
class TicketTransferred(TicketEvent):
    name: ClassVar[str] = "tickets.TicketTransferred"
    from_organisation_id: int


@dataclass(frozen=True)
class TicketResolved(TicketEvent):
    name: ClassVar[str] = "tickets.TicketResolved"


@dataclass(frozen=True)
class TicketClosed(TicketEvent):
    name: ClassVar[str] = "tickets.TicketClosed"


@dataclass(frozen=True)
class TicketReopened(TicketEvent):
    name: ClassVar[str] = "tickets.TicketReopened"


@dataclass(frozen=True)
class TicketDeadlineChanged(TicketEvent):
    name: ClassVar[str] = "tickets.TicketDeadlineChanged"
    previous_deadline_date: str
    deadline_date: str
