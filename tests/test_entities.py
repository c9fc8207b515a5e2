"""Facts read from a caller's words: money, head-count, employer, site, place, how long unpaid; names compared."""

from __future__ import annotations

import pytest

from routing.entities import extract
from routing.names import name_key, same_name
from speech.numbers import find_numbers


@pytest.mark.parametrize(
    ("said", "value", "approximate"),
    [
        ("六十多万", 600_000, True),
        ("一万二", 12_000, False),
        ("3万5", 35_000, False),
        ("1.5万", 15_000, False),
        ("十几个", 10, True),
        ("三四个", 4, True),
        ("两百多", 200, True),
        ("二十三万七千", 237_000, False),
        ("一千零五", 1005, False),
        ("四十万左右", 400_000, True),
        ("10,500", 10_500, False),
    ],
)
def test_spoken_numbers_have_a_value_and_say_when_they_are_approximate(said, value, approximate):
    (number,) = find_numbers(said)
    assert (number.value, number.approximate) == (value, approximate)


def test_words_that_only_look_like_numbers_are_not_numbers():
    assert find_numbers("千万别让老板知道") == []
    assert find_numbers("万达广场") == []


@pytest.mark.parametrize(
    ("said", "value", "approximate"),
    [
        ("三千五", 3500, False),
        ("两万", 20_000, False),
        ("二零二三", 2023, False),
        ("幺三八", 138, False),
        ("3k", 3000, False),
        ("2w", 20_000, False),
        ("俩", 2, False),
        ("十几万", 100_000, True),
        ("五六十万", 600_000, True),
        ("八千出头", 8000, True),
    ],
)
def test_more_spoken_numbers(said, value, approximate):
    (number,) = find_numbers(said)
    assert (number.value, number.approximate) == (value, approximate)


def test_runs_that_are_not_one_number():
    # An Arabic and a Chinese digit side by side, or a digit after 多, start a new number.
    assert [n.text for n in find_numbers("按160一天包干")] == ["160", "一"]
    assert [n.text for n in find_numbers("三万多四个月")] == ["三万多", "四"]
    assert find_numbers("十二五") == []  # no number cn2an can read: skipped
    assert [n.text for n in find_numbers("欠了500,还有")] == ["500"]  # a trailing comma is no thousands comma


def test_the_xian_carpenters_as_vosk_hears_them():
    # Vosk: spaces between words, no punctuation, numbers in Chinese characters.
    said = (
        "我们 十三 个 木工 在 西安 雁塔区 宏达 建筑 公司 的 曲江 花园 项目 干活 "
        "老板 欠 了 我们 六十 多万 已经 十 个 月 没 给 了"
    )
    e = extract(said)
    assert e.amount.value == 600_000 and e.amount.approximate and e.amount.text == "六十多万"
    assert e.workers.value == 13 and not e.workers.approximate and "木工" in e.workers.text
    assert e.employer == "宏达建筑公司"
    assert e.project == "曲江花园项目"
    assert (e.city, e.district) == ("西安", "雁塔区")
    assert e.unpaid.value == 10


def test_the_chongqing_site_typed_with_punctuation():
    e = extract("您好，我们10个工人在重庆渝北区一个工地干活，包工头欠了大概40万左右，一直不给。")
    assert e.amount.value == 400_000 and e.amount.approximate
    assert e.workers.value == 10
    assert (e.city, e.district) == ("重庆", "渝北区")
    assert e.project is None  # "一个工地" names no site


def test_herders_on_one_repair_project():
    e = extract("我们四个牧民在不同的分包老板手下干同一个修缮项目 一共被欠了二十三万 有一个已经十个月没拿到钱")
    assert (e.workers.value, e.amount.value, e.unpaid.value) == (4, 230_000, 10)
    assert e.project == "修缮项目"
    assert e.employer is None  # "分包老板" is no one's name


def test_a_monthly_wage_is_not_the_amount_owed():
    e = extract("我月工资五千块 公司三个多月没发了")
    assert e.amount is None
    assert e.unpaid.value == 3 and e.unpaid.approximate


def test_full_width_digits_and_a_boss_by_name():
    e = extract("李老板欠我工资１０５００元，写了欠条")
    assert e.amount.value == 10_500 and e.employer == "李老板"


def test_townships_and_generic_places():
    e = extract("我在深圳宝安区福永街道一家电子厂上班，厂里拖欠了两个月工资")
    assert (e.city, e.district, e.township) == ("深圳", "宝安区", "福永街道")
    assert e.employer is None  # "一家电子厂": no name said
    assert extract("我住的小区门口有人摆摊").district is None


def test_entities_as_plain_json_leave_out_what_was_not_said():
    data = extract("老板欠我们八个人三万五").to_dict()
    assert data == {
        "amount": {"value": 35_000, "approximate": False, "text": "三万五"},
        "workers": {"value": 8, "approximate": False, "text": "八个人"},
    }


def test_employer_names_said_differently_are_the_same():
    assert name_key("陕西省西安市宏达建筑有限公司") == "宏达建筑"
    assert same_name("西安宏达建筑有限公司", "宏达建筑公司")
    assert same_name("宏达电子厂", "宏达电子有限公司")
    assert not same_name("宏达建筑公司", "宏远建筑公司")
    assert not same_name("某某建筑公司", "宏达建筑公司")  # a placeholder names nobody
    assert not same_name(None, "宏达建筑公司")
