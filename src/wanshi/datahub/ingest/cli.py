"""`wanshi ingest`: aggregation from the command line, as the system actor, with a progress bar."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
import yaml
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TaskID,
    TaskProgressColumn,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

from wanshi.datahub.ingest import api as ingest
from wanshi.kernel.actor import SYSTEM
from wanshi.kernel.errors import WanshiError

app = typer.Typer(help="Aggregation (归集): load files into the data centre", no_args_is_help=True)
console = Console(stderr=True)


@app.callback()
def ingest_commands() -> None:
    """Aggregation (归集): load files into the data centre."""
    # A callback keeps `load` a named sub-command, as `wanshi ingest load`, although it is the only one.


def _read_schema(path: Path) -> tuple[ingest.TargetSchema, dict[str, str]]:
    """The target schema (``fields:``) and an optional ``mapping:`` of target field -> source column."""
    data: Any = yaml.safe_load(path.read_text(encoding="utf-8"))
    if not isinstance(data, dict):
        raise typer.BadParameter("结构文件须为含 fields 的 YAML 对象", param_hint="--schema")
    mapping = data.get("mapping") or {}
    return ingest.parse_schema(data), {str(k): str(v) for k, v in dict(mapping).items()}


def _parse_mapping(pairs: list[str]) -> dict[str, str]:
    mapping: dict[str, str] = {}
    for pair in pairs:
        target, sep, source = pair.partition("=")
        if not sep or not target.strip() or not source.strip():
            raise typer.BadParameter(f"“{pair}”应写作 目标字段=源列名", param_hint="--mapping")
        mapping[target.strip()] = source.strip()
    return mapping


@app.command("load")
def load(
    file: Annotated[
        Path, typer.Argument(help="CSV, XLSX, JSON Lines or Parquet file", exists=True, dir_okay=False)
    ],
    dataset: Annotated[str, typer.Option(help="Target dataset in the analytical store")],
    schema: Annotated[Path, typer.Option(help="YAML: fields (name, label, type, required, max_length)")],
    mapping: Annotated[
        list[str] | None,
        typer.Option(help="target_field=source column (repeatable; overrides the schema file)"),
    ] = None,
    encoding: Annotated[str | None, typer.Option(help="Force an encoding instead of detecting it")] = None,
    source: Annotated[str, typer.Option(help="Source recorded in lineage (default: the file name)")] = "",
) -> None:
    """Load a file: rows that fail go to <dataset>__quarantine; loading the same file again adds nothing."""
    from wanshi.bootstrap import build_platform
    from wanshi.config import get_settings
    from wanshi.infra.logging import configure_logging

    target, columns = _read_schema(schema)
    columns.update(_parse_mapping(mapping or []))
    settings = get_settings()
    configure_logging(settings.log_level, as_json=settings.log_json)
    platform = build_platform(settings)
    command = ingest.LoadFile(
        path=file,
        dataset=dataset,
        schema=target,
        mapping=ingest.FieldMapping(columns),
        source=source,
        encoding=encoding,
    )
    # The bar's total is an estimate (a line count): it is raised if the file holds more records.
    try:
        expected = ingest.estimate_rows(file, ingest.guess_format(file))
    except (OSError, WanshiError):
        expected = None
    progress = Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        BarColumn(),
        TaskProgressColumn(),
        MofNCompleteColumn(),
        TextColumn("行"),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=console,
    )

    def advance(task: TaskID, counts: ingest.LoadCounts) -> None:
        total = progress.tasks[task].total
        if total is not None and counts.read > total:
            progress.update(task, total=counts.read)
        progress.update(task, completed=counts.read)

    try:
        with progress, platform.uow() as uow:
            task = progress.add_task(f"归集 {file.name}", total=expected)
            result = ingest.load_file(
                uow,
                platform.datastore,
                command,
                SYSTEM,
                progress=lambda counts: advance(task, counts),
            )
            progress.update(task, total=result.counts.read, completed=result.counts.read)
    except WanshiError as exc:
        console.print(f"[red]错误 {exc.error_code}[/red]: {exc.message}")
        raise typer.Exit(1) from None
    finally:
        platform.dispose()
    c = result.counts
    if result.repeated:
        console.print(f"该文件已归集过（记录 {result.id}），未新增数据")
    console.print(
        f"归集记录 {result.id}：读取 {c.read:,} 行，入库 {c.stored:,}，隔离 {c.quarantined:,}，"
        f"重复 {c.duplicate:,}；编码 {result.encoding}"
    )
    if c.quarantined:
        console.print(f"被隔离的行在数据集 {ingest.quarantine_dataset(dataset)}，附原因")
