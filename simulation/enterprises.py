"""Registered enterprises: producers in the key industries, licensed receivers, carriers and vehicles."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from simulation import geodata
from simulation.config import Period, Scale
from simulation.geography import Geography, to_xy
from simulation.industries import (
    INDUSTRIES,
    RECEIVER_TYPES,
    SMALL_RECEIVERS,
    TRANSPORT_CATEGORIES,
    licence_covers,
)
from simulation.names import NameBook
from simulation.roads import RoadNetwork


@dataclass
class Enterprise:
    idx: int
    eid: str
    name: str
    credit: str
    industry_code: str
    county: str
    x: float
    y: float
    park: str
    key: bool
    roles: str
    employees: int
    opened: np.datetime64
    kind: str  # industry key, receiver type or "transporter"
    pid: int = -1  # road point
    town: str = ""


@dataclass
class Licence:
    lid: str
    ent: int
    kind: str
    codes: str
    valid_from: int  # day index (may be negative: before the period)
    valid_to: int
    capacity_t: float | None = None


@dataclass
class Vehicle:
    idx: int
    plate: str
    carrier: int  # enterprise index
    hazmat: bool
    capacity_t: float
    heartbeat_s: int  # 0: silent while parked
    fix_s: int  # nominal interval while the engine runs
    noise_m: float
    slot: tuple[float, float]  # parking offset at the depot, metres


@dataclass
class Registry:
    firms: list[Enterprise] = field(default_factory=list)
    producers: list[int] = field(default_factory=list)
    receivers: list[int] = field(default_factory=list)
    carriers: list[int] = field(default_factory=list)
    vehicles: list[Vehicle] = field(default_factory=list)
    licences: list[Licence] = field(default_factory=list)
    lookalikes: list[tuple[str, str, int, int, str]] = field(default_factory=list)  # id, kind, day0, day1, note

    def fleet(self, carrier: int) -> list[Vehicle]:
        """The carrier's vehicles (indexed lazily; the index follows additions to ``vehicles``)."""
        if getattr(self, "_fleet_n", -1) != len(self.vehicles):
            fleets: dict[int, list[Vehicle]] = {}
            for v in self.vehicles:
                fleets.setdefault(v.carrier, []).append(v)
            self._fleets, self._fleet_n = fleets, len(self.vehicles)
        return self._fleets.get(carrier, [])

    def of(self, ent: int) -> list[Licence]:
        """Licences held by ``ent`` (indexed lazily; the index follows changes to ``licences``)."""
        key = (id(self.licences), len(self.licences))
        if getattr(self, "_index_key", None) != key:
            index: dict[int, list[Licence]] = {}
            for lic in self.licences:
                index.setdefault(lic.ent, []).append(lic)
            self._index, self._index_key = index, key
        return self._index.get(ent, [])

    def licensed(self, ent: int, code: str, day: int, kinds: tuple[str, ...] = ("disposal", "utilisation", "collection")) -> bool:
        return any(lic.kind in kinds and lic.valid_from <= day <= lic.valid_to and licence_covers(lic.codes, code)
                   for lic in self.of(ent))

    def licence_end(self, ent: int) -> int:
        """Last day any business licence of ``ent`` is valid."""
        ends = [lic.valid_to for lic in self.of(ent) if lic.kind != "transport"]
        return max(ends) if ends else -1


def _anchor(geo: Geography, rng: np.random.Generator, where: str) -> tuple[str, str, float, float, float]:
    """(county, town, x, y, spread metres) of a place of the asked kind: urban, seat, town or park."""
    if where == "park":
        names = list(geo.parks)
        r = np.array([geo.parks[n][3] for n in names])
        k = int(rng.choice(len(names), p=r / r.sum()))
        county, x, y, rad = geo.parks[names[k]]
        return county, names[k], x, y, rad / 2
    if where == "urban":
        urban = [n for n in geo.nodes if n.kind == "urban"]
        n = urban[int(rng.integers(len(urban)))]
        return n.county, "", n.x, n.y, 1800.0
    kind = "seat" if where == "seat" else "town"
    pool = [n for n in geo.nodes if n.kind == kind]
    n = pool[int(rng.integers(len(pool)))]
    return n.county, (n.name if kind == "town" else ""), n.x, n.y, (1500.0 if kind == "seat" else 1200.0)


def _opened(rng: np.random.Generator, period: Period, new_p: float) -> np.datetime64:
    if rng.random() < new_p:
        return period.start + int(rng.integers(30, max(31, period.n_days - 60)))
    years = rng.uniform(1.5, 28.0)
    return period.start - int(years * 365)


def build_registry(scale: Scale, period: Period, geo: Geography, net: RoadNetwork, rng: np.random.Generator) -> Registry:
    """Every enterprise, licence and vehicle of the world (receivers' capacities are set later)."""
    reg = Registry()
    book = NameBook(rng)
    inds = INDUSTRIES
    shares = np.array([i.share for i in inds])
    kinds = rng.choice(len(inds), size=scale.producers, p=shares / shares.sum())
    for k in np.sort(kinds):
        _producer(reg, inds[int(k)], period, geo, rng, book)
    _receivers(reg, scale, period, geo, rng, book)
    _carriers(reg, scale, period, geo, rng, book)
    for e in reg.firms:
        e.eid = f"E{e.idx + 1:05d}"
        e.pid = net.add_point(e.x, e.y)
    return reg


def _add(reg: Registry, **kw) -> Enterprise:
    e = Enterprise(idx=len(reg.firms), eid="", **kw)
    reg.firms.append(e)
    return e


def _producer(reg: Registry, ind, period: Period, geo: Geography, rng: np.random.Generator, book: NameBook) -> None:
    if rng.random() < ind.park_p:
        where = "park"
    else:
        p = {"repair": (0.45, 0.25, 0.30), "hospital": (0.35, 0.35, 0.30), "lab": (0.7, 0.25, 0.05),
             "battery": (0.1, 0.2, 0.7), "tyre": (0.0, 0.2, 0.8)}.get(ind.key, (0.2, 0.4, 0.4))
        where = ("urban", "seat", "town")[int(rng.choice(3, p=p))]
    county, town, ax, ay, spread = _anchor(geo, rng, where)
    if ind.key in ("battery", "tyre") and where != "park":
        spread = 3000.0
    x, y = ax + rng.normal(0, spread), ay + rng.normal(0, spread)
    if where == "urban":
        county = geo.county_of(x, y)[0]
    emp = int(max(2, round(np.exp(np.log(ind.emp_median) + ind.emp_sigma * rng.normal()))))
    gbt = [g for g, _ in ind.gbt]
    w = np.array([w for _, w in ind.gbt], dtype=float)
    code = gbt[int(rng.choice(len(gbt), p=w / w.sum()))]
    name = None
    if ind.key == "hospital":
        if code == "Q8423" and town:
            name = book.public_hospital(county, town, 0) if rng.random() < 0.9 else None
        elif emp > 200 or rng.random() < 0.3:
            name = book.public_hospital(county, None, int(rng.integers(9)))
    if name is None:
        name = book.enterprise(ind.key, county, town or None)
    public = ind.key == "hospital" and ("人民医院" in name or "卫生院" in name or "保健院" in name or "中医医院" in name)
    division = geodata.COUNTIES[county][4]
    logit = ind.key_logit + 1.3 * np.log(emp / ind.emp_median) + (0.7 if where == "park" else 0.0)
    _add(reg, name=name, credit=book.credit_code(division, public), industry_code=code, county=county,
         x=float(x), y=float(y), park=town if where == "park" else "", key=bool(rng.random() < 1 / (1 + np.exp(-logit))),
         roles="producer", employees=emp, opened=_opened(rng, period, 0.03), kind=ind.key,
         town=town if where == "town" else "")
    reg.producers.append(len(reg.firms) - 1)


def _receivers(reg: Registry, scale: Scale, period: Period, geo: Geography, rng: np.random.Generator, book: NameBook) -> None:
    if scale.receivers <= len(SMALL_RECEIVERS):
        types = list(SMALL_RECEIVERS[: scale.receivers])
    else:
        names = list(RECEIVER_TYPES)
        w = np.array([RECEIVER_TYPES[n][4] for n in names])
        types = list(SMALL_RECEIVERS) + [names[int(k)] for k in rng.choice(len(names), scale.receivers - len(SMALL_RECEIVERS), p=w / w.sum())]
    li = next(xy for name, xy in geo.rivers if name == "漓江")
    n_riverside = max(1, scale.receivers // 12)
    for i, rtype in enumerate(types):
        kind, codes, icode, cap, _share, out_p = RECEIVER_TYPES[rtype]
        outside = rtype not in ("medical", "collector") and (rng.random() < out_p or (i == 3 and rtype == "lead"))
        if outside:
            county = list(geodata.OUTSIDE)[int(rng.integers(len(geodata.OUTSIDE)))]
            lat, lon, division = geodata.OUTSIDE[county]
            x, y = to_xy(lat, lon)
            x, y = float(x + rng.normal(0, 4000)), float(y + rng.normal(0, 4000))
        else:
            where = "seat" if rtype == "collector" else ("park" if rng.random() < 0.5 else "seat")
            county, _t, ax, ay, spread = _anchor(geo, rng, where)
            if rtype in ("disposal", "medical") and where == "seat":
                county, _t, ax, ay, spread = _anchor(geo, rng, "park")
            x, y = float(ax + rng.normal(0, spread * 1.5)), float(ay + rng.normal(0, spread * 1.5))
            division = geodata.COUNTIES[county][4]
        riverside = not outside and (i >= len(types) - n_riverside or (scale.receivers <= 6 and rtype == "collector"))
        if riverside:  # a licensed receiver on the riverbank: honest, but near water
            v = li[int(rng.integers(len(li) // 5, 4 * len(li) // 5))]
            ang = rng.uniform(0, 2 * np.pi)
            x, y = float(v[0] + 250 * np.cos(ang)), float(v[1] + 250 * np.sin(ang))
            county = geo.county_of(x, y)[0]
            division = geodata.COUNTIES[county][4]
        roles = "receiver;transporter" if rtype == "medical" else "receiver"
        e = _add(reg, name=book.enterprise(rtype, county), credit=book.credit_code(division), industry_code=icode,
                 county=county, x=x, y=y, park="", key=rtype in ("disposal", "medical", "lead", "metal"), roles=roles,
                 employees=int(rng.integers(30, 400)) if rtype != "collector" else int(rng.integers(6, 40)),
                 opened=period.start - int(rng.uniform(3, 15) * 365), kind=rtype)
        if riverside:
            reg.lookalikes.append((str(e.idx), "riverside_receiver", 0, period.n_days - 1, "licensed receiver within about 300 m of the river"))
        reg.receivers.append(e.idx)
        if rtype == "medical":
            reg.carriers.append(e.idx)
        _licence_chain(reg, e.idx, kind, codes, period, rng, years=5 if kind != "collection" else 3)


def _licence_chain(reg: Registry, ent: int, kind: str, codes: str, period: Period, rng: np.random.Generator, years: int) -> None:
    """A licence valid at the start of the period, renewed when it expires (lapsing is decided later)."""
    span = years * 365
    start = -int(rng.integers(30, span - 30))
    while start <= period.n_days:
        end = start + span - 1
        reg.licences.append(Licence(f"L{len(reg.licences) + 1:05d}", ent, kind, codes, start, end))
        start = end + 1


def _carriers(reg: Registry, scale: Scale, period: Period, geo: Geography, rng: np.random.Generator, book: NameBook) -> None:
    n = scale.transporters
    li = next(xy for name, xy in geo.rivers if name == "漓江")
    riverside = set(rng.choice(n, size=max(1, n // 8), replace=False).tolist())
    for i in range(n):
        outside = n > 3 and rng.random() < 0.12
        if outside:
            county = list(geodata.OUTSIDE)[int(rng.integers(2))]
            lat, lon, division = geodata.OUTSIDE[county]
            x, y = (float(v) for v in to_xy(lat, lon))
            x, y = x + rng.normal(0, 3000), y + rng.normal(0, 3000)
        else:
            county, _t, ax, ay, spread = _anchor(geo, rng, "urban" if rng.random() < 0.5 else "seat")
            x, y = ax + rng.normal(0, 2500), ay + rng.normal(0, 2500)
            if i in riverside:  # a depot by the water: overnight parking near the river is honest here
                v = li[int(rng.integers(len(li) // 4, 3 * len(li) // 4))]
                ang = rng.uniform(0, 2 * np.pi)
                x, y = v[0] + 200 * np.cos(ang), v[1] + 200 * np.sin(ang)
            county = geo.county_of(x, y)[0]
            division = geodata.COUNTIES[county][4]
        e = _add(reg, name=book.enterprise("transporter", county), credit=book.credit_code(division), industry_code="G5435",
                 county=county, x=float(x), y=float(y), park="", key=False, roles="transporter",
                 employees=int(rng.integers(15, 200)), opened=period.start - int(rng.uniform(2, 20) * 365), kind="transporter")
        if i in riverside and not outside:
            reg.lookalikes.append((str(e.idx), "riverside_depot", 0, period.n_days - 1, "carrier depot within about 300 m of the river"))
        reg.carriers.append(e.idx)
    for c in reg.carriers:
        _licence_chain(reg, c, "transport", TRANSPORT_CATEGORIES, period, rng, years=5)
    # fleets: heavy-tailed sizes, at least two vehicles each
    w = np.exp(rng.normal(0, 0.7, len(reg.carriers)))
    sizes = np.maximum(2, np.round(w / w.sum() * scale.vehicles)).astype(int)
    for c, size in zip(reg.carriers, sizes, strict=True):
        medical = reg.firms[c].kind == "medical"
        for _ in range(int(size)):
            cap = float(rng.choice([1.5, 2.0, 3.0]) if medical else rng.choice([2, 5, 8, 10, 15, 20, 30], p=[0.1, 0.2, 0.2, 0.2, 0.15, 0.1, 0.05]))
            hb = int(rng.choice([0, 600, 1200, 1800, 3600], p=[0.65, 0.03, 0.08, 0.11, 0.13]))
            reg.vehicles.append(Vehicle(len(reg.vehicles), book.plate(reg.firms[c].county), c, bool(rng.random() > 0.06),
                                        cap, hb, 30 if rng.random() < 0.82 else 60, float(rng.uniform(5, 15)),
                                        (float(rng.normal(0, 25)), float(rng.normal(0, 25)))))
    for c in reg.carriers:  # a carrier always has at least one permitted vehicle
        fleet = reg.fleet(c)
        if not any(v.hazmat for v in fleet):
            fleet[0].hazmat = True
