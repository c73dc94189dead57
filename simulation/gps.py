"""GPS fixes from trips, vectorised per move, streamed one month at a time.

While the engine runs a terminal reports about every 30 s (some every 60 s); parked with the
engine off it sends a heartbeat every 10-60 minutes or nothing. Drives follow the route polyline
with per-stretch speeds and traffic-light stops, rescaled to the move's planned duration. Then
the device's own faults: noise of 5-15 m, outages (long gaps), frozen positions, multipath
jumps, duplicated rows and late (out-of-order) uploads. With a ``DrivingPlan``
(``simulation.driving``) drives keep to the speed limits or break them, some take shortcuts through
restricted zones, some terminals go silent, and fixes carry the driver on duty.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

from simulation.config import DAY_S, HOUR_S, Period, rng_for
from simulation.enterprises import Registry
from simulation.geography import to_latlon
from simulation.itinerary import DRIVE, DWELL, ENGINE, GPS_OFF, Trip
from simulation.roads import CLASS_ID, SPEED_KMH, RoadNetwork


@dataclass
class Fixes:
    vehicle: np.ndarray  # int32 vehicle index
    ts: np.ndarray  # int64 local seconds
    lat: np.ndarray
    lon: np.ndarray
    speed: np.ndarray  # float32 km/h
    driver: np.ndarray | None = None  # object: the driver on duty, None where none is recorded

    def __len__(self) -> int:
        return len(self.ts)


def _drive(net: RoadNetwork, a: int, b: int, t0: int, t1: int, ts: np.ndarray, day: int,
           rng: np.random.Generator, shape=None, room: int = 0,
           fix_s: int = 30) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Positions (x, y metres) and speeds (km/h) at times ``ts`` while driving a to b in [t0, t1),
    and the times themselves.

    ``shape(route, t0, distances, times, room) -> (polyline, cumulative length, distances, times)``
    may change the drive's time profile and path (``simulation.driving.DrivingPlan.shaper``) and
    run up to ``room`` seconds past t1 (into the dwell that follows): the fixes then go on every
    ``fix_s`` seconds to the new arrival, without further draws."""
    r = net.route(a, b, day)
    seg = np.diff(r.cum)
    v = SPEED_KMH[r.cls] / 3.6 * np.exp(rng.normal(0, 0.12, len(seg)))
    seg_t = seg / v
    cum_t = np.concatenate([[0.0], np.cumsum(seg_t)])
    slow = (r.cls == CLASS_ID["urban"]) | (r.cls == CLASS_ID["county"]) | (r.cls == CLASS_ID["access"])
    lam = (seg[slow].sum() / 1000.0) * 0.6
    n_stop = int(rng.poisson(lam)) if lam > 0 else 0
    if n_stop:
        cand = np.flatnonzero(slow)
        w = seg[cand] / seg[cand].sum()
        k = rng.choice(cand, size=n_stop, p=w)
        pos = np.sort(r.cum[k] + rng.uniform(0, 1, n_stop) * seg[k])
        dur = rng.uniform(15, 100, n_stop)
        tpos = np.interp(pos, r.cum, cum_t)
        before_v = np.searchsorted(pos, r.cum, side="left")  # stops strictly before each vertex
        shift_v = np.concatenate([[0.0], np.cumsum(dur)])[before_v]
        shift_p = np.concatenate([[0.0], np.cumsum(dur)])[np.arange(n_stop)]
        kd = np.concatenate([r.cum, pos, pos])
        kt = np.concatenate([cum_t + shift_v, tpos + shift_p, tpos + shift_p + dur])
        order = np.lexsort((kd, kt))
        kd, kt = kd[order], kt[order]
    else:
        kd, kt = r.cum, cum_t
    scale = (t1 - t0) / max(kt[-1], 1.0)
    kt = kt * scale
    xy, cum = r.xy, r.cum
    if shape is not None:
        xy, cum, kd, kt = shape(r, t0, kd, kt, room)
        end = t0 + int(np.ceil(kt[-1]))
        if end > t1:
            ts = np.concatenate([ts[:-1], np.arange(ts[-2] + fix_s, end - 1, fix_s, dtype=np.int64), [end - 1]]) \
                if ts.size > 1 else np.array([t0, end - 1], dtype=np.int64)
    rel = (ts - t0).astype(np.float64)
    d = np.interp(rel, kt, kd)
    ahead = np.interp(rel + 5.0, kt, kd)
    behind = np.interp(rel - 5.0, kt, kd)
    speed = np.maximum(0.0, (ahead - behind) / 10.0 * 3.6)
    x = np.interp(d, cum, xy[:, 0])
    y = np.interp(d, cum, xy[:, 1])
    return x, y, speed, ts


MAX_OVERRUN_S = 9 * 60  # a drive kept to the speed limits may arrive this much later than planned


class GpsWriter:
    """Generates each month's fixes for all vehicles and hands them out in blocks."""

    def __init__(self, reg: Registry, net: RoadNetwork, period: Period, trips: list[Trip], seed: int, driving=None,
                 outage_x: float = 1.0):
        self.reg, self.net, self.period, self.seed, self.driving = reg, net, period, seed, driving
        self.outage_rate = 0.45 * outage_x  # terminal outages per vehicle-month (a world may have more)
        self.by_vehicle: dict[int, list[Trip]] = {}
        for t in sorted(trips, key=lambda t: (t.vehicle, t.start)):
            self.by_vehicle.setdefault(t.vehicle, []).append(t)
        self.faults: list[tuple[str, str, int, int, str]] = []
        self.fixes_written = 0

    def month(self, m: int, block_rows: int = 2_000_000) -> Iterator[Fixes]:
        """All fixes whose trip (or parking) falls in month ``m``, in blocks of about ``block_rows``."""
        parts: list[Fixes] = []
        rows = 0
        for v in self.reg.vehicles:
            f = self._vehicle_month(v.idx, m)
            if f is None or len(f) == 0:
                continue
            parts.append(f)
            rows += len(f)
            if rows >= block_rows:
                yield _concat(parts)
                parts, rows = [], 0
        if parts:
            yield _concat(parts)

    def _vehicle_month(self, vi: int, m: int) -> Fixes | None:
        veh = self.reg.vehicles[vi]
        period = self.period
        rng = rng_for(self.seed, "gps", vi, m)
        m0 = period.t0 + int(period.month_starts[m]) * DAY_S
        m1 = period.t0 + int(period.month_starts[m + 1]) * DAY_S
        trips = self.by_vehicle.get(vi, [])
        xs, ys, ts, sp = [], [], [], []
        drives: list[tuple[int, int]] = []
        depot = self.reg.firms[veh.carrier]
        px, py = depot.x + veh.slot[0], depot.y + veh.slot[1]
        # parked at the depot between trips
        last_end = m0
        for i, t in enumerate(trips):
            if t.end < m0:
                continue
            if t.start >= m1:
                break
            self._park(veh.heartbeat_s, last_end, min(t.start, m1), px, py, rng, xs, ys, ts, sp)
            last_end = max(last_end, t.end)
            if m0 <= t.start < m1:
                free = trips[i + 1].start if i + 1 < len(trips) else t.end + 2 * HOUR_S
                last_end = max(last_end, self._trip(t, veh.fix_s, veh.heartbeat_s, rng, xs, ys, ts, sp, drives, free))
        self._park(veh.heartbeat_s, last_end, m1, px, py, rng, xs, ys, ts, sp)
        if not ts:
            return None
        x, y, t, s = (np.concatenate(a) for a in (xs, ys, ts, sp))
        inside = t < period.t0 + period.n_days * DAY_S  # the snapshot ends at the period's last midnight
        x, y, t, s = x[inside], y[inside], t[inside], s[inside]
        if len(t) == 0:
            return None
        order = np.argsort(t, kind="stable")
        x, y, t, s = x[order], y[order], t[order], s[order]
        f = self._faults(veh, m, x, y, t, s, rng)
        if self.driving is not None:  # terminals switched off while driving, and who drove
            keep = ~self.driving.silent_mask(vi, f.ts, drives)
            f = Fixes(f.vehicle[keep], f.ts[keep], f.lat[keep], f.lon[keep], f.speed[keep],
                      self.driving.drivers_of(vi, f.ts[keep]))
        return f

    @staticmethod
    def _park(hb: int, t0: int, t1: int, x: float, y: float, rng, xs, ys, ts, sp) -> None:
        if hb <= 0 or t1 - t0 < hb:
            return
        t = np.arange(t0 + hb, t1, hb, dtype=np.int64) + rng.integers(-5, 6, size=1)
        t = t[(t >= t0) & (t < t1)]
        xs.append(np.full(len(t), x))
        ys.append(np.full(len(t), y))
        ts.append(t)
        sp.append(np.zeros(len(t)))

    def _trip(self, trip: Trip, fix_s: int, hb: int, rng, xs, ys, ts, sp, drives: list[tuple[int, int]],
              free: int) -> int:
        """The trip's fixes; returns when its last move really ended (a drive at the speed limits may
        run into the dwell after it, or into the time before the vehicle's next trip)."""
        net = self.net
        shape = self.driving.shaper(trip.vehicle) if self.driving is not None else None
        late = trip.start
        moves = trip.moves
        for i, (t0, t1, kind, a, b, flags) in enumerate(moves):
            if flags & GPS_OFF:
                continue
            if kind == DRIVE:  # ignition events: a fix on setting off and one on arrival
                t = np.arange(t0, t1, fix_s, dtype=np.int64)
                t = np.append(t + rng.integers(-2, 3, size=len(t)), t1 - 1)
                t[0] = t0
                day = (t0 - self.period.t0) // DAY_S
                nxt = moves[i + 1] if i + 1 < len(moves) else None
                # at most MAX_OVERRUN_S late: a receipt is confirmed 10 minutes or more after the planned arrival
                room = min(nxt[1] - nxt[0] - 60 if nxt[2] == DWELL else 0, MAX_OVERRUN_S) if nxt is not None \
                    else min(free - t1 - 60, 2 * HOUR_S)
                x, y, s, t = _drive(net, a, b, t0, t1, t, day, rng, shape, max(0, room), fix_s)
                drives.append((t0, int(t[-1]) + 1))
                late = int(t[-1]) + 1
            else:
                step = fix_s if flags & ENGINE else hb
                if step <= 0:
                    continue
                t = np.arange(t0 + (0 if flags & ENGINE else step), t1, step, dtype=np.int64)
                t = t[t >= late]  # the drive before ran on into this dwell
                px, py = net.point_xy(a)
                x, y, s = np.full(len(t), px), np.full(len(t), py), np.zeros(len(t))
            xs.append(x)
            ys.append(y)
            ts.append(t)
            sp.append(s)
        return max(late, trip.end)

    def _faults(self, veh, m: int, x, y, t, s, rng: np.random.Generator) -> Fixes:
        n = len(t)
        plate = veh.plate
        keep = np.ones(n, dtype=bool)
        for _ in range(rng.poisson(self.outage_rate)):  # outages: nothing at all for 1 hour to 3 days
            a = int(t[int(rng.integers(n))])
            b = a + int(np.exp(rng.uniform(np.log(HOUR_S), np.log(3 * DAY_S))))
            keep &= ~((t >= a) & (t < b))
            self.faults.append((plate, "gps_outage", self._day(a), self._day(b), "terminal silent (power, antenna or network)"))
        x = x + rng.normal(0, veh.noise_m, n)
        y = y + rng.normal(0, veh.noise_m, n)
        for _ in range(rng.poisson(0.12)):  # frozen position: same coordinates while time moves on
            a = int(t[int(rng.integers(n))])
            b = a + int(rng.uniform(2, 48) * HOUR_S)
            w = np.flatnonzero((t >= a) & (t < b))
            if len(w):
                x[w], y[w], s[w] = x[w[0]], y[w[0]], 0.0
                self.faults.append((plate, "gps_frozen", self._day(a), self._day(b), "terminal repeats one position"))
        jump = rng.random(n) < 2e-4  # multipath: one fix far away
        if jump.any():
            ang = rng.uniform(0, 2 * np.pi, jump.sum())
            dist = rng.uniform(2_000, 60_000, jump.sum())
            x[jump] += dist * np.cos(ang)
            y[jump] += dist * np.sin(ang)
        s = np.maximum(0.0, s + rng.normal(0, 1.2, n) * (s > 0))
        x, y, t, s = x[keep], y[keep], t[keep], s[keep]
        n = len(t)
        dup = np.flatnonzero(rng.random(n) < 0.004)
        idx = np.sort(np.concatenate([np.arange(n), dup]), kind="stable")
        if n > 200 and rng.random() < 0.3:  # a buffered block uploaded late: out of order in the file
            a = int(rng.integers(0, n - 100))
            b = a + int(rng.integers(10, 80))
            sel = (idx >= a) & (idx < b)
            idx = np.concatenate([idx[~sel], idx[sel]])
        lat, lon = to_latlon(x[idx], y[idx])
        return Fixes(np.full(len(idx), veh.idx, dtype=np.int32), t[idx], np.round(lat, 6), np.round(lon, 6),
                     np.round(s[idx], 1).astype(np.float32))

    def _day(self, t: int) -> int:
        return int((t - self.period.t0) // DAY_S)


def _concat(parts: list[Fixes]) -> Fixes:
    drivers = [p.driver if p.driver is not None else np.full(len(p), None, dtype=object) for p in parts]
    return Fixes(*(np.concatenate([getattr(p, f) for p in parts]) for f in ("vehicle", "ts", "lat", "lon", "speed")),
                 np.concatenate(drivers) if drivers else None)
