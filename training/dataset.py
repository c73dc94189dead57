"""Training rows: features at every as-of date a run needs, built once and cached.

Enterprise rows are (as_of, enterprise_id); tip rows are each tip once, at the first as-of date
after it was received. The cache (in the home folder) is keyed by the snapshot's digest, the
feature code's digest and the date, so a second run on the same snapshot skips the building.
Beside the dates, the cache keeps the snapshot's span (``SnapshotSpan``): with it and every date
cached, a retraining after new outcomes need not read the GPS fixes at all.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

import features
from features.build import FeatureSet, build, place_index
from features.catalogue import EVIDENCE_SEP
from features.incremental import AsOfCache
from features.snapshot import Snapshot
from hazleads.workers import fork_workers
from training.date_workers import build_dates

Progress = Callable[[str], None]


def feature_code_digest() -> str:
    """Digest of the feature code: a change to any feature module invalidates cached tables."""
    h = hashlib.sha256()
    for f in sorted(Path(features.__file__).parent.glob("*.py")):
        h.update(f.name.encode())
        h.update(f.read_bytes())
    return h.hexdigest()[:16]


def feature_cache_dir(cache_dir: Path, digest: str) -> Path:
    """Where the features of the snapshot with ``digest`` are cached, for the current feature code."""
    return cache_dir / digest[:16] / feature_code_digest()


@dataclass(frozen=True)
class SnapshotSpan:
    """What a run plans its as-of dates from: the first day (power or manifests) and the last day of
    any daily record, fixes included, of the snapshot whose full ``digest`` it belongs to."""

    digest: str
    first_day: pd.Timestamp
    last_day: pd.Timestamp

    @classmethod
    def of(cls, snapshot: Snapshot, digest: str) -> SnapshotSpan:
        first = min(snapshot.electricity["date"].min(), snapshot.manifests["departed_at"].min())
        return cls(digest, pd.Timestamp(first), snapshot.last_day)


def write_span(cache_dir: Path, span: SnapshotSpan) -> None:
    folder = cache_dir / span.digest[:16]
    folder.mkdir(parents=True, exist_ok=True)
    text = json.dumps({"digest": span.digest, "first_day": span.first_day.isoformat(), "last_day": span.last_day.isoformat()})
    tmp = folder / f".span.json.{os.getpid()}.tmp"
    tmp.write_text(text)
    os.replace(tmp, folder / "span.json")


def read_span(cache_dir: Path, digest: str) -> SnapshotSpan | None:
    """The span cached for the snapshot with exactly this ``digest``, or None (absent, unreadable,
    or written for another snapshot whose digest shares the folder's 16-character prefix)."""
    try:
        d = json.loads((cache_dir / digest[:16] / "span.json").read_text())
        span = SnapshotSpan(d["digest"], pd.Timestamp(d["first_day"]), pd.Timestamp(d["last_day"]))
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return span if span.digest == digest else None


def all_cached(cache_dir: Path, digest: str, dates: list[pd.Timestamp]) -> bool:
    """Whether the features of every date in ``dates`` are cached for this snapshot and feature code."""
    key_dir = feature_cache_dir(cache_dir, digest)
    return all((key_dir / f"{d.date()}-enterprise.parquet").exists() and (key_dir / f"{d.date()}-tip.parquet").exists()
               for d in dates)


class FeaturesNotCached(LookupError):
    """A date's features are not in the cache and the snapshot was loaded without its fixes."""


@dataclass
class Dataset:
    enterprise: pd.DataFrame  # columns as_of, enterprise_id, features, evidence, context
    tip: pd.DataFrame  # columns as_of, tip_id, ...
    dates: list[pd.Timestamp]
    stop_index: object = field(default=None, repr=False)  # the stops detected, when any date was built
    places: object = field(default=None, repr=False)  # features.geo.PlaceIndex, when any date was built


def build_dataset(snapshot: Snapshot, dates: list[pd.Timestamp], digest: str, cache_dir: Path | None = None,
                  progress: Progress | None = None, latest: bool = False,
                  workers: int | None = None, evidence: bool = True) -> tuple[Dataset, FeatureSet | None]:
    """Features at each date in ``dates``; with ``latest`` the FeatureSet of the last date is returned too.

    Dates not cached are built in ``workers`` processes, this one and forked ones
    (``training.date_workers``; default the CPUs, at most two, one in a test worker); the tables are
    the same as built in one process. With ``latest`` the last date is always built in this process.
    A snapshot loaded without its fixes (``trajectories="skip"``) can only be served from the
    cache: a date not cached raises ``FeaturesNotCached``. Without ``evidence`` the rows carry no
    evidence columns (``feature@field``: what a lead's reasons quote, not what a model learns from);
    the cache keeps them all, and a cached date is read without them."""
    from features.trajectory_features import build_stop_index  # heavy: numba

    say = progress or (lambda _m: None)
    key_dir = feature_cache_dir(cache_dir, digest) if cache_dir else None
    dates = sorted(dates)
    tables: dict[pd.Timestamp, tuple[pd.DataFrame, pd.DataFrame]] = {}
    for d in dates[:-1] if latest else dates:
        cached = _read_cached(key_dir, d, evidence) if key_dir is not None else None
        if cached is not None:
            tables[d] = cached
    todo = [d for d in dates if d not in tables]
    last_fs = index = places = None
    if todo:
        if not snapshot.has_fixes:
            raise FeaturesNotCached(f"features at {todo[0].date()} are not cached; the snapshot must be loaded with its fixes")
        places = place_index(snapshot)
        say("停车点检测 detecting stops")
        index = build_stop_index(snapshot)
        n = fork_workers(workers, len(todo))
        shared = AsOfCache()  # work the dates share: monthly power, licence cover, gazetteer, closed trips' GPS evidence
        if n > 1:  # this process builds from the latest back, beside n - 1 forked workers
            say(f"特征 features: {len(todo)} dates in {n} processes")
            for d, ent, tip, fs in build_dates(snapshot, todo, index, places, n, cache=shared, keep_last=latest):
                if latest and d == dates[-1]:
                    last_fs = fs
                tables[d] = _keep(key_dir, d, ent, tip)
                say(f"特征 features {d.date()} ({len(tables)}/{len(dates)})")
        else:
            for d in todo:
                say(f"特征 features {d.date()} ({len(tables) + 1}/{len(dates)})")
                fs = build(snapshot, d, trajectory_index=index, places=places, cache=shared)
                if latest and d == dates[-1]:
                    last_fs = fs
                tables[d] = _keep(key_dir, d, fs.enterprise.reset_index(), fs.tip.reset_index())
    ent_frames, tip_frames = [], []
    prev = None
    for d in dates:
        ent, tip = tables[d] if evidence else (_without_evidence(t) for t in tables[d])
        ent.insert(0, "as_of", d)
        ent_frames.append(ent)
        new = tip["received_at"] > prev if prev is not None else pd.Series(True, index=tip.index)
        t = tip[new.to_numpy()].copy()
        t.insert(0, "as_of", d)
        tip_frames.append(t)
        prev = d + pd.Timedelta(days=1)
    enterprise = pd.concat(ent_frames, ignore_index=True) if ent_frames else pd.DataFrame()
    tips = pd.concat(tip_frames, ignore_index=True) if tip_frames else pd.DataFrame()
    return Dataset(enterprise, tips, dates, index, places), last_fs


def _keep(key_dir: Path | None, d: pd.Timestamp, ent: pd.DataFrame, tip: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Cache date ``d``'s tables: the tip table first, the enterprise table (the entry's marker)
    last, each moved into place whole, so a process killed while caching leaves no entry that
    looks complete."""
    if key_dir is not None:
        key_dir.mkdir(parents=True, exist_ok=True)
        _write_atomic(tip, key_dir / f"{d.date()}-tip.parquet")
        _write_atomic(ent, key_dir / f"{d.date()}-enterprise.parquet")
    return ent, tip


def _write_atomic(frame: pd.DataFrame, path: Path) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    frame.to_parquet(tmp)
    os.replace(tmp, path)


def _without_evidence(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` less its evidence columns; itself when it has none (a date read from the cache
    without them: no copy)."""
    evidence = [c for c in frame.columns if EVIDENCE_SEP in c]
    return frame.drop(columns=evidence) if evidence else frame


def _read_cached(key_dir: Path, d: pd.Timestamp, evidence: bool = True) -> tuple[pd.DataFrame, pd.DataFrame] | None:
    """The cached (enterprise, tip) tables of date ``d`` (without ``evidence``, their evidence columns
    left unread), or None if absent or unreadable (then rebuilt)."""
    ent_path, tip_path = key_dir / f"{d.date()}-enterprise.parquet", key_dir / f"{d.date()}-tip.parquet"
    if not ent_path.exists():
        return None
    try:
        if evidence:
            return pd.read_parquet(ent_path), pd.read_parquet(tip_path)
        return tuple(pd.read_parquet(p, columns=[c for c in pq.read_schema(p).names if EVIDENCE_SEP not in c])
                     for p in (ent_path, tip_path))
    except (OSError, ValueError, pa.ArrowException):
        return None
