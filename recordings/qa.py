"""Quality inspection after the sample is drawn: scoring (inspection), review, feedback to the handler, their
rectification (整改), closing; calibration between inspectors; and the figures per person.

Three levels (受理—审核—反馈): an inspector scores a sampled call; a second inspector or a supervisor may review
and adjust it (never the same person); feedback goes to the handler, who must answer with a rectification before
an inspector or supervisor closes it. The score that counts is the review's when there is one.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from hotline.db import utcnow
from recordings.qa_tables import QaFeedback, QaSample, QaScore
from recordings.rubrics import Rubric, ScoreError

INSPECTION, REVIEW, CALIBRATION = "inspection", "review", "calibration"
STAGES = (INSPECTION, REVIEW, CALIBRATION)
MAX_COMMENT_CHARS = 2000


class QaError(Exception):
    """A request the inspection workflow cannot take; subclasses say how (the API maps them to 422/409/403/404)."""


class InvalidInput(QaError):
    """Points or comments that do not fit (422)."""


class Conflict(QaError):
    """Not now: the state of the sample or feedback does not allow it (409)."""


class NotAllowed(QaError):
    """Not this person (403)."""


class NotFound(QaError):
    """No such sample or feedback (404)."""


def check_comments(comments: object, duration_s: float | None = None) -> list[dict[str, Any]]:
    """Comments pinned to moments in the call: [{"at_s": 12.5, "channel": 0|1, "text": "..."}]."""
    if comments is None:
        return []
    if not isinstance(comments, list):
        raise InvalidInput("评语格式不对：应为评语列表（时间、声道、内容）")
    checked = []
    for n, c in enumerate(comments, 1):
        if not isinstance(c, dict):
            raise InvalidInput(f"第 {n} 条评语格式不对：应写明时间、声道和内容")
        at_s, channel, text = c.get("at_s"), c.get("channel"), c.get("text")
        if isinstance(at_s, bool) or not isinstance(at_s, (int, float)) or at_s < 0:
            raise InvalidInput(f"第 {n} 条评语的时间须是从通话开始算起的秒数（不小于 0）")
        if duration_s is not None and at_s > duration_s + 1:
            raise InvalidInput(
                f"第 {n} 条评语的时间 {at_s:g} 秒超出通话时长 {duration_s:g} 秒，请在通话时长之内添加评语"
            )
        if channel not in (0, 1) or isinstance(channel, bool):
            raise InvalidInput(f"第 {n} 条评语须指明来电人或坐席")
        if not isinstance(text, str) or not text.strip() or len(text) > MAX_COMMENT_CHARS:
            raise InvalidInput(f"第 {n} 条评语须为 1 到 {MAX_COMMENT_CHARS} 个字")
        checked.append({"at_s": float(at_s), "channel": channel, "text": text.strip()})
    return sorted(checked, key=lambda c: (c["at_s"], c["channel"]))


def get_sample(session: Session, sample_id: int) -> QaSample:
    sample = session.get(QaSample, sample_id)
    if sample is None:
        raise NotFound(f"没有编号为 {sample_id} 的抽样，请回到抽样列表重新选择")
    return sample


def scores_of(session: Session, sample_id: int, stage: str | None = None) -> list[QaScore]:
    query = select(QaScore).where(QaScore.sample_id == sample_id)
    if stage is not None:
        query = query.where(QaScore.stage == stage)
    return list(session.scalars(query.order_by(QaScore.id)))


def effective_score(session: Session, sample_id: int) -> QaScore | None:
    """The score that counts: the latest review if any, else the inspection."""
    scores = scores_of(session, sample_id)
    reviews = [s for s in scores if s.stage == REVIEW]
    if reviews:
        return reviews[-1]
    return next((s for s in scores if s.stage == INSPECTION), None)


def _save(
    session: Session,
    rubric: Rubric,
    sample: QaSample,
    who: str,
    stage: str,
    items: dict[str, Any],
    comments: object,
    duration_s: float | None,
) -> QaScore:
    try:
        scored = rubric.score(items)
    except ScoreError as exc:
        raise InvalidInput(str(exc)) from None
    pinned = check_comments(comments, duration_s)
    row = session.scalar(
        select(QaScore).where(QaScore.sample_id == sample.id, QaScore.inspector == who, QaScore.stage == stage)
    )
    if row is None:
        row = QaScore(sample_id=sample.id, inspector=who, stage=stage)
        session.add(row)
    row.rubric, row.items, row.total = rubric.id, scored.items, scored.total
    row.critical_failed, row.comments = scored.critical_failed, pinned
    session.flush()
    return row


def score_sample(
    session: Session,
    rubric: Rubric,
    sample: QaSample,
    inspector: str,
    items: dict[str, Any],
    comments: object = None,
    *,
    stage: str = INSPECTION,
    duration_s: float | None = None,
) -> QaScore:
    """An inspector scores a sampled call (inspection), or scores it for calibration.

    One inspection per call: its inspector may correct it until it is reviewed; anyone else reviews instead.
    A handler never scores their own call.
    """
    if stage not in (INSPECTION, CALIBRATION):
        raise InvalidInput("只能提交质检或校准评分；调整他人的评分请提交复核")
    if sample.handler is not None and inspector == sample.handler:
        raise NotAllowed("这通电话是您接的，请由他人质检")
    if stage == INSPECTION:
        if sample.status == "closed":
            raise Conflict("该抽样已结案，不能再评分")
        other = [s for s in scores_of(session, sample.id, INSPECTION) if s.inspector != inspector]
        if other:
            raise Conflict(f"{other[0].inspector} 已质检过这通电话，如需调整请提交复核")
        if scores_of(session, sample.id, REVIEW):
            raise Conflict("这通电话已复核，质检评分不能再改")
    row = _save(session, rubric, sample, inspector, stage, items, comments, duration_s)
    if stage == INSPECTION and sample.status == "open":
        sample.status = "scored"
    return row


def review_sample(
    session: Session,
    rubric: Rubric,
    sample: QaSample,
    reviewer: str,
    items: dict[str, Any],
    comments: object = None,
    *,
    duration_s: float | None = None,
) -> QaScore:
    """A second inspector or a supervisor adjusts the inspection; the review's score counts from now on."""
    inspections = scores_of(session, sample.id, INSPECTION)
    if not inspections:
        raise Conflict("这通电话还没有质检评分，无法复核：请先提交质检评分")
    if reviewer == inspections[0].inspector:
        raise NotAllowed("这通电话是您质检的，请由另一位质检员或班长复核")
    if sample.handler is not None and reviewer == sample.handler:
        raise NotAllowed("这通电话是您接的，请由他人复核")
    if sample.status == "closed":
        raise Conflict("该抽样已结案，不能再评分")
    row = _save(session, rubric, sample, reviewer, REVIEW, items, comments, duration_s)
    sample.status = "reviewed"
    return row


def give_feedback(session: Session, sample: QaSample, by: str, message: str) -> QaFeedback:
    """Feedback to the person who handled the call; it stays open until they answer with a rectification."""
    if sample.handler is None:
        raise Conflict("这通电话只经过语音导航，没有经办人可以反馈")
    if not isinstance(message, str) or not message.strip():
        raise InvalidInput("请填写反馈：哪里不对、应当怎样做")
    score = effective_score(session, sample.id)
    if score is None:
        raise Conflict("请先为这通电话评分，再发送反馈")
    feedback = QaFeedback(
        sample_id=sample.id,
        score_id=score.id,
        handler=sample.handler,
        message=message.strip(),
        created_by=by,
        critical=bool(score.critical_failed),
    )
    session.add(feedback)
    session.flush()
    return feedback


def get_feedback(session: Session, feedback_id: int) -> QaFeedback:
    feedback = session.get(QaFeedback, feedback_id)
    if feedback is None:
        raise NotFound(f"没有编号为 {feedback_id} 的反馈")
    return feedback


def rectify(session: Session, feedback: QaFeedback, handler: str, text: str) -> QaFeedback:
    """The handler answers the feedback with what they changed (整改); they may amend it until it is closed."""
    if handler != feedback.handler:
        raise NotAllowed(f"只有这通电话的经办人（{feedback.handler}）才能整改")
    if feedback.status == "closed":
        raise Conflict("该反馈已关闭，不能再整改")
    if not isinstance(text, str) or not text.strip():
        raise InvalidInput("请填写整改情况：改了什么")
    feedback.rectification, feedback.rectified_at, feedback.status = text.strip(), utcnow(), "answered"
    session.flush()
    return feedback


def close_feedback(session: Session, feedback: QaFeedback, by: str) -> QaFeedback:
    """An inspector or supervisor closes answered feedback; the sample closes once all its feedback is closed."""
    if feedback.status == "closed":
        return feedback  # a retried close changes nothing
    if feedback.status != "answered":
        raise Conflict("经办人还没有整改，不能关闭：请等经办人填写整改情况")
    if by == feedback.handler:
        raise NotAllowed("经办人不能关闭自己的反馈")
    feedback.status, feedback.closed_by, feedback.closed_at = "closed", by, utcnow()
    session.flush()
    still_open = session.scalar(
        select(QaFeedback.id).where(QaFeedback.sample_id == feedback.sample_id, QaFeedback.status != "closed").limit(1)
    )
    if still_open is None:
        get_sample(session, feedback.sample_id).status = "closed"
    return feedback


@dataclass(frozen=True)
class Spread:
    n: int
    min: float
    max: float
    stdev: float  # population standard deviation of the scores given

    def to_dict(self) -> dict[str, Any]:
        return {"n": self.n, "min": self.min, "max": self.max, "stdev": self.stdev}


def _spread(values: list[float]) -> Spread:
    return Spread(len(values), min(values), max(values), round(statistics.pstdev(values), 3))


def calibration(session: Session, rubric: Rubric, sample_id: int) -> dict[str, Any]:
    """How far apart the inspectors' calibration scores of one call are: per item and in total."""
    scores = scores_of(session, sample_id, CALIBRATION)
    if not scores:
        return {"sample_id": sample_id, "inspectors": [], "items": {}, "total": None}
    return {
        "sample_id": sample_id,
        "inspectors": [
            {"inspector": s.inspector, "total": s.total, "critical_failed": s.critical_failed} for s in scores
        ],
        "items": {
            item_id: _spread([float(s.items[item_id]) for s in scores if item_id in s.items]).to_dict()
            for item_id in rubric.items
            if any(item_id in s.items for s in scores)
        },
        "total": _spread([s.total for s in scores]).to_dict(),
    }


def people_figures(session: Session, start: date, end: date) -> list[dict[str, Any]]:
    """Per handler, for the samples of days start..end (inclusive): calls inspected, average score, critical
    failures, feedback given, rectified (answered or closed), rectification rate."""
    samples = {
        s.id: s
        for s in session.scalars(
            select(QaSample).where(QaSample.day >= start, QaSample.day <= end, QaSample.handler.is_not(None))
        )
    }
    if not samples:
        return []
    ids = list(samples)
    counted: dict[int, QaScore] = {}
    for score in session.scalars(
        select(QaScore).where(QaScore.sample_id.in_(ids), QaScore.stage.in_((INSPECTION, REVIEW))).order_by(QaScore.id)
    ):
        held = counted.get(score.sample_id)
        if held is None or held.stage == INSPECTION or score.stage == REVIEW:
            counted[score.sample_id] = score  # a review outranks the inspection; the latest review counts
    feedback = list(session.scalars(select(QaFeedback).where(QaFeedback.sample_id.in_(ids))))
    people: dict[str, dict[str, Any]] = {}

    def person(handler: str, role: str | None) -> dict[str, Any]:
        return people.setdefault(
            handler,
            {
                "handler": handler,
                "handler_role": role,
                "calls_inspected": 0,
                "total_points": 0.0,
                "critical_failures": 0,
                "feedback_given": 0,
                "rectified": 0,
            },
        )

    for sample_id, score in counted.items():
        sample = samples[sample_id]
        assert sample.handler is not None  # the samples read above are handled calls only
        row = person(sample.handler, sample.handler_role)
        row["calls_inspected"] += 1
        row["total_points"] += score.total
        row["critical_failures"] += 1 if score.critical_failed else 0
    for fb in feedback:
        row = person(fb.handler, samples[fb.sample_id].handler_role)
        row["feedback_given"] += 1
        row["rectified"] += 1 if fb.status in ("answered", "closed") else 0
    out = []
    for handler in sorted(people):
        row = people[handler]
        points = row.pop("total_points")
        row["average_score"] = round(points / row["calls_inspected"], 2) if row["calls_inspected"] else None
        row["rectification_rate"] = (
            round(row["rectified"] / row["feedback_given"], 4) if row["feedback_given"] else None
        )
        out.append(row)
    return out
