"""A call on Asterisk taken through the hotline's flow engine: the engine decides (ivr.decisions), this carries the
decisions out over ARI and tells the engine what the caller did, until the call ends.

The engine is asked what Twilio's webhooks ask it (ivr.engine; the channel id is the call's sid), told what the
caller did (ivr.caller_input), so a call leaves the same rows: the call and its events, the recordings (stored
here with their checksum, then transcribed by the same jobs), the ticket and where it went. A caller put through to
a person is rung through the dial plan (asterisk.dial_plan) and bridged. What this edge cannot do yet (the lawyer
queue, the live stream) ends the call politely and says why, in the log and in the call's events.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy.orm import Session, sessionmaker

from asterisk.ari import AriClient, AriError, AriNotFound, StasisStart
from asterisk.channel import CallChannel, CallerHungUp, EdgeStopped
from asterisk.dial_plan import DialPlan
from hotline.db import transaction
from ivr import engine
from ivr.caller_input import CallerDid, CallerLine, DialResult, RecordingDone
from ivr.decisions import (
    Decision,
    Decisions,
    Dial,
    Digits,
    Gather,
    Hangup,
    Next,
    Pause,
    Record,
    Redirect,
    Say,
    StartCallRecording,
)
from ivr.route_calls import RouteDesk
from recordings.pipeline import audio_of
from recordings.store import StoredFile, recording_path, store_recording, verify_recording
from speech.prompt_audio import PromptAudio

log = logging.getLogger(__name__)

STORE_WAIT_S = 10  # longest wait for Asterisk to close a recording file after the call or the recording ended
PROBLEM, WHOLE_CALL = "problem", "call"  # a recording's source, as Twilio's are named
Progress = Callable[[str, str], None]  # (channel id, milestone): answered, said:<prompt id>, keys:2, recording, ...


@dataclass(frozen=True)
class FlowDesk:
    """What the runner needs: the database, the engine's desk (flow, routing, prompts), the prompts as audio,
    where recordings are kept, the job runner to wake when a recording waits for its transcript, and where the
    numbers of people to put callers through to ring."""

    factory: sessionmaker[Session]
    route_desk: RouteDesk
    prompts: PromptAudio
    recordings_root: Path
    wake: Callable[[], None] = lambda: None
    dial_plan: DialPlan = field(default_factory=DialPlan)


class FlowRunner:
    """Runs each call of the Asterisk edge through the flow engine (asterisk.edge.CallSteps)."""

    def __init__(self, desk: FlowDesk, *, on_progress: Progress | None = None) -> None:
        self.desk = desk
        self.on_progress = on_progress or (lambda _channel, _milestone: None)

    def __call__(self, call: CallChannel, start: StasisStart) -> None:
        _CallRun(self, call, start).run()

    def ended_at_start(self, client: AriClient, channel_id: str) -> None:
        """A call a stopped service left mid-call was hung up now: it ends in the database too (its ticket made,
        as for a caller who hung up there), and its whole-call recording, which ended with it, is kept."""
        line = CallerLine(channel_id)
        finish_call_of(self.desk, line)
        name = call_recording_name(channel_id)
        try:
            stored = store_from_asterisk(client, self.desk.recordings_root, datetime.now(UTC), channel_id, name)
        except AriNotFound:
            log.warning("call %s: no whole-call recording %s in Asterisk", channel_id, name)
            return
        keep_recording(self.desk, line, name, WHOLE_CALL, stored)


def call_recording_name(channel_id: str) -> str:
    """The whole-call recording's name in Asterisk: one per call, found again after a restart."""
    return f"{channel_id}-call"


def keep_recording(desk: FlowDesk, line: CallerLine, name: str, source: str, stored: StoredFile) -> None:
    """A recording stored here, registered with the engine (then transcribed)."""
    audio = audio_of(desk.recordings_root, stored)
    with transaction(desk.factory) as session:
        engine.recording_stored(session, line, name, source, stored, audio)
    desk.wake()


def store_from_asterisk(client: AriClient, root: Path, started: datetime, call_id: str, name: str) -> StoredFile:
    """Fetch a recording from Asterisk, store it under the recordings root with its checksum, and only then
    delete Asterisk's copy (a fetch that fails leaves it there to be fetched again)."""
    deadline = time.monotonic() + STORE_WAIT_S
    # Asterisk serves a recording's file while it is still being written (its WAV header says nothing yet):
    # wait until it is no longer live, as when the call or the recording just ended.
    while client.recording_running(name) and time.monotonic() < deadline:
        time.sleep(0.1)
    while True:
        try:
            data = client.stored_recording(name)
            break
        except AriNotFound:  # the call or the recording just ended: Asterisk is still closing the file
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)
    stored = store_recording(root, f"asterisk/{recording_path(started, call_id, name)}", data)
    if verify_recording(root, stored.relative_path, stored.sha256):
        client.delete_stored_recording(name)
    return stored


def finish_call_of(desk: FlowDesk, line: CallerLine, duration_s: int | None = None) -> None:
    """The call over: its end noted, and the ticket a caller who chose a service is owed."""
    with transaction(desk.factory) as session:
        engine.ended(session, desk.route_desk, line, duration_s)


class _CallRun:
    """One call: its line, and the decisions being carried out."""

    def __init__(self, runner: FlowRunner, call: CallChannel, start: StasisStart) -> None:
        self.desk = runner.desk
        self.progress: Callable[[str], None] = lambda milestone: runner.on_progress(call.id, milestone)
        self.call = call
        self.line = CallerLine(call.id, start.channel.caller_number, start.channel.exten)
        self.started = datetime.now(UTC)
        self.plays = 0  # each playback gets an id of its own: a prompt may be played twice in a call
        self.recordings: dict[str, int] = {}  # recordings of each step so far (a step may record again)
        self.call_recording: str | None = None
        self.dials = 0  # each call to a person gets a channel of its own

    def run(self) -> None:
        self.call.answer()
        self.progress("answered")
        stopped = False
        try:
            self.carry_out(self.ask(lambda session: engine.answer(session, self.desk.route_desk, self.line)))
        except CallerHungUp:
            self.progress("hung_up")
        except EdgeStopped:
            stopped = True  # left to the next start of the service (asterisk.edge.AsteriskEdge.pick_up)
            raise
        finally:
            if not stopped:
                self.finish()

    # --- the engine ------------------------------------------------------------------------------------

    def ask(self, handler: Callable[[Session], Decisions]) -> Decisions:
        """One question to the engine, in its own transaction (as one webhook)."""
        with transaction(self.desk.factory) as session:
            return handler(session)

    def ask_next(self, then: Next, did: CallerDid | None = None) -> Decisions:
        """What comes next, told what the caller did."""
        return self.ask(lambda session: engine.ask(session, self.desk.route_desk, then, self.line, did))

    # --- carrying out ----------------------------------------------------------------------------------

    def carry_out(self, decisions: Decisions) -> None:
        """Carry out decisions one after another; a question, a recording or a redirect brings the next ones.
        Decisions that run out end the call, as Twilio ends a call whose TwiML runs out."""
        pending = list(decisions)
        while pending:
            decision = pending.pop(0)
            if isinstance(decision, Say | Pause):
                self.say(decision)
            elif isinstance(decision, StartCallRecording):
                self.start_call_recording()
            elif isinstance(decision, Gather):
                keys = self.gather(decision)
                if keys or decision.on_empty:
                    pending = list(self.ask_next(decision.next, CallerDid(keys=keys)))
            elif isinstance(decision, Record):
                pending = list(self.record(decision))
            elif isinstance(decision, Dial):
                pending = list(self.dial(decision))
            elif isinstance(decision, Redirect):
                pending = list(self.ask_next(decision.next))
            elif isinstance(decision, Hangup):
                break
            else:
                self.not_carried(decision)
                return
        self.call.hangup()

    def say(self, prompt: Say | Pause, *, stop_on_key: bool = False) -> str | None:
        """Play one prompt (a pause waits); with `stop_on_key` a key pressed meanwhile cuts it short."""
        if isinstance(prompt, Pause):
            self.call.pause(prompt.seconds)
            return None
        values = {name: value.number if isinstance(value, Digits) else value for name, value in prompt.values}
        files = self.desk.prompts.say(prompt.prompt_id, prompt.template, **values)
        self.plays += 1
        key = self.call.play(files, step=f"{self.plays}-{prompt.prompt_id}", stop_on_key=stop_on_key)
        self.progress(f"said:{prompt.prompt_id}")
        return key

    def gather(self, question: Gather) -> str:
        """The prompts, cut short by a key, then the keys the question takes."""
        for prompt in question.prompts:
            if self.say(prompt, stop_on_key=True) is not None:
                break
        keys = self.call.collect_keys(
            question.timeout_s, count=question.num_digits, finish_on_key=question.finish_on_key
        )
        self.progress(f"keys:{keys}")
        return keys

    def record(self, record: Record) -> Decisions:
        """The caller's recording after the beep, stored here with its checksum and registered with the engine
        (then transcribed), and what the engine makes of it."""
        step = record.next.step or "record"
        if record.beep:
            self.plays += 1
            self.call.play([self.desk.prompts.beep()], step=f"{self.plays}-beep")
        self.recordings[step] = self.recordings.get(step, 0) + 1
        name_step = step if self.recordings[step] == 1 else f"{step}-{self.recordings[step]}"
        self.progress("recording")
        recorded = self.call.record(
            step=name_step,
            max_length_s=record.max_length_s,
            silence_s=record.timeout_s,
            finish_on_key=record.finish_on_key,
        )
        self.progress(f"recorded:{recorded.ended_by}")
        stored = self.store(recorded.name)
        audio = audio_of(self.desk.recordings_root, stored)
        did = CallerDid(
            keys=recorded.key or "",
            recording=RecordingDone(recorded.name, recorded.duration_s),
            hung_up=recorded.ended_by == "hangup",
        )

        def answer(session: Session) -> Decisions:
            decisions = engine.ask(session, self.desk.route_desk, record.next, self.line, did)
            engine.recording_stored(session, self.line, recorded.name, PROBLEM, stored, audio)
            return decisions

        decisions = self.ask(answer)
        self.desk.wake()  # its transcript is wanted while the caller is on the line
        self.progress("stored")
        if recorded.ended_by == "hangup":
            raise CallerHungUp(self.call.id)
        return decisions

    def dial(self, dial: Dial) -> Decisions:
        """Put the caller through to a person (an operator, a lawyer, the supervisor) and tell the engine how it
        went, in the words of Twilio's `<Dial>` (completed, no-answer, busy, failed)."""
        endpoint = self.desk.dial_plan.endpoint(dial.number)
        self.dials += 1
        self.progress(f"dialling:{dial.number}")
        dialled = self.call.dial(
            endpoint, step=str(self.dials), timeout_s=dial.timeout_s, caller_id=self.line.caller or None
        )
        self.progress(f"dialled:{dialled.status}")
        decisions = self.ask_next(dial.next, CallerDid(dialled=DialResult(dialled.status, dialled.duration_s)))
        if dialled.caller_left:  # told all the same, as Twilio tells the dial's end of a caller who hung up
            raise CallerHungUp(self.call.id)
        return decisions

    def start_call_recording(self) -> None:
        """The whole-call recording; one that cannot start is said in the log and the call's events, and the
        caller is served all the same (the inspectors see the call has none)."""
        name = call_recording_name(self.call.id)
        try:
            self.call_recording = self.call.start_call_recording(name)
        except AriError as exc:
            error = f"the whole-call recording could not start on Asterisk: {exc}"
            log.error("call %s: %s", self.call.id, error)

            with transaction(self.desk.factory) as session:
                engine.not_recorded(session, self.line, name, error)

    def not_carried(self, decision: Decision) -> None:
        """The engine asked for what this edge cannot do yet: said in the log and the call's events, then an
        apology and goodbye (never silence)."""
        what = type(decision).__name__
        log.error(
            "call %s: the Asterisk edge cannot carry out %s yet (%r): ending the call", self.call.id, what, decision
        )

        self.progress(f"not_carried:{what}")
        apology = self.ask(
            lambda session: engine.not_carried(session, self.desk.route_desk, self.line, what, "asterisk")
        )
        for prompt in apology:
            if isinstance(prompt, Say | Pause):
                self.say(prompt)

    # --- the end ---------------------------------------------------------------------------------------

    def finish(self) -> None:
        """The call is over: end it in the database, then keep its whole-call recording."""
        if not self.call.hung_up:
            self.call.hangup()
        finish_call_of(self.desk, self.line, round((datetime.now(UTC) - self.started).total_seconds()))
        if self.call_recording is not None:
            keep_recording(self.desk, self.line, self.call_recording, WHOLE_CALL, self.store(self.call_recording))
        self.progress("ended")

    def store(self, name: str) -> StoredFile:
        return store_from_asterisk(self.call.client, self.desk.recordings_root, self.started, self.call.id, name)
