"""Citizens for identity tests, registered through the real use case, and the base registries they are
checked against (imported by name: the test folders are not packages).

``load_registries`` writes a small population and legal-person dataset into the platform's analytical
store and builds the registry indexes, so that real-name checks answer as in production. ``register``
asks for an SMS code, delivers it with the worker, reads it from the notify sandbox as the person would
from their phone, and registers; it returns the signed-in actor of the session registration starts.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta

import pyarrow as pa

from signin import OPERATOR, SMS_CODE  # type: ignore[import-not-found]
from wanshi.bootstrap import Platform
from wanshi.datahub.registry import api as registry
from wanshi.identity.api import LoginContext, RegisterPerson
from wanshi.kernel.actor import SYSTEM, Actor
from wanshi.kernel.identifiers import generate_credit_code, generate_resident_id
from wanshi.notify import api as notify

PASSWORD = "Anhui#2026pass"


@dataclass(frozen=True)
class Person:
    number: int  # distinguishes people: their ID number, phone and source address derive from it
    name: str

    @property
    def id_number(self) -> str:
        return generate_resident_id(
            "340102", date(1980, 1, 1) + timedelta(days=self.number * 97), self.number
        )

    @property
    def phone(self) -> str:
        return f"1390000{self.number:04d}"

    @property
    def masked_id(self) -> str:
        """As the platform shows an ID number: the first six and last four digits."""
        return f"{self.id_number[:6]}********{self.id_number[-4:]}"

    def context(self) -> LoginContext:
        return LoginContext(source_address=f"10.9.0.{self.number}", user_agent="pytest", device_token=None)


@dataclass(frozen=True)
class Enterprise:
    number: int
    name: str
    legal_rep: str  # the legal representative's name as the legal-person registry holds it
    status: str = "存续"

    @property
    def credit_code(self) -> str:
        return generate_credit_code("9", "1", "340102", f"MA{self.number:06d}")


def load_registries(
    platform: Platform,
    people: Sequence[Person],
    enterprises: Sequence[Enterprise] = (),
    kinds: tuple[registry.Kind, ...] = tuple(registry.Kind),
) -> registry.Registry:
    """The population and legal-person datasets with exactly these subjects; the registries of ``kinds``
    indexed (an index not built is a registry that cannot answer)."""
    platform.datastore.write_batch(
        "population",
        "people",
        pa.table(
            {
                "record_id": pa.array([p.number for p in people], pa.int64()),
                "id_number": [p.id_number for p in people],
                "name": [p.name for p in people],
            }
        ),
    )
    platform.datastore.write_batch(
        "legal_person",
        "entities",
        pa.table(
            {
                "record_id": pa.array([e.number for e in enterprises], pa.int64()),
                "credit_code": pa.array([e.credit_code for e in enterprises], pa.string()),
                "name": pa.array([e.name for e in enterprises], pa.string()),
                "legal_rep_name": pa.array([e.legal_rep for e in enterprises], pa.string()),
                "status": pa.array([e.status for e in enterprises], pa.string()),
            }
        ),
    )
    built = registry.Registry.build(platform.settings, platform.datastore)
    with platform.uow() as uow:
        registry.reindex(uow, built, SYSTEM, kinds)
    return built


def sms_code(platform: Platform, phone: str) -> str:
    """The newest code sent to this number, once the worker has delivered it."""
    platform.worker().run_once()
    masked = notify.mask_phone(phone)
    with platform.uow() as uow:
        sent = notify.list_sandbox_messages(uow, OPERATOR, channel=notify.Channel.SMS, limit=200)
    for message in sorted(sent, key=lambda m: m.id, reverse=True):
        found = SMS_CODE.search(message.body)
        if message.address == masked and found:
            return found.group(1)
    raise AssertionError(f"no code was sent to {masked}")


def register(platform: Platform, person: Person, password: str = PASSWORD) -> Actor:
    """Registers the person as they would on the registration page; the actor of their new session."""
    with platform.uow() as uow:
        sent = platform.identity.accounts.send_registration_code(uow, person.phone, person.context())
    cmd = RegisterPerson(
        name=person.name,
        id_number=person.id_number,
        phone=person.phone,
        password=password,
        challenge=sent.challenge,
        code=sms_code(platform, person.phone),
    )
    with platform.uow() as uow:
        done = platform.identity.accounts.register_person(uow, cmd, person.context())
    return done.actor
