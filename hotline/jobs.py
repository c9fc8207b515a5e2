"""A persistent job queue in the database and the worker threads that run it.

Webhooks must answer fast, so anything slow (Twilio REST calls, downloads, speech recognition) is a job.
Jobs survive a crash: on start, jobs left `running` by a dead process are queued again. Embedded (the
default), one process owns the queue. With HOTLINE_JOBS=procrastinate this table stays the record of each job,
and `hotline.job_engine` hands every job to Procrastinate, whose `hotline worker` processes run the same handlers.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import JSON, Integer, String, Text, select, update
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import Mapped, Session, mapped_column, sessionmaker

from hotline.db import Base, rows_changed, utcnow

log = logging.getLogger(__name__)

QUEUED, RUNNING, DONE, FAILED, WAITING = "queued", "running", "done", "failed", "waiting"
# Lower runs sooner: a caller still on the line waits for their problem's transcript; the archive can wait.
URGENT, NORMAL, BACKGROUND = 0, 5, 10


class Job(Base):
    """One unit of background work; `key` makes enqueueing idempotent."""

    __tablename__ = "jobs"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(48))
    key: Mapped[str] = mapped_column(String(160), unique=True)
    payload: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    status: Mapped[str] = mapped_column(String(16), default=QUEUED, index=True)
    priority: Mapped[int] = mapped_column(Integer, default=NORMAL, server_default=str(NORMAL))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    run_after: Mapped[datetime] = mapped_column(default=utcnow)
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class RetryLater(Exception):
    """The job may succeed later (network down, call not yet answered): run it again after `delay_s`."""

    def __init__(self, message: str, delay_s: float) -> None:
        super().__init__(message)
        self.delay_s = delay_s


class WaitForResource(Exception):
    """The job needs something that is missing (the speech model); park it until `wake_waiting`."""


Handler = Callable[[dict[str, Any], int], None]  # (payload, attempt number from 1)
# With a task engine, a session's `info[DEFERRER]` hands each job queued in it to the engine, in that session's
# transaction (set on the session factory by hotline.job_engine; absent when the jobs run embedded).
DEFERRER = "hotline.job_deferrer"
Deferrer = Callable[[Session, "Job"], None]


def _hand_to_engine(session: Session, job: Job) -> None:
    deferrer: Deferrer | None = session.info.get(DEFERRER)
    if deferrer is not None:
        deferrer(session, job)


def enqueue(
    session: Session, kind: str, key: str, payload: dict[str, Any], *, delay_s: float = 0, priority: int = NORMAL
) -> bool:
    """Add a job unless one with the same key exists; True when added. Runs in the caller's transaction."""
    if session.scalar(select(Job.id).where(Job.key == key)) is not None:
        return False
    job = Job(kind=kind, key=key, payload=payload, run_after=utcnow() + timedelta(seconds=delay_s), priority=priority)
    try:
        with session.begin_nested():
            session.add(job)
    except IntegrityError:  # a concurrent retry of the same webhook got there first
        return False
    _hand_to_engine(session, job)
    return True


def requeue_interrupted(factory: sessionmaker[Session]) -> int:
    """Jobs a crashed process left running go back to the queue; returns how many."""
    with factory() as session, session.begin():
        return rows_changed(session, update(Job).where(Job.status == RUNNING).values(status=QUEUED))


def wake_waiting(factory: sessionmaker[Session], kind: str) -> int:
    """Parked jobs of a kind are queued again (the resource they waited for is here)."""
    with factory() as session, session.begin():
        woken = update(Job).where(Job.status == WAITING, Job.kind == kind).values(status=QUEUED, run_after=utcnow())
        if DEFERRER not in session.info:
            return rows_changed(session, woken)
        ids = session.scalars(woken.returning(Job.id)).all()
        for job_id in ids:
            _hand_to_engine(session, session.get_one(Job, job_id))
        return len(ids)


def claim_next(factory: sessionmaker[Session], max_priority: int | None = None) -> Job | None:
    """Take the most pressing due job (priority, then age), or None; the conditional update makes two workers
    never take the same one. `max_priority` keeps a worker to jobs at least that pressing."""
    with factory() as session, session.begin():
        query = select(Job).where(Job.status == QUEUED, Job.run_after <= utcnow())
        if max_priority is not None:
            query = query.where(Job.priority <= max_priority)
        candidates = session.scalars(query.order_by(Job.priority, Job.id).limit(5)).all()
        for job in candidates:
            taken = rows_changed(
                session,
                update(Job)
                .where(Job.id == job.id, Job.status == QUEUED)
                .values(status=RUNNING, attempts=Job.attempts + 1),
            )
            if taken == 1:
                session.refresh(job)
                return job
    return None


# A job that met an unreachable database (PostgreSQL restarting, a network cut) is tried again this much later,
# its attempt not counted; how it ended is written once the database is back, for up to FINISH_PATIENCE_S.
DATABASE_RETRY_S = 5.0
FINISH_PATIENCE_S = 600.0


def _finish(factory: sessionmaker[Session], job_id: int, **values: object) -> None:
    """Write how the job ended; while the database cannot be reached, wait for it (growing pauses) rather than
    leave the job `running` with nobody running it. Past the patience the job is resumed at the next start."""
    pause, waited = 0.5, 0.0
    while True:
        try:
            with factory() as session, session.begin():
                session.execute(update(Job).where(Job.id == job_id).values(**values))
                if values.get("status") == QUEUED:  # to be tried again later: the engine, if any, is told when
                    _hand_to_engine(session, session.get_one(Job, job_id, populate_existing=True))
            return
        except OperationalError:
            if waited >= FINISH_PATIENCE_S:
                raise
            log.warning("job %s: the database cannot be reached; writing its end again in %.1f s", job_id, pause)
            time.sleep(pause)
            waited += pause
            pause = min(pause * 2, 10.0)


def run_claimed(factory: sessionmaker[Session], handlers: dict[str, Handler], job: Job) -> None:
    """Run a job this worker has claimed (status running) through its handler; record how it ended."""
    handler = handlers.get(job.kind)
    try:
        if handler is None:
            raise LookupError(f"no handler for job kind {job.kind!r}")
        handler(job.payload, job.attempts)
    except RetryLater as exc:
        log.info("job %s %s: %s; again in %.1f s", job.id, job.key, exc, exc.delay_s)
        run_after = utcnow() + timedelta(seconds=exc.delay_s)
        _finish(factory, job.id, status=QUEUED, run_after=run_after, last_error=str(exc))
    except WaitForResource as exc:
        _finish(factory, job.id, status=WAITING, last_error=str(exc))
    except OperationalError as exc:  # the database, not the job, failed: run it again once it is back
        log.warning("job %s %s: database unreachable (%s); again in %.0f s", job.id, job.key, exc, DATABASE_RETRY_S)
        run_after = utcnow() + timedelta(seconds=DATABASE_RETRY_S)
        error = f"数据库暂时无法连接：{type(exc).__name__}"
        _finish(factory, job.id, status=QUEUED, run_after=run_after, attempts=Job.attempts - 1, last_error=error)
    except Exception as exc:  # a job must never kill its worker
        log.exception("job %s %s failed", job.id, job.key)
        _finish(factory, job.id, status=FAILED, last_error=f"{type(exc).__name__}: {exc}")
    else:
        _finish(factory, job.id, status=DONE, last_error=None)


JOB_NICENESS = 10


def _yield_cpu_to_webhooks() -> None:
    """Lower this worker thread's CPU priority (Linux niceness is per thread): speech recognition fills the
    cores, and a webhook a caller is waiting on must not queue behind it."""
    try:
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), JOB_NICENESS)
    except (AttributeError, OSError):  # not Linux, or not allowed: run at normal priority
        pass


class JobRunner:
    """Worker threads that run due jobs through their handlers until stopped."""

    def __init__(
        self,
        factory: sessionmaker[Session],
        handlers: dict[str, Handler],
        *,
        workers: int = 2,
        poll_s: float = 0.5,
        on_idle: Callable[[], None] | None = None,
    ) -> None:
        self._factory = factory
        self._handlers = handlers
        self._workers = workers
        self._poll_s = poll_s
        self._on_idle = on_idle
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._threads: list[threading.Thread] = []

    def start(self) -> None:
        count = requeue_interrupted(self._factory)
        if count:
            log.warning("resuming %d job(s) interrupted by a previous stop", count)
        # One lane is kept for urgent jobs, so a caller on the line never waits behind a long archive job.
        lanes = [URGENT] + [None] * self._workers
        for n, lane in enumerate(lanes):
            name = "job-worker-urgent" if lane is not None else f"job-worker-{n}"
            thread = threading.Thread(target=self._loop, args=(lane,), name=name, daemon=True)
            thread.start()
            self._threads.append(thread)

    def wake(self) -> None:
        """A job was just queued: look now rather than at the next poll."""
        self._wake.set()

    def stop(self, timeout_s: float = 10) -> None:
        self._stop.set()
        self._wake.set()
        for thread in self._threads:
            thread.join(timeout_s)
        self._threads.clear()

    def run_once(self, max_priority: int | None = None) -> bool:
        """Run one due job in this thread; False when none was due. (Also what each worker loops on.)"""
        job = claim_next(self._factory, max_priority)
        if job is None:
            return False
        run_claimed(self._factory, self._handlers, job)
        return True

    def _loop(self, max_priority: int | None) -> None:
        if max_priority is None:  # the urgent lane's jobs are short REST calls a live call waits on: full priority
            _yield_cpu_to_webhooks()
        while not self._stop.is_set():
            try:
                if self.run_once(max_priority):
                    continue
                if self._on_idle is not None:
                    self._on_idle()
            except Exception:  # the database may be briefly unavailable; keep the worker alive
                log.exception("job worker error")
            self._wake.wait(self._poll_s)
            self._wake.clear()


class PeriodicTask:
    """Runs `task` every `every_s` seconds in a thread of its own until stopped (the SLA clock's rounds);
    the first round after `first_after_s` (default: one period)."""

    def __init__(self, name: str, task: Callable[[], None], every_s: float, first_after_s: float | None = None) -> None:
        self.name, self.task, self.every_s = name, task, every_s  # read by hotline.job_engine's periodic tasks
        self._first_after_s = every_s if first_after_s is None else first_after_s
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._loop, name=self.name, daemon=True)
        self._thread.start()

    def stop(self, timeout_s: float = 10) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout_s)

    def _loop(self) -> None:
        wait_s = self._first_after_s
        while not self._stop.wait(wait_s):
            wait_s = self.every_s
            try:
                self.task()
            except Exception:  # the next round tries again
                log.exception("%s failed", self.name)
