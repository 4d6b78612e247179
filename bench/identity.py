"""Identity: OIDC userinfo and token introspection requests/s over HTTP, and password logins/s.

One uvicorn server runs the Wanshi app (``bench.apps:wanshi_app``, production's build path) over a SQLite
database in a temporary directory that holds one organisation, one staff account, one registered system and
a live access token, minted through the provider's own services (authorize with consent, then the token
endpoint's code exchange with PKCE). ``wrk`` (as for the HTTP benchmark: a C client that leaves the two
cores to the server) drives ``GET /oidc/userinfo`` with the bearer token, ``POST /oidc/introspect`` with the
client's credentials, and ``GET /healthz`` as the baseline of the same run; any answer that is not 2xx fails
the run. Before and after the load a probe in this process reads the answers themselves (``"sub"`` in
userinfo, ``"active":true`` from introspection), so a fast wrong answer cannot pass.

Password logins/s are measured in process through ``platform.identity.authenticate`` (lockout bookkeeping and
all) with the argon2id parameters of the settings' defaults, which production uses unless configured.

Run alone: ``.venv/bin/python -m bench.identity`` (prints the docs/benchmarks.md section); ``--help``.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import hashlib
import json
import os
import secrets
import shlex
import sys
import tempfile
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import parse_qs, urlencode, urlsplit

if TYPE_CHECKING:
    from wanshi.bootstrap import Platform
    from wanshi.identity.services.oidc_provider import OidcProvider

from bench.common import (
    LOOPBACK,
    BenchError,
    Report,
    Server,
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

TITLE = "Identity: OIDC userinfo and introspection over HTTP, password logins"
TARGET_RPS = 1000.0
READY_PATH = "/healthz"
PASSWORD = "Bench#Anhui2026"
REDIRECT = "https://rp.bench.example/cb"


@dataclass(frozen=True)
class Options:
    rounds: int = 3
    duration: float = 5.0
    warmup: float = 2.0
    connections: int = 32
    logins: int = 12
    login_threads: int = 2
    database: str = "sqlite"  # or a PostgreSQL server URL: a scratch database is made there and dropped

    def argv(self) -> list[str]:
        return [
            f"--database={_shown_database(self.database)}",
            f"--rounds={self.rounds}",
            f"--duration={self.duration:g}",
            f"--warmup={self.warmup:g}",
            f"--connections={self.connections}",
            f"--logins={self.logins}",
            f"--login-threads={self.login_threads}",
        ]

    def direct_command(self) -> str:
        return shlex.join([".venv/bin/python", "-m", "bench.identity", *self.argv()])


def parse_args(argv: list[str] | None = None) -> Options:
    d = Options()
    p = argparse.ArgumentParser(prog="python -m bench.identity", description=__doc__.splitlines()[0])
    p.add_argument("--rounds", type=int, default=d.rounds, help="measured rounds per endpoint (interleaved)")
    p.add_argument("--duration", type=float, default=d.duration, help="seconds per measured round")
    p.add_argument("--warmup", type=float, default=d.warmup, help="seconds of unmeasured load per endpoint")
    p.add_argument("--connections", type=int, default=d.connections, help="concurrent keep-alive connections")
    p.add_argument("--logins", type=int, default=d.logins, help="password logins per login measurement")
    p.add_argument("--login-threads", type=int, default=d.login_threads, help="threads for parallel logins")
    p.add_argument(
        "--database",
        default=d.database,
        help="sqlite (a file in a temporary directory) or a PostgreSQL server URL "
        "(postgresql+psycopg://user@host:5432/postgres): a scratch database is created there and dropped",
    )
    a = p.parse_args(argv)
    if min(a.rounds, a.connections, a.logins, a.login_threads) < 1 or a.duration <= 0 or a.warmup < 0:
        p.error("rounds, connections, logins and threads must be positive, duration > 0, warmup >= 0")
    return Options(a.rounds, a.duration, a.warmup, a.connections, a.logins, a.login_threads, a.database)


def _shown_database(url: str) -> str:
    """A server URL as the docs show it: without a password."""
    if url == "sqlite":
        return url
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


@contextlib.contextmanager
def _database(choice: str, data_dir: Path) -> Iterator[str]:
    if choice == "sqlite":
        yield f"sqlite:///{data_dir / 'wanshi.db'}"
        return
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    name = f"wanshi_bench_{os.getpid()}_{secrets.token_hex(3)}"
    admin = create_engine(choice, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        yield make_url(choice).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


# --- the world: a database with a client, an account and a live token ---------------------------------------
def _env(data_dir: Path, database_url: str) -> dict[str, str]:
    """Everything the server depends on, explicit: a developer's .env or WANSHI_* must not change it."""
    return {
        "WANSHI_ENV": "development",
        "WANSHI_DATA_DIR": str(data_dir),
        "WANSHI_DATABASE_URL": database_url,
        "WANSHI_WORKER_IN_PROCESS": "false",
        "WANSHI_LOG_JSON": "false",
        "WANSHI_DEBUG": "false",
        "WANSHI_LOG_LEVEL": "INFO",
        "WANSHI_ACCESS_LOG": "true",
        "WANSHI_PUBLIC_URL": "http://localhost",
    }


@dataclass(frozen=True)
class World:
    client_id: str
    secret: str
    access_token: str
    username: str
    argon2: str


def _prepare(data_dir: Path, database_url: str) -> World:
    """The schema from the tables' metadata (as the tests build it), then the records, through services."""
    from wanshi.bootstrap import build_platform
    from wanshi.config import Settings
    from wanshi.identity.api import CreateStaffUser
    from wanshi.identity.services.oidc import RegisterClient
    from wanshi.identity.services.oidc_provider import build_provider
    from wanshi.kernel.actor import SYSTEM, Role
    from wanshi.org import api as org
    from wanshi.schema import load_metadata, seed_required_rows

    env = _env(data_dir, database_url)
    settings = Settings(
        env="development",
        data_dir=data_dir,
        database_url=env["WANSHI_DATABASE_URL"],
        worker_in_process=False,
        public_url=env["WANSHI_PUBLIC_URL"],
    )
    platform = build_platform(settings)
    try:
        with platform.engine.begin() as conn:
            load_metadata().create_all(conn)
            seed_required_rows(conn)
        with platform.uow() as uow:
            org.load_divisions(uow, org.LoadDivisions(table_text=org.bundled_division_table()), SYSTEM)
        with platform.uow() as uow:
            unit = org.create_organisation(
                uow, org.CreateOrganisation(name="合肥市政务服务管理局", division_code="340100"), SYSTEM
            )
        account = CreateStaffUser(
            username="bench.clerk",
            display_name="压测用户",
            organisation_id=unit.id,
            password=PASSWORD,
            roles=(Role.CLERK,),
        )
        with platform.uow() as uow:
            staff = platform.identity.create_staff_user(uow, account, SYSTEM)
        provider = build_provider(settings, platform.sealer, platform.identity)
        system = RegisterClient(organisation_id=unit.id, name="压测系统", redirect_uris=(REDIRECT,))
        with platform.uow() as uow:
            issued = provider.oidc.register_client(uow, system, SYSTEM)
        if issued.secret is None:
            raise BenchError("a confidential client came without a secret")
        token = _mint_token(platform, provider, staff.id, issued.client.client_id, issued.secret)
        s = settings
        return World(
            client_id=issued.client.client_id,
            secret=issued.secret,
            access_token=token,
            username=account.username,
            argon2=f"argon2id t={s.password_time_cost}, m={s.password_memory_kib} KiB, "
            f"p={s.password_parallelism}",
        )
    finally:
        platform.dispose()


def _mint_token(platform: Platform, provider: OidcProvider, user_id: int, client_id: str, secret: str) -> str:
    """A login session, consent, a code and its exchange with PKCE: how a browser and a system get one."""
    from wanshi.identity.services.oidc_provider import Headers, HttpCall, Redirect

    with platform.uow() as uow:
        started = platform.identity.sessions.start(
            uow, user_id, ("pwd", "otp", "mfa"), source_address="", user_agent="bench", device_token=None
        )
        uow.commit()
    with platform.uow() as uow:
        actor = platform.identity.sessions.session_actor(uow, started.session_id)
    if actor is None:
        raise BenchError("the bench's login session is not live")
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    params = [
        ("client_id", client_id),
        ("response_type", "code"),
        ("scope", "openid profile"),
        ("redirect_uri", REDIRECT),
        ("state", "bench"),
        ("code_challenge", challenge),
        ("code_challenge_method", "S256"),
    ]
    issuer = platform.settings.public_url
    consent = HttpCall("POST", f"{issuer}/oidc/authorize", Headers([]), [], params)
    with platform.uow() as uow:
        step = provider.authorize(uow, consent, actor, issuer, decision=True)
    if not isinstance(step, Redirect):
        raise BenchError(f"authorisation did not give a code: {step}")
    code = parse_qs(urlsplit(step.location).query)["code"][0]
    basic = base64.b64encode(f"{client_id}:{secret}".encode()).decode()
    form = [("grant_type", "authorization_code"), ("code", code), ("redirect_uri", REDIRECT)]
    exchange = HttpCall(
        "POST",
        f"{issuer}/oidc/token",
        Headers([("authorization", f"Basic {basic}")]),
        [],
        [*form, ("code_verifier", verifier)],
    )
    with platform.uow() as uow:
        answer = provider.token(uow, exchange, issuer)
    if answer.status != 200 or not isinstance(answer.body, dict):
        raise BenchError(f"token exchange failed: {answer.status} {answer.body}")
    return str(answer.body["access_token"])


# --- the requests: wrk's load, and a small keep-alive HTTP/1.1 probe that reads the answers ---------------
@dataclass(frozen=True)
class Target:
    name: str
    method: str
    path: str
    headers: dict[str, str]
    body: str
    check: bytes  # must appear in every body the probe reads

    @property
    def request(self) -> bytes:
        headers = {"Host": "localhost", **self.headers}
        if self.body:
            headers["Content-Length"] = str(len(self.body))
        head = "".join(f"{k}: {v}\r\n" for k, v in headers.items())
        return f"{self.method} {self.path} HTTP/1.1\r\n{head}\r\n{self.body}".encode("ascii")

    @property
    def lua(self) -> str:
        """A wrk script sending this request."""
        lines = [f"wrk.method = {json.dumps(self.method)}", f"wrk.body = {json.dumps(self.body)}"]
        lines += [f"wrk.headers[{json.dumps(k)}] = {json.dumps(v)}" for k, v in self.headers.items()]
        return "\n".join(lines) + "\n"


@dataclass
class Tally:
    done: int = 0
    bad: list[str] = field(default_factory=list)


async def _connection(port: int, target: Target, stop_at: float, tally: Tally) -> None:
    reader, writer = await asyncio.open_connection(LOOPBACK, port)
    try:
        while time.perf_counter() < stop_at:
            writer.write(target.request)
            head = await reader.readuntil(b"\r\n\r\n")
            status = head[9:12]
            length = 0
            for line in head.split(b"\r\n")[1:]:
                if line[:15].lower() == b"content-length:":
                    length = int(line[15:].strip())
            body = await reader.readexactly(length)
            if status != b"200" or (target.check and target.check not in body):
                if len(tally.bad) < 5:
                    tally.bad.append(f"{status.decode()} {body[:200]!r}")
                continue
            tally.done += 1
    finally:
        writer.close()


async def _load(port: int, target: Target, seconds: float, connections: int) -> tuple[float, Tally]:
    tally = Tally()
    started = time.perf_counter()
    stop_at = started + seconds
    await asyncio.gather(*(_connection(port, target, stop_at, tally) for _ in range(connections)))
    return tally.done / (time.perf_counter() - started), tally


def _targets(world: World) -> list[Target]:
    basic = base64.b64encode(f"{world.client_id}:{world.secret}".encode()).decode()
    form = {"Authorization": f"Basic {basic}", "Content-Type": "application/x-www-form-urlencoded"}
    return [
        Target("GET /healthz (baseline)", "GET", "/healthz", {}, "", b'"ok"'),
        Target(
            "GET /oidc/userinfo",
            "GET",
            "/oidc/userinfo",
            {"Authorization": f"Bearer {world.access_token}"},
            "",
            b'"sub"',
        ),
        Target(
            "POST /oidc/introspect",
            "POST",
            "/oidc/introspect",
            form,
            urlencode({"token": world.access_token}),
            b'"active":true',
        ),
    ]


# --- password logins --------------------------------------------------------------------------------------
def _logins(
    data_dir: Path, database_url: str, username: str, count: int, threads: int
) -> tuple[float, float]:
    """(sequential logins/s, logins/s with ``threads`` threads), with production's argon2 parameters."""
    from wanshi.bootstrap import build_platform
    from wanshi.config import Settings

    settings = Settings(
        env="development", data_dir=data_dir, database_url=database_url, worker_in_process=False
    )
    platform = build_platform(settings)

    def one(_: int) -> None:
        with platform.uow() as uow:
            platform.identity.authenticate(uow, username, PASSWORD)

    try:
        one(0)  # warm
        started = time.perf_counter()
        for i in range(count):
            one(i)
        sequential = count / (time.perf_counter() - started)
        with ThreadPoolExecutor(max_workers=threads) as pool:
            started = time.perf_counter()
            list(pool.map(one, range(count)))
            parallel = count / (time.perf_counter() - started)
    finally:
        platform.dispose()
    return sequential, parallel


def _uow_floor(data_dir: Path, database_url: str, count: int = 300) -> float:
    """Milliseconds of one unit of work running a single ``SELECT 1`` (session, connection, BEGIN,
    rollback): what any endpoint that reads the database pays at least, measured in this process."""
    from sqlalchemy import text

    from wanshi.bootstrap import build_platform
    from wanshi.config import Settings

    settings = Settings(
        env="development", data_dir=data_dir, database_url=database_url, worker_in_process=False
    )
    platform = build_platform(settings)
    try:
        with platform.uow() as uow:
            uow.session.execute(text("SELECT 1"))
        started = time.perf_counter()
        for _ in range(count):
            with platform.uow() as uow:
                uow.session.execute(text("SELECT 1"))
        return (time.perf_counter() - started) / count * 1000
    finally:
        platform.dispose()


def _query_floor(database_url: str, access_token: str, count: int = 300) -> float:
    """Milliseconds of userinfo's one query alone, on a kept connection in autocommit (no BEGIN, so no
    write lock on SQLite): what a read-only unit of work could cost. A comparison for the figures above,
    not a path the platform takes."""
    from sqlalchemy import create_engine

    from wanshi.identity.repository.oidc import token_statement
    from wanshi.infra.crypto import token_digest

    engine = create_engine(database_url, isolation_level="AUTOCOMMIT")
    statement, digest = token_statement(), token_digest(access_token)
    try:
        with engine.connect() as conn:
            if conn.execute(statement, {"digest": digest}).first() is None:
                raise BenchError("the bench's token is not in the database")
            started = time.perf_counter()
            for _ in range(count):
                conn.execute(statement, {"digest": digest}).first()
            return (time.perf_counter() - started) / count * 1000
    finally:
        engine.dispose()


# --- the run ----------------------------------------------------------------------------------------------
@dataclass
class Outcome:
    options: Options
    date: str
    facts: dict[str, str]
    argon2: str
    results: dict[str, list[float]] = field(default_factory=dict)
    logins: tuple[float, float] = (0.0, 0.0)
    uow_ms: float = 0.0
    query_ms: float = 0.0

    def median_rps(self, name: str) -> float:
        return median(self.results[name])

    @property
    def passed(self) -> bool:
        return all(self.median_rps(n) >= TARGET_RPS for n in self.results if not n.endswith("(baseline)"))


def measure(opts: Options) -> Outcome:
    with tempfile.TemporaryDirectory(prefix="wanshi-bench-identity-") as tmp:
        root = Path(tmp)
        data_dir = root / "data"
        data_dir.mkdir()
        facts = machine_facts()
        with contextlib.ExitStack() as stack:
            database_url = stack.enter_context(_database(opts.database, data_dir))
            world = _prepare(data_dir, database_url)
            server = Server(
                "wanshi", "bench.apps:wanshi_app", _env(data_dir, database_url), root / "server.log", None
            )
            outcome = Outcome(options=opts, date=utc_now(), facts=facts, argon2=world.argon2)
            outcome.uow_ms = _uow_floor(data_dir, database_url)
            outcome.query_ms = _query_floor(database_url, world.access_token)
            stack.enter_context(running([server], READY_PATH))
            _run_load(opts, server, _targets(world), outcome, root)
            outcome.logins = _logins(data_dir, database_url, world.username, opts.logins, opts.login_threads)
    return outcome


def _probe(server: Server, targets: list[Target]) -> None:
    for target in targets:
        _, tally = asyncio.run(_load(server.port, target, 0.5, 1))
        if tally.bad or not tally.done:
            raise BenchError(f"{target.name}: unexpected answer {tally.bad}\n{server.log_tail()}")


def _wrk(opts: Options, server: Server, target: Target, scripts: Path, seconds: float) -> float:
    script = scripts / f"{abs(hash(target.name))}.lua"
    script.write_text(target.lua, encoding="utf-8")
    command = [
        *wrk_command(
            f"{server.url}{target.path}",
            threads=1,
            connections=opts.connections,
            duration=max(1, round(seconds)),
            cpus=None,
        ),
        "-s",
        str(script),
    ]
    return run_wrk(command, target.name).rps


def _run_load(opts: Options, server: Server, targets: list[Target], outcome: Outcome, scripts: Path) -> None:
    require_wrk()
    _probe(server, targets)
    for target in targets:
        if opts.warmup:
            _wrk(opts, server, target, scripts, opts.warmup)
    for round_no in range(opts.rounds):
        shift = round_no % len(targets)
        for target in targets[shift:] + targets[:shift]:
            rps = _wrk(opts, server, target, scripts, opts.duration)
            if not server.alive():
                raise BenchError(f"server died during {target.name}\n{server.log_tail()}")
            outcome.results.setdefault(target.name, []).append(rps)
            print(f"  {target.name:<26} round {round_no + 1}: {rps:>8.0f} req/s", file=sys.stderr)
    # The token is still good after the load: the answers counted were the right ones.
    _probe(server, targets)


def section(out: Outcome) -> str:
    o = out.options
    verdict = "PASS" if out.passed else "FAIL"
    baseline = out.median_rps("GET /healthz (baseline)")
    rows = [
        f"| {name} | {', '.join(f'{r:.0f}' for r in rounds)} | **{median(rounds):.0f}** "
        f"| {spread(rounds):.0%} | {median(rounds) / baseline:.2f} |"
        for name, rounds in out.results.items()
    ]
    facts = "\n".join(f"| {k} | {v} |" for k, v in out.facts.items())
    sequential, parallel = out.logins
    database = (
        "SQLite in a temporary directory (the embedded default)"
        if o.database == "sqlite"
        else f"a scratch PostgreSQL database on `{_shown_database(o.database)}`"
    )
    figures = {n: f"{out.median_rps(n):.0f}" for n in out.results if not n.endswith("(baseline)")}
    return f"""## {TITLE}

**What is measured.** Requests per second of `GET /oidc/userinfo` (bearer access token, scopes
`openid profile`: one query joining token, system, login session and account, then the claims) and
`POST /oidc/introspect` (RFC 7662, the system's secret in HTTP Basic) against one uvicorn process serving the
Wanshi app as production builds it (`bench.apps:wanshi_app`: log level INFO, access log on, {database},
in-process worker off, `WANSHI_PUBLIC_URL=http://localhost`), with `GET /healthz` on
the same server in the same run as the baseline. The token is minted through the provider's services
(consent, code, PKCE exchange) before the server starts. Load: `wrk -t1 -c{o.connections}` on the same
machine, {o.warmup:g} s warm-up per endpoint, {o.rounds} rounds of {o.duration:g} s with the order of the
three rotated each round; any answer that is not 2xx fails the benchmark, and a probe before and after the
load reads the answers (`"sub"`, or `"active":true` for introspection).
Password logins: `platform.identity.authenticate` (the password factor with its lockout bookkeeping) for one
account, {o.logins} times one after the other and {o.logins} times on {o.login_threads} threads, with
{out.argon2} (the settings' defaults).

**Command.** `make bench` (every benchmark) or, for this benchmark alone (prints this section):
`{o.direct_command()}`

**Machine** ({out.date}):

| fact | value |
|---|---|
{facts}

**Results** (requests/s; median of {o.rounds} rounds; spread = (max − min) / median):

| endpoint | rounds (req/s) | median | spread | ratio to /healthz |
|---|---|---|---|---|
{chr(10).join(rows)}

**What bounds it.** One unit of work running a single `SELECT 1` (session, connection, `BEGIN`, rollback;
on SQLite a new connection with its pragmas and `BEGIN IMMEDIATE`, which takes the write lock) took
**{out.uow_ms:.2f} ms** in this process before the load: every database-reading endpoint pays at least that,
so one process cannot serve more than about {1000 / out.uow_ms if out.uow_ms else 0:.0f} of them per second
whatever the endpoint does. Userinfo and introspection each run one such unit of work with one query.
The same query alone on a kept connection in autocommit took **{out.query_ms:.3f} ms**: the difference is
the cost of the unit of work (connection set-up and the transaction), not of the OIDC work.

Password logins: **{sequential:.1f}/s** one at a time, **{parallel:.1f}/s** on {o.login_threads} threads
({out.argon2}; each login is one argon2id verification, which bounds the rate).

**Target:** userinfo and introspection ≥ {TARGET_RPS:.0f} req/s each →
{json.dumps(figures, ensure_ascii=False)} → **{verdict}**.
"""


def report() -> Report:
    """For bench.run: this benchmark with the default options."""
    out = measure(Options())
    figures = ", ".join(f"{n}: {out.median_rps(n):.0f}" for n in out.results if not n.endswith("(baseline)"))
    return Report(
        section=section(out),
        passed=out.passed,
        target=f"userinfo and introspection ≥ {TARGET_RPS:.0f} req/s",
        result=f"{figures}; logins {out.logins[0]:.1f}/s",
    )


def main(argv: list[str] | None = None) -> int:
    opts = parse_args(argv)
    exit_cleanly_on_sigterm()
    try:
        out = measure(opts)
    except BenchError as exc:
        print(f"bench.identity: ERROR: {exc}", file=sys.stderr)
        return 2
    print(section(out))
    return 0 if out.passed else 1


if __name__ == "__main__":
    sys.exit(main())
