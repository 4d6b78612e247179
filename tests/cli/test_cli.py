"""The `wanshi` command as an operator runs it: in a subprocess, configured by environment."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import update

from wanshi.infra.db import create_db_engine
from wanshi.infra.tables import audit_entry

PACK = Path(__file__).resolve().parents[2] / "packs" / "anhui"


def _wanshi(env: dict[str, str], *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", "from wanshi.cli.main import main; main()", *args],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        check=check,
        timeout=300,
    )


@pytest.mark.slow
def test_migrate_pack_load_twice_and_audit_verify_names_an_edited_row(
    empty_database_url: str, tmp_path: Path
) -> None:
    env = {
        "WANSHI_DATABASE_URL": empty_database_url,
        "WANSHI_DATA_DIR": str(tmp_path),
        "WANSHI_LOG_LEVEL": "WARNING",
    }
    _wanshi(env, "migrate")
    first = _wanshi(env, "pack", "load", str(PACK))
    assert "organisations" in first.stderr
    second = _wanshi(env, "pack", "load", str(PACK))
    assert "│ 0    │ 0    │" in second.stderr  # nothing new, nothing updated
    assert _wanshi(env, "audit", "verify").returncode == 0
    engine = create_db_engine(empty_database_url)
    try:
        with engine.begin() as conn:
            conn.execute(update(audit_entry).where(audit_entry.c.seq == 42).values(outcome="failure"))
    finally:
        engine.dispose()
    broken = _wanshi(env, "audit", "verify", check=False)
    assert broken.returncode == 2
    assert "entry 42: content does not match its hash" in broken.stdout


@pytest.mark.slow
def test_backup_and_restore_commands(empty_database_url: str, tmp_path: Path) -> None:
    source = {
        "WANSHI_DATABASE_URL": empty_database_url,
        "WANSHI_DATA_DIR": str(tmp_path / "a"),
        "WANSHI_LOG_LEVEL": "WARNING",
    }
    _wanshi(source, "migrate")
    made = _wanshi(source, "backup")
    folder = made.stdout.strip().splitlines()[-1]
    assert (Path(folder) / "manifest.json").exists()
    refused = _wanshi(source, "restore", folder, check=False)
    assert refused.returncode == 1
    assert "restore_target_not_empty" in refused.stderr


def test_bad_pack_gets_a_clear_message(empty_database_url: str, tmp_path: Path) -> None:
    env = {
        "WANSHI_DATABASE_URL": empty_database_url,
        "WANSHI_DATA_DIR": str(tmp_path),
        "WANSHI_LOG_LEVEL": "WARNING",
    }
    _wanshi(env, "migrate")
    (tmp_path / "pack").mkdir()
    (tmp_path / "pack" / "pack.yaml").write_text(
        "files:\n  - {kind: spaceships, file: x.yaml}\n", encoding="utf-8"
    )
    result = _wanshi(env, "pack", "load", str(tmp_path / "pack"), check=False)
    assert result.returncode == 1
    assert "未知的包内容类型" in result.stderr
