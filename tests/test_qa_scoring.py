"""Rubric, scoring, review, feedback and rectification, calibration and the figures per person, on a real
database, against values computed by hand."""

from __future__ import annotations

from datetime import date

import pytest

from hotline.db import transaction
from recordings.qa import (
    CALIBRATION,
    Conflict,
    InvalidInput,
    NotAllowed,
    calibration,
    close_feedback,
    give_feedback,
    people_figures,
    rectify,
    review_sample,
    score_sample,
)
from recordings.qa_tables import QaSample
from recordings.rubrics import RubricError, ScoreError, load_rubric, parse_rubric
from recordings.tables import Call

RUBRIC = load_rubric()
FULL = {item_id: item.max for item_id, item in RUBRIC.items.items()}  # 100 points


def points(**changes: float) -> dict:
    return {**FULL, **changes}


SMALL = {
    "id": "small",
    "name": "小表",
    "total": 20,
    "sections": [
        {
            "id": "a",
            "label": "甲",
            "items": [
                {"id": "notice", "label": "告知录音", "max": 5, "critical": {"on_fail": "zero"}},
                {"id": "manner", "label": "态度", "max": 10, "critical": {"on_fail": "cap", "cap": 6, "fail_below": 4}},
                {"id": "facts", "label": "问清事实", "max": 5},
            ],
        }
    ],
}


def test_shipped_rubric_adds_up_and_names_its_critical_items():
    assert RUBRIC.total == 100 and sum(FULL.values()) == 100
    critical = {i.id for i in RUBRIC.items.values() if i.critical}
    assert critical == {"recording_notice", "attitude", "privacy"}
    assert RUBRIC.items["recording_notice"].label == "告知来电人通话录音"


def test_points_are_totalled_and_critical_failures_apply():
    rubric = parse_rubric(SMALL)
    ok = rubric.score({"notice": 5, "manner": 7.5, "facts": 3})
    assert (ok.total, ok.critical_failed) == (15.5, [])
    no_notice = rubric.score({"notice": 0, "manner": 10, "facts": 5})  # 未告知录音: the score is 0
    assert (no_notice.raw_total, no_notice.total, no_notice.critical_failed) == (15, 0, ["notice"])
    rude = rubric.score({"notice": 5, "manner": 3, "facts": 5})  # below 4 of 10: the score is capped at 6
    assert (rude.raw_total, rude.total, rude.critical_failed) == (13, 6, ["manner"])
    # Shipped rubric: attitude fails below 3 of 10; 2 points there is 态度恶劣 and the call scores 0.
    assert RUBRIC.score(points(attitude=3, key_facts=10)).total == 88
    assert RUBRIC.score(points(attitude=2)).total == 0


@pytest.mark.parametrize(
    ("given", "message"),
    [
        ({"notice": 6, "manner": 10, "facts": 5}, "「告知录音」的分数须在 0 到 5 之间（填的是 6）"),
        ({"notice": 5, "manner": 10, "facts": 5, "smile": 1}, "评分表里没有这些项：smile"),
        ({"notice": 5, "manner": 10}, "请为每一项评分，未评：问清事实"),
        ({"notice": 5, "manner": "ten", "facts": 5}, "「态度」须填数字"),
        ({"notice": -1, "manner": 10, "facts": 5}, "「告知录音」的分数须在 0 到 5 之间（填的是 -1）"),
    ],
)
def test_bad_points_are_refused_with_the_item_named(given, message):
    with pytest.raises(ScoreError) as exc:
        parse_rubric(SMALL).score(given)
    assert message in str(exc.value)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            lambda d: d["sections"][0]["items"].append({"id": "notice", "label": "x", "max": 1}),
            "rubric data: sections[a].items[notice]: the id is used twice",
        ),
        (
            lambda d: d["sections"][0]["items"].append({"id": "notice2", "label": "x", "max": 0}),
            "rubric data: sections[a].items[notice2].max: must be more than 0, not 0",
        ),
        (lambda d: d["sections"][0]["items"][2].update(max=-5), "sections[a].items[facts].max: must be more than 0"),
        (lambda d: d["sections"][0]["items"][2].update(max="five"), "sections[a].items[facts].max: must be a number"),
        (lambda d: d.update(total=25), "total: the items' max points add up to 20, not the total 25"),
        (
            lambda d: d["sections"][0]["items"][0].update(critical={"on_fail": "halve"}),
            "sections[a].items[notice].critical.on_fail: must be 'zero' or 'cap', not 'halve'",
        ),
        (
            lambda d: d["sections"][0]["items"][1].update(critical={"on_fail": "cap"}),
            "sections[a].items[manner].critical.cap: on_fail cap needs cap",
        ),
        (lambda d: d["sections"][0]["items"][2].pop("label"), "sections[a].items[facts].label: missing"),
        (
            lambda d: d["sections"][0]["items"][2].update(weight=2),
            "sections[a].items[facts].weight: not a key here; the keys are id, label, max, critical",
        ),
    ],
)
def test_bad_rubric_files_name_the_item(change, message):
    import copy

    data = copy.deepcopy(SMALL)
    change(data)
    with pytest.raises(RubricError) as exc:
        parse_rubric(data)
    assert message in str(exc.value)


def _samples(session, specs: list[tuple[str, str | None, str | None, date]]) -> list[QaSample]:
    out = []
    for sid, handler, role, day in specs:
        call = Call(call_sid=sid, handler=handler, handler_role=role, duration_s=300)
        session.add(call)
        session.flush()
        sample = QaSample(
            call_id=call.id,
            day=day,
            handler=handler,
            handler_role=role,
            reason="quota",
            reasons=["quota"],
            inspector="insp1",
        )
        session.add(sample)
        out.append(sample)
    session.flush()
    return out


def test_inspection_review_feedback_rectification_and_close(migrated):
    with transaction(migrated) as session:
        (sample,) = _samples(session, [("CA1", "op_a", "operator", date(2026, 11, 25))])
        with pytest.raises(NotAllowed, match="这通电话是您接的"):
            score_sample(session, RUBRIC, sample, "op_a", FULL)
        with pytest.raises(Conflict, match="还没有质检评分"):
            review_sample(session, RUBRIC, sample, "sup", FULL)
        with pytest.raises(Conflict, match="请先为这通电话评分"):
            give_feedback(session, sample, "insp1", "请告知录音")
        comment = {"at_s": 12.5, "channel": 1, "text": "没有告知录音"}
        first = score_sample(session, RUBRIC, sample, "insp1", points(recording_notice=0), [comment], duration_s=300)
        assert (first.total, first.critical_failed, sample.status) == (0, ["recording_notice"], "scored")
        assert first.comments == [comment]
        with pytest.raises(InvalidInput, match="超出通话时长"):
            score_sample(
                session, RUBRIC, sample, "insp1", FULL, [{"at_s": 400, "channel": 0, "text": "x"}], duration_s=300
            )
        with pytest.raises(InvalidInput, match="须指明来电人或坐席"):
            score_sample(session, RUBRIC, sample, "insp1", FULL, [{"at_s": 4, "channel": 2, "text": "x"}])
        with pytest.raises(Conflict, match="insp1 已质检过这通电话"):
            score_sample(session, RUBRIC, sample, "insp2", FULL)
        with pytest.raises(NotAllowed, match="这通电话是您质检的"):
            review_sample(session, RUBRIC, sample, "insp1", FULL)
        # The supervisor hears the notice was given after all, but the facts were thin: 100 - 5 = 95.
        review = review_sample(session, RUBRIC, sample, "sup", points(key_facts=10))
        assert (review.total, review.critical_failed, sample.status) == (95, [], "reviewed")
        with pytest.raises(Conflict, match="已复核"):
            score_sample(session, RUBRIC, sample, "insp1", FULL)
        feedback = give_feedback(session, sample, "sup", "问清欠薪人数和金额")
        assert (feedback.handler, feedback.score_id, feedback.critical) == ("op_a", review.id, False)
        with pytest.raises(Conflict, match="经办人还没有整改"):
            close_feedback(session, feedback, "sup")
        with pytest.raises(NotAllowed, match="只有这通电话的经办人（op_a）才能整改"):
            rectify(session, feedback, "op_b", "已整改")
        rectify(session, feedback, "op_a", "已学习受理要点，今后逐项询问")
        assert feedback.status == "answered" and feedback.rectified_at is not None
        with pytest.raises(NotAllowed, match="不能关闭自己的反馈"):
            close_feedback(session, feedback, "op_a")
        close_feedback(session, feedback, "insp1")
        assert (feedback.status, feedback.closed_by, sample.status) == ("closed", "insp1", "closed")
        assert close_feedback(session, feedback, "insp1").status == "closed"  # a retried close is harmless
        with pytest.raises(Conflict, match="该反馈已关闭"):
            rectify(session, feedback, "op_a", "再改")


def test_calibration_spread_per_item_and_total(migrated):
    with transaction(migrated) as session:
        (sample,) = _samples(session, [("CA1", "op_a", "operator", date(2026, 11, 25))])
        score_sample(session, RUBRIC, sample, "i1", points(key_facts=15, accuracy=15), stage=CALIBRATION)
        score_sample(session, RUBRIC, sample, "i2", points(key_facts=10, accuracy=12), stage=CALIBRATION)
        score_sample(session, RUBRIC, sample, "i3", points(key_facts=5, accuracy=15), stage=CALIBRATION)
        assert sample.status == "open"  # calibration does not inspect the call
        spread = calibration(session, RUBRIC, sample.id)
    # key_facts 15, 10, 5: mean 10, population variance (25 + 0 + 25) / 3 = 16.667, stdev 4.082.
    assert spread["items"]["key_facts"] == {"n": 3, "min": 5, "max": 15, "stdev": 4.082}
    # accuracy 15, 12, 15: mean 14, variance (1 + 4 + 1) / 3 = 2, stdev 1.414.
    assert spread["items"]["accuracy"] == {"n": 3, "min": 12, "max": 15, "stdev": 1.414}
    assert spread["items"]["greeting"] == {"n": 3, "min": 5, "max": 5, "stdev": 0.0}
    # Totals 100, 92, 90: mean 94, variance (36 + 4 + 16) / 3 = 18.667, stdev 4.320.
    assert spread["total"] == {"n": 3, "min": 90, "max": 100, "stdev": 4.32}
    assert [i["inspector"] for i in spread["inspectors"]] == ["i1", "i2", "i3"]


def test_figures_per_person_match_hand_counts(migrated):
    nov25, nov26, dec1 = date(2026, 11, 25), date(2026, 11, 26), date(2026, 12, 1)
    with transaction(migrated) as session:
        a1, a2, a3, b1, b2, ivr, late = _samples(
            session,
            [
                ("CA1", "op_a", "operator", nov25),
                ("CA2", "op_a", "operator", nov25),
                ("CA3", "op_a", "operator", nov26),
                ("CB1", "L01", "lawyer", nov25),
                ("CB2", "L01", "lawyer", nov26),
                ("CIVR", None, None, nov25),
                ("CLATE", "op_a", "operator", dec1),
            ],
        )
        score_sample(session, RUBRIC, a1, "i1", points(key_facts=5))  # 90
        score_sample(session, RUBRIC, a2, "i1", points(recording_notice=0))  # 0, critical
        review_sample(session, RUBRIC, a2, "sup", points(recording_notice=0, greeting=0))  # still 0, critical
        score_sample(session, RUBRIC, a3, "i2", points(accuracy=10))  # 95 ... reviewed to 80
        review_sample(session, RUBRIC, a3, "sup", points(accuracy=0, closing=0))
        score_sample(session, RUBRIC, b1, "i1", FULL)  # 100
        score_sample(session, RUBRIC, b2, "i2", points(privacy=0))  # 0, critical
        score_sample(session, RUBRIC, ivr, "i1", FULL)  # no handler: not a person's figure
        score_sample(session, RUBRIC, late, "i1", points(greeting=0))  # outside the period
        f1 = give_feedback(session, a2, "sup", "必须告知录音")
        give_feedback(session, a3, "sup", "政策解答要准确")
        f3 = give_feedback(session, b2, "i2", "不得泄露来电人信息")
        rectify(session, f1, "op_a", "已改")
        rectify(session, f3, "L01", "已学习保密制度")
        close_feedback(session, f3, "i2")
        score_sample(session, RUBRIC, b1, "i3", points(greeting=0), stage=CALIBRATION)  # not counted
        figures = people_figures(session, nov25, nov26)
    assert figures == [
        # L01: (100 + 0) / 2 = 50; one critical; one feedback, rectified: rate 1.0
        {
            "handler": "L01",
            "handler_role": "lawyer",
            "calls_inspected": 2,
            "critical_failures": 1,
            "feedback_given": 1,
            "rectified": 1,
            "average_score": 50.0,
            "rectification_rate": 1.0,
        },
        # op_a: (90 + 0 + 80) / 3 = 56.67 (the reviews count); one critical; 2 feedback, 1 rectified: 0.5
        {
            "handler": "op_a",
            "handler_role": "operator",
            "calls_inspected": 3,
            "critical_failures": 1,
            "feedback_given": 2,
            "rectified": 1,
            "average_score": 56.67,
            "rectification_rate": 0.5,
        },
    ]
