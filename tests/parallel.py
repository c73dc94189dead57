"""How ``make test`` splits the suite over two processes (pytest-xdist, ``-n 2``).

Every test module is one unit of work (its module fixtures are built once), except that modules
asking for one of the expensive session fixtures below run together on one worker, so that fixture
is built once per run, not once per worker: the crash tests and the short soak share one home and
must run in order on it; the trained home, the Dask cluster, the web page's service and the
simulator's own world are each built by one worker only. The small snapshot, which many groups
read, is simulated once per run and shared between the workers through a file lock
(``build_once``).

Which module belongs to which group is known only where the tests are collected (the workers): each
worker writes the table into the run's shared folder, and the controller's scheduler
(``GroupScheduling``, a ``LoadScopeScheduling`` whose scope is the group) reads it once every worker
has collected. xdist's own ``--dist loadgroup`` is not used: it marks the group in the node id, which
pytest 9.2 no longer lets a plugin change. On the workers the heaviest groups are put first and the
scheduler keeps that order, so the two longest ones start at once instead of one of them ending the
run alone. A serial ``pytest`` (no ``-n``) runs in the usual order.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
from pathlib import Path

import pytest

# (session fixture, group), in the order the groups are started: heaviest first (seconds of wall in
# BENCHMARKS.md, "Test suite"). A module asking for several takes the first.
SHARED_FIXTURES = (
    ("reliability_home", "reliability"),   # crash tests then the short soak, on one home, in order
    ("trained_home", "trained_home"),      # training end to end, the service end to end, reasons
    ("dask_client", "dask"),
    ("small_on_cluster", "dask"),
    ("small_features", "dask"),
    ("web", "web"),                        # the page's service and Chromium
    ("ui", "web"),
    ("small_world", "small_world"),        # the simulator's tests
)
HEAVY_FIRST = tuple(dict.fromkeys(group for _, group in SHARED_FIXTURES))


def worker() -> str | None:
    """This process's xdist worker id ("gw0", …), or None in a serial run."""
    return os.environ.get("PYTEST_XDIST_WORKER")


def shared_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder every worker of this run sees: the parent of the workers' own temporary folders under
    xdist, this session's temporary folder otherwise (never the user's folder of all pytest runs)."""
    base = tmp_path_factory.getbasetemp()
    return base.parent if worker() else base


@contextlib.contextmanager
def held(lock_path: Path):
    """An exclusive lock between the processes of this run, held for the ``with`` block."""
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    with open(lock_path, "a") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def build_once(tmp_path_factory: pytest.TempPathFactory, name: str, make) -> Path:
    """``make(folder)`` run by the first process of this run that asks for ``name``; the others wait
    for it and get the same folder. A build that failed half-way is started again by the next asker
    (completion is marked only after ``make`` returns)."""
    root = shared_folder(tmp_path_factory)
    folder, done = root / name, root / f"{name}.done"
    with held(root / f"{name}.lock"):
        if not done.exists():
            if folder.exists():
                import shutil

                shutil.rmtree(folder)
            folder.mkdir(parents=True)
            make(folder)
            done.touch()
    return folder


GROUPS_FILE = "xdist-groups.json"


def group_of_module(fixtures: set[str], module: str) -> str:
    for fixture, group in SHARED_FIXTURES:
        if fixture in fixtures:
            return group
    return module


def _module(item) -> str:
    """The path part of the item's node id (what the controller sees)."""
    return item.nodeid.split("::")[0]


@pytest.hookimpl(tryfirst=True)  # the table is of every collected module, before any -k deselection
def pytest_collection_modifyitems(config, items):
    """On a worker: write the table of groups for the controller and put the heavy groups first."""
    if not worker():
        return
    by_module: dict[str, set[str]] = {}
    for item in items:
        by_module.setdefault(_module(item), set()).update(getattr(item, "fixturenames", ()))
    groups = {module: group_of_module(names, module) for module, names in by_module.items()}
    root = Path(config._tmp_path_factory.getbasetemp()).parent  # the run's folder (see shared_folder)
    tmp = root / f"{GROUPS_FILE}.{worker()}"
    tmp.write_text(json.dumps(groups, ensure_ascii=False), encoding="utf-8")
    os.replace(tmp, root / GROUPS_FILE)  # every worker writes the same table
    rank = {group: i for i, group in enumerate(HEAVY_FIRST)}
    items.sort(key=lambda item: rank.get(groups[_module(item)], len(rank)))  # stable


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config, log):
    """The scheduler of a parallel run: whole groups to one worker, in the workers' order."""
    if config.getvalue("dist") == "no":
        return None
    from xdist.scheduler import LoadScopeScheduling

    class GroupScheduling(LoadScopeScheduling):
        def __init__(self, config, log=None) -> None:
            config.option.loadscopereorder = False  # keep the heavy-first order of the workers
            super().__init__(config, log)
            self._groups: dict[str, str] | None = None

        def _split_scope(self, nodeid: str) -> str:
            if self._groups is None:  # asked once every worker has collected (and written the table)
                path = Path(config._tmp_path_factory.getbasetemp()) / GROUPS_FILE
                self._groups = json.loads(path.read_text(encoding="utf-8")) if path.exists() else {}
            module = nodeid.split("::")[0]
            return self._groups.get(module, module)

    return GroupScheduling(config, log)
