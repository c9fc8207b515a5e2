"""Quality inspection (`/api/qa`) as the API answers it: rubric, samples, scores, feedback, figures."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from api.responses.base import Answer, LocalDay, Number, UtcTime, code, label


class CriticalRule(Answer):
    """A critical item (一票否决): fewer than `fail_below` points fails it."""

    fail_below: Number
    on_fail: str = Field(description="zero: the call's score is 0; cap: it is capped at `cap`")
    cap: Number | None


class RubricItem(Answer):
    """One scored item of the rubric."""

    id: str
    label: str = Field(description=label("the item"))
    max: Number = Field(description="the item's full points")
    critical: CriticalRule | None = Field(description="null: not a critical item")


class RubricSection(Answer):
    """A section of the rubric and its items."""

    id: str
    label: str
    items: list[RubricItem]


class Rubric(Answer):
    """The scoring rubric (the hotline's rubric file)."""

    id: str
    name: str
    total: Number = Field(description="the points of a perfect call (the items' max points add up to it)")
    pass_score: Number | None
    sections: list[RubricSection]


class SampleRow(Answer):
    """A sampled call in the day's list."""

    id: int
    day: LocalDay
    call_sid: str
    started_at: UtcTime
    duration_s: Number | None
    handler: str | None = Field(description="who handled the call: a username or a roster seat; null: the menu")
    handler_role: str | None = Field(description=code("the handler's role"))
    handler_role_label: str | None = Field(description=label("the handler's role"))
    reason: str = Field(description=code("the first reason it was sampled: quota, low_satisfaction, urgent, ..."))
    reason_label: str = Field(description=label("that reason"))
    reasons: list[str] = Field(description=code("every reason that applied"))
    reason_labels: list[str]
    inspector: str | None = Field(description="the inspector it is given to")
    status: str = Field(description=code("open, scored, reviewed, closed"))
    score: Number | None = Field(description="the score that counts (a review's over the inspection's)")


class SampleCall(Answer):
    """The sampled call."""

    call_sid: str
    caller: str | None = Field(description="the caller's number, masked for masked roles")
    started_at: UtcTime
    duration_s: Number | None
    handler: str | None
    handler_role: str | None
    handler_role_label: str | None


class SampleTranscript(Answer):
    """One channel's transcript, with the recognizer's timed words."""

    channel: int | None = Field(description="0 the caller, 1 the staff member")
    text: str
    words: list[dict[str, Any]] = Field(description="the recognizer's words with their times")


class SampleRecording(Answer):
    """A recording of the sampled call."""

    recording_sid: str
    source: str = Field(description=code("problem or call"))
    status: str = Field(description=code("the recording's status"))
    duration_s: Number | None
    channels: int | None
    stored: bool = Field(description="false: the recording was never stored (it failed to download)")
    audio_url: str = Field(description="where to play it (supports Range requests)")
    transcripts: list[SampleTranscript]


class SampleTicket(Answer):
    """The sampled call's ticket, in brief."""

    number: str
    subject: str | None
    summary: str | None
    subject_label: str | None
    status: str
    handling_class: str | None
    handling_class_label: str | None
    urgency_flags: list[str]
    urgency_flag_labels: list[str]


class Comment(Answer):
    """A remark pinned to a moment of the call."""

    at_s: Number = Field(description="seconds from the start of the recording")
    channel: int = Field(description="0 the caller, 1 the staff member")
    text: str


class Score(Answer):
    """An inspector's score of a sampled call."""

    id: int
    inspector: str
    stage: str = Field(description="inspection, review or calibration")
    rubric: str = Field(description="the rubric's id")
    items: dict[str, Number] = Field(description="rubric item id → points given")
    total: Number = Field(description="the total after critical failures")
    critical_failed: list[str] = Field(description="ids of the critical items failed")
    comments: list[Comment]
    created_at: UtcTime


class FeedbackScore(Answer):
    """The score the feedback is about."""

    total: Number
    critical_failed: list[str]
    comments: list[Comment]
    critical_failed_labels: list[str] = Field(description=label("the critical items failed"))


class Feedback(Answer):
    """Feedback to the person who handled a call, and their rectification (整改)."""

    id: int
    sample_id: int
    call_sid: str | None = Field(description="in lists and on a sample; null in the answer to a POST")
    day: LocalDay | None = Field(description="the sampled day; null in the answer to a POST")
    handler: str
    message: str
    critical: bool = Field(description="true: about a critical item failed")
    created_by: str
    created_at: UtcTime
    status: str = Field(description=code("open (待整改), answered (已整改), closed (已关闭)"))
    rectification: str | None
    rectified_at: UtcTime | None
    closed_by: str | None
    closed_at: UtcTime | None
    score: FeedbackScore | None = Field(description="null on a sample's page (its scores are listed there)")


class Sample(Answer):
    """One sampled call with everything needed to judge it."""

    id: int
    day: LocalDay
    reason: str = Field(description=code("the first reason it was sampled"))
    reasons: list[str]
    reason_labels: list[str]
    inspector: str | None
    status: str = Field(description=code("open, scored, reviewed, closed"))
    call: SampleCall
    recordings: list[SampleRecording]
    ticket: SampleTicket | None
    rubric: Rubric
    scores: list[Score]
    feedback: list[Feedback]


class Spread(Answer):
    """How far apart the calibration scores are."""

    n: int = Field(description="how many scores")
    min: Number
    max: Number
    stdev: Number = Field(description="the population standard deviation")


class CalibrationScore(Answer):
    """One inspector's calibration score."""

    inspector: str
    total: Number
    critical_failed: list[str]


class Calibration(Answer):
    """How far apart the inspectors' calibration scores of one call are (no scores: total null)."""

    sample_id: int
    inspectors: list[CalibrationScore]
    items: dict[str, Spread] = Field(description="rubric item id → the spread of its points")
    total: Spread | None


class PersonFigures(Answer):
    """One handler's quality figures."""

    handler: str
    handler_role: str | None = Field(description=code("the handler's role"))
    handler_role_label: str | None = Field(description=label("the handler's role"))
    calls_inspected: int
    critical_failures: int
    feedback_given: int
    rectified: int = Field(description="feedback answered or closed")
    average_score: Number | None
    rectification_rate: Number | None = Field(description="rectified / feedback given, 0 to 1")


class People(Answer):
    """Per handler, for the sampled days start..end."""

    start: LocalDay
    end: LocalDay
    people: list[PersonFigures]
