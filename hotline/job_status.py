"""What the background jobs are doing, for people: counts by kind and state, the failed ones, the workers' heartbeats.

One read for both modes. The `jobs` table is the record of every job whoever runs it (embedded threads of
`hotline serve`, or `hotline worker` processes on Procrastinate), so the counts and the failed jobs come from it;
the workers are Procrastinate's `procrastinate_workers` rows (their heartbeats), or, embedded, the service process
itself. `retry_failed` puts a failed job back in the queue (and hands it to the engine, if any).
"""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select, text, update
from sqlalchemy.orm import Session, sessionmaker

from hotline.db import rows_changed
from hotline.jobs import DEFERRER, DONE, FAILED, QUEUED, RUNNING, WAITING, Deferrer, Job

log = logging.getLogger(__name__)

EMBEDDED, PROCRASTINATE = "embedded", "procrastinate"
DONE_WINDOW = timedelta(hours=24)  # "done" counts only the last day's: the table keeps every job ever run
FAILED_LIMIT = 50

# The words staff read for each job kind (the codes are the handlers' job kinds, hotline stays below the packages
# that define them); a kind not listed here is shown as 其他任务.
KIND_LABELS = {
    "fetch_recording": "下载录音",
    "transcribe_recording": "转写录音",
    "place_survey_call": "满意度回访",
    "move_to_supervisor": "转接班长",
}
OTHER_KIND = "其他任务"
STATE_LABELS = {QUEUED: "排队中", RUNNING: "运行中", WAITING: "等待资源", FAILED: "失败", DONE: "已完成"}
# The columns of the counts (a KindCounts field → its heading).
COUNT_LABELS = {
    "queued": "排队中",
    "running": "运行中",
    "waiting": "等待资源",
    "failed": "失败",
    "done_24h": "24 小时内完成",
}
MODE_LABELS = {EMBEDDED: "内嵌：服务进程自己运行任务", PROCRASTINATE: "分布式：独立的工作进程运行任务"}
# What a job is about, from its payload: shown beside the kind so a person knows which call or recording it is.
SUBJECT_KEYS = ("recording_sid", "call_sid", "survey_id")


def kind_label(kind: str) -> str:
    """The Chinese name of a job kind."""
    return KIND_LABELS.get(kind, OTHER_KIND)


@dataclass
class KindCounts:
    """One job kind: how many are queued, running, parked, failed, and done in the last 24 hours."""

    kind: str
    label: str
    queued: int = 0
    running: int = 0
    waiting: int = 0
    failed: int = 0
    done_24h: int = 0


@dataclass(frozen=True)
class FailedJob:
    """A job that ended in an error and waits for a person (retry, or look at the error)."""

    id: int
    kind: str
    label: str
    subject: str | None
    attempts: int
    error: str | None
    queued_at: datetime
    failed_at: datetime


@dataclass(frozen=True)
class WorkerBeat:
    """A process that runs jobs, with its last sign of life and how many jobs it runs now."""

    id: str
    last_heartbeat: datetime | None
    seconds_since: float | None
    running: int
    alive: bool | None  # None: not known from here (an embedded service seen from another process)


@dataclass
class JobStatus:
    """Everything `hotline jobs` and the dashboard's jobs panel show."""

    mode: str
    mode_label: str
    as_of: datetime
    kinds: list[KindCounts] = field(default_factory=list)
    failed: list[FailedJob] = field(default_factory=list)
    workers: list[WorkerBeat] = field(default_factory=list)
    last_activity: datetime | None = None  # the last time one of the latest jobs changed state

    def totals(self) -> dict[str, int]:
        """The counts over every kind."""
        return {name: sum(getattr(k, name) for k in self.kinds) for name in COUNT_LABELS}

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: codes and Chinese labels, UTC times with their offsets."""
        data: dict[str, Any] = _iso({**asdict(self), "totals": self.totals()})
        return data


def _iso(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, dict):
        return {k: _iso(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_iso(v) for v in value]
    return value


def _subject(payload: dict[str, Any] | None) -> str | None:
    for key in SUBJECT_KEYS:
        if payload and payload.get(key) is not None:
            return str(payload[key])
    return None


def kind_counts(session: Session, now: datetime) -> list[KindCounts]:
    """Jobs by kind and state (done: only those finished in the last 24 hours), every known kind listed."""
    counts = {kind: KindCounts(kind, kind_label(kind)) for kind in KIND_LABELS}
    # Two queries, each narrowed by the status index (an OR of the two would read the whole table).
    pending = select(Job.kind, Job.status, func.count()).where(Job.status.in_([QUEUED, RUNNING, WAITING, FAILED]))
    done = select(Job.kind, Job.status, func.count()).where(Job.status == DONE, Job.updated_at >= now - DONE_WINDOW)
    rows = [
        *session.execute(pending.group_by(Job.kind, Job.status)),
        *session.execute(done.group_by(Job.kind, Job.status)),
    ]
    for kind, status, count in rows:
        entry = counts.setdefault(kind, KindCounts(kind, kind_label(kind)))
        name = "done_24h" if status == DONE else status
        if hasattr(entry, name):
            setattr(entry, name, getattr(entry, name) + count)
    return list(counts.values())


def failed_jobs(session: Session, limit: int = FAILED_LIMIT) -> list[FailedJob]:
    """The failed jobs, the latest failure first."""
    jobs = session.scalars(select(Job).where(Job.status == FAILED).order_by(Job.updated_at.desc(), Job.id.desc()))
    return [
        FailedJob(
            job.id,
            job.kind,
            kind_label(job.kind),
            _subject(job.payload),
            job.attempts,
            job.last_error,
            job.created_at,
            job.updated_at,
        )
        for job in jobs.fetchmany(limit)
    ]


def procrastinate_workers(session: Session, now: datetime, stalled_s: float) -> list[WorkerBeat]:
    """Procrastinate's workers (two per `hotline worker`: its slots and its urgent lane), with their heartbeats."""
    if session.get_bind().dialect.name != "postgresql":
        return []
    if session.scalar(text("SELECT to_regclass('procrastinate_workers')")) is None:
        return []  # the schema is applied by the first `hotline serve` or `hotline worker`
    rows = session.execute(
        text(
            "SELECT w.id, w.last_heartbeat, count(j.id) FROM procrastinate_workers w"
            " LEFT JOIN procrastinate_jobs j ON j.worker_id = w.id AND j.status = 'doing'"
            " GROUP BY w.id, w.last_heartbeat ORDER BY w.id"
        )
    )
    beats = []
    for worker_id, beat, running in rows:
        since = max(0.0, (now - beat).total_seconds())
        beats.append(WorkerBeat(str(worker_id), beat, round(since, 1), running, since < stalled_s))
    return beats


RECENT_JOBS = 1000


def last_activity(session: Session) -> datetime | None:
    """When a job last changed state, among the latest jobs (by primary key: no scan of the whole history)."""
    newest = session.scalar(select(func.max(Job.id)))
    if newest is None:
        return None
    return session.scalar(select(func.max(Job.updated_at)).where(Job.id > newest - RECENT_JOBS))


def job_status(
    session: Session,
    mode: str,
    now: datetime,
    *,
    stalled_s: float = 30,
    serving: bool = False,
    failed_limit: int = FAILED_LIMIT,
) -> JobStatus:
    """The jobs and their workers now. `serving`: asked inside the embedded service process, which is then the one
    worker and alive (from another process, its heartbeat is unknown)."""
    status = JobStatus(mode, MODE_LABELS.get(mode, mode), now)
    status.kinds = kind_counts(session, now)
    status.failed = failed_jobs(session, failed_limit)
    status.last_activity = last_activity(session)
    if mode == PROCRASTINATE:
        status.workers = procrastinate_workers(session, now, stalled_s)
    else:
        running = sum(k.running for k in status.kinds)
        beat = now if serving else None
        status.workers = [WorkerBeat("serve", beat, 0.0 if serving else None, running, True if serving else None)]
    return status


class NotRetryable(Exception):
    """The job does not exist or has not failed; the message says so in Chinese."""


def retry_failed(factory: sessionmaker[Session], job_id: int, now: datetime) -> Job:
    """Queue a failed job again, due now, with a fresh count of attempts (its handler's retries start over).

    With an engine, the job is handed to it in the same transaction (the session factory's `DEFERRER`)."""
    with factory() as session, session.begin():
        retried = update(Job).where(Job.id == job_id, Job.status == FAILED)
        if rows_changed(session, retried.values(status=QUEUED, run_after=now, attempts=0)) != 1:
            job = session.get(Job, job_id)
            if job is None:
                raise NotRetryable(f"没有编号为 {job_id} 的任务：请用 `hotline jobs --failed` 查看失败任务的编号")
            state = STATE_LABELS.get(job.status, job.status)
            raise NotRetryable(f"任务 {job_id}（{kind_label(job.kind)}）现在是“{state}”：只有失败的任务可以重试")
        job = session.get_one(Job, job_id, populate_existing=True)
        deferrer: Deferrer | None = session.info.get(DEFERRER)
        if deferrer is not None:
            deferrer(session, job)
        log.info("job %s %s queued again by hand (it had failed: %s)", job.id, job.key, job.last_error)
        session.expunge(job)
    return job
