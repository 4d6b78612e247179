"""Base class for domain events. Events are past-tense facts written to the outbox with the change."""

from __future__ import annotations

import dataclasses
from typing import Any, ClassVar


@dataclasses.dataclass(frozen=True)
class Event:
    name: ClassVar[str] = ""

    def payload(self) -> dict[str, Any]:
        return dataclasses.asdict(self)
