"""Live speech: the caller's audio, forked by Media Streams, recognised while they speak.

A menu's stream is recognised with the menu's grammar and in free speech; a choice redirects the live call
(Twilio REST `calls(sid).update`) to the menu's `spoken` or `confirm` step. The problem description's stream is
recognised in free speech, so its text is ready when the caller presses #; the flow's emergency phrase heard there
(or at a menu, or at the district question) takes the call to the supervisor. Partial and final results are call
events. Kaldi runs in a worker pool (speech.live), database writes and REST calls in threads: the event loop
only moves messages. The WebSocket itself is the web edge's (`api/routes/media_stream.py`).
"""

from __future__ import annotations

import asyncio
import logging
import os
import threading
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor

from sqlalchemy.orm import Session, sessionmaker
from twilio.rest import Client

from ivr.flow import EMERGENCY, Flow
from ivr.live_speech_actions import LiveDesk
from ivr.live_speech_stream import LiveStream
from ivr.route_calls import DISTRICT_STEP
from recordings.calls import find_call
from speech.grammar import MenuGrammar, build_grammar, report_missing
from speech.media_messages import Start
from speech.model import ModelMissing, SharedModel
from speech.streaming import LiveListener, LiveTranscripts
from speech.vocabulary import model_vocabulary

log = logging.getLogger(__name__)

STREAM_MODES = ("menu", "transcribe")  # the `mode` parameter a listening step gives its stream (ivr.twiml)


class LiveSpeech:
    """This process's live speech: the recognition pool, the menus' grammars, the REST client, what was heard.

    `districts`: what a caller may say for each key of the district question (routing's directory).
    """

    def __init__(
        self,
        *,
        model: SharedModel,
        flow: Flow,
        districts: Mapping[str, Sequence[str]],
        factory: sessionmaker[Session],
        rest: Client,
        account_sid: str,
        workers: int | None = None,
    ) -> None:
        self.desk = LiveDesk(factory, rest, flow, model)
        self.account_sid = account_sid
        self.pool = ThreadPoolExecutor(max_workers=workers or os.cpu_count() or 2, thread_name_prefix="asr")
        self.transcripts = LiveTranscripts()
        self.problems: list[str] = []
        self._districts = districts
        self._grammars: dict[str, MenuGrammar] | None = None
        self._lock = threading.Lock()

    def listening(self) -> bool:
        """True when calls should fork their audio to us (a speech model is there)."""
        return self.desk.model.available()

    def prepare(self) -> list[str]:
        """Load the model and build every menu's grammar; returns (and logs) the phrase words not in the vocabulary."""
        with self._lock:
            if self._grammars is not None:
                return self.problems
            model = self.desk.model
            model.get()
            vocabulary = model_vocabulary(model.path) if model.path is not None else None
            if vocabulary is None:
                log.warning("the vocabulary of %s cannot be read: menu phrases are used unchecked", model.name)
            grammars: dict[str, MenuGrammar] = {}
            problems: list[str] = []
            flow = self.desk.flow
            for step in flow.steps.values():
                spoken = flow.spoken_options(step)  # the emergency phrases are heard at every menu
                if step.kind == "menu" and spoken:
                    grammars[step.name] = build_grammar(step.name, spoken, vocabulary)
                    problems += report_missing(grammars[step.name], model.name)
            # The district question after routing: a caller may say the district instead of pressing its key.
            districts: dict[str, Sequence[str]] = dict(self._districts)
            if flow.emergency is not None and flow.emergency.phrases:
                districts[EMERGENCY] = list(flow.emergency.phrases)
            grammars[DISTRICT_STEP] = build_grammar(DISTRICT_STEP, districts, vocabulary)
            problems += report_missing(grammars[DISTRICT_STEP], model.name)
            self._grammars, self.problems = grammars, problems
            log.info(
                "live speech ready: model %s, %d menu grammar(s), %d missing word(s)",
                model.name,
                len(grammars),
                len(problems),
            )
            return problems

    def grammar(self, step: str) -> MenuGrammar | None:
        """The grammar of a listening step (a menu, or the district question); None for free speech only."""
        self.prepare()
        return (self._grammars or {}).get(step)

    def warm_up(self) -> None:
        """Prepare in the background when calls are listened to: the first caller's menu must not wait for the
        model to load."""
        if self.listening():
            threading.Thread(target=self._warm_up, name="live-speech-warm-up", daemon=True).start()

    def _warm_up(self) -> None:
        try:
            self.prepare()
        except ModelMissing:
            log.info("no speech model yet: calls are not listened to live")
        except Exception:
            log.exception("preparing live speech failed")

    def close(self) -> None:
        """Stop the recognition pool (the process is ending)."""
        self.pool.shutdown(wait=False, cancel_futures=True)

    async def open(self, start: Start, base_url: str) -> LiveStream | None:
        """A stream's `start`: listen to it, for a call we answered, on our account, at a step of ours; None (logged)
        otherwise. `base_url`: our public http(s) base, which a spoken choice redirects the call under."""
        if start.account_sid != self.account_sid:
            log.warning("media stream %s refused: account %s is not ours", start.stream_sid, start.account_sid)
            return None
        if not await asyncio.to_thread(self._known_call, start.call_sid):
            log.warning("media stream %s refused: call %s is unknown", start.stream_sid, start.call_sid)
            return None
        params = start.custom_parameters
        step = params.get("step", "")
        mode = params.get("mode", "transcribe")
        if mode not in STREAM_MODES or (step not in self.desk.flow.steps and step != DISTRICT_STEP):
            log.warning("media stream %s refused: step %r / mode %r are not ours", start.stream_sid, step, mode)
            return None
        try:
            model = await asyncio.to_thread(self.desk.model.get)
            grammar = await asyncio.to_thread(self.grammar, step) if mode == "menu" else None
            listener = await asyncio.get_running_loop().run_in_executor(self.pool, LiveListener, model, grammar)
        except ModelMissing:
            log.warning("media stream %s of call %s not recognised: no speech model", start.stream_sid, start.call_sid)
            return None
        stream = LiveStream(start, step, mode, base_url, listener, self.desk, self.pool, self.transcripts)
        stream.opened()
        return stream

    def _known_call(self, call_sid: str) -> bool:
        with self.desk.factory() as session:
            return find_call(session, call_sid) is not None
