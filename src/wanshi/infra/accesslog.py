"""The access log: one line per request, buffered and written by a background thread.

Through the logging module a line costs ~40 µs on this hardware (record, caller lookup, time formatting,
a flush per line) — more than all the platform's middleware together. This writer formats with a
per-second timestamp cache and hands the lines to a thread that writes them every half second, as web
servers do with buffered access logs. Lines carry the request id, like every other log line, and are
masked the same way.
"""

from __future__ import annotations

import atexit
import json
import sys
import threading
import time
from typing import TextIO

from wanshi.infra.logging import mask_personal_data

FLUSH_SECONDS = 0.5
# Written at once when this many lines wait, so a writer that was never started cannot grow without bound.
MAX_BUFFERED = 2000


class AccessLog:
    def __init__(self, stream: TextIO | None = None, *, as_json: bool = False, enabled: bool = True) -> None:
        self.stream = stream or sys.stderr
        self.as_json = as_json
        self.enabled = enabled
        self._lines: list[str] = []
        self._lock = threading.Lock()
        self._second = -1
        self._stamp = ""
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        if self.enabled and self._thread is None:
            self._thread = threading.Thread(target=self._run, name="wanshi-access-log", daemon=True)
            self._thread.start()
            atexit.register(self.close)

    def write(self, request_id: str, method: str, path: str, status: int, seconds: float) -> None:
        if not self.enabled:
            return
        now = time.time()
        if int(now) != self._second:
            self._second = int(now)
            self._stamp = time.strftime("%Y-%m-%dT%H:%M:%S%z", time.localtime(now))
        path = mask_personal_data(path)
        if self.as_json:
            line = json.dumps(
                {
                    "at": self._stamp,
                    "level": "INFO",
                    "logger": "wanshi.access",
                    "request_id": request_id,
                    "method": method,
                    "path": path,
                    "status": status,
                    "ms": round(seconds * 1000, 1),
                },
                ensure_ascii=False,
            )
        else:
            line = f"{self._stamp} INFO wanshi.access [{request_id}] {method} {path} {status} {seconds:.4f}s"
        with self._lock:
            self._lines.append(line)
            full = len(self._lines) >= MAX_BUFFERED
        if full:
            self.flush()

    def flush(self) -> None:
        with self._lock:
            lines, self._lines = self._lines, []
        if lines:
            self.stream.write("\n".join(lines) + "\n")
            self.stream.flush()

    def close(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=2)
            self._thread = None
        self.flush()

    def _run(self) -> None:
        while not self._stop.wait(FLUSH_SECONDS):
            self.flush()
