"""A tiny test-only TwiML service for tests/test_emulator.py: checks signatures, answers fixed TwiML, logs all."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import uvicorn
from fastapi import FastAPI, Request, Response
from twilio.request_validator import RequestValidator

MENU = """<?xml version="1.0" encoding="UTF-8"?>
<Response>
  <Start><Stream url="wss://media.example.invalid/fork" name="fork"><Parameter name="flow" value="main"/></Stream></Start>
  <Gather action="/menu" numDigits="1" timeout="5">
    <Say language="zh-CN">欢迎致电12351职工服务热线</Say>
    <Play>/static/menu.wav</Play>
  </Gather>
  <Say language="zh-CN">没有收到您的按键，再见</Say>
  <Hangup/>
</Response>"""

BY_KEY = {
    "1": '<Say language="zh-CN">请在提示音后说明您的问题，按井号键结束</Say>'
    '<Record action="/recorded" maxLength="60" finishOnKey="#" '
    'recordingStatusCallback="/recording-status" recordingStatusCallbackEvent="completed"/>',
    "2": "<Redirect>/dial</Redirect>",
    "3": '<Enqueue action="/queue-done" waitUrl="/wait">lawyers</Enqueue><Say>不会执行</Say>',
    "4": '<Say language="zh-CN">再见</Say><Hangup/>',
}

FIXED = {
    "/dial": '<Dial action="/dial-done" timeout="20"><Number>+8610012345678</Number><Client>operator</Client></Dial>',
    "/dial-done": '<Say language="zh-CN">通话结束</Say><Hangup/>',
    "/queue-done": '<Say language="zh-CN">律师通话结束</Say><Hangup/>',
    "/recorded": '<Say language="zh-CN">已收到您的留言</Say><Hangup/>',
    "/redirected": '<Say language="zh-CN">已为您转接法律咨询</Say><Hangup/>',
    "/loop": "<Redirect>/loop</Redirect>",
}


def twiml(body: str) -> Response:
    """An XML answer."""
    if not body.lstrip().startswith("<?xml"):
        body = f'<?xml version="1.0" encoding="UTF-8"?><Response>{body}</Response>'
    return Response(body, media_type="text/xml")


@dataclass
class AppState:
    """What the test sets (credentials, REST client factory) and what the app saw."""

    auth_token: str = ""
    client_factory: Callable[[], Any] | None = None
    log: list[dict] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def seen(self, path: str) -> list[dict]:
        """Requests logged for one path, in order."""
        with self.lock:
            return [entry for entry in self.log if entry["path"] == path]


def build_app(state: AppState) -> FastAPI:
    """The app; every request is logged with whether its X-Twilio-Signature validates."""
    app = FastAPI()

    async def logged(request: Request) -> dict:
        form = await request.form()
        params = {k: str(v) for k, v in form.multi_items()}
        if request.method == "GET":
            params = dict(request.query_params)
        url = str(request.url)
        signature = request.headers.get("X-Twilio-Signature", "")
        ok = RequestValidator(state.auth_token).validate(url, {} if request.method == "GET" else params, signature)
        entry = {
            "path": request.url.path,
            "method": request.method,
            "url": url,
            "params": params,
            "signature": signature,
            "signature_ok": ok,
            "content_type": request.headers.get("content-type", ""),
            "idempotency": request.headers.get("I-Twilio-Idempotency-Token"),
        }
        with state.lock:
            state.log.append(entry)
        return entry

    @app.api_route("/voice", methods=["GET", "POST"])
    async def voice(request: Request) -> Response:
        entry = await logged(request)
        return twiml(MENU) if entry["signature_ok"] else Response(status_code=403)

    @app.post("/menu")
    async def menu(request: Request) -> Response:
        entry = await logged(request)
        chosen = BY_KEY.get(entry["params"].get("Digits", ""))
        return twiml(chosen or '<Say language="zh-CN">输入有误</Say><Redirect>/voice</Redirect>')

    @app.post("/wait")
    async def wait(request: Request) -> Response:
        entry = await logged(request)
        return twiml(
            f'<Say language="zh-CN">您前面还有{entry["params"].get("QueuePosition")}位</Say>'
            "<Play>http://media.example.invalid/hold.mp3</Play>"
        )

    @app.post("/api-record")
    async def api_record(request: Request) -> Response:
        entry = await logged(request)
        callback = str(request.base_url) + "recording-status"

        def start() -> None:
            client = state.client_factory()
            client.calls(entry["params"]["CallSid"]).recordings.create(
                recording_channels="dual",
                recording_status_callback=callback,
                recording_status_callback_event=["in-progress", "completed"],
            )

        await asyncio.to_thread(start)
        return twiml(MENU)

    @app.post("/start-record")
    async def start_record(request: Request) -> Response:
        await logged(request)
        start = (
            '<Start><Recording channels="dual" recordingStatusCallback="/recording-status" '
            'recordingStatusCallbackEvent="in-progress completed"/></Start>'
        )
        return twiml(MENU.replace("<Response>", "<Response>" + start, 1))

    @app.post("/live")
    async def live(request: Request) -> Response:
        entry = await logged(request)
        target = str(request.base_url) + "redirected"

        def redirect_later() -> None:
            time.sleep(0.2)  # the caller is listening to the menu by now
            state.client_factory().calls(entry["params"]["CallSid"]).update(url=target, method="POST")

        threading.Thread(target=redirect_later, daemon=True).start()
        return twiml(MENU)

    @app.post("/broken")
    async def broken(request: Request) -> Response:
        await logged(request)
        return Response("boom", status_code=500)

    @app.post("/not-xml")
    async def not_xml(request: Request) -> Response:
        await logged(request)
        return Response("hello", media_type="text/plain")

    @app.post("/{name}")
    async def fixed(name: str, request: Request) -> Response:
        await logged(request)
        path = "/" + name
        if path in FIXED:
            return twiml(FIXED[path])
        return Response(status_code=204)  # status callbacks

    return app


class AppServer:
    """Runs the app under uvicorn in a thread on a free loopback port."""

    def __init__(self, state: AppState) -> None:
        config = uvicorn.Config(build_app(state), host="127.0.0.1", port=0, log_level="warning", lifespan="off")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def start(self) -> str:
        """Start and return the base URL (http://127.0.0.1:PORT)."""
        self.thread.start()
        deadline = time.monotonic() + 10
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("the test app did not start")
            time.sleep(0.02)
        port = self.server.servers[0].sockets[0].getsockname()[1]
        return f"http://127.0.0.1:{port}"

    def stop(self) -> None:
        """Stop uvicorn."""
        self.server.should_exit = True
        self.thread.join(timeout=5)
