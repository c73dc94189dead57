"""The records' features built in a forked process while the fixes are still being loaded.

A cold training run first loads the snapshot (the city's 40 M fixes: about 16 s, one core busy)
and detects its stops (about 10 s), and only then builds the features of every as-of date. A
third of a date's work reads no fix at all (``features.build.record_features``: ledgers, power,
manifests, network, cases). ``RecordsAhead.start`` forks a process before the load, which reads
the snapshot's small tables on its own (``trajectories="skip"``: about 2 s), plans the run's dates
from them, and builds those features date by date on the core the load leaves idle. Each date's
table is dropped into a private folder as it is done; whoever builds that date later (a date
worker, or the parent) takes it from there (``take``) and builds only the part that needs the fixes.

Nothing here can change a result:

- the table is ``record_features(snapshot, date)[0]``, the very function ``build`` runs, on the
  same files; a date without a table (not reached yet, planned differently, the process failed)
  is built whole, as before;
- the tables are used only if the process saw exactly the snapshot the run loaded: its digest
  (every file's contents, taken before and after its own load, and equal) must be the run's;
- a date is marked taken before it is looked for, and the process skips dates already taken, so
  at most the date it is working on is built twice.

The process is forked only where the date workers are (``hazleads.workers.fork_workers`` > 1): not
in a test worker, not beside the service's request threads. It is quiet (no log, no print, no
database), and is stopped and its folder removed by ``close``.
"""

from __future__ import annotations

import multiprocessing as mp
import os
import pickle
import shutil
import signal
import tempfile
from collections.abc import Callable
from pathlib import Path

import pandas as pd

from hazleads.workers import quiet_child

DIGEST = "digest"


class RecordsAhead:
    """A forked process building ``record_features`` for the dates ``dates_of(snapshot)`` plans."""

    def __init__(self, folder: Path, process: mp.process.BaseProcess):
        self.folder = folder
        self.process = process
        self.expected: str | None = None  # the run's digest, once the run has loaded the snapshot

    @classmethod
    def start(cls, data: Path, dates_of: Callable[[object], list[pd.Timestamp]], under: Path) -> RecordsAhead:
        """Fork the process: it loads ``data`` without its fixes and builds the dates ``dates_of``
        returns for that snapshot, in order. ``under``: where its private folder is made."""
        under.mkdir(parents=True, exist_ok=True)
        folder = Path(tempfile.mkdtemp(prefix=".records-", dir=under))
        proc = mp.get_context("fork").Process(target=_run, args=(Path(data), folder, dates_of), daemon=True,
                                              name="hazleads-records")
        proc.start()
        return cls(folder, proc)

    def expect(self, digest: str) -> None:
        """The digest of the snapshot the run loaded: tables are taken only if the process saw the same."""
        self.expected = digest

    def ready(self) -> int:
        """How many dates' tables are waiting (for progress messages)."""
        return sum(1 for p in self.folder.glob("*.pkl")) if self._same_snapshot() else 0

    def take(self, day: pd.Timestamp) -> pd.DataFrame | None:
        """Date ``day``'s records table, or None (build it whole). Marks the date taken first, so
        the process does not start it after this."""
        stem = str(pd.Timestamp(day).date())
        try:
            (self.folder / f"{stem}.taken").touch()
        except OSError:
            return None  # the folder is gone (closed): build it whole
        if not self._same_snapshot():
            return None
        try:
            with open(self.folder / f"{stem}.pkl", "rb") as f:
                return pickle.load(f)
        except (OSError, EOFError, pickle.UnpicklingError):
            return None

    def _same_snapshot(self) -> bool:
        if self.expected is None:
            return False
        try:
            return (self.folder / DIGEST).read_text() == self.expected
        except OSError:
            return False

    def close(self) -> None:
        """Stop the process if it is still building and remove its folder."""
        if self.process.is_alive():
            self.process.terminate()
            self.process.join(timeout=10)
            if self.process.is_alive():  # pragma: no cover - SIGTERM is not handled in the process
                self.process.kill()
        self.process.join(timeout=10)
        shutil.rmtree(self.folder, ignore_errors=True)


def _run(data: Path, folder: Path, dates_of: Callable[[object], list[pd.Timestamp]]) -> None:
    """The forked process: see the module docstring. Any failure ends it quietly; the run then
    builds the dates whole."""
    code = 1
    try:
        # the parent's handlers (a service's graceful shutdown) are not this process's: ``close``
        # stops it with SIGTERM, and Ctrl-C in a terminal stops it with the run
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        signal.signal(signal.SIGINT, signal.SIG_DFL)
        quiet_child()
        _build(data, folder, dates_of)
        code = 0
    finally:  # never the parent's exit handlers (MLflow, logging) in a forked child
        os._exit(code)


def _build(data: Path, folder: Path, dates_of: Callable[[object], list[pd.Timestamp]]) -> None:
    from features.build import record_features
    from features.incremental import AsOfCache
    from features.snapshot import load_snapshot, snapshot_digest

    before = snapshot_digest(data)
    snap = load_snapshot(data, trajectories="skip")
    if snapshot_digest(data) != before:  # a file changed while it was read: nothing to offer
        return
    _write(folder / DIGEST, before.encode())
    cache = AsOfCache()
    for day in sorted(dates_of(snap)):
        stem = str(day.date())
        if (folder / f"{stem}.taken").exists():
            continue
        table = record_features(snap, day, cache)[0]
        _write(folder / f"{stem}.pkl", pickle.dumps(table, protocol=pickle.HIGHEST_PROTOCOL))


def _write(path: Path, data: bytes) -> None:
    """Written whole or not at all: a reader never sees half a file."""
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)
