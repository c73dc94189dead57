"""Database fixtures: every database test runs on SQLite and on PostgreSQL (a fresh database per
test, dropped afterwards).

Which PostgreSQL: ``HAZLEADS_TEST_POSTGRES_URL`` if set (CI sets it; set but unusable is a failure,
not a skip, so CI cannot pass silently without its PostgreSQL half; ``off`` skips the half on
purpose); otherwise the server at the default address, ``DEFAULT_POSTGRES``, whenever one answers
there, so that a plain ``make test`` on a machine with PostgreSQL runs both halves."""

from __future__ import annotations

import functools
import os
import socket
import uuid

import pytest
from sqlalchemy import create_engine
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError

# The session fixtures that simulate, train or start a cluster, registered once for every module:
# importing them into test modules instead made a copy per module (the small city was simulated
# seven times, trained twice, and the Dask cluster started twice in one run).
pytest_plugins = ("tests.parallel", "tests.e2e_fixtures", "tests.distributed_fixtures", "tests.reliability_fixtures", "tests.web_fixtures")

_MLFLOW_ENV_AT_START = os.environ.get("MLFLOW_TRACKING_URI")


@pytest.fixture(autouse=True)
def _mlflow_store_not_leaked(request):
    """``mlflow.set_tracking_uri`` exports its URI to the environment, and the settings read that as the
    user's choice: a test or fixture that leaves it set sends every later training and registry read to
    its store (a whole-suite run once loaded the wrong champions that way). Checked at every test's start."""
    now = os.environ.get("MLFLOW_TRACKING_URI")
    if now != _MLFLOW_ENV_AT_START:
        if _MLFLOW_ENV_AT_START is None:
            os.environ.pop("MLFLOW_TRACKING_URI", None)
        else:
            os.environ["MLFLOW_TRACKING_URI"] = _MLFLOW_ENV_AT_START
        pytest.fail(f"MLFLOW_TRACKING_URI was left set to {now!r} by an earlier test or fixture "
                    f"(before {request.node.nodeid}); restore it (tests/service_support.py mlflow_env_kept)")


POSTGRES_ENV = "HAZLEADS_TEST_POSTGRES_URL"
DEFAULT_POSTGRES = "postgresql+psycopg2://postgres@127.0.0.1:5432/test"
OFF = ("off", "none", "0", "no")


def _answers(url: str) -> str | None:
    """None if a PostgreSQL server at ``url`` accepts a query, else why not (one line)."""
    u = make_url(url)
    try:
        with socket.create_connection((u.host or "127.0.0.1", u.port or 5432), timeout=0.5):
            pass
    except OSError as exc:
        return f"nothing answers at {u.host}:{u.port or 5432} ({exc.strerror or exc})"
    engine = create_engine(url, connect_args={"connect_timeout": 3})
    try:
        with engine.connect() as conn:
            conn.exec_driver_sql("SELECT 1")
    except SQLAlchemyError as exc:
        return str(exc).splitlines()[0]
    finally:
        engine.dispose()
    return None


@functools.cache
def postgres_choice() -> tuple[str | None, str]:
    """(URL of the PostgreSQL to test on or None, why)."""
    url = os.environ.get(POSTGRES_ENV)
    if url is not None and url.strip().lower() in OFF:
        return None, f"{POSTGRES_ENV}={url}: the PostgreSQL half is switched off"
    if url:
        return url, f"{POSTGRES_ENV} is set"
    why = _answers(DEFAULT_POSTGRES)
    if why is None:
        return DEFAULT_POSTGRES, f"a server answers at {DEFAULT_POSTGRES}"
    return None, (f"{POSTGRES_ENV} is not set and no usable PostgreSQL at the default address "
                  f"{DEFAULT_POSTGRES}: {why}")


@pytest.fixture(scope="session")
def postgres_server():
    """An AUTOCOMMIT engine on the PostgreSQL server the tests use (``postgres_choice``)."""
    url, why = postgres_choice()
    if url is None:
        pytest.skip(f"PostgreSQL half of the database tests skipped: {why}")
    engine = create_engine(url, isolation_level="AUTOCOMMIT", connect_args={"connect_timeout": 5})
    try:
        with engine.connect() as conn:
            conn.exec_driver_sql("SELECT 1")
    except SQLAlchemyError as exc:
        pytest.fail(f"{why} but PostgreSQL cannot be used: {str(exc).splitlines()[0]}")
    yield engine
    engine.dispose()


@pytest.fixture
def postgres_url(postgres_server):
    """A fresh, empty PostgreSQL database for one test."""
    name = f"hazleads_test_{uuid.uuid4().hex[:12]}"
    with postgres_server.connect() as conn:
        conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    yield make_url(postgres_server.url).set(database=name).render_as_string(hide_password=False)
    with postgres_server.connect() as conn:
        conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def db_url(request, tmp_path):
    """A fresh, empty database URL: SQLite in the test's folder, or a new PostgreSQL database."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'service.db'}"
    return request.getfixturevalue("postgres_url")


# ---- the service over a hand-built snapshot (tests/service_support.py) -------------------------


@pytest.fixture(scope="session")
def hand_snapshot(tmp_path_factory):
    """The hand-built snapshot, loaded, with its features at its last day (built once)."""
    from features import load_snapshot
    from features.build import build, place_index
    from features.snapshot import snapshot_digest
    from tests.service_support import write_service_snapshot

    folder = tmp_path_factory.mktemp("hand")
    path = write_service_snapshot(folder / "snapshot")
    snap = load_snapshot(path)
    return {"path": path, "snapshot": snap, "digest": snapshot_digest(path), "places": place_index(snap),
            "features": build(snap, snap.last_day), "mlflow_uri": f"sqlite:///{folder / 'mlflow.db'}"}


@pytest.fixture
def service(db_url, tmp_path, hand_snapshot):
    """A running app on a fresh database, with two stored lists and one user of every kind."""
    from tests.service_support import start_service

    with start_service(db_url, tmp_path, hand_snapshot) as harness:
        yield harness
