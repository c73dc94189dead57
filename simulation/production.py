"""Production and metered power: the daily rhythm that waste generation follows.

Daily power (kWh) = fixed load (lights, air-conditioning: follows the weather, not production)
+ production load (weekday pattern, seasons, Spring Festival and National Day, breakdowns,
maintenance shutdowns, closures) + any covert extra load a violation adds. Waste follows the
production load only, so an honest plant's power and waste disagree in summer and during
shutdowns: a look-alike for under-declaration.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.signal import lfilter

from simulation.config import Period
from simulation.enterprises import Registry
from simulation.industries import BY_KEY


@dataclass
class Power:
    prod_kwh: np.ndarray  # (producers, days) production load incl. covert extra, kWh
    kwh: np.ndarray  # metered, kWh
    night_kwh: np.ndarray  # metered between 22:00 and 06:00, kWh
    metered: np.ndarray  # bool: a reading exists that day
    active: np.ndarray  # bool: the producer exists and operates that day (opened, not closed)
    closed_day: np.ndarray  # day of closure, or n_days
    open_day: np.ndarray  # first day in the period, 0 if opened before
    spike: np.ndarray  # (producers, months) honest one-off waste multiplier (tank cleaning at maintenance)
    extra_kwh: np.ndarray  # (producers, days) the covert extra part of prod_kwh

    def monthly_mwh(self, period: Period) -> tuple[np.ndarray, np.ndarray]:
        """Normal and covert-extra production MWh per producer and month."""
        total = np.add.reduceat(self.prod_kwh.astype(np.float64), period.month_starts[:-1], axis=1) / 1000.0
        extra = np.add.reduceat(self.extra_kwh.astype(np.float64), period.month_starts[:-1], axis=1) / 1000.0
        return total - extra, extra


def simulate_power(reg: Registry, period: Period, rng: np.random.Generator,
                   extra_night: np.ndarray, extra_day: np.ndarray) -> Power:
    """Daily power of every producer. ``extra_night``/``extra_day`` (producers x days) are covert
    extra production as a fraction of normal full production, drawn at night or by day."""
    n, days = len(reg.producers), period.n_days
    firms = [reg.firms[i] for i in reg.producers]
    inds = [BY_KEY[f.kind] for f in firms]
    dates = period.dates()
    dow = ((dates.astype("datetime64[D]").astype(np.int64) + 3) % 7).astype(int)  # 1970-01-01 was a Thursday
    month_of_year = (dates.astype("datetime64[M]").astype(np.int64) % 12).astype(int)
    doy = (dates - dates.astype("datetime64[Y]")).astype(np.int64)

    base = np.array([f.employees * ind.kwh_per_emp for f, ind in zip(firms, inds, strict=True)]) * np.exp(rng.normal(0, 0.3, n))
    base_frac = np.clip(np.array([ind.base_frac for ind in inds]) * np.exp(rng.normal(0, 0.25, n)), 0.03, 0.8)
    weekday = np.array([ind.weekday for ind in inds])[:, dow] * np.exp(rng.normal(0, 0.04, (n, 1)))
    season = np.array([ind.season for ind in inds])[:, month_of_year]
    growth = rng.normal(0.02, 0.08, n)
    trend = np.exp(np.outer(growth, np.arange(days) / 365.0))
    noise = np.exp(lfilter([1.0], [1.0, -0.75], rng.normal(0, 0.05, (n, days)), axis=1))
    factor = weekday * season * trend * noise

    # Spring Festival and National Day
    spring = np.array([ind.spring_factor for ind in inds])
    for c in period.spring_festival_days():
        before = rng.integers(2, 8, n)
        after = rng.integers(5, 19, n)
        level = np.clip(spring * rng.uniform(0.6, 1.4, n), 0.02, 1.0)
        d = np.arange(days)
        inside = (d[None, :] >= c - before[:, None]) & (d[None, :] <= c + after[:, None])
        factor = np.where(inside, factor * level[:, None], factor)
    day_of_month = (dates - dates.astype("datetime64[M]")).astype(np.int64) + 1
    golden = (month_of_year == 9) & (day_of_month <= 7)
    factor[:, golden] *= np.clip(spring + 0.45, 0.3, 1.0)[:, None]

    spike = np.ones((n, period.months))
    month_of_day = period.day_month()
    for i in range(n):
        f, ind = firms[i], inds[i]
        pid = str(f.idx)
        for _ in range(rng.poisson(1.2 * days / 365)):  # breakdowns: a few days of near-zero output
            d0 = int(rng.integers(days))
            d1 = min(days, d0 + int(rng.integers(1, 6)))
            factor[i, d0:d1] *= rng.uniform(0.0, 0.2)
            if d1 - d0 >= 3:
                reg.lookalikes.append((pid, "breakdown", d0, d1 - 1, "equipment breakdown: power and output near zero"))
        if ind.shipping == "bulk":  # yearly maintenance shutdowns, often with a tank clean-out
            for y0 in range(0, days, 365):
                if rng.random() < 0.45:
                    d0 = y0 + int(rng.integers(0, 340))
                    if d0 >= days:
                        continue
                    d1 = min(days, d0 + int(rng.integers(7, 29)))
                    factor[i, d0:d1] *= 0.04
                    reg.lookalikes.append((pid, "maintenance_shutdown", d0, d1 - 1, "planned maintenance: power drops, waste drops"))
                    if rng.random() < 0.5:
                        m = month_of_day[min(d1, days - 1)]
                        spike[i, m] *= rng.uniform(1.6, 3.0)
                        reg.lookalikes.append((pid, "seasonal_spike", int(period.month_starts[m]), int(period.month_starts[m + 1]) - 1,
                                               "tank and line clean-out after maintenance: waste spike on low power"))
    # openings and closures
    open_day = np.array([max(0, int((f.opened - period.start).astype(np.int64))) for f in firms])
    closed_day = np.full(n, days)
    closing = rng.random(n) < 0.02 * days / 1096
    for i in np.flatnonzero(closing):
        closed_day[i] = int(rng.integers(days // 3, max(days // 3 + 1, days - 45)))
        reg.lookalikes.append((str(firms[i].idx), "closure", int(closed_day[i]), days - 1, "plant closed: power falls to standby"))
    d = np.arange(days)
    active = (d[None, :] >= open_day[:, None]) & (d[None, :] < closed_day[:, None])
    factor = np.where(active, factor, 0.0)

    prod_full = base * (1 - base_frac)
    prod = factor * prod_full[:, None]
    extra = (extra_night + extra_day) * prod_full[:, None] * np.where(active, 1.0, 0.0)
    weather = 1.0 + np.array([ind.weather_amp for ind in inds])[:, None] * np.cos(2 * np.pi * (doy - 200) / 365.0)[None, :]
    fixed = (base * base_frac)[:, None] * weather * np.where(active, 1.0, 0.05) * np.exp(rng.normal(0, 0.03, (n, days)))
    fixed = np.where(d[None, :] >= open_day[:, None], fixed, 0.0)

    night_p = np.clip(np.array([ind.night_prod for ind in inds]) + rng.normal(0, 0.04, n), 0.01, 0.6)
    night_f = np.clip(np.array([ind.night_fixed for ind in inds]) + rng.normal(0, 0.03, n), 0.1, 0.5)
    night_p = np.repeat(night_p[:, None], days, axis=1)
    shifters = rng.random(n) < 0.05  # honest move to night shifts for the off-peak tariff
    for i in np.flatnonzero(shifters & np.isin([ind.key for ind in inds], ["plating", "tyre", "chemical", "machining"])):
        d0 = int(rng.integers(0, days))
        night_p[i, d0:] = rng.uniform(0.45, 0.62)
        reg.lookalikes.append((str(firms[i].idx), "night_tariff_shift", d0, days - 1, "production moved to night shifts for the off-peak tariff"))
    kwh = (prod + extra + fixed) * np.exp(rng.normal(0, 0.02, (n, days)))
    night = (prod * night_p + fixed * night_f[:, None] + extra_night * prod_full[:, None] * 0.9 * active + extra_day * prod_full[:, None] * 0.1 * active)
    night = np.minimum(night * np.exp(rng.normal(0, 0.03, (n, days))), kwh)
    metered = (d[None, :] >= open_day[:, None]) & (rng.random((n, days)) > 0.003)
    return Power(prod_kwh=(prod + extra).astype(np.float32), kwh=kwh.astype(np.float32), night_kwh=night.astype(np.float32),
                 metered=metered, active=active, closed_day=closed_day, open_day=open_day, spike=spike,
                 extra_kwh=extra.astype(np.float32))
