"""Events the catalogue publishes: cases, forms and the guide follow published items by code."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from wanshi.kernel.events import Event


@dataclass(frozen=True)
class ItemEvent(Event):
    record_id: int
    kind: str  # basic | implementation | bundle
    code: str
    division_code: str
    version_number: int


@dataclass(frozen=True)
class ItemPublished(ItemEvent):
    name: ClassVar[str] = "items.ItemPublished"


@dataclass(frozen=True)
class ItemWithdrawn(ItemEvent):
    name: ClassVar[str] = "items.ItemWithdrawn"
