"""`wanshi masterdata link` as an operator runs it: a subprocess configured by environment."""

from __future__ import annotations

import os
import subprocess
import sys

import pyarrow as pa

from wanshi.bootstrap import Platform
from wanshi.config import Settings
from wanshi.datahub.datagen.population import PopulationOptions, generate_population


def _masterdata(settings: Settings, *args: str) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "WANSHI_DATABASE_URL": settings.database_url or "",
        "WANSHI_DATA_DIR": str(settings.data_dir),
        "WANSHI_LOG_LEVEL": "WARNING",
        "COLUMNS": "200",
    }
    return subprocess.run(
        [sys.executable, "-c", "from wanshi.datahub.masterdata.cli import app; app()", *args],
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )


def test_link_prints_precision_and_recall(platform: Platform, settings: Settings) -> None:
    options = PopulationOptions(
        rows=3_000, seed=2, defect_rate=0.2, chunk_size=3_000, defects=("duplicate_exact", "near_duplicate")
    )
    platform.datastore.write_batch("population", "b1", pa.concat_tables(generate_population(options)))

    done = _masterdata(settings, "link", "--dataset", "population", "--threshold", "0.95")

    assert done.returncode == 0, done.stderr
    assert "精确率 precision" in done.stdout
    assert "召回率 recall" in done.stdout
    assert "0.95" in done.stdout
    assert "person_golden" in done.stdout
    assert "3,000" in done.stdout
    assert platform.datastore.count("person_cluster") == 3_000


def test_bad_input_exits_with_the_code_and_a_chinese_message(platform: Platform, settings: Settings) -> None:
    done = _masterdata(settings, "link", "--dataset", "nowhere")
    assert done.returncode == 1
    assert "masterdata_invalid" in done.stderr
    assert "分析库中没有数据集 nowhere" in done.stderr
    bad_priority = _masterdata(settings, "link", "--dataset", "nowhere", "--priority", "salary")
    assert bad_priority.returncode == 1
    assert "字段=来源1,来源2" in bad_priority.stderr
