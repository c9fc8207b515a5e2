"""Jobs on Procrastinate (HOTLINE_JOBS=procrastinate): the same handlers, run by `hotline worker` processes.

The `jobs` table stays the one record of each job (idempotency by key, the status the consoles read, attempts,
the last error). Procrastinate only carries "run job N" to one worker among many, in PostgreSQL: priorities,
a lock per job so it never runs twice at once, worker heartbeats so a dead worker's job is run again, and
periodic tasks deferred once across the cluster.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import procrastinate
from procrastinate.exceptions import ProcrastinateException
from procrastinate.schema import SchemaManager
from procrastinate.signals import on_stop
from procrastinate.worker import Worker
from sqlalchemy import Engine, func, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

from hotline.jobs import (
    DEFERRER,
    QUEUED,
    RUNNING,
    URGENT,
    Handler,
    Job,
    PeriodicTask,
    run_claimed,
)

log = logging.getLogger(__name__)

TASK = "hotline.run_job"  # the one Procrastinate task: run row N of `jobs` through its handler
QUEUE = "hotline"
# Urgent jobs (a caller on the line waits for them) have a queue of their own, with a slot in every worker that
# only they use: a caller never waits behind long archive transcriptions holding every other slot.
URGENT_QUEUE = "hotline-urgent"
SCHEMA_LOCK = 12351_0001  # a PostgreSQL advisory lock: one process applies Procrastinate's schema at a time


def engine_priority(priority: int) -> int:
    """Our priority (lower runs sooner: URGENT 0, BACKGROUND 10) as Procrastinate's (higher runs sooner)."""
    return -priority


def job_queue(priority: int) -> str:
    """The Procrastinate queue of a job of that priority."""
    return URGENT_QUEUE if priority <= URGENT else QUEUE


def job_lock(job_id: int) -> str:
    """The lock and queueing lock of one job's Procrastinate jobs: never two runs of it at once, never two waiting."""
    return f"hotline-job:{job_id}"


def libpq_url(database_url: str) -> str:
    """The SQLAlchemy URL (postgresql+psycopg://…) as the libpq connection string Procrastinate's pool takes."""
    return make_url(database_url).set(drivername="postgresql").render_as_string(hide_password=False)


class ProcrastinateDeferrer:
    """Hands a row of `jobs` to Procrastinate inside the transaction that queued it (`hotline.jobs.DEFERRER`).

    Procrastinate defers on an external connection (`configure(connection=…)`): here the psycopg connection under
    the SQLAlchemy session, so the caller's ticket, our job row and Procrastinate's job commit or roll back
    together, as the embedded queue does. (Deferring through Procrastinate's own pool would commit the
    Procrastinate job before the row exists; a database trigger would also fire for processes running embedded.)
    The app's connector is never opened: it only builds the query.
    """

    def __init__(self, conninfo: str) -> None:
        self._app = procrastinate.App(connector=procrastinate.SyncPsycopgConnector(conninfo=conninfo))

    def __call__(self, session: Session, job: Job) -> None:
        connection = session.connection().connection.driver_connection
        self._app.configure_task(
            TASK,
            queue=job_queue(job.priority),
            priority=engine_priority(job.priority),
            lock=job_lock(job.id),
            queueing_lock=job_lock(job.id),
            schedule_at=job.run_after,
            connection=connection,
        ).defer(job_id=job.id)


def use_procrastinate(factory: sessionmaker[Session], database_url: str) -> None:
    """Every job queued through a session of `factory` goes to Procrastinate too."""
    factory.configure(info={DEFERRER: ProcrastinateDeferrer(libpq_url(database_url))})


def apply_schema(engine: Engine) -> bool:
    """Create Procrastinate's tables and functions unless present; True when created. Never on SQLite.

    Idempotent and safe when several processes start at once (an advisory lock). The schema is the one of the
    installed Procrastinate (pinned below 4 in pyproject.toml); a later version's migrations are applied by hand
    (`procrastinate schema` and its migration files) before upgrading the package.
    """
    if engine.dialect.name != "postgresql":
        raise ValueError("Procrastinate's schema goes into PostgreSQL only")
    schema = SchemaManager.get_schema()
    with engine.begin() as connection:
        connection.execute(select(func.pg_advisory_xact_lock(SCHEMA_LOCK)))
        if connection.execute(text("SELECT to_regclass('procrastinate_jobs')")).scalar() is not None:
            return False
        # Many statements in one string: psycopg runs them as a script only without parameters (SQLAlchemy's
        # exec_driver_sql would pass some), so through the driver's own cursor, in the same transaction.
        with connection.connection.driver_connection.cursor() as cursor:  # type: ignore[union-attr]
            cursor.execute(schema)
    log.info("Procrastinate's schema applied")
    return True


def run_job(factory: sessionmaker[Session], handlers: dict[str, Handler], job_id: int) -> None:
    """Procrastinate's task: claim row `job_id` of `jobs`, run it through its handler, record how it ended."""
    with factory() as session, session.begin():
        job = session.scalar(select(Job).where(Job.id == job_id).with_for_update())
        if job is None or job.status not in (QUEUED, RUNNING):
            return  # done, failed or parked meanwhile: nothing to run
        if job.status == RUNNING:  # a worker died in it; Procrastinate found it stalled and gave it to us
            log.warning("job %s %s: run again, its worker stopped mid-way (attempt %d)", job.id, job.key, job.attempts)
        job.status, job.attempts = RUNNING, job.attempts + 1
    log.info("job %s %s started (attempt %d) in pid %d", job.id, job.key, job.attempts, os.getpid())
    run_claimed(factory, handlers, job)
    log.info("job %s %s ended", job.id, job.key)


def cron_every(seconds: float) -> str:
    """A cron line (Procrastinate's, with a sixth field for seconds) that fires about every `seconds`."""
    if seconds < 60:
        return f"* * * * * */{max(1, round(seconds))}"
    return f"*/{max(1, min(59, round(seconds / 60)))} * * * *"


def build_app(
    database_url: str,
    factory: sessionmaker[Session],
    handlers: dict[str, Handler],
    rounds: Sequence[PeriodicTask],
) -> procrastinate.App:
    """The worker's Procrastinate app: our one task, and the rounds as periodic tasks."""
    app = procrastinate.App(connector=procrastinate.PsycopgConnector(conninfo=libpq_url(database_url)))

    def run(job_id: int) -> None:
        run_job(factory, handlers, job_id)

    app.task(name=TASK, queue=QUEUE)(run)

    # Periodic tasks: each worker's deferrer proposes the round at each cron tick, PostgreSQL keeps one job
    # per task and tick, and the task's lock keeps one round running at a time: once across the cluster.
    for task in rounds:
        periodic = app.periodic(cron=cron_every(task.every_s), periodic_id=task.name)
        periodic(app.task(name=f"hotline.round.{task.name}", queue=QUEUE, lock=f"round:{task.name}")(_round(task)))
    return app


def _round(task: PeriodicTask) -> Callable[[int], None]:
    def round_(timestamp: int) -> None:
        log.info("round %s of tick %d in pid %d", task.name, timestamp, os.getpid())
        task.task()

    round_.__name__ = task.name.replace("-", "_")
    return round_


async def retry_stalled(app: procrastinate.App, stalled_s: float) -> int:
    """Jobs of workers that stopped sending heartbeats (killed, host lost) go back to the queue; how many.

    Every worker looks (a job another worker already put back is no longer `doing`, and is skipped)."""
    retried = 0
    for job in await app.job_manager.get_stalled_jobs(seconds_since_heartbeat=stalled_s):
        try:
            await app.job_manager.retry_job(job)
        except ProcrastinateException as exc:  # put back by another worker meanwhile
            log.debug("stalled job %s not retried here: %s", job.id, exc)
            continue
        log.warning("job %s of a dead worker queued again (%s %s)", job.id, job.task_name, job.task_kwargs)
        retried += 1
    return retried


def requeue_orphans(factory: sessionmaker[Session]) -> int:
    """Rows queued or running with no Procrastinate job to run them are handed to it again; how many.

    Queued by a process running embedded (before the switch to Procrastinate, or misconfigured), or left running
    when the Procrastinate job ended without recording the outcome (the database went away mid-way). A row and
    its Procrastinate job commit together, so in one snapshot every other queued or running row has one.
    """
    orphans = text(
        "SELECT j.id FROM jobs j WHERE j.status IN (:queued, :running) AND NOT EXISTS ("
        "  SELECT 1 FROM procrastinate_jobs p"
        "  WHERE p.lock = 'hotline-job:' || j.id AND p.status IN ('todo', 'doing'))"
        " FOR UPDATE OF j SKIP LOCKED"
    )
    with factory() as session, session.begin():
        ids = session.scalars(orphans, {"queued": QUEUED, "running": RUNNING}).all()
        for job_id in ids:
            job = session.get_one(Job, job_id)
            log.warning(
                "job %s %s had no Procrastinate job (it was %s): handed to it again", job.id, job.key, job.status
            )
            job.status = QUEUED
            session.flush()
            session.info[DEFERRER](session, job)
    return len(ids)


async def _watch(
    app: procrastinate.App, factory: sessionmaker[Session], workers: Sequence[Worker], stalled_s: float, every_s: float
) -> None:
    """Beside the job slots (which long transcriptions may all hold): this process's heartbeats, and the jobs of
    dead workers and orphaned rows put back.

    Procrastinate stops a worker's own heartbeat as soon as it is asked to stop, while its running jobs finish: a
    long transcription would then look stalled and be run a second time elsewhere. Beating here, for as long as
    this process lives, a job is taken for lost only when its process is.
    """
    while True:
        try:
            for worker in workers:
                if worker.worker_id is not None:
                    await app.job_manager.update_heartbeat(worker.worker_id)
            await retry_stalled(app, stalled_s)
            await asyncio.to_thread(requeue_orphans, factory)
        except Exception:  # the database may be briefly away: look again next time
            log.exception("looking for stalled jobs failed")
        await asyncio.sleep(every_s)


def run_worker(
    database_url: str,
    factory: sessionmaker[Session],
    handlers: dict[str, Handler],
    rounds: Sequence[PeriodicTask],
    *,
    concurrency: int,
    heartbeat_s: float,
    stalled_s: float,
) -> None:
    """Run jobs until SIGTERM/SIGINT: `concurrency` at a time plus one urgent slot, each sync handler in a thread
    of this process (so they share its one speech model)."""
    app = build_app(database_url, factory, handlers, rounds)
    name = f"hotline-worker@{socket.gethostname()}:{os.getpid()}"
    options: dict[str, Any] = {
        "update_heartbeat_interval": heartbeat_s,
        "stalled_worker_timeout": stalled_s,
        "delete_jobs": "successful",  # our `jobs` table keeps the record; Procrastinate's table stays small
    }

    async def main() -> None:
        # Sync handlers run in the loop's default executor: a thread per slot, one for the watch, one spare.
        threads = ThreadPoolExecutor(max_workers=concurrency + 3, thread_name_prefix="job")
        asyncio.get_running_loop().set_default_executor(threads)
        async with app.open_async():
            main_worker = Worker(
                app,
                queues=[URGENT_QUEUE, QUEUE],
                concurrency=concurrency,
                name=name,
                install_signal_handlers=False,
                **options,
            )
            lane = Worker(
                app,
                queues=[URGENT_QUEUE],
                concurrency=1,
                name=f"{name}/urgent",
                install_signal_handlers=False,
                **options,
            )
            workers = [main_worker, lane]
            watch = asyncio.create_task(
                _watch(app, factory, workers, stalled_s, every_s=max(0.5, min(heartbeat_s, stalled_s / 3)))
            )

            def stop() -> None:  # SIGTERM/SIGINT: both take no more jobs and end those in hand (a second: now)
                log.info("asked to stop: ending the jobs in hand, taking no new ones")
                for worker in workers:
                    worker.stop()  # type: ignore[no-untyped-call]  # Procrastinate's Worker is unannotated

            try:
                with on_stop(stop):
                    await asyncio.gather(*(worker.run() for worker in workers))  # type: ignore[no-untyped-call]
            finally:
                watch.cancel()

    asyncio.run(main())
