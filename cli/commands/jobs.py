"""`hotline jobs`: the background jobs by kind and state, the failed ones, the workers' heartbeats; `hotline jobs
retry ID` runs a failed job again. Both modes (embedded, Procrastinate): read from the database the service uses."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated

import typer
from rich.table import Table
from sqlalchemy import inspect
from sqlalchemy.orm import Session, sessionmaker

from cli.console import console_for
from hotline.settings import Settings, get_settings

jobs_app = typer.Typer(
    help="Background jobs: queued, running, failed, by kind; the workers' heartbeats; retry a failed one",
    invoke_without_command=True,
)
console = console_for()


@contextmanager
def _jobs_database(settings: Settings) -> Iterator[sessionmaker[Session]]:
    """The service's database (with Procrastinate's deferrer when the jobs run there); stops with a message when
    it has no job table yet."""
    from hotline.db import make_engine, make_session_factory

    engine = make_engine(settings.db_url)
    try:
        if not inspect(engine).has_table("jobs"):
            console.print(
                f"[red]数据库里还没有任务表[/]（{engine.url.render_as_string(hide_password=True)}）："
                "先运行 `hotline db upgrade` 或 `hotline serve`"
            )
            raise typer.Exit(1)
        factory = make_session_factory(engine)
        if settings.jobs == "procrastinate":
            from hotline.job_engine import use_procrastinate

            use_procrastinate(factory, settings.db_url)
        yield factory
    finally:
        engine.dispose()


def _local(moment: str | None, timezone: str) -> str:
    from routing.tickets import local_time

    return local_time(moment, timezone) if moment else "—"


def _ago(seconds: float | None) -> str:
    if seconds is None:
        return "—"
    return f"{seconds:.0f} 秒前" if seconds < 120 else f"{seconds / 60:.0f} 分钟前"


@jobs_app.callback()
def jobs(
    ctx: typer.Context,
    failed: Annotated[bool, typer.Option("--failed", help="list the failed jobs with their errors")] = False,
    as_json: Annotated[
        bool, typer.Option("--json", help="print one JSON object (with --failed: the failed jobs)")
    ] = False,
    limit: Annotated[int, typer.Option(min=1, help="failed jobs listed at most")] = 50,
) -> None:
    """The jobs by kind (queued, running, waiting, failed, done in the last 24 h) and the workers' heartbeats."""
    if ctx.invoked_subcommand is not None:
        return
    from hotline.db import utcnow
    from hotline.job_status import job_status

    settings = get_settings()
    with _jobs_database(settings) as factory, factory() as session:
        status = job_status(
            session, settings.jobs, utcnow(), stalled_s=settings.worker_stalled_seconds, failed_limit=limit
        )
    data = status.to_dict()
    if as_json:
        typer.echo(json.dumps(data["failed"] if failed else data, ensure_ascii=False, indent=2))
        return
    zone = settings.timezone
    if failed:
        _print_failed(data["failed"], zone)
        return
    _print_counts(data)
    _print_workers(data, zone)
    failures = data["totals"]["failed"]
    if failures:
        console.print(
            f"[red]失败任务 {failures} 个[/]：用 `hotline jobs --failed` 查看错误，`hotline jobs retry 编号` 重新运行"
        )


def _print_counts(data: dict) -> None:
    from hotline.job_status import COUNT_LABELS

    runner = "hotline worker" if data["mode"] == "procrastinate" else "hotline serve"
    table = Table(title=f"后台任务 · {data['mode_label']}（{runner}）")
    table.add_column("任务类型")
    for heading in COUNT_LABELS.values():
        table.add_column(heading, justify="right")
    for kind in [*data["kinds"], {"label": "合计", **data["totals"]}]:
        cells = [str(kind[name]) for name in COUNT_LABELS]
        if kind["failed"]:
            cells[list(COUNT_LABELS).index("failed")] = f"[red]{kind['failed']}[/]"
        table.add_row(kind["label"], *cells)
    console.print(table)


def _print_workers(data: dict, zone: str) -> None:
    last = _local(data["last_activity"], zone)
    if data["mode"] != "procrastinate":
        console.print(
            f"工作进程：`hotline serve` 自己（内嵌模式，由它的线程运行任务；心跳在仪表盘上可见）。最近一次任务活动：{last}"
        )
        return
    if not data["workers"]:
        console.print(f"[yellow]没有在运行的 `hotline worker`[/]：排队的任务无人运行。最近一次任务活动：{last}")
        return
    table = Table(title=f"工作进程（时间为 {zone}）")
    for column in ("编号", "最后心跳", "距今", "正在运行", "状态"):
        table.add_column(column)
    for worker in data["workers"]:
        state = "正常" if worker["alive"] else "[red]失联[/]"
        table.add_row(
            worker["id"],
            _local(worker["last_heartbeat"], zone),
            _ago(worker["seconds_since"]),
            str(worker["running"]),
            state,
        )
    console.print(table)


def _print_failed(failed: list[dict], zone: str) -> None:
    if not failed:
        console.print("没有失败的任务")
        return
    table = Table(title=f"失败任务（时间为 {zone}）")
    for column in ("编号", "任务类型", "对象", "尝试次数", "失败时间", "错误"):
        table.add_column(column)
    for job in failed:
        table.add_row(
            str(job["id"]),
            job["label"],
            job["subject"] or "—",
            str(job["attempts"]),
            _local(job["failed_at"], zone),
            job["error"] or "—",
        )
    console.print(table)
    console.print("重新运行一个：`hotline jobs retry 编号`")


@jobs_app.command("retry")
def retry(
    job_id: Annotated[int, typer.Argument(help="the failed job's number (`hotline jobs --failed`)")],
    as_json: Annotated[bool, typer.Option("--json", help="print the queued job as one JSON object")] = False,
) -> None:
    """Queue a failed job again (its attempts start over); the service or a worker runs it within seconds."""
    from hotline.db import utcnow
    from hotline.job_status import NotRetryable, kind_label, retry_failed

    settings = get_settings()
    with _jobs_database(settings) as factory:
        try:
            job = retry_failed(factory, job_id, utcnow())
        except NotRetryable as exc:
            console.print(f"[red]{exc}[/]")
            raise typer.Exit(1) from None
    if as_json:
        typer.echo(json.dumps({"id": job.id, "kind": job.kind, "status": job.status}, ensure_ascii=False))
        return
    runner = "`hotline worker`" if settings.jobs == "procrastinate" else "`hotline serve`"
    console.print(f"任务 {job.id}（{kind_label(job.kind)}）已重新排队：{runner} 会很快运行它")
