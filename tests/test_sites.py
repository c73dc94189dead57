"""Candidate sites: clustering, stable ids, and a rule score that wants more than "away from an
enterprise" (repetition, night, loads, water and karst), worked out on paper."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from features.geo import LocalProjection, PlaceIndex
from features.places import Place
from features.sites import candidate_sites, cluster_stops, geohash, site_ids
from tests.test_stops import offset

AS_OF = pd.Timestamp("2021-06-30")
RIVER_AT = (25.20, 110.32)


def places() -> PlaceIndex:
    from shapely.geometry import LineString
    river = Place("river", "漓江", LineString([(110.32, 25.30), (110.32, 25.10)]))  # runs north–south
    return PlaceIndex([river], LocalProjection(25.2, 110.3))


def stop(vehicle: str, owner: str, where, start: str, minutes: float = 20, loaded: bool = False,
         manifest: str | None = None, producer: str | None = None, registered: bool = False,
         at: str | None = None, at_producer: bool = False, offbook: bool = False) -> dict:
    t = pd.Timestamp(start)
    hour = (t + pd.Timedelta(minutes=minutes / 2)).hour
    return {"vehicle_id": vehicle, "owner_id": owner, "lat": where[0], "lon": where[1], "start": t,
            "end": t + pd.Timedelta(minutes=minutes), "duration_min": float(minutes), "night": hour >= 22 or hour < 6,
            "loaded": loaded, "manifest_id": manifest, "m_producer_id": producer, "registered": registered,
            "at_enterprise_id": at, "at_producer": at_producer, "offbook": offbook, "suspicion": 0.0}


def trips(rows: list[tuple]) -> pd.DataFrame:
    """(manifest_id, quantity_t, received_t, received_at, departed_at)."""
    t = pd.DataFrame(rows, columns=["manifest_id", "quantity_t", "received_t", "received_known", "departed_at"])
    t["received_known"] = pd.to_datetime(t["received_known"])
    t["departed_at"] = pd.to_datetime(t["departed_at"])
    return t


def test_stops_within_eps_cluster_and_a_lone_stop_is_its_own_site():
    base = (25.0, 110.0)
    pts = [offset(*base, 0, 0), offset(*base, 120, 0), offset(*base, 0, 150), offset(*base, 2000, 0)]
    labels = cluster_stops(np.array([p[0] for p in pts]), np.array([p[1] for p in pts]))
    assert labels[0] == labels[1] == labels[2] != labels[3]


def test_geohash_and_stable_ids():
    assert geohash(57.64911, 10.40744, 11) == "u4pruydqqvj"  # the standard example
    ids = site_ids(np.array([25.2, 25.2, 25.3]), np.array([110.3, 110.3000001, 110.3]), np.array([1, 5, 2]))
    base = "S" + geohash(25.2, 110.3)
    assert ids[1] == base and ids[0] == base + "-2" and ids[2] == "S" + geohash(25.3, 110.3)


def test_a_dump_by_the_river_outranks_a_busy_service_area_and_a_lone_stop():
    """Dump: 4 night visits with loads by 2 vehicles of one carrier, 30 m from the river, 3 of
    the 4 manifests arrived short → carrying 1, night 1, place e^(-30/250), repetition
    1-e^(-3/4), shortfall 0.75, crowd 0: z = -4+2+1.5+2·0.887+0.528+1.125 = 2.93 → 0.95.
    Service area, 5 km from water: 12 daytime visits with loads by vehicles of 6 carriers, no
    shortfall → z = -4+2+0+0+0.936+0-1.5 = -2.56 → 0.07. A lone daytime stop without a load,
    3 km from water: z = -4 → 0.018."""
    dump = offset(*RIVER_AT, 0, 30)
    area = offset(*RIVER_AT, 0, 5000)
    lone = offset(*RIVER_AT, 8000, 3000)
    rows, tr = [], []
    for k in range(4):
        m = f"MD{k}"
        rows.append(stop(f"V{k % 2}", "T1", dump, f"2021-0{3 + k // 2}-1{k} 23:00", loaded=True, manifest=m, producer="P9"))
        tr.append((m, 10.0, 6.0 if k < 3 else 10.0, f"2021-0{3 + k // 2}-1{k + 1} 02:00", f"2021-0{3 + k // 2}-1{k} 21:00"))
    for k in range(12):
        m = f"MS{k}"
        rows.append(stop(f"W{k}", f"C{k % 6}", area, f"2021-05-{k + 1:02d} 12:00", minutes=40, loaded=True, manifest=m, producer="P1"))
        tr.append((m, 10.0, 10.0, f"2021-05-{k + 1:02d} 16:00", f"2021-05-{k + 1:02d} 10:00"))
    rows.append(stop("Z1", "T2", lone, "2021-06-01 14:00"))
    rows.append(stop("V0", "T1", offset(*RIVER_AT, 3000, -3000), "2021-06-02 09:00", registered=True, at="P9", at_producer=True))
    s = pd.DataFrame(rows)
    sites = candidate_sites(s, trips(tr), places(), AS_OF)
    assert len(sites) == 3  # the registered stop is no candidate
    by_visits = sites.sort_values("site_visits_365d")
    lone_site, dump_site, area_site = (by_visits.iloc[i] for i in range(3))
    assert dump_site["score"] == pytest.approx(1 / (1 + np.exp(-(-4 + 2 + 1.5 + 2 * np.exp(-30 / 250)
                                                                   + (1 - np.exp(-3 / 4)) + 1.5 * 0.75))), abs=1e-3)
    assert area_site["score"] == pytest.approx(1 / (1 + np.exp(-(-4 + 2 + (1 - np.exp(-11 / 4)) - 1.5))), abs=1e-3)
    assert lone_site["score"] == pytest.approx(1 / (1 + np.exp(4)), abs=1e-3)
    assert sites.index[0] == by_visits.index[1]  # sorted by score: the dump first
    assert dump_site["vehicle_ids"] == "V0;V1" and dump_site["enterprise_ids"] == "P9;T1"
    assert dump_site["site_shortfall_share_365d"] == 0.75 and dump_site["site_transporters_365d"] == 1
    reasons = json.loads(dump_site["reasons"])
    assert reasons[0].startswith("100% 的停留载有联单危废") and any("距漓江 30 米" in r for r in reasons)
    assert any("夜间" in r for r in reasons)


def test_no_offsite_stops_give_an_empty_frame():
    s = pd.DataFrame([stop("V0", "T1", RIVER_AT, "2021-06-02 09:00", registered=True, at="P9", at_producer=True)])
    sites = candidate_sites(s, trips([]), places(), AS_OF)
    assert sites.empty and {"score", "lat", "lon", "vehicle_ids"} <= set(sites.columns)


def test_linked_producers_are_off_book_visits_in_the_12_hours_before():
    """V0 visits P5 off the books at 23:00, stops off-site at 01:00 the next day (linked, across
    midnight) and again 14 hours later (not); V1 visits P6 with a manifest (not off-book) first."""
    spot = offset(*RIVER_AT, 0, 2000)
    s = pd.DataFrame([
        stop("V0", "T1", (25.0, 110.0), "2021-06-01 23:00", registered=True, at="P5", at_producer=True, offbook=True),
        stop("V0", "T1", spot, "2021-06-02 01:00"),
        stop("V0", "T1", spot, "2021-06-02 15:00"),
        stop("V1", "T1", (25.1, 110.1), "2021-06-03 08:00", registered=True, at="P6", at_producer=True),
        stop("V1", "T1", spot, "2021-06-03 10:00"),
    ])
    site = candidate_sites(s, trips([]), places(), AS_OF).iloc[0]
    assert site["site_visits_365d"] == 3
    assert site["site_linked_share_365d"] == pytest.approx(1 / 3) and site["site_linked_producers_365d"] == 1
    assert site["enterprise_ids"] == "P5;T1"
