"""The independently written tip voices (`simulation.tipvoices`): deterministic per seed, complete
for every kind, distinct from each other and from `simulation.tiptext`, naming the place, and
consistent with what the caller saw (time of day, vehicle, plate, employer).

Corpora are built from real place names of the prefecture and enterprise names from the
simulator's name book; the overlap bounds were measured on them (cross-voice 3-gram Jaccard
0.007-0.08, a voice with itself on other places and seeds 0.69-0.89; against tiptext 0.03-0.05).
"""

from __future__ import annotations

import itertools
import re
import subprocess
import sys

import numpy as np
import pytest

from features.tips import KEYWORDS
from simulation import geodata, tiptext
from simulation.names import NameBook, village
from simulation.tipvoices import CHANNEL_WEIGHTS, KINDS, NOISE_KINDS, VOICES, draw_voice
from simulation.tipvoices.base import period, short_name

MD = "3月5日"
PLATE = "桂CK7593"
CAVES = (*geodata.NAMED_KARST, "龙凤岩", "金星洞", "白马天坑", "观音落水洞", "黄牛溶洞")
CJK = re.compile(r"[\u4e00-\u9fff]")


def make_fills(seed: int, n: int) -> list[dict[str, str]]:
    """`n` places with real rivers, counties and towns, drawn villages and enterprise names; some
    without an enterprise or a county (an urban district), as the simulator passes them."""
    rng = np.random.default_rng(seed)
    book = NameBook(rng)
    rivers, counties = list(geodata.RIVERS), list(geodata.TOWNS)
    out = []
    for _ in range(n):
        county = counties[int(rng.integers(len(counties)))]
        town = geodata.TOWNS[county][int(rng.integers(len(geodata.TOWNS[county])))]
        vil = village(rng)
        kind = ("chemical", "plating", "repair", "hospital", "tyre", "pesticide", "lab", "battery")[int(rng.integers(8))]
        ent = book.enterprise(kind, county, town)
        out.append({"river": rivers[int(rng.integers(len(rivers)))], "cave": CAVES[int(rng.integers(len(CAVES)))],
                    "town": town, "village": vil, "county": county if rng.random() < 0.8 else "",
                    "where": f"{town}{vil}附近" if rng.random() < 0.7 else f"在{town}那边，",
                    "ent": ent if rng.random() < 0.6 else ""})
    return out


FILLS = make_fills(7, 60)
OTHER_FILLS = make_fills(99, 60)


def events(voice, fills, seed: int, vehicle_p: float = 0.6, plate: str = PLATE) -> list[tuple[dict, float, bool, str]]:
    """(fill, hour, vehicle, text) for every fill and kind."""
    rng = np.random.default_rng(seed)
    out = []
    for f in fills:
        for kind in KINDS:
            hour, vehicle = float(rng.uniform(0, 24)), bool(rng.random() < vehicle_p)
            out.append((f, hour, vehicle, voice.event(rng, kind, f, hour, MD, vehicle, plate)))
    return out


def mask(text: str, f: dict[str, str]) -> str:
    """Text with the place, enterprise, date and plate characters replaced, so that overlaps measure
    a voice's own words and not the names every voice is given."""
    for k in ("where", "ent", "village", "river", "cave", "town", "county"):
        for val in (f[k].strip("在，"), short_name(f[k]) if k == "ent" else ""):
            if val:
                text = text.replace(val, "□")
    return re.sub(r"[0-9A-Z*]+", "□", text.replace(MD, "□"))


def voice_corpus(voice, fills, seed: int) -> list[str]:
    rng = np.random.default_rng(seed)
    texts = []
    for f in fills:
        for kind in KINDS:
            text = voice.event(rng, kind, f, float(rng.uniform(0, 24)), MD, bool(rng.random() < 0.6), PLATE)
            texts.append(mask(text, f))
        for kind in NOISE_KINDS:
            texts.append(mask(voice.noise(rng, kind, f, float(rng.uniform(0, 24)), MD), f))
        ent = f["ent"] or "桂林瑞鑫化工有限公司"
        texts.append(mask(voice.insider(rng, ent), dict(f, ent=ent)))
    return texts


def tiptext_corpus(fills, seed: int) -> list[str]:
    rng = np.random.default_rng(seed)
    texts = []
    for f in fills:
        g = dict(f, ent=f["ent"] or "那家厂", where_phrase=f["where"].strip("，") + "，")
        for kind in KINDS:
            when = tiptext.when_phrase(rng, float(rng.uniform(0, 24)), MD)
            car = tiptext.VEHICLE[int(rng.integers(len(tiptext.VEHICLE)))] if rng.random() < 0.6 else ""
            texts.append(mask(tiptext.compose(rng, kind, g, when, car, tiptext.plate_phrase(rng, PLATE)), f))
        for kind in NOISE_KINDS:
            texts.append(mask(tiptext.noise(rng, kind, g, tiptext.when_phrase(rng, 12.0, MD)), f))
        ent = f["ent"] or "桂林瑞鑫化工有限公司"
        texts.append(mask(tiptext.insider(rng, ent), dict(f, ent=ent)))
    return texts


def trigrams(texts: list[str]) -> set[str]:
    out: set[str] = set()
    for t in texts:
        t = re.sub(r"\s+", "", t)
        out.update(t[i:i + 3] for i in range(len(t) - 2))
    return {g for g in out if "□" not in g}


def jaccard(a: set[str], b: set[str]) -> float:
    return len(a & b) / len(a | b)


@pytest.fixture(scope="module")
def grams() -> dict[str, set[str]]:
    return {name: trigrams(voice_corpus(v, FILLS, 11)) for name, v in VOICES.items()}


def every_output(voice, seed: int) -> list[str]:
    rng = np.random.default_rng(seed)
    out = []
    for f in FILLS[:8]:
        for kind in KINDS:
            out.append(voice.event(rng, kind, f, float(rng.uniform(0, 24)), MD, bool(rng.random() < 0.5), PLATE))
        for kind in NOISE_KINDS:
            out.append(voice.noise(rng, kind, f, float(rng.uniform(0, 24)), MD))
        out.append(voice.insider(rng, f["ent"] or "桂林市第一人民医院"))
        out.append(voice.patrol(rng, f["where"]))
        out.append(voice.repeat(rng, out[0]))
    return out


def test_voices_are_the_six_written():
    assert set(VOICES) == {"villager", "elder", "worker", "anonymous", "online", "hotline"}
    assert all(v.name == k and v.register_zh and v.register_en for k, v in VOICES.items())


@pytest.mark.parametrize("name", sorted(VOICES))
def test_same_seed_same_text_other_seed_other_text(name):
    voice = VOICES[name]
    first, again, other = every_output(voice, 3), every_output(voice, 3), every_output(voice, 4)
    assert first == again
    assert sum(a != b for a, b in zip(first, other, strict=True)) > 0.8 * len(first)


def test_texts_do_not_depend_on_python_hash_seed():
    code = ("import numpy as np, hashlib; from simulation.tipvoices import VOICES, draw_voice;"
            "from tests.test_tipvoices import every_output;"
            "rng = np.random.default_rng(0);"
            "names = [draw_voice(rng) for _ in range(50)];"
            "print(hashlib.sha256(repr((names, [every_output(VOICES[n], 5) for n in sorted(VOICES)])).encode()).hexdigest())")
    digests = {subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                              env={"PYTHONHASHSEED": seed, "PATH": ""}).stdout.strip() for seed in ("1", "2")}
    assert len(digests) == 1 and len(next(iter(digests))) == 64


@pytest.mark.parametrize("name", sorted(VOICES))
def test_every_method_and_kind_gives_finished_chinese_text(name):
    voice = VOICES[name]
    rng = np.random.default_rng(1)
    bare = dict(FILLS[0], ent="", county="", river="", cave="", where="")  # a caller who knows little
    texts = []
    for f in (*FILLS[:20], bare):
        for kind in KINDS:
            for vehicle, plate in ((True, PLATE), (True, ""), (False, "")):
                texts.append(voice.event(rng, kind, f, float(rng.uniform(0, 24)), MD, vehicle, plate))
        texts += [voice.noise(rng, kind, f, float(rng.uniform(0, 24)), MD) for kind in NOISE_KINDS]
        texts += [voice.insider(rng, f["ent"] or "临桂宏达汽车修理厂"), voice.patrol(rng, f["where"]),
                  voice.patrol(rng, ""), voice.repeat(rng, texts[-1])]
    for text in texts:
        assert text and len(CJK.findall(text)) >= 6, text
        assert not re.search(r"[{}]|None|，，|。。|，。|^[，。；：]", text), text


def test_voices_are_mutually_distinct(grams):
    own = {name: jaccard(grams[name], trigrams(voice_corpus(v, OTHER_FILLS, 12))) for name, v in VOICES.items()}
    assert min(own.values()) > 0.5, own  # the measure sees a voice as itself on other places and seeds
    cross = {(a, b): jaccard(grams[a], grams[b]) for a, b in itertools.combinations(sorted(grams), 2)}
    assert max(cross.values()) < 0.15, cross


def test_voices_are_distinct_from_tiptext(grams):
    old = trigrams(tiptext_corpus(FILLS, 13))
    for name, g in grams.items():
        assert jaccard(g, old) < 0.10, name
        assert len(g & old) / len(old) < 0.25, name  # share of tiptext's 3-grams a voice reuses


@pytest.mark.parametrize("name", sorted(VOICES))
def test_event_names_village_or_river_in_most_but_not_all(name):
    rows = events(VOICES[name], FILLS, 21)
    named = [f["village"] in t or f["river"] in t for f, _, _, t in rows]
    assert 0.55 <= np.mean(named) < 1.0, np.mean(named)


@pytest.mark.parametrize("name", sorted(VOICES))
def test_repeat_keeps_the_place_and_changes_the_text(name):
    voice = VOICES[name]
    rng = np.random.default_rng(22)
    for other in sorted(VOICES):  # the same caller again, or someone else forwarding
        for f, _, _, text in events(VOICES[other], FILLS[:15], 23):
            again = voice.repeat(rng, text)
            assert again != text
            for place in (f["village"], f["river"], f["cave"], f["ent"]):
                if place and place in text:
                    assert place in again, (text, again)


NIGHT_WORDS = ("半夜", "凌晨", "深夜", "三更", "夜里", "夜间", "夜班")
DAY_WORDS = ("上午", "中午", "下午", "白天", "傍晚", "晌午")


def test_parts_of_the_day_have_pinned_boundaries():
    expect = {0.0: "midnight", 0.99: "midnight", 1.0: "night", 3.99: "night", 4.0: "dawn", 5.99: "dawn",
              6.0: "morning", 10.99: "morning", 11.0: "noon", 12.99: "noon", 13.0: "afternoon", 17.99: "afternoon",
              18.0: "dusk", 19.99: "dusk", 20.0: "evening", 22.99: "evening", 23.0: "midnight", 23.99: "midnight"}
    assert {h: period(h) for h in expect} == expect


@pytest.mark.parametrize("name", sorted(VOICES))
def test_time_words_agree_with_the_hour(name):
    voice = VOICES[name]
    rng = np.random.default_rng(31)
    for f in FILLS[:30]:
        for kind in KINDS:
            night = voice.event(rng, kind, f, float(rng.uniform(23, 28)) % 24, MD, False, "")
            day = voice.event(rng, kind, f, float(rng.uniform(7, 17)), MD, False, "")
            assert not any(w in night for w in DAY_WORDS), night
            assert not any(w in day for w in NIGHT_WORDS), day


@pytest.mark.parametrize("name", sorted(VOICES))
def test_plate_only_from_a_vehicle_that_was_seen(name):
    pieces = [PLATE[i:i + 2] for i in range(2, len(PLATE) - 1)]  # K7, 75, 59, 93
    unseen = events(VOICES[name], FILLS, 41, vehicle_p=0.0)
    assert not any(p in t for *_, t in unseen for p in pieces)
    seen = events(VOICES[name], FILLS, 42, vehicle_p=1.0)
    share = np.mean([any(p in t for p in pieces) for *_, t in seen])
    assert share >= 0.25, share


@pytest.mark.parametrize("name", sorted(VOICES))
def test_keywords_alone_do_not_separate_noise_from_genuine_tips(name):
    voice = VOICES[name]
    rng = np.random.default_rng(51)
    noise = [mask(voice.noise(rng, kind, f, float(rng.uniform(0, 24)), MD), f) for f in FILLS for kind in NOISE_KINDS]
    surface = np.mean([any(w in t for w in ("臭", "河", "江", "车", "桶", "倒", "排", "油")) for t in noise])
    assert surface >= 0.4, surface  # in the complaint's own words, not in the names it was given
    genuine = [t for *_, t in events(voice, FILLS, 52)]
    missed = np.mean([not any(w in t for w in KEYWORDS["dumping"]) for t in genuine])
    assert missed >= 0.2, missed  # phrasings the simulator's dumping keywords do not catch


@pytest.mark.parametrize("name", sorted(VOICES))
def test_insider_names_the_employer_and_its_own_waste(name):
    voice = VOICES[name]
    rng = np.random.default_rng(61)
    book = NameBook(np.random.default_rng(62))
    for _ in range(40):
        chem = book.enterprise("chemical", "临桂区")
        text = voice.insider(rng, chem)
        assert chem in text or short_name(chem) in text, text
        hosp = voice.insider(rng, "桂林市第一人民医院")
        assert "桂林市第一人民医院" in hosp
        assert not any(w in hosp for w in ("母液", "釜残", "槽渣", "废机油", "压滤")), hosp


@pytest.mark.parametrize("name", sorted(VOICES))
def test_patrol_is_official_and_says_where(name):
    rng = np.random.default_rng(71)
    for f in FILLS:
        text = VOICES[name].patrol(rng, f["where"])
        assert f["where"].strip("在，") in text, text
        assert not any(w in text for w in ("我们", "咯", "喔", "老表", "家人们")), text


@pytest.mark.parametrize("name", sorted(VOICES))
def test_a_thousand_draws_are_mostly_distinct(name):
    voice = VOICES[name]
    rng = np.random.default_rng(81)
    f = FILLS[1]
    ev = {voice.event(rng, KINDS[i % 6], f, float(rng.uniform(0, 24)), MD, bool(rng.random() < 0.6), PLATE)
          for i in range(1000)}
    noise = {voice.noise(rng, NOISE_KINDS[i % 5], f, float(rng.uniform(0, 24)), MD) for i in range(1000)}
    insider = {voice.insider(rng, "桂林瑞鑫化工有限公司") for _ in range(1000)}
    assert len(ev) >= 900 and len(noise) >= 150 and len(insider) >= 150, (len(ev), len(noise), len(insider))


def test_bad_arguments_are_refused_with_the_field_named():
    voice, f = VOICES["villager"], FILLS[0]
    rng = np.random.default_rng(0)
    with pytest.raises(ValueError, match="kind: 'fire'"):
        voice.event(rng, "fire", f, 1.0, MD, False, "")
    with pytest.raises(ValueError, match="kind: 'water'"):
        voice.noise(rng, "water", f, 1.0, MD)
    with pytest.raises(ValueError, match="fill: missing village"):
        voice.event(rng, "water", {k: v for k, v in f.items() if k != "village"}, 1.0, MD, False, "")
    with pytest.raises(ValueError, match="hour"):
        voice.event(rng, "water", f, 24.0, MD, False, "")
    with pytest.raises(ValueError, match="ent_name"):
        voice.insider(rng, "")
    with pytest.raises(ValueError, match="weights: unknown voice robot"):
        draw_voice(rng, {"robot": 1.0})
    with pytest.raises(ValueError, match="weights"):
        draw_voice(rng, {"villager": -1.0, "elder": 2.0})


def test_draw_voice_follows_the_weights_whatever_their_order():
    w = {"online": 0.5, "villager": 0.3, "hotline": 0.2, "elder": 0.0}
    ra, rb = np.random.default_rng(5), np.random.default_rng(5)
    a = [draw_voice(ra, w) for _ in range(200)]
    b = [draw_voice(rb, dict(reversed(list(w.items())))) for _ in range(200)]
    assert a == b
    rng = np.random.default_rng(6)
    drawn = [draw_voice(rng, w) for _ in range(4000)]
    for name, p in w.items():
        assert abs(drawn.count(name) / 4000 - p) < 0.03, name
    rng = np.random.default_rng(7)
    assert set(draw_voice(rng) for _ in range(500)) == set(VOICES)
    for weights in CHANNEL_WEIGHTS.values():
        assert draw_voice(rng, weights) in weights
