"""The one place forwarded headers are read: X-Forwarded-For/Proto/Host believed only from trusted proxies.

From a configured proxy (HOTLINE_TRUSTED_PROXIES), the client's address, the scheme and the host the proxy was
reached at replace the peer's, so `request.client` (sign-in limits, audit) and `request.url` (the URL Twilio
signed) say what the proxy saw. From anyone else the headers are dropped: a client cannot choose the address
it is counted under, nor the host a signature is checked for. (uvicorn's own proxy-header handling is off.)
"""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence

from starlette.types import ASGIApp, Receive, Scope, Send

IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
FORWARDED = (b"x-forwarded-for", b"x-forwarded-proto", b"x-forwarded-host")


class TrustedProxyHeaders:
    """ASGI middleware applying (from trusted proxies) or removing (from anyone else) the forwarded headers."""

    def __init__(self, app: ASGIApp, trusted: Sequence[IPNetwork]) -> None:
        self.app, self.trusted = app, tuple(trusted)

    def is_trusted(self, address: str | None) -> bool:
        try:
            ip = ipaddress.ip_address(address or "")
        except ValueError:
            return False
        return any(ip in network for network in self.trusted)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        scope = dict(scope)
        forwarded = {name.decode(): value.decode("latin-1") for name, value in scope["headers"] if name in FORWARDED}
        headers = [(name, value) for name, value in scope["headers"] if name not in FORWARDED]
        peer = scope.get("client")
        if forwarded and peer and self.is_trusted(peer[0]):
            client = self._client(forwarded.get("x-forwarded-for"))
            if client:
                scope["client"] = (client, 0)
            proto = _first(forwarded.get("x-forwarded-proto")).lower()
            if proto in ("http", "https"):
                secure = proto == "https"
                scope["scheme"] = ("wss" if secure else "ws") if scope["type"] == "websocket" else proto
            host = _first(forwarded.get("x-forwarded-host"))
            if host:
                headers = [(name, value) for name, value in headers if name != b"host"]
                headers.append((b"host", host.encode("latin-1")))
        scope["headers"] = headers
        await self.app(scope, receive, send)

    def _client(self, chain: str | None) -> str | None:
        """The client: the nearest address in X-Forwarded-For that is not one of our proxies."""
        addresses = [part.strip() for part in (chain or "").split(",") if part.strip()]
        for address in reversed(addresses):
            try:
                ipaddress.ip_address(address)
            except ValueError:
                return None  # not an address: keep the peer's
            if not self.is_trusted(address):
                return address
        return addresses[0] if addresses else None


def _first(value: str | None) -> str:
    """The first of a comma-separated header's values: what the outermost proxy saw."""
    return (value or "").split(",")[0].strip()
