"""Requests/s of a trivial JSON endpoint through Wanshi's full middleware stack, against bare Starlette.

Three uvicorn servers run side by side with the same settings: a bare Starlette app with one JSON route, and
the Wanshi app (``create_app`` on a platform over a migrated SQLite database in a temporary directory) twice,
once with the access log off and once as production runs it (log level INFO, one access-log line per
request). ``wrk`` drives ``GET /healthz`` on each in interleaved rounds and the figures are
reported as medians and as ratios to the bare app measured in the same run.

Run alone: ``.venv/bin/python -m bench.http_json`` (prints the docs/benchmarks.md section); ``--help``.
"""

from __future__ import annotations

import argparse
import json
import shlex
import sys
import tempfile
import textwrap
from dataclasses import dataclass, field
from pathlib import Path

from bench.common import (
    BenchError,
    Report,
    Server,
    WrkResult,
    exit_cleanly_on_sigterm,
    machine_facts,
    median,
    require_wrk,
    run_wrk,
    running,
    spread,
    utc_now,
    wrk_command,
)

TITLE = "HTTP: trivial JSON endpoint through the full middleware stack"
PATH = "/healthz"
TARGET = 0.5
SERVER_CPUS = "0"
WRK_CPUS = "1"

# The measurement behind the --pin default (4 runs each way, alternated, 3 rounds of 10 s or 6 s; the spread
# of the bare server's rounds, which is the least noisy configuration, in each run).
PIN_NOTE = (
    "CPU pinning was measured before choosing: with `--pin` (servers on CPU 0, wrk on CPU 1, `taskset`) the "
    "spread between the bare server's rounds was 18 %, 21 %, 33 % and 46 % in four runs; without pinning, "
    "alternated with those, 7 %, 8 %, 10 % and 28 %; the ratios did not differ beyond that noise. "
    "On this 2-vCPU KVM guest pinning only stops the scheduler from moving the server away from whatever "
    "else runs, so the default is no pinning (`--pin` remains available)."
)

BARE = "bare Starlette"
WARNING = "Wanshi, access log off"
INFO = "Wanshi, production settings (access log on)"


@dataclass(frozen=True)
class Options:
    rounds: int = 5
    duration: int = 10
    warmup: int = 3
    threads: int = 1
    connections: int = 32
    pin: bool = False  # measured: pinning made rounds noisier on this machine, see PIN_NOTE

    def argv(self) -> list[str]:
        return [
            f"--rounds={self.rounds}",
            f"--duration={self.duration}",
            f"--warmup={self.warmup}",
            f"--threads={self.threads}",
            f"--connections={self.connections}",
            "--pin" if self.pin else "--no-pin",
        ]

    def direct_command(self) -> str:
        return shlex.join([".venv/bin/python", "-m", "bench.http_json", *self.argv()])


def parse_args(argv: list[str] | None = None) -> Options:
    d = Options()
    p = argparse.ArgumentParser(prog="python -m bench.http_json", description=__doc__.splitlines()[0])
    p.add_argument("--rounds", type=int, default=d.rounds, help="measured rounds per server (interleaved)")
    p.add_argument("--duration", type=int, default=d.duration, help="seconds per measured round")
    p.add_argument("--warmup", type=int, default=d.warmup, help="seconds of unmeasured load per server first")
    p.add_argument("--threads", type=int, default=d.threads, help="wrk threads")
    p.add_argument("--connections", type=int, default=d.connections, help="wrk connections")
    p.add_argument(
        "--pin",
        action=argparse.BooleanOptionalAction,
        default=d.pin,
        help=f"taskset: servers on CPU {SERVER_CPUS}, wrk on CPU {WRK_CPUS}",
    )
    a = p.parse_args(argv)
    if min(a.rounds, a.duration, a.threads, a.connections) < 1 or a.warmup < 0:
        p.error("rounds, duration, threads and connections must be positive; warmup non-negative")
    return Options(a.rounds, a.duration, a.warmup, a.threads, a.connections, a.pin)


@dataclass
class Outcome:
    options: Options
    date: str
    facts: dict[str, str]
    server_command: str
    wrk_command: str
    results: dict[str, list[WrkResult]] = field(default_factory=dict)
    log_lines: dict[str, int] = field(default_factory=dict)

    def median_rps(self, name: str) -> float:
        return median([r.rps for r in self.results[name]])

    def ratio(self, name: str) -> float:
        return self.median_rps(name) / self.median_rps(BARE)

    @property
    def passed(self) -> bool:
        return self.ratio(INFO) >= TARGET


def _wanshi_env(data_dir: Path) -> dict[str, str]:
    """Everything the benchmark depends on, explicit: a developer's .env or WANSHI_* must not change it."""
    return {
        "WANSHI_ENV": "development",
        "WANSHI_DATA_DIR": str(data_dir),
        "WANSHI_DATABASE_URL": f"sqlite:///{data_dir / 'wanshi.db'}",
        "WANSHI_WORKER_IN_PROCESS": "false",
        "WANSHI_LOG_JSON": "false",
        "WANSHI_DEBUG": "false",
    }


def _prepare_database(data_dir: Path) -> None:
    """A migrated SQLite database, as `wanshi migrate` would leave it (healthz does not query it)."""
    from wanshi.bootstrap import build_platform
    from wanshi.config import Settings
    from wanshi.infra.migrations import upgrade
    from wanshi.schema import seed_required_rows

    env = _wanshi_env(data_dir)
    settings = Settings(
        env="development",
        data_dir=data_dir,
        database_url=env["WANSHI_DATABASE_URL"],
        worker_in_process=False,
    )
    platform = build_platform(settings)
    try:
        upgrade(platform.engine)
        with platform.engine.begin() as conn:
            seed_required_rows(conn)
    finally:
        platform.dispose()


def _check_response(server: Server, *, full_stack: bool) -> None:
    status, headers, body = server.get(PATH)
    if status != 200 or json.loads(body).get("status") != "ok":
        raise BenchError(f"{server.name}: unexpected answer {status} {body!r}")
    if full_stack and not ("x-request-id" in headers and "content-security-policy" in headers):
        raise BenchError(f"{server.name}: the platform middleware did not run (headers: {headers})")


def _count_access_lines(server: Server) -> int:
    try:
        text = server.log_path.read_text(errors="replace")
    except OSError:
        return 0
    return sum(1 for line in text.splitlines() if f"GET {PATH} 200" in line)


def _shell(argv: list[str]) -> str:
    """A command line to show in the docs, with $PORT left for the shell to expand (no spaces in argv)."""
    return " ".join(argv)


def measure(opts: Options) -> Outcome:
    require_wrk()
    server_cpus = SERVER_CPUS if opts.pin else None
    wrk_cpus = WRK_CPUS if opts.pin else None
    with tempfile.TemporaryDirectory(prefix="wanshi-bench-") as tmp:
        root = Path(tmp)
        data_dir = root / "data"
        data_dir.mkdir()
        facts = machine_facts()  # before our own servers start, so the load average is the machine's
        _prepare_database(data_dir)
        wanshi_env = _wanshi_env(data_dir)
        servers = {
            BARE: Server(BARE, "bench.apps:bare_app", {}, root / "bare.log", server_cpus),
            WARNING: Server(
                WARNING,
                "bench.apps:wanshi_app",
                {**wanshi_env, "WANSHI_LOG_LEVEL": "INFO", "WANSHI_ACCESS_LOG": "false"},
                root / "wanshi-no-access-log.log", server_cpus,
            ),
            INFO: Server(
                INFO,
                "bench.apps:wanshi_app",
                {**wanshi_env, "WANSHI_LOG_LEVEL": "INFO", "WANSHI_ACCESS_LOG": "true"},
                root / "wanshi-production.log", server_cpus,
            ),
        }  # fmt: skip
        order = list(servers)

        def load(server: Server, seconds: int, label: str) -> WrkResult:
            command = wrk_command(
                server.url + PATH,
                threads=opts.threads,
                connections=opts.connections,
                duration=seconds,
                cpus=wrk_cpus,
            )
            result = run_wrk(command, label)
            if not server.alive():
                raise BenchError(f"{server.name}: server died during {label}\n{server.log_tail()}")
            return result

        with running(list(servers.values()), PATH):
            for name, server in servers.items():
                _check_response(server, full_stack=name != BARE)
            sample = servers[BARE]
            outcome = Outcome(
                options=opts,
                date=utc_now(),
                facts=facts,
                server_command=_shell(sample.command(display=True)),
                wrk_command=_shell(
                    wrk_command(
                        f"http://127.0.0.1:$PORT{PATH}",
                        threads=opts.threads,
                        connections=opts.connections,
                        duration=opts.duration,
                        cpus=wrk_cpus,
                    )
                ),
            )
            if opts.warmup:
                for name in order:
                    load(servers[name], opts.warmup, f"{name} warm-up")
            for round_no in range(opts.rounds):
                # Rotate the order every round so that drift in the machine's speed spreads over all three.
                for name in order[round_no % len(order) :] + order[: round_no % len(order)]:
                    result = load(servers[name], opts.duration, f"{name} round {round_no + 1}")
                    outcome.results.setdefault(name, []).append(result)
                    print(f"  {name:<38} round {round_no + 1}: {result.rps:>9.0f} req/s", file=sys.stderr)
            for name, server in servers.items():
                outcome.log_lines[name] = _count_access_lines(server)
    return outcome


def section(out: Outcome) -> str:
    o = out.options
    verdict = "PASS" if out.passed else "FAIL"
    rows = []
    for name, results in out.results.items():
        figures = ", ".join(f"{r.rps:.0f}" for r in results)
        ratio = "1 (baseline)" if name == BARE else f"{out.ratio(name):.2f}"
        mid = sorted(results, key=lambda r: r.rps)[len(results) // 2]
        rows.append(
            f"| {name} | {figures} | **{out.median_rps(name):.0f}** | {spread([r.rps for r in results]):.0%} "
            f"| **{ratio}** | {mid.latency_avg} | {sum(r.requests for r in results)} "
            f"| {out.log_lines[name]} |"
        )
    facts = "\n".join(f"| {k} | {v} |" for k, v in out.facts.items())
    pin = (
        f"servers pinned to CPU {SERVER_CPUS} and wrk to CPU {WRK_CPUS} with `taskset`"
        if o.pin
        else "no CPU pinning: the scheduler places servers and wrk"
    )
    return f"""## {TITLE}

**What is measured.** Requests per second of `GET {PATH}` (a JSON body of two short strings) served by
the Wanshi app, built as production builds it (`Settings` → `configure_logging` → `build_platform` →
`create_app`, over a migrated SQLite database in a temporary directory, `WANSHI_WORKER_IN_PROCESS=false`),
so every request passes `PlatformMiddleware` (request id, security headers, Prometheus metrics, access log),
Starlette's `SessionMiddleware`, FastAPI's error and exception middleware and its router. `/healthz` is a
plain Starlette route inside the FastAPI app (probes need no dependency solving), as in production. The
baseline is a bare Starlette app with one route returning the same body, served the same way in the same run.
Wanshi is measured twice: with the access log off (`WANSHI_ACCESS_LOG=false`) and with production's
settings (log level INFO and one buffered access-log line per request, written to a file). Before loading,
each server is checked to answer 200 with `"status": "ok"` (and, for Wanshi, the `x-request-id` and CSP
headers that prove the middleware ran); any non-2xx/3xx response or socket error reported by wrk fails the
benchmark.

**Command.** `make bench` (every benchmark; rewrites this file) or, for this benchmark alone (prints this
section): `{o.direct_command()}`

Each server (one process, the same uvicorn settings for all three, those of `wanshi serve`; {pin}):
`{out.server_command}` for the baseline; for Wanshi the factory is `bench.apps:wanshi_app` and the environment
sets `WANSHI_LOG_LEVEL=INFO`, `WANSHI_ACCESS_LOG=false` (or `true`), `WANSHI_DATA_DIR` and
`WANSHI_DATABASE_URL` (SQLite in a temporary directory), `WANSHI_WORKER_IN_PROCESS=false`,
`WANSHI_LOG_JSON=false` (JSON lines, an option in production, cost a little more per line),
`WANSHI_ENV=development`.
Load, per server and round ({o.warmup} s unmeasured warm-up per server first; {o.rounds} rounds,
the order of the three rotated each round): `{out.wrk_command}`

{textwrap.fill(PIN_NOTE, width=108)}

**Machine** ({out.date}):

| fact | value |
|---|---|
{facts}

**Results** (requests/s; median of {o.rounds} rounds; spread = (max − min) / median):

| server | rounds (req/s) | median | spread | ratio to bare | avg latency¹ | requests | log lines² |
|---|---|---|---|---|---|---|---|
{chr(10).join(rows)}

¹ wrk's average latency in the median round. ² `GET {PATH} 200` access-log lines in the server's log over
the whole run, warm-up included: about one per request with the access log on, none with it off.

**Target:** Wanshi with production settings / bare ≥ {TARGET} → {out.ratio(INFO):.2f} → **{verdict}**.
With the access log off the ratio is {out.ratio(WARNING):.2f} (reported, not gated).
"""


def report() -> Report:
    """For bench.run: this benchmark with the default options."""
    out = measure(Options())
    return Report(
        section=section(out),
        passed=out.passed,
        target=f"Wanshi (production settings) / bare ≥ {TARGET}",
        result=f"{out.ratio(INFO):.2f} (access log off: {out.ratio(WARNING):.2f})",
    )


def main(argv: list[str] | None = None) -> int:
    opts = parse_args(argv)
    exit_cleanly_on_sigterm()
    try:
        out = measure(opts)
    except BenchError as exc:
        print(f"bench.http_json: ERROR: {exc}", file=sys.stderr)
        return 2
    print(section(out))
    return 0 if out.passed else 1


if __name__ == "__main__":
    sys.exit(main())
