"""Trips and events off the books: night runs to dumps, rivers, caves and workshops, covert
discharges, loads handed to unlicensed receivers, and honest general-freight runs of vehicles
without a hazmat permit (stops away from any enterprise that are not dumping).

An event is ``(enterprise, behaviour, vehicle, shipments, t0, t1, x, y, site, tonnes, episode)``.
"""

from __future__ import annotations

import numpy as np

from simulation.config import DAY_S, HOUR_S, Period
from simulation.enterprises import Registry
from simulation.logistics import Dispatcher, Job
from simulation.violations import Plan
from simulation.waste import WasteBook


def _night_or_day(rng: np.random.Generator, night_p: float) -> float:
    if rng.random() < night_p:
        return float(rng.uniform(20.5, 25.5))  # 20:30 to 01:30 (past midnight)
    return float(rng.uniform(9.0, 15.0))


def offbook_jobs(disp: Dispatcher, book: WasteBook, plan: Plan, events: list) -> list[Job]:
    """Trips (registered vehicles) and events (unregistered trucks) that carry diverted waste away."""
    reg, period, rng = disp.reg, disp.period, disp.rng
    jobs: list[Job] = []
    for j, ob in enumerate(book.offbook):
        e = plan.episodes[ob.episode]
        d0 = max(e.start, int(period.month_starts[ob.month]))
        d1 = max(d0 + 1, min(e.end + 1, int(period.month_starts[ob.month + 1])))
        firm = reg.firms[e.ent]
        if e.site >= 0:
            dest_pid, dx, dy, site = plan.sites[e.site].pid, plan.sites[e.site].x, plan.sites[e.site].y, e.site
        elif e.dest_ent >= 0:
            f = reg.firms[e.dest_ent]
            dest_pid, dx, dy, site = f.pid, f.x, f.y, -1
        else:
            dest_pid, dx, dy, site = -1, firm.x + rng.normal(0, 600), firm.y + rng.normal(0, 600), -1
        if e.route == "own" or not e.vehicles or dest_pid < 0:
            n = int(np.clip(np.ceil(ob.tonnes / 3.0), 1, 3))
            for t in np.array_split(np.full(n, ob.tonnes / n), n):
                day = int(rng.integers(d0, d1))
                t0 = period.t0 + day * DAY_S + int(_night_or_day(rng, e.night_p) * HOUR_S)
                events.append((e.ent, e.behaviour, -1, [], t0, t0 + int(rng.uniform(15, 60) * 60), dx, dy, site,
                               round(float(t[0]), 3), ob.episode))
                if site >= 0:
                    s = plan.sites[site]
                    s.first, s.last = min(s.first, day), max(s.last, day)
            continue
        cap = max(reg.vehicles[v].capacity_t for v in e.vehicles)
        n = int(np.clip(np.ceil(ob.tonnes / (cap * 0.9)), 1, 6))
        for i in range(n):
            day = int(rng.integers(d0, d1))
            want = period.t0 + day * DAY_S + int(_night_or_day(rng, e.night_p) * HOUR_S)

            def run(w: int, e=e, pid=firm.pid, dest=(dest_pid, dx, dy, site), tonnes=ob.tonnes / n, k=ob.episode) -> None:
                _offbook_trip(disp, plan, e, pid, dest, tonnes, k, w, events)

            jobs.append((want, (1, j, i), run))
    return jobs


def _offbook_trip(disp: Dispatcher, plan: Plan, e, producer_pid: int, dest: tuple, tonnes: float, k: int, want: int,
                  events: list) -> None:
    rng = disp.rng
    dest_pid, dx, dy, site = dest
    vehicle, start = disp.pick(list(e.vehicles), want)
    b = disp.builder(start)
    depot = disp.depot(vehicle)
    off = rng.random() < e.gps_off_p
    b.drive(depot, producer_pid)
    b.dwell(producer_pid, rng.uniform(20, 50) * 60, engine=rng.random() < 0.5)
    b.drive(producer_pid, dest_pid, gps_off=off)
    workshop = site >= 0 and plan.sites[site].kind == "workshop"
    t0, t1 = b.dwell(dest_pid, rng.uniform(30, 90) * 60 if workshop or site < 0 else rng.uniform(12, 45) * 60,
                     engine=rng.random() < 0.6, gps_off=off)
    b.drive(dest_pid, depot, gps_off=off and rng.random() < 0.5)
    disp.commit(b.trip(vehicle, "offbook"))
    events.append((e.ent, e.behaviour, vehicle, [], t0, t1, dx, dy, site, round(tonnes, 3), k))
    if site >= 0:
        s = plan.sites[site]
        day = (t0 - disp.period.t0) // DAY_S
        s.first, s.last = min(s.first, day), max(s.last, day)


def discharge_events(book: WasteBook, plan: Plan, reg: Registry, period: Period, rng: np.random.Generator, events: list) -> None:
    """Covert discharges (pipes, pits, karst): a few night releases a month where the waste went."""
    per: dict[tuple[int, int], float] = {}
    for _prod, m, _code, t, name, k in book.hidden:
        if name == "covert_discharge":
            per[(k, m)] = per.get((k, m), 0.0) + t
    for (k, m), tonnes in sorted(per.items()):
        e = plan.episodes[k]
        firm = reg.firms[e.ent]
        if e.site >= 0:
            x, y, site = plan.sites[e.site].x, plan.sites[e.site].y, e.site
        else:
            x, y, site = firm.x + rng.normal(0, 60), firm.y + rng.normal(0, 60), -1
        d0 = max(e.start, int(period.month_starts[m]))
        d1 = max(d0 + 1, min(e.end + 1, int(period.month_starts[m + 1])))
        n = int(rng.integers(1, 4))
        for _ in range(n):
            day = int(rng.integers(d0, d1))
            t0 = period.t0 + day * DAY_S + int(rng.uniform(22.0, 29.0) * HOUR_S)
            events.append((e.ent, e.behaviour, -1, [], t0, t0 + int(rng.uniform(1, 5) * HOUR_S), x, y, site,
                           round(tonnes / n, 3), k))
            if site >= 0:
                s = plan.sites[site]
                s.first, s.last = min(s.first, day), max(s.last, day)


def unlicensed_events(book: WasteBook, plan: Plan, reg: Registry, events: list) -> None:
    """Each load handed to an unlicensed receiver is an event at that receiver."""
    for k, s in enumerate(book.shipments):
        if s.vehicle >= 0 and s.episode >= 0 and s.shrink_t == 0 and "unlicensed_receiver" in plan.episodes[s.episode].mechanisms:
            r = reg.firms[s.receiver]
            events.append((reg.firms[reg.producers[s.prod]].idx, "supplying_unlicensed", s.vehicle, [k], s.arrived,
                           s.arrived + 1800, r.x, r.y, -1, s.qty, s.episode))


def freight_jobs(disp: Dispatcher, rng: np.random.Generator) -> list[Job]:
    """Vehicles without a hazmat permit carry general freight by day: town to town, market stops."""
    reg, period, net = disp.reg, disp.period, disp.net
    towns = [i for i, n in enumerate(net.nodes) if n.kind in ("town", "seat", "urban")]
    jobs: list[Job] = []
    for v in reg.vehicles:
        if v.hazmat:
            continue
        reg.lookalikes.append((v.plate, "general_freight", 0, period.n_days - 1,
                               "vehicle without hazmat permit doing general freight: stops away from enterprises"))
        depot = reg.firms[v.carrier]
        near = sorted(towns, key=lambda i: (net.nodes[i].x - depot.x) ** 2 + (net.nodes[i].y - depot.y) ** 2)[:12]
        for week in range(0, period.n_days - 7, 7):
            for day in week + rng.choice(6, size=int(rng.integers(1, 3)), replace=False):
                want = period.t0 + int(day) * DAY_S + int(rng.uniform(7.5, 10.0) * HOUR_S)
                stops = [near[int(i)] for i in rng.choice(len(near), size=2, replace=False)]

                def run(w: int, v=v.idx, stops=stops) -> None:
                    veh, start = disp.pick([v], w)
                    if start - w > 6 * HOUR_S:
                        return
                    b = disp.builder(start)
                    here = disp.depot(veh)
                    for node in stops:
                        p = b.stop_point(node)
                        b.leg(here, p)
                        b.dwell(p, rng.uniform(30, 90) * 60, engine=False)
                        here = p
                    b.leg(here, disp.depot(veh))
                    disp.commit(b.trip(veh, "freight"))

                jobs.append((want, (2, v.idx, int(day)), run))
    return jobs
