"""The split of ``make test`` over two processes (``tests/parallel.py``): the modules that share an
expensive session fixture (or must run in order on one home) form one unit of work, and a folder
built for the whole run is built by one process while the others wait for it."""

from __future__ import annotations

import json
import multiprocessing
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.parallel import HEAVY_FIRST, build_once, group_of_module

ROOT = Path(__file__).resolve().parent.parent


def test_a_module_takes_the_group_of_its_first_shared_fixture_else_is_its_own():
    assert group_of_module({"tmp_path", "reliability_home", "small_snapshot"}, "tests/a.py") == "reliability"
    assert group_of_module({"ui", "trained_home"}, "tests/b.py") == "trained_home"  # the first in the table
    assert group_of_module({"small_snapshot", "tmp_path"}, "tests/c.py") == "tests/c.py"  # shared by a file lock
    assert HEAVY_FIRST[:2] == ("reliability", "trained_home")


def test_a_worker_writes_the_groups_of_the_real_modules_and_puts_the_heavy_ones_first(tmp_path):
    # collected as a worker would (PYTEST_XDIST_WORKER set): the crash tests and the short soak, which run in
    # order on one home, are one group; so are the trained home's readers; the table lands in the run's folder
    env = {**os.environ, "PYTEST_XDIST_WORKER": "gw0"}
    (tmp_path / "run").mkdir()  # xdist's controller makes the run's folder, each worker its own inside
    files = ["tests/test_stops.py", "tests/test_reliability_soak.py", "tests/test_reliability_crash.py",
             "tests/test_training_warm.py", "tests/test_reasons_city.py"]
    out = subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "--co", "-q",
                          "--basetemp", str(tmp_path / "run" / "popen-gw0"), *files],
                         cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stdout[-2000:] + out.stderr[-2000:]
    groups = json.loads((tmp_path / "run" / "xdist-groups.json").read_text(encoding="utf-8"))
    assert groups["tests/test_reliability_crash.py"] == groups["tests/test_reliability_soak.py"] == "reliability"
    assert groups["tests/test_training_warm.py"] == groups["tests/test_reasons_city.py"] == "trained_home"
    assert groups["tests/test_stops.py"] == "tests/test_stops.py"
    order = [line.split("::")[0] for line in out.stdout.splitlines() if "::" in line]
    first_plain = order.index("tests/test_stops.py")
    assert set(order[:first_plain]) == {"tests/test_reliability_crash.py", "tests/test_reliability_soak.py",
                                        "tests/test_training_warm.py", "tests/test_reasons_city.py"}
    assert order[:first_plain].index("tests/test_reliability_crash.py") < order.index("tests/test_training_warm.py")


class _Factory:
    """What ``build_once`` asks of pytest's ``tmp_path_factory``."""

    def __init__(self, base: Path) -> None:
        self.base = base

    def getbasetemp(self) -> Path:
        return self.base


def _make(folder: Path) -> None:
    with open(folder.parent / "builds.log", "a") as fh:
        fh.write(f"{os.getpid()}\n")
    time.sleep(0.3)  # long enough for the other process to arrive while this one builds
    (folder / "made").write_text("x")


def _ask(base: str, worker: str, answers) -> None:
    os.environ["PYTEST_XDIST_WORKER"] = worker
    folder = build_once(_Factory(Path(base) / f"popen-{worker}"), "thing", _make)
    answers.put((str(folder), (folder / "made").exists()))


def test_two_workers_asking_at_once_get_one_build_of_the_shared_folder(tmp_path):
    ctx = multiprocessing.get_context("fork")
    answers = ctx.Queue()
    procs = [ctx.Process(target=_ask, args=(str(tmp_path), w, answers)) for w in ("gw0", "gw1")]
    for p in procs:
        p.start()
    for p in procs:
        p.join(30)
    got = [answers.get(timeout=5) for _ in procs]
    assert got == [(str(tmp_path / "thing"), True)] * 2  # both see the finished folder
    assert len((tmp_path / "builds.log").read_text().split()) == 1


def test_a_build_that_failed_half_way_is_started_again(tmp_path, monkeypatch):
    factory = _Factory(tmp_path / "popen-gw0")
    monkeypatch.setenv("PYTEST_XDIST_WORKER", "gw0")

    def broken(folder: Path) -> None:
        (folder / "half").write_text("x")
        raise RuntimeError("disk full")

    with pytest.raises(RuntimeError):
        build_once(factory, "thing", broken)
    folder = build_once(factory, "thing", _make)
    assert (folder / "made").exists() and not (folder / "half").exists()
