"""Rule sets per resource, scores over time and who sees them: a department its own, the bureau all."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from test_catalogue_world import NOW, World, build_world
from test_quality_ops_world import BAD, GOOD, GOOD2, RULES, load_csv, publish_resource, run, save_rules
from typer.testing import CliRunner

from wanshi.bootstrap import Platform
from wanshi.cli.main import app as cli_app
from wanshi.config import get_settings
from wanshi.datahub.quality import api as quality
from wanshi.kernel import clock
from wanshi.kernel.errors import NotFound, PermissionDenied, ValidationFailed


@pytest.fixture
def world(platform: Platform) -> Iterator[World]:
    previous = clock.set_clock(lambda: NOW)
    yield build_world(platform)
    clock.set_clock(previous)


def _save(platform: Platform, world: World, actor: str, resource_id: int, text: str) -> quality.StoredRuleSet:
    with platform.uow() as uow:
        return quality.save_rule_set(
            uow, quality.SaveRuleSet(resource_id=resource_id, text=text), world[actor]
        )


def test_rule_sets_are_validated_versioned_and_written_by_the_bureau_only(
    platform: Platform, world: World
) -> None:
    resource_id = publish_resource(platform, world)
    with pytest.raises(PermissionDenied):
        _save(platform, world, "yh_clerk", resource_id, RULES)
    with pytest.raises(NotFound):  # another county's clerk does not learn the resource exists
        _save(platform, world, "ly_clerk", resource_id, RULES)
    with pytest.raises(ValidationFailed) as bad:
        _save(platform, world, "city_admin", resource_id, RULES.replace("kind: range", "kind: ranges"))
    assert bad.value.error_code == "quality_rule_invalid"
    assert "capital.range" in bad.value.message
    assert "规则类型未知" in bad.value.message
    with pytest.raises(ValidationFailed) as empty:
        _save(platform, world, "city_admin", resource_id, "  ")
    assert empty.value.error_code == "quality_rules_required"
    first = _save(platform, world, "city_admin", resource_id, RULES)
    assert (first.version, first.rule_count, first.dataset) == (1, 3, "market_entity")
    assert _save(platform, world, "prov_admin", resource_id, RULES).version == 1  # same text: no new version
    second = _save(
        platform,
        world,
        "prov_admin",
        resource_id,
        RULES + "  - {id: n, kind: not_null, field: name, message: 名称必填}\n",
    )
    assert second.version == 2
    with platform.uow() as uow:
        view = quality.get_rule_set(uow, resource_id, world["yh_clerk"])
    assert view.current is not None
    assert view.current.version == 2
    assert "# 市场主体登记信息的质量规则" in view.current.text  # kept as written
    assert [v.version for v in view.versions] == [2, 1]
    assert (view.can_edit, view.can_run) == (False, True)
    with platform.uow() as uow, pytest.raises(NotFound):
        quality.get_rule_set(uow, resource_id, world["ly_clerk"])


def test_a_run_needs_rules_and_a_dataset_mount(platform: Platform, world: World, tmp_path: Path) -> None:
    resource_id = publish_resource(platform, world)
    with pytest.raises(ValidationFailed) as missing:
        run(platform, world, "yh_clerk")
    assert missing.value.error_code == "quality_rules_missing"
    save_rules(platform, world, resource_id)
    with pytest.raises(ValidationFailed) as no_data:
        run(platform, world, "yh_clerk")
    assert no_data.value.error_code == "quality_check_failed"  # the engine: the dataset has no data yet
    with pytest.raises(NotFound) as unknown:
        run(platform, world, "yh_clerk", code="331007001/999999")
    assert unknown.value.error_code == "quality_resource_not_found"


def test_a_department_sees_only_its_own_scores_and_the_bureau_sees_all(
    platform: Platform, world: World, tmp_path: Path
) -> None:
    mine = publish_resource(platform, world, "yaohai")
    save_rules(platform, world, mine)
    load_csv(platform, tmp_path, "v1.csv", [(GOOD, "甲公司", "1"), (BAD, "乙公司", "2"), (GOOD2, "丙", "3")])
    first = run(platform, world, "yh_clerk")
    clock.set_clock(lambda: NOW + timedelta(days=1))
    second = run(platform, world, "prov_admin")

    # Another county's department: refused, as if the run did not exist.
    with platform.uow() as uow, pytest.raises(NotFound) as hidden:
        quality.get_run(uow, first.id, world["ly_clerk"])
    assert hidden.value.error_code == "quality_run_not_found"
    with platform.uow() as uow, pytest.raises(NotFound):
        quality.run_quality_check(
            uow, platform.datastore, quality.RunQualityCheck(resource_code=first.resource_code),
            world["ly_clerk"], tickets=quality.TicketOptions(platform.files),
        )  # fmt: skip
    for outsider in ("ly_clerk", "police_clerk"):
        with platform.uow() as uow:
            assert quality.list_runs(uow, quality.RunQuery(), world[outsider]).total == 0
            board = quality.quality_dashboard(uow, quality.DashboardQuery(), world[outsider])
            assert board.current == ()
            assert board.by_department.points == ()
            assert quality.score_history(uow, world[outsider]).points == ()

    # The provider and the bureaus over it see the same runs.
    for insider in ("yh_clerk", "city_admin", "prov_admin"):
        with platform.uow() as uow:
            assert quality.list_runs(uow, quality.RunQuery(), world[insider]).total == 2
    with platform.uow() as uow:
        board = quality.quality_dashboard(uow, quality.DashboardQuery(days=30), world["city_admin"])
        history = quality.score_history(uow, world["yh_clerk"], resource_id=mine)
        by_department = quality.score_history(
            uow, world["prov_admin"], organisation_id=world.org_id("yaohai")
        )
    assert [r.id for r in board.current] == [second.id]  # the newest run is the resource's current score
    assert [(p.label, round(p.value, 3)) for p in board.by_department.points] == [
        ("瑶海区市场监督管理局", round(second.score, 3))
    ]
    assert {p.label for p in board.by_rule.points} == {"331007001/000001 uscc.checksum"}
    assert round(board.by_rule.points[0].value, 3) == round(100 / 3, 3)
    assert [p.label for p in history.points] == ["2026-03-02", "2026-03-03"]
    assert history == by_department
    assert [r.id for r in board.recent] == [second.id, first.id]


def test_the_cli_runs_a_check_as_the_system_and_refuses_an_unknown_resource(
    platform: Platform, world: World, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    resource_id = publish_resource(platform, world)
    save_rules(platform, world, resource_id)
    load_csv(platform, tmp_path, "v1.csv", [(GOOD, "甲公司", "1"), (BAD, "乙公司", "2")])
    monkeypatch.setenv("WANSHI_DATABASE_URL", platform.settings.resolved_database_url)
    monkeypatch.setenv("WANSHI_DATA_DIR", str(platform.settings.data_dir))
    get_settings.cache_clear()
    try:
        runner = CliRunner()
        done = runner.invoke(cli_app, ["quality", "run", "--resource", "331007001/000001"])
        unknown = runner.invoke(cli_app, ["quality", "run", "--resource", "331007001/999999"])
        swept = runner.invoke(cli_app, ["quality", "sweep"])
    finally:
        get_settings.cache_clear()
    assert done.exit_code == 0, done.output
    assert "2 行，得分 80.0" in done.output  # uscc fails 1 of 2 (error), capital and timeliness pass
    assert "911100********341X" in done.output
    assert BAD not in done.output
    assert unknown.exit_code == 1
    assert "quality_resource_not_found" in unknown.output
    assert swept.exit_code == 0
    assert "已检查 0 个资源" in swept.output  # the CLI's run already measured the newest load
    with platform.uow() as uow:
        runs = quality.list_runs(uow, quality.RunQuery(), world["prov_admin"]).items
    assert [(r.trigger, r.actor) for r in runs] == [(quality.Trigger.CLI, "system")]
