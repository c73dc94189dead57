"""The five illegal behaviours of attachment 3, planned per enterprise with dates, strength and sites.

An ``Episode`` is one enterprise doing one behaviour from ``start`` to ``end`` (day indices,
inclusive) through one or more mechanisms; the waste, logistics and GPS modules read its fields
to divert waste, add night power, reroute manifests and add off-book trips. Chains tie one carrier
(some of its vehicles) to several producers and a shared illegal site.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from scipy.spatial import cKDTree

from simulation.config import Period, Scale
from simulation.enterprises import Registry
from simulation.geography import Geography
from simulation.industries import BEHAVIOURS, BY_KEY, category
from simulation.roads import RoadNetwork
from simulation.worlds import BEHAVIOUR_NAMES, STANDARD, World

STRENGTHS = ("obvious", "moderate", "subtle")
LEVELS = {"obvious": (0.5, 0.85), "moderate": (0.22, 0.5), "subtle": (0.07, 0.2)}
SHRINK = {"obvious": (0.3, 0.6), "moderate": (0.12, 0.3), "subtle": (0.05, 0.1)}
EXTRA = {"obvious": (0.3, 0.6), "moderate": (0.12, 0.3), "subtle": (0.04, 0.1)}
NIGHT_P = {"obvious": 0.9, "moderate": 0.7, "subtle": 0.5}
GPS_OFF_P = {"obvious": 0.0, "moderate": 0.15, "subtle": 0.4}
LIQUID = ("HW02", "HW04", "HW06", "HW09", "HW11", "HW17", "HW34", "HW35", "HW08", "HW31")


def _norm(p) -> np.ndarray:
    p = np.asarray(p, dtype=float)
    return p / p.sum()


@dataclass
class Site:
    sid: str
    kind: str  # workshop, dump, water, karst
    x: float
    y: float
    pid: int
    first: int = 1 << 30  # first and last day of use, filled as events happen
    last: int = -1


@dataclass
class Episode:
    ent: int  # enterprise index
    prod: int  # row among producers, -1 for carriers and receivers
    behaviour: str
    start: int
    end: int
    strength: str
    mechanisms: tuple[str, ...] = ()
    chain: str = ""
    site: int = -1
    codes: tuple[str, ...] = ()
    fraction: float = 0.0  # share of true generation diverted off the books
    x_fraction: float = 0.0  # share of stock declared transferred without a manifest
    shrink: float = 0.0  # share of a manifest load dumped on the way
    night_extra: float = 0.0  # covert extra night production, share of full production
    day_extra: float = 0.0
    route: str = "own"  # how off-book waste leaves: own (unregistered truck), carrier (a registered vehicle), chain
    vehicles: tuple[int, ...] = ()
    receiver: int = -1  # unlicensed receiver for manifests
    dest_ent: int = -1  # an enterprise front that receives off-book waste
    night_p: float = 0.7
    gps_off_p: float = 0.0
    tonnes: float = 0.0  # filled after the waste pass
    void: bool = False  # planned but nothing was diverted in the end: not in the truth

    def overlap(self, d0: int, d1: int) -> int:
        """Days of [d0, d1) inside the episode."""
        return max(0, min(d1, self.end + 1) - max(d0, self.start))


@dataclass
class Event:
    """One illegal act in place and time (a dump, a discharge, a load handed to an unlicensed party)."""

    eid: str
    ent: int  # the enterprise whose waste it is (or that does it)
    behaviour: str
    vehicle: int  # -1: no registered vehicle
    shipments: list[int]  # shipment indices (manifests) involved
    t0: int  # local seconds
    t1: int
    x: float
    y: float
    site: int
    tonnes: float
    episode: int


@dataclass
class Chain:
    cid: str
    carrier: int
    vehicles: tuple[int, ...]
    sites: tuple[int, ...]
    start: int
    end: int
    members: list[int] = field(default_factory=list)


@dataclass
class Plan:
    episodes: list[Episode]
    chains: list[Chain]
    sites: list[Site]
    front_receiver: int  # a registered receiver that takes codes its licence does not cover (-1: none)
    extra_night: np.ndarray  # (producers, days)
    extra_day: np.ndarray

    def of_producer(self, prod: int) -> list[Episode]:
        return [e for e in self.episodes if e.prod == prod]


class _Planner:
    def __init__(self, scale: Scale, period: Period, reg: Registry, geo: Geography, net: RoadNetwork, rng: np.random.Generator,
                 world: World = STANDARD):
        self.scale, self.period, self.reg, self.geo, self.net, self.rng = scale, period, reg, geo, net, rng
        self.world = world
        self.behaviour_x = dict(zip(BEHAVIOUR_NAMES, world.behaviour_x, strict=True))
        self.sites: list[Site] = []
        self.episodes: list[Episode] = []
        self.ent_tree = cKDTree(np.array([[f.x, f.y] for f in reg.firms]))
        self.used: set[int] = set()  # producers already violating
        firms = [reg.firms[i] for i in reg.producers]
        self.monthly_t = np.array([f.employees * BY_KEY[f.kind].kwh_per_emp * 30 * (1 - BY_KEY[f.kind].base_frac) / 1000
                                   * BY_KEY[f.kind].intensity for f in firms])
        self.open_day = np.array([max(0, int((f.opened - period.start).astype(np.int64))) for f in firms])

    # -- sites ------------------------------------------------------------------------------
    def _far_from_firms(self, x: float, y: float, metres: float = 600.0) -> bool:
        d, _ = self.ent_tree.query([x, y])
        return bool(d > metres)

    def _new_site(self, kind: str, x: float, y: float) -> int:
        self.sites.append(Site(f"S{len(self.sites) + 1:04d}", kind, float(x), float(y), self.net.add_point(x, y)))
        return len(self.sites) - 1

    def site_near(self, kind: str, x: float, y: float, r_min: float = 2000.0, r_max: float = 25000.0,
                  other_county: str = "") -> int:
        rng = self.rng
        if kind == "water":
            cands = np.vstack([xy[::4] for _, xy in self.geo.rivers])
            d = np.hypot(cands[:, 0] - x, cands[:, 1] - y)
            ok = np.flatnonzero((d > r_min) & (d < r_max * 1.5))
            p = cands[int(rng.choice(ok))] if len(ok) else cands[int(d.argmin())]
            ang = rng.uniform(0, 2 * np.pi)
            return self._new_site("water", p[0] + 40 * np.cos(ang), p[1] + 40 * np.sin(ang))
        if kind == "karst":
            d = np.hypot(self.geo.karst_xy[:, 0] - x, self.geo.karst_xy[:, 1] - y)
            ok = np.flatnonzero((d > 300) & (d < r_max * 1.5))
            k = int(rng.choice(ok)) if len(ok) else int(d.argmin())
            p = self.geo.karst_xy[k] + rng.normal(0, 30, 2)
            return self._new_site("karst", p[0], p[1])
        for _ in range(200):  # dump or workshop: away from registered enterprises
            if kind == "workshop":
                towns = [n for n in self.geo.nodes if n.kind == "town"]
                dt = np.array([np.hypot(n.x - x, n.y - y) for n in towns])
                n = towns[int(rng.choice(np.argsort(dt)[:6]))]
                ang, rad = rng.uniform(0, 2 * np.pi), rng.uniform(1000, 4000)
                px, py = n.x + rad * np.cos(ang), n.y + rad * np.sin(ang)
            else:
                ang, rad = rng.uniform(0, 2 * np.pi), rng.uniform(r_min, r_max)
                px, py = x + rad * np.cos(ang), y + rad * np.sin(ang)
            if other_county and self.geo.county_of(px, py)[0] == other_county:
                continue
            if self._far_from_firms(px, py) and (kind == "workshop" or self.geo.water_distance(px, py)[()] > 400):
                return self._new_site(kind, px, py)
        return self._new_site(kind, px, py)

    # -- episodes ---------------------------------------------------------------------------
    def _period_for(self, prod: int, lo: int = 0, hi: int | None = None, median: float = 150.0,
                    min_days: int = 21) -> tuple[int, int]:
        hi = self.period.n_days - 1 if hi is None else hi
        if self.open_day[prod] > 0:
            lo = max(lo, int(self.open_day[prod]) + 30)
        lo = min(lo, max(0, hi - 7))
        dur = int(np.clip(np.exp(np.log(median) + 0.8 * self.rng.normal()), min_days, 600))
        dur = min(dur, max(7, hi - lo))
        start = int(self.rng.integers(lo, max(lo + 1, hi - dur + 1)))
        return start, min(hi, start + dur)

    def _codes(self, prod: int, how: str) -> tuple[str, ...]:
        codes = self.codes_of[prod]
        liquid = [c for c in codes if category(c) in LIQUID] or list(codes)
        if how == "all":
            return tuple(codes)
        return tuple(liquid[: 1 + int(self.rng.random() < 0.4)])

    def episode(self, prod: int, behaviour: str, chain: Chain | None = None, strength: str | None = None,
                force: tuple[str, ...] | None = None, min_days: int = 21) -> Episode:
        """Plan one episode; ``force`` fixes its mechanisms (to make sure each appears somewhere)."""
        rng, firm = self.rng, self.reg.firms[self.reg.producers[prod]]
        drawn = STRENGTHS[int(rng.choice(3, p=_norm(self.world.strength_p)))]
        strength = strength or drawn
        lo, hi = (chain.start, chain.end) if chain else (0, None)
        start, end = self._period_for(prod, lo, hi, min_days=150 if force else min_days)
        ep = Episode(firm.idx, prod, behaviour, start, end, strength, chain=chain.cid if chain else "",
                     night_p=NIGHT_P[strength], gps_off_p=GPS_OFF_P[strength])
        lo_f, hi_f = LEVELS[strength]
        months = max(1.0, (end - start + 1) / 30.4)
        if behaviour == "dumping_3t":
            ep.mechanisms = [("underdeclared_generation",), ("transfer_without_manifest",), ("shrinkage",),
                             ("underdeclared_generation", "shrinkage"), ("transfer_without_manifest", "shrinkage")][
                int(rng.choice(5, p=_norm(self.world.dumping_mechanism_p)))]
            ep.mechanisms = force or ep.mechanisms
            ep.codes = self._codes(prod, "main")
            need = 4.0 / (self.monthly_t[prod] * months + 1e-9)  # at least ~3 t over the episode
            ep.fraction = ep.x_fraction = float(np.clip(max(rng.uniform(lo_f, hi_f), need), 0, 0.95))
            ep.shrink = float(max(rng.uniform(*SHRINK[strength]), min(0.6, need)))
            if chain:
                ep.site = chain.sites[-1]
            elif need > 0.6:  # too little for 3 t: it crosses a county boundary instead (also item 1)
                ep.site = self.site_near("dump", firm.x, firm.y, 15000, 40000, other_county=firm.county)
            else:
                ep.site = self.site_near("dump", firm.x, firm.y)
        elif behaviour == "water_dumping":
            shrink = rng.random() < 0.5
            ep.mechanisms = ("shrinkage",) if shrink else (("underdeclared_generation",), ("transfer_without_manifest",))[int(rng.integers(2))]
            ep.codes = self._codes(prod, "main")
            ep.fraction = ep.x_fraction = rng.uniform(lo_f, hi_f)
            ep.shrink = rng.uniform(*SHRINK[strength])
            ep.night_p = max(ep.night_p, 0.8)
            water_sites = [s for s in (chain.sites if chain else ()) if self.sites[s].kind in ("water", "karst")]
            kind = "karst" if self.geo.karst_distance(firm.x, firm.y)[0][0] < 8000 and rng.random() < 0.5 else "water"
            ep.site = water_sites[0] if water_sites else self.site_near(kind, firm.x, firm.y, 1500, 20000)
        elif behaviour == "covert_discharge":
            ep.mechanisms = ("covert_discharge",)
            ep.codes = self._codes(prod, "main")
            ep.night_extra = rng.uniform(*EXTRA[strength])
            ep.fraction = rng.uniform(0.0, lo_f + 0.05)
            dk, k = self.geo.karst_distance(firm.x, firm.y)
            dw = self.geo.water_distance(firm.x, firm.y)[()]
            if dk[0] < 2500:
                p = self.geo.karst_xy[k[0]]
                ep.site = self._new_site("karst", p[0] + rng.normal(0, 20), p[1] + rng.normal(0, 20))
            elif dw < 2000:
                ep.site = self.site_near("water", firm.x, firm.y, 0, 2500)
        elif behaviour == "supplying_unlicensed":
            offbook = chain is not None or self.front_receiver < 0 or (rng.random() < 0.55 and not self.want_manifest_supply)
            offbook = force == ("offbook_pickup",) or (offbook and force != ("unlicensed_receiver",))
            ep.codes = self._codes(prod, "all" if rng.random() < 0.5 else "main")
            codes = self.codes_of[prod]
            ep.fraction = rng.uniform(lo_f, min(0.95, hi_f + 0.1))
            if offbook:
                ep.mechanisms = ("offbook_pickup",)
                fronts = [e for e in self.episodes if e.behaviour == "unlicensed_operation" and e.prod >= 0]
                if chain:
                    ep.site = next((s for s in chain.sites if self.sites[s].kind == "workshop"), chain.sites[0])
                elif fronts and rng.random() < 0.6:
                    front = fronts[int(rng.integers(len(fronts)))]
                    ep.dest_ent = front.ent
                    ep.start, ep.end = max(ep.start, front.start), max(max(ep.start, front.start) + 14, min(ep.end, front.end))
                else:
                    ep.site = self.site_near("workshop", firm.x, firm.y)
            else:
                lapsed = self.reg.licence_end(self.front_receiver) < self.period.n_days - 1
                uncovered = tuple(c for c in codes if not self.reg.licensed(self.front_receiver, c, 0))
                if uncovered and not lapsed:
                    share = dict(zip(self.codes_of[prod], self.shares_of[prod], strict=True))
                    ep.codes = tuple(sorted(uncovered, key=lambda c: -share[c])[: 1 + int(rng.random() < 0.5)])
                if not lapsed and not uncovered:
                    ep.mechanisms = ("offbook_pickup",)
                    ep.site = self.site_near("workshop", firm.x, firm.y)
                else:
                    ep.mechanisms = ("unlicensed_receiver",)
                    self.want_manifest_supply = False
                    ep.receiver = self.front_receiver
                    ep.codes = ep.codes if lapsed else uncovered
                    if lapsed:
                        ep.start = max(ep.start, self.reg.licence_end(self.front_receiver) - 20)
                        ep.end = max(ep.end, ep.start + (150 if force else 60))
                        ep.end = min(ep.end, self.period.n_days - 1)
        elif behaviour == "unlicensed_operation":
            ep.mechanisms = ("underdeclared_generation",)
            ep.codes = self._codes(prod, "main")
            ep.fraction = rng.uniform(lo_f, hi_f)
            ep.day_extra = rng.uniform(*EXTRA[strength])
            ep.night_extra = ep.day_extra * rng.uniform(0.3, 1.0)
            ep.site = self.site_near("karst" if rng.random() < 0.4 else "dump", firm.x, firm.y, 1000, 12000)
        if self.world.intensity_x != 1.0:
            for f in ("fraction", "x_fraction", "shrink", "night_extra", "day_extra"):
                setattr(ep, f, float(min(0.95, getattr(ep, f) * self.world.intensity_x)))
        self._route(ep, chain)
        self.used.add(prod)
        self.episodes.append(ep)
        if chain:
            chain.members.append(len(self.episodes) - 1)
        return ep

    def _route(self, ep: Episode, chain: Chain | None) -> None:
        """How the diverted waste physically leaves: chain vehicles, one corrupt vehicle of its carrier, or unregistered."""
        if chain:
            ep.route, ep.vehicles = "chain", chain.vehicles
        elif "shrinkage" in ep.mechanisms or (self.rng.random() < 0.45 and ep.mechanisms[0] != "covert_discharge"):
            ep.route = "carrier"  # vehicles are picked by the logistics module (the producer's carrier)
        else:
            ep.route = "own"

    # -- whole plan -------------------------------------------------------------------------
    def plan(self, codes_of: list[tuple[str, ...]], shares_of: list[np.ndarray]) -> Plan:
        self.codes_of, self.shares_of = codes_of, shares_of
        rng, reg, n = self.rng, self.reg, len(self.reg.producers)
        self.front_receiver = self._pick_front()
        inds = [BY_KEY[reg.firms[i].kind] for i in reg.producers]
        eligible = self.open_day < self.period.n_days - min(90, self.period.n_days // 3)
        w = np.array([ind.violate_w for ind in inds]) * eligible
        n_chains = self.scale.chains if self.world.chains_x == 1.0 else int(round(self.scale.chains * self.world.chains_x))
        chains = [self._chain(c, w) for c in range(n_chains)]
        target = int(round(self.scale.prevalence * self.world.prevalence_x * n))
        self.want_manifest_supply = True  # at least one producer hands loads to the front under manifests
        uncovered_t = np.array([self.monthly_t[p] * sum(sh for c, sh in zip(self.codes_of[p], self.shares_of[p], strict=True)
                                                        if not reg.licensed(self.front_receiver, c, 0)) for p in range(n)]) \
            if self.front_receiver >= 0 else np.zeros(n)
        # every mechanism once where it will surely leave a trace: steady shippers, long enough
        for k, (mech, b, need) in enumerate((
                ("shrinkage", "dumping_3t", self.monthly_t >= 3.0),
                ("unlicensed_receiver", "supplying_unlicensed", uncovered_t >= 0.8),
                ("transfer_without_manifest", "dumping_3t", self.monthly_t >= 1.0),
                ("underdeclared_generation", "dumping_3t", self.monthly_t >= 1.0),
                ("offbook_pickup", "supplying_unlicensed", self.monthly_t >= 0.3),
                ("covert_discharge", "covert_discharge", self.monthly_t >= 0.5))):
            suit = np.array([dict(ind.behaviours).get(b, 0.0) + 0.05 for ind in inds]) * w * need
            suit[list(self.used)] = 0
            if suit.sum() > 0 and (mech != "unlicensed_receiver" or self.front_receiver >= 0):
                strength = "obvious" if mech in ("shrinkage", "unlicensed_receiver") else STRENGTHS[k % 3]
                self.episode(int(rng.choice(n, p=suit / suit.sum())), b, strength=strength, force=(mech,))
        quota = {b: self.scale.min_per_behaviour for b in BEHAVIOURS}
        for e in self.episodes:
            quota[e.behaviour] -= 1
        rotation = 0
        for b in BEHAVIOURS:  # every behaviour at least a few times, in every strength
            while quota[b] > 0:
                suit = np.array([dict(ind.behaviours).get(b, 0.0) for ind in inds]) * w
                suit[list(self.used)] = 0
                steady = suit * (self.monthly_t >= 0.5)  # enough waste that the episode leaves a trace
                suit = steady if steady.sum() > 0 else suit
                if suit.sum() <= 0:
                    break
                self.episode(int(rng.choice(n, p=suit / suit.sum())), b, strength=STRENGTHS[rotation % 3], min_days=90)
                rotation += 1
                quota[b] -= 1
        while len(self.used) < target:
            ww = w.copy()
            ww[list(self.used)] = 0
            if ww.sum() <= 0:
                break
            prod = int(rng.choice(n, p=ww / ww.sum()))
            names, bw = zip(*inds[prod].behaviours, strict=True)
            if any(self.behaviour_x.get(b, 1.0) != 1.0 for b in names):
                bw = tuple(w * self.behaviour_x.get(b, 1.0) for b, w in zip(names, bw, strict=True))
            b = names[int(rng.choice(len(names), p=np.array(bw) / sum(bw)))]
            self.episode(prod, b)
            if rng.random() < 0.12:  # a repeat offender: a second episode later on
                first = self.episodes[-1]
                if first.end + 60 < self.period.n_days - 60:
                    again = self.episode(prod, b)
                    again.start, again.end = self._period_for(prod, first.end + 60)
        days = self.period.n_days
        for e in self.episodes:  # short periods: keep every episode inside the period and non-empty
            e.start = int(np.clip(e.start, 0, days - 1))
            e.end = int(np.clip(e.end, e.start, days - 1))
        extra_night = np.zeros((n, days), dtype=np.float32)
        extra_day = np.zeros((n, days), dtype=np.float32)
        for e in self.episodes:
            if e.prod >= 0:
                active = self._active_days(e)
                extra_night[e.prod, e.start:e.end + 1] += e.night_extra * active
                extra_day[e.prod, e.start:e.end + 1] += e.day_extra * active
        return Plan(self.episodes, chains, self.sites, self.front_receiver, extra_night, extra_day)

    def _active_days(self, e: Episode) -> np.ndarray:
        """Covert load is not every night: obvious ones most nights, subtle ones some."""
        p = {"obvious": 0.85, "moderate": 0.6, "subtle": 0.4}[e.strength]
        return (self.rng.random(e.end - e.start + 1) < p).astype(np.float32)

    def _pick_front(self) -> int:
        """A registered collector that takes waste its licence does not cover (preferably one whose licence lapsed)."""
        lapsed = {int(e) for e, kind, *_ in self.reg.lookalikes if kind == "licence_lapsed"}
        collectors = [r for r in self.reg.receivers if self.reg.firms[r].kind == "collector"]
        pool = [r for r in collectors if r in lapsed] or collectors
        return pool[int(self.rng.integers(len(pool)))] if pool else -1

    def _chain(self, c: int, w: np.ndarray) -> Chain:
        rng, reg = self.rng, self.reg
        carriers = [k for k in reg.carriers if reg.firms[k].kind == "transporter" and len(reg.fleet(k)) >= 2]
        sizes = np.array([len(reg.fleet(k)) for k in carriers], dtype=float)
        carrier = carriers[int(rng.choice(len(carriers), p=sizes / sizes.sum()))]
        fleet = reg.fleet(carrier)
        k = int(min(len(fleet), rng.integers(1, 4)))
        vehicles = [fleet[int(i)] for i in rng.choice(len(fleet), size=k, replace=False)]
        if rng.random() < 0.5 and all(v.hazmat for v in vehicles) and len(vehicles) > 1:
            vehicles[-1].hazmat = False  # an unpermitted vehicle does the off-book runs
        depot = reg.firms[carrier]
        sites = []
        if rng.random() < 0.7:
            sites.append(self.site_near("workshop", depot.x, depot.y))
        kind = ["dump", "water", "karst"][int(rng.choice(3, p=[0.45, 0.35, 0.2]))]
        if not sites or rng.random() < 0.6:
            sites.append(self.site_near(kind, depot.x, depot.y, 3000, 30000))
        days = self.period.n_days
        dur = int(rng.integers(min(90, days // 2), max(min(90, days // 2) + 1, min(540, days - 30))))
        start = int(rng.integers(0, max(1, days - dur)))
        chain = Chain(f"CH{c + 1:02d}", carrier, tuple(v.idx for v in vehicles), tuple(sites), start, min(days - 1, start + dur))
        near = np.hypot(np.array([reg.firms[i].x for i in reg.producers]) - depot.x,
                        np.array([reg.firms[i].y for i in reg.producers]) - depot.y)
        ww = w * np.exp(-near / 30_000.0) * (self.open_day < chain.end - 60)
        ww[list(self.used)] = 0
        for _ in range(int(rng.integers(2, 7)) if self.scale.producers > 100 else 3):
            if ww.sum() <= 0:
                break
            prod = int(rng.choice(len(ww), p=ww / ww.sum()))
            ww[prod] = 0
            kind_p = reg.firms[reg.producers[prod]].kind
            site_kinds = {self.sites[s].kind for s in sites}
            if "workshop" in site_kinds and kind_p in ("repair", "machining", "battery", "lab", "hospital"):
                b = "supplying_unlicensed"
            elif site_kinds & {"water", "karst"} and rng.random() < 0.5:
                b = "water_dumping"
            else:
                b = "dumping_3t"
            ep = self.episode(prod, b, chain)
            if b == "dumping_3t" and "shrinkage" in ep.mechanisms and len(ep.mechanisms) == 1:
                ep.mechanisms = ("transfer_without_manifest",)
        behaviour = "unlicensed_operation" if any(self.sites[s].kind == "workshop" for s in sites) else "dumping_3t"
        self.episodes.append(Episode(carrier, -1, behaviour, chain.start, chain.end, "moderate", ("carrier",), chain.cid,
                                     site=sites[0], route="chain", vehicles=chain.vehicles))
        return chain


def plan_violations(scale: Scale, period: Period, reg: Registry, geo: Geography, net: RoadNetwork,
                    rng: np.random.Generator, codes_of: list[tuple[str, ...]], shares_of: list[np.ndarray],
                    world: World = STANDARD) -> Plan:
    """Choose who violates, how, when and where. ``codes_of[prod]`` lists each producer's waste codes
    and ``shares_of[prod]`` their shares of its waste mass; ``world`` sets the mix (simulation.worlds)."""
    return _Planner(scale, period, reg, geo, net, rng, world).plan(codes_of, shares_of)
