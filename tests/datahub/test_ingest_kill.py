"""A 1M-row load killed with SIGKILL half-way, then run again, ends with exactly the right rows (issue #3)."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

from wanshi.bootstrap import Platform
from wanshi.config import Settings
from wanshi.datahub.ingest import api as ingest
from wanshi.kernel.actor import SYSTEM
from wanshi.kernel.identifiers import resident_id_check_char

ROWS = 1_000_000  # the acceptance: a 1M-row load killed half-way
CHUNK = 100_000
SCHEMA = {
    "fields": [
        {"name": "id_number", "label": "身份证号", "required": True, "identifier": "resident_id"},
        {"name": "name", "label": "姓名", "required": True},
        {"name": "seq", "label": "序号", "type": "integer"},
    ]
}
# The child loads slowly (a pause per chunk) so that the kill lands between its first and last chunk.
CHILD = """
import json, sys, time
from pathlib import Path
from wanshi.bootstrap import build_platform
from wanshi.config import Settings
from wanshi.datahub.ingest import api as ingest
from wanshi.kernel.actor import SYSTEM

url, data_dir, csv, schema, chunk = sys.argv[1:6]
platform = build_platform(Settings(env="test", database_url=url, data_dir=Path(data_dir)))
cmd = ingest.LoadFile(
    path=Path(csv), dataset="people", schema=ingest.parse_schema(json.loads(schema)), chunk_rows=int(chunk)
)
with platform.uow() as uow:
    ingest.load_file(uow, platform.datastore, cmd, SYSTEM, progress=lambda counts: time.sleep(0.3))
"""


def _csv(path: Path) -> Path:
    lines = ["身份证号,姓名,序号"]
    for i in range(ROWS):
        first17 = f"340102{1950 + i % 60}{1 + i % 12:02d}{1 + i % 28:02d}{i % 1000:03d}"
        lines.append(f"{first17}{resident_id_check_char(first17)},人{i},{i}")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_sigkill_half_way_then_rerun_gives_exactly_the_rows(
    platform: Platform, settings: Settings, tmp_path: Path
) -> None:
    source = _csv(tmp_path / "people.csv")
    child = subprocess.Popen(
        [
            sys.executable,
            "-c",
            CHILD,
            settings.database_url or "",
            str(settings.data_dir),
            str(source),
            json.dumps(SCHEMA),
            str(CHUNK),
        ],
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 60
        while len(platform.datastore.batches("people")) < 3:
            assert child.poll() is None, child.stderr.read().decode() if child.stderr else ""
            assert time.monotonic() < deadline, "the child never wrote a chunk"
            time.sleep(0.05)
        child.send_signal(signal.SIGKILL)
    finally:
        child.wait()
    assert child.returncode == -signal.SIGKILL
    written = platform.datastore.count("people")
    assert 0 < written < ROWS, "the kill must land in the middle of the load"
    with platform.uow() as uow:
        (interrupted,) = ingest.list_loads(uow, SYSTEM, dataset="people")
    assert interrupted.status is ingest.LoadStatus.RUNNING

    cmd = ingest.LoadFile(path=source, dataset="people", schema=ingest.parse_schema(SCHEMA), chunk_rows=CHUNK)
    with platform.uow() as uow:
        done = ingest.load_file(uow, platform.datastore, cmd, SYSTEM)
    assert done.id == interrupted.id
    assert done.status is ingest.LoadStatus.COMPLETE
    assert done.counts.stored == ROWS
    result = platform.datastore.query(
        "SELECT count(*) AS n, count(DISTINCT seq) AS d, min(seq) AS lo FROM people"
    )
    assert result.to_pylist() == [{"n": ROWS, "d": ROWS, "lo": 0}]
