"""FastAPI dependencies: the services, a database session, and a verified Twilio request."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from typing import Annotated

from annotated_types import Interval
from fastapi import Depends, HTTPException, Request
from sqlalchemy.orm import Session
from starlette.requests import HTTPConnection

from api.services import Services
from api.twilio_auth import is_from_twilio, signed_url, with_replayed_fields
from reports.periods import FIRST_DAY, LAST_DAY

# Database ids are signed 64-bit: a larger number in a path is answered 422, never handed to the database.
MAX_ROW_ID = 2**63 - 1
RowId = Annotated[int, Interval(ge=1, le=MAX_ROW_ID)]
# A day asked for in a query: within the hotline's years (date arithmetic on year 1 or 9999 would overflow).
Day = Annotated[date, Interval(ge=FIRST_DAY, le=LAST_DAY)]


def get_services(connection: HTTPConnection) -> Services:
    """The app's services; an HTTPConnection so the access check also runs before WebSocket routes."""
    return connection.app.state.services


ServicesDep = Annotated[Services, Depends(get_services)]


def get_session(services: ServicesDep) -> Iterator[Session]:
    """A session for the request; handlers commit before they answer, anything uncommitted is rolled back."""
    with services.factory() as session:
        yield session


SessionDep = Annotated[Session, Depends(get_session)]


async def twilio_form(request: Request, services: ServicesDep) -> dict[str, str]:
    """The form Twilio posted, after its signature is checked; anything else is refused with 403."""
    form = {k: str(v) for k, v in (await request.form()).multi_items()}
    url = signed_url(request, services.settings.public_url)
    if not is_from_twilio(services.validator, url, form, request.headers.get("x-twilio-signature")):
        raise HTTPException(status_code=403, detail="invalid or missing X-Twilio-Signature")
    if not form.get("CallSid"):  # a request about no call would make a phantom call and ticket
        raise HTTPException(status_code=400, detail="CallSid is missing: Twilio sends it with every call request")
    form = with_replayed_fields(request, form)
    request.state.twilio_form = form  # for a pause-and-redirect if the database is busy (api.app.busy_answer)
    return form


TwilioForm = Annotated[dict[str, str], Depends(twilio_form)]
