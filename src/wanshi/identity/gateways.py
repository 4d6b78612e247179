"""What identity needs from outside: real-name checks against the base registries (实名核验).

The platform wires the data centre's registry service in (bootstrap); identity does not import the data
centre, so that the data centre may one day use identity without a cycle.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from wanshi.infra.uow import UnitOfWork


@dataclass(frozen=True)
class RealNameAnswer:
    # match: the name belongs to the number and the subject is active; mismatch: the registry says otherwise
    # (wrong name, deceased, deregistered ...); unknown: the registry has no record or cannot answer now.
    verdict: str
    code: str  # the registry's stable result code
    message: str  # for people


class RealNameRegistry(Protocol):
    def verify_person(self, uow: UnitOfWork, id_number: str, name: str) -> RealNameAnswer: ...

    def verify_enterprise(
        self, uow: UnitOfWork, credit_code: str, name: str, legal_representative: str
    ) -> RealNameAnswer: ...
