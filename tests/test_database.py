"""The schema, ticket numbering and the job queue on a real database: SQLite, and PostgreSQL."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import date

from sqlalchemy import inspect, select, text

from hotline.db import make_engine, make_session_factory, transaction
from hotline.jobs import DONE, QUEUED, RUNNING, Job, JobRunner, RetryLater, claim_next, enqueue
from hotline.migrate import upgrade
from recordings.calls import record_call
from routing.tables import Ticket
from routing.tickets import next_serial, open_ticket_for_call, ticket_number


def test_migrations_create_the_schema_and_run_twice(database_url):
    engine = make_engine(database_url)
    upgrade(engine)
    upgrade(engine)  # a restart applies nothing twice
    tables = set(inspect(engine).get_table_names())
    assert {"calls", "call_events", "recordings", "transcripts", "tickets", "ticket_events", "jobs"} <= tables
    uniques = {tuple(u["column_names"]) for u in inspect(engine).get_unique_constraints("calls")}
    assert ("call_sid",) in uniques
    engine.dispose()


def test_sqlite_runs_in_wal_mode(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'x.db'}")
    with engine.connect() as conn:
        assert conn.execute(text("PRAGMA journal_mode")).scalar() == "wal"
    engine.dispose()


def test_ticket_numbers_count_per_day():
    assert ticket_number(date(2026, 11, 24), 1) == "12351-20261124-0001"
    assert ticket_number(date(2026, 11, 24), 123) == "12351-20261124-0123"


def test_concurrent_ticket_numbers_never_collide(migrated):
    day = date(2026, 11, 24)

    def allocate(_: int) -> int:
        with transaction(migrated) as session:
            return next_serial(session, day)

    with ThreadPoolExecutor(8) as pool:
        serials = list(pool.map(allocate, range(40)))
    assert sorted(serials) == list(range(1, 41))
    with transaction(migrated) as session:
        assert next_serial(session, date(2026, 11, 25)) == 1  # a new day starts again


def test_one_ticket_per_call_even_when_asked_twice(migrated):
    with transaction(migrated) as session:
        call, new = record_call(session, "CA" + "1" * 32, "+8613800000000", "+8612351")
        assert new
        again, new_again = record_call(session, "CA" + "1" * 32, "+8613800000000", "+8612351")
        assert again.id == call.id and not new_again
        first = open_ticket_for_call(
            session, call_id=call.id, caller_number="+8613800000000", menu_choice="help", timezone="Asia/Shanghai"
        )
        second = open_ticket_for_call(
            session, call_id=call.id, caller_number="+8613800000000", menu_choice="help", timezone="Asia/Shanghai"
        )
        assert first.number == second.number
    with migrated() as session:
        assert len(session.scalars(select(Ticket)).all()) == 1


def test_enqueue_is_idempotent_by_key(migrated):
    with transaction(migrated) as session:
        assert enqueue(session, "fetch_recording", "fetch:RE1", {"recording_sid": "RE1"})
        assert not enqueue(session, "fetch_recording", "fetch:RE1", {"recording_sid": "RE1"})
    with migrated() as session:
        assert session.scalar(select(Job).where(Job.key == "fetch:RE1")).status == QUEUED


def test_two_workers_never_take_the_same_job(migrated):
    with transaction(migrated) as session:
        for n in range(30):
            enqueue(session, "noop", f"noop:{n}", {"n": n})
    taken: list[int] = []
    lock = threading.Lock()

    def drain() -> None:
        while (job := claim_next(migrated)) is not None:
            with lock:
                taken.append(job.payload["n"])

    threads = [threading.Thread(target=drain) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(taken) == list(range(30))


def test_a_job_interrupted_by_a_crash_is_resumed_on_start(migrated):
    with transaction(migrated) as session:
        enqueue(session, "work", "work:1", {"n": 1})
    crashed = claim_next(migrated)  # a worker took it, then the process died
    assert crashed.status == RUNNING
    ran: list[int] = []
    runner = JobRunner(migrated, {"work": lambda payload, attempt: ran.append(attempt)}, workers=1, poll_s=0.05)
    runner.start()  # requeues what the dead process left running
    try:
        for _ in range(100):
            if ran:
                break
            threading.Event().wait(0.05)
    finally:
        runner.stop()
    assert ran == [2]  # second attempt
    with migrated() as session:
        assert session.scalar(select(Job.status).where(Job.key == "work:1")) == DONE


def test_retry_later_runs_the_job_again_with_its_attempt_number(migrated):
    attempts: list[int] = []

    def flaky(payload: dict, attempt: int) -> None:
        attempts.append(attempt)
        if attempt < 3:
            raise RetryLater("not yet", 0)

    with transaction(migrated) as session:
        enqueue(session, "flaky", "flaky:1", {})
    runner = JobRunner(migrated, {"flaky": flaky}, workers=1)
    while runner.run_once():
        pass
    assert attempts == [1, 2, 3]


def test_a_live_database_with_tickets_upgrades_to_the_current_schema(database_url):
    from alembic import command

    from hotline.migrate import alembic_config

    engine = make_engine(database_url)
    config = alembic_config(engine.url.render_as_string(hide_password=False))
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "0001")  # the schema of the first release
    with engine.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO tickets (number, caller_number, status, subject, handling_class, route, summary, "
                "needs_human, created_at, updated_at) VALUES ('12351-20261124-0001', '+8613800000000', 'accepted', "
                "'wage_arrears', 'assist', 'dispatcher', '老板欠薪', false, CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)"
            )
        )
        connection.execute(  # routed back then: found by its event, stored once now
            text(
                "INSERT INTO ticket_events (ticket_id, at, actor, kind, note) SELECT id, CURRENT_TIMESTAMP, 'system', "
                "'routed', '工会：碑林区' FROM tickets WHERE number = '12351-20261124-0001'"
            )
        )
        connection.execute(  # marked for a person in words only, before the reasons had codes
            text(
                "INSERT INTO tickets (number, caller_number, status, subject, handling_class, route, summary, "
                "needs_human, needs_human_reason, created_at, updated_at) VALUES ('12351-20261124-0002', "
                "'+8613800000001', 'accepted', 'other', 'assist', 'dispatcher', '', true, "
                "'来电人录音中没有识别出话语：请收听录音', CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)"
            )
        )
    upgrade(engine)  # what `hotline serve` does on start
    with make_session_factory(engine)() as session:
        ticket = session.scalar(select(Ticket).where(Ticket.number == "12351-20261124-0001"))
        assert ticket.summary == "老板欠薪"
        assert (ticket.urgency_flags, ticket.entities, ticket.extensions) == ([], {}, 0)
        assert ticket.needs_human_codes == [] and ticket.routed_at is not None
        # its history survives the migrations that rebuild `tickets` (SQLite's batch mode once cascaded it away)
        assert [e.kind for e in ticket.events] == ["routed"]
        unheard = session.scalar(select(Ticket).where(Ticket.number == "12351-20261124-0002"))
        assert unheard.needs_human_codes == ["no_speech"]  # the QA sample finds it by its code
        assert unheard.routed_at is None
    engine.dispose()
