"""The stops known at an as-of date, cut from a ``StopIndex`` built once on the whole fix table.

``stops_as_of`` / ``stops_before`` give what ``detect_stops`` finds on the fixes before a cutoff;
``dark_stays`` the silent stays known then; ``restored_fixes`` the fixes a truncated table keeps
that the whole table drops as jumps. With ``since``, only the rows a chain of stays from ``since``
on depends on (``since_rows``). Building the index and detecting stops: ``features.trajectories``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from numba import njit

from features.grouped import worst_rows
from features.stops_kernel import stop_medians
from features.timeutil import cutoff
from features.trajectories import FixArrays, StopIndex, _frame, _scan


def stops_as_of(index: StopIndex, as_of, since: pd.Timestamp | None = None) -> pd.DataFrame:
    """The stops known at ``as_of``: what ``detect_stops`` (with ``index.params``) finds on
    ``clean_fixes`` of the fixes dated on or before ``as_of`` (before ``cutoff(as_of)``). With
    ``since``, see ``stops_before``."""
    return stops_before(index, cutoff(as_of), since)


def since_rows(vehicle: np.ndarray, start: np.ndarray, since: pd.Timestamp | None) -> np.ndarray | None:
    """Rows starting at ``since`` or later, and each vehicle's last row starting before (the latest;
    of equals, the later row): all a chain of stays from ``since`` on depends on. None: every row."""
    if since is None:
        return None
    start = np.asarray(start).astype("datetime64[ns]").view(np.int64)
    keep = start >= int(pd.Timestamp(since).as_unit("ns").value)
    if keep.all():
        return None
    n = keep.size  # the latest of each vehicle's earlier rows, of equals the later: the first backwards
    last = worst_rows(np.asarray(vehicle)[::-1], np.zeros(n), start[::-1], ~keep[::-1])
    keep[n - 1 - last] = True
    return keep


def _frame_since(since, vehicles, vehicle, start, *columns) -> pd.DataFrame:
    """``_frame`` of the rows ``since_rows`` keeps."""
    keep = since_rows(vehicle, start, since)
    if keep is not None:
        vehicle, start, columns = vehicle[keep], start[keep], [c[keep] for c in columns]
    return _frame(vehicles, vehicle, start, *columns)


def stops_before(index: StopIndex, when: pd.Timestamp, since: pd.Timestamp | None = None) -> pd.DataFrame:
    """The stops of the cleaned fixes strictly before ``when`` (local time), derived from the index:
    stops final before ``when`` are taken as they are; each vehicle's track after the last of them
    is scanned again, truncated at ``when``. With ``since``, only the stops ``since_rows`` keeps
    (what ``merge_stays(since=...)`` reads; an index on a Dask cluster gives them all)."""
    if not isinstance(index, StopIndex):  # an index kept on a Dask cluster (features.distributed)
        return index.stops_before(when)
    c = int(pd.Timestamp(when).as_unit("ns").value)
    a, p = index.fixes, index.params
    decided = index.final_ts < c
    starts, ends = a.vehicle_bounds()
    n_before = _count_before(a.ts, starts, ends, c)
    e = starts + n_before  # first cleaned fix at or after the cutoff, per vehicle
    # restart point: the vehicle's first fix, the last run start before the cutoff, after the last decided stop
    restart = starts.copy()
    rs = index.run_start
    k = np.searchsorted(rs, e, side="left") - 1  # last run start < e
    ok = k >= 0
    restart[ok] = np.maximum(restart[ok], np.minimum(rs[np.maximum(k[ok], 0)], e[ok]))
    dv = a.vehicle[index.lo[decided]]
    np.maximum.at(restart, dv, index.hi[decided] + 1)
    restart = np.minimum(restart, e)
    restore, extra = restored_fixes(index, c, n_before)
    lengths = e - restart
    tail_idx = _ranges(restart, lengths)
    tail = a.take(tail_idx)
    if restore.any():
        tail = FixArrays(np.concatenate([tail.vehicle, extra.vehicle]), np.concatenate([tail.ts, extra.ts]),
                         np.concatenate([tail.lat, extra.lat]), np.concatenate([tail.lon, extra.lon]), a.vehicles)
        order = np.lexsort((tail.ts, tail.vehicle))
        tail = tail.take(order)
    tlo, thi, _, _, _ = _scan(tail, p.max_diameter_m, p.min_duration_s, p.max_gap_s)
    tlat, tlon = stop_medians(tail.lat, tail.lon, tlo, thi)
    dlo, dhi = index.lo[decided], index.hi[decided]
    return _frame_since(since, a.vehicles,
                  np.concatenate([a.vehicle[dlo], tail.vehicle[tlo]]),
                  np.concatenate([a.ts[dlo], tail.ts[tlo]]),
                  np.concatenate([a.ts[dhi], tail.ts[thi]]),
                  np.concatenate([index.lat[decided], tlat]),
                  np.concatenate([index.lon[decided], tlon]),
                  np.concatenate([dhi - dlo + 1, thi - tlo + 1]))


def dark_stays(index: StopIndex, when: pd.Timestamp, since: pd.Timestamp | None = None) -> pd.DataFrame:
    """Silent stays known before ``when``: two consecutive fixes of a vehicle more than
    ``max_gap_s`` apart (so ``detect_stops`` splits there and sees no stop) yet within
    ``max_diameter_m`` of each other — the vehicle sat there with its terminal off. Same columns
    as the stops (n_fixes 2, centre the midpoint). Both fixes are before the cutoff, and a fix
    restored at the cutoff (see ``restored_fixes``) is an impossible jump, never within reach.
    With ``since``, as in ``stops_before``."""
    if not isinstance(index, StopIndex):  # an index kept on a Dask cluster (features.distributed)
        return index.dark_stays(when)
    c = int(pd.Timestamp(when).as_unit("ns").value)
    a = index.fixes
    i = index.dark[a.ts[index.dark + 1] < c] if index.dark.size else index.dark
    keep = since_rows(a.vehicle[i], a.ts[i], since)
    if keep is not None:
        i = i[keep]
    j = i + 1
    return _frame(a.vehicles, a.vehicle[i], a.ts[i], a.ts[j], (a.lat[i] + a.lat[j]) / 2, (a.lon[i] + a.lon[j]) / 2,
                  np.full(i.size, 2, dtype=np.int64))


def restored_fixes(index: StopIndex, c: int, n_before: np.ndarray | None = None) -> tuple[np.ndarray, FixArrays]:
    """Fixes the truncated table keeps that the whole table drops: a fix is dropped as a jump on
    the evidence of its next neighbour, so when that neighbour is at or after the cutoff ``c``
    (ns) the fix is the last one and stays. Returns a mask by vehicle code and those fixes."""
    a, j = index.fixes, index.jumps
    nv = len(a.vehicles)
    if n_before is None:
        starts, ends = a.vehicle_bounds()
        n_before = _count_before(a.ts, starts, ends, c)
    restore = np.zeros(nv, dtype=bool)
    if not len(j):
        return restore, j
    starts = a.vehicle_bounds()[0]
    jstarts, jends = j.vehicle_bounds()
    jn = _count_before(j.ts, jstarts, jends, c)
    has_j = jn > 0
    jlast = jstarts + jn - 1
    e = starts + n_before
    last_clean_ts = np.where(n_before > 0, a.ts[np.maximum(e - 1, 0)], np.iinfo(np.int64).min)
    restore[has_j] = j.ts[jlast[has_j]] > last_clean_ts[has_j]
    return restore, j.take(jlast[restore])


@njit(cache=True)
def _count_before(ts, starts, ends, c):
    out = np.zeros(starts.size, dtype=np.int64)
    for v in range(starts.size):
        out[v] = np.searchsorted(ts[starts[v]:ends[v]], c)
    return out


def _ranges(starts: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """Concatenated ``arange(s, s + n)`` for each (s, n)."""
    lengths = np.maximum(lengths, 0)
    total = int(lengths.sum())
    if total == 0:
        return np.empty(0, dtype=np.int64)
    offs = np.repeat(starts - np.cumsum(lengths) + lengths, lengths)
    return offs + np.arange(total)
