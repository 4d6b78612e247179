"""Service portal: page render latency over a catalogue of 10,000 published implementation entries.

A SQLite database in a temporary directory gets the Anhui pack's organisations, service items and bundles
through `wanshi pack load`'s loaders, then more implementation entries through the catalogue's own
``save_entry`` (the province's 125 items claimed by the pack's city and county bodies, each with its own
place), published, until the catalogue holds ``--items`` implementation entries. One uvicorn process serves
the Wanshi app as production builds it (`bench.apps:wanshi_app`). One keep-alive client in this process asks
for each page in turn — the portal's home and a theme, an item's overview with an area, an implementation
entry's page, a bundle in an area, a guide search, and `GET /healthz` as the same run's baseline — and
times each answer from request to last byte. Every answer must be 200 with the page's own text in it.

The first page after a publication rebuilds the process's snapshot of the catalogue: timed separately.

Run alone: ``.venv/bin/python -m bench.portal`` (prints the docs/benchmarks.md section); ``--help``.
"""

from __future__ import annotations

import argparse
import http.client
import shlex
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import quote

import yaml

from bench.common import (
    LOOPBACK,
    REPO,
    BenchError,
    Report,
    Server,
    exit_cleanly_on_sigterm,
    machine_facts,
    running,
    utc_now,
)

if TYPE_CHECKING:
    from wanshi.bootstrap import Platform

TITLE = "Service portal: page render latency over 10,000 published items (办事服务)"
TARGET_P95_MS = 100.0
PACK = REPO / "packs" / "anhui"
KINDS = ("organisations", "service_items", "bundles")


@dataclass(frozen=True)
class Options:
    items: int = 10_000
    requests: int = 200  # per page, after a warm-up of 20

    def direct_command(self) -> str:
        return shlex.join(
            [".venv/bin/python", "-m", "bench.portal", f"--items={self.items}", f"--requests={self.requests}"]
        )


def parse_args(argv: list[str] | None = None) -> Options:
    d = Options()
    p = argparse.ArgumentParser(prog="python -m bench.portal", description=__doc__.splitlines()[0])
    p.add_argument("--items", type=int, default=d.items, help="published implementation entries in all")
    p.add_argument("--requests", type=int, default=d.requests, help="timed requests per page")
    a = p.parse_args(argv)
    if a.items < 1 or a.requests < 10:
        p.error("items must be positive and requests at least 10")
    return Options(a.items, a.requests)


def _env(data_dir: Path, database_url: str) -> dict[str, str]:
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


# --- the catalogue ------------------------------------------------------------------------------------------
@dataclass
class Catalogue:
    items: int = 0
    basics: int = 0
    bundles: int = 0
    build_s: float = 0.0
    sample: dict[str, str] = field(default_factory=dict)


def _platform(data_dir: Path, database_url: str) -> Platform:
    from wanshi.bootstrap import build_platform
    from wanshi.config import Settings

    settings = Settings(
        env="development", data_dir=data_dir, database_url=database_url, worker_in_process=False
    )
    return build_platform(settings)


def _prepare(data_dir: Path, database_url: str, target: int) -> Catalogue:
    from wanshi.kernel.actor import ANONYMOUS, SYSTEM
    from wanshi.org import api as org
    from wanshi.packs.kinds import KIND_LOADERS
    from wanshi.packs.loader import load_pack
    from wanshi.schema import load_metadata, seed_required_rows

    started = time.perf_counter()
    platform = _platform(data_dir, database_url)
    try:
        with platform.engine.begin() as conn:
            load_metadata().create_all(conn)
            seed_required_rows(conn)
        with platform.uow() as uow:
            org.load_divisions(uow, org.LoadDivisions(table_text=org.bundled_division_table()), SYSTEM)
        pack = data_dir / "pack"
        pack.mkdir()
        manifest = yaml.safe_load((PACK / "pack.yaml").read_text(encoding="utf-8"))
        files = [f for f in manifest["files"] if f["kind"] in KINDS]
        for f in files:
            (pack / f["file"]).write_bytes((PACK / f["file"]).read_bytes())
        (pack / "pack.yaml").write_text(yaml.safe_dump({"name": "bench", "files": files}), encoding="utf-8")
        load_pack(platform, pack, SYSTEM, {k: KIND_LOADERS[k] for k in KINDS})
        _claim_more(platform, target)
        with platform.reader() as uow:
            snapshot = platform.items.snapshot(uow, ANONYMOUS)
        food = next(c for c in snapshot.basics.values() if "食品经营" in c.elements.name)
        hefei = next(c for c in snapshot.by_basic[food.code] if c.division_code == "340100")
        bundle = next(b for b in snapshot.bundles.values() if "餐" in b.document.name)
        theme = food.elements.themes[0]
        return Catalogue(
            items=len(snapshot.items),
            basics=len(snapshot.basics),
            bundles=len(snapshot.bundles),
            build_s=time.perf_counter() - started,
            sample={"basic": food.code, "item": hefei.code, "bundle": bundle.code, "theme": theme},
        )
    finally:
        platform.dispose()


def _claim_more(platform: Platform, target: int) -> None:
    """The province's items claimed by more of the pack's city and county bodies, through save_entry."""
    from wanshi.items import api as items
    from wanshi.kernel.actor import ANONYMOUS, SYSTEM
    from wanshi.kernel.identifiers.credit_code import generate_credit_code
    from wanshi.org import api as org

    with platform.reader() as uow:
        snapshot = platform.items.snapshot(uow, ANONYMOUS)
        bodies, _ = org.list_organisations(uow, org.OrganisationQuery(limit=500), SYSTEM)
        more, _ = org.list_organisations(uow, org.OrganisationQuery(limit=500, offset=500), SYSTEM)
    bodies = [b for b in [*bodies, *more] if b.division_code != "340000"]
    count = len(snapshot.items)
    basics = list(snapshot.basics.values())
    taken = {(c.basic_code, c.organisation_id) for c in snapshot.items.values()}
    for n, body in enumerate(bodies):
        body_code = generate_credit_code("1", "1", body.division_code, f"BN{n:06d}")
        for basic in basics:
            if count >= target:
                return
            if (basic.code, body.id) in taken:
                continue
            place = {"name": body.name, "address": f"{body.name}政务服务大厅", "hours": "工作日 9:00-17:00"}
            document = {
                "elements": items.derive(basic.elements, {"places": [place]}),
                "body_code": body_code,
            }
            cmd = items.SaveEntry(
                kind=items.RecordKind.IMPLEMENTATION,
                basic_code=basic.code,
                organisation_id=body.id,
                document=document,
                publish=True,
            )
            with platform.uow() as uow:
                items.save_entry(uow, cmd, SYSTEM)
            count += 1
    if count < target:
        raise BenchError(f"only {count} implementation entries could be made (asked for {target})")


# --- the requests -------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Page:
    name: str
    path: str
    check: str  # text every answer must contain


def _pages(sample: dict[str, str]) -> list[Page]:
    return [
        Page("GET /healthz (baseline)", "/healthz", '"ok"'),
        Page("portal home", "/services", "办事服务"),
        Page("portal, a theme, persons", f"/services?audience=person&theme={quote(sample['theme'])}", "事项"),
        Page("item overview, an area", f"/services/basic/{sample['basic']}?division=340102", "办理机构"),
        Page("implementation entry", f"/services/items/{sample['item']}", "申请材料"),
        Page("bundle in an area", f"/services/bundles/{sample['bundle']}?division=340102", "一套材料"),
        Page("guide search", f"/services/search?q={quote('我想开一家饭店需要办什么')}", "智能导办"),
    ]


def _get(conn: http.client.HTTPConnection, page: Page) -> float:
    started = time.perf_counter()
    conn.request("GET", page.path, headers={"Host": "localhost"})
    response = conn.getresponse()
    body = response.read().decode("utf-8", "replace")
    elapsed = (time.perf_counter() - started) * 1000
    if response.status != 200 or page.check not in body:
        raise BenchError(f"{page.name}: {response.status} {body[:300]!r}")
    return elapsed


def _measure(port: int, pages: list[Page], requests: int) -> dict[str, list[float]]:
    conn = http.client.HTTPConnection(LOOPBACK, port, timeout=30)
    try:
        for page in pages:
            for _ in range(20):
                _get(conn, page)
        timings: dict[str, list[float]] = {p.name: [] for p in pages}
        for _ in range(requests):  # interleaved, so a slow moment of the machine touches every page alike
            for page in pages:
                timings[page.name].append(_get(conn, page))
        return timings
    finally:
        conn.close()


def _republished(data_dir: Path, database_url: str, port: int, page: Page) -> float:
    """One entry published again, then the first page after it: the snapshot's rebuild included."""
    from wanshi.items import api as items
    from wanshi.items.services.reading import RecordQuery, list_records
    from wanshi.kernel.actor import SYSTEM

    platform = _platform(data_dir, database_url)
    try:
        with platform.uow() as uow:
            record = list_records(
                uow, RecordQuery(kind=items.RecordKind.IMPLEMENTATION, limit=1), SYSTEM
            ).records[0]
        with platform.uow() as uow:
            started = items.start_version(
                uow, items.Transition(record_id=record.id, lock=record.lock), SYSTEM
            )
        with platform.uow() as uow:
            submitted = items.submit_version(
                uow, items.Transition(record_id=started.id, lock=started.lock), SYSTEM
            )
        with platform.uow() as uow:
            items.review_version(
                uow, items.Review(record_id=started.id, lock=submitted.lock, publish=True), SYSTEM
            )
    finally:
        platform.dispose()
    conn = http.client.HTTPConnection(LOOPBACK, port, timeout=60)
    try:
        return _get(conn, page)
    finally:
        conn.close()


# --- the run ------------------------------------------------------------------------------------------------
def percentile(values: list[float], p: int) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


@dataclass
class Outcome:
    options: Options
    date: str
    facts: dict[str, str]
    catalogue: Catalogue
    timings: dict[str, list[float]]
    after_publish_ms: float

    @property
    def pages(self) -> dict[str, list[float]]:
        return {k: v for k, v in self.timings.items() if not k.endswith("(baseline)")}

    @property
    def worst_p95(self) -> float:
        return max(percentile(v, 95) for v in self.pages.values())

    @property
    def passed(self) -> bool:
        return self.worst_p95 < TARGET_P95_MS


def measure(opts: Options) -> Outcome:
    with tempfile.TemporaryDirectory(prefix="wanshi-bench-portal-") as tmp:
        data_dir = Path(tmp)
        database_url = f"sqlite:///{data_dir / 'wanshi.db'}"
        facts = machine_facts()
        catalogue = _prepare(data_dir, database_url, opts.items)
        server = Server(
            "wanshi", "bench.apps:wanshi_app", _env(data_dir, database_url), data_dir / "server.log", None
        )
        pages = _pages(catalogue.sample)
        with running([server], "/healthz"):
            timings = _measure(server.port, pages, opts.requests)
            after = _republished(data_dir, database_url, server.port, pages[1])
    return Outcome(opts, utc_now(), facts, catalogue, timings, after)


def section(out: Outcome) -> str:
    c, verdict = out.catalogue, "PASS" if out.passed else "FAIL"
    baseline = statistics.median(out.timings["GET /healthz (baseline)"])
    rows = "\n".join(
        f"| {name} | {statistics.median(v):.1f} | **{percentile(v, 95):.1f}** | {max(v):.1f} "
        f"| {statistics.median(v) / baseline:.1f} |"
        for name, v in out.timings.items()
    )
    facts = "\n".join(f"| {k} | {v} |" for k, v in out.facts.items())
    return f"""## {TITLE}

**What is measured.** A catalogue of **{c.items:,}** published implementation entries of {c.basics} basic
items and {c.bundles} bundles (the Anhui pack, then the province's items claimed by more of its bodies through
the catalogue's `save_entry`; built in {c.build_s:.0f} s). One uvicorn process serves the app as production
builds it (SQLite, access log on). One keep-alive client asks for each page in turn, {out.options.requests}
times each after 20 unmeasured; the time is from request to the last byte; every answer is checked (200 and
the page's own text). `GET /healthz` in the same run is the baseline.

**Command.** `make bench` (every benchmark) or, alone: `{out.options.direct_command()}`

**Machine** ({out.date}):

| fact | value |
|---|---|
{facts}

**Results** (milliseconds):

| page | p50 | p95 | max | p50 / healthz p50 |
|---|---|---|---|---|
{rows}

The first page after a publication, which rebuilds the process's snapshot of the catalogue:
**{out.after_publish_ms:.0f} ms** (once per publication per process).

**Target:** catalogue page render p95 < {TARGET_P95_MS:.0f} ms → worst page p95 {out.worst_p95:.1f} ms →
**{verdict}**.
"""


def report() -> Report:
    out = measure(Options())
    return Report(
        section=section(out),
        passed=out.passed,
        target=f"portal page p95 < {TARGET_P95_MS:.0f} ms at {Options().items:,} items",
        result=f"worst page p95 {out.worst_p95:.1f} ms",
    )


def main(argv: list[str] | None = None) -> int:
    opts = parse_args(argv)
    exit_cleanly_on_sigterm()
    try:
        out = measure(opts)
    except BenchError as exc:
        print(f"bench.portal: ERROR: {exc}", file=sys.stderr)
        return 2
    print(section(out))
    return 0 if out.passed else 1


if __name__ == "__main__":
    sys.exit(main())
