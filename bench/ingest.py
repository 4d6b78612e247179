"""CSV ingest (归集) speed and memory: rows/s and peak RSS of ``load_file`` over generated population CSVs.

A generator writes a UTF-8 CSV of population-like rows (valid 身份证号 with about 1 % wrong check digits,
Chinese names with some Kangxi radicals and full-width characters, dates in four layouts, amounts with
thousands separators, about 0.5 % duplicated lines). Each size is loaded by a fresh child process through
the service (``wanshi.datahub.ingest.api.load_file``, SQLite bookkeeping, the Parquet store, all in a
temporary directory); the parent times the child, which prints its peak RSS (VmHWM). The same file is
also turned into Parquet by DuckDB's own ``read_csv`` (no mapping, checks or lineage) as a baseline of what
the machine does with the bytes at all.

Run alone: ``.venv/bin/python -m bench.ingest`` (prints the docs/benchmarks.md section); ``--help``.
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from bench.common import REPO, BenchError, Report, exit_cleanly_on_sigterm, machine_facts, utc_now

TITLE = "Data centre: CSV ingest (归集) of generated population rows"
TARGET_ROWS_PER_S = 500_000
TARGET_PEAK_BYTES = 2 << 30
GENERATE_BLOCK = 500_000
DIRECT = [".venv/bin/python", "-m", "bench.ingest"]
SURNAMES = list(
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈"
)
GIVEN = [
    "伟",
    "芳",
    "娜",
    "秀英",
    "敏",
    "静",
    "丽",
    "强",
    "磊",
    "军",
    "洋",
    "勇",
    "艳",
    "杰",
    "⼤⼒",
    "⼈杰",
    "小明",
    "ＡＢ",
]
DIVISIONS = [
    "340102",
    "340103",
    "340104",
    "340111",
    "340121",
    "340202",
    "340302",
    "341002",
    "341122",
    "341302",
]
STREETS = ["长江中路", "淮河路", "徽州大道", "芜湖路", "黄山路", "望江西路", "金寨路", "马鞍山路"]
WEIGHTS = np.array([7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2], dtype=np.int64)
CHECK = np.frombuffer(b"10X98765432", dtype=np.uint8)
SCHEMA = {
    "fields": [
        {"name": "id_number", "label": "身份证号", "required": True, "identifier": "resident_id"},
        {"name": "name", "label": "姓名", "required": True, "max_length": 30},
        {"name": "sex", "label": "性别", "max_length": 2},
        {"name": "birth_date", "label": "出生日期", "type": "date"},
        {"name": "phone", "label": "联系电话", "max_length": 20},
        {"name": "address", "label": "住址", "max_length": 100},
        {"name": "income", "label": "年收入", "type": "decimal", "scale": 2},
        {"name": "registered_at", "label": "登记时间", "type": "datetime"},
    ]
}


@dataclass(frozen=True)
class Options:
    sizes: tuple[int, ...] = (1_000_000, 10_000_000, 50_000_000)
    workdir: Path | None = None

    def argv(self) -> list[str]:
        return [f"--sizes={','.join(str(s) for s in self.sizes)}"]


@dataclass(frozen=True)
class Measurement:
    rows: int
    file_bytes: int
    seconds: float  # the load_file call
    process_seconds: float  # the whole child: interpreter and platform start-up included
    peak_bytes: int
    stored: int
    quarantined: int
    duplicate: int
    baseline_seconds: float
    baseline_peak_bytes: int

    @property
    def rate(self) -> float:
        return self.rows / self.seconds

    @property
    def fast_enough(self) -> bool:
        return self.rate >= TARGET_ROWS_PER_S

    @property
    def small_enough(self) -> bool:
        return self.peak_bytes < TARGET_PEAK_BYTES


TARGET_ROWS = 10_000_000


def gated(results: list[Measurement]) -> Measurement:
    """The size the speed target is about: 10M rows as the issue says, else the largest measured."""
    return next((m for m in results if m.rows == TARGET_ROWS), results[-1])


def passed(results: list[Measurement]) -> bool:
    """The issue's target: the rate at 10M rows (smaller sizes carry fixed costs, larger ones show the
    growth), and peak memory at every size."""
    return gated(results).fast_enough and all(m.small_enough for m in results)


def _strings(values: np.ndarray) -> pa.Array:
    return pc.cast(pa.array(values), pa.string())


def _pad(values: np.ndarray, width: int) -> pa.Array:
    return pc.utf8_lpad(_strings(values), width, "0")


def _pick(choices: list[str], rng: np.random.Generator, n: int) -> pa.Array:
    return pc.take(pa.array(choices), pa.array(rng.integers(0, len(choices), n)))


def _block(rng: np.random.Generator, n: int) -> pa.Table:
    year = rng.integers(1940, 2020, n)
    month = rng.integers(1, 13, n)
    day = rng.integers(1, 29, n)
    first17 = pc.binary_join_element_wise(
        _pick(DIVISIONS, rng, n),
        _pad(year, 4),
        _pad(month, 2),
        _pad(day, 2),
        _pad(rng.integers(0, 1000, n), 3),
        "",
    )
    data = np.frombuffer(first17.buffers()[2], dtype=np.uint8)[: 17 * n].reshape(n, 17)
    check = CHECK[((data.astype(np.int64) - ord("0")) @ WEIGHTS) % 11]
    wrong = rng.random(n) < 0.01
    check[wrong] = np.where(check[wrong] == ord("0"), ord("1"), ord("0"))
    ids = pc.binary_join_element_wise(first17, pc.cast(pa.array(check.view("S1")), pa.string()), "")
    layout = rng.integers(0, 4, n)
    y, m, d = _strings(year), _strings(month), _strings(day)
    births = [
        pc.binary_join_element_wise(y, _pad(month, 2), _pad(day, 2), "-"),
        pc.binary_join_element_wise(y, m, d, "/"),
        pc.binary_join_element_wise(y, _pad(month, 2), _pad(day, 2), ""),
        pc.binary_join_element_wise(pc.binary_join_element_wise(y, "年", m, "月", d, ""), "日", ""),
    ]
    birth = births[0]
    for i in (1, 2, 3):
        birth = pc.if_else(pa.array(layout == i), births[i], birth)
    income = rng.integers(0, 100_000_000, n)
    plain = pc.binary_join_element_wise(_strings(income // 100), _pad(income % 100, 2), ".")
    return pa.table(
        {
            "身份证号": ids,
            "姓名": pc.binary_join_element_wise(_pick(SURNAMES, rng, n), _pick(GIVEN, rng, n), ""),
            "性别": _pick(["男", "女"], rng, n),
            "出生日期": birth,
            "联系电话": pc.binary_join_element_wise(pa.scalar("13"), _pad(rng.integers(0, 10**9, n), 9), ""),
            "住址": pc.binary_join_element_wise(
                pa.scalar("安徽省合肥市"),
                _pick(STREETS, rng, n),
                _strings(rng.integers(1, 999, n)),
                pa.scalar("号"),
                "",
            ),
            "年收入": plain,
            "登记时间": pc.binary_join_element_wise(
                pc.binary_join_element_wise(y, _pad(month, 2), _pad(day, 2), "-"),
                pc.binary_join_element_wise(_pad(rng.integers(0, 24, n), 2), "30", "00", ":"),
                " ",
            ),
        }
    )


def generate(path: Path, rows: int, seed: int = 2026) -> None:
    rng = np.random.default_rng(seed)
    writer: pacsv.CSVWriter | None = None
    try:
        done = 0
        while done < rows:
            n = min(GENERATE_BLOCK, rows - done)
            table = _block(rng, n)
            # About 0.5 % of lines repeat a line of the same block.
            repeats = max(1, n // 200)
            rows_taken = np.arange(n)
            rows_taken[n - repeats :] = rng.integers(0, n - repeats, repeats)
            table = table.take(pa.array(rows_taken))
            if writer is None:
                writer = pacsv.CSVWriter(
                    str(path), table.schema, write_options=pacsv.WriteOptions(quoting_style="needed")
                )
            writer.write_table(table)
            done += n
    finally:
        if writer is not None:
            writer.close()


CHILD = """
import json, sys, time
from pathlib import Path
from bench.common import peak_rss
from wanshi.bootstrap import build_platform
from wanshi.schema import load_metadata, seed_required_rows
from wanshi.config import Settings
from wanshi.datahub.ingest import api as ingest
from wanshi.kernel.actor import SYSTEM

work, csv, schema = Path(sys.argv[1]), Path(sys.argv[2]), json.loads(sys.argv[3])
platform = build_platform(Settings(env="test", data_dir=work, database_url=f"sqlite:///{work / 'w.db'}"))
with platform.engine.begin() as conn:
    load_metadata().create_all(conn)
    seed_required_rows(conn)
started = time.monotonic()
with platform.uow() as uow:
    cmd = ingest.LoadFile(path=csv, dataset="population", schema=ingest.parse_schema(schema))
    load = ingest.load_file(uow, platform.datastore, cmd, SYSTEM)
seconds = time.monotonic() - started
c = load.counts
out = {"stored": c.stored, "quarantined": c.quarantined, "duplicate": c.duplicate, "seconds": seconds}
print(json.dumps({**out, "peak": peak_rss()}))
"""

BASELINE = """
import json, sys, duckdb
from bench.common import peak_rss
conn = duckdb.connect()
target = sys.argv[2].replace("'", "''")
conn.execute(
    "COPY (SELECT * FROM read_csv(?, all_varchar = true)) "
    f"TO '{target}' (FORMAT parquet, COMPRESSION zstd)",
    [sys.argv[1]],
)
print(json.dumps({"peak": peak_rss()}))
"""


def _child(args: list[str]) -> tuple[float, int, str]:
    """Wall time, peak RSS in bytes (the child prints it last, as JSON) and stdout of a Python child."""
    started = time.monotonic()
    with tempfile.TemporaryFile() as out:
        process = subprocess.Popen([sys.executable, *args], stdout=out, cwd=REPO, start_new_session=True)
        try:
            _, status = os.waitpid(process.pid, 0)
        finally:
            if process.returncode is None and process.poll() is None:
                os.killpg(process.pid, 9)
        seconds = time.monotonic() - started
        out.seek(0)
        text = out.read().decode()
    if os.waitstatus_to_exitcode(status) != 0:
        raise BenchError(f"child {args[:2]} failed with status {status}: {text[-2000:]}")
    return seconds, int(json.loads(text.strip().splitlines()[-1])["peak"]), text


def measure_size(rows: int, workdir: Path) -> Measurement:
    csv = workdir / f"population_{rows}.csv"
    generate(csv, rows)
    # Write the generated file back to disk first, so that the load is not timed against its writeback.
    os.sync()
    work = workdir / f"load_{rows}"
    work.mkdir()
    process_seconds, peak, out = _child(
        ["-c", CHILD, str(work), str(csv), json.dumps(SCHEMA, ensure_ascii=False)]
    )
    counts = json.loads(out.strip().splitlines()[-1])
    if counts["stored"] + counts["quarantined"] + counts["duplicate"] != rows:
        raise BenchError(f"counts do not add up to {rows}: {counts}")
    base_seconds, base_peak, _ = _child(["-c", BASELINE, str(csv), str(workdir / f"baseline_{rows}.parquet")])
    measurement = Measurement(
        rows=rows,
        file_bytes=csv.stat().st_size,
        seconds=counts["seconds"],
        process_seconds=process_seconds,
        peak_bytes=peak,
        stored=counts["stored"],
        quarantined=counts["quarantined"],
        duplicate=counts["duplicate"],
        baseline_seconds=base_seconds,
        baseline_peak_bytes=base_peak,
    )
    csv.unlink()
    return measurement


def measure(opts: Options) -> list[Measurement]:
    with tempfile.TemporaryDirectory(prefix="wanshi-bench-ingest-", dir=opts.workdir) as tmp:
        return [measure_size(rows, Path(tmp)) for rows in opts.sizes]


def _mib(value: int) -> str:
    return f"{value / 2**20:,.0f} MiB"


def section(results: list[Measurement], opts: Options) -> str:
    facts = "\n".join(f"- {k}: {v}" for k, v in machine_facts().items() if k != "load generator")
    lines = [
        f"## {TITLE}",
        "",
        "What: `wanshi.datahub.ingest.api.load_file` on a generated UTF-8 population CSV (8 columns: "
        "身份证号 with about 1 % wrong check digits, names with Kangxi radicals and full-width letters, "
        "birth dates in four layouts, amounts, times; about 0.5 % duplicated lines), in a fresh child "
        "process each: content hash, streaming read, dedupe, NFKC and trimming, coercion, checks, "
        "lineage, Parquet writes of the stored and quarantined rows, SQLite bookkeeping. Time is the "
        "wall time of the `load_file` call (rows/s and the target use it); the child's whole wall time, "
        "with interpreter and platform start-up, is beside it. Memory is the child's peak RSS "
        "(VmHWM, printed by the child). "
        "Baseline: DuckDB `read_csv(all_varchar)` to Parquet of the same file, in a child of its own.",
        "",
        f"Commands: `make bench`, or `{shlex.join(DIRECT + opts.argv())}`. Date: {utc_now()}.",
        "",
        facts,
        "",
        "| rows | file | load time (process) | rows/s | peak RSS | stored / quarantined / duplicate "
        "| DuckDB baseline time, peak RSS |",
        "|---|---|---|---|---|---|---|",
    ]
    for m in results:
        lines.append(
            f"| {m.rows:,} | {_mib(m.file_bytes)} | {m.seconds:.1f} s ({m.process_seconds:.1f} s) "
            f"| {m.rate:,.0f} "
            f"| {_mib(m.peak_bytes)} | {m.stored:,} / {m.quarantined:,} / {m.duplicate:,} "
            f"| {m.baseline_seconds:.1f} s, {_mib(m.baseline_peak_bytes)} |"
        )
    verdict = "PASS" if passed(results) else "FAIL"
    lines += [
        "",
        f"Target (issue #3): at least {TARGET_ROWS_PER_S:,} rows/s at 10M rows, peak memory "
        f"under 2 GiB at every size; the other sizes show how time and memory grow. Load time per "
        f"million rows: "
        + ", ".join(f"{m.rows:,} → {m.seconds / m.rows * 1e6:.2f} s" for m in results)
        + f". **{verdict}**",
        "",
    ]
    return "\n".join(lines)


def report() -> Report:
    opts = Options()
    results = measure(opts)
    target = gated(results)
    peak = max(m.peak_bytes for m in results)
    return Report(
        section=section(results, opts),
        passed=passed(results),
        target=f"≥ {TARGET_ROWS_PER_S:,} rows/s at 10M rows, peak < 2 GiB at every size",
        result=f"{target.rate:,.0f} rows/s at {target.rows:,} rows, peak {_mib(peak)}",
    )


def parse_args(argv: list[str] | None) -> Options:
    parser = argparse.ArgumentParser(prog="python -m bench.ingest", description=__doc__)
    parser.add_argument("--sizes", default="1000000,10000000,50000000", help="comma-separated row counts")
    parser.add_argument(
        "--workdir", type=Path, default=None, help="where the CSVs go (default: the temp dir)"
    )
    args = parser.parse_args(argv)
    return Options(sizes=tuple(int(s) for s in args.sizes.split(",")), workdir=args.workdir)


def main(argv: list[str] | None = None) -> int:
    opts = parse_args(argv)
    exit_cleanly_on_sigterm()
    try:
        results = measure(opts)
    except BenchError as exc:
        print(f"bench.ingest: ERROR: {exc}", file=sys.stderr)
        return 2
    print(section(results, opts))
    return 0 if passed(results) else 1


if __name__ == "__main__":
    sys.exit(main())
