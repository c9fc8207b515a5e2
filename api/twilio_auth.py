"""Is this request really from Twilio? The URL Twilio signed, as seen behind a proxy, and the check."""

from __future__ import annotations

from starlette.requests import HTTPConnection
from twilio.request_validator import RequestValidator


def signed_url(request: HTTPConnection, public_url: str | None) -> str:
    """The URL Twilio called: the configured public base, else the request's own scheme and host.

    Behind a trusted proxy those are the proxy's forwarded ones (api.forwarded); a client's own
    X-Forwarded-* headers never reach here, so a request signed for another host cannot pass.
    """
    path = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    if public_url:
        return public_url.rstrip("/") + path
    return f"{request.url.scheme}://{request.url.netloc}{path}"


def public_base(request: HTTPConnection, public_url: str | None) -> str:
    """The service's base URL as Twilio reaches it, for absolute callback URLs."""
    url = signed_url(request, public_url)
    return url[: len(url) - len(request.url.path + (f"?{request.url.query}" if request.url.query else ""))]


REPLAY_PREFIX = "replay."  # query fields carrying a step's form through a pause-and-redirect (api.app.busy_answer)


def with_replayed_fields(request: HTTPConnection, form: dict[str, str]) -> dict[str, str]:
    """The form, plus the fields a pause-and-redirect carried in its query (call only after the signature
    check: Twilio signed the URL, query included, so these are the service's own words back)."""
    replayed = {k[len(REPLAY_PREFIX) :]: v for k, v in request.query_params.items() if k.startswith(REPLAY_PREFIX)}
    return {**form, **replayed} if replayed else form


def is_from_twilio(validator: RequestValidator, url: str, params: dict[str, str], signature: str | None) -> bool:
    """True when the signature matches what the account's auth token gives for this URL and form."""
    return bool(signature) and validator.validate(url, params, signature)
