"""``load_snapshot``: a snapshot folder in, a complete typed ``Snapshot`` out, or one error listing every problem.

Nothing half-loaded is ever returned. Trajectories are sorted by vehicle and time and exact
duplicates (same vehicle, same time) dropped rather than rejected; the report counts them.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa

from features.contract import TABLES, Table
from features.fix_sort import table_order
from features.places import Place, load_places
from features.problems import Problem, ProblemLog, SnapshotError
from features.readers import find_table_file, read_table
from features.stops_threads import threads_for
from features.validation import check_keys, check_refs, check_rules, parse_table

Progress = Callable[[str], None]

_EMPTY_DTYPES = {
    "str": "str", "code": "str", "codes": "str", "float": "float64", "int": "Int64",
    "bool": "boolean", "date": "datetime64[ns]", "datetime": "datetime64[ns]", "month": "period[M]",
}


@dataclass
class TrajectoryReport:
    fixes_read: int = 0
    duplicates_dropped: int = 0
    out_of_order: int = 0  # fixes that came earlier in the file than a later fix of the same vehicle

    @property
    def fixes_kept(self) -> int:
        return self.fixes_read - self.duplicates_dropped


@dataclass
class LoadReport:
    rows: dict[str, int] = field(default_factory=dict)
    spans: dict[str, tuple[pd.Timestamp, pd.Timestamp]] = field(default_factory=dict)
    files: dict[str, str] = field(default_factory=dict)  # table -> file name and encoding
    trajectories: TrajectoryReport = field(default_factory=TrajectoryReport)
    warnings: list[Problem] = field(default_factory=list)


@dataclass
class Snapshot:
    """The validated tables of one snapshot. Datetimes are local time (Asia/Shanghai), zone-free."""

    path: Path
    enterprises: pd.DataFrame
    licences: pd.DataFrame
    ledgers: pd.DataFrame
    electricity: pd.DataFrame
    manifests: pd.DataFrame
    vehicles: pd.DataFrame
    trajectories: pd.DataFrame  # or, loaded with trajectories="cluster", a ClusterFixes left on the workers
    tips: pd.DataFrame
    cases: pd.DataFrame
    places: list[Place] = field(default_factory=list)
    report: LoadReport = field(default_factory=LoadReport)

    @property
    def has_fixes(self) -> bool:
        """False when loaded with ``trajectories="skip"``: the fixes were neither read nor checked."""
        return not isinstance(self.trajectories, FixesNotLoaded)

    def table(self, name: str) -> pd.DataFrame:
        return getattr(self, name)

    @property
    def last_day(self) -> pd.Timestamp:
        """The last day the snapshot covers: the latest daily record (power, manifest, fix, tip, case)."""
        days = []
        for name, col in (("electricity", "date"), ("manifests", "departed_at"), ("trajectories", "ts"),
                          ("tips", "received_at"), ("cases", "opened")):
            t = self.table(name)
            s = t[col] if isinstance(t, pd.DataFrame) else pd.Series(t.span or [], dtype="datetime64[ns]")  # ClusterFixes
            if len(s) and s.notna().any():
                days.append(s.max().normalize())
        if not days and len(self.ledgers):
            days.append(self.ledgers["month"].max().to_timestamp(how="end").normalize())
        if not days:
            raise ValueError(f"snapshot {self.path} has no dated rows")
        return max(days)


class FixesNotLoaded:
    """Stands for the trajectory table of a snapshot loaded with ``trajectories="skip"``.

    Any use fails loudly: an empty frame in its place would let a feature built by mistake look
    like a snapshot without a single fix (and be cached as such)."""

    def __init__(self, folder: Path):
        self.folder = folder

    def __getattr__(self, name: str):
        if name.startswith("__"):  # copy, pickle and hasattr probe these: let them see an ordinary object
            raise AttributeError(name)
        raise self._error()

    def __len__(self) -> int:
        raise self._error()

    def __getitem__(self, key):
        raise self._error()

    def _error(self) -> RuntimeError:
        return RuntimeError(f"{self.__dict__.get('folder')}: loaded without its trajectories (trajectories='skip'); "
                            "load the snapshot in full to use the GPS fixes")


def empty_frame(spec: Table) -> pd.DataFrame:
    return pd.DataFrame({c.name: pd.Series(dtype=_EMPTY_DTYPES[c.kind]) for c in spec.columns})


def load_snapshot(path: str | Path, progress: Progress | None = None, trajectories: str = "memory",
                  client=None) -> Snapshot:
    """Read, parse and check every table of the snapshot at ``path`` (DATA_CONTRACT.md §1).

    Raises ``SnapshotError`` whose ``problems`` list every error and warning found, each with its
    file, row (as a spreadsheet shows it) and column.

    ``trajectories="cluster"`` reads and checks the fixes on the workers of the Dask ``client``
    and leaves them there (``features.distributed_loader.ClusterFixes``): no process holds them all.
    ``trajectories="skip"`` reads every other table and leaves the fixes unread and unchecked
    (``Snapshot.trajectories`` is a ``FixesNotLoaded``): for a caller that needs only the small
    tables of a snapshot it has loaded in full before (same ``snapshot_digest``), such as a
    retraining whose features are all cached.
    """
    if trajectories not in ("memory", "cluster", "skip"):
        raise ValueError(f"trajectories must be 'memory', 'cluster' or 'skip', got {trajectories!r}")
    on_cluster = trajectories == "cluster"
    folder = Path(path)
    log = ProblemLog()
    if not folder.is_dir():
        raise SnapshotError(str(folder), [Problem(str(folder), None, None, "not a folder; a snapshot is a folder of table files")])
    say = progress or (lambda _msg: None)
    frames: dict[str, pd.DataFrame] = {}
    report = LoadReport()
    for name, spec in TABLES.items():
        if name == "trajectories" and trajectories == "skip":
            continue
        if on_cluster and name == "trajectories" and find_table_file(folder, name, ProblemLog()) is not None:
            continue  # read and checked on the cluster, below
        say(f"读取 reading {name}")
        raw = read_table(folder, name, log)
        if raw is None:
            if spec.required and not any(p.file.startswith(name + ".") for p in log.problems):
                log.add(f"{name}.csv", None, None, f"required table '{name}' is missing: add {name}.csv or {name}.parquet ({spec.meaning})")
            continue
        report.files[name] = raw.file + (f" ({raw.encoding})" if raw.encoding else "")
        say(f"检查 checking {name} ({raw.table.num_rows:,} rows)")
        frame = parse_table(raw, spec, log)
        del raw
        if frame is not None:
            frames[name] = frame
    say("检查引用 checking references")
    for name, frame in frames.items():
        check_keys(TABLES[name], frame, log)
        check_refs(TABLES[name], frame, frames, log)
    check_rules(frames, log)
    places: list[Place] = []
    geo = folder / "places.geojson"
    if geo.exists():
        places = load_places(geo, log)
    fixes = None
    if on_cluster:
        from features.distributed_loader import load_fixes_on_cluster

        fixes = load_fixes_on_cluster(folder, frames.get("vehicles"), client, log, say)
    if log.errors:
        raise SnapshotError(str(folder), sorted(log.problems, key=_order))
    if trajectories == "skip":
        fixes = FixesNotLoaded(folder)
    for name, spec in TABLES.items():
        if name not in frames and not (name == "trajectories" and fixes is not None):
            frames[name] = empty_frame(spec)
    if fixes is None:
        say("整理轨迹 sorting trajectories")
        # the Arrow buffers the fixes were read into are free by now but kept by Arrow's allocator,
        # which returns them to the system only after a while: return them before the sort allocates
        # (how soon depended on how long the checks took; up to 0.4 GB more at the city's peak)
        pa.default_memory_pool().release_unused()
        frames["trajectories"], report.trajectories = _tidy_trajectories(frames["trajectories"])
    for name, frame in frames.items():
        frame.attrs.clear()
        report.rows[name] = len(frame)
        tcol = TABLES[name].time_column
        if tcol and len(frame) and frame[tcol].notna().any():
            report.spans[name] = (frame[tcol].min(), frame[tcol].max())
    if on_cluster and fixes is not None:
        report.trajectories, report.files["trajectories"] = fixes.report, fixes.file
        report.rows = {n: len(fixes) if n == "trajectories" else report.rows[n] for n in TABLES}
        if fixes.span is not None:
            report.spans["trajectories"] = fixes.span
    report.warnings = sorted(log.warnings, key=_order)
    return Snapshot(path=folder, places=places, report=report, **frames, **({"trajectories": fixes} if fixes is not None else {}))


def _order(p: Problem) -> tuple:
    return (p.file, p.row if p.row is not None else 1 << 62, p.column or "", p.message)


def _tidy_trajectories(fixes: pd.DataFrame) -> tuple[pd.DataFrame, TrajectoryReport]:
    """Sort by (vehicle, time) and drop exact repeats of (vehicle, time); vehicle_id becomes categorical
    with its categories in sorted order (a file's dictionary lists them as they first appear), so the
    rows come in the order of the ids: the stop index then finds them in order and sorts nothing.

    Memory matters here (tens of millions of fixes): the order is one int64 array
    (``fix_sort.table_order``: a counting pass by vehicle, then each vehicle's rows by time), and
    the columns are reordered two at a time in threads (NumPy's take releases the GIL), each old
    column freed once taken.
    """
    rep = TrajectoryReport(fixes_read=len(fixes))
    # the checks are done: drop their row numbers (one int64 per fix), which pandas would otherwise
    # deep-copy into every Series taken below (12 of the city's 23 s of loading)
    fixes.attrs.clear()
    vid = fixes["vehicle_id"].astype("category")
    cats = vid.cat.categories
    if not cats.is_monotonic_increasing:
        vid = vid.cat.reorder_categories(cats.sort_values())
    fixes["vehicle_id"] = vid
    del vid
    if fixes.empty:
        return fixes, rep
    codes = fixes["vehicle_id"].cat.codes.to_numpy()
    ts = fixes["ts"].to_numpy().view("int64")
    ordered = (codes[1:] > codes[:-1]) | ((codes[1:] == codes[:-1]) & (ts[1:] > ts[:-1]))
    if ordered.all():
        return fixes.reset_index(drop=True), rep  # already sorted, no repeats: nothing to move
    del ordered
    keep, repeats, descents = table_order(codes, ts, len(fixes["vehicle_id"].cat.categories), threads_for(len(codes)))
    rep.duplicates_dropped, rep.out_of_order = int(repeats), int(descents)
    del codes, ts
    # the values alone (a Series' take would also take its index, an int64 per fix, dropped at
    # once), taken out of the frame here: the threads below touch arrays only, never the frame
    columns = list(fixes.columns)
    values = [fixes[c].to_numpy() if isinstance(fixes[c].dtype, np.dtype) else fixes[c].array for c in columns]
    for c in columns:
        del fixes[c]

    def take(i: int) -> pd.Series:
        return pd.Series(values[i][keep] if isinstance(values[i], np.ndarray) else values[i].take(keep), copy=False)

    taken = {}
    with ThreadPoolExecutor(max_workers=2) as pool:
        for i, col in enumerate(pool.map(take, range(len(columns)))):
            taken[columns[i]] = col
            values[i] = None  # the old column freed as soon as its copy is made
    return pd.DataFrame(taken, copy=False), rep


def snapshot_digest(path: str | Path) -> str:
    """SHA-256 over the snapshot's table files (names, sizes and contents), for run provenance."""
    h = hashlib.sha256()
    folder = Path(path)
    for f in sorted(p for p in folder.rglob("*") if p.is_file() and "truth" not in p.relative_to(folder).parts):
        h.update(str(f.relative_to(folder)).encode())
        h.update(str(f.stat().st_size).encode())
        with open(f, "rb") as fh:
            for block in iter(lambda fh=fh: fh.read(1 << 22), b""):
                h.update(block)
    return h.hexdigest()
