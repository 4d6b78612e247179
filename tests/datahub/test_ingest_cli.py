"""`wanshi ingest load` as an operator runs it: a subprocess configured by environment."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import date
from pathlib import Path

from wanshi.bootstrap import Platform
from wanshi.config import Settings
from wanshi.kernel.identifiers import generate_resident_id

SCHEMA_YAML = """
fields:
  - {name: id_number, label: 身份证号, required: true, identifier: resident_id}
  - {name: name, label: 姓名, required: true, max_length: 10}
  - {name: birth_date, label: 出生日期, type: date}
mapping:
  name: 名字
"""


def _ingest(settings: Settings, *args: str) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "WANSHI_DATABASE_URL": settings.database_url or "",
        "WANSHI_DATA_DIR": str(settings.data_dir),
        "WANSHI_LOG_LEVEL": "WARNING",
    }
    return subprocess.run(
        [sys.executable, "-c", "from wanshi.datahub.ingest.cli import app; app()", *args],
        env=env,
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )


def test_load_from_the_command_line_twice(platform: Platform, settings: Settings, tmp_path: Path) -> None:
    schema = tmp_path / "schema.yaml"
    schema.write_text(SCHEMA_YAML, encoding="utf-8")
    number = generate_resident_id("340102", date(1990, 1, 2), 5)
    data = tmp_path / "people.csv"
    data.write_bytes(f"身份证号,名字,出生日期\n{number},张三,2020年10月24日\n".encode("gb18030"))

    first = _ingest(settings, "load", str(data), "--dataset", "people", "--schema", str(schema))
    assert "入库 1" in first.stderr
    assert "gb18030" in first.stderr
    second = _ingest(settings, "load", str(data), "--dataset", "people", "--schema", str(schema))
    assert "未新增数据" in second.stderr
    assert platform.datastore.count("people") == 1
