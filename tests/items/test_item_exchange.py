"""Exporting the catalogue to Excel or JSON and importing it back (issue #5 item 4): what the actor may see,
a round trip that changes nothing, edits that become drafts, and a file with any problem changing nothing
while every problem is reported with its sheet, row and column."""

from __future__ import annotations

import io
import json
from typing import Any

import pytest
from items_world import CLINIC, CLINIC_ELEMENTS, FOOD, PERMIT_ELEMENTS, build_items_world, claim, publish
from items_world import publish_basic as publish_basic_entry
from openpyxl import load_workbook

from wanshi.bootstrap import Platform
from wanshi.items import api as items
from wanshi.items import sheets
from wanshi.items.domain.records import EventKind
from wanshi.items.services.exchange import ExchangeFormat, ImportReport, export_entries, import_entries
from wanshi.items.services.reading import RecordQuery, find_record, list_records
from wanshi.kernel.actor import SYSTEM, Actor, ActorKind
from wanshi.kernel.errors import PermissionDenied
from worlds import World

XLSX, JSON = ExchangeFormat.XLSX, ExchangeFormat.JSON


@pytest.fixture
def world(platform: Platform) -> World:
    w = build_items_world(platform)
    publish_basic_entry(platform, w, FOOD, PERMIT_ELEMENTS)
    for body, clerk, reviewer in (
        ("hf_market", "hf_clerk", "city_admin"),
        ("yaohai", "yh_clerk", "city_admin"),
    ):
        r = claim(platform, w, body, changes={"promised_limit": {"value": 8}})
        publish(platform, r.id, w[clerk], w[reviewer])
    return w


def _export(platform: Platform, actor: Actor, fmt: ExchangeFormat = JSON, **query: Any) -> bytes:
    with platform.uow() as uow:
        return export_entries(uow, RecordQuery(**query), fmt, actor)


def _import(
    platform: Platform, content: bytes, actor: Actor, fmt: ExchangeFormat = JSON, **kw: Any
) -> ImportReport:
    with platform.uow() as uow:
        return import_entries(uow, content, fmt, actor, **kw)


def _entries(content: bytes) -> list[dict[str, Any]]:
    entries: list[dict[str, Any]] = json.loads(content)["entries"]
    return entries


def _versions(platform: Platform) -> dict[str, tuple[int | None, int | None, int]]:
    with platform.uow() as uow:
        page = list_records(uow, RecordQuery(limit=500), SYSTEM)
    return {r.code: (r.published_version, r.working_version, r.lock) for r in page.records}


def _json(entries: list[dict[str, Any]]) -> bytes:
    return json.dumps({"format": "wanshi.items/1", "entries": entries}, ensure_ascii=False).encode()


def test_an_export_imported_again_changes_nothing(platform: Platform, world: World) -> None:
    before = _versions(platform)
    for fmt in (XLSX, JSON):
        content = _export(platform, world["prov_admin"], fmt)
        report = _import(platform, content, world["prov_admin"], fmt)
        assert report.ok, report.problems
        assert (report.created, report.updated, report.unchanged) == (0, 0, 3)
    assert _versions(platform) == before


def test_an_edited_entry_becomes_a_new_draft_beside_the_published_version(
    platform: Platform, world: World
) -> None:
    entries = _entries(_export(platform, world["hf_clerk"], kind=items.RecordKind.IMPLEMENTATION))
    mine = [e for e in entries if e["organisation"] == "合肥市市场监督管理局"]
    assert len(mine) == 1
    mine[0]["document"]["elements"]["consult"] = "0551-63357000"
    report = _import(platform, _json(mine), world["hf_clerk"])
    assert report.ok, report.problems
    assert (report.created, report.updated, report.unchanged) == (0, 1, 0)
    with platform.uow() as uow:
        detail = find_record(uow, mine[0]["code"], world["hf_clerk"])
    assert (detail.record.published_version, detail.record.working_version) == (1, 2)
    assert [(c.key, c.after) for c in detail.pending] == [("consult", "0551-63357000")]
    assert detail.history[-1].kind is EventKind.EDITED


def test_editors_export_their_working_version_and_others_the_published_one(
    platform: Platform, world: World
) -> None:
    entries = _entries(_export(platform, world["hf_clerk"]))
    hefei = next(e for e in entries if e["organisation"] == "合肥市市场监督管理局")
    hefei["document"]["elements"]["consult"] = "0551-63357000"
    assert _import(platform, _json([hefei]), world["hf_clerk"]).ok
    by_clerk = {e["code"]: e for e in _entries(_export(platform, world["hf_clerk"]))}
    by_other = {e["code"]: e for e in _entries(_export(platform, world["wh_clerk"]))}
    assert by_clerk[hefei["code"]]["document"]["elements"]["consult"] == "0551-63357000"
    assert by_other[hefei["code"]]["document"]["elements"]["consult"] == ""


def test_a_draft_is_exported_only_to_those_who_may_see_it(platform: Platform, world: World) -> None:
    draft = claim(platform, world, "luyang")
    assert draft.code in {e["code"] for e in _entries(_export(platform, world["ly_clerk"]))}
    assert draft.code in {e["code"] for e in _entries(_export(platform, world["city_admin"]))}
    assert draft.code not in {e["code"] for e in _entries(_export(platform, world["yh_clerk"]))}


def test_the_workbook_has_a_row_per_entry_with_its_organisation(platform: Platform, world: World) -> None:
    book = load_workbook(io.BytesIO(_export(platform, world["prov_admin"], XLSX)), read_only=True)
    rows = list(book[sheets.MAIN_TITLE].iter_rows(values_only=True))
    header = list(rows[0])
    organisations = sorted(str(r[header.index("实施主体")]) for r in rows[1:])
    assert organisations == ["合肥市市场监督管理局", "安徽省市场监督管理局", "瑶海区市场监督管理局"]


def test_a_file_with_any_problem_changes_nothing_and_names_every_problem(
    platform: Platform, world: World
) -> None:
    before = _versions(platform)
    entries = _entries(_export(platform, world["prov_admin"], kind=items.RecordKind.IMPLEMENTATION))
    hefei = next(e for e in entries if e["organisation"] == "合肥市市场监督管理局")
    yaohai = next(e for e in entries if e["organisation"] == "瑶海区市场监督管理局")
    hefei["document"]["elements"]["consult"] = "0551-63357000"  # fine on its own
    yaohai["document"]["elements"]["conditions"] = ["瑶海区自定的条件"]  # locked by the province
    unknown = json.loads(json.dumps(yaohai))
    unknown.update(organisation="瑶海区不存在局", code="")
    unknown["document"]["business_no"] = 1
    report = _import(platform, _json([hefei, yaohai, unknown]), world["prov_admin"])
    assert not report.ok
    assert [(p.row, p.column, p.code) for p in report.problems] == [
        (2, "受理条件", "item_locked_element"),
        (3, "实施主体", "item_import_organisation_unknown"),
    ]
    assert "省级基本目录" in report.problems[0].message
    assert _versions(platform) == before


def test_problems_in_a_workbook_are_named_by_sheet_row_and_column(platform: Platform, world: World) -> None:
    content = _export(platform, world["prov_admin"], XLSX, kind=items.RecordKind.IMPLEMENTATION)
    book = load_workbook(io.BytesIO(content))
    main = book[sheets.MAIN_TITLE]
    header = [c.value for c in main[1]]
    main.insert_rows(2)  # a blank row: the rows below keep their numbers in the report
    main.cell(row=4, column=header.index("受理条件") + 1, value="瑶海区自定的条件")
    main.cell(row=3, column=header.index("承诺办结时限") + 1, value="abc")
    out = io.BytesIO()
    book.save(out)
    before = _versions(platform)
    report = _import(platform, out.getvalue(), world["prov_admin"], XLSX)
    assert [(p.sheet, p.row, p.column, p.code) for p in report.problems] == [
        (sheets.MAIN_TITLE, 3, "承诺办结时限", "item_value_invalid"),
        (sheets.MAIN_TITLE, 4, "受理条件", "item_locked_element"),
    ]
    assert _versions(platform) == before


def test_a_clerk_cannot_import_for_another_organisation(platform: Platform, world: World) -> None:
    entries = _entries(_export(platform, world["prov_admin"], kind=items.RecordKind.IMPLEMENTATION))
    hefei = next(e for e in entries if e["organisation"] == "合肥市市场监督管理局")
    hefei["document"]["elements"]["consult"] = "0551-63357000"
    before = _versions(platform)
    report = _import(platform, _json([hefei]), world["yh_clerk"])
    assert [(p.row, p.code) for p in report.problems] == [(1, "item_import_forbidden")]
    assert _versions(platform) == before


def test_a_reviewer_imports_new_entries_and_publishes_them_in_one_go(
    platform: Platform, world: World
) -> None:
    basic = {
        "kind": "basic",
        "code": CLINIC,
        "basic_code": CLINIC,
        "organisation": "安徽省市场监督管理局",
        "division_code": "",
        "document": {"elements": items.Elements.model_validate(CLINIC_ELEMENTS).model_dump(mode="json")},
    }
    local = {
        "kind": "implementation",
        "code": "",
        "basic_code": CLINIC,
        "organisation": "芜湖市市场监督管理局",
        "division_code": "340200",
        "document": {
            "elements": basic["document"]["elements"],  # type: ignore[index]
            "body_code": "11340200MB000006X0",
        },
    }
    # The implementation first: the basic entry it is claimed from is saved before it all the same.
    refused = _import(platform, _json([local, basic]), world["market_clerk"], publish=True)
    assert [p.code for p in refused.problems] == ["item_import_forbidden", "item_import_forbidden"]
    report = _import(platform, _json([local, basic]), world["prov_admin"], publish=True)
    assert report.ok, report.problems
    assert report.created == 2
    with platform.reader() as uow:
        snapshot = platform.items.snapshot(uow, SYSTEM)
    assert CLINIC in snapshot.basics
    assert [c.organisation_name for c in snapshot.by_basic[CLINIC]] == ["芜湖市市场监督管理局"]


def test_only_staff_export_and_only_keepers_import(platform: Platform, world: World) -> None:
    citizen = Actor(kind=ActorKind.CITIZEN, user_id=99, username="zhang")
    with platform.uow() as uow, pytest.raises(PermissionDenied):
        export_entries(uow, RecordQuery(), JSON, citizen)
    with platform.uow() as uow, pytest.raises(PermissionDenied):
        import_entries(uow, _json([]), JSON, citizen)
