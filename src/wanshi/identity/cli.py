"""`wanshi oidc`: rotate the ID-token signing keys and list the registered relying systems, as the system."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.table import Table

from wanshi.identity.services.oidc import ClientQuery, OidcService, oidc_config
from wanshi.kernel.actor import SYSTEM
from wanshi.kernel.errors import WanshiError

if TYPE_CHECKING:
    from wanshi.bootstrap import Platform

app = typer.Typer(help="OpenID Connect provider: signing keys and relying systems", no_args_is_help=True)
console = Console(stderr=True)


def _platform_service() -> tuple[Platform, OidcService]:
    from wanshi.bootstrap import build_platform
    from wanshi.config import get_settings
    from wanshi.infra.logging import configure_logging

    settings = get_settings()
    configure_logging(settings.log_level, as_json=settings.log_json)
    platform = build_platform(settings)
    return platform, OidcService(oidc_config(settings), platform.sealer)


def _fail(exc: WanshiError) -> None:
    console.print(f"[red]错误 {exc.error_code}[/red]: {exc.message}")
    raise typer.Exit(1)


@app.command("rotate-keys")
def rotate_keys_command(
    force: Annotated[
        bool, typer.Option("--force", help="Start a rotation now even if the current key is not due")
    ] = False,
) -> None:
    """Publish the next signing key when rotation is due (the hourly job does the same) and list the keys."""
    platform, service = _platform_service()
    try:
        with platform.uow() as uow:
            kid = service.rotate_keys(uow, SYSTEM, force=force)
        with platform.uow() as uow:
            keys = service.key_overview(uow, SYSTEM)
    except WanshiError as exc:
        _fail(exc)
        return
    finally:
        platform.dispose()
    console.print(f"新密钥 {kid}" if kid else "无需轮换")
    table = Table(title="签名密钥")
    for column in ("kid", "状态", "启用时间", "停止签名时间"):
        table.add_column(column)
    for times, state in keys:
        retires = times.retires_at.isoformat(timespec="seconds") if times.retires_at else "—"
        table.add_row(times.kid, state.value, times.activates_at.isoformat(timespec="seconds"), retires)
    console.print(table)


@app.command("clients")
def clients_command(
    limit: Annotated[int, typer.Option(help="Show at most this many")] = 100,
) -> None:
    """List the registered relying systems (newest first)."""
    platform, service = _platform_service()
    try:
        with platform.uow() as uow:
            clients, total = service.list_clients(uow, ClientQuery(limit=limit), SYSTEM)
    except WanshiError as exc:
        _fail(exc)
        return
    finally:
        platform.dispose()
    table = Table(title=f"接入系统（共 {total} 个）")
    for column in ("client_id", "名称", "类型", "区划", "状态", "信息范围"):
        table.add_column(column)
    for c in clients:
        table.add_row(
            c.client_id,
            c.name,
            c.client_type.value,
            c.division_code,
            "启用" if c.active else "停用",
            " ".join(s.value for s in c.scope_list),
        )
    console.print(table)
