"""``simulate``: build a world and write its snapshot (DATA_CONTRACT.md §1) and its truth."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pyarrow as pa

from hazleads.workers import fork_workers
from simulation import tables
from simulation.config import DAY_S, SCALES, Period, rng_for
from simulation.driving import plan_driving
from simulation.enterprises import build_registry
from simulation.geography import build_geography, places_geojson
from simulation.gps import GpsWriter
from simulation.gps_workers import gps_months
from simulation.investigations import make_cases
from simulation.logistics import (
    Dispatcher,
    designate_vehicles,
    lapse_licences,
    make_contracts,
    manifest_jobs,
    receiver_capacities,
    run_jobs,
)
from simulation.offbook import discharge_events, freight_jobs, offbook_jobs, unlicensed_events
from simulation.production import simulate_power
from simulation.roads import RoadNetwork, edge_label
from simulation.tips import make_tips
from simulation.truth import episode_tonnes, front_episode, lookalike_ids, write_truth
from simulation.villages import build_gazetteer
from simulation.violations import Event, plan_violations
from simulation.waste import assign_codes, ledger_rows, plan_waste, shipment_hidden
from simulation.worlds import STANDARD, World
from simulation.writer import ELECTRICITY_SCHEMA, TRAJECTORY_SCHEMA, PartSink, write_json, write_table

Progress = Callable[[str, int | None, int | None], None]
TABLE_FILES = ("enterprises", "licences", "ledgers", "electricity", "manifests", "vehicles", "trajectories", "tips", "cases")


def simulate(out: str | Path, seed: int = 0, scale: str = "small", start: str = "2021-01", months: int | None = None,
             progress: Progress | None = None, world: World | None = None, workers: int | None = None) -> Path:
    """Write a synthetic snapshot of a Guilin-like prefecture to ``out`` and its ground truth to ``out/truth``.

    ``scale`` is small, town, city or province; ``months`` defaults to the scale's (12, 18, 36, 12).
    ``world`` sets the city's character (``simulation.worlds``: ``STANDARD`` by default,
    ``draw_world(seed)`` for a random one). The same arguments always give byte-identical files,
    whatever the number of ``workers`` generating the GPS months (``simulation.gps_workers``; default
    ``hazleads.workers.fork_workers``).
    Returns the snapshot folder.
    """
    world = world or STANDARD
    if scale not in SCALES:
        raise ValueError(f"unknown scale {scale!r}; use one of {', '.join(SCALES)}")
    sc = SCALES[scale]
    n_months = int(months or sc.months)
    if n_months < 1:
        raise ValueError("months must be at least 1")
    try:
        first = np.datetime64(start, "M")
    except ValueError as exc:
        raise ValueError(f"start must be YYYY-MM, got {start!r}") from exc
    say = progress or (lambda _msg, _done=None, _total=None: None)
    t_begin = time.perf_counter()
    folder = Path(out)
    folder.mkdir(parents=True, exist_ok=True)
    for name in TABLE_FILES:
        for suffix in (".csv", ".parquet"):
            p = folder / f"{name}{suffix}"
            if p.is_file():
                p.unlink()
    period = Period(first, n_months)

    say("生成地理 building geography", None, None)
    geo = build_geography(rng_for(seed, "geography"), sc.karst_points)
    net = RoadNetwork(geo, rng_for(seed, "roads"))
    gazetteer = build_gazetteer(geo, rng_for(seed, "villages"))
    closures = net.add_closures(period.n_days, rng_for(seed, "roadworks"))
    say("生成企业 registering enterprises", None, None)
    reg = build_registry(sc, period, geo, net, rng_for(seed, "enterprises"))
    for e, d0, d1 in closures:
        reg.lookalikes.append((edge_label(net, e), "road_works", d0, d1, "road closed: every truck detours"))
    codes_of, shares_of = assign_codes(reg, rng_for(seed, "codes"))
    lapse_licences(reg, period, rng_for(seed, "lapses"), 1 if sc.receivers <= 6 else max(2, sc.receivers // 15))
    say("安排违法行为 planning violations", None, None)
    plan = plan_violations(sc, period, reg, geo, net, rng_for(seed, "violations"), codes_of, shares_of, world)
    say("生成用电 simulating power", None, None)
    power = simulate_power(reg, period, rng_for(seed, "power"), plan.extra_night, plan.extra_day)
    _meter_gaps(power.metered, period, world, rng_for(seed, "meter-gaps"))
    say("生成台账 generating waste and ledgers", None, None)
    book = plan_waste(reg, period, power, plan, codes_of, shares_of, rng_for(seed, "waste"))
    con = make_contracts(reg, codes_of, rng_for(seed, "contracts"))
    designate_vehicles(plan, reg, con, rng_for(seed, "designate"))

    say("调度车辆 dispatching trips", None, None)
    disp = Dispatcher(reg, net, period, rng_for(seed, "dispatch"))
    raw: list[tuple] = []
    jobs = manifest_jobs(disp, book, plan, con, raw)
    jobs += offbook_jobs(disp, book, plan, raw)
    jobs += freight_jobs(disp, rng_for(seed, "freight"))
    run_jobs(jobs)
    t_end = period.t0 + period.n_days * DAY_S
    for sh in book.shipments:  # a load that would leave after the snapshot's last day is not in it
        if sh.departed >= t_end:
            sh.vehicle, sh.shrink_t, sh.episode = -1, 0.0, -1
    raw = [r for r in raw if r[4] < t_end]
    discharge_events(book, plan, reg, period, rng_for(seed, "discharge"), raw)
    unlicensed_events(book, plan, reg, raw)
    raw = [r for r in raw if r[4] < t_end and all(book.shipments[k].vehicle >= 0 for k in r[3])]
    shipment_hidden(book, period)
    tables.assign_manifest_ids(book, period)
    raw.sort(key=lambda r: (r[4], r[0], r[10]))
    events = [Event(f"EV{i + 1:06d}", *r) for i, r in enumerate(raw)]
    episode_tonnes(plan, book, events, reg)
    front_episode(plan, book, reg, period)
    receiver_capacities(reg, book, period, plan.front_receiver, rng_for(seed, "capacity"))

    say("生成举报与案件 tips and cases", None, None)
    tips = make_tips(events, plan, reg, geo, net, period, sc, rng_for(seed, "tips"), gazetteer, world)
    cases = make_cases(reg, plan, events, tips, period, sc, rng_for(seed, "cases"), world)

    say("写入表格 writing tables", None, None)
    pq = set(sc.parquet)
    write_table(folder, "enterprises", tables.enterprises(reg), "enterprises" in pq)
    write_table(folder, "vehicles", tables.vehicles(reg), "vehicles" in pq)
    cols, slips = ledger_rows(book, reg, period)
    reg.lookalikes.extend(slips)
    write_table(folder, "ledgers", tables.ledgers(cols), "ledgers" in pq)
    write_table(folder, "manifests", tables.manifests(book, reg), "manifests" in pq)
    write_table(folder, "tips", tables.tips_table(tips, reg), "tips" in pq)
    write_table(folder, "cases", tables.cases_table(cases, tips, reg, period), "cases" in pq)
    write_table(folder, "licences", tables.licences(reg, period), "licences" in pq)
    driving = plan_driving(reg, net, period, disp.sched.trips, book.shipments, rng_for(seed, "driving"))
    places = places_geojson(geo, driving.place_features(net))
    places["features"].extend(gazetteer.features())
    write_json(folder / "places.geojson", places)
    sink = PartSink(folder, "electricity", ELECTRICITY_SCHEMA, "electricity" in pq)
    for m in range(period.months):
        sink.write(tables.electricity_month(reg, power, period, m), period.month_label(m))
    sink.close()
    n_power = sink.rows
    del power

    gps = GpsWriter(reg, net, period, disp.sched.trips, seed, driving, outage_x=world.gps_outage_x)
    plates = pa.array([v.plate for v in reg.vehicles], type=pa.string())
    sink = PartSink(folder, "trajectories", TRAJECTORY_SCHEMA, "trajectories" in pq)

    def table(f) -> pa.Table:
        return pa.table({"vehicle_id": plates.take(pa.array(f.vehicle)), "ts": pa.array(f.ts, type=pa.int64()).cast(pa.timestamp("s")),
                         "lat": f.lat, "lon": f.lon, "speed_kmh": f.speed, "driver_id": pa.array(f.driver, type=pa.string())}).cast(TRAJECTORY_SCHEMA)

    for m, blocks in gps_months(gps, period.months, fork_workers(workers, period.months), table):
        say("生成轨迹 generating trajectories", m, period.months)
        for t in blocks:
            sink.write(t, period.month_label(m))
    sink.close()
    say("生成轨迹 generating trajectories", period.months, period.months)

    looks = lookalike_ids(reg.lookalikes + gps.faults, reg)
    for s in book.shipments:
        if s.vehicle >= 0 and s.episode < 0 and (s.received_at is None or s.received_at - s.arrived > 3 * DAY_S):
            kind = "unconfirmed_manifest" if s.received_at is None else "late_confirmation"
            d = int((s.departed - period.t0) // DAY_S)
            looks.append((s.manifest_id, kind, d, d, "honest paperwork: receipt confirmed late or never"))
    for c in sorted(con.night_carriers):
        looks.append((reg.firms[c].eid, "night_shift_carrier", 0, period.n_days - 1, "carrier runs honest trips at night"))
    valid = [e for e in plan.episodes if not e.void]
    meta = {
        "seed": seed, "scale": scale, "world": world.describe(), "start": str(period.start), "end": str(period.end_day), "months": period.months,
        "counts": {
            "enterprises": len(reg.firms), "producers": len(reg.producers), "receivers": len(reg.receivers),
            "transporters": len(reg.carriers), "vehicles": len(reg.vehicles), "licences": len(reg.licences),
            "ledger_rows": len(cols["month"]), "electricity_rows": n_power,
            "manifests": sum(1 for s in book.shipments if s.manifest_id), "trips": len(disp.sched.trips),
            "fixes": sink.rows, "tips": len(tips), "genuine_tips": sum(t.genuine for t in tips), "cases": len(cases),
            "confirmed_cases": sum(c.outcome == "confirmed" for c in cases), "events": len(events),
            "behaviours": len(valid), "violating_enterprises": len({e.ent for e in valid}),
            "violating_producers": len({e.ent for e in valid if e.prod >= 0}), "chains": len(plan.chains),
            "sites": sum(1 for s in plan.sites if s.last >= 0), "lookalikes": len(looks),
            "by_behaviour": {b: sum(e.behaviour == b for e in valid) for b in sorted({e.behaviour for e in valid})},
        },
    }
    meta["counts"]["vehicle_violations"] = len(set(driving.truth))
    write_truth(folder / "truth", plan, book, events, tips, reg, period, looks, meta)
    write_table(folder / "truth", "vehicle_violations", driving.truth_table(), parquet=False)
    say(f"完成 done in {time.perf_counter() - t_begin:.1f} s", None, None)
    return folder


def _meter_gaps(metered: np.ndarray, period: Period, world: World, rng: np.random.Generator) -> None:
    """A world's incomplete power records: extra missing meter days and whole producer-months
    without readings (a broken meter, a failed upload). Nothing is drawn in the standard world."""
    extra_days = world.power_missing_p - STANDARD.power_missing_p
    if extra_days > 0:
        metered &= rng.random(metered.shape) >= extra_days
    if world.power_gap_months_p > 0:
        gaps = rng.random((metered.shape[0], period.months)) < world.power_gap_months_p
        for m in range(period.months):
            d0, d1 = int(period.month_starts[m]), int(period.month_starts[m + 1])
            metered[gaps[:, m], d0:d1] = False
