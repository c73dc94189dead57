"""Waste generation, storage, shipments and the producers' ledgers (台账).

Quantities are kept in integer hundredths of a tonne so that a ledger balances exactly in the
producer's own rounding unit (0.01 t or 0.1 t); only deliberate falsification and rare clerical
slips break it. Generation follows production power with an industry intensity and noise;
stock is shipped when it reaches a lot size (or has been stored too long); violations divert
part of it (hidden tonnes), declare transfers without manifests, or send it to unlicensed parties.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from simulation.config import Period
from simulation.enterprises import Registry
from simulation.industries import BY_KEY, category
from simulation.production import Power
from simulation.violations import Plan

USE_P = {"obvious": 0.95, "moderate": 0.7, "subtle": 0.4}  # share of eligible loads a shrinking episode touches


@dataclass
class Stream:
    """One producer x waste code: declared monthly quantities in hundredths of a tonne."""

    prod: int
    code: str
    share: float
    unit: int  # rounding unit in hundredths (1 = 0.01 t, 10 = 0.1 t)
    months: np.ndarray  # bool: a ledger row exists
    gen: np.ndarray
    onsite: np.ndarray
    xfer_hidden: np.ndarray  # declared transferred without any manifest
    opening: int
    slip: np.ndarray  # clerical slip added to stock_end (hundredths)


@dataclass
class Shipment:
    prod: int
    code: str
    qty: float  # tonnes at departure, 0.01 t
    month: int
    day: int
    shrink_t: float = 0.0
    episode: int = -1  # the episode that shrinks it or sends it to an unlicensed receiver
    receiver: int = -1  # forced receiver (unlicensed); -1: the contract receiver
    night: bool = False
    # filled by logistics
    manifest_id: str = ""
    vehicle: int = -1
    carrier: int = -1
    departed: int = 0
    arrived: int = 0
    received_at: int | None = None
    received_t: float | None = None


@dataclass
class Offbook:
    """Waste diverted off the books in one month by one episode, to be carried away (or not)."""

    episode: int
    prod: int
    month: int
    tonnes: float
    codes: tuple[str, ...]


@dataclass
class WasteBook:
    codes_of: list[tuple[str, ...]]
    streams: list[Stream] = field(default_factory=list)
    shipments: list[Shipment] = field(default_factory=list)
    hidden: list[tuple[int, int, str, float, str, int]] = field(default_factory=list)  # prod, month, code, t, mechanism, episode
    offbook: list[Offbook] = field(default_factory=list)


def assign_codes(reg: Registry, rng: np.random.Generator) -> tuple[list[tuple[str, ...]], list[np.ndarray]]:
    """Each producer's waste codes (industry-typical, at least the main one) and mass shares."""
    codes_of, shares_of = [], []
    for i in reg.producers:
        ind = BY_KEY[reg.firms[i].kind]
        keep = [(c, s) for j, (c, s, p) in enumerate(ind.codes) if j == 0 or rng.random() < p]
        codes_of.append(tuple(c for c, _ in keep))
        s = np.array([s for _, s in keep]) * np.exp(rng.normal(0, 0.3, len(keep)))
        shares_of.append(s / s.sum())
    return codes_of, shares_of


def _working_days(period: Period, m: int, rng: np.random.Generator, n: int) -> np.ndarray:
    d0, d1 = int(period.month_starts[m]), int(period.month_starts[m + 1])
    days = np.arange(d0, d1)
    dow = ((period.start + days).astype(np.int64) + 3) % 7
    ok = days[dow < 6]
    sf = period.spring_festival_days()
    ok = np.array([d for d in ok if all(not (c - 3 <= d <= c + 7) for c in sf)]) if len(ok) else ok
    if len(ok) == 0:
        ok = days
    if n >= len(ok):
        return np.sort(rng.choice(ok, size=n, replace=True))
    # evenly spread with jitter
    pos = (np.arange(n) + rng.uniform(0.1, 0.9, n)) / n * len(ok)
    return np.sort(ok[np.clip(pos.astype(int), 0, len(ok) - 1)])


def plan_waste(reg: Registry, period: Period, power: Power, plan: Plan, codes_of: list[tuple[str, ...]],
               shares_of: list[np.ndarray], rng: np.random.Generator) -> WasteBook:
    """Monthly generation, diversions and planned shipments (departure days, quantities) of every stream."""
    book = WasteBook(codes_of)
    normal_mwh, extra_mwh = power.monthly_mwh(period)
    month_of = period.day_month()
    first_m = month_of[np.minimum(power.open_day, period.n_days - 1)]
    last_m = np.minimum(period.months - 1, month_of[np.minimum(power.closed_day, period.n_days - 1)] + 2)
    mdays = np.diff(period.month_starts)
    eps_of: dict[int, list[int]] = {}
    for k, e in enumerate(plan.episodes):
        if e.prod >= 0:
            eps_of.setdefault(e.prod, []).append(k)
    pending: dict[tuple[int, int], float] = {}  # (episode, month) -> tonnes carried off the books
    for prod, firm_idx in enumerate(reg.producers):
        firm = reg.firms[firm_idx]
        ind = BY_KEY[firm.kind]
        intensity = ind.intensity * np.exp(rng.normal(0, 0.35))
        unit = 10 if (firm.employees < 50 and rng.random() < 0.6) or rng.random() < 0.15 else 1
        onsite_f = rng.uniform(0.2, 0.7) if (ind.shipping == "bulk" and firm.employees > 300 and rng.random() < 0.3) else 0.0
        months = np.zeros(period.months, dtype=bool)
        months[first_m[prod]: last_m[prod] + 1] = power.open_day[prod] < period.n_days
        interval = 2 if firm.employees > 800 else 4 if firm.employees > 300 else 7 if firm.employees > 100 else int(rng.integers(14, 31))
        ship_days: dict[int, np.ndarray] = {}
        eps = [plan.episodes[k] for k in eps_of.get(prod, [])]
        for code, share in zip(codes_of[prod], shares_of[prod], strict=True):
            noise = np.exp(rng.normal(0, 0.13, period.months))
            g_norm = intensity * share * normal_mwh[prod] * noise * power.spike[prod]
            g_extra = intensity * share * extra_mwh[prod] * noise
            total = g_norm + g_extra
            hidden = np.zeros(period.months)
            mech: list[tuple[int, str, np.ndarray]] = []
            for k in eps_of.get(prod, []):
                e = plan.episodes[k]
                if code not in e.codes:
                    continue
                a = np.array([e.overlap(int(period.month_starts[m]), int(period.month_starts[m + 1])) / mdays[m] for m in range(period.months)])
                if e.mechanisms[0] == "covert_discharge" or e.behaviour == "unlicensed_operation":
                    u = g_extra + e.fraction * g_norm * a
                    mech.append((k, "covert_discharge" if e.behaviour == "covert_discharge" else "underdeclared_generation", u))
                for name in ("underdeclared_generation", "offbook_pickup"):
                    if name in e.mechanisms and e.behaviour != "unlicensed_operation":
                        mech.append((k, name, e.fraction * total * a))
            for k, name, u in mech:
                u = np.minimum(u, total - hidden) * months
                hidden += u
                for m in np.flatnonzero(u > 0.0005):
                    book.hidden.append((prod, int(m), code, round(float(u[m]), 3), name, k))
                    if name != "covert_discharge":
                        pending[(k, int(m))] = pending.get((k, int(m)), 0.0) + float(u[m])
            gen = _round_to(np.round((total - hidden) * 100).astype(np.int64), unit) * months
            onsite = _round_to(np.round(gen * onsite_f * np.exp(rng.normal(0, 0.1, period.months))).astype(np.int64), unit) if onsite_f else np.zeros(period.months, dtype=np.int64)
            typical = max(0.01, float(np.median(total[months])) if months.any() else 0.01)
            if ind.shipping == "medical":
                batch, max_hold = 0.0, 1
            elif typical >= 10:
                batch, max_hold = rng.uniform(5, 15), 1
            elif ind.shipping == "bulk" and typical >= 1:
                batch, max_hold = min(15.0, typical * rng.uniform(1, 3)), 4
            else:
                batch, max_hold = max(0.2 if ind.shipping == "small" else 0.5, typical * rng.uniform(2, 6)), int(rng.integers(6, 13))
            xfer = np.zeros(period.months, dtype=np.int64)
            stock = _round_to(np.array([int(typical * rng.uniform(0, 1.5) * 100)]), unit)[0]
            opening, held = int(stock), int(rng.integers(0, 3))
            max_cap = 30.0
            for m in range(period.months):
                if not months[m]:
                    continue
                stock += int(gen[m] - onsite[m])
                for e_k in eps_of.get(prod, []):
                    e = plan.episodes[e_k]
                    if "transfer_without_manifest" in e.mechanisms and code in e.codes:
                        a = e.overlap(int(period.month_starts[m]), int(period.month_starts[m + 1])) / mdays[m]
                        x = int(_round_to(np.array([int(stock * e.x_fraction * a)]), unit)[0])
                        if x > 0:
                            xfer[m] += x
                            stock -= x
                            book.hidden.append((prod, m, code, x / 100, "transfer_without_manifest", e_k))
                            pending[(e_k, m)] = pending.get((e_k, m), 0.0) + x / 100
                avail = stock / 100
                held += 1
                n = 0
                if ind.shipping == "medical" and share >= 0.5:
                    step = 2 if interval <= 2 else 4 if interval <= 4 else 7 if interval <= 10 else 14
                    n = max(1, int(round(mdays[m] / step)))
                    ship = avail * rng.uniform(0.9, 0.98)
                elif ind.shipping == "medical":
                    n = 1 if (avail >= 0.05 or held >= 3) else 0
                    ship = avail
                elif avail >= batch or (held >= max_hold and avail >= 0.05):
                    n = max(1, int(avail // batch)) if batch > 0 else 1
                    ship = avail - rng.uniform(0, 0.25) * min(batch, avail)
                if n == 0 or ship < 0.01:
                    continue
                n = max(n, int(np.ceil(ship / max_cap)))
                parts = ship * rng.dirichlet(np.full(n, 8.0))
                qty = np.floor(parts * 100) / 100
                qty = qty[qty >= 0.01]
                if len(qty) == 0:
                    continue
                if ind.shipping == "medical":  # the collection round of the county: fixed days
                    days = _round_days(period, m, interval, firm.county, len(qty))
                elif ind.shipping == "small":  # small lots wait for the collectors' fortnightly round
                    days = _round_days(period, m, 14, firm.county, len(qty))
                else:
                    if m not in ship_days or len(ship_days[m]) < len(qty):
                        ship_days[m] = _working_days(period, m, rng, len(qty))
                    days = ship_days[m][np.linspace(0, len(ship_days[m]) - 1, len(qty)).astype(int)]
                held = 0
                stock -= int(round(qty.sum() * 100))
                for q, d in zip(qty, days, strict=True):
                    book.shipments.append(_divert(Shipment(prod, code, float(q), m, int(d)), eps, eps_of.get(prod, []), plan, reg, rng))
            book.streams.append(Stream(prod, code, float(share), unit, months, gen, onsite, xfer, opening,
                                       _slips(rng, period.months, unit)))
    _offbook_batches(book, plan, pending)
    return book


def shipment_hidden(book: WasteBook, period: Period) -> None:
    """Hidden tonnes of shrunk loads and loads sent to unlicensed receivers, by actual departure month."""
    for s in book.shipments:
        m = int(period.month_of_time(s.departed))
        if s.vehicle < 0 or not 0 <= m < period.months:
            continue
        if s.shrink_t > 0:
            book.hidden.append((s.prod, m, s.code, s.shrink_t, "shrinkage", s.episode))
        elif s.episode >= 0:
            book.hidden.append((s.prod, m, s.code, s.qty, "unlicensed_receiver", s.episode))


def _divert(s: Shipment, eps, keys: list[int], plan: Plan, reg: Registry, rng: np.random.Generator) -> Shipment:
    """Apply a shrinking or unlicensed-receiver episode to a planned load."""
    for e, k in zip(eps, keys, strict=True):
        if not (e.start <= s.day <= e.end) or s.code not in e.codes:
            continue
        if "shrinkage" in e.mechanisms and rng.random() < USE_P[e.strength]:
            s.shrink_t = round(max(0.01, s.qty * e.shrink * rng.uniform(0.8, 1.2)), 2)
            s.shrink_t = min(s.shrink_t, round(s.qty - 0.01, 2))
            s.episode = k
            s.night = rng.random() < (0.9 if e.behaviour == "water_dumping" else e.night_p * 0.5)
            return s
        if ("unlicensed_receiver" in e.mechanisms and e.receiver >= 0 and rng.random() < min(1.0, e.fraction + 0.45)
                and not reg.licensed(e.receiver, s.code, s.day)):
            s.receiver, s.episode = e.receiver, k
            return s
    return s


def _offbook_batches(book: WasteBook, plan: Plan, pending: dict[tuple[int, int], float]) -> None:
    """Gather each episode's diverted tonnes into batches of at least ~1 t for off-book trips."""
    by_episode: dict[int, list[tuple[int, float]]] = {}
    for (k, m), t in sorted(pending.items()):
        by_episode.setdefault(k, []).append((m, t))
    for k, months in sorted(by_episode.items()):
        e = plan.episodes[k]
        carry = 0.0
        for i, (m, t) in enumerate(months):
            carry += t
            if carry >= 1.0 or i == len(months) - 1:
                book.offbook.append(Offbook(k, e.prod, m, round(carry, 3), e.codes))
                carry = 0.0


def _round_days(period: Period, m: int, interval: int, county: str, n: int) -> np.ndarray:
    """Days of a county's medical-waste collection round in month ``m`` (every ``interval`` days)."""
    step = 2 if interval <= 2 else 4 if interval <= 4 else 7 if interval <= 10 else 14
    offset = sum(ord(c) for c in county) % step
    d0, d1 = int(period.month_starts[m]), int(period.month_starts[m + 1])
    days = np.array([d for d in range(d0, d1) if (d + offset) % step == 0]) if step < 28 else np.array([d0 + offset])
    if len(days) == 0:
        days = np.array([d0])
    return days[np.linspace(0, len(days) - 1, n).astype(int)]


def _slips(rng: np.random.Generator, months: int, unit: int) -> np.ndarray:
    slip = np.zeros(months, dtype=np.int64)
    hit = rng.random(months) < 0.006
    slip[hit] = unit  # an extra unit in stock_end: carried forward, never below the physical stock
    return slip


def _round_to(h: np.ndarray, unit: int) -> np.ndarray:
    """Round hundredths to the ledger's unit (half up)."""
    if unit == 1:
        return h
    return ((h + unit // 2) // unit) * unit


def ledger_rows(book: WasteBook, reg: Registry, period: Period) -> tuple[dict[str, list], list[tuple[str, str, int, int, str]]]:
    """The ledgers table from the streams and the manifests' actual departure months.

    ``transferred = manifests of the month (rounded to the ledger's unit) + any declared transfer
    without manifest``; ``stock_end`` carries over exactly, except clerical slips (returned as look-alikes).
    """
    shipped: dict[tuple[int, str], np.ndarray] = {}
    for s in book.shipments:
        m = int(period.month_of_time(s.departed))
        if 0 <= m < period.months:
            arr = shipped.setdefault((s.prod, s.code), np.zeros(period.months, dtype=np.int64))
            arr[m] += int(round(s.qty * 100))
    cols: dict[str, list] = {k: [] for k in ("enterprise_id", "month", "waste_code", "generated_t", "transferred_t", "onsite_t", "stock_end_t")}
    slips: list[tuple[str, str, int, int, str]] = []
    for st in book.streams:
        eid = reg.firms[reg.producers[st.prod]].eid
        q = shipped.get((st.prod, st.code), np.zeros(period.months, dtype=np.int64))
        stock = st.opening
        cum_q = np.cumsum(q)
        booked = _round_to(cum_q, st.unit)  # the clerk books manifests so that totals stay right
        for m in np.flatnonzero(st.months):
            out = int(booked[m] - (booked[m - 1] if m > 0 else 0)) + int(st.xfer_hidden[m])
            new = stock + int(st.gen[m]) - out - int(st.onsite[m])
            if new < 0:  # cannot happen with consistent plans; book what was there
                out += new
                new = 0
            if st.slip[m] and new + st.slip[m] >= 0:
                new += int(st.slip[m])
                slips.append((str(reg.producers[st.prod]), "ledger_slip", int(period.month_starts[m]), int(period.month_starts[m + 1]) - 1,
                              f"ledger clerical slip of {st.slip[m] / 100:+.2f} t in stock_end ({st.code})"))
            cols["enterprise_id"].append(eid)
            cols["month"].append(period.month_label(int(m)))
            cols["waste_code"].append(st.code)
            cols["generated_t"].append(st.gen[m] / 100)
            cols["transferred_t"].append(out / 100)
            cols["onsite_t"].append(st.onsite[m] / 100)
            cols["stock_end_t"].append(new / 100)
            stock = new
    return cols, slips


def category_of(code: str) -> str:
    return category(code)
