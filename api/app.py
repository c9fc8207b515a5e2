"""The FastAPI app: Twilio webhooks, the REST API, the staff consoles, health."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request, Response
from fastapi.staticfiles import StaticFiles

from api.pages import STATIC, render
from api.routes import (
    auth,
    consoles,
    media_stream,
    seat_console,
    seats,
    tickets,
    twilio_routing,
    twilio_survey,
    twilio_voice,
)
from api.routes import qa as qa_routes
from api.routes import recordings as recording_routes
from api.routes import reports as report_routes
from api.routes.auth import nav_for
from api.staff_auth import PageRefused
from api.services import Services, build_services
from hotline.settings import Settings, get_settings
from staff.roles import ROLE_LABELS


def create_app(settings: Settings | None = None, services: Services | None = None) -> FastAPI:
    """The app for these settings; background workers run while the app is up."""
    services = services or build_services(settings or get_settings())

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        services.start()
        try:
            yield
        finally:
            services.close()

    app = FastAPI(title="hotline12351", summary="Voice front-end of the 12351 worker hotline", lifespan=lifespan)
    app.state.services = services
    app.include_router(twilio_voice.router)
    app.include_router(twilio_routing.router)
    app.include_router(tickets.router)
    app.include_router(media_stream.router)
    app.include_router(seats.router)
    app.include_router(twilio_survey.router)
    app.include_router(auth.router)
    app.include_router(recording_routes.router)
    app.include_router(report_routes.router)
    app.include_router(qa_routes.router)
    app.include_router(seat_console.router)
    app.include_router(consoles.router)  # before the /static mount: it serves /static/vendor/plotly.min.js
    app.mount("/static", StaticFiles(directory=STATIC), name="static")

    @app.exception_handler(PageRefused)
    async def page_refused(request: Request, exc: PageRefused) -> Response:
        wanted = "、".join(ROLE_LABELS.get(r, r) for r in exc.roles)
        return render("refused.html", status_code=403, user=exc.user, nav=nav_for(exc.user), csrf=request.state.csrf,
                      user_json=None, role_label=ROLE_LABELS.get(exc.user.role, exc.user.role), wanted=wanted)

    @app.get("/health", tags=["ops"])
    def health() -> dict:
        return {"status": "ok", "speech_model": services.model.name if services.model.available() else None}

    return app
