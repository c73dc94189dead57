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
from simulation.roads import RoadNetwork
from simulation.villages import Gazetteer
from simulation.violations import Event, Plan
from simulation.worlds import CLASSIC_VOICE, STANDARD, World

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


def _voices(world: World) -> dict:
    out = {CLASSIC_VOICE: tiptext.ClassicVoice()}
    others = [v for v in world.voice_names if v != CLASSIC_VOICE]
    if others:
        from simulation.tipvoices import VOICES

        unknown = [v for v in others if v not in VOICES]
        if unknown:
            raise ValueError(f"unknown tip voices {unknown}; known: {sorted(VOICES)} and {CLASSIC_VOICE}")
        out.update({v: VOICES[v] for v in others})
    return out


class _Tipster:
    def __init__(self, reg: Registry, geo: Geography, net: RoadNetwork, period: Period, rng: np.random.Generator,
                 gazetteer: Gazetteer, world: World = STANDARD):
        self.reg, self.geo, self.net, self.period, self.rng = reg, geo, net, period, rng
        self.gaz, self.world = gazetteer, world
        self.voices = _voices(world)
        self.voice_of: dict[int, str] = {}  # id(tip) -> the voice that wrote it (for repeats)
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
        v = self.gaz.nearest_village(x, y)
        vill = self.gaz.names[v] if v >= 0 else ""
        options = [f"在{county}{town.name}{vill}附近，", f"{town.name}那边，", f"在{town.name}往外走的路边，", ""]
        if kind == "water":
            options += [f"{river}{town.name}段，", f"在{river}边上，"]
        if kind == "karst":
            options += [f"{cave}附近，", f"{town.name}的{cave}那里，"]
        phrase = options[int(rng.integers(len(options)))]
        return {"river": river, "cave": cave, "town": town.name, "village": vill, "county": county or town.county,
                "where_phrase": phrase, "where": phrase.rstrip("，") or f"{town.name}附近"}

    def voice(self):
        """The voice of the next tip: drawn only in worlds with several."""
        names = self.world.voice_names
        if len(names) == 1:
            return self.voices[names[0]]
        return self.voices[names[int(self.rng.choice(len(names), p=self.world.voice_p))]]

    def add(self, received: int, channel: str, text: str, x, y, named: int, genuine: bool, event: int, concerned: int,
            voice: str = CLASSIC_VOICE) -> None:
        if received >= self.period.t0 + self.period.n_days * DAY_S:
            return
        county = ""
        if x is not None:
            county = self.geo.county_of(x, y)[0]
        tip = Tip("", int(received), channel, text, x, y, county, named, genuine, event, concerned)
        self.tips.append(tip)
        self.voice_of[id(tip)] = voice

    def located(self, x: float, y: float, spread_m: float) -> tuple[float | None, float | None]:
        if self.rng.random() >= self.world.tip_located_p:
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
        p = BASE_P[site_kind] * STRENGTH_X[ep.strength] * min(2.0, 0.5 + ev.tonnes / 5.0) * self.world.tip_x
        hour = ((ev.t0 % DAY_S) / HOUR_S)
        p *= 1.0 if (hour >= 20 or hour < 5) else 1.5
        if rng.random() >= min(0.8, p):
            return
        callers = 1 + (int(rng.integers(1, 4)) if rng.random() < self.world.tip_callers_p else 0)
        firm = reg.firms[ev.ent]
        plate = reg.vehicles[ev.vehicle].plate if ev.vehicle >= 0 else ""
        carrier = reg.vehicles[ev.vehicle].carrier if ev.vehicle >= 0 else -1
        for _ in range(callers):
            channel = PUBLIC[int(rng.choice(4, p=PUBLIC_P))]
            delay = {"12369": rng.exponential(20 * HOUR_S), "110": rng.exponential(6 * HOUR_S),
                     "online": rng.uniform(1, 7) * DAY_S, "patrol": rng.uniform(2, 30) * DAY_S}[channel]
            received = ev.t1 + int(0.3 * HOUR_S + delay)
            fill = self.where(ev.x, ev.y, site_kind)
            fill["ent"] = ""
            named = -1
            nx = self.world.tip_named_x
            if site_kind in ("covert", "unlicensed") and rng.random() < min(0.95, 0.6 * nx):
                named = ev.ent
            elif carrier >= 0 and rng.random() < min(0.9, 0.12 * nx):
                named = carrier
                fill["where_phrase"] += f"车门上写着{reg.firms[carrier].name}，"
            elif rng.random() < min(0.9, 0.08 * nx):
                named = ev.ent
                fill["where_phrase"] += f"好像是从{firm.name}出来的，"
            if named == ev.ent:
                fill["ent"] = firm.name
            md = self._md(ev.t0)
            voice = self.voice()
            if channel == "patrol":
                text = voice.patrol(rng, fill["where"])
                x, y = self.located(ev.x, ev.y, 150.0)
            else:
                seen = ev.vehicle >= 0 or rng.random() < 0.5
                text = voice.event(rng, site_kind, fill, hour, md, seen, plate)
                x, y = self.located(ev.x, ev.y, 700.0)
            self.add(received, channel, text, x, y, named, True, k, ev.ent, voice.name)

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
            voice = self.voice()
            self.add(t, "informant", voice.insider(rng, firm.name), x, y, ep.ent, True, k, ep.ent, voice.name)

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
                fill["ent"] = reg.firms[ent].name if ent >= 0 else ""
                voice = self.voice()
                if kind == "false_insider":
                    ent = int(producers[int(rng.integers(len(producers)))])
                    text = voice.insider(rng, reg.firms[ent].name)
                    self.add(t, "informant", text, None, None, ent, False, -1, ent, voice.name)
                    continue
                channel = ("12369", "110", "online", "patrol")[int(rng.choice(4, p=[0.42, 0.2, 0.33, 0.05]))]
                text = voice.noise(rng, kind, fill, (t % DAY_S) / HOUR_S, self._md(t))
                x, y = self.located(x0, y0, 400.0)
                named = ent if (ent >= 0 and kind != "parked" and rng.random() < min(0.95, 0.7 * self.world.tip_named_x)) else -1
                self.add(t, channel, text, x, y, named, False, -1, ent if kind != "parked" else -1, voice.name)
                if rng.random() < 0.1:  # the same complaint from a second caller
                    self.add(t + int(rng.uniform(1, 48) * HOUR_S), "12369", voice.noise(rng, kind, fill, (t % DAY_S) / HOUR_S, self._md(t)),
                             *self.located(x0, y0, 400.0), named, False, -1, ent if kind != "parked" else -1, voice.name)

    def repeats(self) -> None:
        """The same report sent again days later (nobody came; a neighbour forwards the post)."""
        p = self.world.tip_repeat_p
        if p <= 0:
            return
        rng = self.rng
        for tip in list(self.tips):
            if tip.channel in ("patrol", "informant") or rng.random() >= p:
                continue
            voice = self.voices[self.voice_of[id(tip)]]
            later = tip.received + int(rng.uniform(1, 20) * DAY_S)
            channel = tip.channel if rng.random() < 0.5 else PUBLIC[int(rng.choice(3, p=[0.5, 0.2, 0.3]))]
            x, y = tip.x, tip.y
            if x is not None:
                x, y = x + rng.normal(0, 150), y + rng.normal(0, 150)
            self.add(later, channel, voice.repeat(rng, tip.text), x, y, tip.named, tip.genuine, tip.event, tip.concerned, voice.name)

    def _md(self, t: int) -> str:
        d = self.period.start + int((t - self.period.t0) // DAY_S)
        s = str(d)
        return f"{int(s[5:7])}月{int(s[8:10])}日"


def make_tips(events: list[Event], plan: Plan, reg: Registry, geo: Geography, net: RoadNetwork, period: Period,
              scale: Scale, rng: np.random.Generator, gazetteer: Gazetteer, world: World = STANDARD) -> list[Tip]:
    """All tips, sorted by time, with ids T000001...; ``world`` sets how often and how people report."""
    t = _Tipster(reg, geo, net, period, rng, gazetteer, world)
    for k, ev in enumerate(events):
        t.genuine(k, ev, plan)
    t.insiders(events, plan)
    t.noise(period.months, scale.noise_tips * world.noise_tips_x, plan)
    t.repeats()
    tips = sorted(t.tips, key=lambda tip: (tip.received, tip.channel, tip.text))
    for i, tip in enumerate(tips):
        tip.tid = f"T{i + 1:06d}"
    return tips


def tip_latlon(tip: Tip) -> tuple[float | None, float | None]:
    if tip.x is None:
        return None, None
    lat, lon = to_latlon(tip.x, tip.y)
    return round(float(lat), 5), round(float(lon), 5)
