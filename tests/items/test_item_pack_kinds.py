"""The service_items and bundles pack kinds: entries go through the catalogue's services, a second load adds
no version, a changed entry becomes a new published version, and a broken entry names its place."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
import yaml
from items_world import BODY_CODES, CLINIC, CLINIC_ELEMENTS, FOOD, PERMIT_ELEMENTS

from wanshi.bootstrap import Platform
from wanshi.items.services.reading import RecordQuery, list_records
from wanshi.kernel.actor import ANONYMOUS, SYSTEM
from wanshi.kernel.errors import ValidationFailed
from wanshi.org import api as org
from wanshi.packs.kinds import KIND_LOADERS
from wanshi.packs.loader import KindResult, load_pack

ORGANISATIONS = {
    "organisations": [
        {"name": "安徽省数据资源管理局", "division_code": "340000"},
        {"name": "安徽省市场监督管理局", "division_code": "340000"},
        {"name": "合肥市市场监督管理局", "division_code": "340100"},
        {"name": "合肥市数据资源管理局", "division_code": "340100"},
    ]
}


def _pack(
    tmp_path: Path,
    basic: list[dict[str, Any]],
    implementations: list[dict[str, Any]],
    bundles: list[dict[str, Any]],
) -> Path:
    files = {
        "organisations.yaml": ORGANISATIONS,
        "service_items.yaml": {"basic": basic, "implementations": implementations},
        "bundles.yaml": {"bundles": bundles},
    }
    for name, data in files.items():
        (tmp_path / name).write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    manifest = {
        "name": "t",
        "files": [
            {"kind": "organisations", "file": "organisations.yaml"},
            {"kind": "service_items", "file": "service_items.yaml"},
            {"kind": "bundles", "file": "bundles.yaml"},
        ],
    }
    (tmp_path / "pack.yaml").write_text(yaml.safe_dump(manifest), encoding="utf-8")
    return tmp_path


def _basics() -> list[dict[str, Any]]:
    return [
        {"code": FOOD, "department": "安徽省市场监督管理局", "elements": copy.deepcopy(PERMIT_ELEMENTS)},
        {"code": CLINIC, "department": "安徽省市场监督管理局", "elements": copy.deepcopy(CLINIC_ELEMENTS)},
    ]


def _implementations(promised: int = 5) -> list[dict[str, Any]]:
    return [
        {
            "basic": code,
            "organisation": "合肥市市场监督管理局",
            "division_code": "340100",
            "body_code": BODY_CODES["hf_market"],
            "changes": {
                "promised_limit": {"value": promised},
                "places": [{"name": "合肥市政务服务中心", "address": "合肥市怀宁路1800号"}],
            },
        }
        for code in (FOOD, CLINIC)
    ]


BUNDLES = [
    {
        "code": "BIZ-001",
        "division_code": "340100",
        "document": {
            "name": "开餐馆一件事",
            "audience": "法人",
            "life_event": "开办企业",
            "parts": [{"basic_code": FOOD}, {"basic_code": CLINIC}],
        },
    }
]


def _load(platform: Platform, directory: Path) -> dict[str, KindResult]:
    return {r.kind: r for r in load_pack(platform, directory, SYSTEM, KIND_LOADERS)}


@pytest.fixture
def divisions(platform: Platform) -> None:
    with platform.uow() as uow:
        org.load_divisions(uow, org.LoadDivisions(table_text=org.bundled_division_table()), SYSTEM)


@pytest.mark.usefixtures("divisions")
def test_a_pack_publishes_its_items_and_bundles_and_a_second_load_changes_nothing(
    platform: Platform, tmp_path: Path
) -> None:
    pack = _pack(tmp_path, _basics(), _implementations(), BUNDLES)
    first = _load(platform, pack)
    assert (first["service_items"].created, first["bundles"].created) == (4, 1)
    with platform.reader() as uow:
        snapshot = platform.items.snapshot(uow, ANONYMOUS)
    assert sorted(snapshot.basics) == [FOOD, CLINIC]
    assert {c.elements.promised_limit.value for c in snapshot.items.values()} == {5}
    assert "BIZ-001" in snapshot.bundles
    again = _load(platform, pack)
    assert (again["service_items"].unchanged, again["bundles"].unchanged) == (4, 1)
    with platform.uow() as uow:
        page = list_records(uow, RecordQuery(), SYSTEM)
    assert {r.published_version for r in page.records} == {1}


@pytest.mark.usefixtures("divisions")
def test_a_changed_entry_becomes_a_new_published_version(platform: Platform, tmp_path: Path) -> None:
    _load(platform, _pack(tmp_path, _basics(), _implementations(), BUNDLES))
    result = _load(platform, _pack(tmp_path, _basics(), _implementations(promised=3), BUNDLES))
    assert (result["service_items"].updated, result["service_items"].unchanged) == (2, 2)
    with platform.reader() as uow:
        snapshot = platform.items.snapshot(uow, ANONYMOUS)
    assert {(c.version, c.elements.promised_limit.value) for c in snapshot.items.values()} == {(2, 3)}


@pytest.mark.usefixtures("divisions")
def test_an_entry_breaking_a_lock_is_refused_with_its_place_in_the_file(
    platform: Platform, tmp_path: Path
) -> None:
    implementations = _implementations()
    implementations[1]["changes"]["legal_limit"] = {"value": 99}
    with pytest.raises(ValidationFailed) as caught:
        _load(platform, _pack(tmp_path, _basics(), implementations, BUNDLES))
    assert caught.value.error_code == "pack_entry_invalid"
    assert caught.value.details["reason"] == "item_locked_element"
    assert "service_items.yaml 第 2 项" in caught.value.message
    assert "法定办结时限" in caught.value.message


@pytest.mark.usefixtures("divisions")
def test_a_bundle_naming_an_unknown_item_is_refused(platform: Platform, tmp_path: Path) -> None:
    bundles = copy.deepcopy(BUNDLES)
    bundles[0]["document"]["parts"].append({"basic_code": "340A0199000000"})
    with pytest.raises(ValidationFailed) as caught:
        _load(platform, _pack(tmp_path, _basics(), _implementations(), bundles))
    assert caught.value.details["reason"] == "item_basic_not_published"
