"""Shared pieces for benchmarks: machine facts, uvicorn servers in subprocesses, wrk runs and parsing."""

from __future__ import annotations

import contextlib
import os
import platform
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
LOOPBACK = "127.0.0.1"


class BenchError(RuntimeError):
    """A benchmark could not produce a trustworthy figure (server died, errors in the load, missing tool)."""


@dataclass(frozen=True)
class Report:
    """What a benchmark hands to bench.run: its docs/benchmarks.md section and a one-line summary."""

    section: str  # markdown, starting with "## <TITLE>"
    passed: bool  # the target was met
    target: str  # e.g. "Wanshi / bare ≥ 0.5"
    result: str  # e.g. "0.62"


def shown(path: str) -> str:
    """A path as the docs show it: relative to the repository when inside it."""
    p = Path(path)
    return str(p.relative_to(REPO)) if p.is_relative_to(REPO) else path


# --- machine facts -----------------------------------------------------------------------------------


def cpu_model() -> str:
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or "unknown"


def wrk_version() -> str:
    try:
        out = subprocess.run(["wrk", "--version"], capture_output=True, text=True, check=False)
    except FileNotFoundError:
        return "not installed (only the HTTP benchmark needs it; `make bench` installs it)"
    first = (out.stdout or out.stderr).splitlines()
    return first[0].split(" [")[0] if first else "unknown"


def machine_facts() -> dict[str, str]:
    versions = ", ".join(
        f"{name} {_version(name)}" for name in ("uvicorn", "uvloop", "httptools", "starlette", "fastapi")
    )
    return {
        "nproc": str(os.cpu_count() or 0),
        "usable CPUs": str(len(os.sched_getaffinity(0))),
        "CPU": cpu_model(),
        "kernel": platform.release(),
        "Python": f"{platform.python_implementation()} {platform.python_version()}",
        "packages": versions,
        "load generator": wrk_version(),
        "load average (1, 5, 15 min) at start": ", ".join(f"{x:.2f}" for x in os.getloadavg()),
    }


def _version(name: str) -> str:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return "absent"


def utc_now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")


def median(values: Sequence[float]) -> float:
    return statistics.median(values)


def spread(values: Sequence[float]) -> float:
    """(max - min) / median, as a fraction: how far apart the rounds of one configuration landed."""
    m = statistics.median(values)
    return (max(values) - min(values)) / m if m else 0.0


# --- servers -----------------------------------------------------------------------------------------


def exit_cleanly_on_sigterm() -> None:
    """Turn SIGTERM (a timeout, a CI cancel) into SystemExit, so that the finally blocks stop the servers."""

    def handler(signum: int, _frame: object) -> None:
        raise SystemExit(128 + signum)

    signal.signal(signal.SIGTERM, handler)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((LOOPBACK, 0))
        port: int = s.getsockname()[1]
        return port


def pinned(command: list[str], cpus: str | None) -> list[str]:
    return ["taskset", "-c", cpus, *command] if cpus is not None else command


@dataclass
class Server:
    name: str
    factory: str
    env: Mapping[str, str]
    log_path: Path
    cpus: str | None
    port: int = 0
    proc: subprocess.Popen[bytes] | None = field(default=None, repr=False)

    @property
    def url(self) -> str:
        return f"http://{LOOPBACK}:{self.port}"

    def command(self, *, display: bool = False) -> list[str]:
        # The same uvicorn settings for every app, as `wanshi serve` runs it (uvicorn.run: loop and http
        # "auto", which pick uvloop and httptools; proxy_headers=False; access_log=False): one process,
        # uvicorn's log level at warning (the app's own logging is configured by the app).
        return pinned(
            [
                shown(sys.executable) if display else sys.executable,
                "-m", "uvicorn", "--factory", self.factory,
                "--host", LOOPBACK, "--port", "$PORT" if display else str(self.port), "--workers", "1",
                "--loop", "uvloop", "--http", "httptools", "--no-proxy-headers",
                "--no-access-log", "--log-level", "warning",
            ],
            self.cpus,
        )  # fmt: skip

    def start(self, ready_path: str, timeout: float = 30.0) -> None:
        last: Exception | None = None
        for _attempt in range(3):  # a free port can be taken between probing and binding: retry
            self.port = free_port()
            log = self.log_path.open("ab")
            try:
                self.proc = subprocess.Popen(
                    self.command(),
                    cwd=REPO,
                    env={**os.environ, **self.env},
                    stdin=subprocess.DEVNULL,
                    stdout=log,
                    stderr=log,
                    start_new_session=True,  # its own process group, so stop() reaches any child
                )
            finally:
                log.close()
            try:
                self._wait_ready(ready_path, timeout)
                return
            except BenchError as exc:
                last = exc
                self.stop()
        raise BenchError(f"{self.name}: server did not start: {last}\n{self.log_tail()}")

    def _wait_ready(self, path: str, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.proc is not None
            if self.proc.poll() is not None:
                raise BenchError(f"exited with status {self.proc.returncode}")
            try:
                with urllib.request.urlopen(self.url + path, timeout=2) as resp:
                    if resp.status == 200:
                        return
            except OSError:
                time.sleep(0.2)
        raise BenchError(f"not ready after {timeout:.0f}s")

    def get(self, path: str) -> tuple[int, dict[str, str], bytes]:
        with urllib.request.urlopen(self.url + path, timeout=5) as resp:
            return resp.status, {k.lower(): v for k, v in resp.headers.items()}, resp.read()

    def stop(self) -> None:
        proc, self.proc = self.proc, None
        if proc is None or proc.poll() is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def log_tail(self, lines: int = 20) -> str:
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return ""
        return "\n".join(text.splitlines()[-lines:])


@contextlib.contextmanager
def running(servers: Sequence[Server], ready_path: str) -> Iterator[None]:
    """Start every server; always stop them all, whatever happens in between."""
    try:
        for server in servers:
            server.start(ready_path)
        yield
    finally:
        for server in servers:
            server.stop()


# --- wrk -----------------------------------------------------------------------------------------------

_RPS = re.compile(r"^Requests/sec:\s+([0-9.]+)", re.M)
_TOTAL = re.compile(r"^\s*(\d+) requests in ", re.M)
_NON_2XX = re.compile(r"Non-2xx or 3xx responses:\s+(\d+)")
_SOCKET = re.compile(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)")
_LATENCY = re.compile(r"^\s*Latency\s+(\S+)\s+(\S+)\s+(\S+)", re.M)


@dataclass(frozen=True)
class WrkResult:
    rps: float
    requests: int
    latency_avg: str
    output: str


def require_wrk() -> None:
    if shutil.which("wrk") is None:
        raise BenchError("wrk is not installed: `apt-get install -y wrk` (make bench does this)")


def wrk_command(url: str, *, threads: int, connections: int, duration: int, cpus: str | None) -> list[str]:
    return pinned(["wrk", f"-t{threads}", f"-c{connections}", f"-d{duration}s", "--latency", url], cpus)


def run_wrk(command: list[str], label: str) -> WrkResult:
    proc = subprocess.run(command, capture_output=True, text=True, check=False, timeout=300)
    out = proc.stdout + proc.stderr
    if proc.returncode != 0:
        raise BenchError(f"{label}: wrk exited with {proc.returncode}:\n{out}")
    bad = _NON_2XX.search(out)
    if bad and int(bad.group(1)):
        raise BenchError(f"{label}: {bad.group(1)} responses were not 2xx/3xx:\n{out}")
    errors = _SOCKET.search(out)
    if errors and any(int(n) for n in errors.groups()):
        raise BenchError(f"{label}: socket errors during the load:\n{out}")
    rps, total, latency = _RPS.search(out), _TOTAL.search(out), _LATENCY.search(out)
    if not (rps and total):
        raise BenchError(f"{label}: could not read Requests/sec from wrk:\n{out}")
    if int(total.group(1)) == 0:
        raise BenchError(f"{label}: wrk completed no requests:\n{out}")
    return WrkResult(
        rps=float(rps.group(1)),
        requests=int(total.group(1)),
        latency_avg=latency.group(1) if latency else "?",
        output=out,
    )


def peak_rss() -> int:
    """This process's peak resident memory in bytes, from VmHWM. Not ``getrusage``'s ru_maxrss: a child
    started by fork() inherits its parent's peak, which survives exec, so every child of a large parent
    would report at least the parent's size (seen: 1,554 MiB for a 1M-row child of ``make bench``)."""
    with contextlib.suppress(OSError):
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
