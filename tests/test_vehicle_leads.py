"""The vehicle lead list (contract §4 ``vehicle_leads.csv``): counts, score, reasons in Chinese and
English, carrier totals, and the file ``hazleads score`` writes."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pandas as pd
import pytest

from features.driving_track import EVENT_COLUMNS
from features.vehicle_leads import LEAD_COLUMNS, carrier_totals, ranked_vehicles, vehicle_table

AS_OF = pd.Timestamp("2021-03-31")
VEHICLES = pd.DataFrame({"vehicle_id": ["桂C00001", "桂C00002", "桂C00003", "桂C00004"],
                         "transporter_id": ["E1", "E1", "E1", "E2"], "hazmat_permit": [True, True, True, False]})
ENTERPRISES = pd.DataFrame({"enterprise_id": ["E1", "E2"], "name": ["桂林某危货运输公司", "临桂某物流公司"]})


def event(vehicle: str, category: str, kind: str, start: str, value: float, limit, minutes: float = 5.0, **extra) -> dict:
    s = pd.Timestamp(start)
    row = {c: None for c in EVENT_COLUMNS}
    row.update(event_id=f"{category}-{kind}:{vehicle}:{s:%Y%m%dT%H%M%S}", category=category, kind=kind, vehicle_id=vehicle,
               start=s, end=s + pd.Timedelta(minutes=minutes), lat=25.0, lon=110.3, place="", value=value, limit=limit,
               first_fix=s, last_fix=s + pd.Timedelta(minutes=minutes), distance_km=np.nan)
    row.update(extra)
    return row


def table(rows: list[dict]) -> pd.DataFrame:
    ev = pd.DataFrame(rows, columns=EVENT_COLUMNS) if rows else pd.DataFrame(columns=EVENT_COLUMNS)
    for c in ("start", "end", "first_fix", "last_fix"):
        ev[c] = pd.to_datetime(ev[c])
    ev["distance_km"] = ev["distance_km"].astype(float)
    return vehicle_table(ev, VEHICLES, ENTERPRISES)


def test_counts_score_and_reasons_of_each_vehicle():
    """V1 speeds hard on five days and drives tired; V2 brushes the limit once; V3 is clean; V4 (no
    permit) carries a load. Counts per category, a score ordered by how serious and repeated it is,
    reasons that name the count, the worst event's time and place, and the carrier's other vehicles."""
    rows = [event("桂C00001", "speeding", "speeding", f"2021-03-{d:02d} 10:00", 92.0, 60.0, place="G72泉南高速") for d in (1, 3, 5, 7, 9)]
    rows.append(event("桂C00001", "speeding", "speeding", "2021-03-09 15:00", 70.0, 60.0))  # a second on the same day
    rows.append(event("桂C00001", "fatigue", "continuous", "2021-03-09 06:00", 5.5, 4.0, minutes=340, driver_id="D7"))
    rows.append(event("桂C00002", "speeding", "speeding", "2021-03-20 11:00", 61.5, 60.0, minutes=1))
    rows.append(event("桂C00004", "unpermitted", "manifest", "2021-03-21 09:00", 5.0, None, manifest_id="LD1"))
    v = table(rows)
    assert list(v["speeding_events"]) == [6, 1, 0, 0] and list(v["fatigue_events"]) == [1, 0, 0, 0]
    assert list(v["unpermitted_events"]) == [0, 0, 0, 1] and list(v["event_count"]) == [7, 1, 0, 0]
    s = v["driving_score"]
    assert s["桂C00001"] > s["桂C00004"] > s["桂C00002"] > s["桂C00003"] == 0.0
    assert ((s >= 0) & (s < 1)).all()
    zh = v.at["桂C00001", "reasons_zh"]
    assert zh[0] == "近90天超速 6 次（5 天），最严重 2021-03-09 10:00 在G72泉南高速时速 92 公里（限速 60）"
    assert zh[1] == "疲劳驾驶 1 次，最长 2021-03-09 06:00 起连续驾驶 5.5 小时（限 4 小时），驾驶员 D7"
    assert zh[2] == "所属运输企业 桂林某危货运输公司 另有 1 辆车有违规（桂C00002）"
    assert v.at["桂C00001", "reasons_en"][0].startswith("speeding 6 times on 5 days in 90; worst 2021-03-09 10:00 on G72泉南高速")
    assert v.at["桂C00003", "reasons_zh"] == ["近90天未发现驾驶违规"]
    assert v.at["桂C00001", "worst_event_ids"].split(";")[0] == "speeding-speeding:桂C00001:20210309T100000"
    more = table(rows + [event("桂C00001", "speeding", "speeding", "2021-03-11 10:00", 92.0, 60.0)])
    assert more.at["桂C00001", "driving_score"] > s["桂C00001"]  # one more bad day raises it
    same_day = table(rows + [event("桂C00001", "speeding", "speeding", "2021-03-09 18:00", 70.0, 60.0)])
    assert same_day.at["桂C00001", "driving_score"] == pytest.approx(s["桂C00001"])  # a lesser one on a counted day does not


def test_carrier_totals_and_the_ranked_list():
    rows = [event("桂C00001", "silent", "manifest", "2021-03-02 10:00", 120.0, None, manifest_id="LD9"),
            event("桂C00002", "restricted", "restricted", "2021-03-02 08:00", 6.0, "07:00-09:00", place="桂林老城区"),
            event("桂C00004", "speeding", "speeding", "2021-03-05 10:00", 75.0, 60.0)]
    v = table(rows)
    c = carrier_totals(v)
    assert c.loc["E1", ["vehicles", "vehicles_with_events", "silent_events", "restricted_events", "event_count"]].tolist() == [3, 2, 1, 1, 2]
    assert c.loc["E2", "top_vehicle_id"] == "桂C00004" and c.loc["E1", "max_score"] == v.loc[["桂C00001", "桂C00002"], "driving_score"].max()
    r = ranked_vehicles(v, AS_OF)
    assert list(r.columns[:len(LEAD_COLUMNS)]) == LEAD_COLUMNS
    assert list(r["rank"]) == [1, 2, 3, 4] and r["score"].is_monotonic_decreasing and r["vehicle_id"].iloc[-1] == "桂C00003"
    assert (r["as_of"] == "2021-03-31").all()
    assert "桂林老城区" in json.loads(r.set_index("vehicle_id").at["桂C00002", "reasons"])[0]


def test_hazleads_score_writes_vehicle_leads_per_the_contract(trained_home, small_snapshot, tmp_path, monkeypatch):
    """``hazleads score`` writes vehicle_leads.csv beside the other four files: exactly the contract's
    columns, every registered vehicle once, score in [0, 1], rank 1 strongest, reasons a JSON list of
    Chinese strings, and counts equal to the driving events of the 90 days up to T."""
    from typer.testing import CliRunner

    from features import load_snapshot
    from features.driving import driving_events
    from hazleads.cli.main import app

    home, settings, result = trained_home
    monkeypatch.setenv("HAZLEADS_HOME", str(home))
    day = str(result.as_of.date())
    res = CliRunner().invoke(app, ["score", "--data", str(small_snapshot), "--as-of", day, "--out", str(tmp_path / "o")])
    assert res.exit_code == 0, res.output
    assert "vehicle_leads.csv" in {p.name for p in (tmp_path / "o").iterdir()}
    f = pd.read_csv(tmp_path / "o" / "vehicle_leads.csv", encoding="utf-8", dtype={"vehicle_id": str, "transporter_id": str})
    assert list(f.columns) == LEAD_COLUMNS
    snap = load_snapshot(small_snapshot)
    assert sorted(f["vehicle_id"]) == sorted(snap.vehicles["vehicle_id"].astype(str))
    assert (f["as_of"] == day).all() and f["score"].between(0, 1).all()
    assert list(f["rank"]) == list(range(1, len(f) + 1)) and f["score"].is_monotonic_decreasing
    owners = snap.vehicles.set_index("vehicle_id")["transporter_id"].astype(str)
    assert (f["transporter_id"] == f["vehicle_id"].map(owners)).all()
    reasons = [json.loads(r) for r in f["reasons"]]
    assert all(isinstance(r, list) and r and all(isinstance(x, str) for x in r) for r in reasons)
    assert any("次" in r[0] for r in reasons)
    ev = driving_events(snap, day).events
    for col, cat in (("speeding_events", "speeding"), ("fatigue_events", "fatigue"), ("restricted_events", "restricted"),
                     ("silent_events", "silent")):
        want = ev[ev["category"] == cat].groupby("vehicle_id").size()
        assert (f.set_index("vehicle_id")[col] == want.reindex(f["vehicle_id"]).fillna(0).to_numpy()).all(), col
    assert ev["start"].min() >= pd.Timestamp(day) + pd.Timedelta(days=1) - pd.Timedelta(days=90)
    assert f["speeding_events"].sum() > 0
    # the limits are configuration: HAZLEADS_DRIVING reaches the scorer
    monkeypatch.setenv("HAZLEADS_DRIVING", '{"speed_min_fixes": 100000}')
    res = CliRunner().invoke(app, ["score", "--data", str(small_snapshot), "--as-of", day, "--out", str(tmp_path / "p")])
    assert res.exit_code == 0, res.output
    g = pd.read_csv(tmp_path / "p" / "vehicle_leads.csv")
    assert g["speeding_events"].sum() == 0 and g["silent_events"].sum() == f["silent_events"].sum()
    shutil.rmtree(tmp_path / "o")


def test_driving_limits_from_the_settings(monkeypatch):
    from pydantic import ValidationError

    from hazleads.settings import Settings

    monkeypatch.setenv("HAZLEADS_DRIVING", '{"default_limit_kmh": 50, "night_factor": 1.0}')
    p = Settings().driving_params
    assert (p.default_limit_kmh, p.night_factor, p.continuous_limit_h) == (50.0, 1.0, 4.0)
    for bad in ('{"speed_limit": 50}', '{"night_factor": 1.5}'):
        monkeypatch.setenv("HAZLEADS_DRIVING", bad)
        with pytest.raises(ValidationError):
            Settings()
