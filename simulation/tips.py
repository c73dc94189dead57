"""Tips (举报线索): genuine ones near real events in place and time, insiders naming their
employer, and noise (odour complaints about licensed plants, neighbour disputes, vague reports,
trucks parked by the river). Several callers may report one event.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import shapely

from simulation import tiptext
from simulation.config import DAY_S, HOUR_S, Period, Scale
from simulation.enterprises import Registry
from simulation.geography import Geography, to_latlon
from simulation.names import village
from simulation.roads import RoadNetwork
from simulation.violations import Event, Plan

BASE_P = {"water": 0.28, "karst": 0.14, "dump": 0.16, "workshop": 0.07, "covert": 0.06, "unlicensed": 0.012}
STRENGTH_X = {"obvious": 1.6, "moderate": 1.0, "subtle": 0.5}
PUBLIC = ("12369", "110", "online", "patrol")
PUBLIC_P = (0.45, 0.22, 0.23, 0.10)


@dataclass
class Tip:
    tid: str
    received: int
    channel: str
    text: str
    x: float | None
    y: float | None
    county: str
    named: int  # enterprise index named in the tip, -1 if none
    genuine: bool
    event: int  # index into events, -1 for noise
    concerned: int  # the enterprise really concerned, -1 if none


class _Tipster:
    def __init__(self, reg: Registry, geo: Geography, net: RoadNetwork, period: Period, rng: np.random.Generator):
        self.reg, self.geo, self.net, self.period, self.rng = reg, geo, net, period, rng
        self.tips: list[Tip] = []
        self.towns = [n for n in net.nodes if n.kind in ("town", "seat", "urban")]
        self.town_xy = np.array([[n.x, n.y] for n in self.towns])
        self.rivers = [(name, shapely.LineString(xy)) for name, xy in geo.rivers]

    def where(self, x: float, y: float, kind: str) -> dict[str, str]:
        rng = self.rng
        d = np.hypot(self.town_xy[:, 0] - x, self.town_xy[:, 1] - y)
        town = self.towns[int(d.argmin())]
        pt = shapely.Point(x, y)
        river = min(self.rivers, key=lambda r: r[1].distance(pt))[0]
        _, k = self.geo.karst_distance(x, y)
        cave = self.geo.karst_names[int(k[0])]
        county = town.county if town.kind != "urban" else ""
        options = [f"在{county}{town.name}{village(rng)}附近，", f"{town.name}那边，", f"在{town.name}往外走的路边，", ""]
        if kind == "water":
            options += [f"{river}{town.name}段，", f"在{river}边上，"]
        if kind == "karst":
            options += [f"{cave}附近，", f"{town.name}的{cave}那里，"]
        phrase = options[int(rng.integers(len(options)))]
        return {"river": river, "cave": cave, "town": town.name, "where_phrase": phrase,
                "where": phrase.rstrip("，") or f"{town.name}附近"}

    def add(self, received: int, channel: str, text: str, x, y, named: int, genuine: bool, event: int, concerned: int) -> None:
        if received >= self.period.t0 + self.period.n_days * DAY_S:
            return
        county = ""
        if x is not None:
            county = self.geo.county_of(x, y)[0]
        self.tips.append(Tip("", int(received), channel, text, x, y, county, named, genuine, event, concerned))

    def located(self, x: float, y: float, spread_m: float) -> tuple[float | None, float | None]:
        if self.rng.random() < 0.2:
            return None, None
        r = float(np.clip(spread_m * np.exp(self.rng.normal(0, 0.8)), 80, 5000))
        a = self.rng.uniform(0, 2 * np.pi)
        return x + r * np.cos(a), y + r * np.sin(a)

    def genuine(self, k: int, ev: Event, plan: Plan) -> None:
        rng, reg = self.rng, self.reg
        ep = plan.episodes[ev.episode]
        site_kind = plan.sites[ev.site].kind if ev.site >= 0 else ("unlicensed" if ev.behaviour == "supplying_unlicensed" else "covert")
        if ev.site < 0 and ev.behaviour not in ("covert_discharge", "supplying_unlicensed"):
            site_kind = "dump"
        p = BASE_P[site_kind] * STRENGTH_X[ep.strength] * min(2.0, 0.5 + ev.tonnes / 5.0)
        hour = ((ev.t0 % DAY_S) / HOUR_S)
        p *= 1.0 if (hour >= 20 or hour < 5) else 1.5
        if rng.random() >= min(0.8, p):
            return
        callers = 1 + (int(rng.integers(1, 4)) if rng.random() < 0.3 else 0)
        firm = reg.firms[ev.ent]
        plate = reg.vehicles[ev.vehicle].plate if ev.vehicle >= 0 else ""
        carrier = reg.vehicles[ev.vehicle].carrier if ev.vehicle >= 0 else -1
        for _ in range(callers):
            channel = PUBLIC[int(rng.choice(4, p=PUBLIC_P))]
            delay = {"12369": rng.exponential(20 * HOUR_S), "110": rng.exponential(6 * HOUR_S),
                     "online": rng.uniform(1, 7) * DAY_S, "patrol": rng.uniform(2, 30) * DAY_S}[channel]
            received = ev.t1 + int(0.3 * HOUR_S + delay)
            fill = self.where(ev.x, ev.y, site_kind)
            fill["ent"] = firm.name
            named = -1
            if site_kind in ("covert", "unlicensed") and rng.random() < 0.6:
                named = ev.ent
            elif carrier >= 0 and rng.random() < 0.12:
                named = carrier
                fill["where_phrase"] += f"车门上写着{reg.firms[carrier].name}，"
            elif rng.random() < 0.08:
                named = ev.ent
                fill["where_phrase"] += f"好像是从{firm.name}出来的，"
            if "{ent}" in "".join(tiptext.WHAT[site_kind]) and named < 0:
                fill["ent"] = "那家厂"
            md = self._md(ev.t0)
            if channel == "patrol":
                text = tiptext.patrol(rng, fill["where"])
                x, y = self.located(ev.x, ev.y, 150.0)
            else:
                when = tiptext.when_phrase(rng, hour, md)
                vehicle = tiptext.VEHICLE[int(rng.integers(len(tiptext.VEHICLE)))] if ev.vehicle >= 0 or rng.random() < 0.5 else ""
                text = tiptext.compose(rng, site_kind, fill, when, vehicle, tiptext.plate_phrase(rng, plate) if plate else "")
                x, y = self.located(ev.x, ev.y, 700.0)
            self.add(received, channel, text, x, y, named, True, k, ev.ent)

    def insiders(self, events: list[Event], plan: Plan) -> None:
        """Insiders (内部知情人) tip about their employer's episode, naming it; mostly genuine."""
        rng = self.rng
        by_episode: dict[int, list[int]] = {}
        for k, ev in enumerate(events):
            by_episode.setdefault(ev.episode, []).append(k)
        producers = [i for i, ep in enumerate(plan.episodes) if ep.prod >= 0 and not ep.void]
        surely = max(producers, key=lambda i: (plan.episodes[i].tonnes, i)) if producers else -1  # someone always talks
        for i, ep in enumerate(plan.episodes):
            if ep.prod < 0 or ep.void:
                continue
            if i != surely and rng.random() >= {"obvious": 0.35, "moderate": 0.22, "subtle": 0.12}[ep.strength]:
                continue
            t = self.period.t0 + int(rng.integers(ep.start, ep.end + 60)) * DAY_S + int(rng.uniform(8, 22) * HOUR_S)
            ks = by_episode.get(i, [])
            k = min(ks, key=lambda j: abs(events[j].t0 - t)) if ks else -1
            firm = self.reg.firms[ep.ent]
            x, y = (firm.x, firm.y) if rng.random() < 0.4 else (None, None)
            self.add(t, "informant", tiptext.insider(rng, firm.name), x, y, ep.ent, True, k, ep.ent)

    def noise(self, months: int, rate: float, plan: Plan) -> None:
        rng, reg = self.rng, self.reg
        producers = reg.producers
        licensed = reg.receivers
        riverside = [int(e) for e, kind, *_ in reg.lookalikes if kind == "riverside_depot"]
        pools = {
            "odour": licensed + [p for p in producers if reg.firms[p].kind in ("chemical", "pesticide", "pharma_api", "plating")],
            "dispute": [p for p in producers if reg.firms[p].kind in ("repair", "machining", "battery")] or producers,
            "smoke": [p for p in producers if reg.firms[p].kind in ("tyre", "chemical", "hospital")] or producers,
        }
        for m in range(months):
            for _ in range(rng.poisson(rate)):
                day = int(rng.integers(self.period.month_starts[m], self.period.month_starts[m + 1]))
                t = self.period.t0 + day * DAY_S + int(rng.uniform(7, 23) * HOUR_S)
                kind = ("odour", "dispute", "vague", "parked", "smoke", "false_insider")[int(rng.choice(6, p=[0.3, 0.22, 0.22, 0.13, 0.115, 0.015]))]
                if kind in pools:
                    pool = pools[kind]
                elif kind == "parked" and riverside and rng.random() < 0.5:
                    pool = riverside
                else:
                    pool = []
                ent = int(pool[int(rng.integers(len(pool)))]) if pool else -1
                if ent >= 0:
                    f = reg.firms[ent]
                    x0, y0 = f.x, f.y
                else:
                    town = self.towns[int(rng.integers(len(self.towns)))]
                    x0, y0 = town.x + rng.normal(0, 2500), town.y + rng.normal(0, 2500)
                fill = self.where(x0, y0, "dump")
                fill["ent"] = reg.firms[ent].name if ent >= 0 else "那家厂"
                if kind == "false_insider":
                    ent = int(producers[int(rng.integers(len(producers)))])
                    text = tiptext.insider(rng, reg.firms[ent].name)
                    self.add(t, "informant", text, None, None, ent, False, -1, ent)
                    continue
                channel = ("12369", "110", "online", "patrol")[int(rng.choice(4, p=[0.42, 0.2, 0.33, 0.05]))]
                text = tiptext.noise(rng, "parked" if kind == "parked" else kind, fill, tiptext.when_phrase(rng, (t % DAY_S) / HOUR_S, self._md(t)))
                x, y = self.located(x0, y0, 400.0)
                named = ent if (ent >= 0 and kind != "parked" and rng.random() < 0.7) else -1
                self.add(t, channel, text, x, y, named, False, -1, ent if kind != "parked" else -1)
                if rng.random() < 0.1:  # the same complaint from a second caller
                    self.add(t + int(rng.uniform(1, 48) * HOUR_S), "12369", tiptext.noise(rng, kind if kind != "false_insider" else "vague", fill, ""),
                             *self.located(x0, y0, 400.0), named, False, -1, ent if kind != "parked" else -1)

    def _md(self, t: int) -> str:
        d = self.period.start + int((t - self.period.t0) // DAY_S)
        s = str(d)
        return f"{int(s[5:7])}月{int(s[8:10])}日"


def make_tips(events: list[Event], plan: Plan, reg: Registry, geo: Geography, net: RoadNetwork, period: Period,
              scale: Scale, rng: np.random.Generator) -> list[Tip]:
    """All tips, sorted by time, with ids T000001..."""
    t = _Tipster(reg, geo, net, period, rng)
    for k, ev in enumerate(events):
        t.genuine(k, ev, plan)
    t.insiders(events, plan)
    t.noise(period.months, scale.noise_tips, plan)
    tips = sorted(t.tips, key=lambda tip: (tip.received, tip.channel, tip.text))
    for i, tip in enumerate(tips):
        tip.tid = f"T{i + 1:06d}"
    return tips


def tip_latlon(tip: Tip) -> tuple[float | None, float | None]:
    if tip.x is None:
        return None, None
    lat, lon = to_latlon(tip.x, tip.y)
    return round(float(lat), 5), round(float(lon), 5)
