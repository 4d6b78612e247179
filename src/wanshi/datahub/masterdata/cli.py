"""`wanshi masterdata`: record linkage from the command line, as the system actor, with progress."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.console import Console
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from wanshi.datahub.masterdata import api as masterdata
from wanshi.kernel.actor import SYSTEM
from wanshi.kernel.errors import WanshiError

app = typer.Typer(help="Master data (主数据): link records and keep golden records", no_args_is_help=True)
console = Console(stderr=True)


@app.callback()
def masterdata_commands() -> None:
    """Master data (主数据): link records and keep golden records."""
    # A callback keeps `link` a named sub-command, as `wanshi masterdata link`.


def _share(value: float | None) -> str:
    return "—" if value is None else f"{value:.4f}"


def figures_table(run: masterdata.LinkageRun) -> Table:
    f = run.figures
    table = Table(title=f"主数据匹配 {run.id}（{run.entity.value}）", title_justify="left")
    table.add_column("指标", style="bold")
    table.add_column("值", justify="right")
    table.add_row("输入数据集", "、".join(run.datasets))
    table.add_row("记录数", f"{f.rows:,}")
    table.add_row("聚类数（主体数）", f"{f.clusters:,}")
    table.add_row("含重复的聚类", f"{f.linked_clusters:,}")
    table.add_row("匹配阈值", f"{run.threshold:g}")
    evaluation = f.evaluation
    if evaluation is None:
        table.add_row("精确率/召回率", "无标注，未评估")
    else:
        table.add_row("精确率 precision", _share(evaluation.precision))
        table.add_row("召回率 recall", _share(evaluation.recall))
        table.add_row("F1", _share(evaluation.f1))
        p = evaluation.pairs
        table.add_row("记录对（判定/标注/正确）", f"{p.predicted:,} / {p.labelled:,} / {p.correct:,}")
    table.add_row("用时（秒）", f"{f.seconds:.1f}")
    table.add_row("输出数据集", "\n".join(vars(masterdata.outputs(run.output)).values()))
    return table


@app.command("link")
def link(
    dataset: Annotated[
        list[str], typer.Option("--dataset", help="Input dataset in the analytical store (repeatable)")
    ],
    entity: Annotated[
        masterdata.EntityKind, typer.Option(help="person (人口) or enterprise (法人)")
    ] = masterdata.EntityKind.PERSON,
    threshold: Annotated[
        float, typer.Option(help="Match probability at or above which two records are one entity")
    ] = masterdata.DEFAULT_THRESHOLD,
    priority: Annotated[
        list[str] | None,
        typer.Option(
            help="field=source1,source2: authoritative sources for a field, most authoritative first "
            "(field * for every field; repeatable). A source is a dataset name or a --source-column value"
        ),
    ] = None,
    source_column: Annotated[
        str | None, typer.Option(help="Column naming each record's department (default: the dataset)")
    ] = None,
    output: Annotated[
        str, typer.Option(help="Prefix of the output datasets (default: the entity, e.g. person_golden)")
    ] = "",
) -> None:
    """Link and deduplicate records, write clusters and golden records, print precision and recall."""
    from wanshi.bootstrap import build_platform
    from wanshi.config import get_settings
    from wanshi.infra.logging import configure_logging

    settings = get_settings()
    configure_logging(settings.log_level, as_json=settings.log_json)
    platform = build_platform(settings)
    progress = Progress(
        SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn(), console=console
    )
    try:
        command = masterdata.LinkRecords(
            datasets=tuple(dataset),
            entity=entity,
            threshold=threshold,
            survivorship=masterdata.parse_priority(priority or []),
            source_column=source_column,
            output=output,
        )
        with progress, platform.uow() as uow:
            task = progress.add_task("主数据匹配", total=None)
            run = masterdata.link_records(
                uow,
                platform.datastore,
                command,
                SYSTEM,
                progress=lambda stage: progress.update(task, description=stage),
            )
    except WanshiError as exc:
        console.print(f"[red]错误 {exc.error_code}[/red]: {exc.message}")
        raise typer.Exit(1) from None
    finally:
        platform.dispose()
    Console().print(figures_table(run))
