"""Trajectory evidence on a Dask cluster: the stop index split by vehicle and left on the workers.

``ClusterStopIndex`` stands in for ``StopIndex`` wherever features are built: ``stops_before``,
``dark_stays`` and the per-manifest GPS evidence of ``trip_table`` run on the workers, one task
per vehicle group, and only their results (stops, trip columns: small) come back to the client.
Every vehicle's fixes live in exactly one group, and everything computed from fixes is computed
per vehicle, so the results are those of one ``StopIndex`` over all the fixes (tests prove it).

Two ways in: ``cluster_stop_index(snapshot, client)`` splits a snapshot whose fixes are in memory
(``build(..., engine="dask")``); ``ClusterFixes.stop_index`` builds it from fixes that were
validated on the workers and never came to the client (``load_snapshot(..., trajectories="cluster")``,
see ``features.distributed_loader``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from features.stops_asof import dark_stays, stops_before
from features.trajectories import TRUCK_STOPS, CleanReport, StopIndex, StopParams

GPS_COLUMNS = ["has_gps", "n_fixes", "gps_gap_max_h", "gps_gaps_over_10min", "path_km", "receiver_min_m", "gps_gap_at"]


WAIT_FOR_WORKERS_S = 60.0


def worker_addresses(client, wait_s: float = WAIT_FOR_WORKERS_S) -> list[str]:
    """The addresses of the cluster's workers, sorted. With none registered (a cluster still
    starting, or workers that missed their heartbeats on a busy machine and are reconnecting) it
    waits up to ``wait_s`` seconds for one before answering; then raises ``RuntimeError``."""
    workers = sorted(client.scheduler_info().get("workers", {}))
    if workers:
        return workers
    try:
        client.wait_for_workers(1, timeout=wait_s)
    except TimeoutError:
        raise RuntimeError(f"the Dask cluster has no workers (waited {wait_s:.0f} s)") from None
    workers = sorted(client.scheduler_info().get("workers", {}))
    if not workers:
        raise RuntimeError("the Dask cluster has no workers")
    return workers


def n_workers(client) -> int:
    return len(worker_addresses(client))


def vehicle_groups(ids, k: int) -> list[np.ndarray]:
    """``ids`` sorted and cut into at most ``k`` contiguous runs of about equal size (never empty,
    at least one group). Contiguous runs keep every per-group result in the order of the whole."""
    ids = np.sort(np.asarray(pd.Index(ids).dropna().unique().astype("str"), dtype=object))
    if not len(ids):
        return [ids]
    return [g for g in np.array_split(ids, min(max(k, 1), len(ids))) if len(g)]


# ---------------------------------------------------------------------------------------------
# what runs on a worker (module-level functions: they are pickled by reference)


def _build_part(fixes: pd.DataFrame, params: StopParams) -> StopIndex:
    from features.driving_track import attach_fix_attributes

    index = StopIndex.build(fixes, params)
    attach_fix_attributes(index, fixes)  # reported speed and driver, read by input row before the rows go
    empty = np.empty(0, dtype=np.int64)
    index.fixes.rows = empty  # input row numbers: not needed once cleaned (8 bytes a fix)
    index.jumps.rows = empty
    return index


def _array_bytes(obj, depth: int = 2) -> int:
    """Bytes of the NumPy arrays an object holds (its attributes, and theirs, ``depth`` deep)."""
    if isinstance(obj, np.ndarray):
        return int(obj.nbytes)
    if depth == 0 or not hasattr(obj, "__dict__"):
        return 0
    return sum(_array_bytes(v, depth - 1) for v in vars(obj).values())


try:  # what Dask counts for a worker's index parts (its default for an object: a few bytes)
    from dask.sizeof import sizeof as _dask_sizeof

    _dask_sizeof.register(StopIndex)(_array_bytes)
except ImportError:  # Dask is optional: without it there is no cluster to report to
    pass


def _vehicles(index: StopIndex) -> np.ndarray:
    return np.asarray(index.fixes.vehicles, dtype=object)


def _report(index: StopIndex) -> CleanReport:
    return index.report


def _stops_before(index: StopIndex, when: pd.Timestamp) -> pd.DataFrame:
    return stops_before(index, when)


def _dark_stays(index: StopIndex, when: pd.Timestamp) -> pd.DataFrame:
    return dark_stays(index, when)


def _all_stops(index: StopIndex) -> pd.DataFrame:
    return index.stops


def _gps_part(index: StopIndex, trips: pd.DataFrame, rlat: np.ndarray, rlon: np.ndarray, c: int,
              received: np.ndarray) -> pd.DataFrame:
    from features.trips import _gps_evidence

    trips = trips.copy()
    _gps_evidence(trips, index, rlat, rlon, c, received)
    return trips[GPS_COLUMNS]


def _driving_part(index: StopIndex, places, params, trips: pd.DataFrame, c: int, w0: int):
    from features.driving_track import track, vehicle_events

    attrs = index.__dict__["_driving_attrs"]  # attached by _build_part
    return vehicle_events(track(index, attrs, c, w0), places, params, trips, c)


# ---------------------------------------------------------------------------------------------


@dataclass
class ClusterStopIndex:
    """A ``StopIndex`` in parts, one per vehicle group, each held by a Dask worker (``parts`` are
    futures). Groups are contiguous runs of sorted vehicle ids, in order."""

    params: StopParams
    client: Any
    parts: list
    vehicles: list[np.ndarray]  # the vehicle ids of each part
    report: CleanReport = field(default_factory=CleanReport)

    @classmethod
    def from_parts(cls, client, parts: list, params: StopParams) -> ClusterStopIndex:
        """Wrap futures of ``StopIndex`` parts (built on disjoint vehicle groups, in vehicle order)."""
        vehicles = client.gather([client.submit(_vehicles, p, pure=False) for p in parts])
        reports = client.gather([client.submit(_report, p, pure=False) for p in parts])
        report = CleanReport(*(sum(getattr(r, f) for r in reports) for f in
                               ("fixes_in", "invalid_positions", "duplicates", "jumps", "fixes_out")))
        return cls(params, client, list(parts), vehicles, report)

    def _each(self, fn, *args) -> list:
        futures = [self.client.submit(fn, p, *args, pure=False) for p in self.parts]
        return self.client.gather(futures)

    @staticmethod
    def _joined(frames: list[pd.DataFrame]) -> pd.DataFrame:
        # parts are contiguous vehicle runs in order, each sorted by (vehicle, start): so is the whole
        return pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0]

    def stops_before(self, when: pd.Timestamp) -> pd.DataFrame:
        """``features.stops_asof.stops_before`` on every part, joined."""
        return self._joined(self._each(_stops_before, pd.Timestamp(when)))

    def dark_stays(self, when: pd.Timestamp) -> pd.DataFrame:
        return self._joined(self._each(_dark_stays, pd.Timestamp(when)))

    @property
    def stops(self) -> pd.DataFrame:
        """Every stop of the whole table, as ``StopIndex.stops``."""
        return self._joined(self._each(_all_stops))

    def driving(self, places, params, trips: pd.DataFrame, c: int, w0: int) -> tuple[pd.DataFrame, pd.DataFrame]:
        """``driving_track.vehicle_events`` on every part (with the manifests of its vehicles): the
        events and driving spells of all vehicles, joined (fatigue is then found on the client)."""
        futures = []
        for k, remote in enumerate(self.parts):
            mine = trips[trips["vehicle_id"].astype("str").isin(self.vehicles[k])]
            futures.append(self.client.submit(_driving_part, remote, places, params, mine, c, w0, pure=False))
        results = self.client.gather(futures)
        events = [e for e, _ in results if len(e)]
        spells = [s for _, s in results if len(s)]
        return (pd.concat(events, ignore_index=True) if events else results[0][0],
                pd.concat(spells, ignore_index=True) if spells else results[0][1])

    def gps_evidence(self, t: pd.DataFrame, rlat: np.ndarray, rlon: np.ndarray, c: int, received: np.ndarray) -> None:
        """``trips._gps_evidence`` with the fixes on the workers: each part gets the trips of its
        vehicles (and only the columns the scan reads); trips of vehicles without fixes keep the
        no-GPS defaults."""
        from features.trips import _gps_evidence

        _gps_evidence(t, None, rlat, rlon, c, received)  # the defaults: no fixes
        ids = pd.Index(np.concatenate(self.vehicles) if self.vehicles else [], dtype="str")
        part_of = np.repeat(np.arange(len(self.vehicles)), [len(v) for v in self.vehicles])
        code = ids.get_indexer(t["vehicle_id"].astype("str"))
        part = np.where(code >= 0, part_of[np.maximum(code, 0)] if len(part_of) else -1, -1)
        cols = t[["vehicle_id", "departed_at", "window_end"]]
        picks, futures = [], []
        for k, remote in enumerate(self.parts):
            sel = np.flatnonzero(part == k)
            if not sel.size:
                continue
            picks.append(sel)
            futures.append(self.client.submit(_gps_part, remote, cols.iloc[sel], rlat[sel], rlon[sel], c, received[sel],
                                              pure=False))
        for sel, res in zip(picks, self.client.gather(futures), strict=True):
            for col in GPS_COLUMNS:
                values = t[col].to_numpy().copy()
                values[sel] = res[col].to_numpy()
                t[col] = values


def cluster_stop_index(snapshot, client, params: StopParams = TRUCK_STOPS, partitions: int | None = None) -> ClusterStopIndex:
    """The snapshot's stop index on the cluster, split by vehicle (default: two groups per worker).

    Fixes already on the cluster (``ClusterFixes``) stay there; fixes in memory are split into
    vehicle groups and sent to the workers."""
    fixes = snapshot.trajectories
    if not isinstance(fixes, pd.DataFrame):
        return fixes.stop_index(params)
    if client is None:
        raise ValueError("engine='dask' needs a Dask client (dask_client=...)")
    vid = fixes["vehicle_id"].astype("str")
    groups = vehicle_groups(vid.unique(), partitions or 2 * n_workers(client))
    data = [fixes[vid.isin(g).to_numpy()] for g in groups]
    parts = [client.submit(_build_part, f, params, pure=False) for f in client.scatter(data)]
    return ClusterStopIndex.from_parts(client, parts, params)
