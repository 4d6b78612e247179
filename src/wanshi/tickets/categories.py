"""Ticket categories: a key, a Chinese label and the default time limit of tickets of that kind.

Each context that raises tickets registers its categories (``register_category``) from its registrar
when the platform is built, as it registers its message templates. The registry is process-wide because
tickets are raised from every context. A ticket stores only the key: a category whose context is later
removed still shows, under its key.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from wanshi.kernel.errors import ValidationFailed
from wanshi.workdays.api import TimeLimitUnit

_KEY = re.compile(r"[a-z][a-z0-9_]{1,39}")
# A guard against a mistyped limit; no legal ticket time limit comes near a year of working days.
MAX_TIME_LIMIT = 250


@dataclass(frozen=True)
class TicketCategory:
    key: str
    label: str
    time_limit_amount: int
    time_limit_unit: TimeLimitUnit = TimeLimitUnit.WORKING_DAY

    def __post_init__(self) -> None:
        if not _KEY.fullmatch(self.key):
            raise ValueError(f"ticket category key {self.key!r} must be lower-case letters, digits and _")
        if not self.label.strip():
            raise ValueError(f"ticket category {self.key!r} needs a label")
        if not 1 <= self.time_limit_amount <= MAX_TIME_LIMIT:
            raise ValueError(f"ticket category {self.key!r}: time limit must be 1..{MAX_TIME_LIMIT}")


class CategoryRegistry:
    def __init__(self, categories: Iterable[TicketCategory] = ()) -> None:
        self._categories: dict[str, TicketCategory] = {}
        for category in categories:
            self.register(category)

    def register(self, category: TicketCategory) -> None:
        """Registering the same category again is a no-op: the platform may be built more than once."""
        existing = self._categories.get(category.key)
        if existing is not None and existing != category:
            raise ValueError(f"ticket category {category.key!r} is already registered differently")
        self._categories[category.key] = category

    def get(self, key: str) -> TicketCategory:
        found = self._categories.get(key)
        if found is None:
            raise ValidationFailed(
                f"不认识的工单类别“{key}”", code="ticket_category_unknown", field="category"
            )
        return found

    def label(self, key: str) -> str:
        found = self._categories.get(key)
        return found.label if found else key

    def all(self) -> list[TicketCategory]:
        return sorted(self._categories.values(), key=lambda c: c.key)


GENERAL = TicketCategory(key="general", label="一般工单", time_limit_amount=5)

registry = CategoryRegistry([GENERAL])
