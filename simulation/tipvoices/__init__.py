"""Independently written voices for Chinese tip texts (举报线索).

Each voice (`villager`, `elder`, `worker`, `anonymous`, `online`, `hotline`) has its own words,
sentence shapes, lengths and punctuation, written without reference to `simulation.tiptext` or to
each other, so that a text model trained on some voices can be tested on others. Every method
draws only from the `numpy.random.Generator` it is given.

    from simulation.tipvoices import VOICES, draw_voice
    voice = VOICES[draw_voice(rng, CHANNEL_WEIGHTS["12369"])]
    text = voice.event(rng, "water", fill, hour=23.5, md="3月5日", vehicle=True, plate="桂C12345")
"""

from __future__ import annotations

import numpy as np

from simulation.tipvoices import anonymous, elder, hotline, online, villager, worker
from simulation.tipvoices.base import FILL_KEYS, KINDS, NOISE_KINDS, Voice

VOICES: dict[str, Voice] = {v.name: v for v in (villager.VOICE, elder.VOICE, worker.VOICE, anonymous.VOICE,
                                                online.VOICE, hotline.VOICE)}

DEFAULT_WEIGHTS: dict[str, float] = {"villager": 0.25, "elder": 0.1, "worker": 0.1, "anonymous": 0.15,
                                     "online": 0.2, "hotline": 0.2}
# Who writes through which channel (a suggestion for the simulator; informant tips use `insider`).
CHANNEL_WEIGHTS: dict[str, dict[str, float]] = {
    "12369": {"hotline": 0.4, "villager": 0.25, "elder": 0.1, "anonymous": 0.15, "worker": 0.1},
    "110": {"hotline": 0.45, "villager": 0.3, "elder": 0.1, "worker": 0.1, "anonymous": 0.05},
    "online": {"online": 0.75, "anonymous": 0.1, "villager": 0.1, "worker": 0.05},
    "informant": {"worker": 0.45, "anonymous": 0.2, "villager": 0.1, "elder": 0.05, "online": 0.1, "hotline": 0.1},
}


def draw_voice(rng: np.random.Generator, weights: dict[str, float] | None = None) -> str:
    """A voice name drawn with `weights` (default `DEFAULT_WEIGHTS`); one draw from `rng`.

    Names are taken in sorted order, so the result does not depend on the order of `weights`.
    """
    w = DEFAULT_WEIGHTS if weights is None else weights
    unknown = sorted(set(w) - set(VOICES))
    if unknown:
        raise ValueError(f"weights: unknown voice {', '.join(unknown)} (known: {', '.join(sorted(VOICES))})")
    names = sorted(w)
    p = np.array([float(w[n]) for n in names])
    if not len(p) or (p < 0).any() or not np.isfinite(p).all() or p.sum() <= 0:
        raise ValueError(f"weights: need non-negative finite weights with a positive sum, got {w!r}")
    cum = np.cumsum(p / p.sum())
    return names[min(int(np.searchsorted(cum, rng.random(), side="right")), len(names) - 1)]


__all__ = ["CHANNEL_WEIGHTS", "DEFAULT_WEIGHTS", "FILL_KEYS", "KINDS", "NOISE_KINDS", "VOICES", "Voice", "draw_voice"]
