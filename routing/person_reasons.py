"""Why a ticket is marked for a person (需人工处理): stable codes that code reads, the words people read.

The QA sample, the consoles and scripts decide on the code (`Ticket.needs_human_codes`); the sentence beside it
(`Ticket.needs_human_reason`) is only for people, and is never read back to decide anything.
"""

from __future__ import annotations

from enum import StrEnum


class PersonReason(StrEnum):
    """A reason for a person to take over a ticket the machine could not finish."""

    PUT_THROUGH = "put_through"  # the caller talked to an operator: the ticket is written from that conversation
    NO_MESSAGE = "no_message"  # the caller left no recording of the problem
    HUNG_UP_EARLY = "hung_up_early"  # the caller chose a service and hung up before saying the problem
    NO_SPEECH = "no_speech"  # the problem recording holds no words the recogniser heard
    RECORDING_UNUSABLE = "recording_unusable"  # the problem recording could not be downloaded or decoded
    RECORDING_NOT_MADE = "recording_not_made"  # Twilio reports the problem recording absent or failed


# What an operator reads, and what to do (the recording's id is added where there is one).
PERSON_REASON_TEXT: dict[PersonReason, str] = {
    PersonReason.PUT_THROUGH: "来电人已转接话务员：请根据通话内容补全工单",
    PersonReason.NO_MESSAGE: "来电人没有留言录音：请回电",
    PersonReason.HUNG_UP_EARLY: "来电人没说问题就挂断了：请回电",
    PersonReason.NO_SPEECH: "来电人录音中没有识别出话语：请收听录音",
    PersonReason.RECORDING_UNUSABLE: "来电人的录音无法使用：请收听全程录音或回电",
    PersonReason.RECORDING_NOT_MADE: "来电人的录音没有录成：请收听全程录音或回电",
}


def reason_text(reason: PersonReason, recording_sid: str | None = None) -> str:
    """The sentence people read for a reason, naming the recording when there is one."""
    text = PERSON_REASON_TEXT[reason]
    return f"{text}（录音 {recording_sid}）" if recording_sid else text
