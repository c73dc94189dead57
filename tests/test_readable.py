"""Evidence an officer can read (``serving.present_units``, ``features.codes``, ``serving.placenames``):
units and rounding worked out by hand, codes named from the one table, places named with distances."""

from __future__ import annotations

import shapely

import features.build  # noqa: F401  (registers every feature in the catalogue)
from features.codes import category_of, industry_text, waste_text
from features.geo import LocalProjection
from features.places import Place
from serving.placenames import PlaceNamer
from serving.present_units import evidence_rows, pointer_text, value_text


def test_values_carry_their_unit_and_a_rounding_an_officer_reads():
    assert value_text(83.07209999999998, "t") == "83.1 吨"
    assert value_text(9.0, "t") == "9.0 吨" and value_text(9.0, "t", "en") == "9.0 t"
    assert value_text(12345.6, "kWh") == "12,346 千瓦时"
    assert value_text(81.0, "m") == "81 米" and value_text(1530.0, "m") == "1.5 公里"
    assert value_text(0.0125, "share") == "1.2%" and value_text(0.25, "share") == "25%"
    assert value_text(1.0, "") == "是" and value_text(0.0, "", "en") == "no"
    assert value_text(None, "t") == "—"


def test_pointers_are_spelt_out():
    assert pointer_text("when", "2024-03-05T22:14:09") == "2024-03-05 22:14"
    assert pointer_text("waste_code", "900-214-08") == "900-214-08（HW08 废矿物油与含矿物油废物）"
    assert pointer_text("partner_id", "E2;E9", names={"E2": "某运输公司"}) == "某运输公司（E2）、E9"
    assert pointer_text("industry", "tyre_pyrolysis") == "废轮胎炼油"
    assert pointer_text("minutes", "40.0") == "40 分钟" and pointer_text("dist_m", "970.6") == "971 米"
    assert waste_text("HW17", "en") == "HW17 surface treatment (plating) waste"
    assert category_of("336-064-17") == "HW17" and category_of("x") == ""
    assert industry_text("C2614") == "C2614 有机化学原料制造"
    assert industry_text("C2699") == "C2699 化学原料和化学制品制造业"  # an unknown class: its division's name
    assert industry_text("Z9") == "Z9"


def test_evidence_rows_use_the_catalogue_labels_and_keep_profile_facts_apart():
    ev = {"unaccounted_t_365d": {"value": 83.07209999999998, "month": "2021-03", "waste_code": "900-249-08"},
          "employees_log": {"value": 2.94, "employees": "18.0"},
          "key_industry": {"value": 1.0, "industry": "tyre_pyrolysis"}}
    rows = evidence_rows(ev, "zh")
    [row] = rows["evidence"]
    assert row["label"] == "近12个月去向不明的危险废物（吨）" and row["value_text"] == "83.1 吨"
    assert [p["text"] for p in row["pointers"]] == ["2021-03", "900-249-08（HW08 废矿物油与含矿物油废物）"]
    profile = {r["feature"]: r for r in rows["profile"]}
    assert set(profile) == {"employees_log", "key_industry"}
    assert profile["employees_log"]["value_text"] == "18 人" and profile["employees_log"]["pointers"] == []
    assert profile["key_industry"]["pointers"][0]["text"] == "废轮胎炼油"
    for r in rows["evidence"] + rows["profile"]:
        assert r["feature"] not in r["label"] and r["feature"] not in r["value_text"]


def test_a_point_is_named_after_the_nearest_village_and_river_with_distances():
    proj = LocalProjection(25.0, 110.0)
    places = [Place("village", "黄村", shapely.Point(110.0, 25.0), {}, None, None),
              Place("village", "远村", shapely.Point(110.2, 25.2), {}, None, None),
              Place("river", "漓江", shapely.LineString([(110.01, 24.9), (110.01, 25.1)]), {}, None, None),
              Place("road", "", shapely.LineString([(110.0, 24.9), (110.0, 25.1)]), {}, None, None)]  # unnamed: skipped
    namer = PlaceNamer(places, proj)
    got = namer.describe(25.0, 110.002)
    # a degree of longitude at 25° N is 100.8 km: the village 0.002° away is 202 m, the river 0.008° away 806 m
    assert got["text"] == "距黄村 202 米，距漓江 806 米", got
    assert namer.describe(25.0, 110.01)["places"][1] == {"name": "漓江", "kind": "river", "distance_m": 0.0}
    assert namer.describe(27.0, 112.0) is None  # nothing named within reach
