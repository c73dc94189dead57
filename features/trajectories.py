"""GPS fixes → clean tracks → stops (DATA_CONTRACT.md §5), once for the whole table and at any as-of date.

Public and stable: ``clean_fixes`` and ``detect_stops``. ``StopIndex.build`` detects the stops of a
whole snapshot once; ``stops_as_of`` derives from it, exactly, the stops that ``detect_stops``
would find on the cleaned fixes dated before ``cutoff(as_of)`` (tests prove the equality).

Times are datetime64[ns] local time (Asia/Shanghai, zone-free) as the loader gives them;
distances are metres, durations seconds.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from features.fix_kernels import code_presence, compact, jumps_at, run_starts
from features.fix_sort import group_sort
from features.fix_threads import (
    arrow_text,
    first_of_repeats_threaded,
    gather_threaded,
    jumps_threaded,
    medians_threaded,
    sorted_codes_threaded,
    valid_rows_threaded,
)
from features.geo import haversine_m
from features.stops_kernel import stop_medians
from features.stops_threads import scan_stops_threaded, threads_for

NS = 1_000_000_000

STOP_COLUMNS = ["vehicle_id", "start", "end", "lat", "lon", "n_fixes"]


@dataclass(frozen=True)
class StopParams:
    """Stop detection for waste trucks: a stop stays within ``max_diameter_m`` for at least
    ``min_duration_s``; a GPS gap longer than ``max_gap_s`` ends any run (engine off, terminal off)."""

    max_diameter_m: float = 100.0
    min_duration_s: float = 300.0
    max_gap_s: float | None = 1800.0


TRUCK_STOPS = StopParams()
MAX_SPEED_KMH = 150.0  # faster than any loaded truck on the region's roads
MIN_JUMP_M = 100.0  # below this a "jump" is GPS jitter, not an impossible move


@dataclass
class CleanReport:
    fixes_in: int = 0
    invalid_positions: int = 0  # missing, out of range, or (0, 0)
    duplicates: int = 0  # same vehicle and time as an earlier row (the first is kept)
    jumps: int = 0  # fixes implying > MAX_SPEED_KMH from both neighbours
    fixes_out: int = 0


@dataclass
class FixArrays:
    """Fixes as columns, sorted by (vehicle, ts), one fix per (vehicle, ts)."""

    vehicle: np.ndarray  # int32 codes into ``vehicles``; codes follow sorted ids
    ts: np.ndarray  # int64 ns, local time
    lat: np.ndarray
    lon: np.ndarray
    vehicles: np.ndarray  # object array of vehicle ids, sorted
    rows: np.ndarray = field(default_factory=lambda: np.empty(0, dtype=np.int64))  # input row of each fix

    def __len__(self) -> int:
        return int(self.ts.size)

    def take(self, idx: np.ndarray) -> FixArrays:
        return FixArrays(self.vehicle[idx], self.ts[idx], self.lat[idx], self.lon[idx], self.vehicles,
                         self.rows[idx] if self.rows.size else self.rows)

    def vehicle_bounds(self) -> tuple[np.ndarray, np.ndarray]:
        """First and one-past-last fix of each vehicle code (empty ranges for absent vehicles).

        Computed once per object (two binary searches over every fix add up at city scale). The
        codes searched for have the fixes' own dtype: int64 codes would make NumPy cast every fix's
        int32 code first (a copy of the column, ten times the searches' own time)."""
        cached = self.__dict__.get("_bounds")
        if cached is None:
            dtype = self.vehicle.dtype
            if dtype.kind not in "iu" or np.iinfo(dtype).max < len(self.vehicles):
                dtype = np.dtype(np.int64)
            codes = np.arange(len(self.vehicles), dtype=dtype)
            cached = (np.searchsorted(self.vehicle, codes, side="left"), np.searchsorted(self.vehicle, codes, side="right"))
            self.__dict__["_bounds"] = cached
        return cached


def _ts_ns(values: pd.Series) -> np.ndarray:
    if values.dtype == np.dtype("datetime64[ns]"):  # the loader's: no copy (0.09 s on the city)
        return values.to_numpy().view("int64")
    ts = pd.to_datetime(values)
    if getattr(ts.dt, "tz", None) is not None:
        ts = ts.dt.tz_convert("Asia/Shanghai").dt.tz_localize(None)
    return ts.astype("datetime64[ns]").to_numpy().view("int64")


def _columns(fixes: pd.DataFrame, threads: int | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Vehicle codes (int32, -1 where missing; codes follow sorted ids), the vehicle ids, ts (int64
    ns), lat and lon of ``fixes``, in row order. Text ids held by Arrow are coded in up to
    ``threads`` threads (``fix_threads.sorted_codes_threaded``)."""
    codes, vehicles = text_codes(fixes["vehicle_id"], threads)
    ts = _ts_ns(fixes["ts"]) if len(fixes) else np.empty(0, dtype=np.int64)
    lat = fixes["lat"].to_numpy(dtype="float64", na_value=np.nan)
    lon = fixes["lon"].to_numpy(dtype="float64", na_value=np.nan)
    return codes, vehicles, ts, lat, lon


@dataclass
class _Ordered:
    """The valid fixes in (vehicle, ts) order, the first of equal (vehicle, ts) kept: ``at``, their
    positions (increasing) in the columns ``codes, ts, lat, lon`` (the input columns when the input
    was already in order, else a sorted copy); ``row``, the input row of each position (``None``:
    the position is the row); and the counts of invalid and repeated rows."""

    at: np.ndarray
    row: np.ndarray | None
    codes: np.ndarray
    ts: np.ndarray
    lat: np.ndarray
    lon: np.ndarray
    invalid: int
    duplicates: int

    def input_rows(self, at: np.ndarray) -> np.ndarray:
        return at if self.row is None else self.row[at]

    def kept(self, drop: np.ndarray, threads: int | None = None) -> tuple[np.ndarray, ...]:
        """Input rows, codes, ts, lat, lon of the fixes at ``at`` where ``drop`` is false (``drop``
        empty: all of them), gathered in up to ``threads`` threads (``features.fix_threads``). A
        sorted copy is compacted in place (no second copy); call once."""
        if self.row is None:
            return gather_threaded(self.at, drop, self.codes, self.ts, self.lat, self.lon, threads)
        m = compact(self.at, drop, self.row, self.codes, self.ts, self.lat, self.lon)
        return self.row[:m], self.codes[:m], self.ts[:m], self.lat[:m], self.lon[:m]


def _ordered(codes: np.ndarray, ts: np.ndarray, lat: np.ndarray, lon: np.ndarray, n_vehicles: int,
             drop_zero: bool, threads: int | None = None) -> _Ordered:
    """The valid fixes in (vehicle, ts) order (see ``_Ordered``). Input already in order (the
    loader's) is not sorted; other input is sorted by vehicle and then by time within each vehicle
    (``features.fix_sort``, in up to ``threads`` threads), stable, so the first of equal rows stays first."""
    rows, in_order = valid_rows_threaded(codes, ts, lat, lon, drop_zero, threads)
    invalid = int(codes.size - rows.size)
    row = None
    if not in_order:
        row, codes, ts, lat, lon = group_sort(rows, codes, ts, lat, lon, n_vehicles, threads_for(rows.size, threads))
        rows = np.arange(row.size)
    kept = first_of_repeats_threaded(rows, codes, ts, threads)
    return _Ordered(rows[:kept], row, codes, ts, lat, lon, invalid, int(rows.size - kept))


def fix_arrays(fixes: pd.DataFrame, drop_zero: bool = False) -> tuple[FixArrays, int, int]:
    """Columns of ``fixes`` sorted by (vehicle, ts) with repeats of (vehicle, ts) dropped (the
    first row kept). Rows with a missing value are dropped, and with ``drop_zero`` also positions
    out of range or at (0, 0). Returns the arrays, the invalid count and the duplicate count."""
    codes, vehicles, ts, lat, lon = _columns(fixes)
    o = _ordered(codes, ts, lat, lon, len(vehicles), drop_zero)
    r, c, t, la, lo = o.kept(np.zeros(0, dtype=bool))
    return FixArrays(c, t, la, lo, vehicles, r), o.invalid, o.duplicates


def clean_arrays(fixes: pd.DataFrame, max_speed_kmh: float = MAX_SPEED_KMH,
                 min_jump_m: float = MIN_JUMP_M, threads: int | None = None) -> tuple[FixArrays, FixArrays, CleanReport]:
    """``clean_fixes`` as columns: the kept fixes, the fixes dropped as impossible jumps (both in
    (vehicle, ts) order) and the report. The columns are read once and gathered once (in up to
    ``threads`` threads)."""
    rep = CleanReport(fixes_in=len(fixes))
    codes, vehicles, ts, lat, lon = _columns(fixes, threads)
    o = _ordered(codes, ts, lat, lon, len(vehicles), True, threads)
    rep.invalid_positions, rep.duplicates = o.invalid, o.duplicates
    jumps = jumps_threaded(o.at, o.codes, o.ts, o.lat, o.lon, max_speed_kmh / 3.6, float(min_jump_m), threads)
    rep.jumps = int(jumps.sum())
    j = o.at[jumps]
    dropped = FixArrays(o.codes[j], o.ts[j], o.lat[j], o.lon[j], vehicles, o.input_rows(j))
    r, c, t, la, lo = o.kept(jumps, threads)
    rep.fixes_out = int(r.size)
    return FixArrays(c, t, la, lo, vehicles, r), dropped, rep


def text_codes(values: pd.Series, threads: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Int32 codes of an id column (-1 where missing) following its distinct ids as text, sorted,
    and those ids: a categorical's codes renumbered, text held by Arrow coded in up to ``threads``
    threads (``fix_threads.sorted_codes_threaded``), anything else through ``pd.factorize``."""
    if isinstance(values.dtype, pd.CategoricalDtype):
        return _category_codes(values)
    text = arrow_text(values)
    if text is not None:
        return sorted_codes_threaded(text, threads)
    codes, uniques = pd.factorize(values.astype(str).where(values.notna()), sort=True)
    return codes.astype(np.int32), np.asarray(uniques, dtype=object)


def _category_codes(vid: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """Codes of a categorical vehicle column renumbered to follow the sorted ids of the vehicles
    present (-1 where missing), and those ids. Counting the codes is much cheaper than
    ``remove_unused_categories`` (which rewrites the column)."""
    raw = vid.cat.codes.to_numpy()
    cats = np.asarray(vid.cat.categories, dtype=object).astype(str)
    present = np.flatnonzero(code_presence(raw, len(cats)))
    order = np.argsort(cats[present], kind="stable")
    if present.size == len(cats) and np.array_equal(order, np.arange(order.size)):
        return raw.astype(np.int32), cats  # -1 stays -1
    remap = np.full(len(cats) + 1, -1, dtype=np.int32)  # the last slot answers code -1
    remap[present[order]] = np.arange(present.size, dtype=np.int32)
    return remap[raw], cats[present[order]]


def jump_mask(a: FixArrays, max_speed_kmh: float = MAX_SPEED_KMH, min_jump_m: float = MIN_JUMP_M) -> np.ndarray:
    """Fixes that are physically impossible: more than ``max_speed_kmh`` and ``min_jump_m`` away
    from BOTH the previous and the next fix of the same vehicle. First and last fixes of a vehicle
    have one neighbour and are kept, so the decision for a fix never needs a later neighbour than
    the next one (see ``stops_as_of``)."""
    return jumps_at(np.arange(len(a)), a.vehicle, a.ts, a.lat, a.lon, max_speed_kmh / 3.6, float(min_jump_m))


def clean_fixes(fixes: pd.DataFrame, max_speed_kmh: float = MAX_SPEED_KMH,
                min_jump_m: float = MIN_JUMP_M) -> tuple[pd.DataFrame, CleanReport]:
    """Sort by (vehicle_id, ts), drop repeats of (vehicle, ts) (the first row is kept), positions
    that are missing, out of range or (0, 0), and single-fix impossible jumps (see ``jump_mask``).
    Returns the remaining rows (all columns, new index) and the counts of what was dropped."""
    a, _, rep = clean_arrays(fixes, max_speed_kmh, min_jump_m)
    return fixes.iloc[a.rows].reset_index(drop=True), rep


def run_bounds(vehicle: np.ndarray, ts: np.ndarray, max_gap_s: float | None) -> tuple[np.ndarray, np.ndarray]:
    """Start and end (exclusive) of each run: a vehicle's fixes, cut where consecutive fixes are
    more than ``max_gap_s`` apart (``features.fix_kernels.run_starts``)."""
    starts = run_starts(vehicle, ts, -1 if max_gap_s is None else int(round(max_gap_s * NS)))
    return starts, np.append(starts[1:], ts.size).astype(np.int64)


def _scan(a: FixArrays, max_diameter_m: float, min_duration_s: float, max_gap_s: float | None,
          threads: int | None = None):
    starts, ends = run_bounds(a.vehicle, a.ts, max_gap_s)
    lo, hi, close = scan_stops_threaded(a.lat, a.lon, a.ts, starts, ends, float(max_diameter_m),
                                        int(round(min_duration_s * NS)), threads)
    return lo, hi, close, starts, ends


def vehicle_order(vehicle: np.ndarray, start: np.ndarray) -> np.ndarray | slice:
    """The rows by (vehicle, start), ties in input order: ``np.lexsort``'s, or all of them as they
    are when already in that order (a stop index's stops are: it scans the fixes so ordered)."""
    if vehicle.size < 2:
        return slice(None)
    dv = np.diff(vehicle)
    if (dv >= 0).all() and (np.diff(start)[dv == 0] >= 0).all():
        return slice(None)
    return np.lexsort((start, vehicle))


def _frame(vehicles: np.ndarray, vehicle: np.ndarray, start: np.ndarray, end: np.ndarray,
           lat: np.ndarray, lon: np.ndarray, n: np.ndarray) -> pd.DataFrame:
    order = vehicle_order(vehicle, start)
    return pd.DataFrame({
        # the few names converted once and taken by code: not a string object per stop at each as-of date
        "vehicle_id": pd.Series(pd.array(vehicles, dtype="str").take(vehicle[order])),
        "start": pd.Series(start[order].astype("datetime64[ns]")),
        "end": pd.Series(end[order].astype("datetime64[ns]")),
        "lat": lat[order].astype("float64"),
        "lon": lon[order].astype("float64"),
        "n_fixes": n[order].astype("int64"),
    })


def stops_from_arrays(a: FixArrays, max_diameter_m: float, min_duration_s: float,
                      max_gap_s: float | None = None) -> pd.DataFrame:
    """``detect_stops`` on fixes already sorted and de-duplicated."""
    lo, hi, _, _, _ = _scan(a, max_diameter_m, min_duration_s, max_gap_s)
    mlat, mlon = stop_medians(a.lat, a.lon, lo, hi)
    return _frame(a.vehicles, a.vehicle[lo], a.ts[lo], a.ts[hi], mlat, mlon, hi - lo + 1)


def detect_stops(fixes: pd.DataFrame, max_diameter_m: float, min_duration_s: float,
                 max_gap_s: float | None = None) -> pd.DataFrame:
    """Stops of each vehicle: one row per stop with ``vehicle_id, start, end, lat, lon, n_fixes``
    (``lat, lon`` the median of the stop's fixes; ``start``/``end`` its first and last fix time).

    ``fixes`` has columns ``vehicle_id, ts, lat, lon`` in any row order; rows repeating a
    (vehicle, ts) are dropped (the first kept), rows with a missing value ignored. With
    ``max_gap_s=None`` a stop is exactly what MovingPandas 0.23's ``TrajectoryStopDetector``
    finds with ``max_diameter`` (metres, geodesic diagonal of the minimum rotated rectangle) and
    ``min_duration`` (seconds); with ``max_gap_s`` set a run also ends wherever consecutive fixes
    are more than ``max_gap_s`` seconds apart. Rows are ordered by vehicle_id, then start.
    """
    a, _, _ = fix_arrays(fixes)
    return stops_from_arrays(a, max_diameter_m, min_duration_s, max_gap_s)


@dataclass
class StopIndex:
    """Stops of a whole fix table, detected once, with what ``stops_asof.stops_as_of`` needs to cut them at
    any date: for each stop the time it became final (the fix that closed it, the first fix of
    the next run, or the vehicle's last fix) and where detection may safely restart."""

    params: StopParams
    fixes: FixArrays  # cleaned
    jumps: FixArrays  # fixes dropped as impossible jumps
    report: CleanReport
    lo: np.ndarray
    hi: np.ndarray
    final_ts: np.ndarray  # int64 ns: the stop is the same for every cutoff after this time
    lat: np.ndarray
    lon: np.ndarray
    run_start: np.ndarray  # first fix of each run (sorted)
    last_valid_ts: np.ndarray  # per vehicle code: latest valid fix, cleaned or dropped as a jump
    dark: np.ndarray = field(default_factory=lambda: np.empty(0, dtype=np.int64))  # see ``stops_asof.dark_stays``

    @classmethod
    def build(cls, fixes: pd.DataFrame, params: StopParams = TRUCK_STOPS, threads: int | None = None) -> StopIndex:
        """Clean ``fixes`` (see ``clean_fixes``) and detect all their stops with ``params``, the scan
        in ``threads`` threads (default: see ``features.stops_threads.scan_threads``), as are
        gathering the kept fixes and the stops' medians (``features.fix_threads``)."""
        a, dropped, rep = clean_arrays(fixes, threads=threads)
        lo, hi, close, starts, ends = _scan(a, params.max_diameter_m, params.min_duration_s, params.max_gap_s, threads)
        last_valid = _last_ts(a, dropped)
        # closed by a fix: that fix's time; closed by the end of a run: the next run's first fix of
        # the same vehicle, or else (the vehicle's last run) the vehicle's last valid fix.
        nxt = hi + 1
        has_next = nxt < len(a)
        same_vehicle_next = np.zeros(lo.size, dtype=bool)
        same_vehicle_next[has_next] = a.vehicle[nxt[has_next]] == a.vehicle[lo[has_next]]
        final_ts = np.where(close >= 0, a.ts[np.maximum(close, 0)], 0)
        run_end = close < 0
        by_next_run = run_end & same_vehicle_next
        final_ts[by_next_run] = a.ts[nxt[by_next_run]]
        by_vehicle_end = run_end & ~same_vehicle_next
        final_ts[by_vehicle_end] = last_valid[a.vehicle[lo[by_vehicle_end]]]
        mlat, mlon = medians_threaded(a.lat, a.lon, lo, hi, threads)
        return cls(params, a, dropped, rep, lo, hi, final_ts, mlat, mlon, starts, last_valid,
                   _dark_pairs(a, params, starts))

    @classmethod
    def merge(cls, parts: list[StopIndex]) -> StopIndex:
        """One index from indexes built on disjoint sets of vehicles (for example by Dask workers,
        one partition of vehicles each): the same as building it on all the fixes at once."""
        if not parts:
            raise ValueError("merge needs at least one StopIndex")
        params = parts[0].params
        if any(p.params != params for p in parts):
            raise ValueError("cannot merge stop indexes built with different parameters")
        vehicles = np.concatenate([p.fixes.vehicles for p in parts])
        if len(np.unique(vehicles)) != len(vehicles):
            raise ValueError("stop indexes to merge must cover disjoint vehicles")
        vehicles = np.sort(vehicles)
        remap = [np.searchsorted(vehicles, p.fixes.vehicles).astype(np.int32) for p in parts]

        def joined(arrays: list[FixArrays]) -> tuple[FixArrays, np.ndarray]:
            code = np.concatenate([r[a.vehicle] for r, a in zip(remap, arrays, strict=True)]).astype(np.int32)
            order = np.argsort(code, kind="stable")  # each vehicle's fixes stay in time order
            inv = np.empty_like(order)
            inv[order] = np.arange(order.size)
            cat = FixArrays(code, np.concatenate([a.ts for a in arrays]), np.concatenate([a.lat for a in arrays]),
                            np.concatenate([a.lon for a in arrays]), vehicles)
            return cat.take(order), inv

        fixes, inv = joined([p.fixes for p in parts])
        jumps, _ = joined([p.jumps for p in parts])
        offsets = np.cumsum([0] + [len(p.fixes) for p in parts[:-1]])
        lo = np.concatenate([inv[p.lo + o] for p, o in zip(parts, offsets, strict=True)])
        hi = np.concatenate([inv[p.hi + o] for p, o in zip(parts, offsets, strict=True)])
        run_start = np.sort(np.concatenate([inv[p.run_start + o] for p, o in zip(parts, offsets, strict=True)]))
        last_valid = np.full(len(vehicles), np.iinfo(np.int64).min, dtype=np.int64)
        for r, p in zip(remap, parts, strict=True):
            last_valid[r] = p.last_valid_ts
        rep = CleanReport(*(sum(getattr(p.report, f) for p in parts) for f in
                            ("fixes_in", "invalid_positions", "duplicates", "jumps", "fixes_out")))
        dark = np.sort(np.concatenate([inv[p.dark + o] for p, o in zip(parts, offsets, strict=True)]))
        return cls(params, fixes, jumps, rep, lo, hi, np.concatenate([p.final_ts for p in parts]),
                   np.concatenate([p.lat for p in parts]), np.concatenate([p.lon for p in parts]), run_start, last_valid,
                   dark)

    @property
    def stops(self) -> pd.DataFrame:
        """Every stop of the whole table (as ``detect_stops`` gives them on the cleaned fixes)."""
        a = self.fixes
        return _frame(a.vehicles, a.vehicle[self.lo], a.ts[self.lo], a.ts[self.hi], self.lat, self.lon,
                      self.hi - self.lo + 1)


def _last_ts(*tracks: FixArrays) -> np.ndarray:
    """Per vehicle code: the latest fix time in any of ``tracks`` (each sorted by (vehicle, ts),
    over the same vehicles), the int64 minimum for a vehicle with no fix."""
    last = np.full(len(tracks[0].vehicles), np.iinfo(np.int64).min, dtype=np.int64)
    for f in tracks:
        starts, ends = f.vehicle_bounds()
        has = ends > starts
        last[has] = np.maximum(last[has], f.ts[ends[has] - 1])
    return last


def _dark_pairs(a: FixArrays, params: StopParams, starts: np.ndarray) -> np.ndarray:
    """Fixes i such that fix i+1 (same vehicle) came more than ``max_gap_s`` later within
    ``max_diameter_m``: the vehicle stayed put with its terminal silent. ``starts``: the run starts
    of ``a`` with ``params.max_gap_s`` (``run_bounds``), where every such i + 1 is, so only the runs
    are looked at, not every fix."""
    if params.max_gap_s is None or len(a) < 2:
        return np.empty(0, dtype=np.int64)
    nxt = starts[starts > 0]
    i = nxt[a.vehicle[nxt] == a.vehicle[nxt - 1]] - 1  # a run cut by a gap, not by a new vehicle
    d = haversine_m(a.lat[i], a.lon[i], a.lat[i + 1], a.lon[i + 1])
    return i[d <= params.max_diameter_m]
