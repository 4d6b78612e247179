"""Cross-source consistency: each field's authoritative source wins, the others are flagged and ticketed."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date

import pyarrow as pa
import pytest
from test_catalogue_world import NOW, World, build_world, publish, register

from wanshi.bootstrap import Platform
from wanshi.datahub.catalogue import api as catalogue
from wanshi.datahub.quality import api as quality
from wanshi.kernel import clock
from wanshi.kernel.errors import NotFound, PermissionDenied, ValidationFailed
from wanshi.tickets import api as tickets

CONFIG = """
name: person_basic
key: id_number
sources:
  police: {dataset: police_people}
  civil: {dataset: civil_people, key: sfzh, columns: {name: xm}}
  health: {dataset: health_people}
fields:
  name: police
  birth_date: police
  address: civil
"""
ID1, ID2, ID3, ID4 = "340102199001011234", "34010219900101123X", "340103198502020021", "340103197003030011"


def police() -> pa.Table:
    return pa.table(
        {
            "id_number": [ID1, ID2, ID3, ID4],
            "name": ["张三", "李四", "王五", None],
            "birth_date": pa.array([date(1990, 1, 1), date(1990, 1, 1), date(1985, 2, 2), None]),
            "address": ["合肥市瑶海区", "合肥市瑶海区", "合肥市庐阳区", "合肥市庐阳区"],
        }
    )


def civil() -> pa.Table:
    return pa.table(
        {
            "sfzh": [ID1, ID2, ID3, "340103200001010000"],
            "xm": ["张三", " 李四 ", "王 五", "赵六"],
            "address": ["合肥市瑶海区", "合肥市瑶海区长江路", "合肥市庐阳区", "合肥市"],
        }
    )


def health() -> pa.Table:
    return pa.table(
        {
            "id_number": [ID1, ID2, ID4],
            "name": ["张三", "李肆", "钱七"],
            "birth_date": ["1990-01-01", "1990-01-02", "1970-03-03"],
        }
    )


def test_each_field_is_compared_with_its_authoritative_source_only() -> None:
    config = quality.load_config(CONFIG)
    report = quality.check_consistency(
        config, tables={"police": police(), "civil": civil(), "health": health()}
    )
    assert report.rows == {"police": 4, "civil": 4, "health": 3}
    found = {(c.source, c.field): (c.compared, c.disagreed) for c in report.comparisons}
    assert found == {
        # Trimmed text is compared: " 李四 " agrees; "王 五" does not; a key the authority lacks is skipped.
        ("civil", "name"): (3, 1),
        # ID4's authoritative name is missing: nothing says which value is right.
        ("health", "name"): (2, 1),
        # A DATE column and a text column compare as text.
        ("health", "birth_date"): (2, 1),
        # The police hold addresses too, but the civil registry is the authority for them.
        ("police", "address"): (3, 1),
    }
    flags = {(r["source"], r["field"], r["key"]): r for r in report.flagged.to_pylist()}
    assert set(flags) == {
        ("civil", "name", ID3),
        ("health", "name", ID2),
        ("health", "birth_date", ID2),
        ("police", "address", ID2),
    }
    assert flags[("civil", "name", ID3)] == {
        "key": ID3,
        "field": "name",
        "source": "civil",
        "source_value": "王 五",
        "authoritative_value": "王五",
        "authority": "police",
    }
    assert report.comparison("health", "name").sample_keys == (ID2,)
    assert report.flagged.schema.names == [
        "key", "field", "source", "source_value", "authoritative_value", "authority"
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("name: x\nkey: k\nsources: {a: {dataset: a}}\nfields: {f: a}", "sources_count"),
        ("name: x\nkey: k\nsources: {a: {dataset: a}, b: {dataset: b}}\nfields: {f: c}", "unknown_authority"),
        (
            "name: x\nkey: k\nsources: {a: {dataset: a, resource: '1'}, b: {dataset: b}}\nfields: {f: a}",
            "source_place",
        ),
        (
            "name: x\nkey: k\nsources: {a: {dataset: a}, b: {dataset: b}}\nfields: {f: a}\nextra: 1",
            "unknown_key",
        ),
        ("name: X\nkey: k\nsources: {a: {dataset: a}, b: {dataset: b}}\nfields: {f: a}", "bad_value"),
        ("key: k\nsources: {a: {dataset: a}, b: {dataset: b}}\nfields: {f: a}", "missing"),
        ("[", "syntax"),
        ("- 1", "not_mapping"),
    ],
)
def test_bad_configurations_are_refused_in_chinese_with_a_stable_reason(text: str, reason: str) -> None:
    with pytest.raises(quality.ConsistencyError) as refused:
        quality.load_config(text)
    assert refused.value.error_code == "quality_consistency_invalid"
    assert refused.value.details["reason"] == reason
    assert refused.value.message.startswith("比对配置")


def test_a_source_without_the_key_or_the_authoritative_field_is_refused() -> None:
    config = quality.load_config(CONFIG.replace("key: sfzh, ", ""))
    with pytest.raises(quality.ConsistencyError) as no_key:
        quality.check_consistency(config, tables={"police": police(), "civil": civil(), "health": health()})
    assert no_key.value.error_code == "quality_consistency_no_key"
    config = quality.load_config(CONFIG)
    with pytest.raises(quality.ConsistencyError) as no_field:
        quality.check_consistency(
            config, tables={"police": police().drop(["address"]), "civil": civil().drop(["address"]),
                            "health": health()},
        )  # fmt: skip
    assert no_field.value.error_code == "quality_consistency_no_field"
    with pytest.raises(quality.ConsistencyError) as no_data:
        quality.check_consistency(config, tables={"police": police()})
    assert no_data.value.error_code == "quality_consistency_no_data"


# --- through the services: runs and tickets for the non-authoritative provider ---------------------------
@pytest.fixture
def world(platform: Platform) -> Iterator[World]:
    previous = clock.set_clock(lambda: NOW)
    yield build_world(platform)
    clock.set_clock(previous)


def _resource(platform: Platform, world: World, clerk: str, provider: str, code: str, dataset: str) -> int:
    r = register(platform, world, clerk, provider, code)
    with platform.uow() as uow:
        catalogue.mount_resource(
            uow,
            catalogue.MountResource(resource_id=r.id, kind=catalogue.MountKind.DATASET, dataset=dataset),
            world[clerk],
        )
    publish(platform, world, clerk, r.id)
    return r.id


SERVICE_CONFIG = """
name: person_basic
key: id_number
sources:
  police: {resource: "331007001/000001"}
  civil: {resource: "331007001/000002", key: sfzh, columns: {name: xm}}
fields:
  name: police
  address: civil
"""


def _check(
    platform: Platform, world: World, actor: str, text: str = SERVICE_CONFIG
) -> quality.ConsistencyOutcome:
    with platform.uow() as uow:
        return quality.check_sources(
            uow,
            platform.datastore,
            quality.CheckConsistency(config_text=text),
            world[actor],
            tickets=quality.TicketOptions(platform.files),
        )


def test_disagreements_are_flagged_recorded_and_ticketed_to_the_other_provider(
    platform: Platform, world: World
) -> None:
    police_id = _resource(platform, world, "yh_clerk", "yaohai", "331007001/000001", "police_people")
    civil_id = _resource(platform, world, "ly_clerk", "luyang", "331007001/000002", "civil_people")
    platform.datastore.write_batch("police_people", "b1", police())
    platform.datastore.write_batch("civil_people", "b1", civil())

    # Comparing two departments' data is the bureau's: a department is refused, a county clerk cannot
    # even see the other county's resource.
    with pytest.raises(NotFound):
        _check(platform, world, "yh_clerk")
    with pytest.raises(ValidationFailed) as by_dataset:
        _check(platform, world, "prov_admin", CONFIG)
    assert by_dataset.value.error_code == "quality_consistency_resource_required"

    outcome = _check(platform, world, "city_admin")
    assert outcome.flags_dataset == "quality_consistency_person_basic"
    assert outcome.flagged == 2
    stored = platform.datastore.query(
        'SELECT key, field, source FROM "quality_consistency_person_basic" ORDER BY field'
    ).to_pylist()
    assert stored == [
        {"key": ID2, "field": "address", "source": "police"},
        {"key": ID3, "field": "name", "source": "civil"},
    ]
    # One run per source that was judged, recorded for its resource and provider.
    runs = {r.resource_id: r for r in outcome.runs}
    assert set(runs) == {police_id, civil_id}
    civil_run = runs[civil_id]
    assert civil_run.kind is quality.RunKind.CONSISTENCY
    assert civil_run.provider_organisation_id == world.org_id("luyang")
    with platform.uow() as uow:
        detail = quality.get_run(uow, civil_run.id, world["ly_clerk"])
    assert [(o.rule_id, o.checked, o.failed) for o in detail.outcomes] == [
        ("consistency.person_basic.name", 3, 1)
    ]
    assert detail.outcomes[0].sample_keys == ("340103********0021",)
    # The civil registry's name disagrees with the police's: its provider gets the ticket.
    with platform.uow() as uow:
        raised = tickets.tickets_for_source(
            uow, quality.TICKET_SOURCE_TYPE, f"{civil_id}:consistency.person_basic.name"
        )
        police_raised = tickets.tickets_for_source(
            uow, quality.TICKET_SOURCE_TYPE, f"{police_id}:consistency.person_basic.address"
        )
    assert [(t.organisation_id, t.state) for t in raised] == [
        (world.org_id("luyang"), tickets.TicketState.OPEN)
    ]
    assert [t.organisation_id for t in police_raised] == [world.org_id("yaohai")]
    assert ID3 not in raised[0].description

    # Again: no second ticket; the civil registry fixes the name and the next comparison closes it.
    _check(platform, world, "prov_admin")
    fixed = civil().set_column(1, "xm", pa.array(["张三", "李四", "王五", "赵六"]))
    platform.datastore.write_batch("civil_people", "b1", fixed)
    again = _check(platform, world, "prov_admin")
    assert again.flagged == 1
    with platform.uow() as uow:
        after = tickets.tickets_for_source(
            uow, quality.TICKET_SOURCE_TYPE, f"{civil_id}:consistency.person_basic.name"
        )
    assert [t.state for t in after] == [tickets.TicketState.CLOSED]
    assert platform.datastore.count("quality_consistency_person_basic") == 1


def test_only_a_bureau_over_every_source_may_compare(platform: Platform, world: World) -> None:
    _resource(platform, world, "yh_clerk", "yaohai", "331007001/000001", "police_people")
    _resource(platform, world, "yh_clerk", "yaohai", "331007001/000002", "civil_people")
    # Both sources are the department's own, but comparing sources is the bureau's work.
    with pytest.raises(PermissionDenied):
        _check(platform, world, "yh_clerk")
    r = register(platform, world, "police_clerk", "police", "331007001/000003")
    with platform.uow() as uow:
        catalogue.mount_resource(
            uow,
            catalogue.MountResource(
                resource_id=r.id, kind=catalogue.MountKind.DATASET, dataset="civil_people"
            ),
            world["police_clerk"],
        )
    publish(platform, world, "police_clerk", r.id)
    # The province's police department sits above Hefei: Hefei's bureau may not judge its data.
    with pytest.raises(NotFound):
        _check(platform, world, "city_admin", SERVICE_CONFIG.replace("331007001/000002", "331007001/000003"))
