"""Helpers for the quality-operations tests (imported by name: the test folders are not packages).

The catalogue tests' small province, with 瑶海区's market-entity resource published and mounted on the
store dataset ``market_entity``, loaded through ingest from CSV text.
"""

from __future__ import annotations

from pathlib import Path

from test_catalogue_world import World, publish, register

from wanshi.bootstrap import Platform
from wanshi.datahub.catalogue import api as catalogue
from wanshi.datahub.ingest import api as ingest
from wanshi.datahub.quality import api as quality
from wanshi.kernel.actor import SYSTEM

CODE = "331007001/000001"
DATASET = "market_entity"
RULES = """
# 市场主体登记信息的质量规则
dataset: market_entity
key: uscc
rules:
  - id: uscc.checksum
    kind: uscc_checksum
    field: uscc
    message: 统一社会信用代码校验位错误
  - id: capital.range
    kind: range
    field: capital
    min: 0
    message: 注册资本不能为负
    severity: warning
  - id: fresh
    kind: timeliness
    field: loaded_at
    message: 数据未按更新周期更新
"""
GOOD = "91110000600037341L"
GOOD2 = "91340000704920454F"
BAD = "91110000600037341X"


def publish_resource(platform: Platform, world: World, provider: str = "yaohai", code: str = CODE) -> int:
    actor = {"yaohai": "yh_clerk", "luyang": "ly_clerk"}[provider]
    r = register(platform, world, actor, provider, code)
    publish(platform, world, actor, r.id)
    return r.id


def save_rules(
    platform: Platform, world: World, resource_id: int, text: str = RULES
) -> quality.StoredRuleSet:
    with platform.uow() as uow:
        return quality.save_rule_set(
            uow, quality.SaveRuleSet(resource_id=resource_id, text=text), world["prov_admin"]
        )


def load_csv(platform: Platform, tmp: Path, name: str, rows: list[tuple[str, str, str]]) -> ingest.Load:
    path = tmp / name
    lines = ["uscc,name,founded_on,capital"] + [f"{u},{n},2020-01-01,{c}" for u, n, c in rows]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    with platform.uow() as uow:
        schema = ingest.parse_schema(catalogue.resource_schema(uow, CODE).as_dict())
    with platform.uow() as uow:
        return ingest.load_file(uow, platform.datastore, ingest.LoadFile(path, DATASET, schema), SYSTEM)


def replace_data(platform: Platform, tmp: Path, name: str, rows: list[tuple[str, str, str]]) -> ingest.Load:
    """The provider's corrected full extract replaces what it sent before (ingest only appends, so the
    earlier batches are removed first, as an operator does for a full reload)."""
    for batch in platform.datastore.batches(DATASET):
        platform.datastore.delete_batch(DATASET, batch)
    return load_csv(platform, tmp, name, rows)


def options(platform: Platform) -> quality.TicketOptions:
    return quality.TicketOptions(platform.files, platform.settings.quality_ticket_days)


def run(platform: Platform, world: World, actor: str, code: str = CODE) -> quality.Run:
    with platform.uow() as uow:
        return quality.run_quality_check(
            uow,
            platform.datastore,
            quality.RunQualityCheck(resource_code=code),
            world[actor],
            tickets=options(platform),
        )


def sweep(platform: Platform) -> int:
    with platform.uow() as uow:
        return quality.sweep_loads(uow, platform.datastore, options(platform))
