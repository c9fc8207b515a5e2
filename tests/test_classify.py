"""Understanding a caller as staff would check it: subject, consult or help, class, 1155 flags, the words behind
each decision; the shipped model rebuilt from the project's own examples; the commands and the bench."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from cli.app import app
from routing.classifier_model import (
    grams,
    read_examples,
    shipped_model_path,
    shipped_training_paths,
    train,
)
from routing.classify import classify, default_taxonomy, load_model
from routing.config import load_routing_data
from routing.decide import decide_route
from routing.normalise import normalise
from routing.service import understand

REPO = Path(__file__).resolve().parents[1]
SHARED_CLASSIFY = REPO.parent / "shared" / "data" / "classify"
XIAN = "我们十三个木工在西安雁塔区宏达建筑公司的曲江花园项目干活 老板欠了我们六十多万 已经十个月没给了 怎么办"


def route_of(menu: str | None, text: str) -> str:
    """The route the service takes for these words: routing.decide.decide_route, the one decider."""
    data = load_routing_data(
        roster=None, unions=None, sla=None, knowledge=None, timezone="Asia/Shanghai", case_window_days=30
    )
    return decide_route(menu, understand(menu, text, data.classifier), text, data).route


def test_thirteen_carpenters_owed_six_hundred_thousand_is_urgent_wage_arrears():
    result = classify("help", XIAN)
    assert (result.subject, result.kind, result.handling_class) == ("wage_arrears", "help", "urgent")
    assert set(result.flags) == {"mass", "large"}
    assert route_of("help", XIAN) == "supervisor"
    flags = {name: d for name, d in result.decisions.items() if name.startswith("flag:")}
    assert flags["flag:mass"].value == "众" and "十三个木工" in flags["flag:mass"].words
    assert flags["flag:large"].value == "大" and "六十多万" in flags["flag:large"].words
    e = result.entities
    assert e.amount.value == 600_000 and e.amount.approximate and e.workers.value == 13
    assert (e.employer, e.project, e.district) == ("宏达建筑公司", "曲江花园项目", "雁塔区")


def test_a_question_about_the_law_is_a_consultation_for_the_lawyers():
    result = classify("legal", "请问工伤十级能赔多少钱")
    assert (result.subject, result.kind, result.handling_class) == ("work_injury", "consult", "consult")
    assert result.legal and route_of(None, "请问工伤十级能赔多少钱") == "lawyer_queue"
    assert not result.flags


def test_a_union_services_question_is_answered_from_the_knowledge_base():
    result = classify("policy", "工会会员卡丢了怎么补办")
    assert result.subject == "union_services" and not result.legal
    assert route_of("policy", "工会会员卡丢了怎么补办") in ("knowledge_base", "operator")


@pytest.mark.parametrize(
    ("said", "subject"),
    [
        ("老板 拖欠 我们 三 个 月 工资 一直 不 给", "wage_arrears"),
        ("公司 一直 不 给 我 交 社保", "social_insurance"),
        ("我 在 工地 干活 摔断 了 腿 老板 不管", "work_injury"),
        ("入职 半年 了 公司 还是 不 跟 我 签 劳动 合同", "labor_contract"),
        ("公司 突然 把 我 辞退 了 一 分钱 补偿 都 没有", "severance"),
        ("我 怀孕 了 公司 要 把 我 辞退", "women_workers"),
        ("送 外卖 的 骑手 被 平台 扣 了 好多 钱", "platform_workers"),
        ("我们 公司 想 成立 工会 不 知道 怎么 办", "union_org"),
    ],
)
def test_recognised_speech_without_punctuation_finds_the_subject(said, subject):
    result = classify("help", said)
    assert result.subject == subject
    assert result.decisions["subject"].words  # staff see why


def test_every_learned_decision_shows_words_the_caller_actually_said():
    text = "公司拖欠我两个月工资还把我辞退了我想问问能不能要补偿"
    result = classify(None, text)
    for name in ("subject", "kind"):
        words = result.decisions[name].words
        assert words and all(w in normalise(text) for w in words)
    assert result.decisions["subject"].confidence > 0.2


def test_a_death_raises_danger_but_a_figure_of_speech_does_not():
    assert "danger" in classify("help", "我哥在工地上出事故死亡了 老板躲起来了").flags
    assert not classify("help", "天天加班累死了 加班费也不给").flags


@pytest.mark.parametrize(
    ("said", "kind"),
    [
        # a dispute the caller is in is help, even asked as a question
        ("我在厂里受伤了老板不给报工伤我能告他吗", "help"),
        ("公司拖了我三个月工资不发，请问我可以申请仲裁吗？", "help"),
        ("本人入职两年公司至今未签合同，现在以试用期为由让我走，怎么办？", "help"),
        # a question about the rules is a consultation, even with the caller's own background
        ("我被辞退了想问问补偿按几个月算", "consult"),
        ("我在公司干了五年，想了解一下年休假有几天？", "consult"),
    ],
)
def test_a_dispute_asked_as_a_question_is_help_and_a_rule_question_is_a_consultation(said, kind):
    assert classify(None, said).kind == kind


def test_a_combination_cue_fires_only_where_both_groups_occur():
    cues = {"dispute": ["不给"], "question": ["吗"], "dispute&question": []}
    assert "§dispute&question" in {g for g, _, _ in grams("老板不给钱我能告他吗", cues)}
    assert "§dispute&question" not in {g for g, _, _ in grams("老板不给钱", cues)}
    assert "§dispute&question" not in {g for g, _, _ in grams("工伤能赔多少吗", cues)}


def test_papers_held_or_an_occupational_hazard_are_no_danger_but_people_held_are():
    assert "danger" not in classify("help", "公司扣押我的身份证不还").flags
    assert "danger" not in classify("legal", "请问职业病危害岗位公司要做哪些防护").flags
    assert "danger" in classify("help", "我们二十个工人被关在厂里不让我们走").flags


def test_threats_repeats_and_hidden_risk():
    assert "hidden" in classify("help", "老板再不给钱我就从楼上跳下去").flags
    repeat = classify("help", "这个事我已经反映过好几次了还是没解决 工资还是拿不到")
    assert "repeat" in repeat.flags and repeat.handling_class == "urgent"


def test_help_that_needs_other_departments_is_complex():
    result = classify("help", "我们申请了劳动仲裁 判决下来了 公司还是不给钱")
    assert result.kind == "help" and result.handling_class == "complex"
    assert "仲裁" in result.decisions["handling_class"].words or "判决" in result.decisions["handling_class"].words


@pytest.mark.parametrize(
    ("choice", "subject", "handling_class", "route"),
    [
        ("legal", "other", "consult", "lawyer_queue"),
        ("help", "wage_arrears", "assist", "local_union"),
        ("policy", "union_services", "consult", "knowledge_base"),
        ("operator", "other", "assist", "operator"),
        (None, "other", "assist", "operator"),
    ],
)
def test_with_nothing_understood_the_menu_choice_decides(choice, subject, handling_class, route):
    for text in ("", "안철수 박근혜"):  # nothing said yet, or not Chinese
        result = classify(choice, text)
        assert (result.subject, result.handling_class, result.route) == (subject, handling_class, route)
        assert result.decisions["subject"].source == "menu"


def test_a_caller_who_asked_for_a_person_keeps_the_operator_route():
    assert route_of("operator", "公司拖欠工资三个月了") == "operator"


def test_classification_as_json_for_the_ticket():
    data = classify("help", XIAN).to_dict()
    assert data["entities"]["amount"] == {"value": 600_000, "approximate": True, "text": "六十多万"}
    assert data["evidence"]["subject"]["value"] == "wage_arrears" and data["evidence"]["subject"]["words"]
    json.dumps(data, ensure_ascii=False)


def test_deterministic_on_the_cpu():
    # (the time per text is measured in bench/classify.py, not asserted here: a loaded machine would fail it)
    texts = [XIAN, "请问工伤十级能赔多少钱", "老板 拖欠 我们 三 个 月 工资", "公司不给交社保怎么办"] * 2
    results = [classify(None, t) for t in texts]
    assert results[0] == results[4] and results[1] == results[5]


def test_training_examples_are_enough_per_subject_and_written_by_the_project():
    examples = [ex for path in shipped_training_paths() for ex in read_examples(path)]
    counts = Counter(ex.subject for ex in examples)
    assert set(counts) == set(default_taxonomy().subjects)
    assert min(counts.values()) >= 40
    assert {ex.kind for ex in examples} == {"consult", "help"}
    assert sum(" " not in ex.text and not any(p in ex.text for p in "，。？！,?") for ex in examples) > 200  # ASR style
    dev = SHARED_CLASSIFY / "dev.tsv"
    if dev.exists():  # the measuring texts never enter the training files
        for data in ("dev.tsv", "weak.tsv"):
            measured = {normalise(ex.text).replace(" ", "") for ex in read_examples(SHARED_CLASSIFY / data)}
            ours = {normalise(ex.text).replace(" ", "") for ex in examples}
            assert not measured & ours, data


def test_the_shipped_model_is_built_from_every_training_file():
    shipped = load_model()
    assert shipped_model_path().stat().st_size < 5_000_000
    built_from = {f["file"]: f["sha256"] for f in shipped.source["files"]}
    now = {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in shipped_training_paths()}
    assert built_from == now, "a training file changed: run hotline classifier train --shipped"
    assert shipped.pinyin and shipped.heads["subject"].calibration is not None  # the shipped settings


def test_training_is_deterministic():
    examples = [ex for path in shipped_training_paths() for ex in read_examples(path)][::12]
    first, second = (train(examples, cues=default_taxonomy().model_cues()) for _ in range(2))
    assert first.vocabulary == second.vocabulary
    for name, head in first.heads.items():
        assert np.abs(second.heads[name].coef - head.coef).max() < 1e-9


def test_the_kind_head_learns_the_hotlines_share_of_disputes():
    # most callers ask a question (classifier_model.KIND_PRIOR): the same examples with a smaller share of help
    # make the same words less likely to be read as a dispute, whatever the examples' own mix
    examples = [ex for path in shipped_training_paths() for ex in read_examples(path)][::12]
    said = "我被公司辞退了补偿按几个月算"
    help_share = {
        share: train(examples, cues=default_taxonomy().model_cues(), kind_prior={"consult": 1 - share, "help": share})
        .predict(said, "kind")
        .probabilities["help"]
        for share in (0.2, 0.5)
    }
    assert help_share[0.2] < help_share[0.5] - 0.05


def test_subject_and_kind_come_with_calibrated_confidence_and_doubts():
    clear = classify(None, "老板拖欠我们三个月工资一直不给")
    assert clear.decisions["subject"].confidence > 0.6 and "subject_unsure" not in clear.doubts
    between = classify(None, "公司把我辞退了还欠我两个月工资")  # severance or wage arrears: a person decides
    assert {"subject_unsure", "subject_close"} <= set(between.doubts)
    assert between.to_dict()["doubts"] == list(between.doubts)
    assert classify("help", "").doubts == ("no_words",)


def test_a_subject_survives_what_the_phone_hears():
    # homophones the recogniser wrote (工资 as 公司, 社保 as 设保, 工伤 as 工商): toneless-pinyin features still read them
    assert classify(None, "老板拖欠我们三个月公资一直不给").subject == "wage_arrears"
    assert classify(None, "公司一直不给我交设保").subject == "social_insurance"


SMALL_TSV = (
    "\n".join(
        [
            "id\ttext\tsubject\tkind\turgent",
            *(f"w{i}\t老板拖欠工资{i}个月不给\twage_arrears\thelp\t0" for i in range(1, 7)),
            *(f"i{i}\t工伤{i}级能赔多少钱\twork_injury\tconsult\t0" for i in range(1, 7)),
            "u1\t我们二十个工人被欠了五十万工资\twage_arrears\thelp\t1",
            "u2\t请问工伤九级赔偿标准\twork_injury\tconsult\t0",
        ]
    )
    + "\n"
)


@pytest.mark.parametrize(
    ("menu", "said", "route", "union"),
    [
        ("help", XIAN, "supervisor", None),  # 众 and 大: urgent
        ("help", "老板欠我三个月工资不给 我在雁塔区", "local_union", "xa-yanta"),  # the district's union
        ("help", "老板欠我三个月工资不给", "dispatcher", None),  # no place said: never a guess
        ("operator", "公司拖欠工资三个月了", "operator", None),  # asked for a person
    ],
)
def test_the_classify_command_shows_the_route_the_service_takes(tmp_path, monkeypatch, menu, said, route, union):
    monkeypatch.chdir(tmp_path)
    shown = CliRunner().invoke(app, ["classify", said, "--menu", menu, "--json"])
    assert shown.exit_code == 0, shown.output
    result = json.loads(shown.stdout)
    assert result["route"] == route == route_of(menu, said)
    assert result["evidence"]["route"]["value"] == route and result["route_reasons"]
    assert (result["union"] or {}).get("id") == union
    for key in ("subject", "kind", "handling_class", "legal", "flags", "entities", "evidence"):
        assert key in result  # the keys scripts read before the route came from decide_route
    table = CliRunner().invoke(app, ["classify", said, "--menu", menu])
    assert table.exit_code == 0 and route in table.stdout and "decide_route" in table.stdout


def test_train_and_classify_commands(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    data = tmp_path / "tickets.tsv"
    data.write_text(SMALL_TSV, encoding="utf-8")
    runner = CliRunner()
    trained = runner.invoke(app, ["classifier", "train", "--data", str(data)])
    assert trained.exit_code == 0, trained.output
    own = tmp_path / "var" / "classifier.json.gz"
    assert own.exists()  # a hotline's own model goes to its var folder, not over the shipped one
    shown = runner.invoke(app, ["classify", "老板拖欠我工资两个月不给", "--menu", "help", "--json"])
    assert shown.exit_code == 0, shown.output
    result = json.loads(shown.stdout)
    assert result["subject"] == "wage_arrears" and result["kind"] == "help"
    assert set(load_model(own).heads["subject"].classes) == {"wage_arrears", "work_injury"}
    table = runner.invoke(app, ["classify", "请问工伤九级能赔多少钱"])
    assert table.exit_code == 0 and "work_injury" in table.stdout
    bad = tmp_path / "bad.tsv"
    bad.write_text("text\tsubject\tkind\n老板欠钱\twages\thelp\n", encoding="utf-8")
    refused = runner.invoke(app, ["classifier", "train", "--data", str(bad)])
    assert refused.exit_code == 1 and "wages" in refused.output


def test_bench_scores_a_labelled_file(tmp_path):
    data = tmp_path / "labelled.tsv"
    data.write_text(SMALL_TSV, encoding="utf-8")
    done = subprocess.run(
        [sys.executable, str(REPO / "bench" / "classify.py"), str(data), "--json"],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=REPO,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    for key in ("accuracy", "macro_f1", "kind_accuracy", "urgent_recall", "urgent_precision", "ms_per_text"):
        assert key in result
    assert result["rows"] == 14 and result["accuracy"] >= 0.9 and result["kind_accuracy"] >= 0.9
    assert result["urgent_recall"] == 1.0 and result["ms_per_text"] > 0  # measured (speed is bench/'s business)


def test_a_figure_asked_about_or_a_retiree_dying_raises_no_flag_but_money_owed_and_a_death_at_work_do():
    # "能赔十万吗" asks about a figure: nothing is owed yet; "欠了我们十五万" is owed.
    assert "large" not in classify(None, "工伤九级能赔十万吗").flags
    assert "large" in classify(None, "包工头欠了我们十五万一直不给").flags
    # A retired worker's death is a pension question; a death on a site is 危.
    assert "danger" not in classify(None, "我外婆是退休职工上周去世了丧葬费怎么领").flags
    assert "danger" in classify(None, "工地上有个工人从楼上摔下来死亡了").flags


def test_the_size_of_a_workplace_is_not_the_number_of_workers_in_the_dispute():
    size = classify(None, "我们公司有两百多名员工一直没有成立工会想问问怎么建会")
    assert size.entities.workers is None and "mass" not in size.flags
    everyone = classify(None, "我们厂里有三百多个工人都两个月没发工资了")
    assert everyone.entities.workers.value == 300 and "mass" in everyone.flags
    hired = classify(None, "老板拖欠我们十二个工人的工资")
    assert hired.entities.workers.value == 12 and "mass" in hired.flags


def test_the_employer_asking_is_a_consultation_and_the_injured_worker_asking_is_help():
    assert classify(None, "我是个包工头手下的工人干活扭伤了脚我要赔多少").kind == "consult"
    assert classify(None, "我老公在厂里被机器轧断了手指厂里只给了三千块").kind == "help"


def test_bench_cross_validates_a_labelled_file(tmp_path):
    data = tmp_path / "labelled.tsv"
    data.write_text(SMALL_TSV, encoding="utf-8")
    done = subprocess.run(
        [sys.executable, str(REPO / "bench" / "classify.py"), str(data), "--cv", "2", "--json"],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=REPO,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert (result["folds"], result["rows"]) == (2, 14)
    assert 0.5 <= result["accuracy"] <= 1.0 and 0.5 <= result["kind_accuracy"] <= 1.0


def test_subject_and_kind_generalise_to_held_out_project_texts():
    # 2-fold cross-validation of the shipped settings on a third of the own examples (a few seconds; bench/RESULTS.md
    # has 5-fold on all of them: subject accuracy 0.90, kind 0.95); a change that loses the gain fails here.
    examples = [ex for path in shipped_training_paths() for ex in read_examples(path)][::3]
    right = kind_right = 0
    for fold in range(2):
        model = train([ex for i, ex in enumerate(examples) if i % 2 != fold], cues=default_taxonomy().model_cues())
        for ex in examples[fold::2]:
            predicted = model.predict_all(ex.text)
            right += predicted["subject"].label == ex.subject
            kind_right += predicted["kind"].label == ex.kind
    assert right / len(examples) >= 0.8 and kind_right / len(examples) >= 0.9  # measured 0.83 and 0.94
