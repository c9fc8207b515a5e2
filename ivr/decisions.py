"""What the flow engine decides a call does next, in words no carrier owns.

Each handler of the engine (ivr.call, ivr.route_calls) returns a tuple of these; a carrier edge carries them out:
the Twilio edge renders them as TwiML (ivr.twiml), the Asterisk edge plays, collects and records over ARI
(asterisk.flow_runner). What comes after a question, a recording or a dial is a `Next`: the engine's handler to
ask, named by its action and step, with the values it needs back, never a URL.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import TypeAlias


class To(StrEnum):
    """The engine's handlers a call can be sent on to (each is one webhook path on Twilio)."""

    STEP = "step"  # play a step of the flow
    KEYS = "keys"  # the keys pressed at a menu
    SPOKEN = "spoken"  # a menu choice said aloud
    CONFIRM = "confirm"  # ask to confirm a choice heard with little confidence
    CONFIRMED = "confirmed"  # the answer to that question
    RECORDED = "recorded"  # the problem recording ended
    DIALLED = "dialled"  # a dial step's call ended
    ROUTE = "route"  # route the ticket
    ROUTE_DISTRICT = "route_district"  # the answer to the district question
    ROUTE_MORE = "route_more"  # a key after the knowledge-base answer
    ROUTE_DIALLED = "route_dialled"  # the supervisor's line ended
    URGENT = "urgent"  # to the supervisor now
    QUEUE_WAIT = "queue_wait"  # what a caller waiting for a lawyer hears
    QUEUE_KEY = "queue_key"  # a key pressed while waiting
    QUEUE_DONE = "queue_done"  # the caller left the lawyer queue
    CALLBACK_CONFIRM = "callback_confirm"  # the keys typed at the callback offer
    CALLBACK_CHECK = "callback_check"  # the answer to the callback number read back
    SEAT_DONE = "seat_done"  # a lawyer's line ended


# The handlers that belong to one step of the flow (the others are the call's, wherever it is).
STEP_ACTIONS = (To.STEP, To.KEYS, To.SPOKEN, To.CONFIRM, To.CONFIRMED, To.RECORDED, To.DIALLED)

QueryValue: TypeAlias = str | int


@dataclass(frozen=True)
class Next:
    """What comes next: the handler `to` (of `step`, for a step's own handlers) and the values it gets back
    (attempt, choice, ...), in order."""

    to: To
    step: str | None = None
    query: tuple[tuple[str, QueryValue], ...] = ()

    @classmethod
    def of(cls, to: To, step: str | None = None, **query: QueryValue) -> Next:
        return cls(to, step, tuple(query.items()))

    @property
    def values(self) -> dict[str, QueryValue]:
        return dict(self.query)


@dataclass(frozen=True)
class Digits:
    """A prompt value read digit by digit (a ticket or phone number); a dash is a short pause between groups."""

    number: str


PromptValue: TypeAlias = str | int | Digits


@dataclass(frozen=True)
class Say:
    """Say a prompt: its stable id (ivr.prompt_list; a recording of it is played where there is one) and its text
    with placeholders, filled with `values`."""

    prompt_id: str
    template: str
    values: tuple[tuple[str, PromptValue], ...] = ()

    @classmethod
    def of(cls, prompt_id: str, template: str, values: Mapping[str, PromptValue] | None = None) -> Say:
        return cls(prompt_id, template, tuple((values or {}).items()))


@dataclass(frozen=True)
class Pause:
    """Silence, for `seconds`."""

    seconds: int


Prompt: TypeAlias = Say | Pause


@dataclass(frozen=True)
class Gather:
    """Play `prompts` while listening for keys (and speech, if `speech`), then go to `next` with what was pressed:
    up to `num_digits` keys (None: until `finish_on_key`), waiting `timeout_s` after the prompts. `on_empty`:
    go to `next` with nothing pressed too; otherwise silence falls through to the decisions after this one."""

    prompts: tuple[Prompt, ...]
    next: Next
    timeout_s: int
    num_digits: int | None = 1
    finish_on_key: str | None = None
    on_empty: bool = True
    speech: bool = False


@dataclass(frozen=True)
class Record:
    """Record the caller after an optional beep until `finish_on_key` (any of its keys), `max_length_s`, or
    `timeout_s` of silence; then `next` with the recording (also when the caller hung up)."""

    next: Next
    max_length_s: int
    timeout_s: int
    finish_on_key: str
    beep: bool = True


@dataclass(frozen=True)
class Dial:
    """Put the caller through to `number`, ringing up to `timeout_s`; then `next` with how it went."""

    number: str
    next: Next
    timeout_s: int


@dataclass(frozen=True)
class Enqueue:
    """Put the caller in the queue `name`: `wait` says what they hear while waiting, `next` comes when they leave."""

    name: str
    next: Next
    wait: Next


@dataclass(frozen=True)
class LeaveQueue:
    """Take the caller out of the queue they wait in (its `next` follows)."""


@dataclass(frozen=True)
class StartCallRecording:
    """Record the whole call, both sides on their own channel, from now on."""


@dataclass(frozen=True)
class StartStream:
    """Stream the caller's audio to live recognition as `name`: at `step`, listening in `mode` (menu, transcribe)."""

    name: str
    step: str
    mode: str


@dataclass(frozen=True)
class StopStream:
    """End the live stream `name` (the call has left the step that listened)."""

    name: str


@dataclass(frozen=True)
class Redirect:
    """Go on at `next` now."""

    next: Next


@dataclass(frozen=True)
class Hangup:
    """End the call."""


Decision: TypeAlias = (
    Say
    | Pause
    | Gather
    | Record
    | Dial
    | Enqueue
    | LeaveQueue
    | StartCallRecording
    | StartStream
    | StopStream
    | Redirect
    | Hangup
)
Decisions: TypeAlias = tuple[Decision, ...]
