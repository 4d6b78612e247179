"""A resource's 小数位数 reaches the load: the catalogue's decimal scale is the one ingest checks against."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from test_catalogue_world import World, build_world, metadata, publish, register

from wanshi.bootstrap import Platform
from wanshi.datahub.catalogue import api as catalogue
from wanshi.datahub.ingest import api as ingest

TWO_PLACES = "331007001/000001"
FOUR_PLACES = "331007001/000002"
ROWS = (
    {"uscc": "91340102MA2N000001", "name": "甲公司", "capital": "1,250.1234"},
    {"uscc": "91340102MA2N000002", "name": "乙公司", "capital": "80.5"},
)


def _items(scale: int | None) -> tuple[catalogue.ItemSpec, ...]:
    items: tuple[catalogue.ItemSpec, ...] = metadata()["items"]
    return tuple(i.model_copy(update={"scale": scale}) if i.name == "capital" else i for i in items)


def _publish_on(platform: Platform, world: World, code: str, dataset: str, scale: int | None) -> None:
    r = register(platform, world, "yh_clerk", "yaohai", code, items=_items(scale))
    with platform.uow() as uow:
        catalogue.mount_resource(
            uow,
            catalogue.MountResource(resource_id=r.id, kind=catalogue.MountKind.DATASET, dataset=dataset),
            world["yh_clerk"],
        )
    publish(platform, world, "yh_clerk", r.id)


@pytest.fixture
def world(platform: Platform) -> World:
    w = build_world(platform)
    _publish_on(platform, w, TWO_PLACES, "capital_cents", None)
    _publish_on(platform, w, FOUR_PLACES, "capital_registry", 4)
    return w


def _push(platform: Platform, world: World, dataset: str) -> ingest.Load:
    with platform.uow() as uow:
        return ingest.push_rows(
            uow, platform.datastore, ingest.PushRows(dataset, "batch-1", ROWS), world["yh_clerk"]
        )


def _stored(platform: Platform, dataset: str) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = platform.datastore.query(
        f"SELECT uscc, capital FROM {dataset} ORDER BY _row"
    ).to_pylist()
    return rows


def test_four_places_load_into_a_four_place_item(platform: Platform, world: World) -> None:
    load = _push(platform, world, "capital_registry")
    assert (load.counts.stored, load.counts.quarantined) == (2, 0)
    assert _stored(platform, "capital_registry") == [
        {"uscc": "91340102MA2N000001", "capital": Decimal("1250.1234")},
        {"uscc": "91340102MA2N000002", "capital": Decimal("80.5000")},
    ]


def test_four_places_are_quarantined_by_an_item_of_the_default_two(platform: Platform, world: World) -> None:
    load = _push(platform, world, "capital_cents")
    assert (load.counts.stored, load.counts.quarantined) == (1, 1)
    assert _stored(platform, "capital_cents") == [{"uscc": "91340102MA2N000002", "capital": Decimal("80.50")}]
    with platform.uow() as uow:
        page = ingest.quarantine_rows(uow, platform.datastore, load.id, world["yh_clerk"])
    assert [r["uscc"] for r in page.rows] == ["91340102MA2N000001"]
    assert page.rows[0]["_reasons"] == "注册资本（万元）（capital）不是小数或小数位超过2位"
