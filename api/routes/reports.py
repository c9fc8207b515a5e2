"""Supervisors' figures: GET /api/reports/{daily|weekly|monthly} and GET /api/dashboard (supervisor, admin)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Query
from fastapi.responses import HTMLResponse, JSONResponse, Response

from api.deps import ServicesDep, SessionDep
from api.staff_auth import require_roles
from hotline.db import utcnow
from reports.dashboard import dashboard
from reports.metrics import build_report
from reports.periods import KINDS, PeriodError, parse_day, period_of
from reports.render import FORMATS, to_csv, to_html
from staff.tables import StaffUser

router = APIRouter(prefix="/api", tags=["reports"])
Supervisor = Annotated[StaffUser, Depends(require_roles("supervisor"))]


@router.get("/reports/{kind}", summary="The daily, weekly or monthly report (JSON, CSV or HTML)")
def get_report(kind: str, session: SessionDep, services: ServicesDep, _user: Supervisor,
               date: Annotated[str, Query(description="a day of the period, YYYY-MM-DD (local time)")],
               format: Annotated[str, Query(description="json, csv or html")] = "json") -> Response:
    if kind not in KINDS:
        raise HTTPException(404, f"no {kind!r} report: reports are {', '.join(KINDS)}")
    if format not in FORMATS:
        raise HTTPException(422, f"format must be one of: {', '.join(FORMATS)}")
    try:
        period = period_of(kind, parse_day(date), services.routing.timezone)
    except PeriodError as exc:
        raise HTTPException(422, str(exc)) from exc
    report = build_report(session, period, services.routing.sla.calendar, utcnow())
    if format == "csv":
        return Response(to_csv(report), media_type="text/csv; charset=utf-8", headers={
            "Content-Disposition": f'attachment; filename="12351-{kind}-{period.first.isoformat()}.csv"'})
    if format == "html":
        return HTMLResponse(to_html(report))
    return JSONResponse(report)


@router.get("/dashboard", summary="The live dashboard's figures")
def get_dashboard(session: SessionDep, services: ServicesDep, _user: Supervisor) -> dict:
    return dashboard(session, services.routing, utcnow())
