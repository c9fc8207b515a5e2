"""The daily QA sample on a real database (SQLite and PostgreSQL): quotas, special reasons, the local day's
bounds, reproducibility, no call twice, inspectors' capacity, the daily job and `hotline qa sample --json`."""

from __future__ import annotations

import json
import subprocess
import sys
from collections import Counter
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select

from hotline.db import transaction
from recordings.qa_sampling import (
    Quota,
    SamplingConfigError,
    draw_sample,
    load_sampling,
    parse_sampling,
    sample_due,
    store_sample,
)
from recordings.qa_tables import QaSample
from recordings.tables import Call, Recording
from routing.tables import Ticket

TZ = "Asia/Shanghai"
DAY = date(2026, 11, 25)
SH = ZoneInfo(TZ)
BASE = {
    "quota": {"operator": {"count": 2}, "lawyer": {"share": 0.5, "min": 1}},
    "special": {
        "low_satisfaction": ["dissatisfied"],
        "urgent_routes": ["supervisor"],
        "audio_problem_codes": ["no_speech"],
        "short_handled_call_s": 20,
        "long_call_s": 1800,
    },
    "inspector_daily_cap": 50,
}


def config(**changes):
    return parse_sampling({**BASE, **changes})


class Calls:
    """Writes calls (and their tickets, recordings) of known shape."""

    def __init__(self, session) -> None:
        self.session, self.n = session, 0

    def add(
        self,
        sid: str,
        *,
        handler: str | None = None,
        role: str | None = None,
        duration: int | None = 120,
        at: datetime | None = None,
        flags: list | None = None,
        route: str = "dispatcher",
        satisfaction: str | None = None,
        needs_human: str | None = None,  # a PersonReason code
        failed_recording: bool = False,
        ticket: bool = True,
        failed_path: str | None = None,
    ) -> Call:
        self.n += 1
        at = at or datetime(2026, 11, 25, 9, 0, tzinfo=SH) + timedelta(minutes=self.n)
        call = Call(
            call_sid=sid,
            from_number="+8613812341234",
            started_at=at,
            duration_s=duration,
            handler=handler,
            handler_role=role,
            status="completed",
        )
        self.session.add(call)
        self.session.flush()
        if ticket:
            self.session.add(
                Ticket(
                    number=f"12351-{sid}",
                    call_id=call.id,
                    urgency_flags=flags or [],
                    route=route,
                    satisfaction=satisfaction,
                    needs_human=needs_human is not None,
                    needs_human_codes=[needs_human] if needs_human else [],
                )
            )
        if failed_recording:
            self.session.add(
                Recording(recording_sid=f"RE{sid}", call_id=call.id, source="call", status="failed", path=failed_path)
            )
        self.session.flush()
        return call


def day_of_calls(session) -> None:
    """The known day: 5 plain calls of op_a, 1 of op_b, 3 of lawyer L01, and the special ones."""
    calls = Calls(session)
    for i in range(5):
        calls.add(f"CA-a{i}", handler="op_a", role="operator")
    calls.add("CA-b0", handler="op_b", role="operator")
    for i in range(3):
        calls.add(f"CA-l{i}", handler="L01", role="lawyer")
    calls.add("CA-ivr-urgent", flags=["mass"])  # urgent, no handler
    calls.add("CA-ivr-plain")  # never picked: no handler, nothing special
    calls.add("CA-ivr-short", duration=8)  # short, but nobody handled it: not picked
    calls.add("CA-a-unhappy", handler="op_a", role="operator", satisfaction="dissatisfied")
    calls.add("CA-b-short", handler="op_b", role="operator", duration=10)
    calls.add(
        "CA-long", handler="op_b", role="operator", duration=2000, route="supervisor", satisfaction="dissatisfied"
    )
    calls.add("CA-failed-rec", handler="L01", role="lawyer", failed_recording=True)  # never downloaded
    calls.add("CA-failed-asr", failed_recording=True, failed_path="2026/11/25/CA-failed-asr.wav")  # stored, not heard
    calls.add("CA-no-speech", needs_human="no_speech")
    calls.add("CA-no-ticket", handler="op_a", role="operator", ticket=False, duration=None)
    # The local day's edges: 00:00 belongs to it, 23:59:59 too; the minute before and midnight after do not.
    calls.add("CA-first", at=datetime(2026, 11, 25, 0, 0, tzinfo=SH), flags=["danger"])
    calls.add("CA-last", at=datetime(2026, 11, 25, 23, 59, 59, tzinfo=SH), flags=["danger"])
    calls.add("CA-before", at=datetime(2026, 11, 24, 23, 59, tzinfo=SH), flags=["danger"])
    calls.add("CA-after", at=datetime(2026, 11, 26, 0, 0, tzinfo=SH), flags=["danger"])


def picks_by_sid(result) -> dict:
    return {p.call_sid: p for p in result.picks}


def test_quota_and_special_reasons_on_a_known_day(migrated):
    with transaction(migrated) as session:
        day_of_calls(session)
        result = draw_sample(session, DAY, config(), tz=TZ, inspectors=["insp1", "insp2"])
    picks = picks_by_sid(result)
    special = {sid: (p.reason, p.reasons) for sid, p in picks.items() if p.reason != "quota"}
    assert special == {
        "CA-ivr-urgent": ("urgent", ["urgent"]),
        "CA-a-unhappy": ("low_satisfaction", ["low_satisfaction"]),
        "CA-b-short": ("short_call", ["short_call"]),
        "CA-long": ("urgent", ["urgent", "low_satisfaction", "long_call"]),
        "CA-failed-rec": ("download_failed", ["download_failed"]),
        "CA-failed-asr": ("failed_transcription", ["failed_transcription"]),
        "CA-no-speech": ("failed_transcription", ["failed_transcription"]),
        "CA-first": ("urgent", ["urgent"]),
        "CA-last": ("urgent", ["urgent"]),
    }
    # Quota from each handler's calls that were not picked for a special reason:
    # op_a: count 2 of its 6 plain calls (5 + the one without ticket); op_b: count 2 but only 1 plain call;
    # L01: share 0.5 of 3 plain calls = ceil(1.5) = 2.
    quota = [p for p in picks.values() if p.reason == "quota"]
    assert Counter(p.handler for p in quota) == {"op_a": 2, "op_b": 1, "L01": 2}
    assert all(p.reasons == ["quota"] for p in quota)
    plain = {
        "op_a": {f"CA-a{i}" for i in range(5)} | {"CA-no-ticket"},
        "op_b": {"CA-b0"},
        "L01": {f"CA-l{i}" for i in range(3)},
    }
    assert all(p.call_sid in plain[p.handler] for p in quota)
    assert len(result.picks) == 9 + 5 and result.dropped == 0 and result.unassigned == 0
    assert result.candidates == 21  # the day's calls (CA-before and CA-after are other days)
    assert {"CA-ivr-plain", "CA-ivr-short", "CA-before", "CA-after"}.isdisjoint(picks)
    # Round-robin over two inspectors: 14 picks split 7 / 7.
    assert sorted(Counter(p.inspector for p in result.picks).values()) == [7, 7]


def test_same_day_seed_and_data_give_the_same_picks_and_a_day_is_sampled_once(migrated):
    with transaction(migrated) as session:
        day_of_calls(session)
    cfg = config(quota={"operator": {"count": 3}, "lawyer": {"count": 2}})
    with migrated() as session:
        first = draw_sample(session, DAY, cfg, tz=TZ, inspectors=["i1", "i2", "i3"], seed=7)
        again = draw_sample(session, DAY, cfg, tz=TZ, inspectors=["i3", "i1", "i2"], seed=7)
    assert [p.to_dict() for p in first.picks] == [p.to_dict() for p in again.picks]
    with transaction(migrated) as session:
        assert store_sample(session, first) == len(first.picks)
    with transaction(migrated) as session:
        Calls(session).add("CA-late-urgent", flags=["danger"])  # arrives after the day was sampled
        rerun = draw_sample(session, DAY, cfg, tz=TZ, inspectors=["i1"], seed=99)
        assert rerun.existing and store_sample(session, rerun) == 0
        assert {p.call_sid for p in rerun.picks} == {p.call_sid for p in first.picks}
        assert [(p.reason, p.inspector) for p in rerun.picks] == [(p.reason, p.inspector) for p in first.picks]
        assert rerun.seed == 7
        assert session.scalar(select(func.count()).select_from(QaSample)) == len(first.picks)


def test_a_call_sampled_before_never_comes_back(migrated):
    with transaction(migrated) as session:
        calls = Calls(session)
        urgent = calls.add("CA-urgent", flags=["danger"])
        calls.add("CA-other", flags=["danger"])
        # Sampled on another run (say, when the day was drawn under another time zone setting).
        session.add(QaSample(call_id=urgent.id, day=date(2026, 11, 24), reason="urgent", reasons=["urgent"]))
    with transaction(migrated) as session:
        result = draw_sample(session, DAY, config(), tz=TZ, inspectors=[])
        assert [p.call_sid for p in result.picks] == ["CA-other"]
        store_sample(session, result)


def test_capacity_keeps_mandatory_picks_unassigned_and_drops_quota_picks(migrated):
    with transaction(migrated) as session:
        calls = Calls(session)
        calls.add("CA-u1", handler="op_a", role="operator", flags=["danger"])
        calls.add("CA-u2", handler="insp", role="supervisor", flags=["mass"])
        calls.add("CA-s1", handler="op_a", role="operator", satisfaction="dissatisfied")
        calls.add("CA-short", handler="op_a", role="operator", duration=5)
        for i in range(4):
            calls.add(f"CA-q{i}", handler="op_b", role="operator")
        result = draw_sample(
            session, DAY, config(inspector_daily_cap=2, quota={"operator": {"count": 3}}), tz=TZ, inspectors=["insp"]
        )
    got = {p.call_sid: p.inspector for p in result.picks}
    # One inspector with room for 2. Mandatory first, in priority order (urgent, then low satisfaction):
    # CA-u1 → insp; CA-u2 was handled by insp (as a supervisor) so never theirs: unassigned; CA-s1 → insp.
    # Then the capacity is spent: CA-short (not mandatory) and the 3 quota picks of op_b are dropped.
    assert got == {"CA-u1": "insp", "CA-u2": None, "CA-s1": "insp"}
    assert result.unassigned == 1 and result.dropped == 1 + 3


def test_quota_share_minimum_and_maximum():
    assert Quota(share=0.1, min=2).calls_for(50) == 5  # ceil(5.0)
    assert Quota(share=0.1, min=2).calls_for(11) == 2  # ceil(1.1) = 2
    assert Quota(share=0.1, min=2).calls_for(5) == 2  # the minimum
    assert Quota(share=0.1, min=2).calls_for(1) == 1  # never more than there are
    assert Quota(share=0.5, min=1, max=3).calls_for(20) == 3
    assert Quota(count=4).calls_for(9) == 4


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"quota": {"operator": {"count": 2, "share": 0.1}}}, "quota.operator: give either count or share"),
        ({"quota": {"lawyer": {"share": 1.5}}}, "quota.lawyer.share: must be at most 1, not 1.5"),
        ({"quota": {"lawyer": {"count": 2, "every": 3}}}, "quota.lawyer.every: not a key here"),
        ({"quota": {"lawyer": {"share": 0.1, "min": 3, "max": 2}}}, "quota.lawyer.max: must be at least min (3)"),
        ({"inspector_daily_cap": 0}, "inspector_daily_cap: must be at least 1, not 0"),
        ({"mandatory": ["quota"]}, "mandatory[1]: quota is not a special reason"),
        ({"priority": ["urgent", "quota"]}, "priority: must list each reason once"),
        ({"run_after": "six"}, "run_after: must be a time of day like \"09:00\", not 'six'"),
        ({"special": {"long_call_s": "long"}}, "special.long_call_s: must be a whole number, not 'long'"),
    ],
)
def test_bad_sampling_settings_are_named(changes, message):
    with pytest.raises(SamplingConfigError) as exc:
        parse_sampling({**BASE, **changes})
    assert message in str(exc.value)


def test_shipped_sampling_file_loads():
    shipped = load_sampling()
    assert shipped.quota["operator"] == Quota(share=0.1, min=2)
    assert "urgent" in shipped.mandatory and shipped.run_after.hour == 6


def test_daily_job_samples_yesterday_once_after_the_hour(migrated):
    with transaction(migrated) as session:
        Calls(session).add("CA-urgent", flags=["danger"])
    cfg = config()
    early = datetime(2026, 11, 26, 5, 59, tzinfo=SH).astimezone(UTC)
    assert sample_due(migrated, cfg, early, TZ) is None
    with migrated() as session:
        assert session.scalar(select(func.count()).select_from(QaSample)) == 0
    due = sample_due(migrated, cfg, datetime(2026, 11, 26, 6, 1, tzinfo=SH).astimezone(UTC), TZ)
    assert due is not None and due.day == DAY and [p.call_sid for p in due.picks] == ["CA-urgent"]
    assert sample_due(migrated, cfg, datetime(2026, 11, 26, 9, 0, tzinfo=SH).astimezone(UTC), TZ) is None
    with migrated() as session:
        assert session.scalars(select(QaSample.day)).all() == [DAY]


def test_daily_job_logs_a_day_without_calls_once_not_every_round(migrated, caplog):
    cfg, empty_days = config(), set()
    rounds = [datetime(2026, 11, 26, 6, m, tzinfo=SH).astimezone(UTC) for m in (1, 6, 11)]  # every 5 minutes
    with caplog.at_level("INFO", logger="recordings.qa_sampling"):
        results = [sample_due(migrated, cfg, now, TZ, empty_days) for now in rounds]
    assert results[0] is not None and results[0].picks == [] and results[1:] == [None, None]
    logged = [r.getMessage() for r in caplog.records if r.getMessage().startswith("QA sample of")]
    assert logged == [f"QA sample of {DAY}: 0 calls (0 dropped beyond capacity, 0 mandatory unassigned)"]


def test_cli_samples_a_day_and_prints_json(tmp_path):
    from hotline.db import make_engine, make_session_factory
    from hotline.migrate import upgrade

    url = f"sqlite:///{tmp_path / 'hotline.db'}"
    engine = make_engine(url)
    upgrade(engine)
    with transaction(make_session_factory(engine)) as session:
        calls = Calls(session)
        calls.add("CA-urgent", handler="op_a", role="operator", flags=["danger"])
        calls.add("CA-plain", handler="op_a", role="operator")
    engine.dispose()
    env = {"HOTLINE_DATABASE_URL": url, "HOTLINE_VAR_DIR": str(tmp_path), "PATH": "/usr/bin:/bin"}

    def run(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            [sys.executable, "-m", "cli", "qa", "sample", *args],
            capture_output=True,
            text=True,
            env=env,
            cwd=tmp_path,
            timeout=120,
        )

    done = run("--date", "2026-11-25", "--json")
    assert done.returncode == 0, done.stderr
    picks = json.loads(done.stdout)
    # The shipped settings: every urgent call, and an operator's quota of max(2, 10 %) → their one plain call.
    assert sorted((p["call_sid"], p["handler"], p["reason"]) for p in picks) == [
        ("CA-plain", "op_a", "quota"),
        ("CA-urgent", "op_a", "urgent"),
    ]
    assert all(p["day"] == "2026-11-25" and p["inspector"] is None for p in picks)
    again = run("--date", "2026-11-25")
    assert again.returncode == 0 and "sampled before" in again.stdout and "CA-urgent" in again.stdout
    bad = run("--date", "25/11/2026")
    assert bad.returncode == 2 and "YYYY-MM-DD" in bad.stdout
