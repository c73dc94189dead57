"""The synthetic city: it loads under the contract, is deterministic, and is consistent with its truth.

One small world (12 months, ``small_world`` in tests/e2e_fixtures.py, shared with the driving tests;
``HAZLEADS_SIM_SEED=N`` checks another seed) is simulated once per session; a few short runs check
other seeds, the city scale's Parquet layout and determinism.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from features import load_snapshot
from features.geo import haversine_m
from simulation import simulate
from tests.e2e_fixtures import SIM_SEED, SIM_SEED_ENV

TRUTH_COLUMNS = {
    "behaviours": ["enterprise_id", "behaviour", "start", "end", "tonnes_diverted", "strength", "chain_id", "site_id"],
    "hidden_tonnes": ["enterprise_id", "month", "waste_code", "hidden_t", "mechanism"],
    "events": ["event_id", "enterprise_id", "behaviour", "vehicle_id", "manifest_id", "start", "end", "lat", "lon", "site_id", "tonnes"],
    "tips": ["tip_id", "genuine", "event_id", "enterprise_id"],
    "sites": ["site_id", "kind", "lat", "lon", "active_from", "active_to"],
    "lookalikes": ["entity_id", "kind", "start", "end", "note"],
}
BEHAVIOURS = {"dumping_3t", "covert_discharge", "water_dumping", "unlicensed_operation", "supplying_unlicensed"}


def _ledgers(snap) -> pd.DataFrame:
    led = snap.ledgers.copy()
    led["month"] = led["month"].astype(str)
    return led


def _manifests(snap) -> pd.DataFrame:
    man = snap.manifests.copy()
    man["month"] = man["departed_at"].dt.to_period("M").astype(str)
    return man.rename(columns={"producer_id": "enterprise_id"})


def _hidden(truth, mechanism: str) -> pd.Series:
    h = truth["hidden_tonnes"]
    return h[h.mechanism == mechanism].groupby(["enterprise_id", "month", "waste_code"]).hidden_t.sum()


# -- the contract ----------------------------------------------------------------------------

def test_small_world_loads_with_every_table_and_no_warnings(small_world):
    folder, snap, _ = small_world
    for name in ("enterprises", "licences", "ledgers", "electricity", "manifests", "vehicles", "trajectories", "tips", "cases"):
        assert len(snap.table(name)) > 0, name
    assert snap.report.warnings == []
    assert {p.kind for p in snap.places} >= {"river", "reservoir", "karst", "protected", "landfill"}
    rivers = [p for p in snap.places if p.kind == "river"]
    assert any(p.name == "漓江" and len(p.geometry.coords) > 500 for p in rivers)  # it meanders
    assert 8 <= len(snap.vehicles) <= 20 and snap.vehicles.hazmat_permit.notna().all()
    assert snap.report.trajectories.duplicates_dropped > 0 and snap.report.trajectories.out_of_order > 0
    assert len(snap.trajectories) < 1_500_000


@pytest.mark.parametrize("seed", [1, 2])
def test_other_seeds_load(tmp_path, seed):
    folder = simulate(tmp_path / f"s{seed}", seed=seed, scale="small", months=3)
    snap = load_snapshot(folder)
    assert snap.ledgers["month"].astype(str).nunique() == 3
    assert len(snap.manifests) > 50


def test_city_slice_writes_parquet_parts_and_loads(tmp_path):
    folder = simulate(tmp_path / "city", seed=3, scale="city", start="2022-06", months=1)
    parts = sorted((folder / "trajectories.parquet").glob("*.parquet"))
    assert [p.name for p in parts] == ["part-2022-06.parquet"]
    assert (folder / "electricity.parquet").is_dir()
    snap = load_snapshot(folder)
    assert len(snap.enterprises) > 1500 and len(snap.vehicles) > 200
    assert snap.trajectories.ts.min() >= pd.Timestamp("2022-06-01")
    assert snap.report.warnings == []


def test_same_seed_same_bytes_other_seed_differs(tmp_path):
    """Byte-identical for a seed, also in another process with another string-hash seed."""
    a = simulate(tmp_path / "a", seed=5, months=2)
    code = f"from simulation import simulate; simulate({str(tmp_path / 'b')!r}, seed=5, months=2)"
    env = {**os.environ, "PYTHONHASHSEED": "12345"}
    subprocess.run([sys.executable, "-c", code], check=True, env=env, cwd=Path(__file__).resolve().parents[1])
    b = tmp_path / "b"
    c = simulate(tmp_path / "c", seed=6, months=2)
    files = sorted(p.relative_to(a) for p in a.rglob("*") if p.is_file())
    assert len(files) >= 17
    for f in files:
        assert (a / f).read_bytes() == (b / f).read_bytes(), f
    differ = [f for f in files if (c / f).exists() and (a / f).read_bytes() != (c / f).read_bytes()]
    assert Path("manifests.csv") in differ and Path("trajectories.csv") in differ


def test_command_line_writes_a_snapshot(tmp_path):
    from hazleads.cli.main import app

    result = CliRunner().invoke(app, ["simulate", "--out", str(tmp_path / "cli"), "--seed", "4", "--months", "1"])
    assert result.exit_code == 0, result.output
    assert "snapshot written" in result.output
    meta = json.loads((tmp_path / "cli" / "truth" / "meta.json").read_text(encoding="utf-8"))
    assert meta["seed"] == 4 and meta["scale"] == "small" and meta["start"] == "2021-01-01"
    bad = CliRunner().invoke(app, ["simulate", "--out", str(tmp_path / "x"), "--scale", "planet"])
    assert bad.exit_code == 2
    drawn = CliRunner().invoke(app, ["simulate", "--out", str(tmp_path / "w"), "--seed", "4", "--months", "1", "--world", "random"])
    assert drawn.exit_code == 0, drawn.output
    world = json.loads((tmp_path / "w" / "truth" / "meta.json").read_text(encoding="utf-8"))["world"]
    assert world["name"] == "world-4" and meta["world"]["name"] == "standard"
    assert CliRunner().invoke(app, ["simulate", "--out", str(tmp_path / "y"), "--world", "mars"]).exit_code == 2


# -- truth files -------------------------------------------------------------------------------

def test_truth_files_have_the_documented_columns(small_world):
    folder, _, truth = small_world
    for name, cols in TRUTH_COLUMNS.items():
        assert list(truth[name].columns) == cols, name
    meta = json.loads((folder / "truth" / "meta.json").read_text(encoding="utf-8"))
    assert meta["seed"] == int(os.environ.get(SIM_SEED_ENV, SIM_SEED)) and meta["scale"] == "small" and meta["end"] == "2021-12-31"
    assert meta["counts"]["fixes"] > 100_000
    assert set(truth["hidden_tonnes"].mechanism) <= {"underdeclared_generation", "transfer_without_manifest", "shrinkage",
                                                     "offbook_pickup", "unlicensed_receiver", "covert_discharge"}


def test_every_behaviour_is_present_and_violators_are_a_minority(small_world):
    _, snap, truth = small_world
    b = truth["behaviours"]
    assert set(b.behaviour) == BEHAVIOURS
    assert set(b.strength) == {"obvious", "moderate", "subtle"}
    assert b.chain_id.notna().sum() >= 3  # an organised chain: carrier and producers
    producers = set(snap.enterprises.loc[snap.enterprises.roles.str.contains("producer"), "enterprise_id"])
    share = len(set(b.enterprise_id) & producers) / len(producers)
    assert 0.05 <= share <= 0.3
    assert (pd.to_datetime(b.end) >= pd.to_datetime(b.start)).all()
    assert (b.tonnes_diverted > 0).all()


# -- the world's own consistency ----------------------------------------------------------------

def test_honest_ledgers_balance(small_world):
    _, snap, truth = small_world
    led = _ledgers(snap).sort_values(["enterprise_id", "waste_code", "month"])
    prev = led.groupby(["enterprise_id", "waste_code"]).stock_end_t.shift()
    gap = prev + led.generated_t - led.transferred_t - led.onsite_t - led.stock_end_t
    checked = gap.notna()
    assert checked.sum() > 2000
    assert (gap[checked].abs() <= 0.1 + 1e-6).all()  # clerical slips of one rounding unit at most
    assert (gap[checked].abs() > 1e-6).mean() < 0.02


def test_honest_transfers_equal_the_months_manifests_and_hidden_ones_equal_the_gap(small_world):
    _, snap, truth = small_world
    led = _ledgers(snap).set_index(["enterprise_id", "month", "waste_code"])
    shipped = _manifests(snap).groupby(["enterprise_id", "month", "waste_code"]).quantity_t.sum()
    gap = led.transferred_t - shipped.reindex(led.index).fillna(0.0)
    hidden = _hidden(truth, "transfer_without_manifest").reindex(led.index).fillna(0.0)
    assert (hidden > 0).sum() >= 1
    assert ((gap - hidden).abs() <= 0.1 + 1e-6).all()  # rounding to the ledger's unit (0.01 or 0.1 t)
    assert (gap[hidden > 0] > 0).all()


def test_shrinkage_equals_the_receipt_gap_beyond_honest_weighing(small_world):
    _, snap, truth = small_world
    man = _manifests(snap).dropna(subset=["received_t"])
    man["short"] = man.quantity_t - man.received_t
    per = man.groupby(["enterprise_id", "month", "waste_code"]).agg(short=("short", "sum"), q=("quantity_t", "sum"), n=("short", "size"))
    hidden = _hidden(truth, "shrinkage").reindex(per.index).fillna(0.0)
    assert (hidden > 0).sum() >= 1
    residual = (per.short - hidden).abs()
    assert (residual <= 0.02 * per.q + 0.01 * per.n + 1e-6).all()
    assert (per.short[hidden > 0] > 0.8 * hidden[hidden > 0]).all()


def test_unlicensed_receiver_loads_go_to_receivers_without_a_valid_licence(small_world):
    _, snap, truth = small_world
    h = _hidden(truth, "unlicensed_receiver")
    assert len(h) >= 1
    man = _manifests(snap).set_index(["enterprise_id", "month", "waste_code"])
    lic = snap.licences[snap.licences.kind != "transport"]
    for key, tonnes in h.items():
        rows = man.loc[[key]]
        bad = 0.0
        for r in rows.itertuples():
            held = lic[(lic.enterprise_id == r.receiver_id) & (lic.valid_from <= r.departed_at) & (lic.valid_to >= r.departed_at.normalize())]
            code = key[2]
            ok = any(code in c.split(";") or f"HW{code[-2:]}" in c.split(";") for c in held.waste_codes)
            bad += 0.0 if ok else r.quantity_t
        assert bad == pytest.approx(tonnes, abs=0.011), key


def test_under_declared_generation_is_what_power_implies(small_world):
    """Declared plus hidden waste is close to the plant's usual waste per kWh; declared alone is further off."""
    _, snap, truth = small_world
    h = truth["hidden_tonnes"]
    h = h[h.mechanism.isin(["underdeclared_generation", "covert_discharge", "offbook_pickup"])]
    hidden = h.groupby(["enterprise_id", "month"]).hidden_t.sum()
    ele = snap.electricity.assign(month=snap.electricity.date.dt.to_period("M").astype(str))
    kwh = ele.groupby(["enterprise_id", "month"]).kwh.sum()
    gen = _ledgers(snap).groupby(["enterprise_id", "month"]).generated_t.sum()
    df = pd.DataFrame({"gen": gen, "kwh": kwh, "hidden": hidden}).dropna(subset=["gen", "kwh"]).fillna({"hidden": 0.0})
    df = df[(df.kwh > 0) & (df.gen > 0)]
    usual = df[df.hidden == 0].eval("gen / kwh").groupby(level=0).median()
    hit = df[(df.hidden > 0.1 * (df.gen + df.hidden)) & df.index.get_level_values(0).isin(usual.index)]
    assert len(hit) >= 3
    base = usual.reindex(hit.index.get_level_values(0)).to_numpy()
    off_declared = np.abs(np.log(hit.gen.to_numpy() / hit.kwh.to_numpy() / base))
    off_true = np.abs(np.log((hit.gen + hit.hidden).to_numpy() / hit.kwh.to_numpy() / base))
    assert np.median(off_true) < np.median(off_declared)
    assert np.median(hit.gen / (hit.gen + hit.hidden)) < 0.92


def test_every_manifest_is_a_trip_from_producer_to_receiver(small_world):
    _, snap, truth = small_world
    fixes = {v: g for v, g in snap.trajectories.groupby("vehicle_id", observed=True)}
    ent = snap.enterprises.set_index("enterprise_id")
    faults = truth["lookalikes"][truth["lookalikes"].kind.isin(["gps_outage", "gps_frozen"])]
    faulty = {(r.entity_id, d) for r in faults.itertuples() for d in pd.date_range(r.start, r.end)}
    man = snap.manifests
    checked = failed = 0
    for r in man.itertuples():
        day = r.departed_at.normalize()
        if any((r.vehicle_id, day + pd.Timedelta(days=k)) in faulty for k in (-1, 0, 1)):
            continue
        g = fixes[r.vehicle_id]
        at_p = g[(g.ts >= r.departed_at - pd.Timedelta(hours=2)) & (g.ts <= r.departed_at + pd.Timedelta(minutes=2))]
        end = r.received_at if pd.notna(r.received_at) and r.received_at - r.departed_at < pd.Timedelta(hours=20) \
            else r.departed_at + pd.Timedelta(hours=20)
        at_r = g[(g.ts >= r.departed_at) & (g.ts <= end)]
        p, q = ent.loc[r.producer_id], ent.loc[r.receiver_id]
        near_p = (haversine_m(at_p.lat, at_p.lon, p.lat, p.lon) < 500).any()
        near_r = (haversine_m(at_r.lat, at_r.lon, q.lat, q.lon) < 500).any()
        checked += 1
        failed += not (near_p and near_r)
    assert checked > 0.8 * len(man)
    assert failed == 0


def test_off_book_trips_stop_at_the_illegal_site(small_world):
    _, snap, truth = small_world
    ev = truth["events"]
    ev = ev[ev.vehicle_id.notna() & ev.site_id.notna() & ev.manifest_id.isna()]
    assert len(ev) >= 3
    fixes = {v: g for v, g in snap.trajectories.groupby("vehicle_id", observed=True)}
    seen = 0
    for r in ev.itertuples():
        g = fixes.get(r.vehicle_id)
        if g is None:
            continue
        w = g[(g.ts >= pd.Timestamp(r.start)) & (g.ts <= pd.Timestamp(r.end))]
        seen += bool(len(w)) and (haversine_m(w.lat, w.lon, r.lat, r.lon) < 300).mean() > 0.5
    assert seen >= 0.5 * len(ev)  # the rest: device switched off, outages


def test_genuine_tips_are_near_events_noise_tips_are_not(small_world):
    _, snap, truth = small_world
    tips = snap.tips.merge(truth["tips"], on="tip_id", suffixes=("", "_truth"))
    assert tips.genuine.sum() >= 4 and (~tips.genuine).sum() >= 8
    ev = truth["events"].set_index("event_id")
    g = tips[tips.genuine & tips.event_id.notna() & tips.lat.notna() & (tips.channel != "informant")]
    e = ev.loc[g.event_id]
    dist = haversine_m(g.lat.to_numpy(), g.lon.to_numpy(), e.lat.to_numpy(), e.lon.to_numpy())
    delay = (g.received_at.to_numpy() - pd.to_datetime(e.start).to_numpy()) / np.timedelta64(1, "D")
    assert np.median(dist) < 2000 and (delay > 0).all() and np.median(delay) < 7
    noise = tips[~tips.genuine & tips.lat.notna()]
    nearest = [haversine_m(r.lat, r.lon, ev.lat.to_numpy(), ev.lon.to_numpy()).min() for r in noise.itertuples()]
    assert np.median(nearest) > 3 * np.median(dist)
    assert tips.text.nunique() > 0.9 * len(tips)  # composed, not one template
    assert set(tips.channel) >= {"12369", "110", "online", "informant"}
    informant = tips[tips.channel == "informant"]
    assert informant.genuine.mean() >= 0.5 and informant.enterprise_id.notna().all()


def test_cases_are_chosen_like_investigators_choose(small_world):
    _, snap, truth = small_world
    cases, ent = snap.cases, snap.enterprises
    assert len(cases) >= 40
    assert {"confirmed", "unfounded"} <= set(cases.outcome)
    assert cases.opened.dt.to_period("Q").nunique() >= 4  # throughout the period, not only at the end
    assert cases.tip_id.notna().sum() >= 3
    investigated = ent.enterprise_id.isin(cases.enterprise_id.dropna())
    key = ent.key_discharge_unit.fillna(False).astype(bool)
    assert investigated[key].mean() > 1.3 * investigated[~key].mean()
    viol = set(truth["behaviours"].enterprise_id)
    confirmed = cases[cases.outcome == "confirmed"]
    assert confirmed.enterprise_id.dropna().isin(viol).all()
    unfounded = cases[(cases.outcome == "unfounded") & cases.enterprise_id.notna()]
    assert (~unfounded.enterprise_id.isin(viol)).mean() > 0.5
    assert confirmed.violation.notna().all() and confirmed.tonnes.notna().all()


def test_gps_and_power_follow_honest_rhythms(small_world):
    """Fixes every ~30 s at road speeds; power dips at the Spring Festival and on Sundays, and
    continuous chemical plants draw far more of it at night than garages."""
    _, snap, _ = small_world
    tr = snap.trajectories
    dt = tr.ts.diff().dt.total_seconds()[tr.vehicle_id.eq(tr.vehicle_id.shift())]
    moving = tr.speed_kmh.iloc[dt.index] > 5
    assert 28 <= dt[moving].median() <= 32
    assert 25 <= tr.speed_kmh[tr.speed_kmh > 5].median() <= 80
    ele = snap.electricity.merge(snap.enterprises[["enterprise_id", "industry_code"]], on="enterprise_id")
    factories = ele[ele.industry_code.str.startswith(("C26", "C27", "C33"))]
    daily = factories.groupby("date").kwh.sum()
    festival = daily["2021-02-10":"2021-02-18"].mean()  # Chinese New Year 2021-02-12
    assert festival < 0.8 * daily["2021-03-08":"2021-03-26"].mean()
    repair = ele[ele.industry_code == "O8111"]
    by_day = repair.groupby(repair.date.dt.day_of_week).kwh.mean()
    assert by_day[6] < by_day[:5].mean()
    night = lambda d: (d.night_kwh.sum() / d.kwh.sum())  # noqa: E731
    assert night(ele[ele.industry_code.str.startswith("C26")]) > 1.5 * night(repair)
