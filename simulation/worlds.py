"""Many cities, not one: the knobs that make one simulated world differ from another.

A modelling choice that wins only on the simulator's own city is a choice tuned to it. ``World``
collects what differs between real prefectures and is not in the data contract's shape: how
much and which dumping goes on and how visibly, whom investigators choose to look at and how
often they are right, how complete the power and GPS records are, and how the public writes
tips. ``STANDARD`` is the simulator's own city (every knob neutral: the output is byte for byte
what it was before worlds existed); ``draw_world(seed)`` draws a different city from each seed.

The ranges are wide on purpose (a world where investigators pick almost at random, one where
they only follow red flags; 40 or 400 concluded cases; half the tips without a place) and are
documented in docs/simulation.md. Nothing here looks at a model's results.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from simulation.config import rng_for

BEHAVIOUR_NAMES = ("dumping_3t", "covert_discharge", "water_dumping", "unlicensed_operation", "supplying_unlicensed")
# how a dumping_3t episode hides its waste (see violations.py): under-declared generation,
# transfers without manifests, shrinking loads, and the two mixes
DUMPING_MECHANISMS = ("underdeclared_generation", "transfer_without_manifest", "shrinkage",
                      "underdeclared_generation+shrinkage", "transfer_without_manifest+shrinkage")
CLASSIC_VOICE = "classic"  # simulation/tiptext.py


@dataclass(frozen=True)
class World:
    """One city's character. Multipliers (``_x``) are 1 and probabilities are the simulator's
    defaults in ``STANDARD``; each field says what it changes and where."""

    name: str = "standard"
    # -- the violations (violations.py) ------------------------------------------------------
    prevalence_x: float = 1.0  # x the scale's share of producers that violate
    strength_p: tuple[float, float, float] = (0.25, 0.40, 0.35)  # obvious, moderate, subtle
    intensity_x: float = 1.0  # x the share of waste hidden by an episode (clipped to 0.95)
    dumping_mechanism_p: tuple[float, ...] = (0.3, 0.25, 0.2, 0.12, 0.13)  # over DUMPING_MECHANISMS
    behaviour_x: tuple[float, ...] = (1.0, 1.0, 1.0, 1.0, 1.0)  # x industry weights, over BEHAVIOUR_NAMES
    chains_x: float = 1.0  # x the scale's organised chains
    # -- investigators (investigations.py) ---------------------------------------------------
    cases_total: float | None = None  # cases over the whole snapshot, routine and tip-started (None: the scale's rate)
    selection_focus: float = 1.0  # exponent of the red-flag weight: 0 near-random choice, 2 strongly flag-driven
    tip_case_x: float = 1.0  # x the chance that a tip starts a case
    detect_x: float = 1.0  # x the chance that a case on a violator is confirmed
    false_confirm_p: float = 0.0  # a case on an honest enterprise recorded confirmed (label noise)
    # -- records ------------------------------------------------------------------------------
    power_missing_p: float = 0.003  # share of meter days without a reading
    power_gap_months_p: float = 0.0  # share of producer-months whose meter sent nothing
    gps_outage_x: float = 1.0  # x terminal outages per vehicle-month
    # -- tips (tips.py) -----------------------------------------------------------------------
    tip_x: float = 1.0  # x the chance that an event is reported
    tip_located_p: float = 0.8  # share of public tips with coordinates
    tip_named_x: float = 1.0  # x the chance that a caller names the enterprise
    tip_callers_p: float = 0.3  # share of reported events with 2-4 callers
    tip_repeat_p: float = 0.0  # share of tips sent again days later (the same report)
    noise_tips_x: float = 1.0  # x the scale's noise tips a month
    voices: tuple[tuple[str, float], ...] = ((CLASSIC_VOICE, 1.0),)  # how callers write, with weights

    def describe(self) -> dict:
        """The knobs as a JSON-friendly dict (written to truth/meta.json)."""
        d = asdict(self)
        d["voices"] = {k: v for k, v in self.voices}
        return d

    @property
    def voice_names(self) -> tuple[str, ...]:
        return tuple(v for v, _ in self.voices)

    @property
    def voice_p(self) -> np.ndarray:
        w = np.array([w for _, w in self.voices], dtype=float)
        return w / w.sum()


STANDARD = World()


def _rounded_shares(p) -> tuple[float, ...]:
    """Shares rounded to 4 digits that still sum to 1 (the last one takes the rounding)."""
    head = [float(round(x, 4)) for x in p[:-1]]
    return (*head, float(round(1.0 - sum(head), 10)))


def _dirichlet_near(rng: np.random.Generator, base, concentration: float) -> tuple[float, ...]:
    return _rounded_shares(rng.dirichlet(np.asarray(base, dtype=float) * concentration))


def draw_world(seed: int, voices: tuple[str, ...] | None = None) -> World:
    """A random city from ``seed`` (its own random stream, so the same seed always gives the same world).

    ``voices`` are the tip voices available besides the classic one (simulation.tipvoices);
    a world writes its tips in one to three of them."""
    rng = rng_for(seed, "world")
    u = rng.uniform
    # behaviour mix: sometimes one behaviour dominates (e.g. mostly under-declared generation)
    dominant = int(rng.integers(len(BEHAVIOUR_NAMES)))
    behaviour_x = np.exp(rng.normal(0, 0.6, len(BEHAVIOUR_NAMES)))
    if rng.random() < 0.5:
        behaviour_x[dominant] *= u(2.0, 5.0)
    mech = _dirichlet_near(rng, (0.3, 0.25, 0.2, 0.12, 0.13), 3.0)
    if rng.random() < 0.4:  # a city where waste mostly disappears before it reaches the ledger
        mech = (0.75, 0.08, 0.07, 0.05, 0.05)
    subtle = u(0.15, 0.65)
    obvious = u(0.05, 0.45) * (1 - subtle)
    strength_p = _rounded_shares((obvious, 1 - subtle - obvious, subtle))
    total_cases = float(np.exp(u(np.log(40), np.log(400))))  # concluded cases over the whole snapshot
    available = tuple(voices or ())
    chosen: list[tuple[str, float]] = []
    if available:
        k = int(rng.integers(1, min(3, len(available)) + 1))
        picks = rng.choice(len(available), size=k, replace=False)
        chosen = [(available[int(i)], float(round(u(0.5, 1.5), 3))) for i in sorted(picks)]
    if not chosen or rng.random() < 0.4:
        chosen.insert(0, (CLASSIC_VOICE, float(round(u(0.3, 1.0), 3))))
    return World(
        name=f"world-{seed}",
        prevalence_x=float(round(np.exp(u(np.log(0.6), np.log(2.2))), 4)),
        strength_p=strength_p,
        intensity_x=float(round(np.exp(u(np.log(0.5), np.log(1.6))), 4)),
        dumping_mechanism_p=mech,
        behaviour_x=tuple(float(round(x, 4)) for x in behaviour_x),
        chains_x=float(round(u(0.0, 2.0), 3)),
        cases_total=float(round(total_cases, 1)),
        selection_focus=float(round(u(0.0, 2.0), 3)),
        tip_case_x=float(round(np.exp(u(np.log(0.4), np.log(2.0))), 4)),
        detect_x=float(round(u(0.7, 1.15), 4)),
        false_confirm_p=float(round(u(0.0, 0.12), 4)),
        power_missing_p=float(round(u(0.001, 0.03), 4)),
        power_gap_months_p=float(round(u(0.0, 0.08), 4)),
        gps_outage_x=float(round(np.exp(u(np.log(0.5), np.log(4.0))), 4)),
        tip_x=float(round(np.exp(u(np.log(0.5), np.log(2.0))), 4)),
        tip_located_p=float(round(u(0.45, 0.97), 4)),
        tip_named_x=float(round(np.exp(u(np.log(0.3), np.log(3.0))), 4)),
        tip_callers_p=float(round(u(0.1, 0.6), 4)),
        tip_repeat_p=float(round(u(0.0, 0.25), 4)),
        noise_tips_x=float(round(np.exp(u(np.log(0.5), np.log(2.5))), 4)),
        voices=tuple(chosen),
    )
