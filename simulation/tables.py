"""The world's contract tables as Arrow tables (DATA_CONTRACT.md §1), ready for the writer."""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from simulation.config import Period
from simulation.enterprises import Registry
from simulation.geography import to_latlon
from simulation.investigations import Case
from simulation.production import Power
from simulation.tips import Tip, tip_latlon
from simulation.waste import WasteBook
from simulation.writer import days, floats, text, times


def enterprises(reg: Registry) -> pa.Table:
    lat, lon = to_latlon([f.x for f in reg.firms], [f.y for f in reg.firms])
    return pa.table({
        "enterprise_id": text([f.eid for f in reg.firms]),
        "name": text([f.name for f in reg.firms]),
        "credit_code": text([f.credit for f in reg.firms]),
        "industry_code": text([f.industry_code for f in reg.firms]),
        "county": text([f.county for f in reg.firms]),
        "lat": floats(lat, 6),
        "lon": floats(lon, 6),
        "park": text([f.park for f in reg.firms]),
        "key_discharge_unit": pa.array([f.key for f in reg.firms], type=pa.bool_()),
        "roles": text([f.roles for f in reg.firms]),
        "employees": pa.array([f.employees for f in reg.firms], type=pa.int64()),
        "opened": pa.array(np.array([f.opened for f in reg.firms], dtype="datetime64[D]"), type=pa.date32()),
    })


def licences(reg: Registry, period: Period) -> pa.Table:
    lics = sorted(reg.licences, key=lambda lic: lic.lid)
    return pa.table({
        "licence_id": text([lic.lid for lic in lics]),
        "enterprise_id": text([reg.firms[lic.ent].eid for lic in lics]),
        "kind": text([lic.kind for lic in lics]),
        "waste_codes": text([lic.codes for lic in lics]),
        "capacity_t": floats([lic.capacity_t for lic in lics], 1),
        "valid_from": days([lic.valid_from for lic in lics], period.start),
        "valid_to": days([lic.valid_to for lic in lics], period.start),
    })


def vehicles(reg: Registry) -> pa.Table:
    return pa.table({
        "vehicle_id": text([v.plate for v in reg.vehicles]),
        "transporter_id": text([reg.firms[v.carrier].eid for v in reg.vehicles]),
        "hazmat_permit": pa.array([v.hazmat for v in reg.vehicles], type=pa.bool_()),
        "capacity_t": floats([v.capacity_t for v in reg.vehicles], 1),
    })


def ledgers(cols: dict[str, list]) -> pa.Table:
    return pa.table({
        "enterprise_id": text(cols["enterprise_id"]),
        "month": text(cols["month"]),
        "waste_code": text(cols["waste_code"]),
        **{c: floats(cols[c], 2) for c in ("generated_t", "transferred_t", "onsite_t", "stock_end_t")},
    })


def manifests(book: WasteBook, reg: Registry) -> pa.Table:
    ships = sorted((s for s in book.shipments if s.manifest_id), key=lambda s: s.manifest_id)
    return pa.table({
        "manifest_id": text([s.manifest_id for s in ships]),
        "producer_id": text([reg.firms[reg.producers[s.prod]].eid for s in ships]),
        "transporter_id": text([reg.firms[s.carrier].eid for s in ships]),
        "receiver_id": text([reg.firms[s.receiver].eid for s in ships]),
        "vehicle_id": text([reg.vehicles[s.vehicle].plate for s in ships]),
        "waste_code": text([s.code for s in ships]),
        "quantity_t": floats([s.qty for s in ships], 2),
        "departed_at": times([s.departed for s in ships]),
        "received_t": floats([s.received_t for s in ships], 2),
        "received_at": times([s.received_at for s in ships]),
    })


def assign_manifest_ids(book: WasteBook, period: Period) -> None:
    """Manifest numbers LD4503 + departure date + a daily serial, in order of departure (never all digits)."""
    order = sorted(range(len(book.shipments)), key=lambda k: (book.shipments[k].departed, k))
    serial: dict[str, int] = {}
    for k in order:
        s = book.shipments[k]
        if s.vehicle < 0:
            continue
        day = str(np.datetime64(int(s.departed), "s").astype("datetime64[D]")).replace("-", "")
        serial[day] = serial.get(day, 0) + 1
        s.manifest_id = f"LD4503{day}{serial[day]:04d}"


def electricity_month(reg: Registry, power: Power, period: Period, m: int) -> pa.Table:
    """One month of daily meter readings of every producer, ordered by enterprise and day."""
    d0, d1 = int(period.month_starts[m]), int(period.month_starts[m + 1])
    metered = power.metered[:, d0:d1]
    rows, cols = np.nonzero(metered)
    eids = np.array([reg.firms[i].eid for i in reg.producers], dtype=object)
    return pa.table({
        "enterprise_id": pa.array(eids[rows].tolist(), type=pa.string()),
        "date": days(d0 + cols, period.start),
        "kwh": pa.array(np.round(power.kwh[:, d0:d1][rows, cols].astype(np.float64), 1)),
        "night_kwh": pa.array(np.round(power.night_kwh[:, d0:d1][rows, cols].astype(np.float64), 1)),
    })


def tips_table(tips: list[Tip], reg: Registry) -> pa.Table:
    ll = [tip_latlon(t) for t in tips]
    return pa.table({
        "tip_id": text([t.tid for t in tips]),
        "received_at": times([t.received for t in tips]),
        "channel": text([t.channel for t in tips]),
        "text": text([t.text for t in tips]),
        "lat": floats([a for a, _ in ll]),
        "lon": floats([b for _, b in ll]),
        "county": text([t.county for t in tips]),
        "enterprise_id": text([reg.firms[t.named].eid if t.named >= 0 else "" for t in tips]),
    })


def cases_table(cases: list[Case], tips: list[Tip], reg: Registry, period: Period) -> pa.Table:
    return pa.table({
        "case_id": text([c.cid for c in cases]),
        "opened": days([c.opened for c in cases], period.start),
        "enterprise_id": text([reg.firms[c.ent].eid if c.ent >= 0 else "" for c in cases]),
        "tip_id": text([tips[c.tip].tid if c.tip >= 0 else "" for c in cases]),
        "outcome": text([c.outcome for c in cases]),
        "violation": text([c.violation for c in cases]),
        "tonnes": floats([c.tonnes for c in cases], 1),
        "criminal": pa.array([c.criminal for c in cases], type=pa.bool_()),
    })
