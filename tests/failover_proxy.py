"""What stands between Twilio and several service hosts: a reverse proxy that sends each request to the next host
in turn, and to another one when a host does not answer (as nginx's `proxy_next_upstream error` does)."""

from __future__ import annotations

import itertools
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Self

import httpx

PASSED_HEADERS = ("content-type", "x-twilio-signature", "accept")


class FailoverProxy:
    """Round robin over `backends` (base URLs, set before the first request); `served` lists (path, backend);
    `on_request(path)`, if set, is called as each request arrives (a test kills a host there)."""

    def __init__(self) -> None:
        self.backends: list[str] = []
        self.served: list[tuple[str, str]] = []
        self.on_request: Callable[[str], None] | None = None
        self._turn = itertools.count()
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                self._forward()

            def do_POST(self) -> None:
                self._forward()

            def _forward(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                headers = {k: v for k, v in self.headers.items() if k.lower() in PASSED_HEADERS}
                status, content_type, content = proxy.forward(self.command, self.path, headers, body)
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(content)))
                self.end_headers()
                self.wfile.write(content)

            def log_message(self, *args: object) -> None:  # quiet: the test reads `served`
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> Self:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()

    def forward(self, method: str, path: str, headers: dict[str, str], body: bytes) -> tuple[int, str, bytes]:
        """The answer of the first backend that answers, starting with the next one in turn."""
        if self.on_request is not None:
            self.on_request(path)
        first = next(self._turn)
        for n in range(len(self.backends)):
            backend = self.backends[(first + n) % len(self.backends)]
            try:
                answer = httpx.request(method, backend + path, headers=headers, content=body, timeout=60)
            except httpx.TransportError:  # the host is down (or died mid-request): the next one
                continue
            self.served.append((path, backend))
            return answer.status_code, answer.headers.get("content-type", "text/plain"), answer.content
        return 502, "text/plain", b"no service host answered"
