"""Division tree and organisations. Pure Python."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from enum import StrEnum

from wanshi.kernel.errors import ValidationFailed


class DivisionLevel(StrEnum):
    PROVINCE = "province"
    PREFECTURE = "prefecture"
    COUNTY = "county"


LEVEL_NAMES = {DivisionLevel.PROVINCE: "省级", DivisionLevel.PREFECTURE: "市级", DivisionLevel.COUNTY: "县级"}


class OrganisationKind(StrEnum):
    GOVERNMENT = "government"  # 人民政府
    DEPARTMENT = "department"  # 政府组成部门、直属机构
    SERVICE_CENTRE = "service_centre"  # 政务服务中心
    INSTITUTION = "institution"  # 事业单位


@dataclass(frozen=True)
class Division:
    code: str
    name: str
    level: DivisionLevel
    parent_code: str | None


@dataclass(frozen=True)
class DivisionTable:
    source: str
    revision: str
    divisions: tuple[Division, ...]


def level_of(code: str) -> DivisionLevel:
    if code.endswith("0000"):
        return DivisionLevel.PROVINCE
    if code.endswith("00"):
        return DivisionLevel.PREFECTURE
    return DivisionLevel.COUNTY


def parse_division_table(text: str) -> DivisionTable:
    """Parse the tab-separated table (Source, Revision, Code, Name) and link each code to its parent.

    A county's parent is its prefecture when the table has one, else the province: municipalities
    (110101) and 省直辖县级 (419001) hang directly under the province.
    """
    reader = csv.DictReader(io.StringIO(text), delimiter="\t")
    missing = {"Source", "Revision", "Code", "Name"} - set(reader.fieldnames or [])
    if missing:
        raise ValidationFailed(
            "区划代码表缺少列：" + "、".join(sorted(missing)), code="division_table_columns"
        )
    rows: dict[str, str] = {}
    sources, revisions = set(), set()
    for line_no, row in enumerate(reader, start=2):
        code, name = (row["Code"] or "").strip(), (row["Name"] or "").strip()
        if len(code) != 6 or not code.isdigit():
            raise ValidationFailed(f"第 {line_no} 行的区划代码“{code}”不是 6 位数字", line=line_no)
        if not name:
            raise ValidationFailed(f"第 {line_no} 行缺少区划名称", line=line_no)
        if code in rows:
            raise ValidationFailed(f"第 {line_no} 行的区划代码 {code} 重复", line=line_no)
        rows[code] = name
        sources.add((row["Source"] or "").strip())
        revisions.add((row["Revision"] or "").strip())
    if not rows:
        raise ValidationFailed("区划代码表为空")
    if len(revisions) != 1 or len(sources) != 1:
        raise ValidationFailed("区划代码表必须来自同一来源、同一版本", code="division_table_revision")
    divisions = []
    for code, name in rows.items():
        level = level_of(code)
        parent: str | None = None
        if level is DivisionLevel.PREFECTURE:
            parent = code[:2] + "0000"
        elif level is DivisionLevel.COUNTY:
            prefecture = code[:4] + "00"
            parent = prefecture if prefecture in rows else code[:2] + "0000"
        if parent is not None and parent not in rows:
            raise ValidationFailed(
                f"区划 {code} {name} 的上级 {parent} 不在表中", code="division_table_parent"
            )
        divisions.append(Division(code, name, level, parent))
    return DivisionTable(source=sources.pop(), revision=revisions.pop(), divisions=tuple(divisions))


@dataclass(frozen=True)
class Organisation:
    id: int
    name: str
    short_name: str
    code: str
    kind: OrganisationKind
    division_code: str
    parent_id: int | None
    active: bool
