"""Fitted folds kept between runs: a retraining after new outcomes refits only the folds they reach.

A fold's models learn from the cases known by its label horizon: its fitting and calibration labels
are cut there (``training.fit``), so an outcome opened after the horizon cannot change them
(``tests/test_training_e2e.py``: ``test_cases_after_the_test_start_cannot_change_a_trained_model``).
Its test labels can, for they read every case. So a fold is kept with its models and their scores
on its test rows, and a run that finds it takes it and makes the test labels, the truth and the
metrics again from its own cases (``training.fit.relabel``).

The key holds everything a fold's models depend on: the rows (their contents, hashed), the fold,
the configuration, the engine, the model and feature code and the libraries' versions, and the cases
known by the horizon (the columns the labels read). A run that changes any of them fits the fold
again. The entries are pickles in the home's feature cache, each signed with the home's key
(``registry.dump_signed``) and unpickled only when the signature holds (``registry.load_signed``):
an entry changed since, or copied from another home, is fitted again, never run. So is one that
cannot be read. Each fold keeps its ``KEEP`` latest entries.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import platform
import re
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
from pandas.api.types import is_datetime64_dtype

from features.timeutil import as_of_day
from training.registry import ModelLoadError, dump_signed, load_signed

KEEP = 2  # entries kept per fold: the latest, and the one before (a run reverted to older cases)
LABEL_COLUMNS = ["opened", "enterprise_id", "tip_id", "outcome"]  # what training.labels reads of a case
_CODE: str | None = None


def code_digest() -> str:
    """Digest of the code a fold's models come from (``models/``, ``training/``, ``features/``) and of
    the libraries that fit them."""
    global _CODE
    if _CODE is None:
        import lightgbm
        import numpy
        import sklearn

        root = Path(__file__).resolve().parents[1]
        h = hashlib.sha256()
        for package in ("models", "training", "features"):
            for f in sorted((root / package).glob("*.py")):
                h.update(f"{package}/{f.name}".encode())
                h.update(f.read_bytes())
        h.update(json.dumps([platform.python_version(), lightgbm.__version__, sklearn.__version__, numpy.__version__,
                             pd.__version__]).encode())
        _CODE = h.hexdigest()
    return _CODE


def frame_digest(frame: pd.DataFrame) -> str:
    """Digest of a frame's columns, types and values, row by row in order (the index left out). Times
    count in nanoseconds whatever their unit: the rows a run builds and the same rows read back from
    the feature cache (microseconds) are the same rows."""
    times = [c for c, t in frame.dtypes.items() if is_datetime64_dtype(t)]
    frame = frame.astype({c: "datetime64[ns]" for c in times}) if times else frame
    h = hashlib.sha256()
    h.update(json.dumps([[str(c), str(t)] for c, t in frame.dtypes.items()]).encode())
    h.update(pd.util.hash_pandas_object(frame, index=False).to_numpy().tobytes())
    return h.hexdigest()


def known_cases_digest(cases: pd.DataFrame, horizon) -> str:
    """Digest of the cases a fold with label horizon ``horizon`` learns from, in any order."""
    known = cases.loc[cases["opened"] <= as_of_day(horizon), LABEL_COLUMNS]
    known = known.astype({"opened": "datetime64[ns]"}).astype({c: "string" for c in LABEL_COLUMNS[1:]})
    known = known.sort_values(LABEL_COLUMNS, ignore_index=True, na_position="first")
    return frame_digest(known)


@dataclass(frozen=True)
class FoldCache:
    """Fitted folds of one run's rows, in ``folder``; ``rows`` is the digest of those rows; ``secret``
    the home's signing key (``registry.signing_key``): an entry is unpickled only when signed with it."""

    folder: Path
    rows: str
    secret: bytes = field(repr=False)

    @classmethod
    def of(cls, folder: Path, enterprise: pd.DataFrame, tips: pd.DataFrame, secret: bytes) -> FoldCache:
        return cls(Path(folder), hashlib.sha256((frame_digest(enterprise) + frame_digest(tips)).encode()).hexdigest(), secret)

    def key(self, split, cases: pd.DataFrame, config, engine: str, truth: bool) -> str:
        parts = [self.rows, code_digest(), repr(split), config.model_dump_json(), engine, str(bool(truth)),
                 known_cases_digest(cases, split.label_horizon)]
        name = re.sub(r"[^A-Za-z0-9_.]", "_", split.name) or "fold"
        return f"{name}-{hashlib.sha256(json.dumps(parts).encode()).hexdigest()[:32]}"

    def _path(self, key: str) -> Path:
        return self.folder / f"{key}.pickle"

    def load(self, key: str) -> tuple[object | None, str | None]:
        """The fold kept under ``key`` (None: never kept, or refused) and why it was refused. Nothing is
        logged here: a fold worker is a forked child (``training.fold_workers``); the caller notes it."""
        path = self._path(key)
        if not path.exists():
            return None, None
        try:
            result = load_signed(path, self.secret)
        except ModelLoadError as exc:  # changed since written, or another home's: never unpickled
            return None, str(exc)
        except Exception as exc:  # noqa: BLE001  a damaged entry costs a fit, never the run
            return None, f"{path.name}: unreadable ({exc})"
        with contextlib.suppress(OSError):
            os.utime(path)  # used: the newest entry of its fold, kept by the pruning
        return result, None

    def save(self, key: str, result) -> str | None:
        """Keep ``result`` under ``key`` (written whole or not at all), then drop the fold's older
        entries; what went wrong, if anything (the run goes on: the next one fits the fold again)."""
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            dump_signed(result, self._path(key), self.secret)
            fold = key.rsplit("-", 1)[0]
            entries = sorted(self.folder.glob(f"{fold}-*.pickle"), key=lambda p: p.stat().st_mtime_ns, reverse=True)
            for old in entries[KEEP:]:
                old.unlink(missing_ok=True)
        except OSError as exc:  # a full or read-only disk
            return f"not kept ({exc})"
        return None
