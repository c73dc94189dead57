"""Past investigations (cases): chosen the way investigators choose, and found what they could.

Every month investigators open cases on their own initiative, favouring key discharge units,
large enterprises, the action plan's key industries, enterprises named in recent tips and those
with visible red flags (honest look-alikes raise flags too); tips also start cases directly.
A case is confirmed with a realistic probability (investigations miss things) when the
enterprise was violating in the 365 days before it opened, unfounded otherwise; recent ones may
still be open.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from simulation.config import DAY_S, Period, Scale
from simulation.enterprises import Registry
from simulation.industries import BY_KEY
from simulation.tips import Tip
from simulation.violations import Event, Plan
from simulation.worlds import STANDARD, World

DETECT = {"obvious": 0.85, "moderate": 0.7, "subtle": 0.5}
FLAG = {"obvious": 4.0, "moderate": 1.5, "subtle": 0.3}
TIP_CASE_P = {"informant": 0.6, "patrol": 0.45, "12369": 0.25, "110": 0.22, "online": 0.1, "other": 0.1}
SERIOUS = ("dumping_3t", "water_dumping", "covert_discharge", "unlicensed_operation")


@dataclass
class Case:
    cid: str
    opened: int  # day index
    ent: int  # -1: none identified
    tip: int  # index into tips, -1
    outcome: str
    violation: str
    tonnes: float | None
    criminal: bool | None


class _Investigators:
    def __init__(self, reg: Registry, plan: Plan, events: list[Event], tips: list[Tip], period: Period,
                 rng: np.random.Generator, world: World = STANDARD):
        self.reg, self.plan, self.events, self.tips, self.period, self.rng = reg, plan, events, tips, period, rng
        self.world = world
        self.case_days: dict[int, list[int]] = {}
        self.cases: list[Case] = []
        self.flags: dict[int, list[tuple[int, int, float]]] = {}  # ent -> (day0, day1, weight)
        for e in plan.episodes:
            if e.void:
                continue
            self.flags.setdefault(e.ent, []).append((e.start, e.end + 120, FLAG[e.strength]))
        for ent, kind, d0, d1, _note in reg.lookalikes:
            if kind in ("seasonal_spike", "maintenance_shutdown", "closure", "licence_lapsed", "night_tariff_shift") and ent.isdigit():
                self.flags.setdefault(int(ent), []).append((d0, d1 + 120, 0.8))
        emp = np.array([max(1, f.employees) for f in reg.firms])
        self.size = (emp / np.median(emp)) ** 0.4
        self.key = np.array([3.0 if f.key else 1.0 for f in reg.firms])
        self.focus = np.array([BY_KEY[f.kind].focus if f.kind in BY_KEY else 1.0 for f in reg.firms])
        self.candidates = np.array(sorted(reg.producers + [c for c in reg.carriers if reg.firms[c].kind == "transporter"]
                                          + [r for r in reg.receivers if reg.firms[r].kind == "collector"]))
        self.tip_days = [(int((t.received - period.t0) // DAY_S), t.named) for t in tips if t.named >= 0]
        self.producer_xy = np.array([[reg.firms[p].x, reg.firms[p].y] for p in reg.producers])

    def violating(self, ent: int, day: int) -> list:
        return [e for e in self.plan.episodes if e.ent == ent and not e.void and e.start <= day and e.end >= day - 365]

    def weight(self, day: int) -> np.ndarray:
        c = self.candidates
        flag = np.ones(len(c))
        pos = {int(e): i for i, e in enumerate(c)}
        for ent, spans in self.flags.items():
            if ent in pos:
                flag[pos[ent]] += sum(w for d0, d1, w in spans if d0 <= day <= d1)
        tipped = np.ones(len(c))
        for d, ent in self.tip_days:
            if d <= day <= d + 90 and ent in pos:
                tipped[pos[ent]] += 5.0
        cool = np.ones(len(c))
        for ent, days in self.case_days.items():
            if ent in pos and any(abs(day - d) < 180 for d in days):
                cool[pos[ent]] = 0.1
        if self.world.selection_focus != 1.0:  # 0: red flags do not matter; 2: they matter a lot
            flag = flag ** self.world.selection_focus
        return self.key[c] * self.size[c] * self.focus[c] * flag * tipped * cool

    def open(self, day: int, ent: int, tip: int, boost: float = 0.0) -> None:
        rng = self.rng
        end = self.period.n_days - 1
        if day > end:
            return
        outcome, violation, tonnes, criminal = "unfounded", "", None, None
        eps = self.violating(ent, day) if ent >= 0 else []
        if ent >= 0 and eps:
            worst = max(eps, key=lambda e: (e.tonnes, e.behaviour))
            if rng.random() < min(0.95, DETECT[worst.strength] * self.world.detect_x + boost):
                outcome, violation = "confirmed", worst.behaviour
        elif ent >= 0 and self.world.false_confirm_p > 0 and rng.random() < self.world.false_confirm_p:
            # label noise: an honest enterprise recorded as confirmed (a wrong finding, a clerical error)
            outcome, violation, tonnes = "confirmed", "other", round(float(rng.uniform(0.2, 4.0)), 1)
        elif ent < 0 and tip >= 0 and self.tips[tip].genuine and self.tips[tip].event >= 0:
            ev = self.events[self.tips[tip].event]
            if rng.random() < 0.6:
                outcome, violation = "confirmed", ev.behaviour
                tonnes = round(max(0.1, ev.tonnes * float(np.exp(rng.normal(0, 0.3)))), 1)
        if outcome == "confirmed":
            if tonnes is None:
                found = sum(e.tonnes * min(1.0, max(0, min(e.end, day) - max(e.start, day - 365) + 1) / max(1, e.end - e.start + 1))
                            for e in eps)
                tonnes = round(max(0.1, found * float(np.exp(rng.normal(0, 0.3)))), 1)
            p_crim = 0.75 if violation in SERIOUS else 0.35
            criminal = bool(tonnes >= 3.0 and rng.random() < p_crim)
            if rng.random() < 0.08:
                violation = "other"
        else:
            criminal = False if rng.random() < 0.7 else None
        if day > end - 90 and rng.random() < 1 - (end - day) / 90:
            outcome, violation, tonnes, criminal = "open", "", None, None
        self.cases.append(Case("", day, ent, tip, outcome, violation, tonnes, criminal))
        if ent >= 0:
            self.case_days.setdefault(ent, []).append(day)

    def routine(self, rate: float) -> None:
        rng, period = self.rng, self.period
        for m in range(1, period.months):
            d0, d1 = int(period.month_starts[m]), int(period.month_starts[m + 1])
            n = rng.poisson(rate)
            for _ in range(n):
                day = int(rng.integers(d0, d1))
                w = self.weight(day)
                if w.sum() <= 0:
                    continue
                ent = int(self.candidates[int(rng.choice(len(w), p=w / w.sum()))])
                self.open(day, ent, -1)

    def from_tips(self) -> None:
        rng, reg = self.rng, self.reg
        seen_events: set[int] = set()
        for i, tip in enumerate(self.tips):
            p = TIP_CASE_P[tip.channel] * (2.0 if tip.named >= 0 else 1.0) * self.world.tip_case_x
            if rng.random() >= min(0.9, p) or (tip.event >= 0 and tip.event in seen_events):
                continue
            day = int((tip.received - self.period.t0) // DAY_S) + int(rng.integers(2, 31))
            ent = tip.named
            if ent < 0 and tip.genuine and rng.random() < 0.45:
                ent = tip.concerned  # investigators traced the truck or the outlet
            elif ent < 0 and tip.x is not None and rng.random() < 0.5:
                xy = self.producer_xy
                d = np.hypot(xy[:, 0] - tip.x, xy[:, 1] - tip.y)
                if d.min() < 3000:
                    ent = int(reg.producers[int(d.argmin())])  # the nearest plant: sometimes the wrong one
            if tip.event >= 0:
                seen_events.add(tip.event)
            self.open(day, ent, i, boost=0.1 if tip.channel == "informant" else 0.0)


def make_cases(reg: Registry, plan: Plan, events: list[Event], tips: list[Tip], period: Period, scale: Scale,
               rng: np.random.Generator, world: World = STANDARD) -> list[Case]:
    """Routine and tip-driven cases over the whole period, sorted by opening day, ids C00001...

    A world with ``cases_total`` sets the routine rate so that routine and tip-started cases
    together come to about that many."""
    inv = _Investigators(reg, plan, events, tips, period, rng, world)
    inv.from_tips()
    rate = scale.routine_cases
    if world.cases_total is not None:
        rate = max(0.2, (world.cases_total - len(inv.cases)) / max(1, period.months - 1))
    inv.routine(rate)
    cases = sorted(inv.cases, key=lambda c: (c.opened, c.ent, c.tip))
    for i, c in enumerate(cases):
        c.cid = f"C{i + 1:05d}"
    return cases
