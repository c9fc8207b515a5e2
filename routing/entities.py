"""What a caller's words say about the dispute: money at stake, how many workers, who, where, how long unpaid.

Rules, not learning: each entity keeps the words it was read from, so staff can check it against the call.
Works on recognised speech without punctuation and with Chinese numerals ("十三个木工 六十多万").
"""

from __future__ import annotations

import re
from collections.abc import Container
from dataclasses import asdict, dataclass
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Any

from pydantic import AfterValidator, Field

from hotline.data_files import DataModel, load_yaml
from routing.normalise import normalise
from speech.numbers import Number, find_numbers

_HAN = "\u4e00-\u9fff"
_NAME = f"[{_HAN}A-Za-z0-9]"

MONEY_AFTER = ("块钱", "元钱", "元", "块", "圆", "快钱")
RATE_BEFORE = (
    "每个月",
    "每月",
    "一个月",
    "月薪",
    "月工资",
    "底薪",
    "日薪",
    "每天",
    "一天",
    "时薪",
    "每小时",
    "一小时",
    "年薪",
    "每平",
    "一平",
    "每吨",
    "一吨",
    "每方",
    "一方",
    "单价",
    "工价",
    "一趟",
    "每趟",
    "一单",
    "每单",
)
RATE_AFTER = (
    "一个月",
    "每个月",
    "每月",
    "一月",
    "/月",
    "一天",
    "每天",
    "/天",
    "一小时",
    "每小时",
    "一平",
    "一年",
    "每年",
    "一趟",
    "一单",
)
MONEY_BEFORE = ("工资", "工钱", "欠款", "欠了", "欠我", "欠", "钱", "费", "金", "共", "合计", "一共", "总共")
NOT_MONEY_AFTER = (*tuple("人个名位号年月日天号岁次平米吨斤件台户家层楼级点分秒条根把栋期"), "多人", "多个", "小时")

PEOPLE = (
    "农民工",
    "工人",
    "员工",
    "职工",
    "工友",
    "兄弟",
    "师傅",
    "同事",
    "老乡",
    "民工",
    "伙计",
    "学徒",
    "木工",
    "瓦工",
    "泥工",
    "钢筋工",
    "电工",
    "焊工",
    "架子工",
    "油漆工",
    "水电工",
    "小工",
    "技工",
    "杂工",
    "保洁",
    "保安",
    "骑手",
    "外卖员",
    "快递员",
    "司机",
    "牧民",
    "护工",
    "老师",
    "人",
)
PEOPLE_MEASURE = ("个", "名", "位", "号", "多个", "来个", "余名", "多名")

EMPLOYER_SUFFIXES = (
    "股份有限公司",
    "有限责任公司",
    "有限公司",
    "集团公司",
    "集团",
    "分公司",
    "公司",
    "工厂",
    "厂",
    "酒店",
    "饭店",
    "餐厅",
    "酒楼",
    "超市",
    "商场",
    "医院",
    "学校",
    "幼儿园",
    "物业",
    "工作室",
    "门店",
    "店",
    "会所",
    "车队",
    "劳务队",
    "施工队",
    "工程队",
    "矿",
)
PROJECT_SUFFIXES = (
    "项目部",
    "项目",
    "工地",
    "标段",
    "工程",
    "小区",
    "花园",
    "花苑",
    "家园",
    "公馆",
    "大厦",
    "广场",
    "楼盘",
    "产业园",
    "工业园",
    "园区",
    "安置房",
    "号楼",
    "大桥",
    "隧道",
    "地铁站",
)
NOT_PROJECT_AFTER = ("款", "队", "师", "量", "费", "经理", "老板", "公司", "上", "里")
NOT_EMPLOYER_AFTER = ("长", "里", "家", "房", "区", "门口", "方", "商", "主", "子", "员")
# Words that stop a name when read leftwards from its suffix ("我在|西安宏达建筑公司").
BOUNDARIES = (
    "上班",
    "打工",
    "干活",
    "做工",
    "工作",
    "就职",
    "入职",
    "任职",
    "应聘",
    "一家",
    "一个",
    "这家",
    "那家",
    "这个",
    "那个",
    "我们",
    "他们",
    "你们",
    "老板",
    "包工头",
    "都是",
    "就是",
    "还是",
    "但是",
    "可是",
    "现在",
    "以前",
    "之前",
    "去年",
    "今年",
    "前年",
    "后来",
    "然后",
    "结果",
    "所以",
    "因为",
    "在",
    "给",
    "于",
    "到",
    "跟",
    "替",
    "帮",
    "去",
    "是",
    "的",
    "了",
    "和",
    "与",
    "被",
    "让",
    "把",
    "对",
    "向",
    "叫",
    "说",
    "找",
    "从",
    "进",
    "为",
    "同",
    "我",
    "你",
    "他",
    "她",
    "它",
    "们",
    "欠",
    "拖",
    "在",
    "及",
    "或",
    "说",
    "没",
    "不",
    "也",
    "都",
    "就",
    "还",
    "又",
    "要",
    "想",
    "请",
    "问",
    "个",
    "做",
    "报告",
    "送往",
    "以致",
    "举报",
    "反映",
    "投诉",
    "时候",
    "均系",
    "按照",
    "提供",
    "建议",
    "荣获",
    "通过",
    "属于",
    "位于",
    "关于",
    "但",
    "由",
    "系",
    "往",
    "入",
    "向",
    "据",
    "经",
    "按",
    "临",
    "将",
    "其",
    "此",
    "却",
    "拿",
    "着",
    "并",
    "等",
    "很多",
    "一些",
    "多家",
    "各个",
    "所有",
    "有",
)
GENERIC_NAME_WORDS = (
    "某某",
    "某",
    "私人",
    "私营",
    "民营",
    "国营",
    "国有",
    "外资",
    "合资",
    "个体",
    "小",
    "大",
    "黑",
    "原",
    "本",
    "该",
    "新",
    "老",
    "建筑",
    "劳务",
    "装修",
    "装饰",
    "物流",
    "快递",
    "科技",
    "贸易",
    "服装",
    "电子",
    "餐饮",
    "食品",
    "家具",
    "机械",
    "化工",
    "工程",
    "建设",
    "保安",
    "保洁",
    "外包",
    "施工",
    "在建",
    "总包",
    "分包",
    "承包",
    "安装",
    "运输",
    "物业",
    "加工",
    "制造",
    "包装",
    "印刷",
    "五金",
    "塑料",
    "纺织",
    "鞋",
    "玩具",
    "汽修",
    "修理",
    "培训",
    "教育",
    "文化",
    "传媒",
    "网络",
    "信息",
    "置业",
    "地产",
    "房地产",
    "开发",
    "投资",
    "管理",
    "服务",
    "实业",
    "工贸",
    "商贸",
    "事务",
    "咨询",
    "这",
    "那",
    "一",
    "哪",
    "每",
    "各",
    "别的",
    "其他",
    "同一",
    "一样",
    "所在",
    "整个",
    "市政",
    "道路",
    "住宅",
    "商品房",
    "厂房",
    "宿舍",
    "别墅",
    "门窗",
    "钢结构",
    "水电",
    "二期",
    "一期",
    "三期",
    "二次",
    "主体",
    "土建",
    "绿化",
    "酒",
    "饭",
    "药",
    "理发",
    "美容",
    "美发",
    "美甲",
    "火锅",
    "面",
    "奶茶",
    "服装厂",
    "电子厂",
    "鞋厂",
    "工",
    "一家",
    "家",
    "私人工",
    "人力资源",
    "劳务派遣",
    "派遣",
    "中介",
    "工地",
    "项目",
    "很多",
    "一些",
    "多家",
    "响应",
    "集团化",
    "周边",
)
SURNAMES = (
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任"
    "沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔"
    "向汤常温康施文牛樊葛邢安齐易乔伍庞颜倪庄聂章鲁岳翟殷詹申欧耿关兰焦俞左柳甘祝包宁尚符舒阮柯纪梅童凌"
    "毕单季裴霍涂成苗谷盛曲翁冉骆蓝路游辛靳管柴蒙鲍华喻祁蒲房滕屈饶解牟艾尤阳时穆农司卓古吉缪简车项连芦"
    "麦褚娄窦戚岑景党宫费卜冷晏席卫米柏宗瞿桂全佟应臧闵苟邬边卞姬师和仇栾隋商刁沙荣巫寇桑郎甄丛仲虞敖巩"
    "明佘池查麻苑迟邝"
)
BOSS_TITLES = ("包工头", "老板娘", "老板", "工头", "老总", "经理", "班组长", "总")
ADMIN_SUFFIXES = ("自治县", "开发区", "高新区", "新区", "区", "县", "旗")
TOWN_SUFFIXES = ("街道", "镇", "乡", "苏木")
NOT_DISTRICT_BEFORE = set("小社园景城市郊地山牧厂矿营校灾片库街专分辖军禁灾病区边")
NOT_TOWN = (
    "城镇",
    "乡镇",
    "小镇",
    "村镇",
    "重镇",
    "古镇",
    "老乡",
    "家乡",
    "城乡",
    "同乡",
    "故乡",
    "下乡",
    "回乡",
    "外乡",
    "他乡",
    "本乡",
    "思乡",
    "异乡",
    "这条街道",
    "街道办",
)

OWING = (
    "没发",
    "没给",
    "未发",
    "未付",
    "未结",
    "没结",
    "不发",
    "不给",
    "拖欠",
    "欠",
    "没拿到",
    "没领到",
    "拿不到",
    "要不到",
    "没到手",
    "没有发",
    "没有给",
    "没有结",
    "压着",
    "扣着",
)
DURATION_UNITS = {"年": 12.0, "月": 1.0, "星期": 0.25, "礼拜": 0.25, "周": 0.25, "天": 1 / 30}
_DURATION = re.compile("(?P<ge>个)?多?(?:个)?(?P<unit>年|月|星期|礼拜|周|天)")


@dataclass(frozen=True)
class Quantity:
    """A number read from the caller's words, whether they were approximate, and the words themselves."""

    value: float
    approximate: bool
    text: str


# Each entity's name as staff read it (the JSON keeps the names: amount, workers, ...).
ENTITY_LABELS = {
    "amount": "金额",
    "workers": "人数",
    "employer": "单位",
    "project": "项目",
    "city": "城市",
    "district": "区县",
    "township": "乡镇街道",
    "unpaid": "欠薪时长",
}


@dataclass(frozen=True)
class Entities:
    """The facts of a dispute that staff need first; None where the caller did not say."""

    amount: Quantity | None = None  # yuan owed or at stake
    workers: Quantity | None = None  # head-count involved
    employer: str | None = None  # company, factory, shop, or the boss by name
    project: str | None = None  # project or site
    city: str | None = None
    district: str | None = None  # 区 / 县 level
    township: str | None = None  # 镇 / 乡 / 街道
    unpaid: Quantity | None = None  # how long unpaid, in months

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON: strings, and {value, approximate, text} for the quantities; absent ones left out."""
        out: dict[str, Any] = {}
        for key, value in asdict(self).items():
            if isinstance(value, dict) and float(value["value"]).is_integer():
                out[key] = {**value, "value": int(value["value"])}
            elif value is not None:
                out[key] = value
        return out

    def describe(self) -> list[str]:
        """One short line per entity, for a staff note: "金额≈600000元（六十多万）"."""
        lines = []
        for label, qty, unit in (
            ("金额", self.amount, "元"),
            ("人数", self.workers, "人"),
            ("欠薪时长", self.unpaid, "个月"),
        ):
            if qty is not None:
                lines.append(f"{label}{'≈' if qty.approximate else '='}{qty.value:g}{unit}（{qty.text}）")
        for label, value in (
            ("单位", self.employer),
            ("项目", self.project),
            ("城市", self.city),
            ("区县", self.district),
            ("乡镇街道", self.township),
        ):
            if value:
                lines.append(f"{label}：{value}")
        return lines


def _place_name(value: str) -> str:
    if not re.fullmatch(f"[{_HAN}]+", value):
        raise ValueError(f"a place name is written in Chinese characters, not {value!r}")
    if value.endswith(("省", "市")) and len(value) > 2:
        raise ValueError(f"write the short form people say, {value[:-1]!r}: 省 or 市 after it is heard anyway")
    return value


PlaceNames = Annotated[tuple[Annotated[str, AfterValidator(_place_name)], ...], Field(min_length=1)]


class PlacesFile(DataModel):
    """The place names file (routing/data/places.yaml) as written."""

    provinces: PlaceNames
    cities: PlaceNames


@lru_cache(maxsize=2)
def place_names(path: Path | None = None) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(provinces, cities), longest first, from the place names file (default: the shipped one)."""
    places = load_yaml(PlacesFile, path, ("routing.data", "places.yaml"))

    def by_length(names: tuple[str, ...]) -> tuple[str, ...]:
        return tuple(sorted(set(names), key=len, reverse=True))

    return by_length(places.provinces), by_length(places.cities)


def extract(text: str) -> Entities:
    """Everything `Entities` holds that the words say."""
    text = normalise(text)
    numbers = find_numbers(text)
    city, district, township, place_spans = _place(text)
    return Entities(
        amount=_amount(text, numbers),
        workers=_workers(text, numbers),
        employer=_employer(text, place_spans),
        project=_project(text, place_spans),
        city=city,
        district=district,
        township=township,
        unpaid=_unpaid(text, numbers),
    )


# --- money -------------------------------------------------------------------------------------------------


def _is_money(text: str, n: Number) -> bool:
    after = text[n.end : n.end + 3].lstrip("多余来左右")
    if after.startswith(MONEY_AFTER):
        return True
    if after.startswith(NOT_MONEY_AFTER) or text[n.end : n.end + 2] in ("多人", "多个", "来个", "来人", "多年", "多月"):
        return False
    if n.value >= 1000 and re.search("[万亿千kKwW]", n.text):
        return True
    before = text[max(0, n.start - 3) : n.start]
    return n.value >= 100 and before.endswith(MONEY_BEFORE) and not re.fullmatch(r"(19|20)\d\d", n.text)


def _is_rate(text: str, n: Number) -> bool:
    before = text[max(0, n.start - 6) : n.start]
    after = text[n.end : n.end + 6].lstrip("多余来块元钱左右的")
    return any(before.endswith(w) or before[-len(w) - 1 : -1] == w for w in RATE_BEFORE) or after.startswith(RATE_AFTER)


def _amount(text: str, numbers: list[Number]) -> Quantity | None:
    """The largest sum of money that is not a rate (a month's pay, a price per square metre)."""
    sums = [n for n in numbers if _is_money(text, n) and not _is_rate(text, n)]
    if not sums:
        return None
    best = max(sums, key=lambda n: n.value)
    return Quantity(best.value, best.approximate, _span_text(text, best))


def _span_text(text: str, n: Number) -> str:
    end = n.end
    tail = re.match("(?:多|余|来)?(?:块钱|元钱|万元|元|块|圆)?(?:左右|上下|出头)?", text[end:])
    return text[n.start : end + (tail.end() if tail else 0)]


# --- workers -----------------------------------------------------------------------------------------------

_NOUNS = "|".join(map(re.escape, sorted(PEOPLE, key=len, reverse=True)))
_BY_MEASURE = re.compile(f"(?:多|余|来)?(?:名|位)(?:{_NOUNS})?")  # 名 and 位 count people, whatever follows
_BY_NOUN = re.compile(f"(?:多|余|来)?(?:个|号)?(?:多)?(?:{_NOUNS})")


# "公司有两百多名员工", "企业有职工三百余人": the size of the workplace, not the workers in the dispute, unless the
# words go on to say they all are ("厂里有三百多工人都没拿到钱").
_SIZE_BEFORE = re.compile(
    "(?:公司|企业|单位|厂|工厂|厂子|集团|店|门店|医院|学校)(?:里|内)?(?:现在|目前)?(?:共|总共|一共)?有"
    "(?:员工|职工|工人|在职员工|干部职工)?(?:大概|大约|差不多|近|约)?$"
)
_ALL_INVOLVED = ("都", "全部", "全都", "一起", "集体", "全体")


def _is_workplace_size(text: str, n: Number, end: int) -> bool:
    if not _SIZE_BEFORE.search(text[max(0, n.start - 14) : n.start]):
        return False
    return not any(word in text[end : end + 8] for word in _ALL_INVOLVED)


def _workers(text: str, numbers: list[Number]) -> Quantity | None:
    """The largest head-count in the dispute: "13个木工", "十几个人", "三百多名员工", "60几名退休人员"."""
    best: Quantity | None = None
    for n in numbers:
        if not 2 <= n.value <= 100_000 or re.fullmatch(r"(19|20)\d\d", n.text) or text[n.start - 1 : n.start] == "第":
            continue
        match = _BY_MEASURE.match(text, n.end) or _BY_NOUN.match(text, n.end)
        if not match or text[match.end() - 1 : match.end() + 1] in ("人民", "人家"):
            continue
        if _is_workplace_size(text, n, match.end()):
            continue
        if best is None or n.value > best.value:
            approx = n.approximate or any(ch in match.group() for ch in "多余来")
            best = Quantity(n.value, approx, text[n.start : match.end()])
    return best


# --- names: employer, project ------------------------------------------------------------------------------


def _left_name(text: str, end: int, suffix: str, stops: list[tuple[int, int]], max_len: int = 14) -> str | None:
    """The name that ends at `end` with `suffix`, read leftwards up to a boundary word; None when generic."""
    start = max(0, end - len(suffix) - max_len)
    for _, e in stops:  # a place or an earlier name ends where this one may begin
        if start < e <= end - len(suffix):
            start = e
    window = text[start : end - len(suffix)]
    cut = 0
    for word in BOUNDARIES:
        idx = window.rfind(word)
        if idx >= 0:
            cut = max(cut, idx + len(word))
    core = window[cut:]
    core = re.sub(r"^.*\d{2,4}年", "", core)  # "2004年岳化总厂": the year is not the name
    core = re.sub(f"^[^{_HAN}A-Za-z0-9]+", "", core)
    if not re.fullmatch(f"{_NAME}*", core):
        core = re.split(f"[^{_HAN}A-Za-z0-9]", core)[-1]
    if is_generic_name(core):
        return None
    return core + suffix


def is_generic_name(core: str) -> bool:
    """Whether a name's distinctive part is empty once industry words and placeholders are taken out
    ("某某建筑", "私人工厂": yes; "宏达建筑": no)."""
    rest = core
    changed = True
    while changed and rest:
        changed = False
        for word in sorted(GENERIC_NAME_WORDS, key=len, reverse=True):
            if rest.startswith(word) or rest.endswith(word):
                rest = rest[len(word) :] if rest.startswith(word) else rest[: -len(word)]
                changed = True
                break
    rest = re.sub(r"^[\d一二三四五六七八九十]+[期号]?$", "", rest)
    return len(rest) < 2 and not (len(rest) == 1 and len(core) >= 3 and "某" not in core)


def _suffix_hits(text: str, suffixes: tuple[str, ...], not_after: tuple[str, ...]) -> list[tuple[int, str]]:
    pattern = re.compile("|".join(map(re.escape, sorted(suffixes, key=len, reverse=True))))
    hits = []
    for match in pattern.finditer(text):
        if text[match.end() :].startswith(not_after):
            continue
        hits.append((match.end(), match.group()))
    return hits


def _longest_name(
    text: str, suffixes: tuple[str, ...], not_after: tuple[str, ...], stops: list[tuple[int, int]]
) -> str | None:
    """The longest name ending in one of `suffixes` (公司, 项目, ...), read leftwards from the suffix."""
    names = [
        name
        for end, suffix in _suffix_hits(text, suffixes, not_after)
        if (name := _left_name(text, end, suffix, stops))
    ]
    return max(names, key=len) if names else None


def _employer(text: str, stops: list[tuple[int, int]]) -> str | None:
    named = _longest_name(text, EMPLOYER_SUFFIXES, NOT_EMPLOYER_AFTER, stops)
    if named:
        return named
    for boss in _BOSS.finditer(text):
        if boss.group(1) and text[boss.start() - 1 : boss.start()] in _COMPOUND_BEFORE:  # 分包老板, 总包老板
            continue
        if boss.group().endswith("总") and text[boss.end() : boss.end() + 1] in _NOT_AFTER_ZONG:
            continue
        if boss.group() in ("包工头", "包老板"):
            continue
        return boss.group()
    return None


_TITLES = "|".join(BOSS_TITLES)
_BOSS = re.compile(
    f"([{SURNAMES}])(?:{_TITLES})|(?:{_TITLES})(?:姓|叫)([{SURNAMES}][{_HAN}]{{0,2}}?)"
    f"(?=[^{_HAN}]|的|他|她|说|欠|不|没|跑|$)"
)
_COMPOUND_BEFORE = set("分总承转外发大小")
_NOT_AFTER_ZONG = set("包共是部公经体计额算之")


def _project(text: str, stops: list[tuple[int, int]]) -> str | None:
    return _longest_name(text, PROJECT_SUFFIXES, NOT_PROJECT_AFTER, stops)


# --- places ------------------------------------------------------------------------------------------------


def _place(text: str) -> tuple[str | None, str | None, str | None, list[tuple[int, int]]]:
    """City, district (区/县) and township (镇/乡/街道) named in the text, and where each ends."""
    provinces, cities = place_names()
    spans: list[tuple[int, int]] = []
    city = None
    for name in cities:
        idx = text.find(name)
        if idx >= 0:
            end = idx + len(name) + (1 if text[idx + len(name) :].startswith("市") else 0)
            city = text[idx:end]
            spans.append((idx, end))
            break
    for name in provinces:
        idx = text.find(name)
        if idx >= 0:
            end = idx + len(name) + (1 if text[idx + len(name) :].startswith("省") else 0)
            spans.append((idx, end))
            break
    district = _admin(text, ADMIN_SUFFIXES, spans, forbid_before=NOT_DISTRICT_BEFORE)
    if district:
        spans.append(district[1])
    township = _admin(text, TOWN_SUFFIXES, spans, forbid=NOT_TOWN, cut_after="省市区县旗")
    if township:
        spans.append(township[1])
    return city, district[0] if district else None, township[0] if township else None, spans


def _cut_left(window: str) -> str:
    cut = 0
    for word in BOUNDARIES:
        idx = window.rfind(word)
        if idx >= 0:
            cut = max(cut, idx + len(word))
    return window[cut:]


def _admin(
    text: str,
    suffixes: tuple[str, ...],
    spans: list[tuple[int, int]],
    *,
    forbid_before: Container[str] = frozenset(),
    forbid: tuple[str, ...] = (),
    cut_after: str = "省市",
) -> tuple[str, tuple[int, int]] | None:
    pattern = re.compile("|".join(map(re.escape, suffixes)))
    for match in pattern.finditer(text):
        end = match.end()
        if any(w in text[max(0, match.start() - 4) : end + 4] and _covers(text, w, match.start(), end) for w in forbid):
            continue
        start = max(0, match.start() - 4)
        for _, e in spans:
            if start < e <= match.start():
                start = e
        core = _cut_left(text[start : match.start()])
        core = re.split(f"[{cut_after}]", core)[-1] if cut_after else core
        if not core or core[-1] in forbid_before or not re.fullmatch(f"[{_HAN}Xx]{{1,4}}", core):
            continue
        if len(core) == 1 and match.group() in ("区", "县", "镇", "乡"):
            continue
        name = core + match.group()
        return name, (end - len(name), end)
    return None


def _covers(text: str, word: str, start: int, end: int) -> bool:
    """Whether an occurrence of `word` covers the span start..end."""
    return any(m.start() <= start and m.end() >= end for m in re.finditer(re.escape(word), text))


# --- how long unpaid ---------------------------------------------------------------------------------------

_HALF = re.compile("(大半年|半年多|半年|半个月|一年多|一年半)")
_HALF_MONTHS = {"大半年": 8.0, "半年多": 7.0, "半年": 6.0, "半个月": 0.5, "一年多": 13.0, "一年半": 18.0}


def _unpaid(text: str, numbers: list[Number]) -> Quantity | None:
    """How long the pay has been owed: "十个月没给", "拖了三个多月", "半年没发工资"."""
    candidates: list[tuple[float, bool, int, int]] = []
    for n in numbers:
        if n.value > 120 or re.fullmatch(r"\d{4}", n.text):
            continue
        unit = _DURATION.match(text, n.end)
        if not unit or (unit.group("unit") == "天" and n.value < 7):
            continue
        if unit.group("unit") == "月" and not unit.group("ge"):
            continue  # "三月" is March more often than three months
        months = n.value * DURATION_UNITS[unit.group("unit")]
        candidates.append((months, n.approximate or "多" in unit.group(), n.start, unit.end()))
    for match in _HALF.finditer(text):
        candidates.append(
            (_HALF_MONTHS[match.group()], "多" in match.group() or "大" in match.group(), match.start(), match.end())
        )
    best = None
    for months, approx, start, end in candidates:
        context = text[max(0, start - 8) : end + 10]
        if not any(word in context for word in OWING):
            continue
        if best is None or months > best.value:
            best = Quantity(round(months, 2), approx, text[start:end])
    return best
