"""免填报: a signed-in person's form is prefilled from their account, their own population record and their
own e-licences; nobody else's, and a registry that cannot answer leaves the fields empty."""

from __future__ import annotations

import pyarrow as pa
import pytest

from people import Person, load_registries, register  # type: ignore[import-not-found]
from wanshi.bootstrap import Platform
from wanshi.datahub.registry import api as registry
from wanshi.forms.domain.schema import parse_form
from wanshi.forms.prefill import resolve_prefill
from wanshi.kernel.actor import SYSTEM, Actor
from wanshi.kernel.errors import PermissionDenied

FORM = parse_form(
    {
        "title": "户籍证明申请",
        "fields": [
            {
                "key": "name",
                "type": "text",
                "label": "姓名",
                "prefill": "account.name",
                "prefill_locked": True,
            },
            {"key": "id_number", "type": "id_number", "label": "身份证号码", "prefill": "account.id_number"},
            {"key": "address", "type": "text", "label": "住址", "prefill": "population.address"},
            {
                "key": "household",
                "type": "division",
                "label": "户籍地",
                "prefill": "population.household_division",
            },
            {"key": "licence_no", "type": "text", "label": "驾驶证号", "prefill": "licence.DL.number"},
            {
                "key": "licence_until",
                "type": "text",
                "label": "有效期至",
                "prefill": "licence.DL.valid_until",
            },
            {"key": "other", "type": "text", "label": "无来源"},
        ],
    }
)
ZHANG = Person(11, "张三")
LI = Person(12, "李四")


@pytest.fixture
def registries(platform: Platform) -> registry.Registry:
    load_registries(platform, [], [])
    platform.datastore.write_batch(
        "population",
        "people",
        pa.table(
            {
                "record_id": pa.array([ZHANG.number, LI.number], pa.int64()),
                "id_number": [ZHANG.id_number, LI.id_number],
                "name": [ZHANG.name, LI.name],
                "address": ["合肥市瑶海区长江东路 1 号", "芜湖市镜湖区中山路 2 号"],
                "household_division": ["340102", "340202"],
            }
        ),
    )
    platform.datastore.write_batch(
        registry.ELICENCE_DATASET,
        "licences",
        pa.table(
            {
                "holder_code": [ZHANG.id_number, LI.id_number],
                "licence_id": ["L1", "L2"],
                "licence_type": ["DL", "DL"],
                "licence_name": ["机动车驾驶证", "机动车驾驶证"],
                "number": ["340102001", "340102002"],
                "issuer": ["合肥市公安局交警支队", "合肥市公安局交警支队"],
                "issued_date": ["2020-01-01", "2020-01-01"],
                "valid_until": ["2030-01-01", "2030-01-01"],
                "status": ["有效", "有效"],
            }
        ),
    )
    rebuilt = registry.Registry.build(platform.settings, platform.datastore)
    with platform.uow() as uow:
        registry.reindex(uow, rebuilt, SYSTEM, tuple(registry.Kind))
    return rebuilt


def prefill(platform: Platform, actor: Actor, registries: registry.Registry) -> dict[str, str]:
    with platform.uow() as uow:
        values = resolve_prefill(uow, FORM, actor, people=platform.identity, registries=registries)
        uow.commit()
    return values


def test_a_person_gets_their_own_data_from_account_registry_and_licence(
    platform: Platform, registries: registry.Registry
) -> None:
    zhang = register(platform, ZHANG)
    values = prefill(platform, zhang, registries)
    assert values["name"] == "张三"
    assert values["id_number"] == ZHANG.id_number
    assert values["address"] == "合肥市瑶海区长江东路 1 号"
    assert values["household"] == "340102"
    assert values["licence_no"] == "340102001"
    assert values["licence_until"] == "2030-01-01"
    assert "other" not in values


def test_a_person_cannot_look_up_someone_elses_licences(
    platform: Platform, registries: registry.Registry
) -> None:
    zhang = register(platform, ZHANG)
    with platform.uow() as uow, pytest.raises(PermissionDenied):
        registry.find_licences(
            uow,
            registries,
            registry.LicenceQuery(holder_code=LI.id_number, purpose="表单预填（免填报）"),
            zhang,
            own_holder_code=ZHANG.id_number,
        )


def test_without_registries_the_account_still_prefills(platform: Platform) -> None:
    zhang = register(platform, ZHANG)
    empty = registry.Registry.build(platform.settings, platform.datastore)
    values = prefill(platform, zhang, empty)
    assert values == {"name": "张三", "id_number": ZHANG.id_number}


def test_anonymous_and_staff_get_nothing(platform: Platform, registries: registry.Registry) -> None:
    assert prefill(platform, SYSTEM, registries) == {}
