"""The background jobs as the API answers them (GET /api/jobs): counts by kind and state, the failed jobs, the
workers with their heartbeats. Kinds and states are codes; `label` and `mode_label` are the words people read."""

from __future__ import annotations

from pydantic import Field

from api.responses.base import Answer, UtcTime, code, label


class JobKindCounts(Answer):
    """One job kind: queued, running, waiting for a resource (the speech model), failed, done in the last 24 h."""

    kind: str = Field(description=code("the job kind, e.g. transcribe_recording"))
    label: str = Field(description=label("the job kind"))
    queued: int
    running: int
    waiting: int
    failed: int
    done_24h: int


class JobTotals(Answer):
    """The counts over every kind."""

    queued: int
    running: int
    waiting: int
    failed: int
    done_24h: int


class FailedJobView(Answer):
    """A job that ended in an error: `hotline jobs retry ID` runs it again."""

    id: int
    kind: str = Field(description=code("the job kind"))
    label: str = Field(description=label("the job kind"))
    subject: str | None = Field(description="the recording SID, call SID or survey the job is about")
    attempts: int
    error: str | None = Field(description="the last error, as the handler raised it (for the administrator)")
    queued_at: UtcTime
    failed_at: UtcTime


class WorkerView(Answer):
    """A process that runs jobs: a Procrastinate worker, or (embedded) the service process itself (`serve`)."""

    id: str
    last_heartbeat: UtcTime | None
    seconds_since: float | None = Field(description="seconds from the last heartbeat to `as_of`")
    running: int = Field(description="jobs it runs now")
    alive: bool | None = Field(description="heartbeat within HOTLINE_WORKER_STALLED_SECONDS (null: not known)")


class JobsView(Answer):
    """The jobs panel of the supervisors' dashboard."""

    mode: str = Field(description=code("embedded or procrastinate (HOTLINE_JOBS)"))
    mode_label: str = Field(description=label("who runs the jobs"))
    as_of: UtcTime
    kinds: list[JobKindCounts]
    totals: JobTotals
    failed: list[FailedJobView] = Field(description="the failed jobs, the latest first (at most 50)")
    workers: list[WorkerView]
    last_activity: UtcTime | None = Field(description="the last time one of the latest 1000 jobs changed state")
