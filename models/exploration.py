"""Exploration: a share of each lead list drawn from below the cut, with known inclusion probabilities.

The model only learns about what investigators visit. Reserving a few places in every list for
entries it does not rank highest keeps new kinds of violation reachable; because each explored
entry's inclusion probability is recorded, later labels can be re-weighted (1 / probability).

The draw is stratified: the pool just below the cut is split into as many equal strata as there
are exploration places, and one entry is drawn uniformly from each, so each pool entry's inclusion
probability is exactly 1 / (its stratum's size). The seed comes from the model version, snapshot
digest, as-of date and list kind: the same inputs give the same list, byte for byte.
"""

from __future__ import annotations

import hashlib
import math

import numpy as np
import pandas as pd

POOL_FACTOR = 5  # the pool holds this many times the list length below the cut


def exploration_seed(*parts: object) -> int:
    digest = hashlib.sha256("|".join(str(p) for p in parts).encode()).digest()
    return int.from_bytes(digest[:8], "big")


def order_with_exploration(ids: pd.Series, scores: pd.Series, k: int, share: float, seed: int) -> pd.DataFrame:
    """The list order: the top ``k - m`` by score, then ``m = round(share*k)`` explored entries, then the rest.

    Returns a frame (id, score, rank, exploration, inclusion_prob) sorted by rank; ties in score are
    broken by id so that the order is deterministic.
    """
    frame = pd.DataFrame({"id": ids.to_numpy(), "score": scores.to_numpy(dtype=float)})
    frame = frame.sort_values(["score", "id"], ascending=[False, True], kind="stable").reset_index(drop=True)
    n = len(frame)
    k = min(k, n)
    m = int(round(share * k)) if share > 0 else 0
    frame["exploration"] = False
    frame["inclusion_prob"] = 1.0
    if m == 0 or n <= k:
        frame["rank"] = np.arange(1, n + 1)
        return frame
    keep = k - m
    pool = np.arange(keep, min(n, keep + POOL_FACTOR * k))
    rng = np.random.default_rng(seed)
    strata = np.array_split(pool, m)
    picked = []
    for stratum in strata:
        j = int(rng.integers(len(stratum)))
        picked.append(stratum[j])
        frame.loc[stratum, "inclusion_prob"] = 1.0 / len(stratum)
    frame.loc[picked, "exploration"] = True
    rest_pool = np.setdiff1d(np.arange(keep, n), picked)
    order = np.concatenate([np.arange(keep), np.array(picked, dtype=int), rest_pool])
    frame = frame.iloc[order].reset_index(drop=True)
    frame["rank"] = np.arange(1, n + 1)
    return frame


def ipw(inclusion_prob: float) -> float:
    """Weight of a label learned from an explored entry."""
    return 1.0 / inclusion_prob if inclusion_prob and not math.isnan(inclusion_prob) else 1.0
