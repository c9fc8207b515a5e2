"""Supervisors' figures: GET /api/reports/{daily|weekly|monthly} and GET /api/dashboard (supervisor, admin)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query
from fastapi.responses import HTMLResponse, JSONResponse, Response

from api.access import Allowed
from api.deps import ServicesDep, SessionDep
from api.errors import Refusal
from api.responses.reports import CorrectionsReport, Dashboard, Report
from hotline.db import utcnow
from reports.corrections import corrections_report
from reports.corrections import to_csv as corrections_csv
from reports.dashboard import dashboard
from reports.labels import breakdown_labels
from reports.metrics import build_report
from reports.periods import KIND_NAMES, KINDS, PeriodError, parse_day, period_of
from reports.render import FORMATS, to_csv, to_html
from routing.classify import default_taxonomy
from staff.roles import masked_for

router = APIRouter(prefix="/api", tags=["reports"])
Supervisor = Allowed  # supervisors (and admin): the access table, staff/access.py
# The figures as JSON (the declared model), or the same figures as a table or a page (format=csv, html).
_CSV: dict[int | str, dict[str, Any]] = {200: {"content": {"text/csv": {}}}}
_CSV_HTML: dict[int | str, dict[str, Any]] = {200: {"content": {"text/csv": {}, "text/html": {}}}}


@router.get(
    "/reports/corrections",
    summary="How often people corrected the classifier: per subject and local week",
    response_model=CorrectionsReport,
    responses=_CSV,
)
def get_corrections_report(
    session: SessionDep,
    services: ServicesDep,
    _user: Supervisor,
    weeks: Annotated[int, Query(ge=1, le=260, description="local weeks back, this one included")] = 8,
    format: Annotated[str, Query(description="json or csv")] = "json",
) -> Response:
    if format not in ("json", "csv"):
        raise Refusal(
            422, f"没有这种导出格式（format={format}）：请改用数据或表格格式（json 或 csv）", "unknown_format"
        )
    report = corrections_report(
        session, now=utcnow(), timezone=services.routing.timezone, taxonomy=default_taxonomy(), weeks=weeks
    )
    if format == "csv":
        return Response(
            corrections_csv(report),
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": f'attachment; filename="12351-corrections-{weeks}w.csv"'},
        )
    return JSONResponse(report)


@router.get(
    "/reports/{kind}",
    summary="The daily, weekly or monthly report (JSON, CSV or HTML)",
    response_model=Report,
    responses=_CSV_HTML,
)
def get_report(
    kind: str,
    session: SessionDep,
    services: ServicesDep,
    user: Supervisor,
    date: Annotated[str, Query(description="a day of the period, YYYY-MM-DD (local time)")],
    format: Annotated[str, Query(description="json, csv or html")] = "json",
) -> Response:
    if kind not in KINDS:
        raise Refusal(404, f"没有这种报表（{kind}）：报表有{KIND_NAMES}", "unknown_report")
    if format not in FORMATS:
        raise Refusal(
            422,
            f"没有这种导出格式（format={format}）：请改用数据、表格或网页格式（json、csv 或 html）",
            "unknown_format",
        )
    try:
        period = period_of(kind, parse_day(date), services.routing.timezone)
    except PeriodError as exc:
        raise Refusal(422, str(exc), "bad_date") from exc
    # Numbers anywhere in the figures (hot spots, employers' names) as the role may see them, in every format.
    report = masked_for(user.role, build_report(session, period, services.routing.sla.calendar, utcnow()))
    if format == "csv":
        return Response(
            to_csv(report),
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": f'attachment; filename="12351-{kind}-{period.first.isoformat()}.csv"'},
        )
    if format == "html":
        return HTMLResponse(to_html(report))
    # The codes of the breakdowns stay; `labels` gives the words the reports page shows for them.
    return JSONResponse({**report, "labels": breakdown_labels(report, default_taxonomy())})


@router.get("/dashboard", summary="The live dashboard's figures", response_model=Dashboard)
def get_dashboard(session: SessionDep, services: ServicesDep, user: Supervisor) -> dict:
    return masked_for(user.role, dashboard(session, services.routing, utcnow()))
