"""Master data linkage (主数据匹配) of generated population rows from three departments: time, RSS, quality.

The rows come from ``wanshi datagen population`` (seed 2026, 10 % defective rows of every kind, so 2 % are
labelled duplicates: exact copies, and near-duplicates with a mistyped, swapped, 15-digit or missing ID
number, a name variant, a new phone or a new address; see docs/masterdata.md), dealt at
random to three department datasets of a ``ParquetDuckDBStore``. Each scale runs the whole use case
``masterdata.link_records`` (read and normalise, Splink on DuckDB, clusters, golden records with lineage,
written back to the store, the run row in a SQLite database) as the system actor, in a fresh subprocess, so
that generation does not count and peak RSS is the run's own. Precision and recall are pairwise, against
the generator's labels. Run alone: ``.venv/bin/python -m bench.masterdata`` (``--help``).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path

from bench.common import REPO, BenchError, Report, cpu_model, exit_cleanly_on_sigterm, utc_now

TITLE = "Data centre: master data record linkage (主数据匹配) of generated population rows"
TARGET_PRECISION = 0.9
TARGET_RECALL = 0.9
DEFECT_RATE = 0.1
SEED = 2026
DEPARTMENTS = ("gongan", "minzheng", "weijian")
DIRECT = [".venv/bin/python", "-m", "bench.masterdata"]
HEADER = (
    "| rows | seconds | rows/s | peak RSS (MiB) | clusters | with duplicates "
    "| pairs predicted / labelled / correct | precision | recall | F1 |\n"
    "|---|---|---|---|---|---|---|---|---|---|"
)


def generate_store(root: Path, rows: int) -> None:
    """One batch per generated chunk in each department's dataset, so generation memory stays flat."""
    import numpy as np
    import pyarrow as pa

    from wanshi.datahub.datagen.population import PopulationOptions, generate_population
    from wanshi.datahub.store import ParquetDuckDBStore

    store = ParquetDuckDBStore(root / "datahub")
    rng = np.random.default_rng(SEED)
    options = PopulationOptions(rows=rows, seed=SEED, defect_rate=DEFECT_RATE, chunk_size=500_000)
    for number, chunk in enumerate(generate_population(options)):
        department = rng.integers(0, len(DEPARTMENTS), size=chunk.num_rows)
        for i, name in enumerate(DEPARTMENTS):
            store.write_batch(f"pop_{name}", f"c{number:03d}", chunk.filter(pa.array(department == i)))


CHILD = """
import json, sys, time
from pathlib import Path
from bench.common import peak_rss
from sqlalchemy import create_engine
from wanshi.bootstrap import build_platform
from wanshi.config import Settings
from wanshi.datahub.masterdata import api as masterdata
from wanshi.kernel.actor import SYSTEM
from wanshi.schema import load_metadata, seed_required_rows
root = Path(sys.argv[1])
url = f"sqlite:///{root / 'wanshi.db'}"
engine = create_engine(url)
with engine.begin() as conn:
    load_metadata().create_all(conn)
    seed_required_rows(conn)
engine.dispose()
platform = build_platform(Settings(data_dir=root, database_url=url, worker_in_process=False))
datasets = tuple(f"pop_{d}" for d in sys.argv[2].split(","))
started = time.perf_counter()
with platform.uow() as uow:
    run = masterdata.link_records(uow, platform.datastore, masterdata.LinkRecords(datasets), SYSTEM)
seconds = time.perf_counter() - started
platform.dispose()
peak = peak_rss()
e = run.figures.evaluation
print("RESULT", json.dumps({
    "seconds": seconds, "peak": peak, "rows": run.figures.rows, "clusters": run.figures.clusters,
    "linked": run.figures.linked_clusters, "precision": e.precision, "recall": e.recall, "f1": e.f1,
    "predicted": e.pairs.predicted, "labelled": e.pairs.labelled, "correct": e.pairs.correct,
}))
"""


@dataclass(frozen=True)
class Scale:
    rows: int
    seconds: float
    peak: int
    clusters: int
    linked: int
    precision: float
    recall: float
    f1: float
    predicted: int
    labelled: int
    correct: int

    @property
    def passed(self) -> bool:
        return self.precision >= TARGET_PRECISION and self.recall >= TARGET_RECALL


@dataclass
class Options:
    scales: tuple[int, ...] = (100_000, 1_000_000)
    quick: bool = False

    def argv(self) -> list[str]:
        if self.quick:
            return [*DIRECT, "--quick"]
        if self.scales != Options().scales:
            return [*DIRECT, "--rows", *(str(r) for r in self.scales)]
        return DIRECT


@dataclass
class Outcome:
    options: Options
    date: str
    facts: dict[str, str]
    scales: list[Scale] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return bool(self.scales) and all(s.passed for s in self.scales)


def machine_facts() -> dict[str, str]:
    """bench.common's facts without the HTTP load generator, which this benchmark does not use."""
    packages = ", ".join(f"{name} {metadata.version(name)}" for name in ("splink", "duckdb", "pyarrow"))
    return {
        "nproc": str(os.cpu_count() or 0),
        "usable CPUs": str(len(os.sched_getaffinity(0))),
        "CPU": cpu_model(),
        "kernel": platform.release(),
        "Python": f"{platform.python_implementation()} {platform.python_version()}",
        "packages": packages,
        "load average (1, 5, 15 min) at start": ", ".join(f"{x:.2f}" for x in os.getloadavg()),
    }


def _child(root: Path) -> Scale:
    out = subprocess.run(
        [sys.executable, "-c", CHILD, str(root), ",".join(DEPARTMENTS)],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=False,
        timeout=1200,
    )
    if out.returncode:
        raise BenchError(f"linkage subprocess failed:\n{out.stderr[-2000:]}")
    figures = json.loads(out.stdout.rsplit("RESULT", 1)[-1])
    if figures["precision"] is None or figures["recall"] is None:
        raise BenchError(f"no labelled pairs to measure against: {figures}")
    return Scale(
        rows=int(figures["rows"]),
        seconds=float(figures["seconds"]),
        peak=int(figures["peak"]),
        clusters=int(figures["clusters"]),
        linked=int(figures["linked"]),
        precision=float(figures["precision"]),
        recall=float(figures["recall"]),
        f1=float(figures["f1"]),
        predicted=int(figures["predicted"]),
        labelled=int(figures["labelled"]),
        correct=int(figures["correct"]),
    )


def measure(opts: Options) -> Outcome:
    out = Outcome(opts, utc_now(), machine_facts())
    for rows in opts.scales:
        with tempfile.TemporaryDirectory(prefix="wanshi-masterdata-") as tmp:
            root = Path(tmp)
            print(f"  generating {rows:,} rows ...", file=sys.stderr)
            generate_store(root, rows)
            scale = _child(root)
            out.scales.append(scale)
            print(
                f"  {rows:,}: {scale.seconds:.1f}s, {scale.peak >> 20} MiB, "
                f"precision {scale.precision:.4f}, recall {scale.recall:.4f}",
                file=sys.stderr,
            )
    return out


def section(out: Outcome) -> str:
    verdict = "PASS" if out.passed else "FAIL"
    facts = "\n".join(f"| {k} | {v} |" for k, v in out.facts.items())
    rows = "\n".join(
        f"| {s.rows:,} | {s.seconds:.1f} | {s.rows / s.seconds:,.0f} | {s.peak >> 20} | {s.clusters:,} | "
        f"{s.linked:,} | {s.predicted:,} / {s.labelled:,} / {s.correct:,} | {s.precision:.4f} | "
        f"{s.recall:.4f} | {s.f1:.4f} |"
        for s in out.scales
    )
    return f"""## {TITLE}

**What is measured.** Generated population rows (`wanshi datagen population`, seed {SEED},
{DEFECT_RATE:.0%} defective rows of every kind, so about {DEFECT_RATE / 5:.0%} labelled duplicates: exact
copies, and near-duplicates as other departments write them — ID number mistyped, two digits swapped, the
15-digit old form or missing, a name variant, a new phone or address — see `docs/masterdata.md`) dealt at
random to three
department datasets, linked by the whole use case `masterdata.link_records` (read and NFKC-normalise,
Splink 4 on DuckDB with the fixed model in `src/wanshi/datahub/masterdata/models/person.json`, threshold 0.9,
connected-component clusters, golden records with per-value lineage written back to the store, the run row
in SQLite) in a fresh subprocess per scale; generation excluded. DuckDB gets the platform's defaults
(`datahub_memory_limit` 2GB, of which the linkage gives DuckDB half; all cores). Outputs are written
in parts of at most a million rows. Precision and recall are pairwise against the generator's labels
(a cluster of n records asserts n(n-1)/2 pairs).

**Command.** `make bench` or `{" ".join(out.options.argv())}`.

**Machine** ({out.date}):

| fact | value |
|---|---|
{facts}

**Results:**

{HEADER}
{rows}

**Targets:** precision ≥ {TARGET_PRECISION} and recall ≥ {TARGET_RECALL} at every scale → **{verdict}**.
"""


def report() -> Report:
    out = measure(Options())
    worst = min(out.scales, key=lambda s: min(s.precision, s.recall))
    largest = max(out.scales, key=lambda s: s.rows)
    return Report(
        section=section(out),
        passed=out.passed,
        target=f"precision ≥ {TARGET_PRECISION}, recall ≥ {TARGET_RECALL}",
        result=(
            f"precision {worst.precision:.3f}, recall {worst.recall:.3f} "
            f"({largest.seconds:.0f} s at {largest.rows:,} rows)"
        ),
    )


def parse_args(argv: list[str] | None) -> Options:
    parser = argparse.ArgumentParser(prog="python -m bench.masterdata", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="100k rows only (a smoke run)")
    parser.add_argument(
        "--rows", type=int, nargs="+", help="scales to run instead of the default 100k and 1M"
    )
    args = parser.parse_args(argv)
    if args.quick:
        return Options(scales=(100_000,), quick=True)
    if args.rows:
        return Options(scales=tuple(args.rows))
    return Options()


def main(argv: list[str] | None = None) -> int:
    opts = parse_args(argv)
    exit_cleanly_on_sigterm()
    try:
        out = measure(opts)
    except BenchError as exc:
        print(f"bench.masterdata: ERROR: {exc}", file=sys.stderr)
        return 2
    print(section(out))
    return 0 if out.passed else 1


if __name__ == "__main__":
    sys.exit(main())
