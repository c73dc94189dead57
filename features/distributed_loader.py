"""The trajectory table validated and kept on a Dask cluster: ``load_snapshot(path, trajectories="cluster", client=c)``.

The province's fixes (billions a year) never come to one process. The work is cut into units —
one Parquet row group each (a CSV file is one unit) — and each unit is read, parsed and checked on
a worker by the loader's own code (``parse_table``, ``check_refs``), so a bad cell is reported
with its file (``trajectories.parquet/part-2021-03.parquet``), row and column exactly as the
in-memory loader would; rules broken by many rows are listed ``ROWS_PER_RULE`` times per file and
counted. Each unit splits its fixes by vehicle group at once, and each group's pieces are joined
on a worker, sorted by (vehicle, time), with repeats of (vehicle, time) dropped (the first in file
order kept): what ``load_snapshot`` gives in memory, cut by vehicle. The client receives counts,
the time span and the problems; the fixes stay on the workers as ``ClusterFixes``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow.parquet as pq

from features.contract import TABLES
from features.distributed import ClusterStopIndex, _build_part, n_workers, vehicle_groups
from features.problems import ROWS_PER_RULE, Problem, ProblemLog
from features.readers import (
    DICTIONARY_COLUMNS,
    RawTable,
    _arrow_message,
    _normalise_columns,
    find_table_file,
    read_csv,
)
from features.snapshot import TrajectoryReport
from features.trajectories import TRUCK_STOPS, StopParams
from features.validation import check_refs, parse_table

NAME = "trajectories"
FIXES_PER_GROUP = 4_000_000  # a vehicle group's fixes: joined, sorted and indexed by one task
GROUPS_IN_FLIGHT = 2  # vehicle groups being assembled a worker at a time (see assemble_in_waves)
POSITION_BITS = 36  # a fix's place in the input: file number << 36 | record number in the file


@dataclass(frozen=True)
class Unit:
    """One piece of the trajectory table read by one task: a Parquet row group, or a whole CSV."""

    path: str
    file: str  # as problems name it
    file_no: int
    row_group: int | None  # None: the whole file (CSV)
    first_row: int  # index of the unit's first record in its file


@dataclass
class Hit:
    """One rule broken in one unit: its first rows (display numbers) and values, and how many rows."""

    file: str
    column: str | None
    message: str
    severity: str
    rows: np.ndarray
    values: list | None
    count: int


class HitLog(ProblemLog):
    """Records each rule's hits instead of listing them, so that hits of the units of one file can
    be merged and listed as one pass over the file lists them (``replay``)."""

    def __init__(self) -> None:
        super().__init__()
        self.hits: list[Hit] = []

    def add_rows(self, file, rows, column, message, severity="error", values=None) -> None:
        rows = np.asarray(rows)
        if rows.size:
            shown = None if values is None else list(values[:ROWS_PER_RULE])
            self.hits.append(Hit(file, column, message, severity, rows[:ROWS_PER_RULE].astype(np.int64), shown, int(rows.size)))


def replay(logs: list[HitLog], log: ProblemLog) -> None:
    """Put the units' problems into ``log``: identical problems once, each rule's hits per file
    merged (rows in file order, the first ``ROWS_PER_RULE`` listed, then the count)."""
    seen: set[Problem] = set()
    merged: dict[tuple, list] = {}
    for unit_log in logs:
        for p in unit_log.problems:
            if p not in seen:
                seen.add(p)
                log.problems.append(p)
        for h in unit_log.hits:
            m = merged.setdefault((h.file, h.column, h.message, h.severity), [[], None if h.values is None else [], 0])
            m[0].extend(h.rows.tolist())
            if m[1] is not None and h.values is not None:
                m[1].extend(h.values)
            m[2] += h.count
    for (file, column, message, severity), (rows, values, count) in merged.items():
        shown = None if values is None else values[:ROWS_PER_RULE]
        log.add_rows(file, np.asarray(rows[:ROWS_PER_RULE]), column, message, severity, values=shown)
        if count > ROWS_PER_RULE:  # the summary line ProblemLog.add_rows writes for one long list
            log.add(file, None, column, f"{message}: {count - ROWS_PER_RULE} more rows like this ({count} in all)", severity)


def plan_units(path: Path, log: ProblemLog) -> tuple[list[Unit], int | None]:
    """The units of the table at ``path`` and its row count (None for CSV: unknown before reading).
    Unreadable Parquet files are reported here, as the in-memory loader reports them."""
    if path.suffix == ".csv":
        return [Unit(str(path), path.name, 0, None, 0)], None
    files = [path] if path.is_file() else sorted(
        p for p in path.rglob("*") if p.is_file() and not any(part.startswith(("_", ".")) for part in p.relative_to(path).parts))
    units, total = [], 0
    for no, f in enumerate(files):
        shown = path.name if f == path else f"{path.name}/{f.relative_to(path).as_posix()}"
        try:
            meta = pq.ParquetFile(f).metadata
        except Exception as exc:  # noqa: BLE001 - any unreadable file is a problem to report, not a crash
            log.add(shown, None, None, f"cannot read as Parquet: {_arrow_message(exc)}")
            continue
        first = 0
        for rg in range(meta.num_row_groups):
            n = meta.row_group(rg).num_rows
            units.append(Unit(str(f), shown, no, rg, first))
            first += n
        total += meta.num_rows
        if meta.num_row_groups == 0:
            units.append(Unit(str(f), shown, no, 0, 0))
    return units, total


# ---------------------------------------------------------------------------------------------
# on the workers


@dataclass
class UnitResult:
    problems: HitLog
    rows: int = 0
    ts_min: int | None = None
    ts_max: int | None = None
    pieces: dict[int, dict[str, np.ndarray]] = field(default_factory=dict)  # group -> columns, until handed over
    handed: set[int] = field(default_factory=set)  # groups whose piece ``unit_piece`` has handed over


@dataclass
class FixGroup:
    """A vehicle group's fixes as the loader gives them: sorted by (vehicle, ts), no repeats."""

    frame: pd.DataFrame
    duplicates: int
    out_of_order: int

    def __sizeof__(self) -> int:  # what Dask counts for a worker's memory (its default: a few bytes)
        return object.__sizeof__(self) + int(self.frame.memory_usage(index=True).sum())


def _read_unit(unit: Unit, log: ProblemLog) -> RawTable | None:
    if unit.row_group is None:
        return read_csv(Path(unit.path), NAME, log)
    try:
        names = pq.ParquetFile(unit.path).schema_arrow.names
        pf = pq.ParquetFile(unit.path, read_dictionary=[c for c in DICTIONARY_COLUMNS[NAME] if c in names])
        table = pf.read_row_group(unit.row_group)
    except Exception as exc:  # noqa: BLE001
        log.add(unit.file, None, None, f"cannot read as Parquet: {_arrow_message(exc)}")
        return None
    return RawTable(NAME, unit.file, table, row_offset=unit.first_row + 1)


def validate_unit(unit: Unit, vehicles: pd.DataFrame | None, group_of: dict[str, tuple[int, int]] | None) -> UnitResult:
    """Read, parse and check one unit; if it has no error, split its fixes by vehicle group."""
    log = HitLog()
    out = UnitResult(log)
    raw = _read_unit(unit, log)
    raw = _normalise_columns(raw, log) if raw is not None else None
    if raw is None:
        return out
    frame = parse_table(raw, TABLES[NAME], log)
    if frame is None:
        return out
    if vehicles is not None:
        check_refs(TABLES[NAME], frame, {"vehicles": vehicles}, log)
    out.rows = len(frame)
    ts = frame["ts"].astype("datetime64[ns]").to_numpy().view("int64")
    valid = ts[ts != np.iinfo(np.int64).min]
    if valid.size:
        out.ts_min, out.ts_max = int(valid.min()), int(valid.max())
    if group_of is None or log.errors or not len(frame):
        return out
    vid = frame["vehicle_id"]
    if not isinstance(vid.dtype, pd.CategoricalDtype):
        vid = vid.astype("category")
    cats = [group_of.get(str(c), (-1, -1)) for c in vid.cat.categories]
    gcat = np.array([g for g, _ in cats] + [-1], dtype=np.int64)  # code -1 (missing) maps to the last
    vcat = np.array([v for _, v in cats] + [-1], dtype=np.int32)
    codes = vid.cat.codes.to_numpy().astype(np.int64)
    group, code = gcat[codes], vcat[codes]
    pos = (np.int64(unit.file_no) << POSITION_BITS) + unit.first_row + np.arange(len(frame), dtype=np.int64)
    lat, lon = frame["lat"].to_numpy("float64", na_value=np.nan), frame["lon"].to_numpy("float64", na_value=np.nan)
    optional = _optional_columns(frame)
    order = np.argsort(group, kind="stable")
    bounds = np.searchsorted(group[order], np.unique(group), side="left").tolist() + [len(order)]
    for k, (a, b) in zip(np.unique(group).tolist(), zip(bounds[:-1], bounds[1:], strict=True), strict=True):
        if k < 0:
            continue
        idx = order[a:b]
        out.pieces[k] = {"vehicle": code[idx], "ts": ts[idx], "lat": lat[idx], "lon": lon[idx], "pos": pos[idx],
                         **{c: (v[idx] if c != "drivers" else v) for c, v in optional.items()}}
    return out


def _optional_columns(frame: pd.DataFrame) -> dict[str, np.ndarray]:
    """The contract's optional fix columns present in ``frame``: ``speed`` (float32 km/h, NaN where
    empty) and ``driver`` (int32 codes into ``drivers``, -1 where empty)."""
    out: dict[str, np.ndarray] = {}
    if "speed_kmh" in frame:
        out["speed"] = frame["speed_kmh"].to_numpy("float32", na_value=np.nan)
    if "driver_id" in frame:
        codes, uniques = pd.factorize(frame["driver_id"].astype("object").where(frame["driver_id"].notna(), None))
        out["driver"], out["drivers"] = codes.astype(np.int32), np.asarray(uniques, dtype=object).astype(str)
    return out


def unit_summary(result: UnitResult) -> UnitResult:
    """The unit's problems and counts, without its fixes (what comes back to the client)."""
    return UnitResult(result.problems, result.rows, result.ts_min, result.ts_max)


def unit_piece(result: UnitResult, group: int) -> dict[str, np.ndarray] | None:
    """The unit's fixes of ``group``, handed over once: the unit drops them, so that each fix is held
    once on a worker while the groups are assembled (kept in the unit as well, a worker held every
    fix twice — its pieces and the assembled frames — until the last group was joined). A second
    call for the same group (a task run again) fails loudly instead of giving no fixes."""
    if group in result.handed:
        raise RuntimeError(f"the fixes of vehicle group {group} were already taken from this unit; load the snapshot again")
    result.handed.add(group)
    return result.pieces.pop(group, None)


def assemble_group(vehicles: np.ndarray, *pieces) -> FixGroup:
    """Join one group's pieces: sort by (vehicle, ts, input position), drop repeats of (vehicle, ts)."""
    pieces = [p for p in pieces if p is not None]
    cols = {c: (np.concatenate([p[c] for p in pieces]) if pieces else np.empty(0, dtype="float64" if c in ("lat", "lon") else "int64"))
            for c in ("vehicle", "ts", "lat", "lon", "pos")}
    extra = _joined_optional(pieces)
    v, ts, pos = cols["vehicle"], cols["ts"], cols["pos"]
    order = np.lexsort((pos, ts, v))
    v, ts, pos = v[order], ts[order], pos[order]
    same_vehicle = v[1:] == v[:-1]
    dup = np.zeros(v.size, dtype=bool)
    dup[1:] = same_vehicle & (ts[1:] == ts[:-1])
    out_of_order = int(np.count_nonzero(same_vehicle & (pos[1:] < pos[:-1])))
    keep = order[~dup]
    frame = pd.DataFrame({
        "vehicle_id": pd.Categorical.from_codes(cols["vehicle"][keep].astype(np.int32), categories=pd.Index(vehicles, dtype="str")),
        "ts": cols["ts"][keep].astype("datetime64[ns]"),
        "lat": cols["lat"][keep],
        "lon": cols["lon"][keep],
        **{c: v[keep] for c, v in extra.items()},
    })
    return FixGroup(frame, int(dup.sum()), out_of_order)


def _joined_optional(pieces: list[dict]) -> dict[str, pd.Series | np.ndarray]:
    """``speed_kmh`` and ``driver_id`` of the pieces, joined (a unit without the column gives empties).
    Speed stays float32, as the index keeps it (4 bytes a fix fewer; ``collect`` widens it as the
    in-memory loader gives it)."""
    out: dict[str, pd.Series | np.ndarray] = {}
    if any("speed" in p for p in pieces):
        out["speed_kmh"] = np.concatenate([p["speed"] if "speed" in p else np.full(p["ts"].size, np.nan, np.float32)
                                           for p in pieces])
    if any("driver" in p for p in pieces):
        names = np.unique(np.concatenate([p["drivers"] for p in pieces if "drivers" in p]))
        codes = np.concatenate([np.where(p["driver"] >= 0, np.searchsorted(names, p["drivers"])[np.maximum(p["driver"], 0)]
                                         if p["drivers"].size else -1, -1) if "driver" in p
                                else np.full(p["ts"].size, -1) for p in pieces]).astype(np.int32)
        out["driver_id"] = pd.Categorical.from_codes(codes, categories=pd.Index(names, dtype="str"))
    return out


def group_counts(group: FixGroup) -> tuple[int, int, int]:
    return len(group.frame), group.duplicates, group.out_of_order


def group_frame(group: FixGroup) -> pd.DataFrame:
    return group.frame


def build_group_index(group: FixGroup, params: StopParams):
    return _build_part(group.frame, params)


# ---------------------------------------------------------------------------------------------
# on the client


class FixesReleased(RuntimeError):
    """A read of a ``ClusterFixes`` whose frames were released once its stop index was built."""


@dataclass
class ClusterFixes:
    """A snapshot's validated fixes left on a Dask cluster: one ``FixGroup`` future per vehicle
    group (contiguous runs of sorted vehicle ids). Only counts and the time span are held here.

    The frames live until the stop index is built (``stop_index``): each group's frame is then
    released on its worker as soon as its part of the index is done (the index keeps what every
    later step reads — positions, times, speed and driver), so a worker never holds both for all
    its groups. After that, ``groups`` is None and reading the fixes (``collect``, an index with
    other parameters) raises ``FixesReleased``; load the snapshot again to read them."""

    client: Any
    groups: list | None
    vehicles: list[np.ndarray]
    report: TrajectoryReport
    span: tuple[pd.Timestamp, pd.Timestamp] | None
    n_fixes: int
    file: str = ""  # what was read, for the load report
    keep_frames: bool = False  # True: keep the frames beside the index (twice the memory; benchmarks/bench_release.py)
    _indexes: dict = field(default_factory=dict, repr=False)

    def __len__(self) -> int:
        return self.n_fixes

    @property
    def empty(self) -> bool:
        return self.n_fixes == 0

    @property
    def released(self) -> bool:
        return self.groups is None

    def _frames(self, what: str) -> list:
        if self.groups is None:
            built = ", ".join(f"{p}" for p in self._indexes) or "none"
            raise FixesReleased(f"{self.file or 'trajectories'}: the fixes were released on the workers once the stop index "
                                f"was built ({built}); cannot {what}. Load the snapshot again "
                                "(load_snapshot(..., trajectories='cluster')) to read them")
        return self.groups

    def stop_index(self, params: StopParams = TRUCK_STOPS, partitions: int | None = None) -> ClusterStopIndex:
        """The stop index of these fixes, built and kept on the workers, one part per vehicle group
        (built once per parameters; ``partitions`` is fixed by the load and ignored). Building it
        releases the frames (see the class): a second set of parameters must load the snapshot again."""
        if params not in self._indexes:
            groups = self._frames(f"build a stop index with {params}")
            parts = [self.client.submit(build_group_index, g, params, pure=False) for g in groups]
            # the client drops its only references to the frames: the scheduler forgets each frame
            # as soon as the one task that reads it (its group's index) has run
            if not self.keep_frames:
                self.groups = None
            del groups
            self._indexes[params] = ClusterStopIndex.from_parts(self.client, parts, params)
        return self._indexes[params]

    def collect(self) -> pd.DataFrame:
        """All the fixes in this process, as the in-memory loader sorts them by vehicle: for tests
        and small snapshots only (the point of this class is not to do this)."""
        groups = self._frames("collect them")
        frames = self.client.gather([self.client.submit(group_frame, g, pure=False) for g in groups])
        cats = pd.Index(np.concatenate(self.vehicles) if self.vehicles else [], dtype="str")
        parts = [f.assign(vehicle_id=pd.Categorical(f["vehicle_id"].astype("str"), categories=cats),
                          **({"speed_kmh": f["speed_kmh"].astype("float64")} if "speed_kmh" in f else {})) for f in frames]
        return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame()


def assemble_in_waves(client, results: list, groups: list[np.ndarray], per_worker: int | None = None) -> list:
    """The ``FixGroup`` futures of ``groups``, assembled from the units' ``results``, at most
    ``per_worker`` groups a worker at a time. Submitted all at once, every worker fetched the
    remote pieces of all its groups ahead of joining them: a second copy of up to half its fixes
    (the province: one worker at 5.6 GB during the sort, against 3.3 GB after it)."""
    from distributed import as_completed

    def submit(g: int):
        return client.submit(assemble_group, groups[g], *[client.submit(unit_piece, r, g, pure=False) for r in results],
                             pure=False)

    window = max(1, (per_worker or GROUPS_IN_FLIGHT) * n_workers(client))
    futures = [submit(g) for g in range(min(window, len(groups)))]
    running = as_completed(futures)
    for _done in running:
        if len(futures) < len(groups):
            futures.append(submit(len(futures)))
            running.add(futures[-1])
    return futures


def load_fixes_on_cluster(folder: Path, vehicles: pd.DataFrame | None, client, log: ProblemLog,
                          say=lambda _m: None, fixes_per_group: int = FIXES_PER_GROUP) -> ClusterFixes | None:
    """Validate the trajectory table of ``folder`` on the workers of ``client``; problems go to
    ``log``. Returns the fixes left on the cluster, or None when there are errors (anywhere in
    ``log``) or no table (the caller reports a missing table)."""
    if client is None:
        raise ValueError("trajectories='cluster' needs a Dask client")
    path = find_table_file(folder, NAME, ProblemLog())
    if path is None:
        return None
    units, total = plan_units(path, log)
    if total is None:
        total = max(1, path.stat().st_size // 40)  # CSV: about 40 bytes a fix
    ids = None if vehicles is None or "vehicle_id" not in vehicles else vehicles["vehicle_id"].dropna().astype("str")
    k = max(2 * n_workers(client), math.ceil(total / fixes_per_group))
    groups = vehicle_groups(ids.unique(), k) if ids is not None else []
    group_of = {v: (g, i) for g, members in enumerate(groups) for i, v in enumerate(members)} if ids is not None else None
    say(f"检查轨迹 checking trajectories on the cluster ({len(units)} parts, {len(groups)} vehicle groups)")
    ref = lookup = None
    if ids is not None:  # in a list: scattering a dict would scatter its values one by one
        ref, lookup = client.scatter([pd.DataFrame({"vehicle_id": ids.to_numpy(object)}), group_of], broadcast=True)
    results = [client.submit(validate_unit, u, ref, lookup, pure=False) for u in units]
    summaries = client.gather([client.submit(unit_summary, r, pure=False) for r in results])
    replay([s.problems for s in summaries], log)
    if log.errors or group_of is None:
        return None
    say("整理轨迹 sorting trajectories by vehicle on the cluster")
    fix_groups = assemble_in_waves(client, results, groups)
    del results  # each unit's data lives on as its pieces, then as the groups
    counts = client.gather([client.submit(group_counts, g, pure=False) for g in fix_groups])
    rep = TrajectoryReport(fixes_read=sum(s.rows for s in summaries),
                           duplicates_dropped=sum(c[1] for c in counts), out_of_order=sum(c[2] for c in counts))
    lo = [s.ts_min for s in summaries if s.ts_min is not None]
    hi = [s.ts_max for s in summaries if s.ts_max is not None]
    span = (pd.Timestamp(min(lo)), pd.Timestamp(max(hi))) if lo else None
    return ClusterFixes(client, fix_groups, [np.asarray(g, dtype=object) for g in groups], rep, span,
                        sum(c[0] for c in counts), f"{path.name} ({len(units)} parts on the cluster)")
