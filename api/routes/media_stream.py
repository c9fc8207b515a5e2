"""The Media Streams WebSocket `/twilio/media`: the caller's audio, handed to live speech (`ivr.live_speech`).

This is only the I/O: the signature of the handshake, reading and checking the messages, closing the socket.
What is heard and what it does to the call is decided in `ivr.live_speech`.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import APIRouter, FastAPI, WebSocket
from starlette.websockets import WebSocketDisconnect, WebSocketState

from api.twilio_auth import is_from_twilio, public_base, signed_url
from hotline import twilio_paths as paths
from ivr.live_speech import LiveSpeech
from ivr.live_speech_stream import LiveStream
from speech.media_messages import Connected, MediaMessageError, Start, Stop, parse_message

log = logging.getLogger(__name__)

POLICY_VIOLATION = 1008


@asynccontextmanager
async def _lifespan(app: FastAPI) -> AsyncIterator[None]:
    services = app.state.services
    live = LiveSpeech(
        model=services.model,
        flow=services.flow,
        districts=services.routing.directory.district_phrases(),
        factory=services.factory,
        rest=services.twilio_rest,
        account_sid=services.credentials.account_sid,
    )
    app.state.live_speech = live
    live.warm_up()
    try:
        yield
    finally:
        live.close()


router = APIRouter(tags=["twilio"], lifespan=_lifespan)


def _ws_url(url: str) -> str:
    for plain, ws in (("https://", "wss://"), ("http://", "ws://")):
        if url.startswith(plain):
            return ws + url[len(plain) :]
    return url


def _http_url(url: str) -> str:
    for ws, plain in (("wss://", "https://"), ("ws://", "http://")):
        if url.startswith(ws):
            return plain + url[len(ws) :]
    return url


@router.websocket(paths.MEDIA_STREAM)
async def media_stream(websocket: WebSocket) -> None:
    """Twilio's Media Streams: signature checked at the handshake, every message parsed strictly."""
    services = websocket.app.state.services
    live: LiveSpeech = websocket.app.state.live_speech
    url = _ws_url(signed_url(websocket, services.settings.public_url))
    if not is_from_twilio(services.validator, url, {}, websocket.headers.get("x-twilio-signature")):
        log.warning("media stream refused: missing or invalid X-Twilio-Signature for %s", url)
        await websocket.close(code=POLICY_VIOLATION)
        return
    await websocket.accept()
    stream: LiveStream | None = None
    how = "dropped"
    try:
        while True:
            message = await websocket.receive()
            if message["type"] == "websocket.disconnect":
                break
            text = message.get("text")
            try:
                if text is None:
                    raise MediaMessageError("not_json", "a binary frame")
                msg = parse_message(text)
            except MediaMessageError as exc:
                log.warning("media stream %s: message refused (%s); closing", stream and stream.stream_sid, exc)
                how = f"refused: {exc.code}"
                await websocket.close(code=POLICY_VIOLATION)
                break
            if isinstance(msg, Connected):
                continue
            if isinstance(msg, Start):
                if stream is not None:
                    how = "refused: a second start"
                    await websocket.close(code=POLICY_VIOLATION)
                    break
                base = _http_url(public_base(websocket, services.settings.public_url))
                stream = await live.open(msg, base)
                if stream is None:
                    await websocket.close(code=POLICY_VIOLATION)
                    return
                continue
            if stream is None or msg.stream_sid != stream.stream_sid:
                log.warning(
                    "media stream: %s for stream %s before its start; closing", type(msg).__name__, msg.stream_sid
                )
                how = "refused: not started"
                await websocket.close(code=POLICY_VIOLATION)
                break
            if isinstance(msg, Stop):
                how = "stopped"
                break
            stream.received(msg)
    except Exception:
        log.exception("media stream %s failed", stream and stream.stream_sid)
        how = "failed"
    finally:
        if stream is not None:
            await stream.closed(how)
        connected = WebSocketState.CONNECTED
        if websocket.client_state == connected and websocket.application_state == connected:
            try:
                await websocket.close()
            except (RuntimeError, WebSocketDisconnect):  # the peer went away meanwhile
                pass
