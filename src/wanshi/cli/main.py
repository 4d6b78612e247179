"""The `wanshi` command. Commands call services only; long work shows a progress bar."""

from __future__ import annotations

import signal
import sys
import threading
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TaskID, TextColumn, TimeElapsedColumn
from rich.table import Table

from wanshi.bootstrap import Platform, build_platform, migrate_database
from wanshi.config import get_settings
from wanshi.datahub.datagen.cli import app as datagen_app
from wanshi.datahub.ingest.cli import app as ingest_app
from wanshi.datahub.masterdata.cli import app as masterdata_app
from wanshi.datahub.quality.cli import app as quality_app
from wanshi.datahub.registry.cli import app as registry_app
from wanshi.identity.cli import app as oidc_app
from wanshi.infra import audit, backup
from wanshi.infra.logging import configure_logging
from wanshi.infra.migrations import head_revision
from wanshi.kernel import clock
from wanshi.kernel.actor import SYSTEM, Role
from wanshi.kernel.errors import WanshiError
from wanshi.workflow.cli import app as workflow_app

app = typer.Typer(
    help="Wanshi 皖事: digital-government platform", no_args_is_help=True, pretty_exceptions_enable=False
)
pack_app = typer.Typer(help="Declarative packs", no_args_is_help=True)
user_app = typer.Typer(help="Staff accounts", no_args_is_help=True)
audit_app = typer.Typer(help="Audit log", no_args_is_help=True)
divisions_app = typer.Typer(help="Division table (GB/T 2260)", no_args_is_help=True)
app.add_typer(pack_app, name="pack")
app.add_typer(user_app, name="user")
app.add_typer(audit_app, name="audit")
app.add_typer(divisions_app, name="divisions")
app.add_typer(datagen_app, name="datagen")
app.add_typer(ingest_app, name="ingest")
app.add_typer(masterdata_app, name="masterdata")
app.add_typer(registry_app, name="registry")
app.add_typer(quality_app, name="quality")
app.add_typer(oidc_app, name="oidc")
app.add_typer(workflow_app, name="workflow")

console = Console(stderr=True)
DEFAULT_PACK = Path("packs/anhui")


def _platform() -> Platform:
    settings = get_settings()
    configure_logging(settings.log_level, as_json=settings.log_json)
    return build_platform(settings)


def _fail(exc: WanshiError) -> None:
    console.print(f"[red]错误 {exc.error_code}[/red]: {exc.message}")
    raise typer.Exit(1)


def _progress() -> Progress:
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        TextColumn("{task.completed}/{task.total}"),
        TimeElapsedColumn(),
        console=console,
    )


@app.command()
def migrate() -> None:
    """Bring the database schema to the newest revision."""
    platform = _platform()
    migrate_database(platform)
    console.print(f"数据库已迁移到 {head_revision()}")


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="Bind address")] = None,
    port: Annotated[int | None, typer.Option(help="Port")] = None,
    worker: Annotated[
        bool | None, typer.Option("--worker/--no-worker", help="Run the background worker in this process")
    ] = None,
) -> None:
    """Serve the web UI and API (with the background worker in-process unless --no-worker)."""
    import uvicorn

    from wanshi.web.app import create_app

    platform = _platform()
    if worker is not None:
        platform.settings.worker_in_process = worker
    uvicorn.run(
        create_app(platform),
        host=host or platform.settings.host,
        port=port or platform.settings.port,
        log_config=None,
        access_log=False,
        proxy_headers=False,
    )


@app.command("worker")
def run_worker(
    concurrency: Annotated[
        int | None, typer.Option(help="Worker threads (PostgreSQL only: SQLite takes one)")
    ] = None,
) -> None:
    """Run background jobs until SIGTERM or SIGINT; the job in hand finishes first."""
    platform = _platform()
    threads = concurrency or platform.settings.worker_concurrency
    if platform.engine.dialect.name == "sqlite":
        threads = 1
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    runners = [
        threading.Thread(target=platform.worker().run_forever, args=(stop,), name=f"worker-{i}")
        for i in range(threads)
    ]
    for runner in runners:
        runner.start()
    console.print(f"worker 已启动（{threads} 个线程）")
    for runner in runners:
        runner.join()


def _ensure_divisions(platform: Platform) -> None:
    from wanshi.org import api as org

    with platform.uow() as uow:
        if org.list_child_divisions(uow, None):
            return
        summary = org.load_divisions(uow, org.LoadDivisions(table_text=org.bundled_division_table()), SYSTEM)
    console.print(f"已载入行政区划 {summary['total']} 条（{summary['source']} {summary['revision']}）")


def _load_pack(platform: Platform, directory: Path) -> None:
    from wanshi.packs.kinds import KIND_LOADERS
    from wanshi.packs.loader import load_pack

    results = load_pack(
        platform, directory, SYSTEM, KIND_LOADERS, progress=lambda m: console.print(f"  载入 {m}")
    )
    table = Table("内容", "新增", "更新", "未变")
    for r in results:
        table.add_row(r.kind, str(r.created), str(r.updated), str(r.unchanged))
    console.print(table)


@pack_app.command("load")
def pack_load(directory: Annotated[Path, typer.Argument(help="Pack folder holding pack.yaml")]) -> None:
    """Apply a pack idempotently (loading it twice changes nothing)."""
    platform = _platform()
    try:
        _ensure_divisions(platform)
        _load_pack(platform, directory)
    except WanshiError as exc:
        _fail(exc)


@app.command()
def demo(
    port: Annotated[int | None, typer.Option(help="Port")] = None,
    pack: Annotated[Path, typer.Option(help="Pack to load")] = DEFAULT_PACK,
    serve_after: Annotated[bool, typer.Option("--serve/--no-serve", help="Serve after loading")] = True,
    data: Annotated[
        bool,
        typer.Option("--data/--no-data", help="Generate, load, check and index the data centre's demo data"),
    ] = True,
) -> None:
    """Migrate, load the Anhui demo pack (with generated data-centre data) and serve. Running it again
    reuses the data."""
    platform = _platform()
    if platform.settings.env == "production":
        console.print("[red]生产模式下不能运行演示[/red]")
        raise typer.Exit(1)
    try:
        migrate_database(platform)
        _ensure_divisions(platform)
        _load_pack(platform, pack)
        from wanshi.packs.kinds import pack_usernames

        with platform.uow() as uow:
            platform.identity.set_initial_passwords(
                uow, pack_usernames(pack), platform.settings.admin_password, SYSTEM
            )
        from wanshi.packs.demo import load_demo_data, read_demo_data

        demo_data = read_demo_data(pack) if data else None
        if demo_data is not None:
            console.print("数据中心演示数据（已有则沿用）：")
            report = load_demo_data(platform, demo_data, SYSTEM, progress=lambda m: console.print(f"  {m}"))
            for d in report.datasets:
                counts = d.load.counts
                console.print(
                    f"  {d.dataset}：{'新生成' if d.generated else '沿用'}归集 #{d.load.id}，"
                    f"入库 {counts.stored} 行，隔离 {counts.quarantined} 行"
                )
            for run in report.runs:
                console.print(f"  质量检查 {run.resource_name}：{run.score:.1f} 分")
            console.print(f"  用时 {report.seconds:.1f} 秒")
        from wanshi.packs.demo_processes import start_demo_instances

        instances = start_demo_instances(platform, SYSTEM)
        console.print(f"流程中心演示办件：新启动 {instances.started} 件，沿用 {instances.existing} 件")
    except WanshiError as exc:
        _fail(exc)
    settings = platform.settings
    console.print(
        f"演示账号：admin / secadmin / auditor / yaohai.clerk 等，"
        f"密码 {settings.admin_password}（WANSHI_ADMIN_PASSWORD）"
    )
    if serve_after:
        console.print(f"打开 http://{settings.host}:{port or settings.port}/")
        platform.dispose()
        serve(host=None, port=port, worker=None)


@user_app.command("create")
def user_create(
    username: Annotated[str, typer.Option(help="Login name")],
    display_name: Annotated[str, typer.Option("--name", help="Display name")],
    division: Annotated[str, typer.Option(help="Division code of the organisation")],
    organisation: Annotated[str, typer.Option(help="Organisation name")],
    role: Annotated[list[Role] | None, typer.Option(help="Role (repeatable)")] = None,
    password: Annotated[str, typer.Option(prompt=True, hide_input=True, confirmation_prompt=True)] = "",
) -> None:
    """Create a staff account (asks for the password without echoing it)."""
    from wanshi.identity.api import CreateStaffUser
    from wanshi.org import api as org

    platform = _platform()
    try:
        with platform.uow() as uow:
            found = org.find_organisation(uow, division, organisation)
        with platform.uow() as uow:
            user = platform.identity.create_staff_user(
                uow,
                CreateStaffUser(
                    username=username,
                    display_name=display_name,
                    organisation_id=found.id,
                    password=password,
                    roles=tuple(role or ()),
                ),
                SYSTEM,
            )
    except WanshiError as exc:
        _fail(exc)
    console.print(f"已创建账号 {user.username}（id {user.id}）")


@audit_app.command("verify")
def audit_verify() -> None:
    """Check the audit chain; names every edited or missing entry and exits non-zero if any."""
    platform = _platform()
    with platform.engine.connect() as conn:
        report = audit.verify(conn)
    if report.ok:
        console.print(f"审计日志完整：已校验 {report.checked} 条")
        return
    for problem in report.problems:
        print(f"entry {problem.seq}: {problem.problem}")
    console.print(f"[red]审计日志被篡改：{len(report.problems)} 处问题[/red]（已校验 {report.checked} 条）")
    raise typer.Exit(2)


@divisions_app.command("load")
def divisions_load(
    table: Annotated[Path, typer.Argument(help="TSV with Source, Revision, Code, Name")],
) -> None:
    """Load a newer division table; codes it no longer has are retired, not deleted."""
    from wanshi.org import api as org

    platform = _platform()
    try:
        with platform.uow() as uow:
            summary = org.load_divisions(
                uow, org.LoadDivisions(table_text=table.read_text(encoding="utf-8")), SYSTEM
            )
    except WanshiError as exc:
        _fail(exc)
    console.print(summary)


def _bar(progress: Progress) -> tuple[dict[str, TaskID], backup.Progress]:
    tasks: dict[str, TaskID] = {}

    def report(stage: str, done: int, total: int) -> None:
        if stage not in tasks:
            tasks[stage] = progress.add_task(stage, total=total)
        progress.update(tasks[stage], completed=done, total=total)

    return tasks, report


@app.command("backup")
def backup_command(dest: Annotated[Path | None, typer.Option(help="Folder for backups")] = None) -> None:
    """Back up the database (online) and the file store into a new folder with a manifest."""
    platform = _platform()
    settings = platform.settings
    with platform.engine.connect() as conn:
        from wanshi.infra.migrations import current_and_head

        revision, _ = current_and_head(conn)
    try:
        with _progress() as progress:
            _, report = _bar(progress)
            result = backup.backup(
                platform.engine,
                settings.resolved_files_dir,
                dest or settings.resolved_backup_dir,
                datahub_dir=settings.resolved_datahub_dir,
                revision=revision,
                at=clock.now(),
                pg_dump=settings.pg_dump_path,
                progress=report,
            )
    except WanshiError as exc:
        _fail(exc)
    print(result.path)
    console.print(f"备份完成：{result.path}（{result.files} 个文件，{result.bytes} 字节）")


@app.command("restore")
def restore_command(
    source: Annotated[Path, typer.Argument(help="Backup folder")],
    force: Annotated[bool, typer.Option(help="Overwrite a database that is not empty")] = False,
) -> None:
    """Restore a backup into an empty database (or, with --force, over the current one)."""
    platform = _platform()
    settings = platform.settings
    try:
        with _progress() as progress:
            _, report = _bar(progress)
            manifest = backup.restore(
                platform.engine,
                settings.resolved_files_dir,
                source,
                datahub_dir=settings.resolved_datahub_dir,
                force=force,
                pg_restore=settings.pg_restore_path,
                progress=report,
            )
    except WanshiError as exc:
        _fail(exc)
    console.print(f"已恢复 {manifest['created_at']} 的备份（结构版本 {manifest['schema_revision']}）")


def main() -> None:
    sys.exit(app())
