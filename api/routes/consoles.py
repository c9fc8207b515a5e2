"""The staff consoles' pages: quality inspection, feedback, the lawyer seat, the dashboard, the reports and
the dispatcher's tickets.

Each page is a template plus a small script that reads the JSON API; the page itself only checks the role
(a signed-out browser goes to the sign-in page). The dashboard's chart library (plotly.js) comes from the
installed `plotly` Python package and is served by the app itself: no CDN, nothing fetched at run time.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import TypeAlias

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse, Response

from api.access import Allowed, may_read_ticket, reach
from api.deps import ServicesDep, SessionDep
from api.errors import Refusal
from api.pages import STATIC, render
from api.routes.auth import page_context
from api.ticket_view import find_ticket
from hotline.db import utcnow
from reports.metrics import DEFINITIONS
from routing.alerts import ALERT_LABELS
from routing.classify import default_taxonomy
from routing.corrections import DOUBT_LABELS, FIELD_LABELS, KIND_LABELS, urgency_flag_labels
from routing.lifecycle import STATE_LABELS
from routing.tickets import local_day

router = APIRouter(include_in_schema=False)

# Which roles open each page is the access table's (staff/access.py); a signed-out browser goes to /login.
InspectorPage: TypeAlias = Allowed
HandlerPage: TypeAlias = Allowed
LawyerPage: TypeAlias = Allowed
SupervisorPage: TypeAlias = Allowed
DispatcherPage: TypeAlias = Allowed


def plotly_js() -> Path | None:
    """plotly.min.js as the installed plotly package ships it, or None when the package is missing."""
    try:
        import plotly
    except ImportError:
        return None
    path = Path(plotly.__file__).resolve().parent / "package_data" / "plotly.min.js"
    return path if path.is_file() else None


@router.get("/static/vendor/plotly.min.js")
def vendored_plotly() -> Response:
    path = plotly_js()
    if path is None:
        raise Refusal(404, "图表组件没有安装：请管理员安装（pip install 'plotly>=5'）", "plotly_missing")
    # The file changes only when the package is upgraded; a day's cache spares the 4 MB on every refresh.
    return FileResponse(path, media_type="text/javascript", headers={"Cache-Control": "public, max-age=86400"})


@router.get("/favicon.ico")
def favicon() -> Response:
    """The browser tab's icon (工), asked for by every browser at the site's root, signed in or not."""
    return FileResponse(
        STATIC / "favicon.ico", media_type="image/x-icon", headers={"Cache-Control": "public, max-age=86400"}
    )


def _today(services: ServicesDep) -> str:
    return local_day(utcnow(), services.settings.timezone).isoformat()


@router.get("/qa")
def qa_page(request: Request, user: InspectorPage, services: ServicesDep) -> Response:
    yesterday = (local_day(utcnow(), services.settings.timezone) - timedelta(days=1)).isoformat()
    return render("qa.html", **page_context(request, user), default_day=yesterday)


@router.get("/qa/samples/{sample_id}")
def qa_sample_page(sample_id: int, request: Request, user: InspectorPage) -> Response:
    return render("qa_sample.html", **page_context(request, user), sample_id=sample_id)


@router.get("/feedback")
def feedback_page(request: Request, user: HandlerPage) -> Response:
    return render("feedback.html", **page_context(request, user))


@router.get("/lawyer")
def lawyer_page(request: Request, user: LawyerPage) -> Response:
    return render("lawyer.html", **page_context(request, user))


@router.get("/dashboard")
def dashboard_page(request: Request, user: SupervisorPage, services: ServicesDep) -> Response:
    return render(
        "dashboard.html", **page_context(request, user), timezone=services.settings.timezone, labels=ticket_labels()
    )


@router.get("/reports")
def reports_page(request: Request, user: SupervisorPage, services: ServicesDep) -> Response:
    return render(
        "reports.html",
        **page_context(request, user),
        today=_today(services),
        definitions=[[key, *text] for key, text in DEFINITIONS.items()],
    )  # a list: tojson sorts keys


def ticket_labels() -> dict:
    """The words staff read for the codes a ticket carries: subjects, classes and 1155 flags (the taxonomy), states."""
    taxonomy = default_taxonomy()
    return {
        "subjects": {key: spec.get("label", key) for key, spec in taxonomy.subjects.items()},
        "classes": dict(taxonomy.handling_classes),
        "flags": urgency_flag_labels(taxonomy),
        "states": dict(STATE_LABELS),
        "kinds": dict(KIND_LABELS),
        "doubts": dict(DOUBT_LABELS),
        "alerts": dict(ALERT_LABELS),
        "fields": dict(FIELD_LABELS),
    }


@router.get("/tickets")
def tickets_page(request: Request, user: DispatcherPage, services: ServicesDep) -> Response:
    return render(
        "tickets.html", **page_context(request, user), labels=ticket_labels(), timezone=services.settings.timezone
    )


@router.get("/tickets/{number}")
def ticket_page(
    number: str, request: Request, user: DispatcherPage, services: ServicesDep, session: SessionDep
) -> Response:
    ticket = find_ticket(session, number)
    if ticket is not None and not may_read_ticket(session, user, reach(request), ticket):
        # A lawyer opens only their own callbacks and their callers' tickets: a page that says so.
        return render(
            "refused.html",
            status_code=403,
            **page_context(request, user),
            message=f"工单 {number} 不是您的：律师只能打开分配给自己座席的回电工单和自己接听的来电的工单。",
        )
    return render(
        "ticket.html",
        **page_context(request, user),
        number=number,
        labels=ticket_labels(),
        timezone=services.settings.timezone,
    )
