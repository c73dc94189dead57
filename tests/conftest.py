"""Database fixtures: every database test runs on SQLite and, when ``HAZLEADS_TEST_POSTGRES_URL``
is set, on PostgreSQL too (a fresh database per test, dropped afterwards). Set but unreachable is
a failure, not a skip: CI must not pass silently without its PostgreSQL half."""

from __future__ import annotations

import os
import uuid

import pytest
from sqlalchemy import create_engine
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError

POSTGRES_ENV = "HAZLEADS_TEST_POSTGRES_URL"


@pytest.fixture(scope="session")
def postgres_server():
    """An AUTOCOMMIT engine on the server named by ``HAZLEADS_TEST_POSTGRES_URL``."""
    url = os.environ.get(POSTGRES_ENV)
    if not url:
        pytest.skip(f"{POSTGRES_ENV} is not set: PostgreSQL half of the database tests skipped "
                    "(CI sets postgresql+psycopg2://postgres@127.0.0.1:5432/test)")
    engine = create_engine(url, isolation_level="AUTOCOMMIT", connect_args={"connect_timeout": 5})
    try:
        with engine.connect() as conn:
            conn.exec_driver_sql("SELECT 1")
    except SQLAlchemyError as exc:
        pytest.fail(f"{POSTGRES_ENV} is set but PostgreSQL cannot be used: {str(exc).splitlines()[0]}")
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
