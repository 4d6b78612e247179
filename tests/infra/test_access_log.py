from __future__ import annotations

import io
import json

from wanshi.infra.accesslog import AccessLog


def test_lines_are_buffered_then_written_masked_on_close() -> None:
    stream = io.StringIO()
    log = AccessLog(stream)
    log.start()
    log.write("req-1", "GET", "/api/v1/persons/34052419800101001X", 200, 0.0123)
    log.close()
    line = stream.getvalue().strip()
    assert "[req-1] GET /api/v1/persons/340524********001X 200 0.0123s" in line
    assert "19800101" not in line


def test_json_lines_and_off_switch() -> None:
    stream = io.StringIO()
    log = AccessLog(stream, as_json=True)
    log.write("req-2", "POST", "/login", 303, 0.5)
    log.flush()
    record = json.loads(stream.getvalue())
    assert (record["request_id"], record["status"], record["ms"]) == ("req-2", 303, 500.0)
    quiet = io.StringIO()
    off = AccessLog(quiet, enabled=False)
    off.write("req-3", "GET", "/", 200, 0.1)
    off.flush()
    assert quiet.getvalue() == ""
