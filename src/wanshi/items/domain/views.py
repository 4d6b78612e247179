"""What readers of the catalogue get: published entries with the names they need, to render or export."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from wanshi.items.domain.documents import BasicDocument, BundleDocument, ImplementationDocument
from wanshi.items.domain.elements import Elements


@dataclass(frozen=True)
class BasicCard:
    code: str  # 基本编码
    version: int
    department_id: int
    department_name: str
    document: BasicDocument
    published_at: datetime | None

    @property
    def elements(self) -> Elements:
        return self.document.elements


@dataclass(frozen=True)
class ItemCard:
    """One implementation entry (实施清单事项) as published."""

    code: str  # 实施编码
    basic_code: str
    version: int
    organisation_id: int
    organisation_name: str
    division_code: str
    division_name: str
    document: ImplementationDocument
    published_at: datetime | None

    @property
    def elements(self) -> Elements:
        return self.document.elements

    @property
    def title(self) -> str:
        business = self.document.business_name
        return f"{self.elements.name}（{business}）" if business else self.elements.name


@dataclass(frozen=True)
class BundleCard:
    code: str
    version: int
    division_code: str
    division_name: str
    document: BundleDocument
    published_at: datetime | None
