"""What building features at many as-of dates of one snapshot can share: ``AsOfCache``.

Training builds every feature table at dozens of monthly as-of dates of the same snapshot. Some
work does not depend on the date at all, or gives the same answer for every row that the dates
share; an ``AsOfCache`` (one per snapshot and stop index) keeps it between dates:

- ``power_months``: every month's power of every enterprise (``power.PowerMonths``), aggregated
  once; at an as-of date ``monthly_power`` cuts the months that ended by then from it, with the
  sums pandas would have given on the rows known then (it sums pairwise or compensated depending
  on the frame: both are kept), so the table is the plain path's to the bit.
- ``licence_cover``: for each manifest, whether the receiver's (and the carrier's) licence was
  valid on its day, and when a covering licence was first granted (``licences.LicenceCover``):
  its licence status at any date follows without matching the licences again.
- ``gazetteer``: the names a tip may use (places and enterprises: the whole snapshot's, as before).
- ``trip_gps``: each manifest trip's GPS evidence (``trips._trip_kernel``) by everything the kernel
  reads for it: the vehicle, departure, window end, whether receipt is known, and the receiver's
  position. A trip whose window closed before an earlier as-of date is not measured again. A
  trip that reads the as-of date's last restored fix (``stops_asof.restored_fixes``) is never
  kept: that fix depends on the date.

Values are identical with and without the cache (tests/test_features_incremental.py). The power
months cover the whole snapshot; each date keeps only the rows of months that ended on or before
it, so nothing dated after as_of reaches a feature.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

if TYPE_CHECKING:
    from features.power import PowerMonths

TRIP_KEY = ("vehicle", "t0", "t1", "received", "rlat_bits", "rlon_bits")
TRIP_RESULTS = ("n_fixes", "gap_max", "gap_at", "n_gaps", "path", "rmin")


@dataclass
class TripGpsMemo:
    """Kernel results by trip key (``TRIP_KEY``, int64 columns; floats by their bit pattern)."""

    index: pd.MultiIndex | None = None
    results: tuple[np.ndarray, ...] = ()

    def lookup(self, keys: np.ndarray) -> np.ndarray:
        """Row of each key in the memo, -1 where absent."""
        if self.index is None or len(keys) == 0:
            return np.full(len(keys), -1, dtype=np.int64)
        return self.index.get_indexer(_multi(keys))

    def add(self, keys: np.ndarray, results: tuple[np.ndarray, ...]) -> None:
        if len(keys) == 0:
            return
        new = _multi(keys)
        keep = ~new.duplicated()
        if self.index is not None:
            keep &= self.index.get_indexer(new) < 0
        if not keep.any():
            return
        new, results = new[keep], tuple(r[keep] for r in results)
        if self.index is None:
            self.index, self.results = new, results
        else:
            self.index = self.index.append(new)
            self.results = tuple(np.concatenate([a, b]) for a, b in zip(self.results, results, strict=True))

    def take(self, rows: np.ndarray) -> tuple[np.ndarray, ...]:
        return tuple(r[rows] for r in self.results)


def _multi(keys: np.ndarray) -> pd.MultiIndex:
    return pd.MultiIndex.from_arrays([keys[:, j] for j in range(keys.shape[1])], names=TRIP_KEY)


@dataclass
class AsOfCache:
    """Shared work for building one snapshot's features at many as-of dates (see the module doc).

    Pass the same cache to ``features.build.build`` for every date of one snapshot and one stop
    index; a cache used with another index starts its trip memo afresh."""

    power_months: PowerMonths | None = None
    _power_done: bool = field(default=False, repr=False)
    licence_cover: tuple | None = field(default=None, repr=False)
    gazetteer: object = field(default=None, repr=False)
    trip_index: object = field(default=None, repr=False)
    trip_gps: TripGpsMemo = field(default_factory=TripGpsMemo, repr=False)

    def power_of(self, electricity: pd.DataFrame) -> PowerMonths | None:
        """``power.PowerMonths`` of the snapshot's power table, computed on first use."""
        if not self._power_done:
            from features.power import PowerMonths

            self.power_months, self._power_done = PowerMonths.of(electricity), True
        return self.power_months

    def licences_of(self, manifests: pd.DataFrame, licences: pd.DataFrame) -> tuple:
        """``manifests.licence_cover`` of the snapshot's manifests, computed on first use."""
        if self.licence_cover is None:
            from features.manifests import licence_cover

            self.licence_cover = licence_cover(manifests, licences)
        return self.licence_cover

    def gazetteer_for(self, snapshot, make):
        """``make(snapshot)`` (the tips' gazetteer of place and enterprise names), made on first use."""
        if self.gazetteer is None:
            self.gazetteer = make(snapshot)
        return self.gazetteer

    def trips_for(self, index: object) -> TripGpsMemo:
        """The trip memo of stop index ``index`` (a new one if the cache last served another index)."""
        if self.trip_index is not index:
            self.trip_index, self.trip_gps = index, TripGpsMemo()
        return self.trip_gps
