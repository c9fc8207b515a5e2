"""`hotline worker`: runs the background jobs and the periodic rounds on Procrastinate (HOTLINE_JOBS=procrastinate)."""

from __future__ import annotations

import logging
from typing import Annotated

import typer

from cli.console import console_for
from hotline.settings import get_settings

console = console_for()


def worker(
    concurrency: Annotated[
        int, typer.Option(min=1, help="jobs run at once, each in a thread; all share this process's speech model")
    ] = 2,
    log_level: Annotated[str, typer.Option(help="DEBUG, INFO, WARNING")] = "INFO",
) -> None:
    """Run the jobs (downloads, transcription, callbacks) and the rounds (SLA clock, surveys, QA sample) queued
    in PostgreSQL by every `hotline serve`; start as many as needed, on any host sharing the recordings folder."""
    from api.services import build_services
    from hotline.job_engine import run_worker
    from hotline.migrate import upgrade

    logging.basicConfig(level=log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    # Procrastinate says every periodic deferral and job start; our own lines say which job ran where.
    for chatty in ("twilio.http_client", "httpx", "procrastinate"):
        logging.getLogger(chatty).setLevel(max(logging.WARNING, logging.getLevelName(log_level)))
    settings = get_settings()
    if settings.jobs != "procrastinate":
        console.print(
            "[red]cannot start:[/] `hotline worker` runs the jobs queued on Procrastinate: set "
            "HOTLINE_JOBS=procrastinate (and a PostgreSQL HOTLINE_DATABASE_URL) for it and for `hotline serve`. "
            "With HOTLINE_JOBS=embedded (the default) `hotline serve` runs its jobs itself."
        )
        raise typer.Exit(2)
    try:
        services = build_services(settings)
    except (ValueError, RuntimeError) as exc:
        console.print(f"[red]cannot start:[/] {exc}")
        raise typer.Exit(1) from exc
    upgrade(services.engine, jobs=settings.jobs)
    console.print(
        f"[bold]hotline worker[/]: {concurrency} job(s) at a time on "
        f"{services.engine.url.render_as_string(hide_password=True)}; speech model "
        f"{services.model.path or '[yellow]missing: transcriptions wait for it[/]'}"
    )
    try:
        run_worker(
            settings.db_url,
            services.factory,
            services.handlers,
            services.rounds,
            concurrency=concurrency,
            heartbeat_s=settings.worker_heartbeat_seconds,
            stalled_s=settings.worker_stalled_seconds,
        )
    finally:
        services.engine.dispose()
