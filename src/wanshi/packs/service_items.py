"""The service-item pack kinds: the basic directory with implementation lists, and 一件事 bundles.

Every entry goes through the catalogue's own services as the loading actor, so each gets its versions,
history and audit entries as if a department had drafted it and the bureau had published it. Loading a
pack twice adds no version; a changed entry becomes a new published version.

service_items file::

    basic:                                  # 基本目录, set by the province
      - code: "310A0001000000"              # 基本编码
        department: 安徽省市场监督管理局      # the responsible provincial department
        adjust: {conditions: free}          # optional: how local lists may adjust elements
        elements: {name: ..., item_type: 行政许可, ...}
    implementations:                        # 实施清单
      - basic: "310A0001000000"
        organisation: 合肥市市场监督管理局
        division_code: "340100"
        body_code: "11340100MB00000513"     # the body's 统一社会信用代码
        changes: {promised_limit: {value: 5}, places: [...]}   # only what differs from the province

bundles file::

    bundles:
      - code: LIFE-001
        division_code: "340000"
        organisation: 安徽省数据资源管理局   # optional: the division's 数据资源管理局 by default
        document: {name: 出生一件事, audience: 自然人, life_event: 出生, parts: [{basic_code: ...}, ...]}
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from wanshi.bootstrap import Platform
from wanshi.infra.uow import UnitOfWork
from wanshi.items import api as items
from wanshi.kernel.actor import Actor
from wanshi.org import api as org
from wanshi.packs.loader import KindResult, PackFile, each_entry, naming_entry

PROVINCE = "340000"


class _Entry(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class BasicEntry(_Entry):
    code: str
    department: str
    adjust: dict[str, str] = Field(default_factory=dict)
    elements: dict[str, Any]


class ImplementationEntry(_Entry):
    basic: str
    organisation: str
    division_code: str
    body_code: str
    body_nature: str = "statutory"
    handling_no: int = 1
    business_no: int = 0
    business_name: str = ""
    changes: dict[str, Any] = Field(default_factory=dict)


class BundleEntry(_Entry):
    code: str
    division_code: str
    organisation: str = ""
    document: dict[str, Any]


def _count(outcomes: Counter[str], kind: str) -> KindResult:
    return KindResult(kind, outcomes["created"], outcomes["updated"], outcomes["unchanged"])


def load_service_items(platform: Platform, uow: UnitOfWork, pack_file: PackFile, actor: Actor) -> KindResult:
    outcomes: Counter[str] = Counter()
    for index, label, raw in each_entry(pack_file, "basic", "code"):
        with naming_entry(pack_file, index, label):
            entry = BasicEntry.model_validate(raw)
            department = org.find_organisation(uow, PROVINCE, entry.department)
            cmd = items.SaveEntry(
                kind=items.RecordKind.BASIC,
                code=entry.code,
                organisation_id=department.id,
                document={"elements": entry.elements, "adjust": entry.adjust},
                publish=True,
            )
            outcomes[items.save_entry(uow, cmd, actor)] += 1
    for index, label, raw in each_entry(pack_file, "implementations", "basic"):
        with naming_entry(pack_file, index, f"{label} {raw.get('organisation', '')}"):
            impl = ImplementationEntry.model_validate(raw)
            body = org.find_organisation(uow, impl.division_code, impl.organisation)
            basic = items.published_basic(uow, impl.basic, actor)
            document = {
                "elements": items.derive(basic.elements, impl.changes),
                "body_code": impl.body_code,
                "body_nature": impl.body_nature,
                "handling_no": impl.handling_no,
                "business_no": impl.business_no,
                "business_name": impl.business_name,
            }
            cmd = items.SaveEntry(
                kind=items.RecordKind.IMPLEMENTATION,
                basic_code=impl.basic,
                organisation_id=body.id,
                document=document,
                publish=True,
            )
            outcomes[items.save_entry(uow, cmd, actor)] += 1
    return _count(outcomes, "service_items")


def load_bundles(platform: Platform, uow: UnitOfWork, pack_file: PackFile, actor: Actor) -> KindResult:
    outcomes: Counter[str] = Counter()
    for index, label, raw in each_entry(pack_file, "bundles", "code"):
        with naming_entry(pack_file, index, label):
            entry = BundleEntry.model_validate(raw)
            division = org.get_division(uow, entry.division_code)
            bureau = org.find_organisation(
                uow, division.code, entry.organisation or f"{division.name}数据资源管理局"
            )
            cmd = items.SaveEntry(
                kind=items.RecordKind.BUNDLE,
                code=entry.code,
                division_code=division.code,
                organisation_id=bureau.id,
                document=entry.document,
                publish=True,
            )
            outcomes[items.save_entry(uow, cmd, actor)] += 1
    return _count(outcomes, "bundles")
