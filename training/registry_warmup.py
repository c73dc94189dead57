"""The registry made ready in a thread while a training run loads its snapshot.

Recording a run opens MLflow's tracking store: some five hundred modules' imports (SQLAlchemy,
Alembic, MLflow's stores) and, in a new home, creating and migrating its tables. That took 2.4 s of
a cold city run and 1.3 s of a retraining, on one core, after the fitting (``registry.configure``).
A thread does it while the run loads, when the second core is not always busy:

- the imports at once: they change nothing on disk;
- the store (``registry.configure``) only after ``open()``, which the run calls once the snapshot
  has passed its checks and its dates fit. A run refused for a broken snapshot leaves no store
  behind, as before. Only a SQLite store (the embedded default, a file in the home): opening a
  server's store that does not answer is retried for minutes, and a fork would wait for it.

Two guarantees keep it from changing what a run does:

- **No fork while the thread runs.** A before-fork hook (``os.register_at_fork``) waits for it. A
  child forked beside a thread inherits the locks that thread held (SQLite's, the import lock)
  held for ever. A warm-up not yet opened is first told to skip the store, so the hook never waits
  for an ``open()`` that would come after the fork.
- **Its failure is silent.** The run calls ``registry.configure`` again when it records (cheap once
  the store is open), and that call raises what it raised before the warm-up existed.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable

from hazleads.settings import Settings

log = logging.getLogger(__name__)

_ACTIVE: set[RegistryWarmup] = set()
_ACTIVE_LOCK = threading.Lock()


def _imports() -> None:
    """What opening a SQLite tracking store and registering a model import (about 0.9 s)."""
    import mlflow.models.signature  # noqa: F401
    import mlflow.pyfunc  # noqa: F401
    import mlflow.store.model_registry.sqlalchemy_store  # noqa: F401
    import mlflow.store.tracking.sqlalchemy_store  # noqa: F401


def _open_store(settings: Settings) -> None:
    from training import registry

    registry.configure(settings)
    # logging a model checks its requirements against the installed packages, whose map MLflow
    # builds once per process from every distribution's metadata (about 0.5 s): built here meanwhile
    from mlflow.utils.requirements_utils import _init_modules_to_packages_map

    _init_modules_to_packages_map()


class RegistryWarmup:
    """``with RegistryWarmup(settings) as warm: ...; warm.open(); ...`` (see the module docstring).

    ``imports`` and ``store`` are the two steps (defaults: the modules, ``registry.configure``);
    tests pass slower or failing ones. Leaving the block waits for the thread; a warm-up never
    opened leaves the store alone."""

    def __init__(self, settings: Settings, imports: Callable[[], None] = _imports,
                 store: Callable[[Settings], None] = _open_store):
        self._settings = settings
        self._imports, self._store = imports, store
        self._decided = threading.Event()  # open() or skip(): whether the store is to be opened is known
        self._go = False
        self._local = settings.mlflow_uri.startswith("sqlite:///")  # see the module docstring
        self._thread = threading.Thread(target=self._run, name="registry-warmup", daemon=True)
        self.opened = False  # the store was opened by the thread (for tests and the benchmark)

    def __enter__(self) -> RegistryWarmup:
        with _ACTIVE_LOCK:
            _ACTIVE.add(self)
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.skip()
        self.join()

    def open(self) -> None:
        """The snapshot passed its checks: the thread may open the store."""
        if not self._decided.is_set():
            self._go = True
            self._decided.set()

    def skip(self) -> None:
        """The store is not to be opened by the thread (left to the run's own ``configure``)."""
        self._decided.set()

    def join(self) -> None:
        if self._thread.is_alive() and threading.current_thread() is not self._thread:
            self._thread.join()
        with _ACTIVE_LOCK:
            _ACTIVE.discard(self)

    @property
    def running(self) -> bool:
        return self._thread.is_alive()

    def _run(self) -> None:
        try:
            self._imports()
            self._decided.wait()
            if self._go and self._local:
                self._store(self._settings)
                self.opened = True
        except Exception as exc:  # the run's own configure raises it again when it records
            log.debug("registry warm-up failed (the run opens the store itself): %s", exc)


def _before_fork() -> None:
    """No fork while a warm-up thread runs: each is told to skip what it may not yet do, then waited for."""
    with _ACTIVE_LOCK:
        active = list(_ACTIVE)
    for warm in active:
        warm.skip()
        warm.join()


os.register_at_fork(before=_before_fork)
