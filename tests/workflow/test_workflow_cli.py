"""`wanshi workflow migrate` as an operator runs it: in a subprocess, on a migrated database."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from workflow_world import FILES, workflow_world

from wanshi.bootstrap import build_platform, migrate_database
from wanshi.config import Settings
from wanshi.kernel.actor import SYSTEM
from wanshi.workflow import repository
from wanshi.workflow.services import definitions, instances


def _wanshi(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", "from wanshi.cli.main import main; main()", *args],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )


@pytest.mark.slow
def test_migrate_moves_running_instances_only_when_asked(empty_database_url: str, tmp_path: Path) -> None:
    settings = Settings(
        env="test", data_dir=tmp_path, database_url=empty_database_url, worker_in_process=False
    )
    platform = build_platform(settings)
    try:
        migrate_database(platform)
        world = workflow_world(platform)
        v1 = (FILES / "five_steps.bpmn").read_text(encoding="utf-8")
        with platform.uow() as uow:
            created = definitions.create_definition(
                uow,
                definitions.CreateDefinition(
                    key="five", organisation_id=world.org_id("civil"), name="五环节", bpmn_xml=v1
                ),
                SYSTEM,
            )
        with platform.uow() as uow:
            definitions.deploy_definition(
                uow,
                definitions.DeployDefinition(definition_id=created.id, revision=1),
                platform.actions,
                SYSTEM,
            )
        with platform.uow() as uow:
            started = instances.start_process(
                uow,
                instances.StartProcess(definition_key="five", organisation_id=world.org_id("civil")),
                platform.actions,
                SYSTEM,
            )
        v2 = v1.replace('name="办结"', 'name="办结归档"')
        with platform.uow() as uow:
            definitions.save_definition(
                uow, definitions.SaveDefinition(definition_id=created.id, revision=2, bpmn_xml=v2), SYSTEM
            )
        with platform.uow() as uow:
            definitions.deploy_definition(
                uow,
                definitions.DeployDefinition(definition_id=created.id, revision=3),
                platform.actions,
                SYSTEM,
            )
    finally:
        platform.dispose()
    env = {
        "WANSHI_DATABASE_URL": empty_database_url,
        "WANSHI_DATA_DIR": str(tmp_path),
        "WANSHI_LOG_LEVEL": "WARNING",
    }
    dry = _wanshi(env, "workflow", "migrate", "five", "--from", "1", "--to", "2", "--dry-run")
    assert dry.returncode == 0, dry.stderr
    assert f"可迁移 1 个实例：{started.id}" in dry.stderr
    done = _wanshi(env, "workflow", "migrate", "five", "--from", "1", "--to", "2")
    assert done.returncode == 0, done.stderr
    missing = _wanshi(env, "workflow", "migrate", "five", "--from", "1", "--to", "9")
    assert missing.returncode == 1
    assert "流程版本不存在" in missing.stderr
    again = build_platform(settings)
    try:
        with again.reader() as uow:
            assert repository.get_instance(uow.session, started.id).version_number == 2  # type: ignore[union-attr]
    finally:
        again.dispose()
