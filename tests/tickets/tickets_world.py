"""The small province ticket tests run in (imported by conftest.py and the tests)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from wanshi.kernel.actor import Actor
from wanshi.org import api as org

PASSWORD = "Anhui#2026pass"
# A Monday, 10:00 in Hefei: 2026 is covered by the holiday package, so deadlines are confirmed.
MONDAY = datetime(2026, 3, 2, 2, 0, tzinfo=UTC)


@dataclass(frozen=True)
class World:
    province: org.Organisation
    city: org.Organisation
    yaohai: org.Organisation
    yaohai_urban: org.Organisation
    luyang: org.Organisation
    actors: dict[str, Actor]

    def __getitem__(self, username: str) -> Actor:
        return self.actors[username]
