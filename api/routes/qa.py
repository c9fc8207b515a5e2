"""Quality inspection over HTTP (`/api/qa`), for the inspector console: the day's sample, one sampled call with
everything needed to judge it, scoring, review, feedback and the handler's rectification, calibration, figures.

Inspectors and supervisors inspect; the person who handled a call reads and answers their own feedback.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Annotated, Literal, TypeAlias

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from api.access import Allowed
from api.deps import Day, RowId, ServicesDep, SessionDep
from api.errors import Refusal
from api.responses.qa import Calibration, Feedback, People, Rubric, Sample, SampleRow, Score
from api.staff_auth import audit
from hotline.db import utcnow
from recordings import qa
from recordings.qa_sampling import reason_label
from recordings.qa_tables import QaFeedback, QaSample, QaScore
from recordings.tables import Call, Recording, Transcript
from routing.classify import default_taxonomy
from routing.corrections import urgency_flag_labels
from routing.tables import Ticket
from routing.tickets import local_day
from staff.accounts import DESK_PREFIX, handler_id, handles
from staff.roles import INSPECTOR, OPERATOR, ROLE_LABELS, SUPERVISOR, masked_for, phone_for, role_allows

router = APIRouter(prefix="/api/qa", tags=["quality inspection"])
# Inspectors and supervisors inspect; handlers read their own feedback: the access table, staff/access.py.
Inspector: TypeAlias = Allowed
StaffDep: TypeAlias = Allowed
FEEDBACK_STATES = ("open", "answered", "closed")
FEEDBACK_LABELS = {"open": "待整改", "answered": "已整改", "closed": "已关闭"}
# Each kind of refusal: its status, and the code scripts tell it by.
_REFUSALS: dict[type[qa.QaError], tuple[int, str]] = {
    qa.InvalidInput: (422, "invalid_input"),
    qa.Conflict: (409, "conflict"),
    qa.NotAllowed: (403, "not_allowed"),
    qa.NotFound: (404, "not_found"),
}


class CommentIn(BaseModel):
    """A remark pinned to a moment of the call, on the caller's (0) or the staff member's (1) channel."""

    model_config = ConfigDict(allow_inf_nan=False)

    at_s: float = Field(ge=0, description="seconds from the start of the recording", examples=[12.5])
    channel: Literal[0, 1] = Field(description="0 the caller, 1 the staff member")
    text: str = Field(min_length=1, max_length=qa.MAX_COMMENT_CHARS, examples=["没有告知录音"])


class ScoreIn(BaseModel):
    """Points per rubric item (every item), with comments."""

    model_config = ConfigDict(allow_inf_nan=False)

    items: dict[str, float] = Field(
        description="rubric item id → points, 0 to the item's max", examples=[{"greeting": 5, "recording_notice": 0}]
    )
    comments: list[CommentIn] = Field(default_factory=list, max_length=200)
    stage: Literal["inspection", "calibration"] = "inspection"


class ReviewIn(BaseModel):
    model_config = ConfigDict(allow_inf_nan=False)

    items: dict[str, float]
    comments: list[CommentIn] = Field(default_factory=list, max_length=200)


class FeedbackIn(BaseModel):
    message: str = Field(min_length=1, max_length=4000, examples=["受理时未告知录音，请按规范开场"])


class RectificationIn(BaseModel):
    text: str = Field(min_length=1, max_length=4000, examples=["已学习开场规范，今后先告知录音"])


def role_label(role: str | None) -> str | None:
    """A handler's role as staff read it (话务员 for operator); None for the voice menu."""
    return ROLE_LABELS.get(role, role) if role else None


def _item_labels(services: ServicesDep) -> dict[str, str]:
    """Rubric item id → its label: the failed critical items as people read them."""
    return {item_id: item.label for item_id, item in services.rubric.items.items()}


def _fail(exc: qa.QaError) -> Refusal:
    status, code = _REFUSALS.get(type(exc), (409, "conflict"))
    return Refusal(status, str(exc), code)


def _yesterday(services: ServicesDep) -> date:
    return local_day(utcnow(), services.settings.timezone) - timedelta(days=1)


def _sample(session: Session, sample_id: int) -> QaSample:
    try:
        return qa.get_sample(session, sample_id)
    except qa.QaError as exc:
        raise _fail(exc) from None


def _score_view(score: QaScore) -> dict:
    return {
        "id": score.id,
        "inspector": score.inspector,
        "stage": score.stage,
        "rubric": score.rubric,
        "items": score.items,
        "total": score.total,
        "critical_failed": score.critical_failed,
        "comments": score.comments,
        "created_at": score.created_at.isoformat(),
    }


def _feedback_view(
    fb: QaFeedback,
    score: QaScore | None = None,
    call_sid: str | None = None,
    day: date | None = None,
    labels: dict[str, str] | None = None,
) -> dict:
    """One feedback; with the rubric's `labels`, the failed critical items also as people read them."""
    critical = score.critical_failed if score else []
    return {
        "id": fb.id,
        "sample_id": fb.sample_id,
        "call_sid": call_sid,
        "day": day.isoformat() if day else None,
        "handler": fb.handler,
        "message": fb.message,
        "critical": fb.critical,
        "created_by": fb.created_by,
        "created_at": fb.created_at.isoformat(),
        "status": fb.status,
        "rectification": fb.rectification,
        "rectified_at": fb.rectified_at.isoformat() if fb.rectified_at else None,
        "closed_by": fb.closed_by,
        "closed_at": fb.closed_at.isoformat() if fb.closed_at else None,
        "score": (
            {
                "total": score.total,
                "critical_failed": critical,
                "comments": score.comments,
                "critical_failed_labels": [(labels or {}).get(i, i) for i in critical],
            }
            if score
            else None
        ),
    }


@router.get(
    "/rubric",
    summary="The scoring rubric: sections, items with their max points, critical items",
    response_model=Rubric,
)
def get_rubric(_user: Inspector, services: ServicesDep) -> dict:
    return services.rubric.to_dict()


@router.get(
    "/samples",
    summary="A day's sample (default yesterday); mine=true: those given to me",
    response_model=list[SampleRow],
)
def list_samples(
    user: Inspector, session: SessionDep, services: ServicesDep, day: Day | None = None, mine: bool = False
) -> list[dict]:
    day = day or _yesterday(services)
    query = (
        select(QaSample, Call).join(Call, Call.id == QaSample.call_id).where(QaSample.day == day).order_by(QaSample.id)
    )
    if mine:
        query = query.where(QaSample.inspector == user.username)
    rows = session.execute(query).all()
    counted = {}
    for score in session.scalars(
        select(QaScore)
        .where(QaScore.sample_id.in_([s.id for s, _ in rows]), QaScore.stage.in_((qa.INSPECTION, qa.REVIEW)))
        .order_by(QaScore.id)
    ):
        if score.sample_id not in counted or score.stage == qa.REVIEW:
            counted[score.sample_id] = score.total
    return [
        {
            "id": s.id,
            "day": s.day.isoformat(),
            "call_sid": c.call_sid,
            "started_at": c.started_at.isoformat(),
            "duration_s": c.duration_s,
            "handler": s.handler,
            "handler_role": s.handler_role,
            "handler_role_label": role_label(s.handler_role),
            "reason": s.reason,
            "reason_label": reason_label(s.reason),
            "reasons": s.reasons,
            "reason_labels": [reason_label(r) for r in s.reasons or []],
            "inspector": s.inspector,
            "status": s.status,
            "score": counted.get(s.id),
        }
        for s, c in rows
    ]


@router.get(
    "/samples/{sample_id}",
    summary="One sampled call: call, recordings with transcripts, ticket, rubric, scores, feedback",
    response_model=Sample,
)
def get_sample(sample_id: RowId, user: Inspector, request: Request, session: SessionDep, services: ServicesDep) -> dict:
    sample = _sample(session, sample_id)
    call = session.get_one(Call, sample.call_id)  # a sample's call is never deleted before it (ON DELETE CASCADE)
    recordings = []
    for rec in session.scalars(select(Recording).where(Recording.call_id == call.id).order_by(Recording.id)):
        texts = session.scalars(
            select(Transcript).where(Transcript.recording_id == rec.id).order_by(Transcript.channel, Transcript.id)
        )
        recordings.append(
            {
                "recording_sid": rec.recording_sid,
                "source": rec.source,
                "status": rec.status,
                "duration_s": rec.duration_s,
                "channels": rec.channels,
                "stored": rec.path is not None,  # a failed recording never stored failed to download
                "audio_url": f"/api/recordings/{rec.recording_sid}/audio",
                "transcripts": [{"channel": t.channel, "text": t.text, "words": t.words or []} for t in texts],
            }
        )
    ticket = session.scalar(select(Ticket).where(Ticket.call_id == call.id))
    if ticket is not None:
        audit(session, request, user, "view_ticket", ticket.number, {"via": "qa_sample", "sample_id": sample.id})
    feedback = session.scalars(select(QaFeedback).where(QaFeedback.sample_id == sample.id).order_by(QaFeedback.id))
    taxonomy = default_taxonomy()
    flags = urgency_flag_labels(taxonomy)
    view = {
        "id": sample.id,
        "day": sample.day.isoformat(),
        "reason": sample.reason,
        "reasons": sample.reasons,
        "reason_labels": [reason_label(r) for r in sample.reasons or []],
        "inspector": sample.inspector,
        "status": sample.status,
        "call": {
            "call_sid": call.call_sid,
            "caller": phone_for(user.role, call.from_number),
            "started_at": call.started_at.isoformat(),
            "duration_s": call.duration_s,
            "handler": call.handler,
            "handler_role": call.handler_role,
            "handler_role_label": role_label(call.handler_role),
        },
        "recordings": recordings,
        "ticket": (
            {
                "number": ticket.number,
                "subject": ticket.subject,
                "summary": ticket.summary,
                "subject_label": taxonomy.label(ticket.subject) if ticket.subject else None,
                "status": ticket.status,
                "handling_class": ticket.handling_class,
                "handling_class_label": taxonomy.handling_classes.get(ticket.handling_class),
                "urgency_flags": ticket.urgency_flags or [],
                "urgency_flag_labels": [flags.get(f, f) for f in ticket.urgency_flags or []],
            }
            if ticket
            else None
        ),
        "rubric": services.rubric.to_dict(),
        "scores": [_score_view(s) for s in qa.scores_of(session, sample.id)],
        "feedback": [_feedback_view(f, call_sid=call.call_sid, day=sample.day) for f in feedback],
    }
    session.commit()  # the audit entry
    return masked_for(user.role, view)  # numbers in transcripts and the ticket's words too


def _duration(session: Session, sample: QaSample) -> float | None:
    return session.scalar(select(Call.duration_s).where(Call.id == sample.call_id))


@router.post(
    "/samples/{sample_id}/scores", summary="Score a sampled call (inspection, or calibration)", response_model=Score
)
def post_score(sample_id: RowId, body: ScoreIn, user: Inspector, session: SessionDep, services: ServicesDep) -> dict:
    sample = _sample(session, sample_id)
    try:
        score = qa.score_sample(
            session,
            services.rubric,
            sample,
            user.username,
            body.items,
            [c.model_dump() for c in body.comments],
            stage=body.stage,
            duration_s=_duration(session, sample),
        )
    except qa.QaError as exc:
        raise _fail(exc) from None
    session.commit()
    return _score_view(score)


@router.post(
    "/samples/{sample_id}/review", summary="A second inspector or a supervisor adjusts the score", response_model=Score
)
def post_review(sample_id: RowId, body: ReviewIn, user: Inspector, session: SessionDep, services: ServicesDep) -> dict:
    sample = _sample(session, sample_id)
    try:
        score = qa.review_sample(
            session,
            services.rubric,
            sample,
            user.username,
            body.items,
            [c.model_dump() for c in body.comments],
            duration_s=_duration(session, sample),
        )
    except qa.QaError as exc:
        raise _fail(exc) from None
    session.commit()
    return _score_view(score)


@router.post(
    "/samples/{sample_id}/feedback", summary="Feedback to the person who handled the call", response_model=Feedback
)
def post_feedback(
    sample_id: RowId, body: FeedbackIn, user: Inspector, session: SessionDep, services: ServicesDep
) -> dict:
    sample = _sample(session, sample_id)
    try:
        fb = qa.give_feedback(session, sample, user.username, body.message)
    except qa.QaError as exc:
        raise _fail(exc) from None
    session.commit()
    return _feedback_view(fb, session.get(QaScore, fb.score_id), labels=_item_labels(services))


@router.get(
    "/samples/{sample_id}/calibration",
    summary="How far apart the inspectors' calibration scores are",
    response_model=Calibration,
)
def get_calibration(sample_id: RowId, _user: Inspector, session: SessionDep, services: ServicesDep) -> dict:
    _sample(session, sample_id)
    return qa.calibration(session, services.rubric, sample_id)


@router.get("/feedback", summary="Feedback; mine=true: the feedback on calls I handled", response_model=list[Feedback])
def list_feedback(
    user: StaffDep,
    session: SessionDep,
    services: ServicesDep,
    mine: bool = False,
    status: str | None = None,
    handler: str | None = None,
) -> list[dict]:
    if status is not None and status not in FEEDBACK_STATES:
        states = "、".join(f"{label}（{code}）" for code, label in FEEDBACK_LABELS.items())
        raise Refusal(422, f"没有这个反馈状态（{status}）：可选 {states}", "unknown_state")
    query = (
        select(QaFeedback, QaSample, Call)
        .join(QaSample, QaSample.id == QaFeedback.sample_id)
        .join(Call, Call.id == QaSample.call_id)
        .order_by(QaFeedback.id.desc())
        .limit(500)
    )
    if mine:
        mine_only = QaFeedback.handler == handler_id(user)
        if user.role == OPERATOR:  # the operators' desk answers its feedback together
            mine_only = or_(mine_only, QaFeedback.handler.startswith(DESK_PREFIX))
        query = query.where(mine_only)
    elif not role_allows(user.role, (INSPECTOR, SUPERVISOR)):
        raise Refusal(403, "只有质检员和班长/主管能看所有人的反馈；您可以看自己收到的反馈（mine=true）", "wrong_role")
    elif handler is not None:
        query = query.where(QaFeedback.handler == handler)
    if status is not None:
        query = query.where(QaFeedback.status == status)
    rows = session.execute(query).all()
    scores = {
        s.id: s
        for s in session.scalars(select(QaScore).where(QaScore.id.in_([f.score_id for f, _, _ in rows if f.score_id])))
    }
    labels = _item_labels(services)
    return masked_for(
        user.role,
        [
            _feedback_view(f, scores.get(f.score_id) if f.score_id else None, c.call_sid, s.day, labels)
            for f, s, c in rows
        ],
    )


def _feedback(session: Session, feedback_id: int) -> QaFeedback:
    try:
        return qa.get_feedback(session, feedback_id)
    except qa.QaError as exc:
        raise _fail(exc) from None


@router.post(
    "/feedback/{feedback_id}/rectification",
    summary="The handler answers with a rectification (整改)",
    response_model=Feedback,
)
def post_rectification(
    feedback_id: RowId, body: RectificationIn, user: StaffDep, session: SessionDep, services: ServicesDep
) -> dict:
    fb = _feedback(session, feedback_id)
    try:
        qa.rectify(session, fb, fb.handler if handles(user, fb.handler) else handler_id(user), body.text)
    except qa.QaError as exc:
        raise _fail(exc) from None
    session.commit()
    return _feedback_view(fb, session.get(QaScore, fb.score_id) if fb.score_id else None, labels=_item_labels(services))


@router.post(
    "/feedback/{feedback_id}/close", summary="Close feedback the handler has answered", response_model=Feedback
)
def post_close(feedback_id: RowId, user: Inspector, session: SessionDep, services: ServicesDep) -> dict:
    fb = _feedback(session, feedback_id)
    try:
        qa.close_feedback(session, fb, user.username)
    except qa.QaError as exc:
        raise _fail(exc) from None
    session.commit()
    return _feedback_view(fb, session.get(QaScore, fb.score_id) if fb.score_id else None, labels=_item_labels(services))


@router.get(
    "/people",
    summary="Per handler, for sampled days start..end: inspected, average score, critical "
    "failures, feedback, rectified, rectification rate",
    response_model=People,
)
def get_people(
    _user: Inspector,
    session: SessionDep,
    services: ServicesDep,
    start: Annotated[Day | None, Query(description="first sampled day (default: 30 days back)")] = None,
    end: Annotated[Day | None, Query(description="last sampled day (default: yesterday)")] = None,
) -> dict:
    end = end or _yesterday(services)
    start = start or end - timedelta(days=29)
    if start > end:
        raise Refusal(422, f"开始日期 {start} 晚于结束日期 {end}，请调换", "dates_reversed")
    people = [
        {**row, "handler_role_label": role_label(row["handler_role"])} for row in qa.people_figures(session, start, end)
    ]
    return {"start": start.isoformat(), "end": end.isoformat(), "people": people}
