"""Driving violations from hand-built fixes, each rule at its boundary (features.driving): speeding
and its night limit, continuous and daily driving, restricted zones and their hours, silent
terminals, carrying without a permit; and the point in time (fixes after T change nothing)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from shapely.geometry import LineString, Polygon

from features.contract import TABLES
from features.driving import DrivingParams, driving_events
from features.places import Place, parse_hours
from features.snapshot import Snapshot, empty_frame

DAY = pd.Timestamp("2021-03-01")
LAT0, LON0 = 25.0, 110.0
M_PER_DEG_LAT = 111_195.0


def east(metres: float, lat: float = LAT0) -> tuple[float, float]:
    """The point ``metres`` east of (LAT0, LON0) on the parallel ``lat``."""
    return lat, LON0 + metres / (M_PER_DEG_LAT * np.cos(np.radians(lat)))


class Track:
    """Fixes of one vehicle, written segment by segment: ``drive`` adds a fix every 30 s after the
    clock (so m minutes of driving are exactly m minutes of driving intervals), ``park`` adds fixes
    at the same spot (a pause of exactly its minutes), ``silence`` adds nothing."""

    def __init__(self, vehicle: str, t0: pd.Timestamp, driver: str | None = None, x: float = 0.0, speed: bool = True):
        self.vehicle, self.t, self.x, self.driver, self.speed = vehicle, pd.Timestamp(t0), x, driver, speed
        self.rows: list[tuple] = []
        self._fix(0.0)

    def _fix(self, kmh: float, lat: float = LAT0) -> None:
        self.rows.append((self.vehicle, self.t, *east(self.x, lat), kmh if self.speed else np.nan, self.driver))

    def drive(self, minutes: float, kmh: float = 60.0, step_s: int = 30, lat: float = LAT0) -> Track:
        for _ in range(int(round(minutes * 60 / step_s))):
            self.t += pd.Timedelta(seconds=step_s)
            self.x += kmh / 3.6 * step_s
            self._fix(kmh, lat)
        return self

    def park(self, minutes: float, step_s: int = 30) -> Track:
        for _ in range(int(round(minutes * 60 / step_s))):
            self.t += pd.Timedelta(seconds=step_s)
            self._fix(0.0)
        return self

    def silence(self, minutes: float, metres: float = 0.0) -> Track:
        self.t += pd.Timedelta(minutes=minutes)
        self.x += metres
        self._fix(0.0)
        return self

    def as_driver(self, driver: str | None) -> Track:
        """The fixes from now on record ``driver``."""
        self.driver = driver
        return self

    def at(self, t: pd.Timestamp, x: float, kmh: float, lat: float = LAT0) -> Track:
        self.t, self.x = pd.Timestamp(t), x
        self._fix(kmh, lat)
        return self


def fixes(*tracks: Track) -> pd.DataFrame:
    rows = [r for t in tracks for r in t.rows]
    return pd.DataFrame(rows, columns=["vehicle_id", "ts", "lat", "lon", "speed_kmh", "driver_id"])


def snapshot(fix: pd.DataFrame, places: list[Place] = (), manifests: list[tuple] = (), unpermitted: tuple[str, ...] = ()) -> Snapshot:
    snap = Snapshot(path=Path("."), **{n: empty_frame(TABLES[n]) for n in TABLES})
    snap.trajectories = fix
    ids = sorted(set(fix["vehicle_id"]) | {m[1] for m in manifests})
    snap.vehicles = pd.DataFrame({"vehicle_id": ids, "transporter_id": "E2", "hazmat_permit": pd.array([v not in unpermitted for v in ids], dtype="boolean")})
    snap.enterprises = pd.DataFrame({"enterprise_id": ["E1", "E2", "E3"], "name": ["产废单位", "运输公司", "处置单位"],
                                     "lat": [LAT0, LAT0, LAT0], "lon": [LON0, LON0, east(30_000)[1]],
                                     "roles": ["producer", "transporter", "receiver"]})
    snap.manifests = pd.DataFrame([{"manifest_id": m[0], "producer_id": "E1", "transporter_id": "E2", "receiver_id": "E3",
                                    "vehicle_id": m[1], "waste_code": "900-214-08", "quantity_t": 5.0,
                                    "departed_at": pd.Timestamp(m[2]), "received_t": 5.0 if m[3] else np.nan,
                                    "received_at": pd.Timestamp(m[3]) if m[3] else pd.NaT} for m in manifests],
                                  columns=[c.name for c in TABLES["manifests"].columns])
    snap.places = list(places)
    return snap


def events(snap: Snapshot, as_of=DAY, **params) -> pd.DataFrame:
    return driving_events(snap, as_of, params=DrivingParams(**params)).events


def of(ev: pd.DataFrame, category: str) -> pd.DataFrame:
    return ev[ev["category"] == category].reset_index(drop=True)


def zone(hours: str | None, x0: float = 1000.0, x1: float = 1400.0, name: str = "老城区") -> Place:
    (la0, lo0), (la1, lo1) = east(x0, LAT0 - 0.002), east(x1, LAT0 + 0.002)
    return Place("restricted", name, Polygon([(lo0, la0), (lo1, la0), (lo1, la1), (lo0, la1)]), {},
                 parse_hours(hours) if hours else None)


def road(limit: float | None, north_m: float = 0.0, name: str = "G72泉南高速") -> Place:
    la = LAT0 + north_m / M_PER_DEG_LAT
    return Place("road", name, LineString([(LON0 - 0.1, la), (LON0 + 0.5, la)]), {}, None, limit)


# ---------------------------------------------------------------------------------------------
# speeding


@pytest.mark.parametrize(("n_fast", "expected"), [(1, 0), (2, 0), (3, 1)])
def test_speeding_needs_three_fixes_over_the_limit_so_one_noisy_fix_is_not_an_event(n_fast, expected):
    t = Track("V1", DAY + pd.Timedelta(hours=9)).drive(5, 50)
    t.drive(n_fast * 0.5, 70).drive(5, 50)
    sp = of(events(snapshot(fixes(t))), "speeding")
    assert len(sp) == expected
    if expected:
        e = sp.iloc[0]
        start = DAY + pd.Timedelta(hours=9, minutes=5, seconds=30)
        assert (e["start"], e["end"], e["n_fixes"]) == (start, start + pd.Timedelta(seconds=60), 3)
        assert (e["value"], e["limit"], e["unit"], e["place"]) == (70.0, 60.0, "km/h", "")
        assert (e["first_fix"], e["last_fix"]) == (e["start"], e["end"])


@pytest.mark.parametrize(("step_s", "n_fast", "expected"), [(10, 3, 0), (10, 6, 0), (10, 7, 1), (60, 2, 0), (60, 3, 1)])
def test_persistence_takes_both_three_fixes_and_a_minute(step_s, n_fast, expected):
    """Terminals reporting every 10 s need 7 fixes to last 60 s; every 60 s, 3 fixes still."""
    t = Track("V1", DAY + pd.Timedelta(hours=9)).drive(3, 50, step_s).drive(n_fast * step_s / 60, 75, step_s).drive(3, 50, step_s)
    assert len(of(events(snapshot(fixes(t))), "speeding")) == expected


@pytest.mark.parametrize(("kmh", "places", "limit", "place"), [
    (60.0, [], None, None),  # at the default limit: not over it
    (60.5, [], 60.0, ""),
    (75.0, [road(80.0)], None, None),  # on an expressway
    (75.0, [road(70.0)], 70.0, "G72泉南高速"),
    (75.0, [road(None)], 60.0, "G72泉南高速"),  # a road without a stated limit: the default
    (75.0, [road(80.0, north_m=49.0)], None, None),  # within the 50 m tolerance
    (75.0, [road(80.0, north_m=80.0)], 60.0, ""),  # beyond it: off the road
])
def test_the_limit_is_the_nearby_roads_else_the_default(kmh, places, limit, place):
    t = Track("V1", DAY + pd.Timedelta(hours=10)).drive(3, kmh)
    sp = of(events(snapshot(fixes(t), places)), "speeding")
    assert list(sp["limit"]) == ([] if limit is None else [limit])
    assert list(sp["place"]) == ([] if place is None else [place])


def test_without_reported_speed_the_speed_between_fixes_is_used():
    t = Track("V1", DAY + pd.Timedelta(hours=10), speed=False).drive(2, 50).drive(2, 84).drive(2, 50)
    sp = of(events(snapshot(fixes(t))), "speeding")
    assert len(sp) == 1 and sp["value"].iloc[0] == pytest.approx(84.0, abs=0.5) and sp["n_fixes"].iloc[0] == 4


def test_the_night_limit_applies_from_2200_not_at_2159_and_until_0600():
    """55 km/h under a 60 limit: legal by day, over the night limit of 48 from 22:00:00 to 05:59:59."""
    evening = Track("V1", DAY + pd.Timedelta(hours=21, minutes=57, seconds=30)).drive(5.5, 55)  # 21:58:00 .. 22:03:00
    sp = of(events(snapshot(fixes(evening))), "speeding")
    assert len(sp) == 1
    assert sp["start"].iloc[0] == DAY + pd.Timedelta(hours=22)  # the 21:59:30 fix is not part of it
    assert sp["limit"].iloc[0] == 48.0
    early = Track("V1", DAY + pd.Timedelta(hours=21, minutes=57, seconds=30)).drive(2, 55)  # up to 21:59:30
    assert of(events(snapshot(fixes(early))), "speeding").empty
    morning = Track("V1", DAY + pd.Timedelta(hours=5, minutes=58)).drive(5, 55)  # 05:58:30 .. 06:03:00
    sp = of(events(snapshot(fixes(morning))), "speeding")
    assert list(sp["start"]) == [DAY + pd.Timedelta(hours=5, minutes=58, seconds=30)]
    assert list(sp["end"]) == [DAY + pd.Timedelta(hours=5, minutes=59, seconds=30)]
    off = Track("V1", DAY + pd.Timedelta(hours=22), speed=True).drive(5, 55)
    assert of(events(snapshot(fixes(off)), night_factor=1.0), "speeding").empty  # configurable


# ---------------------------------------------------------------------------------------------
# fatigue


@pytest.mark.parametrize(("rest", "expected"), [(19, 1), (20, 0), (21, 0)])
def test_a_rest_one_minute_short_of_20_min_does_not_end_continuous_driving(rest, expected):
    """2 h, a pause, then 2 h 10 min: 4 h 10 min of continuous driving unless the pause is a rest."""
    t = Track("V1", DAY + pd.Timedelta(hours=8), driver="D1").drive(120).park(rest).drive(130)
    fat = of(events(snapshot(fixes(t))), "fatigue")
    assert len(fat) == expected
    if expected:
        e = fat.iloc[0]
        assert (e["kind"], e["driver_id"], e["vehicle_id"]) == ("continuous", "D1", "V1")
        assert e["value"] == pytest.approx(250 / 60, abs=0.01) and e["limit"] == 4.0
        assert (e["start"], e["end"]) == (DAY + pd.Timedelta(hours=8), DAY + pd.Timedelta(hours=8, minutes=120 + rest + 130))


@pytest.mark.parametrize(("minutes", "expected"), [(240, 0), (241, 1)])
def test_continuous_driving_over_4_hours_not_at_4(minutes, expected):
    t = Track("V1", DAY + pd.Timedelta(hours=8)).drive(minutes)
    assert len(of(events(snapshot(fixes(t))), "fatigue")) == expected


@pytest.mark.parametrize(("last_leg", "expected"), [(110, 0), (130, 1)])
def test_daily_driving_over_8_hours_with_every_rest_taken(last_leg, expected):
    """3 h + 3 h + the last leg, with 30-minute rests: never 4 h at a stretch; 7 h 50 or 8 h 10 in the day."""
    t = Track("V1", DAY + pd.Timedelta(hours=6)).drive(180).park(30).drive(180).park(30).drive(last_leg)
    fat = of(events(snapshot(fixes(t))), "fatigue")
    assert list(fat["kind"]) == ["daily"] * expected
    if expected:
        assert fat["value"].iloc[0] == pytest.approx((360 + last_leg) / 60, abs=0.01)
        assert fat["start"].iloc[0] == DAY + pd.Timedelta(hours=6)


def test_driving_across_midnight_is_continuous_but_split_between_the_days():
    """4 h 10 min from 22:00: one continuous event; 2 h + 2 h 10 min in the two days: no daily one."""
    t = Track("V1", DAY - pd.Timedelta(hours=2)).drive(250)
    fat = of(events(snapshot(fixes(t)), as_of=DAY + pd.Timedelta(days=1)), "fatigue")
    assert list(fat["kind"]) == ["continuous"]
    assert fat["value"].iloc[0] == pytest.approx(250 / 60, abs=0.01)


def test_fatigue_is_per_driver_where_the_terminal_records_one():
    """Two drivers taking turns on one truck (3 h each, 5 min to swap) are not tired; the same truck
    without recorded drivers is (6 h at a stretch); one driver taking a second truck after 10 minutes is."""
    team = Track("V1", DAY + pd.Timedelta(hours=8), driver="D1").drive(180).park(5).as_driver("D2").drive(180)
    assert of(events(snapshot(fixes(team))), "fatigue").empty
    anon = Track("V1", DAY + pd.Timedelta(hours=8)).drive(180).park(5).drive(180)
    assert list(of(events(snapshot(fixes(anon))), "fatigue")["kind"]) == ["continuous"]
    first = Track("V1", DAY + pd.Timedelta(hours=8), driver="D1").drive(150)
    second = Track("V2", DAY + pd.Timedelta(hours=10, minutes=40), driver="D1", x=50_000).drive(120)
    fat = of(events(snapshot(fixes(first, second))), "fatigue")
    assert list(zip(fat["kind"], fat["vehicle_id"], fat["driver_id"], strict=True)) == [("continuous", "V2", "D1")]
    assert fat["value"].iloc[0] == pytest.approx(4.5, abs=0.01)
    unknown = Track("V1", DAY + pd.Timedelta(hours=8)).drive(150)  # the first truck records no driver
    assert of(events(snapshot(fixes(unknown, second))), "fatigue").empty


@pytest.mark.parametrize("dtype", ["category", "str", "object"])
def test_drivers_read_the_same_from_any_column_type(dtype):
    """The loader's categorical drivers (categories unsorted, some unused, some fixes without a
    driver), Arrow text and Python objects give the same events: continuous driving per driver,
    each named on its event."""
    first = Track("V1", DAY + pd.Timedelta(hours=8), driver="D2").drive(150)
    second = Track("V2", DAY + pd.Timedelta(hours=10, minutes=40), driver="D2", x=50_000).drive(120)
    other = Track("V3", DAY + pd.Timedelta(hours=6), driver="D10", x=90_000).drive(250)
    anon = Track("V4", DAY + pd.Timedelta(hours=6), x=150_000).drive(250)
    f = fixes(first, second, other, anon)
    if dtype == "category":
        f["driver_id"] = pd.Categorical(f["driver_id"], categories=["Z9", "D2", "A0", "D10"])
    else:
        f["driver_id"] = f["driver_id"].astype(dtype)
    fat = of(events(snapshot(f)), "fatigue")
    got = sorted(zip(fat["vehicle_id"], fat["driver_id"].fillna("-"), fat["value"].round(2), strict=True))
    assert got == [("V2", "D2", 4.5), ("V3", "D10", round(250 / 60, 2)), ("V4", "-", round(250 / 60, 2))]


# ---------------------------------------------------------------------------------------------
# restricted zones


def _through(t0: pd.Timestamp, kmh: float = 20.0) -> Track:
    """From 400 m before the zone (x 1000-1400 m) to 200 m past it, a fix every 30 s."""
    tr = Track("V1", t0, x=600.0)
    return tr.drive(3.6, kmh)  # 600 m .. 2000 m


def _inside_times(tr: Track) -> list[pd.Timestamp]:
    return [r[1] for r in tr.rows if 1000 <= (r[3] - LON0) * M_PER_DEG_LAT * np.cos(np.radians(LAT0)) <= 1400]


@pytest.mark.parametrize(("minutes_before_end", "expected"), [(1, 1), (-1, 0)])
def test_a_zone_entered_a_minute_before_its_hours_end_counts_a_minute_after_does_not(minutes_before_end, expected):
    hours_end = DAY + pd.Timedelta(hours=9)
    enter = hours_end - pd.Timedelta(minutes=minutes_before_end)
    tr = Track("V1", enter - pd.Timedelta(minutes=2), x=760.0).drive(2, 7.2)  # 2 min to the edge at 7.2 km/h
    tr.drive(3, 7.2)  # inside from `enter` on, moving slowly (60 m a fix)
    assert _inside_times(tr)[0] == enter
    ev = of(events(snapshot(fixes(tr), [zone("07:00-09:00")])), "restricted")
    assert len(ev) == expected
    if expected:
        e = ev.iloc[0]
        assert e["start"] == enter and e["end"] == hours_end - pd.Timedelta(seconds=30) and e["n_fixes"] == 2
        assert (e["place"], e["limit"]) == ("老城区", "07:00-09:00")


@pytest.mark.parametrize(("when", "expected"), [("05:57:00", 1), ("06:00:00", 0), ("23:58:00", 1), ("21:50:00", 0)])
def test_hours_crossing_midnight(when, expected):
    tr = _through(DAY + pd.Timedelta(when))
    ev = of(events(snapshot(fixes(tr), [zone("22:00-06:00")]), as_of=DAY + pd.Timedelta(days=1)), "restricted")
    assert len(ev) == expected


def test_a_zone_without_hours_is_always_restricted_and_parking_inside_is_not_driving_in_it():
    assert len(of(events(snapshot(fixes(_through(DAY + pd.Timedelta(hours=13))), [zone(None)])), "restricted")) == 1
    parked = Track("V1", DAY + pd.Timedelta(hours=13), x=1200.0).park(30)
    assert of(events(snapshot(fixes(parked), [zone(None)])), "restricted").empty


# ---------------------------------------------------------------------------------------------
# silent terminals and carrying without a permit


@pytest.mark.parametrize(("minutes", "metres", "expected"), [(20, 15_000, 1), (20, 0, 0), (10, 8_000, 0), (11, 8_000, 1),
                                                             (120, 5_000, 0)])
def test_a_terminal_silent_while_the_vehicle_clearly_moved(minutes, metres, expected):
    """Silent more than 10 minutes and moved at least 1 km at 10 km/h or more: 15 km in 20 min is;
    standing still is not; 10 min is not yet a silence; 5 km in 2 h is not clearly driving."""
    t = Track("V1", DAY + pd.Timedelta(hours=9)).drive(10).silence(minutes, metres).drive(10)
    ev = of(events(snapshot(fixes(t))), "silent")
    assert len(ev) == expected
    if expected:
        e = ev.iloc[0]
        assert (e["kind"], e["value"], e["distance_km"]) == ("moving", float(minutes), pytest.approx(metres / 1000, abs=0.01))
        assert e["start"] == DAY + pd.Timedelta(hours=9, minutes=10)


def test_silence_under_a_manifest_is_one_event_and_an_engine_off_meal_is_not():
    """Departed 10:00 from the producer (x 0); silent 10:20-10:50 while moving 15 km (one event, of
    the manifest, not also a 'moving' one); at the receiver (x 30 km) the trip ends. A second trip
    parks 45 min silent (a meal: no event) and a third 2 h 5 min (an event, though it did not move)."""
    t = Track("V1", DAY + pd.Timedelta(hours=10)).drive(20, 45).silence(30, 15_000)
    assert t.x == pytest.approx(30_000)  # at the receiver
    t.park(30).silence(60).drive(30, 60)  # unloaded and on: not under the manifest any more
    ev = of(events(snapshot(fixes(t), manifests=[("M1", "V1", "2021-03-01 10:00", "2021-03-01 11:30")])), "silent")
    assert list(zip(ev["kind"], ev["manifest_id"], strict=True)) == [("manifest", "M1")]
    assert ev["start"].iloc[0] == DAY + pd.Timedelta(hours=10, minutes=20) and ev["value"].iloc[0] == 30.0
    for meal, expected in ((45, 0), (125, 1)):
        u = Track("V2", DAY + pd.Timedelta(hours=10)).drive(20, 45).silence(meal).drive(20, 45)
        ev = of(events(snapshot(fixes(u), manifests=[("M2", "V2", "2021-03-01 10:00", None)])), "silent")
        assert len(ev) == expected


def test_one_far_fix_between_heartbeats_is_a_gps_error_not_a_silent_drive():
    """A parked truck's heartbeats every 20 minutes with one fix 22 km away in between: a GPS error
    (too slow to be dropped as a jump), not two silent drives; a truck that stays 22 km away moved."""
    parked = Track("V1", DAY + pd.Timedelta(hours=9)).park(1).silence(20).silence(20, 22_000).silence(20, -22_000).silence(20)
    assert of(events(snapshot(fixes(parked))), "silent").empty
    moved = Track("V1", DAY + pd.Timedelta(hours=9)).park(1).silence(20).silence(20, 22_000).silence(20).silence(20)
    assert list(of(events(snapshot(fixes(moved))), "silent")["kind"]) == ["moving"]


def test_manifests_carried_together_make_one_silence():
    """A milk run: two manifests leave together; one silence of 30 min over 15 km is one event, of both."""
    t = Track("V1", DAY + pd.Timedelta(hours=10)).drive(20, 45).silence(30, 15_000).drive(20, 45)
    m = [("M1", "V1", "2021-03-01 10:00", None), ("M2", "V1", "2021-03-01 10:00", "2021-03-01 12:00")]
    ev = of(events(snapshot(fixes(t), manifests=m)), "silent")
    assert list(ev["manifest_id"]) == ["M1;M2"] and ev["value"].iloc[0] == 30.0


def test_a_vehicle_without_a_hazmat_permit_carrying_waste():
    t = Track("V2", DAY + pd.Timedelta(hours=10)).drive(30)
    snap = snapshot(fixes(t), manifests=[("M9", "V2", "2021-03-01 10:00", "2021-03-01 11:00")], unpermitted=("V2",))
    ev = of(events(snap), "unpermitted")
    assert list(zip(ev["vehicle_id"], ev["manifest_id"], ev["start"], strict=True)) == [("V2", "M9", DAY + pd.Timedelta(hours=10))]
    snap.vehicles["hazmat_permit"] = True
    assert of(events(snap), "unpermitted").empty


# ---------------------------------------------------------------------------------------------
# point in time, the window, the places file


def _random_world(seed: int) -> tuple[pd.DataFrame, list[tuple], list[Place]]:
    """Three vehicles over four days of random driving, speeding, pauses, silences, driver changes
    and impossible jumps, with manifests (some confirmed days later), a zone and a road."""
    rng = np.random.default_rng(seed)
    tracks, manifests = [], []
    for v in range(3):
        t = Track(f"V{v}", DAY + pd.Timedelta(hours=int(rng.integers(0, 6))), driver=None, x=float(rng.uniform(0, 2000)))
        while t.t < DAY + pd.Timedelta(days=4):
            t.as_driver(rng.choice(["D1", "D2", "D3", None]))
            u = rng.random()
            if u < 0.45:
                if rng.random() < 0.3:
                    manifests.append((f"M{len(manifests)}", t.vehicle, str(t.t), str(t.t + pd.Timedelta(hours=float(rng.choice([2, 30, 80]))))))
                t.drive(float(rng.uniform(5, 200)), float(rng.uniform(20, 95)), lat=LAT0 + float(rng.normal(0, 1e-4)))
            elif u < 0.75:
                t.park(float(rng.uniform(1, 60)))
            elif u < 0.95:
                t.silence(float(rng.uniform(5, 300)), float(rng.choice([0.0, rng.uniform(500, 40_000)])))
            else:  # a multipath jump: one fix 20 km away
                t.t += pd.Timedelta(seconds=30)
                t.rows.append((t.vehicle, t.t, *east(t.x + 20_000), 50.0, t.driver))
        tracks.append(t)
    return fixes(*tracks), manifests, [zone("07:00-09:00,22:00-06:00", 3000, 60_000), road(80.0), road(None, north_m=2000)]


def _known_at(fix: pd.DataFrame, manifests: list[tuple], as_of: pd.Timestamp) -> tuple[pd.DataFrame, list[tuple]]:
    c = as_of + pd.Timedelta(days=1)
    known = [(m, v, d, r if r is not None and pd.Timestamp(r) < c else None) for m, v, d, r in manifests if pd.Timestamp(d) < c]
    return fix[fix["ts"] < c], known


@pytest.mark.parametrize("seed", [1, 2])
def test_fixes_and_receipts_after_the_as_of_date_change_nothing(seed):
    """Events at T from the whole snapshot equal those from only what was known at T (fixes before
    the next midnight, receipts confirmed by then), on tracks with every kind of event, also when
    the first fix after T makes the last one before it an impossible jump."""
    fix, manifests, places = _random_world(seed)
    whole = snapshot(fix, places, manifests)
    seen = set()
    for day in range(4):
        as_of = DAY + pd.Timedelta(days=day)
        got = events(whole, as_of)
        f, m = _known_at(fix, manifests, as_of)
        pd.testing.assert_frame_equal(got, events(snapshot(f, places, m), as_of), obj=str(as_of))
        c = as_of + pd.Timedelta(days=1)
        last = f.sort_values("ts").groupby("vehicle_id").tail(1)  # make every vehicle's last fix before c a jump
        after = last.assign(ts=c + pd.Timedelta(seconds=5), lat=last["lat"] + 0.3)
        later = pd.concat([fix, after], ignore_index=True)
        pd.testing.assert_frame_equal(got, events(snapshot(later, places, manifests), as_of), obj=f"{as_of} + jump")
        seen |= set(got["category"])
    assert {"speeding", "fatigue", "restricted", "silent"} <= seen


def test_a_jump_seen_only_from_after_the_as_of_date_is_still_a_fix_at_it():
    """Silent for 11 minutes, then a fix 40 km away 10 s before midnight, and one back at the old
    place 10 s after it: the whole table drops the far fix as an impossible jump (over 150 km/h from
    both neighbours), but at T it is the last fix, and 40 km in 11 silent minutes is an event. The
    fix after T must not take it away."""
    t = Track("V1", DAY + pd.Timedelta(hours=23, minutes=18, seconds=50), speed=False).drive(30, 40)
    back = t.x
    t.at(DAY + pd.Timedelta(hours=23, minutes=59, seconds=50), back + 40_000, np.nan)
    t.at(DAY + pd.Timedelta(days=1, seconds=10), back, np.nan)
    got = of(events(snapshot(fixes(t))), "silent")
    assert list(zip(got["kind"], got["end"], strict=True)) == [("moving", DAY + pd.Timedelta(hours=23, minutes=59, seconds=50))]
    known = fixes(t)[lambda f: f["ts"] < DAY + pd.Timedelta(days=1)]
    pd.testing.assert_frame_equal(events(snapshot(fixes(t))), events(snapshot(known)))


def test_only_events_starting_in_the_90_days_up_to_the_as_of_date():
    as_of = pd.Timestamp("2021-06-30")  # the window is [2021-04-02 00:00, 2021-07-01 00:00)
    before = Track("V1", pd.Timestamp("2021-04-01 23:57")).drive(2.5, 90)
    inside = Track("V2", pd.Timestamp("2021-04-02 00:00")).drive(2.5, 90)
    late = Track("V3", pd.Timestamp("2021-07-01 00:00")).drive(2.5, 90)
    ev = events(snapshot(fixes(before, inside, late)), as_of)
    assert list(ev["vehicle_id"]) == ["V2"]
    assert ev["event_id"].iloc[0] == "speeding-speeding:V2:20210402T000030"
    assert list(events(snapshot(fixes(before, inside, late)), as_of, window_days=91)["vehicle_id"]) == ["V1", "V2"]


@pytest.mark.parametrize(("props", "geometry", "column", "words"), [
    ({"kind": "restricted", "name": "学校", "hours": "7:00-9:00,17:00~19:30"}, None, None, None),  # accepted
    ({"kind": "restricted", "name": "学校", "hours": "07:00-09:00,17:00"}, None, "hours", "'17:00' is not a range"),
    ({"kind": "restricted", "name": "学校", "hours": "22:00-25:00"}, None, "hours", "impossible time"),
    ({"kind": "restricted", "name": "学校", "hours": 7}, None, "hours", "must be text"),
    ({"kind": "restricted", "name": "学校"}, {"type": "Point", "coordinates": [110.0, 25.0]}, "geometry", "Polygon"),
    ({"kind": "road", "name": "G72", "speed_limit_kmh": "快"}, {"type": "LineString", "coordinates": [[110, 25], [110.1, 25]]},
     "speed_limit_kmh", "above 0"),
    ({"kind": "road", "name": "G72", "speed_limit_kmh": 80}, {"type": "Polygon", "coordinates": [[[110, 25], [110.1, 25], [110.1, 25.1], [110, 25]]]},
     "geometry", "LineString"),
])
def test_restricted_hours_and_road_limits_are_checked_in_places_geojson(tmp_path, props, geometry, column, words):
    import json

    from features.places import load_places
    from features.problems import ProblemLog

    square = {"type": "Polygon", "coordinates": [[[110, 25], [110.01, 25], [110.01, 25.01], [110, 25]]]}
    feats = [{"type": "Feature", "properties": {"kind": "river", "name": "漓江"},
              "geometry": {"type": "LineString", "coordinates": [[110, 25], [110.2, 25.1]]}},
             {"type": "Feature", "properties": props, "geometry": geometry or square}]
    path = tmp_path / "places.geojson"
    path.write_text(json.dumps({"type": "FeatureCollection", "features": feats}, ensure_ascii=False), encoding="utf-8")
    log = ProblemLog()
    places = load_places(path, log)
    if column is None:
        assert not log.problems and places[1].hours == ((420, 540), (1020, 1170))
        return
    assert [(p.file, p.row, p.column) for p in log.errors] == [("places.geojson", 2, column)]
    assert words in log.errors[0].message and len(places) == 1
