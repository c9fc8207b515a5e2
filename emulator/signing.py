"""Signed webhook requests, made the way Twilio makes them, and a record of every delivery."""

from __future__ import annotations

import threading
import time
import uuid
from dataclasses import dataclass, field
from urllib.parse import urlencode

import httpx
from twilio.request_validator import RequestValidator

USER_AGENT = "TwilioProxy/1.1"
SIGNATURE_HEADER = "X-Twilio-Signature"
IDEMPOTENCY_HEADER = "I-Twilio-Idempotency-Token"
MAX_WEBHOOK_SECONDS = 15.0  # Twilio's default fetch timeout for TwiML


def sign(auth_token: str, url: str, params: dict[str, str]) -> str:
    """X-Twilio-Signature of a request to the full `url` with form `params` (empty for GET)."""
    return RequestValidator(auth_token).compute_signature(url, params)


def with_query(url: str, params: dict[str, str]) -> str:
    """`url` with `params` appended to its query string (how Twilio sends GET webhooks)."""
    if not params:
        return url
    return url + ("&" if "?" in url else "?") + urlencode(params)


@dataclass
class Delivery:
    """One HTTP request the emulator made to the service, and what came back."""

    kind: str
    url: str
    method: str
    params: dict[str, str]
    signature: str
    attempt: int = 1
    status: int | None = None
    content_type: str | None = None
    body: bytes = field(default=b"", repr=False)
    error: str | None = None
    latency_s: float | None = None  # seconds from sending the request to having the whole answer

    @property
    def ok(self) -> bool:
        """True when the service answered 2xx."""
        return self.status is not None and 200 <= self.status < 300

    def describe(self) -> str:
        """One line for error lists: what was sent and how it failed."""
        outcome = self.error or f"HTTP {self.status}"
        return f"{self.kind} {self.method} {self.url} (attempt {self.attempt}): {outcome}"

    def to_dict(self) -> dict:
        """JSON-friendly form (body as text, cut to 2000 characters)."""
        return {
            "kind": self.kind,
            "url": self.url,
            "method": self.method,
            "params": dict(self.params),
            "signature": self.signature,
            "attempt": self.attempt,
            "status": self.status,
            "content_type": self.content_type,
            "body": self.body[:2000].decode("utf-8", errors="replace"),
            "error": self.error,
            "latency_s": self.latency_s,
        }


class WebhookSender:
    """Sends signed form requests to the service; optionally twice, as Twilio may retry."""

    def __init__(self, auth_token: str, *, retry: bool = False) -> None:
        self.auth_token = auth_token
        self.retry = retry
        self._local = threading.local()

    def _client(self) -> httpx.Client:
        client = getattr(self._local, "client", None)
        if client is None:
            client = httpx.Client(trust_env=False, follow_redirects=True)
            self._local.client = client
        return client

    def send(
        self, kind: str, url: str, params: dict[str, str], *, method: str = "POST", timeout: float = MAX_WEBHOOK_SECONDS
    ) -> list[Delivery]:
        """Send one webhook (two identical attempts when retrying); returns every attempt, last one last."""
        method = method.upper() if method.upper() in {"GET", "POST"} else "POST"
        params = {k: str(v) for k, v in params.items() if v is not None}
        target = with_query(url, params) if method == "GET" else url
        form = {} if method == "GET" else params
        signature = sign(self.auth_token, target, form)
        headers = {
            SIGNATURE_HEADER: signature,
            IDEMPOTENCY_HEADER: str(uuid.uuid4()),
            "User-Agent": USER_AGENT,
            "Accept": "*/*",
        }
        attempts = 2 if self.retry else 1
        deliveries = []
        for attempt in range(1, attempts + 1):
            delivery = Delivery(kind, target, method, dict(params), signature, attempt)
            client = self._client()  # made outside the timing: a new client builds its TLS context
            started = time.perf_counter()
            try:
                if method == "GET":
                    response = client.get(target, headers=headers, timeout=timeout)
                else:
                    response = client.post(target, data=form, headers=headers, timeout=timeout)
                delivery.status = response.status_code
                delivery.content_type = response.headers.get("content-type")
                delivery.body = response.content
            except httpx.HTTPError as exc:
                delivery.error = f"{type(exc).__name__}: {exc}"
            delivery.latency_s = time.perf_counter() - started
            deliveries.append(delivery)
        return deliveries

    def close(self) -> None:
        """Close this thread's connection pool."""
        client = getattr(self._local, "client", None)
        if client is not None:
            client.close()
            self._local.client = None
