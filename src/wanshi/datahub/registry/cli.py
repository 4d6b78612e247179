"""`wanshi registry`: rebuild and inspect the registry indexes and grant registry functions, as the system."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.table import Table

from wanshi.datahub.registry import api as registry
from wanshi.kernel.actor import SYSTEM
from wanshi.kernel.errors import WanshiError

if TYPE_CHECKING:
    from wanshi.bootstrap import Platform

app = typer.Typer(help="Base registries (人口库, 法人库): indexes and grants", no_args_is_help=True)
console = Console(stderr=True)


def _platform_registry() -> tuple[Platform, registry.Registry]:
    from wanshi.bootstrap import build_platform
    from wanshi.config import get_settings
    from wanshi.infra.logging import configure_logging

    settings = get_settings()
    configure_logging(settings.log_level, as_json=settings.log_json)
    platform = build_platform(settings)
    return platform, registry.Registry.build(settings, platform.datastore)


def _fail(exc: WanshiError) -> None:
    console.print(f"[red]错误 {exc.error_code}[/red]: {exc.message}")
    raise typer.Exit(1)


def _show(statuses: tuple[registry.IndexStatus, ...], title: str) -> None:
    table = Table(title=title)
    for column in ("基础库", "数据集", "记录数", "重复号码", "建立时间", "耗时（秒）", "状态"):
        table.add_column(column)
    for s in statuses:
        state = "未建立" if not s.built else ("待重建" if s.stale else "最新")
        built_at = s.built_at.isoformat(timespec="seconds") if s.built_at else "—"
        table.add_row(
            s.kind.label, s.dataset, str(s.rows), str(s.duplicates), built_at, f"{s.build_seconds:.1f}", state
        )
    console.print(table)


@app.command("reindex")
def reindex_command(
    kind: Annotated[
        list[registry.Kind] | None, typer.Option("--kind", help="person or enterprise (default: both)")
    ] = None,
    only_stale: Annotated[
        bool, typer.Option("--only-stale", help="Skip indexes whose dataset is unchanged")
    ] = False,
) -> None:
    """Rebuild the lookup indexes from their datasets; run after loading the registries' data."""
    platform, built = _platform_registry()
    kinds = tuple(kind) if kind else tuple(registry.Kind)
    try:
        with console.status("正在重建基础库索引……"), platform.uow() as uow:
            done = registry.reindex(uow, built, SYSTEM, kinds, only_stale=only_stale)
    except WanshiError as exc:
        _fail(exc)
        return
    if not done:
        console.print("索引均为最新，无需重建")
        return
    _show(done, "已重建的索引")


@app.command("status")
def status_command() -> None:
    """Each index's size and age, and whether a load has made it stale (exit code 3 when one is)."""
    platform, built = _platform_registry()
    with platform.uow() as uow:
        statuses = registry.index_status(uow, built, SYSTEM)
    _show(statuses, "基础库索引")
    if any(s.stale for s in statuses):
        raise typer.Exit(3)


@app.command("grant")
def grant_command(
    organisation_id: Annotated[int, typer.Argument(help="Organisation id of the department")],
    operation: Annotated[
        list[registry.Operation], typer.Option("--operation", help="Function to open (repeat)")
    ],
    note: Annotated[str, typer.Option(help="Basis, e.g. the approved sharing request")] = "",
) -> None:
    """Open registry functions to a department (replacing what it had)."""
    platform, _built = _platform_registry()
    try:
        with platform.uow() as uow:
            granted = registry.grant_registry(
                uow,
                registry.GrantRegistry(
                    organisation_id=organisation_id, operations=tuple(operation), note=note
                ),
                SYSTEM,
            )
    except WanshiError as exc:
        _fail(exc)
        return
    console.print(f"已授权 {granted.organisation_name}：{'、'.join(o.label for o in granted.operations)}")
