"""The routing data files as a hotline edits them: duty roster, union directory, knowledge base, related cases."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import yaml

from hotline.db import transaction, utcnow
from recordings.calls import record_call
from routing.cases import link_related
from routing.directory import load_directory
from routing.knowledge import load_knowledge
from routing.roster import RosterError, load_roster, parse_roster
from routing.tickets import open_ticket_for_call

BJ = ZoneInfo("Asia/Shanghai")


def test_default_roster_two_lawyers_a_day_seventeen_in_the_week_eight_to_eight():
    roster = load_roster()
    assert len(roster.lawyers) == 17
    assert {i for ids in roster.weekly.values() for i in ids} == set(roster.lawyers)
    monday_morning = datetime(2026, 11, 23, 9, 0, tzinfo=BJ)
    assert [p.id for p in roster.on_duty(monday_morning, "Asia/Shanghai")] == ["L01", "L02"]
    assert roster.on_duty(datetime(2026, 11, 23, 20, 0, tzinfo=BJ), "Asia/Shanghai") == []  # duty ends at 20:00
    start, lawyers = roster.next_on_duty(datetime(2026, 11, 23, 21, 30, tzinfo=BJ), "Asia/Shanghai")
    assert start == datetime(2026, 11, 24, 8, 0, tzinfo=BJ) and [p.id for p in lawyers] == ["L03", "L04"]


def test_a_roster_naming_an_unknown_lawyer_is_refused():
    with pytest.raises(RosterError, match="L99"):
        parse_roster(yaml.safe_load("lawyers: [{id: L01, name: a, phone: '1'}]\nweekly: {mon: [L01, L99]}"))


@pytest.mark.parametrize(
    ("text", "union", "ambiguous"),
    [
        ("我们在长安区韦曲街道一个工地干活", "xa-changan-weiqu", False),  # a township beats its district
        ("公司在雁塔区小寨那边", "xa-yanta", False),
        ("在户县的一个厂里", "xa-huyi", False),  # the old name of 鄠邑区
        ("我住碑林区但是公司在莲湖区", None, True),  # two places: a dispatcher decides
        ("老板不给工资", None, False),  # no place at all
    ],
)
def test_directory_finds_the_local_union_or_admits_it_cannot(text, union, ambiguous):
    match = load_directory().match(text)
    assert (match.union.id if match.union else None) == union
    assert match.ambiguous == ambiguous


def test_knowledge_base_answers_close_questions_and_nothing_else():
    kb = load_knowledge()
    found = kb.best("我辞职了公司说工资三十天以后才给")
    assert found is not None and found.entry.id == "kb-wage-on-leaving"
    assert set(found.words) >= {"辞职", "工资", "三十天"}  # the words shown to staff
    assert kb.best("怎么加入工会呀 想成为会员").entry.id == "kb-join-union"
    assert kb.best("今天天气怎么样") is None
    assert kb.best("工资") is None  # one word is not enough to read an answer out


def test_four_herders_under_different_subcontractors_on_one_project_are_one_case(migrated):
    with transaction(migrated) as session:
        tickets = []
        for n, (caller, employer) in enumerate(
            [
                ("+8613800000001", "甲劳务公司"),
                ("+8613800000002", "乙建筑队"),
                ("+8613800000003", "丙工程队"),
                ("+8613800000004", "丁劳务"),
            ]
        ):
            call, _ = record_call(session, f"CA{n:032d}", caller, "+8612351")
            ticket = open_ticket_for_call(
                session, call_id=call.id, caller_number=caller, menu_choice="help", timezone="Asia/Shanghai"
            )
            ticket.entities = {"employer": employer, "project": "草原围栏修缮项目"}
            link_related(session, ticket, window_days=30, now=utcnow())
            tickets.append(ticket)
        assert tickets[0].case_id is not None
        assert len({t.case_id for t in tickets}) == 1
        assert "repeat" not in tickets[0].urgency_flags
        assert all("repeat" in t.urgency_flags for t in tickets[1:])


def test_the_same_caller_again_within_the_window_is_linked_but_not_after_it(migrated):
    with transaction(migrated) as session:
        old_call, _ = record_call(session, "CA" + "a" * 32, "+8613900000009", "+8612351")
        old = open_ticket_for_call(
            session, call_id=old_call.id, caller_number="+8613900000009", menu_choice="help", timezone="Asia/Shanghai"
        )
        old.created_at = utcnow() - timedelta(days=45)
        new_call, _ = record_call(session, "CA" + "b" * 32, "+8613900000009", "+8612351")
        new = open_ticket_for_call(
            session, call_id=new_call.id, caller_number="+8613900000009", menu_choice="help", timezone="Asia/Shanghai"
        )
        assert link_related(session, new, window_days=30, now=utcnow()) is None
        assert link_related(session, new, window_days=60, now=utcnow()) is not None
        assert old.case_id == new.case_id
