"""`wanshi quality`: run a resource's quality check, sweep new loads, compare sources, as the system actor."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.table import Table

from wanshi.datahub.quality import api as quality
from wanshi.kernel.actor import SYSTEM
from wanshi.kernel.errors import WanshiError

if TYPE_CHECKING:
    from wanshi.bootstrap import Platform

app = typer.Typer(
    help="Data quality (数据质量): checks, tickets, cross-source consistency", no_args_is_help=True
)
console = Console(stderr=True)


def _platform() -> Platform:
    from wanshi.bootstrap import build_platform
    from wanshi.config import get_settings
    from wanshi.infra.logging import configure_logging

    settings = get_settings()
    configure_logging(settings.log_level, as_json=settings.log_json)
    return build_platform(settings)


def _outcomes(detail: quality.RunDetail) -> Table:
    table = Table("规则", "字段", "检查", "不合格", "部分记录（已脱敏）", title=f"质量检查 #{detail.run.id}")
    for o in detail.outcomes:
        table.add_row(o.rule_id, o.field, str(o.checked), str(o.failed), "、".join(o.sample_keys[:5]))
    return table


@app.command("run")
def run(resource: Annotated[str, typer.Option("--resource", help="Catalogue resource code")]) -> None:
    """Check a resource's mounted dataset with its rule set now; tickets follow as after a load."""
    platform = _platform()
    try:
        with platform.uow() as uow, console.status(f"检查 {resource} …"):
            done = quality.run_quality_check(
                uow,
                platform.datastore,
                quality.RunQualityCheck(resource_code=resource, trigger=quality.Trigger.CLI),
                SYSTEM,
                tickets=quality.TicketOptions(platform.files, platform.settings.quality_ticket_days),
            )
        with platform.uow() as uow:
            detail = quality.get_run(uow, done.id, SYSTEM)
    except WanshiError as exc:
        console.print(f"[red]错误 {exc.error_code}[/red]: {exc.message}")
        raise typer.Exit(1) from None
    finally:
        platform.dispose()
    console.print(_outcomes(detail))
    console.print(f"{done.resource_code}：{done.rows} 行，得分 {done.score:.1f}，用时 {done.seconds:.2f} 秒")


@app.command("sweep")
def sweep() -> None:
    """Check every resource whose dataset has a completed load not yet checked (what the worker does)."""
    platform = _platform()
    try:
        with platform.uow() as uow:
            checked = quality.sweep_loads(
                uow,
                platform.datastore,
                quality.TicketOptions(platform.files, platform.settings.quality_ticket_days),
            )
    finally:
        platform.dispose()
    console.print(f"已检查 {checked} 个资源")


@app.command("consistency")
def consistency(
    config: Annotated[Path, typer.Option(help="YAML or JSON comparison file", exists=True, dir_okay=False)],
) -> None:
    """Compare sources field by field against each field's authoritative source; flag and ticket."""
    platform = _platform()
    try:
        with platform.uow() as uow:
            outcome = quality.check_sources(
                uow,
                platform.datastore,
                quality.CheckConsistency(
                    config_text=config.read_text(encoding="utf-8"), trigger=quality.Trigger.CLI
                ),
                SYSTEM,
                tickets=quality.TicketOptions(platform.files, platform.settings.quality_ticket_days),
            )
    except WanshiError as exc:
        console.print(f"[red]错误 {exc.error_code}[/red]: {exc.message}")
        raise typer.Exit(1) from None
    finally:
        platform.dispose()
    table = Table("来源", "字段", "权威来源", "比对", "不一致", title=outcome.report.name)
    for c in outcome.report.comparisons:
        table.add_row(c.source, c.field, c.authority, str(c.compared), str(c.disagreed))
    console.print(table)
    console.print(f"标记 {outcome.flagged} 条，写入数据集 {outcome.flags_dataset}")
