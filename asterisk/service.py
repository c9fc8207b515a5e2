"""The Asterisk edge as a part of the running service (`hotline serve` with HOTLINE_CARRIER=asterisk): it connects to
ARI, and keeps trying while Asterisk is not there yet, serves the calls of its Stasis application through the flow
engine, and stops with the service (calls still in Stasis are left to the next start, see `AsteriskEdge.pick_up`).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from asterisk.ari import AriClient, AriError, AriUnavailable
from asterisk.dial_plan import load_dial_plan
from asterisk.edge import AsteriskEdge, ari_client, pbx_media
from asterisk.flow_runner import FlowDesk, FlowRunner
from hotline.settings import Settings
from ivr.call import CallDesk
from ivr.flow import Flow
from ivr.route_calls import RouteDesk
from routing.config import RoutingData
from speech.prompt_audio import PromptAudio

log = logging.getLogger(__name__)

RETRY_S = 2.0  # how soon a failed connection to ARI is tried again


def flow_runner(
    settings: Settings,
    factory: sessionmaker[Session],
    flow: Flow,
    routing: RoutingData,
    route_prompts: dict[str, Any],
    wake: Callable[[], None],
) -> FlowRunner:
    """The flow engine's runner for Asterisk calls, from the service's parts. The prompts Asterisk plays (rendered,
    or the hotline's recordings converted) are kept in the media folder Asterisk reads."""
    media = pbx_media(settings)
    cache = settings.prompt_cache_root
    if not cache.resolve().is_relative_to(media.local_dir.resolve()):
        raise ValueError(
            f"HOTLINE_PROMPT_CACHE_DIR ({cache}) must be inside HOTLINE_ARI_MEDIA_DIR ({media.local_dir}) on "
            "Asterisk: Asterisk plays the rendered prompts from there"
        )
    prompts = PromptAudio(cache, settings.prompts_root)
    desk = RouteDesk(CallDesk(flow, settings.timezone, ""), routing, route_prompts)
    return FlowRunner(FlowDesk(factory, desk, prompts, settings.recordings_root, wake, load_dial_plan(settings)))


class ServiceEdge:
    """Keeps the Asterisk edge running for the service: connects in the background (a service started before its
    PBX, or after a wrong password was fixed in ari.conf, connects when it can), says how it stands for /health."""

    def __init__(self, settings: Settings, runner: FlowRunner, retry_s: float = RETRY_S) -> None:
        ari_client(settings).close()  # a missing password stops the start, with the setting's name
        self.settings = settings
        self.runner = runner
        self.retry_s = retry_s
        self.edge: AsteriskEdge | None = None
        self.error: str | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._connect, name="asterisk-connect", daemon=True)
        self._thread.start()

    def _connect(self) -> None:
        while not self._stop.is_set():
            client: AriClient = ari_client(self.settings)
            edge = AsteriskEdge(client, pbx_media(self.settings), self.runner)
            try:
                client.info()  # says plainly what is wrong (not there, a wrong password) before the event stream
                edge.start()
            except (AriUnavailable, AriError) as exc:
                if self.error != str(exc):  # said once, not every few seconds
                    log.error("Asterisk edge: cannot connect to ARI (trying again every %s s): %s", self.retry_s, exc)
                self.error = str(exc)
                edge.stop()
                client.close()
                self._stop.wait(self.retry_s)
                continue
            self.edge, self.error = edge, None
            log.info("Asterisk edge: connected to ARI at %s, application %s", client.url, client.app)
            return

    def stop(self) -> None:
        """Stop connecting and serving; the calls' channels stay up for the next start."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(15)
        if self.edge is not None:
            self.edge.stop()
            self.edge.client.close()

    @property
    def connected(self) -> bool:
        """The event stream is up: calls reach the service."""
        return self.edge is not None and self.edge.events is not None and self.edge.events.connected

    def status(self) -> dict[str, Any]:
        """How the edge stands, for /health."""
        stream_error = self.edge.events.error if self.edge is not None and self.edge.events is not None else None
        return {
            "carrier": "asterisk",
            "ari_connected": self.connected,
            "calls": len(self.edge.calls) if self.edge is not None else 0,
            "error": None if self.connected else (self.error or stream_error),
        }
