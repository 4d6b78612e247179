"""`wanshi datagen`: synthetic 人口库 and 法人库 data into the analytical store or into files."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import date
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import pyarrow as pa
import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from wanshi.datahub.datagen import defects as d
from wanshi.datahub.datagen import legal_person, population
from wanshi.datahub.datagen.writers import Encoding, Format, write_to_file, write_to_store
from wanshi.kernel.errors import WanshiError

app = typer.Typer(
    help="Synthetic base-registry data (人口库, 法人库) with labelled defects", no_args_is_help=True
)
console = Console(stderr=True)


class FileFormat(StrEnum):
    parquet = "parquet"
    csv = "csv"
    jsonl = "jsonl"


class TextEncoding(StrEnum):
    utf8 = "utf-8"
    utf8_sig = "utf-8-sig"
    gb18030 = "gb18030"


Rows = Annotated[int, typer.Option("--rows", min=0, help="Number of records")]
Seed = Annotated[int, typer.Option("--seed", help="Same seed, rows and chunk size give the same data")]
DefectRate = Annotated[
    float, typer.Option("--defect-rate", min=0.0, max=d.MAX_DEFECT_RATE, help="Share of defective rows")
]
Defects = Annotated[
    str | None, typer.Option("--defects", help="Comma-separated defect kinds (default: all that apply)")
]
FormatOption = Annotated[FileFormat, typer.Option("--format", help="File format (with --out)")]
EncodingOption = Annotated[
    TextEncoding, typer.Option("--encoding", help="Text encoding of CSV and JSON Lines")
]
Out = Annotated[Path | None, typer.Option("--out", help="Write a file here instead of the analytical store")]
Dataset = Annotated[str | None, typer.Option("--dataset", help="Dataset name in the analytical store")]
ChunkSize = Annotated[int, typer.Option("--chunk-size", min=1, help="Rows generated and written at a time")]
ChineseHeaders = Annotated[
    bool, typer.Option("--chinese-headers", help="Column names in Chinese, as departments deliver files")
]
AsOf = Annotated[str, typer.Option("--as-of", help="Reference date for ages (YYYY-MM-DD)")]


def _kinds(value: str | None, allowed: tuple[str, ...]) -> tuple[str, ...]:
    if value is None:
        return allowed
    kinds = tuple(k.strip() for k in value.split(",") if k.strip())
    unknown = [k for k in kinds if k not in allowed]
    if unknown or not kinds:
        raise typer.BadParameter(f"unknown defect kinds {unknown}; choose from {', '.join(allowed)}")
    return kinds


def _check(options: population.PopulationOptions | legal_person.LegalPersonOptions) -> None:
    try:
        options.check()
    except WanshiError as exc:
        console.print(f"[red]错误 {exc.error_code}[/red]: {exc.message}")
        raise typer.Exit(1) from None


def _run(
    chunks: Iterator[pa.Table],
    rows: int,
    *,
    out: Path | None,
    file_format: FileFormat,
    encoding: TextEncoding,
    dataset: str,
    batch_prefix: str,
    headers: dict[str, str] | None,
) -> None:
    started = time.perf_counter()
    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
    ) as progress:
        task = progress.add_task(f"生成 {dataset}", total=rows)

        def advance(done: int) -> None:
            progress.advance(task, done)

        if out is None:
            from wanshi.config import get_settings
            from wanshi.datahub.store import ParquetDuckDBStore

            settings = get_settings()
            store = ParquetDuckDBStore(
                settings.resolved_datahub_dir,
                threads=settings.datahub_threads or None,
                memory_limit=settings.datahub_memory_limit,
            )
            written = write_to_store(chunks, store, dataset, batch_prefix, advance)
            where = f"分析库数据集 {dataset}（批次 {batch_prefix}-*）"
        else:
            fmt: Format = file_format.value
            enc: Encoding = encoding.value
            written = write_to_file(chunks, out, fmt, enc, headers, advance)
            where = str(out)
    elapsed = time.perf_counter() - started
    console.print(
        f"已写入 {written} 行到 {where}，用时 {elapsed:.1f} 秒（{written / max(elapsed, 1e-9):,.0f} 行/秒）"
    )


@app.command("population")
def population_command(
    rows: Rows = 1000,
    seed: Seed = 0,
    defect_rate: DefectRate = 0.0,
    defects: Defects = None,
    file_format: FormatOption = FileFormat.parquet,
    encoding: EncodingOption = TextEncoding.utf8,
    out: Out = None,
    dataset: Dataset = None,
    chunk_size: ChunkSize = 1_000_000,
    chinese_headers: ChineseHeaders = False,
    as_of: AsOf = "2025-12-31",
    ethnicity: Annotated[
        str, typer.Option("--ethnicity", help="national (7th census, China) or anhui (rough Anhui estimate)")
    ] = "national",
) -> None:
    """人口库: resident records with valid 身份证号 in Anhui counties."""
    options = population.PopulationOptions(
        rows=rows,
        seed=seed,
        chunk_size=chunk_size,
        defect_rate=defect_rate,
        defects=_kinds(defects, d.POPULATION_DEFECTS),
        as_of=date.fromisoformat(as_of),
        ethnicity_profile=ethnicity,
    )
    _check(options)
    _run(
        population.generate_population(options),
        rows,
        out=out,
        file_format=file_format,
        encoding=encoding,
        dataset=dataset or "population",
        batch_prefix=f"datagen-s{seed}",
        headers=population.CHINESE_HEADERS if chinese_headers else None,
    )


@app.command("legal-person")
def legal_person_command(
    rows: Rows = 1000,
    seed: Seed = 0,
    defect_rate: DefectRate = 0.0,
    defects: Defects = None,
    file_format: FormatOption = FileFormat.parquet,
    encoding: EncodingOption = TextEncoding.utf8,
    out: Out = None,
    dataset: Dataset = None,
    chunk_size: ChunkSize = 1_000_000,
    chinese_headers: ChineseHeaders = False,
    as_of: AsOf = "2025-12-31",
    persons_rows: Annotated[
        int,
        typer.Option(
            "--persons-rows",
            min=0,
            help="Draw legal representatives from the population dataset of this many rows (0: unlinked)",
        ),
    ] = 0,
    persons_seed: Annotated[int | None, typer.Option(help="Seed of that population dataset")] = None,
    persons_defect_rate: Annotated[float, typer.Option(help="Its --defect-rate")] = 0.0,
    persons_chunk_size: Annotated[int, typer.Option(min=1, help="Its --chunk-size")] = 1_000_000,
) -> None:
    """法人库: legal persons and market entities with valid 统一社会信用代码."""
    persons = (
        population.PopulationOptions(
            rows=persons_rows,
            seed=seed if persons_seed is None else persons_seed,
            chunk_size=persons_chunk_size,
            defect_rate=persons_defect_rate,
            as_of=date.fromisoformat(as_of),
        )
        if persons_rows
        else None
    )
    options = legal_person.LegalPersonOptions(
        rows=rows,
        seed=seed,
        chunk_size=chunk_size,
        defect_rate=defect_rate,
        defects=_kinds(defects, d.LEGAL_PERSON_DEFECTS),
        as_of=date.fromisoformat(as_of),
        persons=persons,
    )
    _check(options)
    _run(
        legal_person.generate_legal_persons(options),
        rows,
        out=out,
        file_format=file_format,
        encoding=encoding,
        dataset=dataset or "legal_person",
        batch_prefix=f"datagen-s{seed}",
        headers=legal_person.CHINESE_HEADERS if chinese_headers else None,
    )
