"""The Anhui pack's data centre: resources, rule sets and grants loaded through the contexts' services, and
the demo's generated data (small row counts here; `wanshi demo` uses the pack's demo.yaml)."""

from __future__ import annotations

import atexit
import functools
import re
import shutil
import tempfile
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
import yaml
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from signin import signed_in  # type: ignore[import-not-found]
from wanshi.bootstrap import Platform
from wanshi.datahub.catalogue import api as catalogue
from wanshi.datahub.datagen import defects, legal_person, population
from wanshi.datahub.quality import api as quality
from wanshi.datahub.registry import api as registry
from wanshi.infra.tables import audit_entry
from wanshi.kernel.actor import SYSTEM, Actor
from wanshi.kernel.errors import NotFound, PermissionDenied, ValidationFailed
from wanshi.org import api as org
from wanshi.packs.demo import AS_OF, DemoData, load_demo_data, read_demo_data
from wanshi.packs.kinds import KIND_LOADERS, pack_usernames
from wanshi.packs.loader import KindResult, load_pack
from wanshi.web.app import create_app

PACK = Path(__file__).resolve().parents[2] / "packs" / "anhui"
PASSWORD = "Anhui#2026pass"
POPULATION = "101001001/000001"
LEGAL_PERSON = "102001001/000001"
HEFEI_REAL_ESTATE = "314001001/000001"
SMALL = DemoData(
    population_resource=POPULATION,
    legal_person_resource=LEGAL_PERSON,
    population_rows=400,
    legal_person_rows=100,
    seed=7,
    defect_rate=0.2,
)


# Service items, forms and processes have their own pack tests: loading them here would only slow these down.
ITEM_KINDS = ("service_items", "bundles", "forms", "processes")


def _without_items(target: Path) -> Path:
    """A copy of the Anhui pack whose manifest leaves out the service items."""
    shutil.copytree(PACK, target)
    manifest = yaml.safe_load((PACK / "pack.yaml").read_text(encoding="utf-8"))
    manifest["files"] = [f for f in manifest["files"] if f["kind"] not in ITEM_KINDS]
    (target / "pack.yaml").write_text(yaml.safe_dump(manifest, allow_unicode=True), encoding="utf-8")
    return target


@functools.cache
def _data_centre_pack() -> Path:
    folder = Path(tempfile.mkdtemp(prefix="wanshi-dc-pack-"))
    atexit.register(shutil.rmtree, folder, True)
    return _without_items(folder / "pack")


def _load(platform: Platform, directory: Path | None = None, actor: Actor = SYSTEM) -> dict[str, KindResult]:
    return {r.kind: r for r in load_pack(platform, directory or _data_centre_pack(), actor, KIND_LOADERS)}


def _divisions(platform: Platform) -> None:
    with platform.uow() as uow:
        org.load_divisions(uow, org.LoadDivisions(table_text=org.bundled_division_table()), SYSTEM)


def _login(platform: Platform, username: str) -> Actor:
    with platform.uow() as uow:
        platform.identity.set_initial_passwords(uow, pack_usernames(PACK), PASSWORD, SYSTEM)
    with platform.uow() as uow:
        return platform.identity.authenticate(uow, username, PASSWORD)


def _audit_entries(platform: Platform) -> int:
    with platform.engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(audit_entry)).scalar_one())


def _detail(platform: Platform, code: str) -> catalogue.ResourceDetail:
    with platform.uow() as uow:
        return catalogue.find_resource(uow, code, SYSTEM)


def _copy_pack(tmp_path: Path) -> Path:
    return _without_items(tmp_path / "pack")


@pytest.fixture
def anhui(platform: Platform) -> Platform:
    _divisions(platform)
    _load(platform)
    return platform


def test_the_pack_publishes_its_resources_through_review_and_loading_twice_changes_nothing(
    platform: Platform,
) -> None:
    _divisions(platform)
    first = _load(platform)
    assert (first["data_resources"].created, first["quality_rules"].created) == (6, 2)
    assert first["registry_grants"].created == 4
    audited = _audit_entries(platform)

    second = _load(platform)

    for kind in ("data_resources", "quality_rules", "registry_grants"):
        assert (second[kind].created, second[kind].updated) == (0, 0), kind
    assert second["data_resources"].unchanged == 6
    assert _audit_entries(platform) == audited  # no new version, rule set or grant was written
    people = _detail(platform, POPULATION)
    assert people.view.resource.state is catalogue.ResourceState.PUBLISHED
    assert people.view.provider_name == "安徽省公安厅"
    assert people.view.metadata.share_type is catalogue.ShareType.CONDITIONAL
    assert [v.number for v in people.versions] == [1]
    assert [h.kind for h in people.history] == [
        catalogue.EventKind.REGISTERED,
        catalogue.EventKind.MOUNTED,
        catalogue.EventKind.SUBMITTED,
        catalogue.EventKind.PUBLISHED,
    ]
    assert people.published is not None
    assert people.published.mount is not None
    assert people.published.mount.dataset == "population"
    city = _detail(platform, HEFEI_REAL_ESTATE)
    assert city.view.resource.division_code == "340100"  # a city department's resource
    with platform.uow() as uow:
        # Each 数值型 field declares the 小数位数 its registry keeps, and ingest is handed it.
        scales = {
            code: {
                f.name: f.scale for f in catalogue.resource_schema(uow, code).fields if f.type == "decimal"
            }
            for code in (LEGAL_PERSON, HEFEI_REAL_ESTATE)
        }
    assert scales == {LEGAL_PERSON: {"registered_capital": 4}, HEFEI_REAL_ESTATE: {"area": 2}}
    with platform.uow() as uow:
        grants = registry.list_grants(uow, SYSTEM)
        rules = quality.get_rule_set(uow, people.view.resource.id, SYSTEM)
    assert len(grants) == 4
    assert [v.version for v in rules.versions] == [1]


def test_a_changed_entry_becomes_a_new_version_and_a_changed_rule_file_a_new_rule_set(
    anhui: Platform, tmp_path: Path
) -> None:
    pack = _copy_pack(tmp_path)
    resources = pack / "data_resources.yaml"
    resources.write_text(
        resources.read_text(encoding="utf-8").replace("name: 人口基础信息", "name: 人口基础信息（户籍）"),
        encoding="utf-8",
    )
    rules = pack / "quality" / "population.yaml"
    rules.write_text(rules.read_text(encoding="utf-8").replace("min: 1900-01-01", "min: 1890-01-01"))
    grants = pack / "registry_grants.yaml"
    grants.write_text(
        grants.read_text(encoding="utf-8").replace(
            "operations: [verify_person, person_prefill]\n", "operations: [verify_person]\n"
        )
    )

    results = _load(anhui, pack)

    assert (results["data_resources"].updated, results["data_resources"].unchanged) == (1, 5)
    assert (results["quality_rules"].updated, results["registry_grants"].updated) == (1, 1)
    people = _detail(anhui, POPULATION)
    assert people.view.metadata.name == "人口基础信息（户籍）"
    assert people.view.version_number == 2
    assert [v.status for v in people.versions] == [
        catalogue.VersionStatus.SUPERSEDED,
        catalogue.VersionStatus.PUBLISHED,
    ]
    assert people.history[-1].kind is catalogue.EventKind.PUBLISHED
    with anhui.uow() as uow:
        current = quality.get_rule_set(uow, people.view.resource.id, SYSTEM).current
        luyang = org.find_organisation(uow, "340103", "庐阳区政务服务中心")
        grant = next(g for g in registry.list_grants(uow, SYSTEM) if g.organisation_id == luyang.id)
    assert current is not None
    assert current.version == 2
    assert grant.operations == (registry.Operation.VERIFY_PERSON,)
    again = _load(anhui, pack)
    assert again["data_resources"].updated == 0
    assert again["quality_rules"].updated == 0


def test_demo_data_loads_checks_and_indexes_and_a_second_run_reuses_it(anhui: Platform) -> None:
    report = load_demo_data(anhui, SMALL, SYSTEM)

    assert [d.generated for d in report.datasets] == [True, True]
    people = report.datasets[0]
    assert people.dataset == "population"
    assert people.load.counts.read == 400
    assert people.load.counts.quarantined > 0  # labelled defects: unreadable dates, missing fields
    assert anhui.datastore.count("population") == people.load.counts.stored > 0
    assert anhui.datastore.count("population__quarantine") == people.load.counts.quarantined
    assert people.load.resource_code == POPULATION  # the load belongs to the resource (lineage)
    # Registered capital is kept to four places (万元) and the resource says so: only the labelled defects
    # a load can see (an impossible date, a blank required field, a near duplicate that lost its credit
    # code) are quarantined, not every amount.
    firms = report.datasets[1]
    labelled = Counter(r["defect"] for r in _legal_person_rows(SMALL))
    seen = labelled[defects.INVALID_DATE] + labelled[defects.MISSING_REQUIRED]
    assert firms.load.counts.read == 100
    assert 0 < seen <= firms.load.counts.quarantined <= seen + labelled[defects.NEAR_DUPLICATE]
    assert firms.load.counts.quarantined / firms.load.counts.read <= SMALL.defect_rate
    reasons = anhui.datastore.query("SELECT _reasons FROM legal_person__quarantine").column("_reasons")
    assert not [r for r in reasons.to_pylist() if "registered_capital" in r]
    amounts = anhui.datastore.query(
        "SELECT count(registered_capital) AS n FROM legal_person WHERE registered_capital IS NOT NULL"
    )
    assert amounts.column("n")[0].as_py() > 0
    assert len(report.runs) == 2
    assert all(0 < run.score < 100 for run in report.runs)
    assert {i.kind for i in report.indexes} == set(registry.Kind)
    with anhui.uow() as uow:
        detail = quality.get_run(uow, report.runs[0].id, SYSTEM)
    assert detail.tickets, "a failing rule opens a ticket to the provider"

    again = load_demo_data(anhui, SMALL, SYSTEM)

    assert [d.generated for d in again.datasets] == [False, False]
    assert [d.load.id for d in again.datasets] == [d.load.id for d in report.datasets]
    assert again.runs == ()
    assert again.indexes == ()
    with anhui.uow() as uow:
        runs = quality.list_runs(uow, quality.RunQuery(), SYSTEM)
    assert runs.total == 2


def _legal_person_rows(demo: DemoData) -> list[dict[str, Any]]:
    """The rows the demo generates for the legal-person resource, with their defect labels."""
    persons = population.PopulationOptions(
        rows=demo.population_rows, seed=demo.seed, defect_rate=demo.defect_rate, as_of=AS_OF
    )
    options = legal_person.LegalPersonOptions(
        rows=demo.legal_person_rows,
        seed=demo.seed,
        defect_rate=demo.defect_rate,
        as_of=AS_OF,
        persons=persons,
    )
    return [r for chunk in legal_person.generate_legal_persons(options) for r in chunk.to_pylist()]


def _clean_person(demo: DemoData) -> tuple[str, str]:
    """A generated resident without defects whose number occurs once (no near-duplicate shares it)."""
    options = population.PopulationOptions(
        rows=demo.population_rows, seed=demo.seed, defect_rate=demo.defect_rate
    )
    rows = [r for chunk in population.generate_population(options) for r in chunk.to_pylist()]
    numbers = Counter(r["id_number"] for r in rows)
    person = next(r for r in rows if r["defect"] is None and numbers[r["id_number"]] == 1)
    return person["id_number"], person["name"]


def test_a_granted_clerk_verifies_a_generated_person_and_an_ungranted_one_is_refused(anhui: Platform) -> None:
    load_demo_data(anhui, SMALL, SYSTEM)
    id_number, name = _clean_person(SMALL)
    reg = registry.Registry.build(anhui.settings, anhui.datastore)
    clerk = _login(anhui, "yaohai.clerk")
    with anhui.uow() as uow:
        answer = registry.verify_person(
            uow, reg, registry.VerifyPerson(id_number=id_number, name=name, purpose="演示实名核验"), clerk
        )
    assert answer.result is registry.Result.MATCH
    assert answer.ok
    with anhui.uow() as uow:
        wrong = registry.verify_person(
            uow, reg, registry.VerifyPerson(id_number=id_number, name="王某某", purpose="演示实名核验"), clerk
        )
    assert wrong.result is registry.Result.NAME_MISMATCH
    supervisor = _login(anhui, "wuhu.supervisor")  # 芜湖市政务服务中心 has no grant
    with anhui.uow() as uow, pytest.raises(PermissionDenied):
        registry.verify_person(
            uow,
            reg,
            registry.VerifyPerson(id_number=id_number, name=name, purpose="演示实名核验"),
            supervisor,
        )


def test_a_department_clerk_cannot_load_another_providers_resources(anhui: Platform, tmp_path: Path) -> None:
    pack = _copy_pack(tmp_path)
    resources = pack / "data_resources.yaml"
    resources.write_text(
        resources.read_text(encoding="utf-8").replace('"101001001/000001"', '"101001001/000009"'),
        encoding="utf-8",
    )
    (pack / "pack.yaml").write_text("files:\n  - {kind: data_resources, file: data_resources.yaml}\n")
    clerk = _login(anhui, "yaohai.clerk")

    with pytest.raises(ValidationFailed) as refused:
        _load(anhui, pack, clerk)

    assert refused.value.error_code == "pack_entry_invalid"
    assert refused.value.details["reason"] == "permission_denied"
    assert "data_resources.yaml 第 1 项（101001001/000009）" in refused.value.message
    with anhui.uow() as uow, pytest.raises(NotFound):
        catalogue.find_resource(uow, "101001001/000009", SYSTEM)


BAD_ENTRIES = [
    (
        "data_resources",
        "resources:\n  - {code: '399001001/000001', name: 测试, provider: {division_code: '340000', "
        "organisation: 不存在的厅}, summary: 测试资源, share_type: 无条件共享, update_cycle: 每日, "
        "dataset: t, fields: [{name: a, label: 甲}]}\n",
        "data_resources.yaml 第 1 项（399001001/000001）：行政区划 340000 下没有名为“不存在的厅”的组织",
        "not_found",
    ),
    (
        "data_resources",
        "resources:\n  - {code: '399001001/000001', name: 测试, provider: {division_code: '340000', "
        "organisation: 安徽省公安厅}, summary: 测试资源, share_type: 随便共享, update_cycle: 每日, "
        "dataset: t, fields: [{name: a, label: 甲}]}\n",
        "data_resources.yaml 第 1 项（399001001/000001）：share_type 无效",
        "invalid",
    ),
    (
        "data_resources",
        "resources:\n  - {code: '9-bad', name: 测试, provider: {division_code: '340000', "
        "organisation: 安徽省公安厅}, summary: 测试资源, share_type: 无条件共享, update_cycle: 每日, "
        "dataset: t, fields: [{name: a, label: 甲}]}\n",
        "data_resources.yaml 第 1 项（9-bad）：资源代码“9-bad”格式不正确",
        "catalogue_code_invalid",
    ),
    (
        "quality_rules",
        "rule_sets:\n  - {resource: '101001001/000001', file: quality/missing.yaml}\n",
        "quality_rules.yaml 第 1 项（101001001/000001）：包文件不存在：quality/missing.yaml",
        "pack_file_missing",
    ),
    (
        "quality_rules",
        "rule_sets:\n  - {resource: '101001001/000001', file: ../../etc/passwd}\n",
        "quality_rules.yaml 第 1 项（101001001/000001）：包文件不存在",
        "pack_file_missing",
    ),
    (
        "registry_grants",
        "grants:\n  - {division_code: '340100', organisation: 合肥市政务服务中心, operations: [fly]}\n",
        "registry_grants.yaml 第 1 项（合肥市政务服务中心）：operations.0 无效",
        "invalid",
    ),
]


@pytest.mark.parametrize(("kind", "text", "message", "reason"), BAD_ENTRIES)
def test_a_bad_entry_is_refused_in_chinese_naming_the_file_and_entry(
    anhui: Platform, tmp_path: Path, kind: str, text: str, message: str, reason: str
) -> None:
    pack = _copy_pack(tmp_path)
    (pack / f"{kind}.yaml").write_text(text, encoding="utf-8")
    (pack / "pack.yaml").write_text(f"files:\n  - {{kind: {kind}, file: {kind}.yaml}}\n")

    with pytest.raises(ValidationFailed) as refused:
        _load(anhui, pack)

    assert refused.value.error_code == "pack_entry_invalid"
    assert message in refused.value.message
    assert refused.value.details["reason"] == reason


def test_a_bad_rule_file_is_refused_with_the_rule_named_and_nothing_saved(
    anhui: Platform, tmp_path: Path
) -> None:
    pack = _copy_pack(tmp_path)
    (pack / "quality" / "population.yaml").write_text(
        "dataset: population\nkey: id_number\nrules:\n  - {id: x, kind: not_null, field: id_number}\n"
    )
    (pack / "pack.yaml").write_text("files:\n  - {kind: quality_rules, file: quality_rules.yaml}\n")

    with pytest.raises(ValidationFailed) as refused:
        _load(anhui, pack)

    assert refused.value.details["reason"] == "quality_rule_invalid"
    assert refused.value.message.startswith("包文件 quality_rules.yaml 第 1 项（101001001/000001）：")
    with anhui.uow() as uow:
        resource = catalogue.find_resource(uow, POPULATION, SYSTEM).view.resource
        assert [v.version for v in quality.get_rule_set(uow, resource.id, SYSTEM).versions] == [1]


def test_the_demo_settings_of_the_pack_are_read_and_checked(tmp_path: Path) -> None:
    demo = read_demo_data(PACK)
    assert demo is not None
    assert demo.population_resource == POPULATION
    assert demo.population_rows == 20_000
    assert demo.legal_person_rows == 5_000
    assert read_demo_data(tmp_path) is None
    (tmp_path / "demo.yaml").write_text(
        "population_resource: x\nlegal_person_resource: y\ndefect_rate: 0.9\n"
    )
    with pytest.raises(ValidationFailed) as refused:
        read_demo_data(tmp_path)
    assert "demo.yaml：defect_rate 无效" in refused.value.message


CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


@pytest.mark.parametrize(
    ("path", "shown"),
    [
        ("/admin/catalogue", "合肥市不动产登记信息"),
        ("/admin/loads", "人口基础信息_演示数据.csv"),
        ("/admin/quality", "法人基础信息"),
        ("/admin/registry/calls", "皖数资〔2026〕3号 不动产登记身份核验"),
    ],
)
def test_the_data_centre_pages_are_not_empty_for_the_demo_admin(
    anhui: Platform, path: str, shown: str
) -> None:
    load_demo_data(anhui, SMALL, SYSTEM)
    _login(anhui, "admin")  # gives the pack's accounts the password
    with TestClient(create_app(anhui)) as client:
        signed_in(client, "admin", PASSWORD)
        page = client.get(path)
    assert page.status_code == 200
    assert shown in page.text
