"""A truck's trip as timed moves: drives along the road network and dwells (loading, meals, dumping).

A move is a tuple ``(t0, t1, kind, a, b, flags)``: local seconds, ``DRIVE`` from point ``a`` to
point ``b`` or ``DWELL`` at point ``a``; flags say whether the engine runs and whether the GPS
terminal is switched off. The GPS module turns moves into fixes; logistics reads the times off
them for manifests.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from simulation.config import DAY_S, HOUR_S
from simulation.roads import SPEED_KMH, RoadNetwork

DRIVE, DWELL = 0, 1
ENGINE, GPS_OFF = 1, 2

Move = tuple[int, int, int, int, int, int]


@dataclass
class Trip:
    vehicle: int
    kind: str  # manifest, offbook, freight
    moves: list[Move] = field(default_factory=list)

    @property
    def start(self) -> int:
        return self.moves[0][0]

    @property
    def end(self) -> int:
        return self.moves[-1][1]


class Builder:
    """Appends moves with sampled durations; ``t`` is the clock (local seconds)."""

    def __init__(self, net: RoadNetwork, t0: int, day0: int, period_t0: int, rng: np.random.Generator,
                 stops: dict[int, int]):
        self.net, self.t, self.rng = net, int(t0), rng
        self.period_t0 = period_t0
        self.moves: list[Move] = []
        self.stops = stops  # node -> restaurant/service point, shared cache

    @property
    def day(self) -> int:
        return int((self.t - self.period_t0) // DAY_S)

    def drive_time(self, a: int, b: int) -> float:
        by = self.net.lengths(a, b, self.day)
        tod = (self.t % DAY_S) / HOUR_S
        night = tod >= 21 or tod < 6
        speed = SPEED_KMH * np.exp(self.rng.normal(0, 0.08))
        if night:
            speed = speed * np.array([1.25, 1.12, 1.05, 1.0, 1.1])
        t = (by / (speed / 3.6)).sum()
        t += by[0] / 1000 * self.rng.uniform(20, 50) * (0.4 if night else 1.0) + by[1] / 1000 * self.rng.uniform(4, 12)
        return float(t)

    def drive(self, a: int, b: int, gps_off: bool = False) -> None:
        if a == b:
            return
        dur = max(60, int(self.drive_time(a, b)))
        self.moves.append((self.t, self.t + dur, DRIVE, a, b, GPS_OFF if gps_off else 0))
        self.t += dur

    def dwell(self, p: int, seconds: float, engine: bool, gps_off: bool = False) -> tuple[int, int]:
        dur = max(30, int(seconds))
        flags = (ENGINE if engine else 0) | (GPS_OFF if gps_off else 0)
        self.moves.append((self.t, self.t + dur, DWELL, p, p, flags))
        self.t += dur
        return self.t - dur, self.t

    def stop_point(self, node: int) -> int:
        """A roadside restaurant or service-area car park next to ``node``."""
        if node not in self.stops:
            n = self.net.nodes[node]
            rng = np.random.default_rng(node + 104729)
            ang = rng.uniform(0, 2 * np.pi)
            rad = rng.uniform(60, 120) if n.kind == "service" else rng.uniform(80, 250)
            self.stops[node] = self.net.add_point(n.x + rad * np.cos(ang), n.y + rad * np.sin(ang))
        return self.stops[node]

    def leg(self, a: int, b: int, gps_off: bool = False) -> None:
        """Drive a to b, with a meal or a service-area break on long legs (honest stops off any site)."""
        est = self.drive_time(a, b)
        tod = (self.t % DAY_S) / HOUR_S
        meal_time = (tod < 12.5 <= tod + est / HOUR_S) or (tod < 18.5 <= tod + est / HOUR_S)
        want_meal = est > 2.5 * HOUR_S or (meal_time and est > 1.2 * HOUR_S and self.rng.random() < 0.6)
        want_rest = not want_meal and est > 1.5 * HOUR_S and self.rng.random() < 0.4
        if not (want_meal or want_rest):
            self.drive(a, b, gps_off)
            return
        r = self.net.route(a, b, self.day)
        kinds = ("town", "seat") if want_meal else ("service", "town")
        cands = [(node, d) for node, d in r.nodes[1:-1] if self.net.nodes[node].kind in kinds]
        if not cands:
            cands = [(node, d) for node, d in r.nodes[1:-1] if self.net.nodes[node].kind != "outside"]
        if not cands:
            self.drive(a, b, gps_off)
            return
        half = r.length / 2
        node = min(cands, key=lambda c: abs(c[1] - half))[0]
        s = self.stop_point(node)
        self.drive(a, s, gps_off)
        self.dwell(s, self.rng.uniform(30, 65) * 60 if want_meal else self.rng.uniform(8, 25) * 60, engine=False, gps_off=gps_off)
        self.drive(s, b, gps_off)

    def rest_overnight(self, near: int) -> None:
        """A night in a roadside hotel car park near ``near``'s node, until about 07:00."""
        s = self.stop_point(self.net.pt_node[near])
        self.drive(near, s)
        next_morning = (self.t // DAY_S + 1) * DAY_S + int(7 * HOUR_S + self.rng.uniform(-1800, 1800))
        self.dwell(s, next_morning - self.t, engine=False)

    def trip(self, vehicle: int, kind: str) -> Trip:
        return Trip(vehicle, kind, self.moves)
