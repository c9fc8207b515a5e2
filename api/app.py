"""The FastAPI app: Twilio webhooks, the REST API, the staff consoles, health."""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated
from urllib.parse import parse_qsl, urlencode
from xml.sax.saxutils import escape

import fastapi_offline
from fastapi import Depends, FastAPI, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse
from fastapi.staticfiles import StaticFiles
from sqlalchemy.exc import OperationalError
from starlette.types import ASGIApp, Receive, Scope, Send

from api.access import enforce_access
from api.errors import Refusal, invalid_request, refused
from api.forwarded import TrustedProxyHeaders
from api.pages import STATIC, render
from api.routes import (
    alerts,
    auth,
    consoles,
    media_stream,
    seat_console,
    seats,
    tickets,
    twilio_prompts,
    twilio_routing,
    twilio_survey,
    twilio_voice,
)
from api.routes import jobs as job_routes
from api.routes import qa as qa_routes
from api.routes import recordings as recording_routes
from api.routes import reports as report_routes
from api.routes.auth import CONSOLE_ROLES, nav_for
from api.security_headers import SecurityHeaders, csp_nonce
from api.services import Services, build_services
from api.staff_auth import PageRefused, StaffDep, require_page_roles
from api.twilio_auth import REPLAY_PREFIX
from hotline import twilio_paths as paths
from hotline.db import DatabaseBusy, wait_for_database
from hotline.settings import Settings, get_settings
from staff.roles import ROLE_LABELS
from staff.tables import StaffUser

log = logging.getLogger(__name__)
# Twilio callbacks that only report (no caller hears their answer): they may wait longer for the database.
CALLBACK_ENDINGS = ("/status", "/recording-status", "/stream-status")


def create_app(settings: Settings | None = None, services: Services | None = None) -> FastAPI:
    """The app for these settings; background workers run while the app is up."""
    services = services or build_services(settings or get_settings())
    settings = services.settings
    settings.check_production()

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        services.start()
        try:
            yield
        finally:
            services.close()

    # Every route passes the access table (staff/access.py) first: one place says who may use what.
    # The API's description and its pages are for signed-in staff (below), and /docs needs no CDN.
    app = FastAPI(
        title="hotline12351",
        summary="Voice front-end of the 12351 worker hotline",
        lifespan=lifespan,
        dependencies=[Depends(enforce_access)],
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
    )
    app.state.services = services
    # Outermost first: forwarded headers decide the client and URL before anything reads them.
    app.add_middleware(DatabaseWaits, settings=settings)
    app.add_middleware(SecurityHeaders, hsts=settings.secure_cookies)
    app.add_middleware(TrustedProxyHeaders, trusted=settings.trusted_proxy_networks)
    app.include_router(twilio_voice.router)
    app.include_router(twilio_routing.router)
    app.include_router(tickets.router)
    app.include_router(media_stream.router)
    app.include_router(seats.router)
    app.include_router(alerts.router)
    app.include_router(twilio_survey.router)
    app.include_router(twilio_prompts.router)
    app.include_router(auth.router)
    app.include_router(recording_routes.router)
    app.include_router(report_routes.router)
    app.include_router(job_routes.router)
    app.include_router(qa_routes.router)
    app.include_router(seat_console.router)
    app.include_router(consoles.router)  # before the /static mount: it serves /static/vendor/plotly.min.js
    app.mount("/static/api-docs", StaticFiles(directory=API_DOCS_FILES), name="api-docs")
    app.mount("/static", StaticFiles(directory=STATIC), name="static")

    app.exception_handler(RequestValidationError)(invalid_request)  # 422 even for NaN or undecodable input
    app.exception_handler(Refusal)(refused)  # Chinese words for people, a code for scripts

    @app.exception_handler(PageRefused)
    async def page_refused(request: Request, exc: PageRefused) -> Response:
        wanted = "、".join(ROLE_LABELS.get(r, r) for r in exc.roles)
        return render(
            "refused.html",
            status_code=403,
            user=exc.user,
            nav=nav_for(exc.user),
            csrf=request.state.csrf,
            user_json=None,
            role_label=ROLE_LABELS.get(exc.user.role, exc.user.role),
            wanted=wanted,
        )

    @app.exception_handler(DatabaseBusy)
    async def database_busy(request: Request, exc: DatabaseBusy) -> Response:
        return busy_answer(request, exc)

    @app.exception_handler(OperationalError)
    async def database_unreachable(request: Request, exc: OperationalError) -> Response:
        # PostgreSQL restarting, a network cut: answered at once like a busy database (the call goes on, staff
        # are told to try again), never a 500; the pool's pre-ping replaces dead connections when it is back.
        return busy_answer(request, exc, UNREACHABLE)

    # A plain route on the event loop (no app-wide dependency, no database session, no request thread): it
    # answers while a writer holds SQLite's lock, even if every request thread is waiting for it.
    async def health(_request: Request) -> JSONResponse:
        health: dict[str, object] = {
            "status": "ok",
            "speech_model": services.model.name if services.model.available() else None,
        }
        if services.carrier_edge is not None:  # Asterisk: whether ARI is connected, so calls reach us
            health["carrier"] = services.carrier_edge.status()
        return JSONResponse(health)

    app.add_route("/health", health, methods=["GET"])

    @app.get("/openapi.json", include_in_schema=False)
    def openapi(_user: StaffDep) -> JSONResponse:
        return JSONResponse(app.openapi())

    @app.get("/docs", include_in_schema=False)
    def docs(
        request: Request, _user: Annotated[StaffUser, Depends(require_page_roles(*CONSOLE_ROLES))]
    ) -> HTMLResponse:
        return HTMLResponse(swagger_page(csp_nonce(), request.state.csrf), headers={"Cache-Control": "no-store"})

    @app.get("/redoc", include_in_schema=False)
    def redoc(_user: Annotated[StaffUser, Depends(require_page_roles(*CONSOLE_ROLES))]) -> HTMLResponse:
        return HTMLResponse(REDOC_PAGE, headers={"Cache-Control": "no-store"})

    return app


# Swagger UI and ReDoc as the fastapi-offline package ships them, served from here: no CDN, so /docs works
# on a hotline's network without the internet.
API_DOCS_FILES = Path(fastapi_offline.__file__).resolve().parent / "static"
REDOC_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>hotline12351 API</title></head>
<body><redoc spec-url="/openapi.json"></redoc><script src="/static/api-docs/redoc.standalone.js"></script>
</body></html>"""


def swagger_page(nonce: str, csrf: str) -> str:
    """Swagger UI from this service's own files (API_DOCS_FILES), with the session's CSRF token for Try it out."""
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>hotline12351 API</title>
<link rel="stylesheet" href="/static/api-docs/swagger-ui.css"></head>
<body><div id="swagger-ui"></div>
<script src="/static/api-docs/swagger-ui-bundle.js"></script>
<script nonce="{nonce}">
SwaggerUIBundle({{url: "/openapi.json", dom_id: "#swagger-ui", deepLinking: true,
  presets: [SwaggerUIBundle.presets.apis], layout: "BaseLayout",
  requestInterceptor: (r) => {{ r.headers["X-CSRF-Token"] = {json.dumps(csrf)}; return r; }}}});
</script></body></html>"""


def is_twilio_callback(path: str) -> bool:
    return paths.is_twilio_path(path) and path.endswith(CALLBACK_ENDINGS)


class DatabaseWaits:
    """ASGI middleware bounding how long each request waits for the database (hotline.db.wait_for_database).

    A webhook that gets TwiML waits at most `webhook_wait_seconds`, then is answered by `busy_answer` with
    a pause and a redirect to itself; a status or recording callback waits `callback_wait_seconds` (Twilio
    gives up at 15 s); a staff request `request_wait_seconds`, then 503.
    """

    def __init__(self, app: ASGIApp, *, settings: Settings) -> None:
        self.app, self.settings = app, settings

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path = scope["path"]
        if is_twilio_callback(path):
            seconds = self.settings.callback_wait_seconds
        elif paths.is_twilio_path(path):
            seconds = self.settings.webhook_wait_seconds
        else:
            seconds = self.settings.request_wait_seconds
        token = wait_for_database(seconds)
        try:
            await self.app(scope, receive, send)
        finally:
            token.var.reset(token)


@dataclass(frozen=True)
class _Unavailable:
    """Why the database could not be used, as staff and scripts read it."""

    code: str
    detail: str


BUSY = _Unavailable("database_busy", "系统正忙：请几秒钟后再试")
UNREACHABLE = _Unavailable("database_unreachable", "数据库暂时无法连接：请稍等片刻再试，已保存的内容不会丢失")


def busy_answer(request: Request, exc: Exception, why: _Unavailable = BUSY) -> Response:
    """The database stayed locked past the request's bound (or could not be reached).

    A webhook whose TwiML a caller is waiting for gets a short pause and a redirect to the same step: the
    call goes on, and the step is asked again with the form it was sent (its fields beyond the call's own
    ride in the redirect's query, which Twilio signs with the rest of the URL). Nothing was written, so
    nothing is lost or doubled. Callbacks and staff requests get 503 with Retry-After.
    """
    path = request.url.path
    form = getattr(request.state, "twilio_form", None)
    if paths.is_twilio_path(path) and not is_twilio_callback(path) and form is not None:
        log.warning("%s: %s of call %s answered with pause and redirect", why.code, path, form.get("CallSid"))
        query = [
            (k, v) for k, v in parse_qsl(request.url.query, keep_blank_values=True) if not k.startswith(REPLAY_PREFIX)
        ]
        query += [(REPLAY_PREFIX + k, v) for k, v in form.items() if k not in CALL_FIELDS]
        url = path + (f"?{urlencode(query)}" if query else "")
        return Response(
            '<?xml version="1.0" encoding="UTF-8"?>\n<Response><Pause length="1"/>'
            f'<Redirect method="POST">{escape(url)}</Redirect></Response>',
            media_type="application/xml",
        )
    log.error("%s: %s answered 503 (%s)", why.code, path, exc)
    return JSONResponse({"detail": why.detail, "code": why.code}, status_code=503, headers={"Retry-After": "2"})


# What Twilio sends with every request of a call, a redirect's too: no need to carry them along.
CALL_FIELDS = frozenset(
    {
        "CallSid",
        "AccountSid",
        "From",
        "To",
        "CallStatus",
        "ApiVersion",
        "Direction",
        "ForwardedFrom",
        "CallerName",
        "ParentCallSid",
        "Caller",
        "Called",
        "CallToken",
        "FromCity",
        "FromState",
        "FromZip",
        "FromCountry",
        "ToCity",
        "ToState",
        "ToZip",
        "ToCountry",
        "CallerCity",
        "CallerState",
        "CallerZip",
        "CallerCountry",
        "CalledCity",
        "CalledState",
        "CalledZip",
        "CalledCountry",
    }
)
