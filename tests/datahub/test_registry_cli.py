"""`wanshi registry` as an operator runs it: a subprocess configured by environment."""

from __future__ import annotations

import os
import subprocess
import sys

import pyarrow as pa
from test_registry_world import build_world

from wanshi.bootstrap import Platform
from wanshi.config import Settings


def _registry(settings: Settings, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "WANSHI_DATABASE_URL": settings.database_url or "",
        "WANSHI_DATA_DIR": str(settings.data_dir),
        "WANSHI_LOG_LEVEL": "WARNING",
        "COLUMNS": "200",
    }
    return subprocess.run(
        [sys.executable, "-c", "from wanshi.cli.main import app; app()", "registry", *args],
        env=env,
        capture_output=True,
        text=True,
        check=check,
        timeout=120,
    )


def test_status_reports_a_stale_index_and_reindex_rebuilds_it(platform: Platform, settings: Settings) -> None:
    build_world(platform)
    fresh = _registry(settings, "status")
    assert fresh.returncode == 0
    assert "最新" in fresh.stderr
    platform.datastore.write_batch(
        "population",
        "more",
        pa.table({"record_id": pa.array([1], pa.int64()), "id_number": ["34052419800101001X"]}),
    )
    stale = _registry(settings, "status", check=False)
    assert stale.returncode == 3
    assert "待重建" in stale.stderr

    rebuilt = _registry(settings, "reindex", "--only-stale")
    assert "人口库" in rebuilt.stderr
    assert "法人库" not in rebuilt.stderr
    assert _registry(settings, "status").returncode == 0
    nothing = _registry(settings, "reindex", "--only-stale")
    assert "无需重建" in nothing.stderr


def test_reindex_of_a_missing_dataset_fails_with_its_code(platform: Platform, settings: Settings) -> None:
    failed = _registry(settings, "reindex", "--kind", "person", check=False)
    assert failed.returncode == 1
    assert "registry_dataset_missing" in failed.stderr
