"""No urgent caller missed, typed or as the phone hears them: the 1155 flags on the project's held-out check set,
clean and through the seeded recogniser-noise model; false alarms kept few; the noise model itself."""

from __future__ import annotations

import csv
from functools import lru_cache
from pathlib import Path

import pytest

from routing.classifier_model import read_examples, shipped_training_paths
from routing.classify import classify
from routing.heard import RecogniserNoise, restore_numerals, toneless
from speech.evaluation import edit_distance, scoring_chars

REPO = Path(__file__).resolve().parents[1]
CHECK = REPO / "tests" / "data" / "urgency_check.tsv"

# Danger as callers say it (the three first): each must be flagged 危, typed and as heard.
DANGER = [
    "工地脚手架塌了，有人受伤，老板不让送医院",
    "有工人从楼上摔下来了，现在还在流血",
    "老板说要是再讨薪就打断我们的腿",
    "车间里煤气泄漏了好几个人头晕恶心",
    "仓库着火了我们还有工友困在里面",
    "老板把我们十几个人锁在宿舍里不让出去",
    "我们一个工友站在楼顶上说拿不到工钱就跳下去",
    "去讨工资包工头带了一帮人把我们打了",
]


@lru_cache(maxsize=1)
def inventory() -> str:
    """The characters the noise model swaps in: those of the project's own training texts."""
    return "".join(ex.text for path in shipped_training_paths() for ex in read_examples(path))


@pytest.fixture(scope="module")
def noise() -> RecogniserNoise:
    return RecogniserNoise(0.2, seed=12351, inventory=inventory())


def check_rows() -> list[dict]:
    with open(CHECK, encoding="utf-8", newline="") as fh:
        reader = csv.DictReader(
            (line for line in fh if not line.startswith("#")), delimiter="\t", quoting=csv.QUOTE_NONE
        )
        return [row for row in reader if row.get("text", "").strip()]


@pytest.mark.parametrize("said", DANGER)
def test_danger_is_flagged_as_typed(said):
    result = classify(None, said)
    assert "danger" in result.flags and result.handling_class == "urgent"
    assert all(w for w in result.decisions["flag:danger"].words)  # staff see the words


def test_danger_survives_homophones_and_dropped_characters():
    # what a recogniser writes: 摔 heard right but 楼 as 漏, 流血 as 流雪, 塌了 as 他了, 受伤 as 受上
    heard = {
        "有工人从漏上摔下来了现在还在流雪": "流血",
        "工地脚手架他了有人受上老板不让送一院": "有人受伤",
        "老板说要是再讨薪就打断我门的腿": "打断我们的腿",
    }
    for said, cue in heard.items():
        result = classify(None, said)
        assert "danger" in result.flags, said
        words = result.decisions["flag:danger"].words
        assert any(w.endswith(f"≈{cue}") for w in words), words  # shown as heard, with the cue it was taken for


def test_each_danger_sentence_through_the_noise_model_is_still_flagged():
    for seed in (1, 2, 3):
        heard = RecogniserNoise(0.2, seed=seed, inventory=inventory())
        missed = [text for text in DANGER if not classify(None, heard.hear(text)).urgent]
        assert len(missed) <= 1, missed


def test_no_danger_in_a_pension_question_or_a_figure_of_speech_even_misheard():
    assert not classify(None, "我外婆是退休职工上周去世了丧葬费怎么领").flags
    assert not classify(None, "天天加班累死了 加班费也不给").flags
    assert not classify(None, "天天加班类死了加班费也不给").flags  # 累 heard as 类: still a figure of speech
    assert not classify(None, "我所在单位一直不给交社保").flags  # 所在 is a word of its own, not 锁在
    assert not classify(None, "在厂里和同事吵架被他打伤了算工伤吗").flags  # a fight between workmates, asked about


def test_crowds_and_an_absconding_boss_with_many_unpaid():
    assert "mass" in classify(None, "整个车间的人三个月没发工资了").flags
    assert "mass" in classify(None, "我们几十个工人在工地上等着要钱").flags
    boss_gone = classify(None, "包工头跑路了我们一群工人的工钱都没着落")
    assert "mass" in boss_gone.flags
    assert "mass" not in classify(None, "包工头跑路了我的工钱没着落").flags  # one worker: help, not 众
    heard = classify(None, "我们三时个工人被欠了六十多晚")  # 十 heard as 时, 万 as 晚
    assert {"mass", "large"} <= set(heard.flags)


def test_a_flag_raised_only_by_sound_asks_a_person_to_confirm():
    by_sound = classify(None, "有工人从漏上摔下来现在还在留雪")
    assert by_sound.urgent and "urgency_by_sound" in by_sound.doubts
    assert "urgency_by_sound" in by_sound.to_dict()["doubts"]
    typed = classify(None, "有工人从楼上摔下来了，现在还在流血")
    assert "urgency_by_sound" not in typed.doubts


def test_the_check_set_urgent_rows_are_flagged_and_near_misses_are_not():
    rows = check_rows()
    urgent = [r for r in rows if r["urgent"].strip() == "1"]
    near = [r for r in rows if r["urgent"].strip() == "0"]
    assert len(urgent) >= 20 and len(near) >= 10
    missed = [r["id"] for r in urgent if not classify(None, r["text"]).urgent]
    assert len(missed) <= 0.05 * len(urgent), missed
    danger_missed = [r["id"] for r in urgent if "danger" in r["flags"] and not classify(None, r["text"]).urgent]
    assert not danger_missed
    # The near misses are written to trap the rules (a fire drill, a flat that fell in, money lost in a scam):
    # at most one in four may raise a flag (measured: 10 of 52), each a ticket a person looks at, not a missed caller.
    alarms = [r["id"] for r in near if classify(None, r["text"]).urgent]
    assert len(alarms) <= 0.25 * len(near), alarms


def test_the_check_set_as_the_phone_hears_it(noise):
    rows = [r for r in check_rows() if r["urgent"].strip() == "1"]
    missed = [r["id"] for r in rows if not classify(None, noise.hear(r["text"])).urgent]
    assert len(missed) <= 0.15 * len(rows), missed  # at one character in five misheard or dropped: ≥ 85 %


def test_the_noise_model_makes_errors_at_its_rate_and_the_same_ones_each_time(noise):
    texts = [ex.text for ex in read_examples(shipped_training_paths()[0])][:400]
    errors = chars = 0
    for text in texts:
        said = scoring_chars(noise.spoken(text), "han")
        errors += edit_distance(said, scoring_chars(noise.hear(text), "han"))
        chars += len(said)
    assert 0.16 <= errors / chars <= 0.24
    assert noise.hear(texts[0]) == RecogniserNoise(0.2, seed=12351, inventory=inventory()).hear(texts[0])
    assert RecogniserNoise(0.0, inventory=inventory()).hear("老板欠我们6000元！") == "老板欠我们六千元"


def test_a_homophone_sounds_the_same_without_tones(noise):
    for ch in "流血塌伤楼":
        swaps = noise.homophones(ch)
        assert swaps and all(set(toneless(s)) & set(toneless(ch)) for s in swaps[:5])


def test_numerals_heard_as_homophones_are_restored_next_to_numerals_only():
    assert restore_numerals("三时个工人欠了六十多晚") == "三十个工人欠了六十多万"
    assert restore_numerals("我是个包工头") == "我是个包工头"


def test_a_head_count_whose_people_were_misheard_is_still_many_workers():
    # 人 heard as 任/忍/认, 名 as 明, after a numeral and its measure word: still a crowd of workers
    assert restore_numerals("我们十八哥忍在这边干活") == "我们十八个人在这边干活"
    assert restore_numerals("三百多明员工") == "三百多名员工"
    assert "mass" in classify(None, "厂里八十余认的工资停发了").flags
    heard = classify(None, "我们装修队十二个任干了两个月老板一分钱没给").decisions["flag:mass"]
    assert heard.source == "rule" and heard.words == ("十二个人",)  # the rules' words, not the learned head's guess
    # an everyday word after the numeral is what was said: no crowd
    assert restore_numerals("还有十几个任务没完成") == "还有十几个任务没完成"
    assert "mass" not in classify(None, "我手上还有十几个任务没完成老板就不给我结工资").flags


def test_a_numeral_whose_unit_the_phone_dropped_is_still_a_crowd_or_a_large_sum():
    # "三多名" and "三多万" are no Chinese: the phone lost the 十 or 百 (三十多 / 三百多)
    assert "mass" in classify(None, "公司三多名员工的工资都被拖欠了").flags
    assert "large" in classify(None, "老板欠我们工程款三多万一直不给").flags
    # as said, a handful of workers and a small sum raise nothing
    typed = classify(None, "公司三名员工的工资被拖欠了三千多")
    assert "mass" not in typed.flags and "large" not in typed.flags


def test_a_flag_the_rules_missed_comes_from_the_learned_head_and_asks_a_person():
    # no cue word of the rules here: someone who collapsed at work
    result = classify(None, "车间里有个人干着干着就倒下去了")
    flag = result.decisions["flag:danger"]
    assert result.urgent and flag.source == "model" and flag.words and "urgency_by_model" in result.doubts
    # too few words to judge: the learned head only raises a doubt, the rules decide
    short = classify(None, "老板欠我工资")
    assert not short.urgent and not short.flags
