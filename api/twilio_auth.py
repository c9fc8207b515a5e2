"""Is this request really from Twilio? The URL Twilio signed, as seen behind a proxy, and the check."""

from __future__ import annotations

from starlette.requests import Request
from twilio.request_validator import RequestValidator


def signed_url(request: Request, public_url: str | None) -> str:
    """The URL Twilio called: the configured public base, else the proxy's forwarded scheme and host."""
    path = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    if public_url:
        return public_url.rstrip("/") + path
    proto = request.headers.get("x-forwarded-proto", request.url.scheme).split(",")[0].strip()
    host = request.headers.get("x-forwarded-host", request.headers.get("host", request.url.netloc))
    return f"{proto}://{host.split(',')[0].strip()}{path}"


def public_base(request: Request, public_url: str | None) -> str:
    """The service's base URL as Twilio reaches it, for absolute callback URLs."""
    url = signed_url(request, public_url)
    return url[: len(url) - len(request.url.path + (f"?{request.url.query}" if request.url.query else ""))]


def is_from_twilio(validator: RequestValidator, url: str, params: dict[str, str], signature: str | None) -> bool:
    """True when the signature matches what the account's auth token gives for this URL and form."""
    return bool(signature) and validator.validate(url, params, signature)
