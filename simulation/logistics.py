"""Carriers, receivers and trips: every manifest is a real trip of a vehicle of its carrier.

Producers contract one carrier and, per waste code, a licensed receiver (switching when a licence
lapses). Planned loads are grouped into trips (one producer's codes together; small producers in
milk runs), scheduled onto vehicles in time order so a vehicle never does two things at once,
and turned into manifests with departure, arrival and the receiver's confirmation.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from simulation.config import DAY_S, HOUR_S, Period
from simulation.enterprises import Registry
from simulation.industries import BY_KEY, RECEIVER_TYPES, licence_covers
from simulation.itinerary import Builder, Trip
from simulation.roads import SPEED_KMH, RoadNetwork
from simulation.violations import Plan
from simulation.waste import Shipment, WasteBook


@dataclass
class Contracts:
    carrier_of: list[int]  # per producer: carrier enterprise index
    prefs: dict[tuple[int, str], list[int]]  # (producer, code) -> receivers in order of preference
    night_carriers: set[int]

    def receiver(self, reg: Registry, prod: int, code: str, day: int) -> int:
        for r in self.prefs[(prod, code)]:
            if reg.licensed(r, code, day):
                return r
        return self.prefs[(prod, code)][0]


@dataclass
class Schedule:
    trips: list[Trip] = field(default_factory=list)
    free_at: dict[int, int] = field(default_factory=dict)  # vehicle -> time it is back at its depot

    def vehicle_free(self, v: int) -> int:
        return self.free_at.get(v, 0)


def lapse_licences(reg: Registry, period: Period, rng: np.random.Generator, n: int) -> list[int]:
    """Let ``n`` receivers' licences lapse (no renewal) part way through the period."""
    collectors = [r for r in reg.receivers if reg.firms[r].kind == "collector"]
    others = [r for r in reg.receivers if reg.firms[r].kind in ("oil", "solvent", "metal")]
    first = [collectors[int(rng.integers(len(collectors)))]] if collectors else []  # (it may become the front)
    rest = [r for r in collectors + others if r not in first]
    picks = first + [int(r) for r in rng.choice(rest, size=min(max(0, n - len(first)), len(rest)), replace=False)]
    lapsed = []
    for r in picks[:n]:
        r = int(r)
        lics = sorted((lic for lic in reg.licences if lic.ent == r), key=lambda lic: lic.valid_from)
        cut = next((lic for lic in lics if period.n_days * 0.25 < lic.valid_to < period.n_days - 30), None)
        if cut is None:
            cut = lics[0]
            cut.valid_to = int(rng.integers(int(period.n_days * 0.3), int(period.n_days * 0.7)))
        reg.licences = [lic for lic in reg.licences if not (lic.ent == r and lic.valid_from > cut.valid_to)]
        lapsed.append(r)
        reg.lookalikes.append((str(r), "licence_lapsed", cut.valid_to + 1, period.n_days - 1, "receiver's licence not renewed"))
    return lapsed


def make_contracts(reg: Registry, codes_of: list[tuple[str, ...]], rng: np.random.Generator) -> Contracts:
    """Each producer's carrier (near, big fleets favoured; hospitals: the area's medical-waste centre)
    and, per waste code, receivers licensed for it in order of preference (near ones, specialists first)."""
    carriers = [c for c in reg.carriers if reg.firms[c].kind == "transporter"]
    medical = [c for c in reg.carriers if reg.firms[c].kind == "medical"]
    fleet = np.array([len(reg.fleet(c)) for c in carriers], dtype=float)
    cxy = np.array([[reg.firms[c].x, reg.firms[c].y] for c in carriers])
    mxy = np.array([[reg.firms[c].x, reg.firms[c].y] for c in medical]) if medical else np.zeros((0, 2))
    recv = np.array(reg.receivers)
    rxy = np.array([[reg.firms[r].x, reg.firms[r].y] for r in recv])
    kinds = np.array([reg.firms[r].kind for r in recv])
    by_code: dict[str, np.ndarray] = {}
    carrier_of, prefs = [], {}
    for prod, i in enumerate(reg.producers):
        f = reg.firms[i]
        ind = BY_KEY[f.kind]
        if ind.shipping == "medical" and medical:  # the medical-waste centre of the area collects and disposes
            d = np.hypot(mxy[:, 0] - f.x, mxy[:, 1] - f.y)
            w = np.exp(-(d - d.min()) / 8_000.0)
            carrier_of.append(medical[int(rng.choice(len(medical), p=w / w.sum()))])
        else:
            d = np.hypot(cxy[:, 0] - f.x, cxy[:, 1] - f.y)
            w = fleet * np.exp(-(d - d.min()) / 35_000.0)
            carrier_of.append(carriers[int(rng.choice(len(carriers), p=w / w.sum()))])
        for code in codes_of[prod]:
            if code not in by_code:
                by_code[code] = np.array([any(licence_covers(lic.codes, code) for lic in reg.of(int(r)) if lic.kind != "transport")
                                          for r in recv])
            ok = np.flatnonzero(by_code[code])
            if len(ok) == 0:
                raise RuntimeError(f"no licensed receiver for {code}")
            pref = np.where(kinds[ok] == "collector", 3.0 if ind.shipping == "small" else 0.3,
                            np.where(kinds[ok] == "disposal", 1.0, np.where(kinds[ok] == "medical", 5.0, 2.5)))
            d = np.hypot(rxy[ok, 0] - f.x, rxy[ok, 1] - f.y)
            w = pref * np.exp(-(d - d.min()) / 50_000.0) + 1e-12
            first = int(rng.choice(len(ok), p=w / w.sum()))
            rest = [int(k) for k in np.argsort(-w, kind="stable")[:6] if k != first]
            order = [int(recv[ok[first]])] + [int(recv[ok[k]]) for k in rest]
            if carrier_of[-1] in order:  # a centre that collects also disposes
                order.remove(carrier_of[-1])
                order.insert(0, carrier_of[-1])
            prefs[(prod, code)] = order
    night = {c for c in carriers if rng.random() < 0.1}
    return Contracts(carrier_of, prefs, night)


def _groups(book: WasteBook, reg: Registry, con: Contracts, rng: np.random.Generator) -> list[list[int]]:
    """Shipments grouped into trips: one pickup per producer-day-receiver, milk runs for small lots."""
    by_key: dict[tuple, list[int]] = {}
    for k, s in enumerate(book.shipments):
        rec = s.receiver if s.receiver >= 0 else con.receiver(reg, s.prod, s.code, s.day)
        s.receiver = rec if s.receiver < 0 else s.receiver
        by_key.setdefault((s.day, s.prod, rec, s.episode, s.night), []).append(k)
    trips: list[list[int]] = []
    runs: dict[tuple, list[list[int]]] = {}
    for (day, prod, rec, ep, night), ks in sorted(by_key.items()):
        carrier = con.carrier_of[prod]
        cap = max(v.capacity_t for v in reg.fleet(carrier))
        load = sum(book.shipments[k].qty for k in ks)
        style = BY_KEY[reg.firms[reg.producers[prod]].kind].shipping
        if ep < 0 and not night and style != "bulk" and load < min(3.0, cap * 0.5):
            runs.setdefault((day, carrier, rec, reg.firms[reg.producers[prod]].county), []).append(ks)
            continue
        chunk, acc = [], 0.0
        for k in ks:
            q = book.shipments[k].qty
            if chunk and acc + q > cap:
                trips.append(chunk)
                chunk, acc = [], 0.0
            chunk.append(k)
            acc += q
        trips.append(chunk)
    for (_day, carrier, _rec, _county), pickups in sorted(runs.items()):
        cap = max(v.capacity_t for v in reg.fleet(carrier))
        max_stops = 8 if reg.firms[carrier].kind == "medical" else 5
        run, acc = [], 0.0
        for j in _nearest_order(reg, book, carrier, pickups):
            ks = pickups[int(j)]
            q = sum(book.shipments[k].qty for k in ks)
            if run and (len({book.shipments[k].prod for k in run}) >= max_stops or acc + q > cap * 0.9):
                trips.append(run)
                run, acc = [], 0.0
            run.extend(ks)
            acc += q
        if run:
            trips.append(run)
    return trips


def _nearest_order(reg: Registry, book: WasteBook, carrier: int, pickups: list[list[int]]) -> list[int]:
    """Visit order of milk-run pickups: nearest neighbour from the depot."""
    xy = np.array([[reg.firms[reg.producers[book.shipments[ks[0]].prod]].x, reg.firms[reg.producers[book.shipments[ks[0]].prod]].y]
                   for ks in pickups])
    here = np.array([reg.firms[carrier].x, reg.firms[carrier].y])
    left, order = list(range(len(pickups))), []
    while left:
        j = min(left, key=lambda i: float(np.hypot(*(xy[i] - here))))
        order.append(j)
        left.remove(j)
        here = xy[j]
    return order


class Dispatcher:
    """Assigns trips to vehicles in time order and builds their moves."""

    def __init__(self, reg: Registry, net: RoadNetwork, period: Period, rng: np.random.Generator):
        self.reg, self.net, self.period, self.rng = reg, net, period, rng
        self.sched = Schedule()
        self.stops: dict[int, int] = {}

    def pick(self, candidates: list[int], want: int) -> tuple[int, int]:
        """The vehicle to use and the start time: a free one at ``want``, else the first to be free."""
        free = [v for v in candidates if self.sched.vehicle_free(v) <= want]
        if free:
            return free[int(self.rng.integers(len(free)))], want
        v = min(candidates, key=lambda c: (self.sched.vehicle_free(c), c))
        return v, self.sched.vehicle_free(v) + int(self.rng.uniform(15, 45) * 60)

    def builder(self, t0: int) -> Builder:
        return Builder(self.net, t0, 0, self.period.t0, self.rng, self.stops)

    def commit(self, trip: Trip) -> None:
        self.sched.trips.append(trip)
        self.sched.free_at[trip.vehicle] = trip.end

    def depot(self, vehicle: int) -> int:
        return self.reg.firms[self.reg.vehicles[vehicle].carrier].pid


def manifest_trip(disp: Dispatcher, book: WasteBook, ks: list[int], plan: Plan, con: Contracts, want: int,
                  forced: list[int] | None, events: list) -> None:
    """Schedule one trip for shipments ``ks`` and fill in their manifest times and receipts."""
    reg, rng, net = disp.reg, disp.rng, disp.net
    ships = [book.shipments[k] for k in ks]
    carrier = con.carrier_of[ships[0].prod]
    load = sum(s.qty for s in ships)
    fleet = [v.idx for v in reg.fleet(carrier) if v.hazmat]
    fitting = [v for v in fleet if reg.vehicles[v].capacity_t >= load] or sorted(fleet, key=lambda v: -reg.vehicles[v].capacity_t)[:1]
    vehicle, start = disp.pick(forced or fitting, want)
    carrier = reg.vehicles[vehicle].carrier  # a chain's vehicle carries under its own company's name
    b = disp.builder(start)
    depot = disp.depot(vehicle)
    if rng.random() < 0.5:
        b.dwell(depot, rng.uniform(3, 12) * 60, engine=True)
    prods = list(dict.fromkeys(s.prod for s in ships))
    here = depot
    for p in prods:
        pt = reg.firms[reg.producers[p]].pid
        b.leg(here, pt)
        style = BY_KEY[reg.firms[reg.producers[p]].kind].shipping
        dur = rng.uniform(25, 80) if style == "bulk" else rng.uniform(8, 30)
        b.dwell(pt, dur * 60, engine=rng.random() < 0.3)
        for s in ships:
            if s.prod == p:
                s.departed, s.vehicle, s.carrier = b.t, vehicle, carrier
        here = pt
    rec_ent = ships[0].receiver
    rec = reg.firms[rec_ent].pid
    shrink = [s for s in ships if s.shrink_t > 0]
    if shrink:
        e = plan.episodes[shrink[0].episode]
        site = plan.sites[e.site]
        off = rng.random() < e.gps_off_p
        b.drive(here, site.pid, gps_off=off)
        t0, t1 = b.dwell(site.pid, rng.uniform(10, 40) * 60, engine=rng.random() < 0.7, gps_off=off)
        site.first, site.last = min(site.first, b.day), max(site.last, b.day)
        events.append((reg.firms[reg.producers[shrink[0].prod]].idx, e.behaviour, vehicle,
                       [k for k in ks if book.shipments[k].shrink_t > 0], t0, t1, site.x, site.y, e.site,
                       round(sum(s.shrink_t for s in shrink), 2), shrink[0].episode))
        here = site.pid
    b.leg(here, rec)
    arrive = b.t
    b.dwell(rec, rng.uniform(20, 60) * 60, engine=rng.random() < 0.3)
    for s in ships:
        s.arrived = arrive
        _confirm(s, arrive, rng, reg)
    home = float((net.lengths(rec, depot, b.day) / (SPEED_KMH / 3.6)).sum())
    if home > 3 * HOUR_S and (b.t % DAY_S) > 17 * HOUR_S:
        b.rest_overnight(rec)
        b.leg(b.moves[-1][3], depot)
    else:
        b.leg(rec, depot)
    disp.commit(b.trip(vehicle, "manifest"))


def _confirm(s: Shipment, arrive: int, rng: np.random.Generator, reg: Registry) -> None:
    """The receiver's confirmation: small weighing differences, sometimes days late, rarely never."""
    u = rng.random()
    never = 0.04 if reg.firms[s.receiver].kind == "collector" else 0.012
    if s.shrink_t == 0 and u < never:
        s.received_at, s.received_t = None, None
        return
    eps = 0.0 if rng.random() < 0.35 else float(np.clip(rng.normal(-0.003, 0.006), -0.02, 0.02))
    s.received_t = round(max(0.0, s.qty * (1 + eps) - s.shrink_t), 2)
    late = rng.random() < 0.06
    s.received_at = arrive + int(rng.uniform(10, 50) * 60) + (int(rng.uniform(1, 12) * DAY_S) if late else 0)


Job = tuple[int, tuple[int, ...], Callable[[int], None]]  # (wanted start, tie-break, build-and-commit)


def manifest_jobs(disp: Dispatcher, book: WasteBook, plan: Plan, con: Contracts, events: list) -> list[Job]:
    """One job per grouped trip, with its wanted start (day shift, night shift or an evening dumping run)."""
    reg, period, rng = disp.reg, disp.period, disp.rng
    jobs: list[Job] = []
    for j, g in enumerate(_groups(book, reg, con, rng)):
        s = book.shipments[g[0]]
        day_t = period.t0 + s.day * DAY_S
        if s.night:
            want = day_t + int(rng.uniform(17.5, 20.5) * HOUR_S)
        elif con.carrier_of[s.prod] in con.night_carriers and rng.random() < 0.7:
            want = day_t + int(rng.uniform(19.5, 22.0) * HOUR_S)  # city restrictions: honest night runs
        else:
            want = day_t + int(np.clip(rng.normal(8.0, 0.9), 6.0, 11.5) * HOUR_S)
        forced = None
        if s.episode >= 0 and s.shrink_t > 0:
            forced = list(plan.episodes[s.episode].vehicles)

        def run(w: int, g=g, forced=forced) -> None:
            manifest_trip(disp, book, g, plan, con, w, forced, events)

        jobs.append((want, (0, j), run))
    return jobs


def designate_vehicles(plan: Plan, reg: Registry, con: Contracts, rng: np.random.Generator) -> None:
    """Episodes that use 'a vehicle of its carrier' get one fixed (corrupt) vehicle of that carrier."""
    for e in plan.episodes:
        if e.route == "carrier" and e.prod >= 0 and not e.vehicles:
            fleet = reg.fleet(con.carrier_of[e.prod])
            permitted = [v.idx for v in fleet if v.hazmat]
            pool = permitted if ("shrinkage" in e.mechanisms or not permitted) else [v.idx for v in fleet]
            e.vehicles = (pool[int(rng.integers(len(pool)))],)


def run_jobs(jobs: list[Job]) -> None:
    """Build trips in order of wanted start so vehicles are free when picked."""
    for _want, _k, fn in sorted(jobs, key=lambda j: (j[0], j[1])):
        fn(_want)


def receiver_capacities(reg: Registry, book: WasteBook, period: Period, front: int, rng: np.random.Generator) -> None:
    """Annual capacities on business licences: comfortably above honest intake, except the front."""
    intake: dict[int, float] = {}
    for s in book.shipments:
        intake[s.receiver] = intake.get(s.receiver, 0.0) + s.qty
    years = period.n_days / 365.0
    for lic in reg.licences:
        if lic.kind == "transport":
            continue
        per_year = intake.get(lic.ent, 0.0) / years
        typical = RECEIVER_TYPES[reg.firms[lic.ent].kind][3]
        if lic.ent == front:
            cap = max(50.0, per_year * rng.uniform(0.5, 0.8))
        else:
            cap = max(per_year * rng.uniform(1.4, 3.0), typical * rng.uniform(0.05, 0.3))
        lic.capacity_t = float(round(cap, -1) if cap > 100 else round(cap, 0))
