"""`wanshi workflow`: move running instances to another version (an explicit, reviewed act) and fire due
timers by hand, as the system."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console

from wanshi.kernel.actor import SYSTEM
from wanshi.kernel.errors import WanshiError
from wanshi.workflow.services import instances

if TYPE_CHECKING:
    from wanshi.bootstrap import Platform

app = typer.Typer(help="Process centre (统一流程中心): instance migration and timers", no_args_is_help=True)
console = Console(stderr=True)


def _platform() -> Platform:
    from wanshi.bootstrap import build_platform
    from wanshi.config import get_settings
    from wanshi.infra.logging import configure_logging

    settings = get_settings()
    configure_logging(settings.log_level, as_json=settings.log_json)
    return build_platform(settings)


@app.command("migrate")
def migrate(
    definition: Annotated[str, typer.Argument(help="The process key, e.g. general_approval")],
    from_version: Annotated[int, typer.Option("--from", help="Version the instances run on now")],
    to_version: Annotated[int, typer.Option("--to", help="Version to move them to")],
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Only report which instances could move")
    ] = False,
) -> None:
    """Move every running instance of one version to another. Instances whose waiting step the new version
    no longer has stay where they are and are listed with the reason."""
    platform = _platform()
    try:
        with platform.uow() as uow:
            report = instances.migrate_instances(
                uow,
                instances.MigrateInstances(
                    definition_key=definition,
                    from_version=from_version,
                    to_version=to_version,
                    dry_run=dry_run,
                ),
                platform.actions,
                SYSTEM,
            )
    except WanshiError as exc:
        console.print(f"[red]错误 {exc.error_code}[/red]: {exc.message}")
        raise typer.Exit(1) from None
    finally:
        platform.dispose()
    verb = "可迁移" if dry_run else "已迁移"
    console.print(f"{verb} {len(report.migrated)} 个实例：{', '.join(map(str, report.migrated)) or '无'}")
    for instance_id, reason in report.refused:
        console.print(f"[yellow]实例 {instance_id} 未迁移[/yellow]：{reason}")
    if report.refused:
        raise typer.Exit(3)


@app.command("fire-timers")
def fire_timers() -> None:
    """Move on every instance whose timer is due now (the worker does this every minute)."""
    platform = _platform()
    try:
        with platform.uow() as uow:
            moved = instances.fire_due_timers(uow, platform.actions, SYSTEM)
    except WanshiError as exc:
        console.print(f"[red]错误 {exc.error_code}[/red]: {exc.message}")
        raise typer.Exit(1) from None
    finally:
        platform.dispose()
    console.print(f"已处理到期定时 {moved} 个实例")
