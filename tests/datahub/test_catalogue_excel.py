"""The catalogue through Excel: the data bureaus' layout, a lossless round trip, idempotent imports and
every problem of a file reported with its row number."""

from __future__ import annotations

import io
from collections.abc import Iterator
from typing import Any

import pytest
from openpyxl import Workbook, load_workbook
from sqlalchemy import delete, func, select
from test_catalogue_world import NOW, World, build_world, publish, register

from wanshi.bootstrap import Platform
from wanshi.datahub.catalogue import api as catalogue
from wanshi.datahub.catalogue.excel import COLUMNS
from wanshi.datahub.catalogue.tables import event, resource, version
from wanshi.kernel import clock

HEADER = [h for h, _key in COLUMNS]


@pytest.fixture
def world(platform: Platform) -> Iterator[World]:
    previous = clock.set_clock(lambda: NOW)
    yield build_world(platform)
    clock.set_clock(previous)


def _export(platform: Platform, world: World, actor: str = "prov_admin") -> bytes:
    with platform.uow() as uow:
        return catalogue.export_catalogue(uow, catalogue.ResourceQuery(), world[actor])


def _import(
    platform: Platform, world: World, content: bytes, actor: str = "prov_admin"
) -> catalogue.ImportReport:
    with platform.uow() as uow:
        return catalogue.import_catalogue(uow, content, world[actor])


def _cells(content: bytes) -> list[tuple[Any, ...]]:
    sheet = load_workbook(io.BytesIO(content)).worksheets[0]
    return [tuple(row) for row in sheet.iter_rows(values_only=True)]


def _count(platform: Platform, table: Any) -> int:
    with platform.uow() as uow:
        return int(uow.session.execute(select(func.count()).select_from(table)).scalar_one())


def _build_catalogue(platform: Platform, world: World) -> None:
    first = register(platform, world, "yh_clerk", "yaohai", "331007001/000001")
    publish(platform, world, "yh_clerk", first.id)
    with platform.uow() as uow:
        catalogue.start_version(uow, catalogue.StartVersion(resource_id=first.id), world["yh_clerk"])
    register(
        platform,
        world,
        "police_clerk",
        "police",
        "101001001/000001",
        name="人口基础信息",
        summary="全省户籍人口，含“引号”、逗号,分号;和\n换行",
        items=(
            catalogue.ItemSpec(
                name="id_number", label="公民身份号码", length=18, required=True, grade="core"
            ),
            catalogue.ItemSpec(name="alive", label="是否在世", data_type="boolean"),
            catalogue.ItemSpec(name="updated_at", label="更新时间", data_type="datetime"),
            catalogue.ItemSpec(name="household", label="户数", data_type="integer", grade="sensitive"),
            catalogue.ItemSpec(name="allowance", label="补贴金额（万元）", data_type="decimal", scale=4),
        ),
        share_type=catalogue.ShareType.NONE,
        share_conditions="",
        share_basis="《中华人民共和国个人信息保护法》",
        share_method="",
        open_type=catalogue.OpenType.NONE,
        open_conditions="",
        update_cycle=catalogue.UpdateCycle.REALTIME,
        related_codes=("331007001/000001", "205003/000120"),
    )
    register(platform, world, "ly_clerk", "luyang", "205003/000120", name="营商环境主题库", related_codes=())


def test_export_has_one_row_per_item_with_chinese_headers(platform: Platform, world: World) -> None:
    _build_catalogue(platform, world)
    rows = _cells(_export(platform, world))
    assert list(rows[0]) == HEADER
    for needed in (
        "资源代码",
        "资源名称",
        "提供方",
        "信息项名称",
        "数据类型",
        "共享类型",
        "共享条件",
        "发布日期",
    ):
        assert needed in HEADER
    assert len(rows) == 1 + 4 + 5 + 4
    population = [r for r in rows[1:] if r[0] == "101001001/000001"]
    assert [r[HEADER.index("信息项名称")] for r in population] == [
        "公民身份号码",
        "是否在世",
        "更新时间",
        "户数",
        "补贴金额（万元）",
    ]
    # 小数位数 is written for 数值型 items only: the two places of an item that gave none, or its own.
    scales = {r[HEADER.index("信息项标识")]: r[HEADER.index("小数位数")] for r in rows[1:]}
    assert (scales["allowance"], scales["capital"], scales["uscc"], scales["household"]) == (4, 2, None, None)
    assert {r[HEADER.index("共享类型")] for r in population} == {"不予共享"}
    assert population[0][HEADER.index("资源分类")] == "基础信息资源 1-01-001-001"
    assert population[0][HEADER.index("提供方")] == "安徽省公安厅"
    # A county clerk's export holds what they see: published resources and their own drafts.
    codes = {r[0] for r in _cells(_export(platform, world, "yh_clerk"))[1:]}
    assert codes == {"331007001/000001"}


def test_the_catalogue_round_trips_through_excel_without_loss(platform: Platform, world: World) -> None:
    _build_catalogue(platform, world)
    first = _export(platform, world)
    with platform.uow() as uow:
        for table in (event, version, resource):
            uow.session.execute(delete(table))
        uow.session.commit()
    report = _import(platform, world, first)
    assert report.ok, report.problems
    assert (report.created, report.updated, report.unchanged) == (3, 0, 0)
    second = _export(platform, world)
    assert _cells(second) == _cells(first)
    # Importing the same file again changes nothing: no version, no history row.
    versions, history = _count(platform, version), _count(platform, event)
    again = _import(platform, world, second)
    assert (again.created, again.updated, again.unchanged) == (0, 0, 3)
    assert (_count(platform, version), _count(platform, event)) == (versions, history)


def test_an_import_updates_drafts_and_versions_published_resources(platform: Platform, world: World) -> None:
    _build_catalogue(platform, world)
    with platform.uow() as uow:
        published = catalogue.find_resource(uow, "331007001/000001", world["yh_clerk"]).resource
    publish(platform, world, "yh_clerk", published.id)
    book = load_workbook(io.BytesIO(_export(platform, world)))
    sheet = book.worksheets[0]
    name_col = HEADER.index("资源名称") + 1
    for row in range(2, sheet.max_row + 1):
        if sheet.cell(row, 1).value in ("331007001/000001", "205003/000120"):
            sheet.cell(row, name_col).value = f"{sheet.cell(row, name_col).value}（修订）"
    out = io.BytesIO()
    book.save(out)
    report = _import(platform, world, out.getvalue())
    assert (report.created, report.updated, report.unchanged) == (0, 2, 1)
    with platform.uow() as uow:
        market = catalogue.find_resource(uow, "331007001/000001", world["yh_clerk"])
        draft = catalogue.find_resource(uow, "205003/000120", world["ly_clerk"])
    assert market.view.metadata.name == "市场主体登记信息"  # readers keep the published version
    assert market.working is not None
    assert market.working.metadata.name == "市场主体登记信息（修订）"
    assert market.working.number == 3
    assert draft.view.metadata.name == "营商环境主题库（修订）"


def _sheet(rows: list[list[Any]], header: list[str] | None = None) -> bytes:
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(header or HEADER)
    for row in rows:
        sheet.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _row(**values: Any) -> list[Any]:
    base = {
        "资源代码": "331007001/000009",
        "资源名称": "个体工商户登记信息",
        "提供方": "瑶海区市场监督管理局",
        "提供方代码": "11340102MB0000001D",
        "资源摘要": "个体工商户登记信息",
        "资源格式": "数据库",
        "信息项标识": "uscc",
        "信息项名称": "统一社会信用代码",
        "数据类型": "字符型",
        "数据长度": 18,
        "是否必填": "是",
        "分级": "内部",
        "共享类型": "无条件共享",
        "开放类型": "不予开放",
        "更新周期": "每日",
    }
    merged = {**base, **values}
    return [merged.get(h, "") for h in HEADER]


def test_an_import_reports_every_problem_with_row_numbers_and_changes_nothing(
    platform: Platform, world: World
) -> None:
    rows = [
        _row(),  # 2: fine
        _row(资源名称="另一个名称", 信息项标识="name", 信息项名称="名称"),  # 3: inconsistent with row 2
        _row(资源代码="33100700/000001"),  # 4: bad code
        _row(资源代码="331007001/000010", 共享类型="有条件共享"),  # 5: conditions missing
        _row(资源代码="331007001/000011", 共享类型="不予共享"),  # 6: basis missing
        _row(资源代码="331007001/000012", 数据类型="文本", 数据长度="十八"),  # 7: two problems
        _row(资源代码="331007001/000013", 提供方="不存在的局", 提供方代码=""),  # 8: unknown provider
        _row(资源代码="331007001/000014", 信息项标识="Bad Name"),  # 9: item identifier
        [],
        _row(资源代码="331007001/000015", 发布日期="去年"),  # 11: date
    ]
    report = _import(platform, world, _sheet(rows))
    found = {(p.row, p.code) for p in report.problems}
    assert found == {
        (3, "catalogue_import_inconsistent"),
        (4, "catalogue_code_invalid"),
        (5, "catalogue_share_conditions_required"),
        (6, "catalogue_share_basis_required"),
        (7, "catalogue_import_value_invalid"),
        (7, "catalogue_import_length_invalid"),
        (8, "catalogue_import_provider_unknown"),
        (9, "catalogue_item_name_invalid"),
        (11, "catalogue_import_date_invalid"),
    }
    assert all(p.message.startswith(f"第 {p.row} 行") for p in report.problems)
    assert _count(platform, resource) == 0
    # Outside one's own organisation, a county clerk may not register.
    refused = _import(platform, world, _sheet([_row()]), actor="ly_clerk")
    assert [p.code for p in refused.problems] == ["catalogue_import_provider_forbidden"]
    fine = _import(platform, world, _sheet([_row()]), actor="yh_clerk")
    assert fine.created == 1


def test_a_file_that_is_not_the_layout_is_refused(platform: Platform, world: World) -> None:
    missing = _import(platform, world, _sheet([], header=["资源代码", "资源名称"]))
    assert [(p.row, p.code) for p in missing.problems] == [(1, "catalogue_import_columns_missing")]
    garbage = _import(platform, world, b"not a workbook")
    assert [p.code for p in garbage.problems] == ["catalogue_import_not_xlsx"]


def test_a_file_of_the_older_layout_without_scales_still_imports(platform: Platform, world: World) -> None:
    old = [h for h in HEADER if h != "小数位数"]
    row = _row(信息项标识="capital", 信息项名称="注册资本（万元）", 数据类型="数值型", 数据长度="")
    report = _import(platform, world, _sheet([[row[HEADER.index(h)] for h in old]], header=old), "yh_clerk")
    assert report.ok, report.problems
    assert report.created == 1
    with platform.uow() as uow:
        found = catalogue.find_resource(uow, "331007001/000009", world["yh_clerk"])
    assert [(i.name, i.scale) for i in found.view.metadata.items] == [("capital", 2)]
    # The new layout with the column filled in changes the item, and says so.
    again = _import(
        platform,
        world,
        _sheet(
            [
                _row(
                    信息项标识="capital",
                    信息项名称="注册资本（万元）",
                    数据类型="数值型",
                    数据长度="",
                    小数位数=4,
                )
            ]
        ),
        "yh_clerk",
    )
    assert (again.created, again.updated) == (0, 1)
    with platform.uow() as uow:
        found = catalogue.find_resource(uow, "331007001/000009", world["yh_clerk"])
    assert [(i.name, i.scale) for i in found.view.metadata.items] == [("capital", 4)]


def test_a_bad_scale_in_the_sheet_is_reported_with_its_row(platform: Platform, world: World) -> None:
    decimal = {"信息项标识": "capital", "信息项名称": "注册资本", "数据类型": "数值型", "数据长度": ""}
    rows = [
        _row(资源代码="331007001/000021", 小数位数="四"),  # 2: not a number
        _row(资源代码="331007001/000022", **decimal, 小数位数=19),  # 3: too many places
        _row(资源代码="331007001/000023", 小数位数=2),  # 4: 字符型 has no places
        _row(资源代码="331007001/000024", **decimal, 小数位数=0),  # 5: fine
    ]
    report = _import(platform, world, _sheet(rows), "yh_clerk")
    assert {(p.row, p.code) for p in report.problems} == {
        (2, "catalogue_import_scale_invalid"),
        (3, "catalogue_item_scale_invalid"),
        (4, "catalogue_item_scale_not_decimal"),
    }
    messages = [p.message for p in report.problems]
    assert all("小数位数" in m for m in messages), messages
    assert _count(platform, resource) == 0
