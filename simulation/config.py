"""Scales, the simulated period and seeded random streams.

Every concern draws from its own ``numpy.random.Generator`` derived from the run seed and a fixed
name (CRC-32, never Python's salted ``hash``), so adding draws to one concern never shifts another,
and GPS for one vehicle-month can be generated independently of every other.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass, field

import numpy as np

DAY_S = 86_400
HOUR_S = 3_600


@dataclass(frozen=True)
class Scale:
    """Sizes and rates of one scale. Counts are targets; rates are per month unless noted."""

    name: str
    producers: int
    receivers: int
    transporters: int
    vehicles: int
    months: int
    parquet: tuple[str, ...] = ()  # tables written as Parquet (trajectories, electricity as part folders)
    prevalence: float = 0.07  # share of producers that violate at some time in the period
    chains: int = 1  # organised chains (carrier + producers + shared illegal site)
    routine_cases: float = 6.0  # investigations opened per month on investigators' own initiative
    noise_tips: float = 4.0  # noise tips per month
    karst_points: int = 300
    towns_per_county: int = 99  # cap on towns per county (all real names by default)
    min_per_behaviour: int = 1  # every behaviour appears at least this many times


SCALES: dict[str, Scale] = {
    "small": Scale("small", producers=80, receivers=6, transporters=3, vehicles=12, months=12,
                   prevalence=0.17, chains=1, routine_cases=4.0, noise_tips=3.0, karst_points=250,
                   min_per_behaviour=2),
    # the size of an independent test city: ~400 enterprises, 18 months, ~2.5 M fixes (simulation.worlds)
    "town": Scale("town", producers=370, receivers=10, transporters=6, vehicles=48, months=18,
                  prevalence=0.1, chains=1, routine_cases=5.0, noise_tips=7.0, karst_points=400,
                  min_per_behaviour=2),
    "city": Scale("city", producers=1900, receivers=36, transporters=18, vehicles=300, months=36,
                  parquet=("trajectories", "electricity"), prevalence=0.075, chains=5,
                  routine_cases=7.0, noise_tips=9.0, karst_points=900, min_per_behaviour=3),
    "province": Scale("province", producers=19_500, receivers=300, transporters=150, vehicles=2500,
                      months=12, parquet=("trajectories", "electricity", "ledgers", "manifests"),
                      prevalence=0.07, chains=30, routine_cases=40.0, noise_tips=60.0,
                      karst_points=1500, min_per_behaviour=5),
}


def rng_for(seed: int, concern: str, *keys: int) -> np.random.Generator:
    """A generator for one concern (and optional integer keys such as vehicle and month)."""
    entropy = [int(seed) & 0xFFFFFFFF, zlib.crc32(concern.encode("utf-8")), *[int(k) & 0xFFFFFFFF for k in keys]]
    return np.random.default_rng(np.random.SeedSequence(entropy))


# Chinese New Year's Day (正月初一); the Spring Festival shutdown is centred on it.
SPRING_FESTIVAL = {
    2015: "2015-02-19", 2016: "2016-02-08", 2017: "2017-01-28", 2018: "2018-02-16", 2019: "2019-02-05",
    2020: "2020-01-25", 2021: "2021-02-12", 2022: "2022-02-01", 2023: "2023-01-22", 2024: "2024-02-10",
    2025: "2025-01-29", 2026: "2026-02-17", 2027: "2027-02-06", 2028: "2028-01-26", 2029: "2029-02-13",
    2030: "2030-02-03", 2031: "2031-01-23", 2032: "2032-02-11", 2033: "2033-01-31", 2034: "2034-02-19",
    2035: "2035-02-08",
}


@dataclass
class Period:
    """The simulated months: day 0 is the first day of ``start``; times are local seconds since 1970."""

    start: np.datetime64  # first day (datetime64[D])
    months: int
    month_starts: np.ndarray = field(init=False)  # day index of each month's first day, plus the end
    n_days: int = field(init=False)

    def __post_init__(self) -> None:
        first = np.datetime64(self.start, "M")
        bounds = np.arange(first, first + self.months + 1).astype("datetime64[D]")
        self.start = bounds[0]
        self.month_starts = (bounds - bounds[0]).astype(np.int64)
        self.n_days = int(self.month_starts[-1])

    @property
    def t0(self) -> int:
        """Local seconds since 1970 of the period's first midnight."""
        return int(self.start.astype("datetime64[s]").astype(np.int64))

    @property
    def end_day(self) -> np.datetime64:
        return self.start + self.n_days - 1

    def month_label(self, m: int) -> str:
        return str(np.datetime64(self.start, "M") + m)

    def day_month(self) -> np.ndarray:
        """Month index of every day."""
        return np.repeat(np.arange(self.months), np.diff(self.month_starts))

    def dates(self) -> np.ndarray:
        return self.start + np.arange(self.n_days)

    def month_of_time(self, t: np.ndarray | int) -> np.ndarray:
        """Month index of local times (seconds); -1 before, ``months`` after the period."""
        day = (np.asarray(t) - self.t0) // 86_400
        return np.searchsorted(self.month_starts, day, side="right") - 1

    def spring_festival_days(self) -> list[int]:
        """Day index of each Chinese New Year's Day near the period (may be negative or beyond)."""
        out = []
        y0 = int(str(self.start)[:4])
        for y in range(y0 - 1, y0 + self.months // 12 + 2):
            text = SPRING_FESTIVAL.get(y, f"{y}-02-05")
            out.append(int((np.datetime64(text) - self.start).astype(np.int64)))
        return out
