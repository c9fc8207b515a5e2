"""The official Twilio REST client, pointed at the configured API base (Twilio's, or the emulator's)."""

from __future__ import annotations

from typing import Any

from twilio.http.http_client import TwilioHttpClient
from twilio.http.response import Response
from twilio.rest import Client

from hotline.credentials import TwilioCredentials
from hotline.settings import TWILIO_API_URL


class _RebasedHttpClient(TwilioHttpClient):
    """Sends what the client addresses to api.twilio.com to another base URL, same paths."""

    def __init__(self, base_url: str, timeout: float) -> None:
        super().__init__(timeout=timeout)
        self._base_url = base_url.rstrip("/")

    def request(self, method: str, url: str, *args: Any, **kwargs: Any) -> Response:
        if url.startswith(TWILIO_API_URL):
            url = self._base_url + url[len(TWILIO_API_URL) :]
        return super().request(method, url, *args, **kwargs)


def twilio_client(credentials: TwilioCredentials, api_url: str, timeout_s: float = 10) -> Client:
    """A REST client for the account; `api_url` other than Twilio's is used for the emulator."""
    if api_url.rstrip("/") == TWILIO_API_URL:
        return Client(credentials.account_sid, credentials.auth_token, http_client=TwilioHttpClient(timeout=timeout_s))
    http = _RebasedHttpClient(api_url, timeout_s)
    return Client(credentials.account_sid, credentials.auth_token, http_client=http)


def is_twilio_call(call_sid: str) -> bool:
    """A call Twilio carries (its sids are `CA` and 32 hex digits); an Asterisk call's sid is its channel's id, and
    Twilio's REST API is never asked about it (both carriers may share a database)."""
    return len(call_sid) == 34 and call_sid.startswith("CA")
