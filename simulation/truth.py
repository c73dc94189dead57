"""Ground truth under ``DATA/truth/``: what really happened, for training checks and evaluation.

Files and columns are fixed (see docs/simulation.md): behaviours.csv, hidden_tonnes.csv,
events.csv, tips.csv, sites.csv, lookalikes.csv and meta.json.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa

from simulation.config import DAY_S, Period
from simulation.enterprises import Registry
from simulation.geography import to_latlon
from simulation.tips import Tip
from simulation.violations import Event, Plan
from simulation.waste import WasteBook
from simulation.writer import days, floats, text, times, write_json, write_table


def episode_tonnes(plan: Plan, book: WasteBook, events: list[Event], reg: Registry) -> None:
    """Tonnes diverted per episode; carriers and fronts get what passed through their hands; empty ones are void."""
    for e in plan.episodes:
        e.tonnes = 0.0
    for _prod, _m, _code, t, _name, k in book.hidden:
        plan.episodes[k].tonnes += t
    for ch in plan.chains:
        carrier = next(e for e in plan.episodes if e.prod < 0 and e.chain == ch.cid)
        carrier.tonnes = sum(ev.tonnes for ev in events if ev.vehicle in ch.vehicles and plan.episodes[ev.episode].chain == ch.cid)
        if carrier.tonnes == 0:
            carrier.void = True
    for e in plan.episodes:
        e.tonnes = round(e.tonnes, 3)
        if e.prod >= 0 and e.tonnes <= 0:
            e.void = True


def front_episode(plan: Plan, book: WasteBook, reg: Registry, period: Period) -> None:
    """The registered receiver that took waste outside its licence: an unlicensed operation of its own."""
    if plan.front_receiver < 0:
        return
    loads = [s for s in book.shipments if s.receiver == plan.front_receiver and s.episode >= 0 and s.shrink_t == 0
             and "unlicensed_receiver" in plan.episodes[s.episode].mechanisms]
    if not loads:
        return
    from simulation.violations import Episode

    d0 = min(int((s.arrived - period.t0) // DAY_S) for s in loads)
    d1 = max(int((s.arrived - period.t0) // DAY_S) for s in loads)
    plan.episodes.append(Episode(plan.front_receiver, -1, "unlicensed_operation", d0, d1, "moderate", ("front",),
                                 tonnes=round(sum(s.qty for s in loads), 3)))


def write_truth(folder: Path, plan: Plan, book: WasteBook, events: list[Event], tips: list[Tip], reg: Registry,
                period: Period, lookalikes: list[tuple[str, str, int, int, str]], meta: dict) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    eps = [e for e in plan.episodes if not e.void]
    eps.sort(key=lambda e: (reg.firms[e.ent].eid, e.start, e.behaviour))
    write_table(folder, "behaviours", pa.table({
        "enterprise_id": text([reg.firms[e.ent].eid for e in eps]),
        "behaviour": text([e.behaviour for e in eps]),
        "start": days([e.start for e in eps], period.start),
        "end": days([e.end for e in eps], period.start),
        "tonnes_diverted": floats([e.tonnes for e in eps], 3),
        "strength": text([e.strength for e in eps]),
        "chain_id": text([e.chain for e in eps]),
        "site_id": text([plan.sites[e.site].sid if e.site >= 0 else "" for e in eps]),
    }), parquet=False)
    agg: dict[tuple[str, str, str, str], float] = {}
    for prod, m, code, t, name, k in book.hidden:
        if plan.episodes[k].void:
            continue
        key = (reg.firms[reg.producers[prod]].eid, period.month_label(m), code, name)
        agg[key] = agg.get(key, 0.0) + t
    rows = sorted(agg.items())
    write_table(folder, "hidden_tonnes", pa.table({
        "enterprise_id": text([k[0] for k, _ in rows]),
        "month": text([k[1] for k, _ in rows]),
        "waste_code": text([k[2] for k, _ in rows]),
        "hidden_t": floats([v for _, v in rows], 3),
        "mechanism": text([k[3] for k, _ in rows]),
    }), parquet=False)
    lat, lon = to_latlon([ev.x for ev in events], [ev.y for ev in events])
    write_table(folder, "events", pa.table({
        "event_id": text([ev.eid for ev in events]),
        "enterprise_id": text([reg.firms[ev.ent].eid for ev in events]),
        "behaviour": text([ev.behaviour for ev in events]),
        "vehicle_id": text([reg.vehicles[ev.vehicle].plate if ev.vehicle >= 0 else "" for ev in events]),
        "manifest_id": text([";".join(book.shipments[k].manifest_id for k in ev.shipments) for ev in events]),
        "start": times(np.array([ev.t0 for ev in events], dtype=np.int64)),
        "end": times(np.array([ev.t1 for ev in events], dtype=np.int64)),
        "lat": floats(lat, 6),
        "lon": floats(lon, 6),
        "site_id": text([plan.sites[ev.site].sid if ev.site >= 0 else "" for ev in events]),
        "tonnes": floats([ev.tonnes for ev in events], 3),
    }), parquet=False)
    write_table(folder, "tips", pa.table({
        "tip_id": text([t.tid for t in tips]),
        "genuine": pa.array([t.genuine for t in tips], type=pa.bool_()),
        "event_id": text([events[t.event].eid if t.event >= 0 else "" for t in tips]),
        "enterprise_id": text([reg.firms[t.concerned].eid if t.concerned >= 0 else "" for t in tips]),
    }), parquet=False)
    used = [s for s in plan.sites if s.last >= 0]
    slat, slon = to_latlon([s.x for s in used], [s.y for s in used])
    write_table(folder, "sites", pa.table({
        "site_id": text([s.sid for s in used]),
        "kind": text([s.kind for s in used]),
        "lat": floats(slat, 6),
        "lon": floats(slon, 6),
        "active_from": days([s.first for s in used], period.start),
        "active_to": days([s.last for s in used], period.start),
    }), parquet=False)
    looks = sorted(lookalikes, key=lambda r: (r[1], r[0], r[2]))
    write_table(folder, "lookalikes", pa.table({
        "entity_id": text([r[0] for r in looks]),
        "kind": text([r[1] for r in looks]),
        "start": days([r[2] for r in looks], period.start),
        "end": days([r[3] for r in looks], period.start),
        "note": text([r[4] for r in looks]),
    }), parquet=False)
    write_json(folder / "meta.json", meta)


def lookalike_ids(rows: list[tuple[str, str, int, int, str]], reg: Registry) -> list[tuple[str, str, int, int, str]]:
    """Look-alikes with enterprise indices replaced by enterprise ids (plates and road labels stay)."""
    out = []
    for ent, kind, d0, d1, note in rows:
        eid = reg.firms[int(ent)].eid if ent.isdigit() else ent
        out.append((eid, kind, int(d0), int(d1), note))
    return out
