"""The fake Twilio REST API and recording media server (stdlib HTTP server on a loopback port)."""

from __future__ import annotations

import base64
import binascii
import json
import re
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING
from urllib.parse import parse_qs, urlsplit

from emulator.outbound import OutboundError
from emulator.recordings import API_VERSION, WAV_CONTENT_TYPE, Recording

if TYPE_CHECKING:
    from emulator.account import TwilioEmulator
    from emulator.call import CallSession

_ACCOUNT = rf"^/{API_VERSION}/Accounts/(?P<account>[^/]+)"
ROUTES = [
    ("media", re.compile(_ACCOUNT + r"/Recordings/(?P<rec>[^/.]+)(?P<ext>\.[A-Za-z0-9]+)?$")),
    ("calls", re.compile(_ACCOUNT + r"/Calls\.json$")),
    ("call", re.compile(_ACCOUNT + r"/Calls/(?P<call>[^/.]+)\.json$")),
    ("call_recordings", re.compile(_ACCOUNT + r"/Calls/(?P<call>[^/.]+)/Recordings\.json$")),
    ("call_recording", re.compile(_ACCOUNT + r"/Calls/(?P<call>[^/.]+)/Recordings/(?P<rec>[^/.]+)\.json$")),
]
WRONG_CONTENT_BODY = (
    b"<!DOCTYPE html><html><head><title>503 Service Unavailable</title></head>"
    b"<body><h1>Service Unavailable</h1><p>Please try again later.</p></body></html>"
)


def twilio_error(status: int, code: int, message: str) -> dict:
    """Twilio's REST error body."""
    return {
        "code": code,
        "message": message,
        "more_info": f"https://www.twilio.com/docs/errors/{code}",
        "status": status,
    }


class ApiError(Exception):
    """An error answer of the fake API."""

    def __init__(self, status: int, code: int, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


def _not_found(path: str) -> ApiError:
    return ApiError(404, 20404, f"The requested resource {path} was not found")


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"
    server_version = "TwilioEmulator/1.0"

    def log_message(self, format: str, *args: object) -> None:
        """Quiet: tests read call reports, not access logs."""

    # ----- plumbing ----------------------------------------------------------------------------------

    def _send(self, status: int, body: bytes, content_type: str, headers: dict[str, str] | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _json(self, status: int, payload: dict) -> None:
        self._send(status, json.dumps(payload).encode(), "application/json; charset=utf-8")

    def _form(self) -> dict[str, list[str]]:
        return parse_qs(self._body.decode("utf-8", errors="replace"), keep_blank_values=True)

    def _authorised(self) -> bool:
        header = self.headers.get("Authorization", "")
        if not header.startswith("Basic "):
            return False
        try:
            user, _, password = base64.b64decode(header[6:]).decode("utf-8").partition(":")
        except (binascii.Error, UnicodeDecodeError):
            return False
        account = self.server.emulator
        return user == account.account_sid and password == account.auth_token

    def _dispatch(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        self._body = self.rfile.read(length) if length > 0 else b""  # always read, keep-alive stays in step
        path = urlsplit(self.path).path
        try:
            for name, pattern in ROUTES:  # noqa: B007  `name` is used after the loop
                match = pattern.match(path)
                if match:
                    break
            else:
                raise _not_found(path)
            if not self._authorised():
                self._send(
                    401,
                    json.dumps(twilio_error(401, 20003, "Authenticate")).encode(),
                    "application/json; charset=utf-8",
                    {"WWW-Authenticate": 'Basic realm="Twilio API"'},
                )
                return
            if match["account"] != self.server.emulator.account_sid:
                raise _not_found(path)
            getattr(self, f"_{name}")(match, path)
        except ApiError as err:
            self._json(err.status, twilio_error(err.status, err.code, err.message))

    do_GET = do_POST = do_HEAD = do_DELETE = _dispatch

    # ----- resources ---------------------------------------------------------------------------------

    def _live_call(self, sid: str, path: str) -> CallSession:
        call = self.server.emulator.call(sid)
        if call is None:
            raise _not_found(path)
        return call

    def _media(self, match: re.Match, path: str) -> None:
        if self.command not in {"GET", "HEAD"}:
            raise ApiError(405, 20004, "Method not allowed")
        rec = self.server.emulator.recordings.get(match["rec"])
        if rec is None:
            raise _not_found(path)
        ext = (match["ext"] or "").lower()
        if ext == ".json":
            self._json(200, rec.to_json())
            return
        if ext not in {"", ".wav"}:
            raise ApiError(415, 20415, f"the emulator serves recordings as WAV only, not {ext}")
        if rec.status != "completed" or rec.media is None:
            raise _not_found(path)
        fault = self.server.emulator.recording_fault
        if fault == "not-found":
            raise _not_found(path)
        if fault == "wrong-content-type":
            self._send(200, WRONG_CONTENT_BODY, "text/html; charset=utf-8")
            return
        self._send(200, rec.media, WAV_CONTENT_TYPE)
        if self.command == "GET":
            rec.downloaded.set()  # the whole file went out: the emulator may now stop serving it

    def _calls(self, match: re.Match, path: str) -> None:
        if self.command == "GET":
            calls = [c.to_json() for c in self.server.emulator.all_calls()]
            self._json(
                200,
                {
                    "calls": calls,
                    "uri": path,
                    "page": 0,
                    "page_size": 50,
                    "first_page_uri": path,
                    "next_page_uri": None,
                    "previous_page_uri": None,
                },
            )
            return
        if self.command != "POST":
            raise ApiError(405, 20004, "Method not allowed")
        try:
            queued = self.server.emulator.outbound.create(self._form())
        except OutboundError as err:
            raise ApiError(err.status, err.code, err.message) from err
        self._json(201, queued)

    def _call(self, match: re.Match, path: str) -> None:
        call = self._live_call(match["call"], path)
        if self.command == "GET":
            self._json(200, call.to_json())
            return
        if self.command != "POST":
            raise ApiError(405, 20004, "Method not allowed")
        form = {k: v[-1] for k, v in self._form().items()}
        status = form.get("Status")
        if status == "canceled" and call.status == "in-progress":
            self._json(200, call.to_json())  # Twilio: cancel only affects queued or ringing calls
            return
        if status == "canceled":
            status = "completed"
        if status not in (None, "completed"):
            raise ApiError(400, 20001, f"Status must be completed or canceled, not {status}")
        if not (form.get("Url") or form.get("Twiml") or status):
            raise ApiError(400, 21205, "Url, Twiml or Status is required")
        if not call.request_update(form.get("Url"), form.get("Method", "POST").upper(), form.get("Twiml"), status):
            raise ApiError(400, 21220, "Call is not in-progress. Cannot redirect.")
        self._json(200, call.to_json())

    def _call_recordings(self, match: re.Match, path: str) -> None:
        call = self._live_call(match["call"], path)
        if self.command == "GET":
            items = [r.to_json() for r in self.server.emulator.recordings.for_call(call.sid)]
            self._json(
                200,
                {
                    "recordings": items,
                    "uri": path,
                    "page": 0,
                    "page_size": 50,
                    "first_page_uri": path,
                    "next_page_uri": None,
                    "previous_page_uri": None,
                },
            )
            return
        if self.command != "POST":
            raise ApiError(405, 20004, "Method not allowed")
        form = self._form()
        single = {k: v[-1] for k, v in form.items()}
        events = [e for value in form.get("RecordingStatusCallbackEvent", []) for e in value.replace(",", " ").split()]
        channels = single.get("RecordingChannels", "mono").lower()
        if channels not in {"mono", "dual"}:
            raise ApiError(400, 21626, f"RecordingChannels must be mono or dual, not {channels}")
        rec = call.start_recording(
            dual=channels == "dual",
            callback=single.get("RecordingStatusCallback") or None,
            method=single.get("RecordingStatusCallbackMethod", "POST").upper(),
            events=events,
            trim=single.get("Trim", "do-not-trim"),
        )
        if rec is None:
            raise ApiError(404, 21220, f"Call {call.sid} is not in-progress; it cannot be recorded")
        self._json(201, rec.to_json())

    def _call_recording(self, match: re.Match, path: str) -> None:
        call = self._live_call(match["call"], path)
        rec: Recording | None = self.server.emulator.recordings.get(match["rec"])
        if rec is None or rec.call_sid != call.sid:
            raise _not_found(path)
        if self.command == "POST":
            status = {k: v[-1] for k, v in self._form().items()}.get("Status")
            if status == "stopped":
                call.stop_recording(rec)
            elif status not in {"paused", "in-progress"}:
                raise ApiError(400, 20001, f"Status {status!r} is not supported")
        elif self.command != "GET":
            raise ApiError(405, 20004, "Method not allowed")
        self._json(200, rec.to_json())


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], emulator: TwilioEmulator) -> None:
        super().__init__(address, _Handler)
        self.emulator = emulator


class RestServer:
    """Runs the fake API in a background thread; `url` is its base (http://127.0.0.1:PORT)."""

    def __init__(self, emulator: TwilioEmulator, host: str = "127.0.0.1", port: int = 0) -> None:
        self._server = _Server((host, port), emulator)
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, name="twilio-emulator-api", daemon=True
        )
        self.host, self.port = str(self._server.server_address[0]), int(self._server.server_address[1])

    @property
    def url(self) -> str:
        """Base URL of the API."""
        return f"http://{self.host}:{self.port}"

    def start(self) -> None:
        """Start serving."""
        self._thread.start()

    def stop(self) -> None:
        """Stop serving and close the socket."""
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)
