"""What every tip voice shares: the `Voice` type, argument checks, and small deterministic helpers.

A voice is a set of phrasings written as if by one kind of person (a villager, an employee, an
anonymous caller, an online poster, an elderly resident, a hotline operator). Helpers here carry
no wording of their own beyond numerals and the nouns of each industry's waste, so that the
voices stay independent of each other.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

KINDS = ("water", "karst", "dump", "workshop", "covert", "unlicensed")
NOISE_KINDS = ("odour", "dispute", "vague", "parked", "smoke")
FILL_KEYS = ("river", "cave", "town", "village", "county", "where", "ent")

EventFn = Callable[[np.random.Generator, str, dict[str, str], float, str, bool, str], str]
InsiderFn = Callable[[np.random.Generator, str], str]
PatrolFn = Callable[[np.random.Generator, str], str]
NoiseFn = Callable[[np.random.Generator, str, dict[str, str], float, str], str]
RepeatFn = Callable[[np.random.Generator, str], str]


@dataclass(frozen=True)
class Voice:
    """One independently written way of telling a tip; every method draws only from `rng`.

    `hour` is the local time of the act in hours (0 <= hour < 24), `md` its date as "3月5日".
    """

    name: str
    register_zh: str
    register_en: str
    compose_event: EventFn
    compose_insider: InsiderFn
    compose_patrol: PatrolFn
    compose_noise: NoiseFn
    compose_repeat: RepeatFn

    def event(self, rng: np.random.Generator, kind: str, fill: dict[str, str], hour: float, md: str,
              vehicle: bool, plate: str) -> str:
        """A public tip about an illegal act of `kind` (one of `KINDS`) at the place in `fill`."""
        _check_kind(kind, KINDS, "kind")
        _check_fill(fill)
        _check_hour(hour)
        return tidy(self.compose_event(rng, kind, fill, float(hour), md, bool(vehicle), plate or ""))

    def insider(self, rng: np.random.Generator, ent_name: str) -> str:
        """An employee (or someone close to one) reporting the enterprise `ent_name`."""
        if not ent_name:
            raise ValueError("ent_name: an insider names the employer; got an empty name")
        return tidy(self.compose_insider(rng, ent_name))

    def patrol(self, rng: np.random.Generator, where: str) -> str:
        """A patrol or drone finding at `where`, in an official register."""
        return tidy(self.compose_patrol(rng, clean_where(where)))

    def noise(self, rng: np.random.Generator, kind: str, fill: dict[str, str], hour: float, md: str) -> str:
        """A complaint that is not hazardous-waste dumping; `kind` is one of `NOISE_KINDS`."""
        _check_kind(kind, NOISE_KINDS, "kind")
        _check_fill(fill)
        _check_hour(hour)
        return tidy(self.compose_noise(rng, kind, fill, float(hour), md))

    def repeat(self, rng: np.random.Generator, text: str) -> str:
        """The same report sent again (preface, suffix, small edits or a forward); keeps the place."""
        if not text:
            raise ValueError("text: a repeat needs the earlier report's text; got an empty string")
        return tidy(self.compose_repeat(rng, closed(tidy(text))))


def _check_kind(kind: str, allowed: Sequence[str], field: str) -> None:
    if kind not in allowed:
        raise ValueError(f"{field}: {kind!r} is not one of {', '.join(allowed)}")


def _check_fill(fill: dict[str, str]) -> None:
    missing = [k for k in FILL_KEYS if k not in fill]
    if missing:
        raise ValueError(f"fill: missing {', '.join(missing)} (needs {', '.join(FILL_KEYS)}; use '' when unknown)")
    bad = [k for k in FILL_KEYS if not isinstance(fill[k], str)]
    if bad:
        raise ValueError(f"fill: {', '.join(bad)} must be strings")


def _check_hour(hour: float) -> None:
    if not 0.0 <= float(hour) < 24.0:
        raise ValueError(f"hour: {hour!r} is not a local time of day in [0, 24)")


# --- drawing -------------------------------------------------------------------------------------

def pick(rng: np.random.Generator, options: Sequence[str]) -> str:
    """One of `options`, uniformly."""
    return options[int(rng.integers(len(options)))]


def chance(rng: np.random.Generator, p: float) -> bool:
    """True with probability `p` (always draws once, so the stream does not depend on `p`)."""
    return bool(rng.random() < p)


def some(rng: np.random.Generator, options: Sequence[str], k: int) -> list[str]:
    """`k` distinct options in drawn order."""
    idx = rng.choice(len(options), size=min(k, len(options)), replace=False)
    return [options[int(i)] for i in idx]


# --- time ----------------------------------------------------------------------------------------

def period(hour: float) -> str:
    """Part of the day in local time: midnight [23, 1), night [1, 4) (凌晨), dawn [4, 6),
    morning [6, 11), noon [11, 13), afternoon [13, 18), dusk [18, 20), evening [20, 23)."""
    h = float(hour) % 24
    for name, end in (("midnight", 1), ("night", 4), ("dawn", 6), ("morning", 11), ("noon", 13),
                      ("afternoon", 18), ("dusk", 20), ("evening", 23)):
        if h < end:
            return name
    return "midnight"


_DIGITS = "零一二三四五六七八九"


def cn(n: int, two: bool = True) -> str:
    """0-99 in Chinese numerals; 2 is 两 when counting (`two`), as in 两点, 两个."""
    n = int(n)
    if n == 2 and two:
        return "两"
    if n < 10:
        return _DIGITS[n]
    tens, ones = divmod(n, 10)
    head = "十" if tens == 1 else _DIGITS[tens] + "十"
    return head + (_DIGITS[ones] if ones else "")


def clock12(hour: float) -> int:
    """The hour on a 12-hour clock (1-12) as people say it: 23.6 -> 11, 0.2 -> 12."""
    return int(hour) % 12 or 12


def minutes(hour: float, step: int = 10) -> int:
    """The minutes past the hour, rounded down to `step`."""
    return int(round((float(hour) % 1) * 60)) // step * step % 60


# --- names, plates, places -----------------------------------------------------------------------

_SUFFIXES = ("股份有限公司", "有限责任公司", "有限公司", "集中处置中心")
_SECTORS = (
    ("hospital", ("医院", "卫生院", "保健院")),
    ("lab", ("检测", "检验", "监测", "研究院")),
    ("repair", ("汽车", "汽修", "修理", "维修", "快修")),
    ("battery", ("蓄电池", "回收站", "废旧物资", "再生资源回收")),
    ("plating", ("电镀", "表面处理", "五金", "金属制品")),
    ("pesticide", ("农药", "植保", "农化", "生物化学")),
    ("pharma", ("药业", "制药", "医药", "中药")),
    ("tyre", ("橡胶", "再生资源利用", "能源科技")),
    ("machining", ("机械", "零部件", "机电")),
    ("logistics", ("物流", "运输")),
    ("chemical", ("化工", "化学", "新材料", "涂料")),
)
WASTES = {
    "chemical": ("母液", "釜残", "废溶剂", "精馏残渣", "废催化剂"),
    "pesticide": ("农药母液", "釜底残渣", "高浓废水", "废包装袋"),
    "pharma": ("发酵菌渣", "废活性炭", "提取母液", "废溶剂"),
    "plating": ("槽渣", "电镀污泥", "含铬废水", "退镀液", "废槽液"),
    "repair": ("废机油", "废机滤", "废电瓶", "废防冻液", "油泥"),
    "battery": ("废电瓶", "废酸", "铅膏"),
    "tyre": ("裂解油渣", "炭黑渣", "废机油", "含油废水"),
    "hospital": ("医疗废物", "废针头", "废显影液", "病理废物"),
    "lab": ("实验废液", "废试剂", "废有机溶剂"),
    "machining": ("废切削液", "废乳化液", "废机油", "含油污泥"),
    "logistics": ("桶装废液", "危废"),
    "other": ("危废", "废液", "污泥"),
}
PREMISES = {"hospital": "院里", "lab": "单位", "repair": "店里", "battery": "站里", "logistics": "公司"}


def short_name(ent: str) -> str:
    """The name people use: 桂林瑞鑫化工有限公司 -> 桂林瑞鑫化工."""
    for s in _SUFFIXES:
        if ent.endswith(s) and len(ent) > len(s) + 1:
            return ent[: -len(s)]
    return ent


def sector(ent: str) -> str:
    """The industry a name suggests (hospital, lab, repair, ..., chemical), 'other' if none."""
    for name, words in _SECTORS:
        if any(w in ent for w in words):
            return name
    return "other"


def waste_of(rng: np.random.Generator, ent: str) -> str:
    """A waste an insider of `ent` would name."""
    return pick(rng, WASTES[sector(ent)])


def premises(ent: str) -> str:
    """How an employee says "at our place": 厂里, 院里, 店里, ..."""
    return PREMISES.get(sector(ent), "厂里")


def plate_tail(plate: str, n: int) -> str:
    """The last `n` characters of a plate."""
    return plate[-n:] if plate else ""


def plate_masked(rng: np.random.Generator, plate: str, keep: float, mask: str = "*") -> str:
    """The plate with its province and city letter kept and each later character seen with
    probability `keep` (桂C12345 -> 桂C1**45)."""
    if not plate:
        return ""
    return plate[:2] + "".join(c if rng.random() < keep else mask for c in plate[2:])


def clean_where(where: str) -> str:
    """A place phrase without trailing punctuation or a leading 在."""
    w = (where or "").strip().strip("，,。 ")
    return w[1:] if w.startswith("在") and len(w) > 2 else w


# --- the finished text ---------------------------------------------------------------------------

CJK = re.compile(r"[\u4e00-\u9fff]")
_RULES = (
    (re.compile(r"[ \t]{2,}"), " "),
    (re.compile(r"，\s*(?=[，。！？；：])"), ""),
    (re.compile(r"。\s*[，；]"), "。"),
    (re.compile(r"；\s*(?=[。，])"), ""),
    (re.compile(r"：\s*[，。]"), "："),
    (re.compile(r"。{2,}"), "。"),
    (re.compile(r"([！？])[，。]"), r"\1"),
    (re.compile(r"（\s*）"), ""),
    (re.compile(r"^[\s，。；：！]+"), ""),
    (re.compile(r"[\s，；：]+$"), ""),
)


def tidy(text: str) -> str:
    """Collapse the punctuation left by empty fragments ("，，", "，。", "（）") and trim."""
    out = text.strip()
    for pattern, repl in _RULES:
        out = pattern.sub(repl, out)
    return out.strip()


def closed(text: str) -> str:
    """The text ending a sentence: "。" added when it ends on a Chinese character or a digit."""
    return text + "。" if text and (CJK.match(text[-1]) or text[-1].isdigit()) else text


def join(*parts: str, sep: str = "，") -> str:
    """Non-empty parts joined by `sep`."""
    return sep.join(p for p in parts if p)
