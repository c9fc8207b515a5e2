"""Calls a crash left unfinished: ask Twilio how each ended and what it recorded, and finish it as the callbacks
would have.

Twilio sends a call's status and recording callbacks once; while the service is down they are lost, and the call
would stay `in-progress` with its full-call recording never stored. On start, and every few minutes for calls in
progress longer than `HOTLINE_RECONCILE_AFTER_MINUTES`, each unfinished call is looked up with the REST API: its
recordings go through `ivr.call.recording_status` (the recording callback's own function: the same download,
checksum and transcription jobs) and its end through `finish_call` (the status callback's). Both are idempotent,
so a callback arriving later changes nothing twice.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker
from twilio.base.exceptions import TwilioRestException
from twilio.rest import Client

from hotline.db import transaction, utcnow
from hotline.twilio_client import is_twilio_call
from ivr import call as ivr_call
from ivr.call import ENDED_STATUSES, CallDesk
from ivr.route_calls import free_lawyer_after_call
from recordings.call_events import CallEventKind
from recordings.calls import add_call_event, find_call
from recordings.tables import Call

log = logging.getLogger(__name__)

API_VERSION = "2010-04-01"
# A recording in one of these states is not over yet: its call is finished only once Twilio is done with it.
RECORDING_UNDER_WAY = {"in-progress", "paused", "stopped", "processing"}


def finish_call(session: Session, desk: CallDesk, form: dict[str, str]) -> None:
    """The call ended (its status callback, or reconciliation): note how, make its ticket, free its lawyer."""
    # The call's row is locked first (PostgreSQL; SQLite has one writer anyway): a late callback and a
    # reconciliation round finishing the same call at once end it once.
    session.scalar(
        select(Call)
        .where(Call.call_sid == form.get("CallSid", ""))
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    ivr_call.call_status(session, desk, form)
    free_lawyer_after_call(session, form.get("CallSid", ""))


@dataclass
class Reconciler:
    """Finishes unfinished calls from Twilio's REST API: the first round looks at every one, later rounds at those
    in progress longer than `quiet_after` (a live call still sends webhooks; a lost end does not)."""

    factory: sessionmaker[Session]
    twilio_rest: Client  # Twilio's, or the emulator's
    desk: CallDesk
    recordings_url: str  # {REST base}/2010-04-01/Accounts/{AccountSid}/Recordings: what a callback's RecordingUrl is
    quiet_after: timedelta
    wake: Callable[[], None] = lambda: None  # the job runner: a download was queued
    _first_done: bool = field(default=False, init=False)
    _unknown: set[str] = field(default_factory=set, init=False)  # calls Twilio does not have: not asked again

    def round(self) -> None:
        """One pass over the unfinished calls (a PeriodicTask runs it at start, then every few minutes)."""
        with self.factory() as session:
            query = select(Call.call_sid).where(Call.ended_at.is_(None)).order_by(Call.started_at)
            if self._first_done:
                query = query.where(Call.started_at < utcnow() - self.quiet_after)
            sids = [sid for sid in session.scalars(query) if is_twilio_call(sid) and sid not in self._unknown]
        finished = queued = 0
        for sid in sids:
            try:
                ended, fetches = self.reconcile(sid)
            except OSError as exc:  # Twilio unreachable: the next round tries them all again
                log.warning(
                    "reconciling calls: Twilio's REST API is unreachable (%s); %d call(s) wait",
                    type(exc).__name__,
                    len(sids),
                )
                return
            finished += ended
            queued += fetches
        self._first_done = True  # every unfinished call was asked about once: from now on, the long ones
        if finished or queued:
            log.warning(
                "reconciled %d call(s) with Twilio: %d finished, %d recording(s) recovered", len(sids), finished, queued
            )

    def reconcile(self, call_sid: str) -> tuple[bool, int]:
        """Bring one call up to what Twilio knows; returns (whether it was finished, recordings queued)."""
        try:
            remote = self.twilio_rest.calls(call_sid).fetch()
            remote_recordings = self.twilio_rest.calls(call_sid).recordings.list()
        except TwilioRestException as exc:
            if exc.status == 404:
                self._unknown.add(call_sid)
                log.warning("call %s is unknown to the Twilio account: it stays unfinished", call_sid)
            else:
                log.warning("reconciling call %s: Twilio answered %s %s", call_sid, exc.status, exc.msg)
            return False, 0
        status = str(remote.status or "")
        under_way = False
        queued = 0
        with transaction(self.factory) as session:
            call = find_call(session, call_sid)
            if call is None or call.ended_at is not None:
                return False, 0  # a late callback got there first
            for recording in remote_recordings:
                recording_status = str(recording.status or "")
                if recording_status in RECORDING_UNDER_WAY:
                    under_way = True
                    continue
                form = {
                    "CallSid": call_sid,
                    "RecordingSid": str(recording.sid),
                    "RecordingUrl": f"{self.recordings_url}/{recording.sid}",
                    "RecordingStatus": recording_status,
                    "RecordingSource": str(recording.source or ""),
                    "RecordingChannels": str(recording.channels or ""),
                    "RecordingDuration": str(recording.duration or ""),
                }
                if ivr_call.recording_status(session, form):
                    queued += 1
                    add_call_event(
                        session,
                        call,
                        CallEventKind.RECORDING_RECOVERED,
                        recording_sid=recording.sid,
                        source=form["RecordingSource"],
                    )
            finished = status in ENDED_STATUSES and not under_way
            if finished:
                finish_call(
                    session,
                    self.desk,
                    {"CallSid": call_sid, "CallStatus": status, "CallDuration": str(remote.duration or "")},
                )
                add_call_event(session, call, CallEventKind.RECONCILED, status=status, source="twilio-rest")
        if queued:
            self.wake()
        return finished, queued


def recordings_base(rest_url: str, account_sid: str) -> str:
    """Where the account's recording media are, as a recording callback's RecordingUrl names them."""
    return f"{rest_url.rstrip('/')}/{API_VERSION}/Accounts/{account_sid}/Recordings"
