"""How the carriers' vehicles are driven: drivers, speeds against the limits, restricted zones and
terminals switched off — the honest majority near the limits, some carriers breaking them.

Honest drivers keep 5% under the dangerous-goods limits of 《危险货物道路运输安全管理办法》 第四十六条
(80 km/h on expressways, 60 elsewhere, 80% of that from 22:00 to 06:00): within each planned drive
the stretches that would be faster are slowed and the time is taken back from slower stretches and
traffic-light stops (when a drive's planned time leaves no room, it runs uniformly faster: the
honest near-misses). Honest carriers split a vehicle's day between its drivers at about 7 hours;
a quarter of the terminals record no driver.

Violating carriers (about a third of them) get one or more behaviours on some of their vehicles:
``speeding`` (20-45% faster on 30-80% of drives, then waiting at the destination: trip times do
not change), ``fatigue`` (one driver takes the carrier's trips one after another across its
vehicles all day), ``restricted`` (a shortcut through a restricted zone placed off the road
network beside the vehicle's usual route, whenever it passes; only times inside the zone's hours
are violations) and ``silent`` (the terminal off for the middle of 10-30% of drives). Carrying waste
without a hazmat permit and the dumping runs' switched-off terminals come from ``violations.py``
and are listed too. Truth: ``truth/vehicle_violations.csv`` (vehicle_id, kind, start, end,
driver_id, detail), one row per drive, day or passage.

Every draw is from ``rng_for(seed, "driving")``; the GPS streams are untouched (styles change
positions and times of fixes, never the number of draws).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa
import shapely

from simulation.config import DAY_S, HOUR_S, Period
from simulation.enterprises import Registry
from simulation.geography import to_latlon
from simulation.itinerary import DRIVE, GPS_OFF, Trip
from simulation.roads import CLASS_ID, CLASSES, RoadNetwork, Route

LIMIT_KMH = np.array([60.0] * len(CLASSES))
LIMIT_KMH[CLASS_ID["highway"]] = 80.0  # written to places.geojson as `road` features with these limits
NIGHT_FACTOR, NIGHT_START_S, NIGHT_END_S = 0.8, 22 * HOUR_S, 6 * HOUR_S
HONEST_MARGIN = 0.95
ZONE_RADIUS_M = 800.0
ZONE_CLEARANCE_M = 250.0  # between a zone's edge and any road of the network: honest routes never enter
ZONE_TEMPLATES = (  # (name pattern, hours): the hours a violator is most often inside are chosen
    ("{town}老城区危险货物运输车辆禁行区", "07:00-21:00"),
    ("{town}中心小学周边禁行区", "07:00-09:00,16:00-18:30"),
    ("{river}沿岸景区夜间禁行区", "22:00-06:00"),
    ("{town}水源保护区禁行区", None),
)
KINDS = ("speeding", "fatigue", "restricted", "silent")


@dataclass
class Zone:
    name: str
    hours: str | None
    x: float
    y: float

    def active(self, t: np.ndarray) -> np.ndarray:
        """Whether local times ``t`` (seconds) fall in the zone's hours."""
        if self.hours is None:
            return np.ones(np.shape(t), dtype=bool)
        s = np.asarray(t) % DAY_S
        out = np.zeros(np.shape(t), dtype=bool)
        for part in self.hours.split(","):
            a, b = (int(h) * HOUR_S + int(m) * 60 for h, m in (x.split(":") for x in part.split("-")))
            out |= ((s >= a) & (s < b)) if a < b else ((s >= a) | (s < b))
        return out


@dataclass
class Style:
    factor: float = 1.0  # > 1: the drive runs this much faster and waits at its destination
    shortcut: bool = False  # the driver cuts through the restricted zone beside the route ...
    zone: int = -1  # ... this one (placed once the shortcut-takers are known)
    silent: bool = False  # terminal off from a minute after setting off to a minute before arriving


@dataclass
class DrivingPlan:
    period: Period
    zones: list[Zone] = field(default_factory=list)
    styles: dict[tuple[int, int], Style] = field(default_factory=dict)  # (vehicle, drive start) -> style
    shifts: dict[int, tuple[np.ndarray, np.ndarray, np.ndarray]] = field(default_factory=dict)  # vehicle -> trip start, end, driver
    truth: list[tuple[str, str, int, int, str, str]] = field(default_factory=list)
    plates: list[str] = field(default_factory=list)
    records: dict[int, bool] = field(default_factory=dict)  # vehicle -> its terminal records the driver

    # -- during GPS generation -----------------------------------------------------------------
    def shaper(self, vehicle: int):
        """The function ``gps._drive`` applies to a drive's route and time profile."""
        def shape(r: Route, t0: int, kd: np.ndarray, kt: np.ndarray, room: int):
            return self._shape(vehicle, r, t0, kd, kt, room)
        return shape

    def _shape(self, vehicle: int, r: Route, t0: int, kd: np.ndarray, kt: np.ndarray, room: int):
        kt = honest_pace(r, t0, kd, kt, room)
        style = self.styles.get((vehicle, t0))
        xy, cum = r.xy, r.cum
        if style is None:
            return xy, cum, kd, kt
        if style.zone >= 0:
            xy, cum, kd, inside = shortcut(r, kd, self.zones[style.zone])
            if inside is not None:
                t_in, t_out = (t0 + np.interp(s, kd, kt) for s in inside)
                probe = np.linspace(t_in, t_out, 12)
                if self.zones[style.zone].active(probe).any():
                    self.truth.append((self.plates[vehicle], "restricted", int(t_in), int(t_out), "", self.zones[style.zone].name))
        if style.factor > 1.0:
            kt = kt / style.factor
        return xy, cum, kd, kt

    def drivers_of(self, vehicle: int, ts: np.ndarray) -> np.ndarray:
        """The driver on duty at each fix time (None outside trips, or if the terminal records none)."""
        out = np.full(ts.size, None, dtype=object)
        if vehicle not in self.shifts:
            return out
        start, end, driver = self.shifts[vehicle]
        k = np.searchsorted(start, ts, side="right") - 1
        on = (k >= 0) & (ts <= end[np.maximum(k, 0)])
        out[on] = driver[k[on]]
        return out

    def silent_mask(self, vehicle: int, ts: np.ndarray, drives: list[tuple[int, int]]) -> np.ndarray:
        """Fixes dropped because the terminal was switched off during one of ``drives`` (start, end)."""
        drop = np.zeros(ts.size, dtype=bool)
        for t0, t1 in drives:
            s = self.styles.get((vehicle, t0))
            if s is not None and s.silent:
                drop |= (ts > t0 + 60) & (ts < t1 - 60)
        return drop

    # -- outputs -------------------------------------------------------------------------------
    def place_features(self, net: RoadNetwork) -> list[dict]:
        """``road`` features (highways at 80 km/h, provincial roads at 60) and ``restricted`` zones."""
        feats = []
        for e in net.edges:
            cls = CLASSES[e.cls]
            if cls not in ("highway", "provincial"):
                continue
            line = shapely.simplify(shapely.LineString(e.xy), 8.0)
            lat, lon = to_latlon(*np.asarray(line.coords).T)
            kind = "高速公路" if cls == "highway" else "省道"
            feats.append({"type": "Feature", "geometry": {"type": "LineString", "coordinates": _coords(lat, lon)},
                          "properties": {"kind": "road", "name": f"{net.nodes[e.u].name}至{net.nodes[e.v].name}{kind}",
                                         "speed_limit_kmh": float(LIMIT_KMH[e.cls])}})
        for z in self.zones:
            ring = shapely.Point(z.x, z.y).buffer(ZONE_RADIUS_M, quad_segs=8)
            lat, lon = to_latlon(*np.asarray(ring.exterior.coords).T)
            props = {"kind": "restricted", "name": z.name, **({"hours": z.hours} if z.hours else {})}
            feats.append({"type": "Feature", "geometry": {"type": "Polygon", "coordinates": [_coords(lat, lon)]},
                          "properties": props})
        return feats

    def truth_table(self) -> pa.Table:
        """``truth/vehicle_violations.csv``: one row per violating drive, day, stretch or passage."""
        rows = sorted(set(self.truth), key=lambda r: (r[0], r[2], r[1], r[3], r[4], r[5]))
        return pa.table({
            "vehicle_id": pa.array([r[0] for r in rows], pa.string()),
            "kind": pa.array([r[1] for r in rows], pa.string()),
            "start": pa.array(np.array([r[2] for r in rows], dtype=np.int64), pa.int64()).cast(pa.timestamp("s")),
            "end": pa.array(np.array([r[3] for r in rows], dtype=np.int64), pa.int64()).cast(pa.timestamp("s")),
            "driver_id": pa.array([r[4] or None for r in rows], pa.string()),
            "detail": pa.array([r[5] for r in rows], pa.string()),
        })


def _coords(lat: np.ndarray, lon: np.ndarray) -> list[list[float]]:
    return [[round(float(b), 6), round(float(a), 6)] for a, b in zip(lat, lon, strict=True)]


# ---------------------------------------------------------------------------------------------
# drive profiles


def honest_pace(r: Route, t0: int, kd: np.ndarray, kt: np.ndarray, room: float = 0.0) -> np.ndarray:
    """The time profile ``kt`` (seconds from t0 at distances ``kd``) with every stretch at most 95% of
    its limit (night: 80% of it) in the same total time, slower stretches and stops giving up time;
    if that cannot be, the drive takes up to ``room`` seconds longer, and only beyond that it is
    uniformly faster (the honest driver's near misses)."""
    dd, dt = np.diff(kd), np.diff(kt)
    if dd.size == 0 or kt[-1] <= 0:
        return kt
    seg = np.clip(np.searchsorted(r.cum, (kd[:-1] + kd[1:]) / 2, side="right") - 1, 0, len(r.cls) - 1)
    tod = (t0 + (kt[:-1] + kt[1:]) / 2) % DAY_S
    night = (tod >= NIGHT_START_S) | (tod < NIGHT_END_S)
    cap = LIMIT_KMH[r.cls[seg]] * np.where(night, NIGHT_FACTOR, 1.0) * HONEST_MARGIN / 3.6
    tmin = dd / cap
    total, need = kt[-1], tmin.sum()
    slack = np.maximum(dt - tmin, 0.0)
    if need <= total and slack.sum() > 0:
        new = tmin + slack * ((total - need) / slack.sum())
    elif need <= total + room:
        new = tmin
    else:
        new = tmin * ((total + room) / need) if need > 0 else dt
    return np.concatenate([[0.0], np.cumsum(new)])


def shortcut(r: Route, kd: np.ndarray, z: Zone) -> tuple[np.ndarray, np.ndarray, np.ndarray, tuple[float, float] | None]:
    """The route with a detour through the zone's centre where it passes within 4 km: the stretch
    around the nearest point is replaced by two straight lines through the centre, and distances are
    stretched over it so that the timing of the drive stays. Returns the new polyline, its cumulative
    length, the profile's distances on it and the arc-length span inside the zone (None: no detour)."""
    d = np.hypot(r.xy[:, 0] - z.x, r.xy[:, 1] - z.y)
    j = int(np.argmin(d))
    if d[j] > 4000.0 or r.length < 1000.0:
        return r.xy, r.cum, kd, None
    half = max(1500.0, 1.6 * float(d[j]))
    sa, sb = max(0.0, r.cum[j] - half), min(r.length, r.cum[j] + half)
    pa_ = np.array([np.interp(sa, r.cum, r.xy[:, 0]), np.interp(sa, r.cum, r.xy[:, 1])])
    pb = np.array([np.interp(sb, r.cum, r.xy[:, 0]), np.interp(sb, r.cum, r.xy[:, 1])])
    c = np.array([z.x, z.y])
    ia, ib = np.searchsorted(r.cum, sa, side="right"), np.searchsorted(r.cum, sb, side="left")
    xy = np.vstack([r.xy[:ia], pa_, c, pb, r.xy[ib:]])
    cum = np.concatenate([[0.0], np.cumsum(np.hypot(*np.diff(xy, axis=0).T))])
    first, second = float(np.hypot(*(c - pa_))), float(np.hypot(*(pb - c)))
    detour, direct = first + second, sb - sa
    new_kd = np.where(kd <= sa, kd, np.where(kd >= sb, kd + detour - direct, sa + (kd - sa) * detour / max(direct, 1.0)))
    at_centre = sa + first
    return xy, cum, new_kd, (at_centre - min(ZONE_RADIUS_M, first), at_centre + min(ZONE_RADIUS_M, second))


# ---------------------------------------------------------------------------------------------
# planning


def plan_driving(reg: Registry, net: RoadNetwork, period: Period, trips: list[Trip], shipments: list,
                 rng: np.random.Generator) -> DrivingPlan:
    """Drivers, behaviours and zones for the trips already scheduled (see the module docstring)."""
    plan = DrivingPlan(period, plates=[v.plate for v in reg.vehicles])
    by_vehicle: dict[int, list[Trip]] = {}
    for t in sorted(trips, key=lambda t: (t.vehicle, t.start)):
        by_vehicle.setdefault(t.vehicle, []).append(t)
    carriers = sorted({v.carrier for v in reg.vehicles})
    n_bad = max(2, int(round(len(carriers) / 3))) if len(carriers) >= 3 else 1
    bad = [int(c) for c in rng.choice(carriers, size=min(n_bad, len(carriers)), replace=False)]
    behaviours: dict[int, set[str]] = {c: {str(k) for k in rng.choice(KINDS, size=int(rng.integers(1, 3)), replace=False)} for c in bad}
    for i, k in enumerate(KINDS):  # every behaviour somewhere
        if not any(k in b for b in behaviours.values()):
            behaviours[bad[i % len(bad)]].add(k)
    plan.records = {v.idx: bool(rng.random() < 0.75) for v in reg.vehicles}
    rosters = {v.idx: [f"{reg.firms[v.carrier].eid[-4:]}{v.idx:03d}{k}" for k in "ABC"[:int(rng.integers(2, 4))]] for v in reg.vehicles}
    tired: dict[int, str] = {}
    for c in sorted(behaviours):
        fleet = [v.idx for v in reg.fleet(c) if v.idx in by_vehicle]
        if not fleet:
            continue
        picked = [int(v) for v in rng.choice(fleet, size=int(rng.integers(1, max(2, len(fleet) // 2 + 1))), replace=False)]
        for kind in sorted(behaviours[c]):
            if kind == "fatigue":
                tired[c] = f"{reg.firms[c].eid[-4:]}X{int(rng.integers(10, 99))}"
            for v in picked if kind != "fatigue" else []:
                _drive_styles(plan, kind, v, by_vehicle[v], rng)
    _place_zones(plan, reg, net, by_vehicle, rng)
    for v, ts in by_vehicle.items():
        _shifts(plan, v, ts, rosters[v])
    for c, driver in tired.items():
        _fatigue_truth(plan, reg, c, driver, by_vehicle)
    for v, ts in by_vehicle.items():  # the dumping runs' switched-off terminals (violations.py)
        for t in ts:
            for t0, t1, kind, *_rest, flags in t.moves:
                if kind == DRIVE and flags & GPS_OFF:
                    plan.truth.append((reg.vehicles[v].plate, "silent", t0, t1, "", "dumping run"))
    for s in shipments:
        if s.vehicle >= 0 and not reg.vehicles[s.vehicle].hazmat and s.manifest_id:
            plan.truth.append((reg.vehicles[s.vehicle].plate, "unpermitted", s.departed, s.arrived, "", s.manifest_id))
    return plan


def _drives(trips: list[Trip]) -> list[tuple[int, int]]:
    return [(m[0], m[1]) for t in trips for m in t.moves if m[2] == DRIVE and not m[5] & GPS_OFF]


def _drive_styles(plan: DrivingPlan, kind: str, v: int, trips: list[Trip], rng: np.random.Generator) -> None:
    plate = plan.plates[v]
    share = {"speeding": rng.uniform(0.3, 0.8), "restricted": 0.7, "silent": rng.uniform(0.1, 0.3)}[kind]
    factor = rng.uniform(1.2, 1.45)
    for t0, t1 in _drives(trips):
        if rng.random() >= share:
            continue
        s = plan.styles.setdefault((v, t0), Style())
        if kind == "speeding" and t1 - t0 >= 600:
            s.factor = factor
            plan.truth.append((plate, "speeding", t0, t1, "", f"{factor:.2f}x"))
        elif kind == "silent" and t1 - t0 >= 20 * 60:
            s.silent = True
            plan.truth.append((plate, "silent", t0 + 60, t1 - 60, "", "terminal off"))
        elif kind == "restricted":
            s.shortcut = True


def _place_zones(plan: DrivingPlan, reg: Registry, net: RoadNetwork, by_vehicle: dict[int, list[Trip]],
                 rng: np.random.Generator) -> None:
    """A zone off the road network beside each shortcut-taker's most driven route."""
    takers = sorted({v for (v, _t0), s in plan.styles.items() if s.shortcut})
    # clear of every road, access road and registered point (sites, depots, restaurants): honest trips never enter
    roads = shapely.union_all([shapely.MultiLineString([e.xy for e in net.edges] + [net._access_road(p)[0] for p in range(len(net.pts))]),
                               shapely.MultiPoint(net.pts)])
    towns = [n for n in net.nodes if n.kind in ("town", "seat", "urban") and n.county]
    rivers = [name for name, _ in net.geo.rivers]
    for v in takers:
        pairs: dict[tuple[int, int], int] = {}
        for t in by_vehicle[v]:
            for m in t.moves:
                if m[2] == DRIVE:
                    pairs[(m[3], m[4])] = pairs.get((m[3], m[4]), 0) + 1
        zone = -1
        for (a, b), _n in sorted(pairs.items(), key=lambda kv: (-kv[1], kv[0]))[:5]:
            r = net.route(a, b)
            if r.length < 4000:
                continue
            for _ in range(20):
                k = int(rng.integers(1, len(r.xy) - 1))
                dx, dy = r.xy[k + 1] - r.xy[k - 1]
                side = rng.choice([-1.0, 1.0]) * rng.uniform(1100.0, 2500.0) / max(np.hypot(dx, dy), 1e-6)
                x, y = r.xy[k, 0] - dy * side, r.xy[k, 1] + dx * side
                if roads.distance(shapely.Point(x, y)) >= ZONE_RADIUS_M + ZONE_CLEARANCE_M:
                    zone = _add_zone(plan, x, y, v, by_vehicle[v], towns, rivers)
                    break
            if zone >= 0:
                break
        for (w, _t0), s in plan.styles.items():
            if w == v and s.shortcut:
                s.zone = zone


def _add_zone(plan: DrivingPlan, x: float, y: float, v: int, trips: list[Trip], towns, rivers) -> int:
    """The template whose hours hold most of the vehicle's drives, named after the nearest town."""
    starts = np.array([t0 for t0, _ in _drives(trips)] or [0])
    k = len(plan.zones)
    order = [(k + i) % len(ZONE_TEMPLATES) for i in range(len(ZONE_TEMPLATES))]
    best = max(order, key=lambda i: Zone("", ZONE_TEMPLATES[i][1], 0, 0).active(starts).mean() - 0.01 * order.index(i))
    town = min(towns, key=lambda n: (n.x - x) ** 2 + (n.y - y) ** 2).name
    name, hours = ZONE_TEMPLATES[best]
    plan.zones.append(Zone(name.format(town=town.replace("镇", "").replace("乡", ""), river=rivers[k % len(rivers)]), hours, x, y))
    return k


def _shifts(plan: DrivingPlan, v: int, trips: list[Trip], roster: list[str]) -> None:
    """Who drives each trip: the next driver of the roster takes over once a trip would bring the
    day's driving past 7 h (honest carriers; ``_fatigue_truth`` then overrides a tired carrier's)."""
    start = np.array([t.start for t in trips], dtype=np.int64)
    end = np.array([t.end for t in trips], dtype=np.int64)
    driver = np.empty(len(trips), dtype=object)
    day_drive: dict[tuple[int, str], float] = {}
    for i, t in enumerate(trips):
        day = t.start // DAY_S
        hours = sum(m[1] - m[0] for m in t.moves if m[2] == DRIVE) / HOUR_S
        pick = next((d for d in roster if day_drive.get((day, d), 0.0) + hours <= 7.0), roster[-1])
        day_drive[(day, pick)] = day_drive.get((day, pick), 0.0) + hours
        driver[i] = pick
    if not plan.records[v]:
        driver[:] = None
    plan.shifts[v] = (start, end, driver)


def _fatigue_truth(plan: DrivingPlan, reg: Registry, carrier: int, driver: str, by_vehicle: dict[int, list[Trip]]) -> None:
    """The tired driver takes the carrier's trips in time order whenever he is free; his days over
    8 h of driving, and his stretches over 4 h without a 20-minute rest, are the truth."""
    trips = sorted((t for v in by_vehicle if reg.vehicles[v].carrier == carrier for t in by_vehicle[v]), key=lambda t: t.start)
    free, taken = -1, []
    for t in trips:
        if t.start >= free + 300:
            taken.append(t)
            free = t.end
            start, _end, drivers = plan.shifts[t.vehicle]
            if plan.records[t.vehicle]:
                drivers[int(np.searchsorted(start, t.start))] = driver
    drives = sorted((m[0], m[1], t.vehicle) for t in taken for m in t.moves if m[2] == DRIVE)
    day_sum: dict[int, float] = {}
    day_span: dict[int, tuple[int, int, set]] = {}
    for t0, t1, v in drives:
        d = t0 // DAY_S
        day_sum[d] = day_sum.get(d, 0.0) + (t1 - t0)
        a, b, vs = day_span.get(d, (t0, t1, set()))
        day_span[d] = (min(a, t0), max(b, t1), vs | {v})
    for d, total in day_sum.items():
        if total > 8 * HOUR_S:
            a, b, vs = day_span[d]
            for v in sorted(vs):
                plan.truth.append((plan.plates[v], "fatigue", a, b, driver, f"{total / HOUR_S:.1f} h in the day"))
    stint_start, stint, last_end, vs = (drives[0][0] if drives else 0), 0, None, set()
    for t0, t1, v in drives + [(None, None, None)]:
        if t0 is None or (last_end is not None and t0 - last_end >= 20 * 60):
            if stint > 4 * HOUR_S:
                for w in sorted(vs):
                    plan.truth.append((plan.plates[w], "fatigue", stint_start, last_end, driver, f"{stint / HOUR_S:.1f} h at a stretch"))
            if t0 is None:
                break
            stint_start, stint, vs = t0, 0, set()
        stint += t1 - t0
        last_end = t1
        vs.add(v)
