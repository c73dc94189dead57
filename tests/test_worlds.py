"""Many worlds: ``draw_world`` draws different cities from seeds, and each knob changes what the
simulator writes (one short standard city and one with every knob pushed far, compared)."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from features import load_snapshot
from simulation import simulate
from simulation.worlds import CLASSIC_VOICE, STANDARD, World, draw_world

MONTHS = 6


def test_draw_world_is_a_function_of_the_seed_and_stays_in_its_ranges():
    assert draw_world(7) == draw_world(7)
    assert draw_world(7) != draw_world(8)
    worlds = [draw_world(s, ("villager", "online")) for s in range(300)]
    for w in worlds:
        assert abs(sum(w.strength_p) - 1) < 1e-9 and min(w.strength_p) >= 0
        assert abs(sum(w.dumping_mechanism_p) - 1) < 1e-6
        assert 40 <= w.cases_total <= 400
        assert 0 <= w.selection_focus <= 2 and 0 <= w.false_confirm_p <= 0.12
        assert 0.45 <= w.tip_located_p <= 0.97
        assert {v for v, _ in w.voices} <= {CLASSIC_VOICE, "villager", "online"}
    focus = np.array([w.selection_focus for w in worlds])
    assert focus.min() < 0.1 and focus.max() > 1.9  # from near-random to strongly flag-driven
    cases = np.array([w.cases_total for w in worlds])
    assert cases.min() < 60 and cases.max() > 300
    # some cities hide their waste mostly before it reaches the ledger
    assert sum(w.dumping_mechanism_p[0] >= 0.7 for w in worlds) > 50
    assert any(CLASSIC_VOICE not in w.voice_names for w in worlds)


EXTREME = World(name="extreme", prevalence_x=2.0, strength_p=(0.0, 0.0, 1.0), cases_total=150.0, false_confirm_p=1.0,
                power_gap_months_p=0.3, gps_outage_x=6.0, tip_x=2.0, tip_located_p=0.3, tip_callers_p=0.0,
                tip_repeat_p=0.6, voices=(("online", 1.0),))


@pytest.fixture(scope="module")
def pair(tmp_path_factory):
    root = tmp_path_factory.mktemp("worlds")
    out = {}
    for world in (STANDARD, EXTREME):
        folder = simulate(root / world.name, seed=3, scale="small", months=MONTHS, world=world)
        out[world.name] = (folder, load_snapshot(folder), json.loads((folder / "truth" / "meta.json").read_text("utf-8")))
    return out


def test_the_world_is_recorded_with_the_truth(pair):
    _, _, meta = pair["extreme"]
    assert meta["world"]["name"] == "extreme" and meta["world"]["voices"] == {"online": 1.0}
    assert pair["standard"][2]["world"]["name"] == "standard"


def test_violations_and_labels_follow_the_knobs(pair):
    std_f, std, _ = pair["standard"]
    ext_f, ext, _ = pair["extreme"]
    b_std = pd.read_csv(std_f / "truth" / "behaviours.csv")
    b_ext = pd.read_csv(ext_f / "truth" / "behaviours.csv")
    assert b_ext.enterprise_id.nunique() > b_std.enterprise_id.nunique()
    assert (b_ext.strength == "subtle").mean() > 0.6  # forced episodes keep their own strengths
    # label noise: honest enterprises recorded confirmed (never in the standard world)
    for folder, snap, noisy in ((std_f, std, False), (ext_f, ext, True)):
        viol = set(pd.read_csv(folder / "truth" / "behaviours.csv").enterprise_id)
        conf = snap.cases[(snap.cases.outcome == "confirmed") & snap.cases.enterprise_id.notna()]
        assert (~conf.enterprise_id.isin(viol)).any() == noisy
    assert len(ext.cases) > len(std.cases)


def test_records_follow_the_knobs(pair):
    std_f, std, std_meta = pair["standard"]
    _, ext, ext_meta = pair["extreme"]

    def month_gaps(snap):
        e = snap.electricity.assign(month=snap.electricity.date.dt.to_period("M"))
        have = e.groupby(["enterprise_id", "month"]).size()
        producers = snap.enterprises[snap.enterprises.roles.str.contains("producer")].enterprise_id
        return 1 - len(have) / (len(producers) * MONTHS)

    assert month_gaps(std) < 0.05 and month_gaps(ext) > 0.2

    def outages(folder):
        look = pd.read_csv(folder / "truth" / "lookalikes.csv")
        return (look.kind == "gps_outage").sum()

    assert outages(pair["extreme"][0]) > 3 * outages(std_f)


def test_tips_follow_the_knobs(pair):
    _, std, _ = pair["standard"]
    _, ext, _ = pair["extreme"]
    public = lambda t: t[~t.channel.isin(("informant", "patrol"))]  # noqa: E731
    assert public(std.tips).lat.notna().mean() > 0.65
    assert public(ext.tips).lat.notna().mean() < 0.45
    # the online voice writes posts with a bracketed title; the classic voice never does
    assert ext.tips.text.str.contains("【").mean() > 0.15
    assert not std.tips.text.str.contains("【").any()
    # repeats: the same report again, days later, at the same place
    texts = ext.tips.text.tolist()
    repeated = sum(any(a != b and len(a) > 15 and a[-15:] in b for b in texts) for a in texts)
    assert repeated >= 3


def test_villages_are_in_the_places_layer_and_tips_name_them(pair):
    folder, snap, _ = pair["standard"]
    places = json.loads((folder / "places.geojson").read_text("utf-8"))["features"]
    villages = {f["properties"]["name"] for f in places if f["properties"]["kind"] == "village"}
    assert len(villages) > 100
    genuine = pd.read_csv(folder / "truth" / "tips.csv")
    gen_texts = snap.tips[snap.tips.tip_id.isin(genuine[genuine.genuine].tip_id)].text
    named = gen_texts.map(lambda t: any(v in t for v in villages))
    assert named.any()
