"""The flow engine asked directly, as an edge that drives the call itself asks it (ivr.engine): the decisions of
each turn, what the caller did told in typed terms, and a continuation the flow no longer has."""

from __future__ import annotations

from sqlalchemy import select

from ivr import engine
from ivr.call import CallDesk
from ivr.caller_input import CallerDid, CallerLine, RecordingDone
from ivr.decisions import Gather, Hangup, Next, Record, Redirect, Say, StartCallRecording, To
from ivr.flow import load_flow
from ivr.route_calls import RouteDesk, load_route_prompts
from recordings.tables import Call
from routing.config import load_routing_data
from routing.tables import Ticket

LINE = CallerLine("pbx-1796691275.7", "13800138000", "12351")


def _desk() -> RouteDesk:
    data = load_routing_data(
        roster=None, unions=None, sla=None, knowledge=None, timezone="Asia/Shanghai", case_window_days=30
    )
    return RouteDesk(CallDesk(load_flow(), "Asia/Shanghai", ""), data, load_route_prompts())


def test_a_call_answered_then_a_key_then_the_problem_recorded_makes_the_ticket(migrated) -> None:
    rd = _desk()
    with migrated() as session, session.begin():
        first = engine.answer(session, rd, LINE)
    assert isinstance(first[0], StartCallRecording)  # the whole call, from the greeting's recording notice on
    menu = first[1]
    assert isinstance(menu, Gather) and menu.next == Next.of(To.KEYS, "menu", attempt=1)
    assert [p.prompt_id for p in menu.prompts if isinstance(p, Say)] == ["menu.intro.1", "menu.intro.2", "menu.prompt"]

    with migrated() as session, session.begin():
        describe = engine.ask(session, rd, menu.next, LINE, CallerDid(keys="2"))
    assert [type(d) for d in describe] == [Say, Record, Redirect]
    record = describe[1]
    assert isinstance(record, Record) and record.finish_on_key == "#*"  # the emergency key ends it too

    did = CallerDid(keys="#", recording=RecordingDone("pbx-1796691275.7-describe", 9))
    with migrated() as session, session.begin():
        routing = engine.ask(session, rd, record.next, LINE, did)
    assert routing[-1] == Redirect(Next.of(To.ROUTE))
    with migrated() as session:
        call = session.execute(select(Call).where(Call.call_sid == LINE.call_sid)).scalar_one()
        ticket = session.execute(select(Ticket).where(Ticket.call_id == call.id)).scalar_one()
        assert (call.from_number, call.menu_choice, ticket.menu_choice) == ("13800138000", "help", "help")
        assert [e.kind for e in call.events] == [
            "answered", "call_recording_started", "step", "menu_input", "step", "problem_recorded", "step"
        ]  # fmt: skip


def test_a_continuation_to_a_step_the_flow_no_longer_has_gets_the_apology(migrated) -> None:
    rd = _desk()
    with migrated() as session, session.begin():
        engine.answer(session, rd, LINE)
        said = engine.ask(session, rd, Next.of(To.KEYS, "gone", attempt=1), LINE, CallerDid(keys="1"))
    assert said == (Say.of("route_prompts.cannot_continue", rd.prompts["cannot_continue"]), Hangup())
