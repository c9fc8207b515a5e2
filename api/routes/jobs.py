"""GET /api/jobs: the background jobs and their workers' heartbeats, for the supervisors' dashboard."""

from __future__ import annotations

from fastapi import APIRouter

from api.access import Allowed
from api.deps import ServicesDep, SessionDep
from api.responses.jobs import JobsView
from hotline.db import utcnow
from hotline.job_status import job_status

router = APIRouter(prefix="/api", tags=["jobs"])


@router.get(
    "/jobs",
    summary="Background jobs by kind and state, the failed ones, and the workers with their last heartbeat",
    response_model=JobsView,
)
def get_jobs(session: SessionDep, services: ServicesDep, _user: Allowed) -> dict:
    settings = services.settings
    # Embedded, this process runs the jobs: answering is its heartbeat. On Procrastinate, the workers' own.
    status = job_status(
        session,
        settings.jobs,
        utcnow(),
        stalled_s=settings.worker_stalled_seconds,
        serving=settings.jobs != "procrastinate",
    )
    return status.to_dict()
