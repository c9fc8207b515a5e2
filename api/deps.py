"""FastAPI dependencies: the services, a database session, and a verified Twilio request."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, HTTPException, Request
from sqlalchemy.orm import Session

from api.services import Services
from api.twilio_auth import is_from_twilio, signed_url


def get_services(request: Request) -> Services:
    return request.app.state.services


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
    return form


TwilioForm = Annotated[dict[str, str], Depends(twilio_form)]
