"""Tips placed by the names in their words, corroborated by waste-vehicle stops before them, a
plate the caller saw, and grouped when they report one event. Hand-built: every number on paper."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from shapely.geometry import LineString, Point

from features.gazetteer import Gazetteer, enterprise_aliases, plate_patterns, plates_matching
from features.places import Place
from features.tip_groups import group_tips
from features.tips import KEYWORDS, keyword_counts, tip_features

LAT0, LON0 = 25.0, 110.3
M_LAT = 1 / 111_195.0  # degrees of latitude per metre


def north(m: float) -> float:
    return LAT0 + m * M_LAT


PLACES = [
    Place("village", "大岭村", Point(LON0, LAT0), {"county": "灵川县", "town": "潭下镇"}),
    Place("village", "大岭村", Point(LON0 + 0.5, LAT0 + 0.3), {"county": "兴安县", "town": "溶江镇"}),
    Place("town", "潭下镇", Point(LON0 + 0.02, LAT0 + 0.01), {"county": "灵川县"}),
    Place("river", "甘棠江", LineString([(LON0 - 0.1, LAT0), (LON0 + 0.1, LAT0 + 0.05)]), {}),
    Place("karst", "白岩洞", Point(LON0 + 0.3, LAT0 - 0.2), {}),
]
ENTERPRISES = pd.DataFrame({
    "enterprise_id": ["P1", "P2"], "name": ["桂林瑞鑫化工有限公司", "灵川县宏达电镀厂"],
    "lat": [north(300), LAT0 + 0.2], "lon": [LON0, LON0 + 0.2], "county": ["灵川县", "灵川县"],
    "roles": ["producer", "producer"],
})
GAZ = Gazetteer(PLACES, ENTERPRISES)


def test_names_are_found_longest_first_with_the_short_forms_people_use():
    assert {"桂林瑞鑫化工有限公司", "桂林瑞鑫化工", "瑞鑫化工"} <= enterprise_aliases("桂林瑞鑫化工有限公司")
    assert "宏达电镀" in enterprise_aliases("灵川县宏达电镀厂")
    found = GAZ.find("潭下镇大岭村后面甘棠江边，瑞鑫化工的车又来倒东西")
    kinds = [(m.kind, m.name) for m in found]
    assert ("town", "潭下镇") in kinds and ("river", "甘棠江") in kinds and ("enterprise", "瑞鑫化工") in kinds
    assert sum(m.name == "大岭村" for m in found) == 2  # one name, two villages
    assert [m.ref for m in found if m.kind == "enterprise"] == ["P1"]
    assert GAZ.find("") == [] and GAZ.find(None) == []


def test_a_named_village_places_the_tip_and_the_town_or_county_picks_the_right_one():
    both = GAZ.find("大岭村那边有人倒油")
    lat, lon, radius, name = GAZ.locate(both, county="兴安县")
    assert name == "大岭村" and lat == pytest.approx(LAT0 + 0.3) and radius == 2500.0
    lat, lon, _, _ = GAZ.locate(GAZ.find("潭下镇大岭村那边有人倒油"))
    assert lat == pytest.approx(LAT0)  # the village of the town named beside it
    lat, lon, radius, _ = GAZ.locate(both)  # nobody says which: the middle, with the spread added
    assert radius > 2500.0 + 30_000
    assert GAZ.locate(GAZ.find("甘棠江边上有油花")) is None  # a river alone places nothing


def test_plates_the_caller_saw():
    plates = np.array(["桂C12345", "桂C99945", "桂A12345"], dtype=object)
    assert plates_matching(plate_patterns("车牌尾号45"), plates) == {"桂C12345", "桂C99945", "桂A12345"}
    assert plates_matching(plate_patterns("看到车牌是桂C1*3*5"), plates) == {"桂C12345"}
    assert plate_patterns("没看清车牌") == []


def tip_row(tid, when, text, lat=np.nan, lon=np.nan, channel="12369", county=None, enterprise=None):
    return {"tip_id": tid, "received_at": pd.Timestamp(when), "channel": channel, "text": text, "lat": lat, "lon": lon,
            "county": county, "enterprise_id": enterprise}


def stops(*rows):
    return pd.DataFrame([{"vehicle_id": v, "start": pd.Timestamp(t), "end": pd.Timestamp(t) + pd.Timedelta(minutes=20),
                          "lat": la, "lon": LON0, "night": n} for v, t, la, n in rows])


def test_a_named_place_is_corroborated_by_stops_before_the_tip_within_its_window():
    tips = pd.DataFrame([
        tip_row("A", "2024-05-20 09:00", "潭下镇大岭村后面昨晚有车倒东西，车牌尾号45"),
        tip_row("B", "2024-05-20 09:00", "昨晚有车倒东西"),  # no place: nothing to corroborate
    ])
    s = stops(("桂C12345", "2024-05-19 23:00", north(1000), True),
              ("桂C55555", "2024-05-06 09:00", north(500), False),  # 14 days before: counts
              ("桂C66666", "2024-05-06 08:59", north(500), False),  # a minute more: does not
              ("桂C77777", "2024-05-20 10:00", north(200), True),  # after the tip
              ("桂C88888", "2024-05-19 22:00", north(2600), True))  # beyond the village's 2.5 km
    tf = tip_features(tips, ENTERPRISES, None, s, "2024-05-31", GAZ, np.array(["桂C12345", "桂C55555", "桂C99999"]))
    a, b = tf.loc["A"], tf.loc["B"]
    assert a["tip_has_location"] == 0 and a["tip_place_named"] == 1 and a["tip_place_named@place"] == "大岭村"
    assert a["tip_stops_nearby_14d"] == 2 and a["tip_night_stops_nearby_14d"] == 1
    assert a["tip_nearest_stop_m"] == pytest.approx(500, abs=2)
    assert a["tip_plate_seen_nearby"] == 1 and a["tip_plate_seen_nearby@vehicle_ids"] == "桂C12345"
    assert a["tip_stops_nearby_14d@vehicle_ids"].split(";")[0] == "桂C12345"  # the plate's vehicle first
    assert np.isnan(b["tip_stops_nearby_14d"]) and b["tip_place_named"] == 0


def test_coordinates_win_over_named_places_and_enterprises_named_in_words_count():
    tips = pd.DataFrame([tip_row("A", "2024-05-20 09:00", "白岩洞旁边，瑞鑫化工偷排", lat=north(0), lon=LON0)])
    tf = tip_features(tips, ENTERPRISES, None, stops(("桂C1", "2024-05-19 23:00", north(1500), True)), "2024-05-31", GAZ)
    assert tf.loc["A", "tip_stops_nearby_14d"] == 1  # around the coordinates, not around the cave
    assert tf.loc["A", "tip_names_enterprise"] == 1 and tf.loc["A", "tip_names_enterprise@enterprise_id"] == "P1"
    assert "P1" in tf.loc["A", "tip_names_enterprise@enterprise_ids"]


def test_tips_received_after_the_as_of_date_and_stops_after_a_tip_are_never_used():
    tips = pd.DataFrame([tip_row("A", "2024-05-20 09:00", "大岭村有人倒油", county="灵川县"),
                         tip_row("Z", "2024-06-02 09:00", "大岭村有人倒油", county="灵川县")])
    s = stops(("桂C1", "2024-05-19 23:00", north(100), True))
    early = tip_features(tips, ENTERPRISES, None, s, "2024-05-31", GAZ)
    assert list(early.index) == ["A"] and early.loc["A", "tip_similar_14d"] == 0
    later = tip_features(tips, ENTERPRISES, None, pd.concat([s, stops(("桂C2", "2024-05-25 01:00", north(100), True))]),
                         "2024-06-05", GAZ)
    assert later.loc["A", "tip_stops_nearby_14d"] == 1  # the later stop came after tip A
    assert later.loc["A", "tip_similar_14d"] == 1 and later.loc["Z", "tip_similar_14d@group"] == "A"


def test_repeats_and_callers_about_one_event_are_grouped_and_others_are_not():
    t = pd.to_datetime(["2024-05-01 08:00", "2024-05-10 08:00", "2024-05-25 08:00", "2024-05-02 08:00", "2024-05-03 08:00"]).to_numpy()
    lat = np.array([LAT0, north(2900), np.nan, north(9000), np.nan])
    lon = np.full(5, LON0)
    texts = ["大岭村后面的山沟里被人倒了几十桶废液，味道很冲", "山沟里有桶", "再次反映：大岭村后面的山沟里被人倒了几十桶废液，味道很冲",
             "河边有人钓鱼", "别的事"]
    g = group_tips(t, lat, lon, np.full(5, 2000.0), texts, [set(), set(), set(), set(), {"P2"}])
    assert g[0] == g[1] == g[2] == 0  # 2.9 km within 9 days; the same words 24 days later
    assert g[3] == 3 and g[4] == 4  # 9 km away; no place and other words
    g = group_tips(t[:2], lat[:2] + np.array([0, 200 * M_LAT]), lon[:2], np.full(2, 2000.0), texts[:2], [set(), set()])
    assert g[1] == 1  # 3.1 km apart: another place


def _groups_by_pairs(t, lat, lon, radius, texts, named):
    """group_tips' rules pair by pair (every pair, no window): the components, each named after its
    earliest member (time, then position)."""
    from features.geo import haversine_m
    from features.tip_groups import PLACE_DAYS, PLACE_M, TEXT_DAYS, TEXT_JACCARD, jaccard, trigrams

    n = len(t)
    sec = t.astype("datetime64[s]").astype(np.int64)
    grams = [trigrams(x) for x in texts]
    adj = [[] for _ in range(n)]
    for i in range(n):
        for j in range(n):
            dt = abs(int(sec[j] - sec[i]))
            if i == j or dt > TEXT_DAYS * 86400:
                continue
            same = False
            if dt <= PLACE_DAYS * 86400:
                if np.isfinite(lat[i]) and np.isfinite(lat[j]):
                    d = float(haversine_m(lat[i], lon[i], np.array([lat[j]]), np.array([lon[j]]))[0])
                    same = d <= PLACE_M + max(0.0, radius[i] - 2000.0) + max(0.0, radius[j] - 2000.0)
                same = same or bool(named[i] & named[j])
            if same or jaccard(grams[i], grams[j]) >= TEXT_JACCARD:
                adj[i].append(j)
    label = np.full(n, -1)
    for s0 in range(n):
        if label[s0] >= 0:
            continue
        comp, todo = {s0}, [s0]
        while todo:
            for j in adj[todo.pop()]:
                if j not in comp:
                    comp.add(j)
                    todo.append(j)
        first = min(comp, key=lambda k: (sec[k], k))
        label[list(comp)] = first
    return label


@pytest.mark.parametrize("seed", range(6))
def test_groups_equal_the_rules_applied_to_every_pair(seed):
    """Random tips around a few spots, some without a place, ties in time, the 14- and 30-day edges
    hit exactly: the windowed grouping equals the rules applied to every pair."""
    rng = np.random.default_rng(seed)
    n = 70
    day = rng.choice([0, 14, 30, 44, 1, 15, 31], size=n) + 7 * rng.integers(0, 40, size=n)
    second = rng.choice([0, 0, 0, 1, 3600], size=n)
    t = (np.datetime64("2024-03-01T08:00:00") + day.astype("timedelta64[D]") + second.astype("timedelta64[s]")).astype("datetime64[ns]")
    spot = rng.integers(0, 8, size=n)
    lat = LAT0 + spot * 2500 * M_LAT + rng.normal(0, 900, size=n) * M_LAT
    lat[rng.random(n) < 0.25] = np.nan
    lon = np.full(n, LON0) + rng.normal(0, 900, size=n) * M_LAT
    radius = rng.choice([2000.0, 2000.0, 3500.0], size=n)
    words = ["大岭村后面的山沟里被人倒了几十桶废液", "河边有人钓鱼晒网", "厂里半夜偷偷排黑水到河里", "别的事情反映一下"]
    filler = list("东南西北上下左右前后村屯镇河沟塘")
    texts = [words[k] + "".join(rng.choice(filler, size=int(rng.integers(0, 12)))) if rng.random() < 0.5
             else "".join(rng.choice(filler, size=20)) for k in rng.integers(0, 4, size=n)]
    named = [{f"P{k}"} if rng.random() < 0.15 else set() for k in rng.integers(0, 3, size=n)]
    got = group_tips(t, lat, lon, radius, texts, named)
    np.testing.assert_array_equal(got, _groups_by_pairs(t, lat, lon, radius, texts, named))
    assert len(set(got)) not in (1, n)  # some tips grouped, not all of them


def test_keyword_words_are_counted_as_separate_substrings_per_group():
    # 倒 and 倾倒 are both dumping words: "倾倒" counts twice (each word once), "倒倒倒" three times;
    # a word is not counted inside an overlap of itself ("河河河" holds 河 three times); a missing
    # text counts nothing; the numbers are those of pandas' substring count, word by word
    texts = pd.Series(["倾倒", "倒倒倒", "河河河里有油桶", None, np.nan, "", "晚上夜里凌晨", "no words"], dtype=object,
                      index=list("abcdefgh"))
    got = keyword_counts(texts)
    assert got.loc["a", "tip_mentions_dumping"] == 2.0
    assert got.loc["b", "tip_mentions_dumping"] == 3.0
    assert got.loc["c", "tip_mentions_water"] == 3.0 and got.loc["c", "tip_mentions_waste"] == 2.0
    assert (got.loc[["d", "e", "f", "h"]] == 0.0).all().all()
    assert got.loc["g", "tip_mentions_night"] == 3.0
    ref = texts.fillna("").astype("str")
    for g, words in KEYWORDS.items():
        expected = sum(ref.str.count(w) for w in words).astype(float)
        np.testing.assert_array_equal(got[f"tip_mentions_{g}"].to_numpy(), expected.to_numpy(), err_msg=g)
    assert list(got.index) == list(texts.index) and got.dtypes.eq("float64").all()
