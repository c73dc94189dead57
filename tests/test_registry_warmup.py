"""The registry readied in a thread while a run loads (``training.registry_warmup``): the store only
once opened, never a fork while the thread runs, a failure left to the run's own ``configure``."""

from __future__ import annotations

import os
import sqlite3
import threading
import time

from hazleads.settings import Settings
from training import registry
from training.registry_warmup import RegistryWarmup


def _settings(tmp_path, db="mlflow.db"):
    return Settings(home=tmp_path / "home", mlflow_tracking_uri=f"sqlite:///{tmp_path / db}")


def _child_exit(flag: list) -> int:
    """Fork; the child exits 0 if it inherited ``flag`` set, 3 if not. Returns the child's exit code."""
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child
        os._exit(0 if flag else 3)
    _, status = os.waitpid(pid, 0)
    return os.waitstatus_to_exitcode(status)


def test_an_opened_warmup_leaves_the_store_ready(tmp_path):
    settings = _settings(tmp_path)
    with RegistryWarmup(settings) as warm:
        warm.open()
    assert warm.opened and not warm.running
    with sqlite3.connect(tmp_path / "mlflow.db") as con:
        names = [r[0] for r in con.execute("select name from experiments")]
    assert registry.EXPERIMENT in names
    assert registry.configure(settings) == settings.mlflow_uri  # the run's own call still works


def test_an_opened_warmup_builds_mlflow_s_map_of_installed_packages(tmp_path, monkeypatch):
    # logging a model reads it (MLflow builds it once per process, about 0.5 s): built meanwhile
    from mlflow.utils import requirements_utils

    monkeypatch.setattr(requirements_utils, "_MODULES_TO_PACKAGES", None)
    with RegistryWarmup(_settings(tmp_path)) as warm:
        warm.open()
    assert requirements_utils._MODULES_TO_PACKAGES and "lightgbm" in requirements_utils._MODULES_TO_PACKAGES


def test_a_warmup_never_opened_creates_no_store(tmp_path):
    settings = _settings(tmp_path)
    called = []
    with RegistryWarmup(settings, store=called.append) as warm:
        pass  # the snapshot was refused: open() never called
    assert not warm.running and not warm.opened and called == []
    assert not (tmp_path / "mlflow.db").exists()


def test_a_fork_waits_for_an_opened_warmup(tmp_path):
    """The child of a fork made while the store is being opened sees it finished: the hook waited."""
    done: list = []

    def slow_store(_settings):
        time.sleep(0.4)
        done.append(True)

    with RegistryWarmup(_settings(tmp_path), imports=lambda: None, store=slow_store) as warm:
        warm.open()
        assert _child_exit(done) == 0
        assert not warm.running and done == [True]


def test_a_fork_before_open_skips_the_store_and_waits_for_the_imports(tmp_path):
    imported: list = []
    stored: list = []
    release = threading.Event()

    def slow_imports():
        release.wait(5)
        time.sleep(0.2)
        imported.append(True)

    with RegistryWarmup(_settings(tmp_path), imports=slow_imports, store=stored.append) as warm:
        release.set()
        assert _child_exit(imported) == 0  # the imports finished before the fork
        warm.open()  # too late: the thread has ended, the run's configure opens the store
        assert not warm.running
    assert stored == [] and not warm.opened


def test_a_failed_warmup_is_silent(tmp_path, monkeypatch):
    """A failure ends the thread quietly (no uncaught exception reaches the thread hook); the run's
    own configure meets the error again."""
    uncaught: list = []
    monkeypatch.setattr(threading, "excepthook", uncaught.append)

    def broken(_settings):
        raise RuntimeError("the store cannot be opened")

    with RegistryWarmup(_settings(tmp_path), imports=lambda: None, store=broken) as warm:
        warm.open()
    assert not warm.opened and not warm.running and uncaught == []


def test_only_a_sqlite_store_is_opened_by_the_warmup(tmp_path):
    stored: list = []
    settings = Settings(home=tmp_path / "home", mlflow_tracking_uri="postgresql://127.0.0.1:1/none")
    with RegistryWarmup(settings, imports=lambda: None, store=stored.append) as warm:
        warm.open()
    assert stored == [] and not warm.opened


def test_a_new_store_is_made_whole_and_an_in_memory_one_left_to_mlflow(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    registry._create_sqlite_store("sqlite:///:memory:")
    assert list(tmp_path.iterdir()) == []  # no file named ":memory:" (nor a side file) in the folder
    (tmp_path / ".mlflow.db.999.new").write_bytes(b"half made by a killed process")
    registry._create_sqlite_store(f"sqlite:///{tmp_path / 'mlflow.db'}")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["mlflow.db"]
    with sqlite3.connect(tmp_path / "mlflow.db") as con:
        tables = {r[0] for r in con.execute("select name from sqlite_master where type='table'")}
    assert {"experiments", "registered_models", "alembic_version"} <= tables and not any(t.startswith("_alembic_tmp") for t in tables)
