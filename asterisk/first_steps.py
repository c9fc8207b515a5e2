"""The first steps of the hotline's flow on Asterisk: greeting and menu, the caller's key, the problem recorded,
fetched from Asterisk and stored with its checksum like Twilio's recordings.

This is the carrier's half only: what to say and when to record come from the flow file (`ivr.flow`). Tickets,
routing and transcripts are not made here yet; `CallOutcome` is what the shared flow engine will take over.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from asterisk.ari import AriNotFound, StasisStart
from asterisk.channel import CallChannel
from ivr.flow import Flow
from recordings.store import StoredFile, recording_path, store_recording, verify_recording
from speech.prompt_audio import PromptAudio

STORE_WAIT_S = 10  # longest wait for Asterisk to close a recording file after the caller hung up
Progress = Callable[[str, str], None]  # (channel id, milestone): answered, greeted, key:2, recording, stored, ...


@dataclass
class CallOutcome:
    """What happened on one call: the caller, the keys, the choice, the stored recording of the problem."""

    channel_id: str
    caller_number: str
    keys: list[str] = field(default_factory=list)
    choice: str | None = None
    recording: StoredFile | None = None
    recording_ended_by: str | None = None
    hung_up_by_caller: bool = False


class MenuAndRecord:
    """Answer, greet with the menu, take one key, record the problem after a beep, store it, say goodbye."""

    def __init__(
        self,
        flow: Flow,
        prompts: PromptAudio,
        recordings_root: Path,
        *,
        on_progress: Progress | None = None,
        on_outcome: Callable[[CallOutcome], None] | None = None,
    ) -> None:
        self.flow = flow
        self.prompts = prompts
        self.recordings_root = recordings_root
        self.on_progress = on_progress or (lambda _channel, _milestone: None)
        self.on_outcome = on_outcome or (lambda _outcome: None)

    def __call__(self, call: CallChannel, start: StasisStart) -> None:
        outcome = CallOutcome(call.id, start.channel.caller_number)
        try:
            self._steps(call, outcome)
        finally:
            outcome.hung_up_by_caller = call.hung_up and outcome.recording_ended_by == "hangup"
            self.on_outcome(outcome)

    def _steps(self, call: CallChannel, outcome: CallOutcome) -> None:
        menu = self.flow.step(self.flow.start)
        call.answer()
        self.on_progress(call.id, "answered")
        greeting = [self.prompts.prompt(f"{menu.name}.intro.{n}", text) for n, text in enumerate(menu.intro, 1)]
        call.play(greeting, step=f"{menu.name}-intro")
        self.on_progress(call.id, "greeted")
        call.play([self.prompts.prompt(f"{menu.name}.prompt", menu.prompt)], step=menu.name, stop_on_key=True)
        key = call.collect_key(menu.timeout_s)
        if key is None:
            self.on_progress(call.id, "no_key")
            call.hangup()
            return
        outcome.keys.append(key)
        option = menu.options.get(key)
        outcome.choice = option.choice if option else None
        self.on_progress(call.id, f"key:{key}")

        record = self.flow.step_of_kind("record")
        call.play([self.prompts.prompt(f"{record.name}.prompt", record.prompt), self.prompts.beep()], step=record.name)
        self.on_progress(call.id, "recording")
        recorded = call.record(step=record.name, max_length_s=record.max_length_s, finish_on_key=record.finish_on_key)
        outcome.recording_ended_by = recorded.ended_by
        self.on_progress(call.id, f"recorded:{recorded.ended_by}")
        outcome.recording = self._store(call, recorded.name)
        self.on_progress(call.id, "stored")
        if not call.hung_up:
            call.hangup()

    def _store(self, call: CallChannel, name: str) -> StoredFile:
        """Fetch the recording from Asterisk, store it under the recordings root with its checksum, and only then
        delete Asterisk's copy (a fetch that fails leaves it there to be fetched again)."""
        deadline = time.monotonic() + STORE_WAIT_S
        while True:
            try:
                data = call.client.stored_recording(name)
                break
            except AriNotFound:  # a caller who hung up mid-recording: Asterisk is still closing the file
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)
        relative = recording_path(datetime.now(UTC), call.id, name)
        stored = store_recording(self.recordings_root, f"asterisk/{relative}", data)
        if verify_recording(self.recordings_root, stored.relative_path, stored.sha256):
            call.client.delete_stored_recording(name)
        return stored
