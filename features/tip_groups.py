"""Tips about one event: several callers, the same caller again, a post forwarded.

Two tips belong together when they report the same place within ``PLACE_DAYS`` days (their
places — coordinates, or a village or cave named in the words — within ``PLACE_M`` metres of each
other, each place's own uncertainty added), or when their words are mostly the same within
``TEXT_DAYS`` days (character 3-grams, Jaccard ``TEXT_JACCARD`` or more: a repeat or a forward),
or when they name the same enterprise within ``PLACE_DAYS`` days. Groups are the connected
components of these pairs; a group is named after its earliest tip.
"""

from __future__ import annotations

import numpy as np

from features.geo import haversine_m

PLACE_M = 3000.0
PLACE_DAYS = 14
TEXT_DAYS = 30
TEXT_JACCARD = 0.45


def _find(parent: np.ndarray, i: int) -> int:
    while parent[i] != i:
        parent[i] = parent[parent[i]]
        i = parent[i]
    return i


def trigrams(text) -> frozenset:
    t = "".join(ch for ch in str(text or "") if not ch.isspace())
    return frozenset(t[i:i + 3] for i in range(max(0, len(t) - 2)))


def jaccard(a: frozenset, b: frozenset) -> float:
    if not a or not b:
        return 0.0
    return len(a & b) / len(a | b)


def group_tips(times: np.ndarray, lat: np.ndarray, lon: np.ndarray, radius: np.ndarray, texts: list,
               named: list) -> np.ndarray:
    """Index of each tip's group (the position of its earliest member); tips in time order or not.

    ``lat``/``lon`` NaN where a tip has no place; ``radius`` the place's uncertainty (metres);
    ``named`` the enterprise ids each tip names (a set, possibly empty)."""
    n = len(times)
    parent = np.arange(n)
    if n == 0:
        return parent
    order = np.argsort(times, kind="stable")
    t = times[order].astype("datetime64[s]").astype(np.int64)
    grams = [trigrams(x) for x in texts]
    place_s, text_s = PLACE_DAYS * 86400, TEXT_DAYS * 86400
    # the distances from each tip to the later ones within PLACE_DAYS, one call per tip (not per pair)
    place_end = np.searchsorted(t, t + place_s, side="right")
    for a in range(n):
        i = order[a]
        near = None
        if np.isfinite(lat[i]) and place_end[a] > a + 1:
            js = order[a + 1:place_end[a]]
            near = haversine_m(lat[i], lon[i], lat[js], lon[js])
        b = a + 1
        while b < n and t[b] - t[a] <= text_s:
            j = order[b]
            dt = t[b] - t[a]
            same = False
            if dt <= place_s:
                if near is not None and np.isfinite(lat[j]):
                    d = float(near[b - a - 1])
                    same = d <= PLACE_M + max(0.0, radius[i] - 2000.0) + max(0.0, radius[j] - 2000.0)
                if not same and named[i] and named[j] and (named[i] & named[j]):
                    same = True
            if not same and jaccard(grams[i], grams[j]) >= TEXT_JACCARD:
                same = True
            if same:
                ri, rj = _find(parent, i), _find(parent, j)
                if ri != rj:
                    parent[max(ri, rj, key=lambda k: (times[k], k))] = min(ri, rj, key=lambda k: (times[k], k))
            b += 1
    return np.array([_find(parent, i) for i in range(n)])
