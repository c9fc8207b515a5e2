"""The data files a hotline edits: the shipped ones load, and a broken copy is refused with one message that
names the file, the key and what to fix (`hotline.data_files`)."""

from __future__ import annotations

import copy
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml

from hotline.data_files import DataFileError, DataModel, load_tsv
from ivr.flow import FlowError, load_flow
from ivr.route_calls import RoutePromptsError, load_route_prompts
from recordings.qa_sampling import SamplingConfigError, load_sampling
from recordings.rubrics import RubricError, load_rubric
from routing.classify import TaxonomyError, load_taxonomy
from routing.config import load_routing_data
from routing.directory import load_directory
from routing.entities import place_names
from routing.knowledge import load_knowledge
from routing.roster import RosterError, load_roster
from routing.sla import load_sla
from routing.survey import SurveyConfigError, load_survey_policy

REPO = Path(__file__).resolve().parents[1]
SURVEY, SLA, ROSTER = REPO / "ivr/flows/survey.yaml", REPO / "routing/data/sla.yaml", REPO / "routing/data/roster.yaml"
UNIONS, KNOWLEDGE = REPO / "routing/data/unions.yaml", REPO / "routing/data/knowledge.yaml"
RUBRIC, SAMPLING = REPO / "recordings/data/rubric.yaml", REPO / "recordings/data/qa.yaml"
FLOW, ROUTE_PROMPTS = REPO / "ivr/flows/default.yaml", REPO / "ivr/flows/route_prompts.yaml"
TAXONOMY, PLACES = REPO / "routing/data/taxonomy.yaml", REPO / "routing/data/places.yaml"

# Each loader with the shipped file it reads by default and the error type its callers catch.
LOADERS: dict[str, tuple[Callable[[Path | None], object], Path, type[DataFileError]]] = {
    "survey": (load_survey_policy, SURVEY, SurveyConfigError),
    "sla": (load_sla, SLA, DataFileError),
    "roster": (load_roster, ROSTER, RosterError),
    "unions": (load_directory, UNIONS, DataFileError),
    "knowledge": (load_knowledge, KNOWLEDGE, DataFileError),
    "rubric": (load_rubric, RUBRIC, RubricError),
    "sampling": (load_sampling, SAMPLING, SamplingConfigError),
    "flow": (load_flow, FLOW, FlowError),
    "route_prompts": (load_route_prompts, ROUTE_PROMPTS, RoutePromptsError),  # a hotline's own, laid over it
    "taxonomy": (load_taxonomy, TAXONOMY, TaxonomyError),
    "places": (place_names, PLACES, DataFileError),
}


def _entry(entries: list[dict], entry_id: str) -> dict:
    return next(e for e in entries if e["id"] == entry_id)


def _items(data: dict) -> list[dict]:
    return [item for section in data["sections"] for item in section["items"]]


# (file, change to the parsed shipped file, the key named, what is said about it)
BROKEN = [
    # the survey
    ("survey", lambda d: d.update(ring_timeout_s="soon"), "ring_timeout_s", "must be a whole number, not 'soon'"),
    ("survey", lambda d: d["prompts"].pop("thanks"), "prompts.thanks", "missing"),
    ("survey", lambda d: d["keys"].update({"3": "happy"}), "keys.3", "not 'happy'"),
    ("survey", lambda d: d["reopen"].append("angry"), "reopen[2]", "not 'angry'"),
    ("survey", lambda d: d["retries"].append({"tomorrow": True}), "retries[3].tomorrow", "next_working_day_at"),
    ("survey", lambda d: d["calling_hours"].update(end="08:00"), "calling_hours.end", "after start 09:00"),
    # the deadlines
    ("sla", lambda d: d["classes"]["assist"].update(reply_days="seven"), "classes.assist.reply_days", "whole number"),
    ("sla", lambda d: d["classes"]["urgent"].pop("dispatch_hours"), "classes.urgent.dispatch_hours", "missing"),
    ("sla", lambda d: d["working_hours"].update(start="8.30"), "working_hours.start", "time of day"),
    # the duty roster
    ("roster", lambda d: d["queue"].update(max_waiting="many"), "queue.max_waiting", "whole number"),
    ("roster", lambda d: _entry(d["lawyers"], "L02").pop("phone"), "lawyers[L02].phone", "missing"),
    ("roster", lambda d: d["weekly"]["sun"].append("L99"), "weekly.sun", "names L99, who are not in `lawyers`"),
    ("roster", lambda d: d["weekly"].update(thur=["L01"]), "weekly.thur", "not 'thur'"),
    # the union directory
    ("unions", lambda d: _entry(d["unions"], "xa-beilin").update(aliases="碑林"), "unions[xa-beilin].aliases", "list"),
    ("unions", lambda d: _entry(d["unions"], "xa-lianhu").pop("district"), "unions[xa-lianhu].district", "missing"),
    ("unions", lambda d: d["unions"][1].update(id="xa-beilin"), "unions[xa-beilin]", "the id xa-beilin is used twice"),
    # the knowledge base
    ("knowledge", lambda d: d["entries"][0].update(keywords="工资"), "entries[kb-wage-on-leaving].keywords", "list"),
    ("knowledge", lambda d: d["entries"][1].pop("answer"), "entries[kb-no-contract].answer", "missing"),
    ("knowledge", lambda d: d.update(entry=d.pop("entries")), "entry", "not a key here; the keys are entries"),
    # the scoring rubric
    (
        "rubric",
        lambda d: _entry(_items(d), "greeting").update(max="five"),
        "sections[opening].items[greeting].max",
        "number",
    ),
    (
        "rubric",
        lambda d: _entry(_items(d), "greeting").pop("label"),
        "sections[opening].items[greeting].label",
        "missing",
    ),
    ("rubric", lambda d: _entry(_items(d), "greeting").update(max=6), "total", "add up to 101, not the total 100"),
    (
        "rubric",
        lambda d: _entry(_items(d), "recording_notice").update(critical={"on_fail": "halve"}),
        "sections[opening].items[recording_notice].critical.on_fail",
        "must be 'zero' or 'cap', not 'halve'",
    ),
    # the daily sample
    ("sampling", lambda d: d.update(inspector_daily_cap="many"), "inspector_daily_cap", "whole number"),
    ("sampling", lambda d: d["quota"].update(lawyer={"min": 2}), "quota.lawyer", "give either count or share"),
    ("sampling", lambda d: d["mandatory"].append("lost"), "mandatory[3]", "not 'lost'"),
    # the call flow
    ("flow", lambda d: d["steps"]["menu"].update(timeout_s="six"), "steps.menu.timeout_s", "whole number, not 'six'"),
    ("flow", lambda d: d["steps"]["menu"]["options"]["1"].pop("next"), "steps.menu.options.1.next", "missing"),
    ("flow", lambda d: d["steps"]["describe"].update(next="done"), "steps.describe.next", "'done' is not a step"),
    ("flow", lambda d: d.update(start="welcome"), "start", "names no step: 'welcome'"),
    ("flow", lambda d: d["steps"]["route"].update(kind="hold"), "steps.route.kind", "must be 'menu', 'record',"),
    ("flow", lambda d: d["steps"]["operator"].pop("number"), "steps.operator.number", "a dial step needs the number"),
    (
        "flow",
        lambda d: d["steps"]["describe"].update(seats="operators"),
        "steps.describe.seats",
        "only a dial step may have seats",
    ),
    (
        "flow",
        lambda d: d["steps"]["menu"]["options"]["2"]["phrases"].append("律师"),
        "steps.menu.options.2.phrases",
        "the phrase '律师' is given for both 'legal' and 'help'",
    ),
    (
        "flow",
        lambda d: d["steps"]["operator"].update(prompt="您的工单号是{ticket}。"),
        "steps.operator.prompt",
        "{ticket} is no placeholder here; the placeholders here are {ticket_digits}",
    ),
    (
        "flow",
        lambda d: d["steps"]["menu"].update(confirm_prompt="是{choice}吗？"),
        "steps.menu.confirm_prompt",
        "{label}",
    ),
    ("flow", lambda d: d["emergency"].update(key="0"), "emergency.key", "also option '0' of step 'menu'"),
    ("flow", lambda d: d["emergency"]["phrases"].append("人工"), "emergency.phrases", "both 'operator' and the"),
    # the route prompts (a hotline's own file: whatever it leaves out is said as shipped)
    ("route_prompts", lambda d: d.update(queue_hold_s="long"), "queue_hold_s", "whole number, not 'long'"),
    ("route_prompts", lambda d: d.update(goodbye=["再见"]), "goodbye", "must be text"),
    ("route_prompts", lambda d: d.update(good_bye="再见"), "good_bye", "not a key here; the keys are"),
    ("route_prompts", lambda d: d.update(dispatched="已转交{contacts}"), "dispatched", "{contacts} is no placeholder"),
    # the taxonomy
    ("taxonomy", lambda d: d["subjects"]["safety"].update(legal="maybe"), "subjects.safety.legal", "true or false"),
    ("taxonomy", lambda d: d["subjects"]["hardship"].pop("label"), "subjects.hardship.label", "missing"),
    ("taxonomy", lambda d: d["handling_classes"].pop("urgent"), "handling_classes.urgent", "missing"),
    (
        "taxonomy",
        lambda d: d["menu_choices"]["help"].update(subject="wages"),
        "menu_choices.help.subject",
        "'wages' is not in `subjects`",
    ),
    ("taxonomy", lambda d: d["complex"]["subjects"].append("labour"), "complex.subjects[2]", "'labour' is not in"),
    ("taxonomy", lambda d: d["menu_choices"]["legal"].update(route="lawyers"), "menu_choices.legal.route", "'lawyers'"),
    ("taxonomy", lambda d: d["cues"].update({"injury&boss": []}), "cues.injury&boss", "combines 'boss', which is no"),
    ("taxonomy", lambda d: d["urgency"]["mass"]["patterns"].append("[多"), "urgency.mass.patterns[2]", "not a regular"),
    ("taxonomy", lambda d: d["confidence"].update(kind=1.5), "confidence.kind", "must be at most 1, not 1.5"),
    # the place names
    ("places", lambda d: d.update(cities="西安"), "cities", "must be a list"),
    ("places", lambda d: d.pop("provinces"), "provinces", "missing"),
    ("places", lambda d: d["cities"].insert(0, "西安市"), "cities[1]", "write the short form people say, '西安'"),
    ("places", lambda d: d["provinces"].insert(0, "Shaanxi"), "provinces[1]", "in Chinese characters"),
]


@pytest.mark.parametrize("name", LOADERS)
def test_the_shipped_files_load_by_default_and_by_path(name):
    load, shipped, _error = LOADERS[name]
    assert repr(load(None)) == repr(load(shipped))


def test_the_shipped_routing_files_load_together():
    data = load_routing_data(
        roster=None, unions=None, sla=None, knowledge=None, timezone="Asia/Shanghai", case_window_days=30
    )
    assert set(data.sla.classes) == {"urgent", "assist", "complex", "consult"}
    assert len(data.roster.lawyers) == 17 and data.directory.get("xa-yanta") is not None


@pytest.mark.parametrize(("name", "change", "key", "what"), BROKEN)
def test_a_broken_copy_is_refused_naming_the_file_and_the_key(tmp_path, name, change, key, what):
    load, shipped, error = LOADERS[name]
    data = copy.deepcopy(yaml.safe_load(shipped.read_text(encoding="utf-8")))
    change(data)
    path = tmp_path / shipped.name
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    with pytest.raises(error) as exc:
        load(path)
    assert isinstance(exc.value, DataFileError) and exc.value.file == str(path)
    message = str(exc.value)
    assert message.startswith(f"{path}: {key}: "), message
    assert what in message, message


def test_a_time_without_quotes_is_explained(tmp_path):
    path = tmp_path / "survey.yaml"
    path.write_text(SURVEY.read_text(encoding="utf-8").replace('"10:00"', "10:00"), encoding="utf-8")
    with pytest.raises(SurveyConfigError) as exc:
        load_survey_policy(path)
    assert str(exc.value) == (
        f'{path}: retries[2].next_working_day_at: a time of day is written in quotes, like "09:00", not 600'
    )


def test_an_sla_file_without_a_class_of_the_taxonomy_stops_the_routing_data(tmp_path):
    path = tmp_path / "sla.yaml"
    data = yaml.safe_load(SLA.read_text(encoding="utf-8"))
    del data["classes"]["consult"]
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    load_sla(path)  # on its own the file is well formed
    with pytest.raises(DataFileError) as exc:
        load_routing_data(
            roster=None, unions=None, sla=path, knowledge=None, timezone="Asia/Shanghai", case_window_days=30
        )
    assert str(exc.value).startswith(f"{path}: classes.consult: missing: the taxonomy has this handling class")


def test_a_file_that_is_not_yaml_or_not_there_is_named(tmp_path):
    path = tmp_path / "roster.yaml"
    path.write_text("queue:\n    max_waiting: 5\n  max_wait_s: 300\n", encoding="utf-8")  # indented wrong
    with pytest.raises(RosterError) as exc:
        load_roster(path)
    assert str(exc.value).startswith(f"{path}: line 3, column 3: not valid YAML")
    with pytest.raises(RosterError) as exc:
        load_roster(tmp_path / "missing.yaml")
    assert str(exc.value).startswith(f"{tmp_path / 'missing.yaml'}: (top of the file): cannot be read")


def test_a_runtime_roster_error_is_still_a_roster_error():
    with pytest.raises(RosterError, match="排班表上没有律师座席 L99"):
        load_roster().lawyer("L99")


class _Row(DataModel):
    text: str
    label: str
    weight: float = 1.0


def test_tsv_rows_are_checked_by_line_and_column(tmp_path):
    path = tmp_path / "rows.tsv"
    path.write_text("text\tlabel\tweight\n老板不给工资\twage\t2\n没签合同\tcontract\theavy\n", encoding="utf-8")
    with pytest.raises(DataFileError) as exc:
        load_tsv(_Row, path, ("routing.data", "none.tsv"))
    assert str(exc.value) == f"{path}: line 3.weight: must be a number, not 'heavy'"
    path.write_text("text\tlabel\n老板不给工资\twage\n", encoding="utf-8")
    assert load_tsv(_Row, path, ("routing.data", "none.tsv")) == [_Row(text="老板不给工资", label="wage")]


def test_a_key_written_twice_is_refused_where_yaml_would_keep_the_last(tmp_path):
    path = tmp_path / "default.yaml"
    text = FLOW.read_text(encoding="utf-8")
    # `3:` and `"3":` are one key: the caller pressing 3 would silently get only the second option.
    path.write_text(text.replace('      "0": {choice: operator', "      3: {choice: operator"), encoding="utf-8")
    with pytest.raises(FlowError) as exc:
        load_flow(path)
    line = next(n for n, row in enumerate(path.read_text(encoding="utf-8").splitlines(), 1) if "3: {choice: op" in row)
    first = next(n for n, row in enumerate(text.splitlines(), 1) if row.startswith('      "3":'))
    assert str(exc.value) == (
        f"{path}: line {line}, column 7: the key 3 is written twice here (first on line {first}): keep one"
    )


def test_a_hotlines_own_route_prompts_change_only_what_they_give(tmp_path):
    path = tmp_path / "route_prompts.yaml"
    path.write_text("district_timeout_s: 12\ngoodbye: 再见。\ncannot_continue:\n", encoding="utf-8")
    shipped, own = load_route_prompts(), load_route_prompts(path)
    assert (own["district_timeout_s"], own["goodbye"]) == (12, "再见。")
    assert {k: v for k, v in own.items() if k not in ("district_timeout_s", "goodbye")} == {
        k: v for k, v in shipped.items() if k not in ("district_timeout_s", "goodbye")
    }  # `cannot_continue:` with nothing after it: as shipped
    listed = tmp_path / "listed.yaml"
    listed.write_text("- goodbye\n", encoding="utf-8")
    with pytest.raises(RoutePromptsError, match=r"\(top of the file\): must be a mapping"):
        load_route_prompts(listed)
