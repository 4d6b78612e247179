"""Events the catalogue publishes: the ingest, quality and sharing contexts follow resources by code."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from wanshi.kernel.events import Event


@dataclass(frozen=True)
class ResourceEvent(Event):
    resource_id: int
    code: str
    provider_organisation_id: int
    division_code: str
    version_number: int


@dataclass(frozen=True)
class ResourceRegistered(ResourceEvent):
    name: ClassVar[str] = "catalogue.ResourceRegistered"


@dataclass(frozen=True)
class ResourceUpdated(ResourceEvent):
    name: ClassVar[str] = "catalogue.ResourceUpdated"


@dataclass(frozen=True)
class ResourceMounted(ResourceEvent):
    name: ClassVar[str] = "catalogue.ResourceMounted"
    mount_kind: str


@dataclass(frozen=True)
class ResourceSubmitted(ResourceEvent):
    name: ClassVar[str] = "catalogue.ResourceSubmitted"


@dataclass(frozen=True)
class ResourcePublished(ResourceEvent):
    name: ClassVar[str] = "catalogue.ResourcePublished"


@dataclass(frozen=True)
class ResourceReturned(ResourceEvent):
    name: ClassVar[str] = "catalogue.ResourceReturned"


@dataclass(frozen=True)
class ResourceVersionStarted(ResourceEvent):
    name: ClassVar[str] = "catalogue.ResourceVersionStarted"


@dataclass(frozen=True)
class ResourceWithdrawn(ResourceEvent):
    name: ClassVar[str] = "catalogue.ResourceWithdrawn"
