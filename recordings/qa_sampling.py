"""The daily quality-inspection sample (每日抽检): which of a day's calls inspectors listen to, why, and who.

A quota per handler (random, seeded) plus every call that must be heard (urgent, low satisfaction, failed
transcription, unusually short or long). The candidates are read with one range query on `calls.started_at`
(indexed) joined to their ticket, so a day is sampled in milliseconds even in a table of millions of calls.
"""

from __future__ import annotations

import logging
import math
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Any, Literal, Protocol
from zoneinfo import ZoneInfo

from pydantic import Field, field_validator, model_validator
from sqlalchemy import exists, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from hotline.data_files import Clock, DataFileError, DataModel, Wrong, check, load_yaml
from recordings.qa_tables import QaSample
from recordings.tables import Call, Recording
from routing.person_reasons import PersonReason
from routing.tables import Ticket

log = logging.getLogger(__name__)

URGENT, LOW_SATISFACTION, FAILED_TRANSCRIPTION = "urgent", "low_satisfaction", "failed_transcription"
DOWNLOAD_FAILED = "download_failed"
SHORT_CALL, LONG_CALL, QUOTA = "short_call", "long_call", "quota"
REASONS = (URGENT, LOW_SATISFACTION, DOWNLOAD_FAILED, FAILED_TRANSCRIPTION, SHORT_CALL, LONG_CALL, QUOTA)
# What inspectors read for each reason code (the codes stay in the API and the database).
REASON_LABELS = {
    URGENT: "紧急",
    LOW_SATISFACTION: "回访不满意",
    DOWNLOAD_FAILED: "录音下载失败",
    FAILED_TRANSCRIPTION: "转写失败",
    SHORT_CALL: "通话过短",
    LONG_CALL: "通话过长",
    QUOTA: "抽样配额",
}
DEFAULT_ROLE = "default"


def reason_label(reason: str) -> str:
    """A sampling reason as inspectors read it (the code itself when it has no label)."""
    return REASON_LABELS.get(reason, reason)


class SamplingConfigError(DataFileError):
    """The sampling file is wrong; the message names the setting and what to fix."""


@dataclass(frozen=True)
class Quota:
    """How many of one person's calls are drawn: `count`, or `share` of them with a `min` (and a `max`)."""

    count: int | None = None
    share: float | None = None
    min: int = 0
    max: int | None = None

    def calls_for(self, available: int) -> int:
        if self.count is not None:
            wanted = self.count
        else:
            wanted = max(self.min, math.ceil((self.share or 0.0) * available))
            if self.max is not None:
                wanted = min(wanted, self.max)
        return min(wanted, available)


@dataclass(frozen=True)
class SamplingConfig:
    """Everything the daily sample depends on besides the data (recordings/data/qa.yaml)."""

    quota: dict[str, Quota]
    low_satisfaction: tuple[str, ...] = ("dissatisfied",)
    urgent_routes: tuple[str, ...] = ("supervisor",)
    audio_problem_codes: tuple[str, ...] = ("no_speech",)
    short_handled_call_s: int = 20
    long_call_s: int = 1800
    priority: tuple[str, ...] = REASONS
    mandatory: tuple[str, ...] = (URGENT, LOW_SATISFACTION)
    inspector_daily_cap: int = 25
    run_after: time = time(6, 0)
    seed: int = 0

    def quota_for(self, role: str | None) -> Quota | None:
        return self.quota.get(role or DEFAULT_ROLE) or self.quota.get(DEFAULT_ROLE)


Reason = Literal[
    "urgent", "low_satisfaction", "download_failed", "failed_transcription", "short_call", "long_call", "quota"
]
Whole = Annotated[int, Field(ge=0)]


class _Quota(DataModel):
    count: Whole | None = None
    share: Annotated[float, Field(gt=0, le=1)] | None = None  # a fraction of the person's calls
    min: Whole = 0
    max: Whole | None = None

    @model_validator(mode="after")
    def _count_or_share(self) -> _Quota:
        if (self.count is None) == (self.share is None):
            raise Wrong("give either count or share, not both or neither, e.g. {count: 3} or {share: 0.1, min: 2}")
        if self.max is not None and self.max < self.min:
            raise Wrong(f"must be at least min ({self.min}), not {self.max}", "max")
        return self


class _Special(DataModel):
    low_satisfaction: tuple[str, ...] = ("dissatisfied",)
    urgent_routes: tuple[str, ...] = ("supervisor",)
    audio_problem_codes: tuple[PersonReason, ...] = ()
    short_handled_call_s: Whole = 20
    long_call_s: Whole = 1800


class SamplingFile(DataModel):
    """The sampling file (recordings/data/qa.yaml) as written."""

    run_after: Clock = time(6, 0)
    seed: int = 0
    quota: dict[str, _Quota]
    special: _Special = _Special()
    priority: tuple[Reason, ...] | None = None  # empty: the order of REASONS
    mandatory: tuple[Reason, ...] | None = None  # empty: urgent and low_satisfaction
    inspector_daily_cap: Annotated[int, Field(ge=1)] = 25

    @field_validator("quota")
    @classmethod
    def _some_role(cls, quota: dict[str, _Quota]) -> dict[str, _Quota]:
        if not quota:
            raise Wrong("give at least one role, e.g. operator: {count: 3}")
        return quota

    @field_validator("priority")
    @classmethod
    def _each_reason_once(cls, priority: tuple[str, ...] | None) -> tuple[str, ...] | None:
        if priority and sorted(priority) != sorted(REASONS):
            raise Wrong(f"must list each reason once: {', '.join(REASONS)}")
        return priority

    @field_validator("mandatory")
    @classmethod
    def _special_reasons(cls, mandatory: tuple[str, ...] | None) -> tuple[str, ...] | None:
        for n, reason in enumerate(mandatory or ()):
            if reason == QUOTA:
                raise Wrong("quota is not a special reason: only special reasons can be mandatory", n)
        return mandatory

    def config(self) -> SamplingConfig:
        """The sampling configuration this file describes."""
        special = self.special
        return SamplingConfig(
            quota={role: Quota(count=q.count, share=q.share, min=q.min, max=q.max) for role, q in self.quota.items()},
            low_satisfaction=special.low_satisfaction,
            urgent_routes=special.urgent_routes,
            audio_problem_codes=tuple(code.value for code in special.audio_problem_codes),
            short_handled_call_s=special.short_handled_call_s,
            long_call_s=special.long_call_s,
            priority=self.priority or REASONS,
            mandatory=self.mandatory or (URGENT, LOW_SATISFACTION),
            inspector_daily_cap=self.inspector_daily_cap,
            run_after=self.run_after,
            seed=self.seed,
        )


def parse_sampling(data: object, file: str = "sampling data") -> SamplingConfig:
    """A sampling configuration from the parsed YAML (`file` names it in errors), checked."""
    return check(SamplingFile, data, file, SamplingConfigError).config()


@lru_cache(maxsize=4)
def load_sampling(path: Path | None = None) -> SamplingConfig:
    """The sampling file (default: the shipped recordings/data/qa.yaml)."""
    return load_yaml(SamplingFile, path, ("recordings.data", "qa.yaml"), SamplingConfigError).config()


@dataclass
class Pick:
    """One sampled call, why it was picked, and the inspector it went to (None: nobody had room)."""

    call_id: int
    call_sid: str
    handler: str | None
    handler_role: str | None
    reason: str
    reasons: list[str]
    inspector: str | None
    day: date

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON for the API and the command line."""
        return {
            "call_sid": self.call_sid,
            "handler": self.handler,
            "handler_role": self.handler_role,
            "reason": self.reason,
            "reasons": list(self.reasons),
            "inspector": self.inspector,
            "day": self.day.isoformat(),
        }


@dataclass
class SampleResult:
    """A day's sample: the picks, and what did not fit in the inspectors' capacity."""

    day: date
    seed: int
    picks: list[Pick] = field(default_factory=list)
    candidates: int = 0  # calls of the day not sampled before
    dropped: int = 0  # quota (or non-mandatory) picks beyond capacity, left out
    unassigned: int = 0  # mandatory picks beyond capacity: kept, for whoever has time
    existing: bool = False  # the day had been sampled already: these are the stored picks


def day_bounds(day: date, tz: str) -> tuple[datetime, datetime]:
    """[start, end) of a local day, as aware datetimes (compared in UTC by the database)."""
    zone = ZoneInfo(tz)
    return datetime.combine(day, time(0), zone), datetime.combine(day + timedelta(days=1), time(0), zone)


def existing_sample(session: Session, day: date) -> SampleResult | None:
    """The stored sample of a day, or None if it was never drawn."""
    rows = session.execute(
        select(QaSample, Call.call_sid)
        .join(Call, Call.id == QaSample.call_id)
        .where(QaSample.day == day)
        .order_by(QaSample.id)
    ).all()
    if not rows:
        return None
    picks = [
        Pick(s.call_id, sid, s.handler, s.handler_role, s.reason, list(s.reasons or []), s.inspector, s.day)
        for s, sid in rows
    ]
    return SampleResult(day, rows[0][0].seed, picks, existing=True)


@dataclass(frozen=True)
class _Candidate:
    id: int
    sid: str
    handler: str | None
    role: str | None
    reasons: tuple[str, ...]


class _CallFacts(Protocol):
    """What `_special_reasons` reads of a call: a row of `_candidates`' query (the ticket's columns are None for
    a call without one: an outer join)."""

    @property
    def urgency_flags(self) -> list[str] | None: ...
    @property
    def route(self) -> str | None: ...
    @property
    def satisfaction(self) -> str | None: ...
    @property
    def needs_human(self) -> bool | None: ...
    @property
    def needs_human_codes(self) -> list[str] | None: ...
    @property
    def failed_download(self) -> bool: ...
    @property
    def failed_transcription(self) -> bool: ...
    @property
    def duration_s(self) -> int | None: ...
    @property
    def handler(self) -> str | None: ...


def _special_reasons(row: _CallFacts, config: SamplingConfig) -> list[str]:
    found = []
    if row.urgency_flags or (row.route is not None and row.route in config.urgent_routes):
        found.append(URGENT)
    if row.satisfaction is not None and row.satisfaction in config.low_satisfaction:
        found.append(LOW_SATISFACTION)
    codes = (row.needs_human_codes or []) if row.needs_human else []
    if row.failed_download:
        found.append(DOWNLOAD_FAILED)
    if row.failed_transcription or any(code in config.audio_problem_codes for code in codes):
        found.append(FAILED_TRANSCRIPTION)
    if row.duration_s is not None:
        if row.handler is not None and row.duration_s < config.short_handled_call_s:
            found.append(SHORT_CALL)
        if row.duration_s > config.long_call_s:
            found.append(LONG_CALL)
    return found


def _candidates(session: Session, day: date, tz: str, config: SamplingConfig) -> list[_Candidate]:
    """The day's calls never sampled before, with their special reasons: one query, by the started_at index."""
    start, end = day_bounds(day, tz)
    # A failed recording never stored (no path) is a failed download; a stored one failed in transcription.
    failed = (Recording.call_id == Call.id, Recording.status == "failed")
    failed_download = exists().where(*failed, Recording.path.is_(None))
    failed_transcription = exists().where(*failed, Recording.path.is_not(None))
    query = (
        select(
            Call.id,
            Call.call_sid,
            Call.handler,
            Call.handler_role,
            Call.duration_s,
            Ticket.urgency_flags,
            Ticket.route,
            Ticket.satisfaction,
            Ticket.needs_human,
            Ticket.needs_human_codes,
            failed_download.label("failed_download"),
            failed_transcription.label("failed_transcription"),
        )
        .outerjoin(Ticket, Ticket.call_id == Call.id)
        .outerjoin(QaSample, QaSample.call_id == Call.id)
        .where(Call.started_at >= start, Call.started_at < end, QaSample.id.is_(None))
        .order_by(Call.id)
    )
    order = {reason: n for n, reason in enumerate(config.priority)}
    return [
        _Candidate(
            row.id,
            row.call_sid,
            row.handler,
            row.handler_role,
            tuple(sorted(_special_reasons(row, config), key=order.__getitem__)),
        )
        for row in session.execute(query)
    ]


def _quota_picks(candidates: list[_Candidate], config: SamplingConfig, rng: random.Random) -> list[_Candidate]:
    """Each handler's random quota among their calls not already picked for a special reason, interleaved
    (everyone's first pick, then everyone's second...) so a capacity cut falls evenly on people."""
    by_handler: dict[str, list[_Candidate]] = {}
    for c in candidates:
        if c.handler is not None and not c.reasons:
            by_handler.setdefault(c.handler, []).append(c)
    drawn: list[list[_Candidate]] = []
    for handler in sorted(by_handler):
        calls = by_handler[handler]  # already in id order
        quota = config.quota_for(calls[0].role)
        n = quota.calls_for(len(calls)) if quota else 0
        drawn.append(rng.sample(calls, n))
    rounds = max((len(d) for d in drawn), default=0)
    return [d[i] for i in range(rounds) for d in drawn if i < len(d)]


def draw_sample(
    session: Session, day: date, config: SamplingConfig, *, tz: str, inspectors: list[str], seed: int | None = None
) -> SampleResult:
    """The sample of `day` (drawn now, or the stored one if the day was sampled already); nothing is written.

    Picks go round-robin to `inspectors` (shuffled by the seed), at most `inspector_daily_cap` each, never to
    the person who handled the call. Without inspectors nothing is assigned and nothing is dropped.
    """
    stored = existing_sample(session, day)
    if stored is not None:
        return stored
    seed = config.seed if seed is None else seed
    rng = random.Random(f"{day.isoformat()}:{seed}")
    candidates = _candidates(session, day, tz, config)
    order = {reason: n for n, reason in enumerate(config.priority)}
    special = [c for c in candidates if c.reasons]
    # Mandatory calls are placed first, then the other special ones, then the quota.
    special.sort(key=lambda c: (not any(r in config.mandatory for r in c.reasons), order[c.reasons[0]], c.id))
    ordered = [(c, list(c.reasons)) for c in special] + [(c, [QUOTA]) for c in _quota_picks(candidates, config, rng)]

    result = SampleResult(day, seed, candidates=len(candidates))
    rota = sorted(set(inspectors))
    rng.shuffle(rota)
    load = dict.fromkeys(rota, 0)
    turn = 0
    for call, reasons in ordered:
        inspector = None
        if rota:
            for step in range(len(rota)):
                who = rota[(turn + step) % len(rota)]
                if load[who] < config.inspector_daily_cap and who != call.handler:
                    inspector, turn = who, (turn + step + 1) % len(rota)
                    load[who] += 1
                    break
            if inspector is None:
                if not any(r in config.mandatory for r in reasons):
                    result.dropped += 1
                    continue
                result.unassigned += 1
        result.picks.append(Pick(call.id, call.sid, call.handler, call.role, reasons[0], reasons, inspector, day))
    return result


def store_sample(session: Session, result: SampleResult) -> int:
    """Write the picks as QaSample rows (nothing for a sample read back from the database); returns how many."""
    if result.existing:
        return 0
    session.add_all(
        QaSample(
            call_id=p.call_id,
            day=p.day,
            handler=p.handler,
            handler_role=p.handler_role,
            reason=p.reason,
            reasons=list(p.reasons),
            inspector=p.inspector,
            seed=result.seed,
        )
        for p in result.picks
    )
    session.flush()
    return len(result.picks)


def sample_day(
    factory: sessionmaker[Session],
    day: date,
    config: SamplingConfig,
    *,
    tz: str,
    inspectors: list[str] | None = None,
    seed: int | None = None,
) -> SampleResult:
    """Draw and store a day's sample in one transaction; a concurrent run that got there first wins."""
    try:
        with factory() as session, session.begin():
            if inspectors is None:
                inspectors = active_inspectors(session)
            result = draw_sample(session, day, config, tz=tz, inspectors=inspectors, seed=seed)
            store_sample(session, result)
            return result
    except IntegrityError:  # another process stored the same day (or call) meanwhile: read theirs
        with factory() as session:
            stored = existing_sample(session, day)
            if stored is None:
                raise
            return stored


def active_inspectors(session: Session) -> list[str]:
    """Usernames of the active staff whose role is inspector."""
    from staff.tables import StaffUser  # staff accounts are optional for the sampling itself

    return list(
        session.scalars(
            select(StaffUser.username)
            .where(StaffUser.role == "inspector", StaffUser.active.is_(True))
            .order_by(StaffUser.username)
        )
    )


def sample_due(
    factory: sessionmaker[Session], config: SamplingConfig, now: datetime, tz: str, empty_days: set[date] | None = None
) -> SampleResult | None:
    """The daily job: once it is past `run_after` local time, sample yesterday if that has not been done.

    A day that gave no picks (no calls) stores nothing; `empty_days` remembers it, so later rounds neither draw
    nor log it again.
    """
    local = now.astimezone(ZoneInfo(tz))
    if local.time() < config.run_after:
        return None
    yesterday = local.date() - timedelta(days=1)
    if empty_days is not None and yesterday in empty_days:
        return None
    with factory() as session:
        if session.scalar(select(QaSample.id).where(QaSample.day == yesterday).limit(1)) is not None:
            return None
    result = sample_day(factory, yesterday, config, tz=tz)
    if not result.picks and empty_days is not None:
        empty_days.add(yesterday)
    log.info(
        "QA sample of %s: %d calls (%d dropped beyond capacity, %d mandatory unassigned)",
        yesterday,
        len(result.picks),
        result.dropped,
        result.unassigned,
    )
    return result


def daily_sampling_round(factory: sessionmaker[Session], config: SamplingConfig, tz: str) -> Callable[[], None]:
    """One round of the daily job for a `hotline.jobs.PeriodicTask`: samples yesterday when it is due."""
    from hotline.db import utcnow

    empty_days: set[date] = set()  # days found with nothing to sample: drawn and logged once, not every round

    def round_() -> None:
        sample_due(factory, config, utcnow(), tz, empty_days)

    return round_
