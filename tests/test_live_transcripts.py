"""One writer for a recording's live transcript (issue 16): what the live stream heard stands in for the recording's
transcript only while it has none, the stream's final text replaces its own snapshot, and the batch transcript is
never overwritten. The end of a problem stream (ivr.live_speech_actions.final_transcript) on SQLite and PostgreSQL.
"""

from __future__ import annotations

from hotline.db import transaction
from ivr.flow import load_flow
from ivr.live_speech_actions import LiveDesk, final_transcript
from recordings.calls import record_call
from recordings.live_transcripts import keep_live_transcript
from recordings.tables import Recording, Transcript
from routing.tables import Ticket
from routing.tickets import WordsFrom, write_caller_words
from speech.model import SharedModel

SNAPSHOT = "我在小寨一家饭店打工"
FINAL = "我在小寨一家饭店打工，老板两个月没发工资了"
WORDS = [{"word": "工资", "start": 1.0, "end": 1.4, "conf": 0.9}]


def _call_with_recording(session, call_sid: str, number: str) -> tuple[Recording, Ticket]:
    call, _ = record_call(session, call_sid, "+8613700000003", "+8612351")
    recording = Recording(recording_sid=f"RE{call_sid[2:]}", call_id=call.id, source="problem")
    ticket = Ticket(number=number, caller_number=call.from_number, menu_choice="help", call_id=call.id)
    session.add_all([recording, ticket])
    session.flush()
    return recording, ticket


def _transcripts(factory, call_sid: str) -> list[tuple[str, str]]:
    """(model, text) of the call's recording's transcripts, oldest first."""
    with factory() as session:
        rows = (
            session.query(Transcript)
            .join(Recording)
            .filter(Recording.call.has(call_sid=call_sid))
            .order_by(Transcript.id)
            .all()
        )
        return [(t.model, t.text) for t in rows]


def test_the_final_live_text_is_kept_once_replaces_its_snapshot_not_the_batch_one_nor_a_person_s_words(
    migrated, tmp_path
):
    model = SharedModel(tmp_path / "no-model")
    desk = LiveDesk(migrated, None, load_flow(), model)  # no REST client: nothing is redirected here
    live = f"live:{model.name}"

    # The caller pressed # before the stream ended: the recording has no transcript yet, so the final text heard
    # live becomes it, and the ticket's words (heard live).
    with transaction(migrated) as session:
        _call_with_recording(session, "CA" + "1" * 32, "12351-20261207-0911")
    final_transcript(desk, "CA" + "1" * 32, FINAL, WORDS)
    assert _transcripts(migrated, "CA" + "1" * 32) == [(live, FINAL)]
    with transaction(migrated) as session:
        ticket = session.query(Ticket).filter_by(number="12351-20261207-0911").one()
        assert (ticket.summary, ticket.words_from) == (FINAL, WordsFrom.LIVE)
        recording = session.query(Recording).filter_by(call_id=ticket.call_id).one()
        assert not keep_live_transcript(session, recording, SNAPSHOT, [], model.name)  # only while there is none
    assert _transcripts(migrated, "CA" + "1" * 32) == [(live, FINAL)]

    # The `recorded` webhook took a snapshot first: the stream's final text replaces it (the route step writes
    # the ticket's words from it).
    with transaction(migrated) as session:
        recording, _ = _call_with_recording(session, "CA" + "2" * 32, "12351-20261207-0912")
        assert keep_live_transcript(session, recording, SNAPSHOT, [], model.name)
    final_transcript(desk, "CA" + "2" * 32, FINAL, WORDS)
    assert _transcripts(migrated, "CA" + "2" * 32) == [(live, FINAL)]

    # The batch transcript came first: what was heard live changes nothing.
    with transaction(migrated) as session:
        recording, _ = _call_with_recording(session, "CA" + "3" * 32, "12351-20261207-0913")
        session.add(Transcript(recording_id=recording.id, channel=None, text="老板没发工资", model="vosk-batch"))
    final_transcript(desk, "CA" + "3" * 32, FINAL, WORDS)
    assert _transcripts(migrated, "CA" + "3" * 32) == [("vosk-batch", "老板没发工资")]

    # A member of staff wrote what the caller said before the stream ended: their words stand.
    with transaction(migrated) as session:
        _, ticket = _call_with_recording(session, "CA" + "4" * 32, "12351-20261207-0914")
        assert write_caller_words(ticket, "饭店老板拖欠工资", WordsFrom.PERSON)
    final_transcript(desk, "CA" + "4" * 32, FINAL, WORDS)
    assert _transcripts(migrated, "CA" + "4" * 32) == [(live, FINAL)]
    with migrated() as session:
        ticket = session.query(Ticket).filter_by(number="12351-20261207-0914").one()
        assert (ticket.summary, ticket.words_from) == ("饭店老板拖欠工资", WordsFrom.PERSON)
