"""The service's database on SQLite and PostgreSQL: migrations up and down, SQLite's safety
settings, the audit hash chain (and that tampering breaks it), one running job per kind."""

from __future__ import annotations

import threading

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import delete, inspect, select, text, update
from sqlalchemy.exc import IntegrityError

from serving import audit
from serving.auth import Principal
from serving.db import migrate
from serving.db.engine import Database
from serving.db.models import AuditEntry, AuditHead, Base, Job

TABLES = {"users", "scoring_runs", "leads", "ledger_mismatch", "tips", "outcomes", "jobs", "audit_log", "audit_head"}
ALICE = Principal(1, "alice", "investigator", "临桂区")


@pytest.fixture
def db(db_url):
    d = Database(db_url)
    migrate.upgrade(d.url, engine=d.write_engine)
    yield d
    d.dispose()


def test_migrations_up_down_up_match_the_models(db_url):
    d = Database(db_url)
    try:
        migrate.upgrade(d.url, engine=d.write_engine)
        assert migrate.current(d.engine) == "0001"
        assert TABLES <= set(inspect(d.engine).get_table_names())
        with d.engine.connect() as conn:
            assert compare_metadata(MigrationContext.configure(conn), Base.metadata) == []
        migrate.downgrade(d.url, "base", engine=d.write_engine)
        assert migrate.current(d.engine) is None
        assert not TABLES & set(inspect(d.engine).get_table_names())
        migrate.upgrade(d.url, engine=d.write_engine)
        assert TABLES <= set(inspect(d.engine).get_table_names())
        with d.read() as s:  # the chain's head is seeded by the migration
            assert s.get(AuditHead, 1).last_hash == audit.GENESIS
    finally:
        d.dispose()


def test_sqlite_runs_wal_with_busy_timeout_and_foreign_keys(tmp_path):
    d = Database(f"sqlite:///{tmp_path / 'x.db'}")
    try:
        for engine in (d.engine, d.write_engine):
            with engine.connect() as conn:
                assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
                assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() >= 5000
                assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        assert d.write_engine.pool.size() == 1  # one writer
    finally:
        d.dispose()


def _append(db, n: int, user=ALICE) -> None:
    for i in range(n):
        with db.write() as s:
            audit.append(s, user, "enterprise.read", [f"E{i}"], model_version="3", request_id=f"r{i}")


def test_audit_chain_verifies_and_names_an_edited_row(db):
    _append(db, 5)
    with db.read() as s:
        assert audit.verify(s).ok and audit.verify(s).rows == 5
    with db.write() as s:
        s.execute(update(AuditEntry).where(AuditEntry.id == 3).values(user_name="mallory"))
    with db.read() as s:
        v = audit.verify(s)
    assert not v.ok and v.first_bad_id == 3 and "edited" in v.reason


def test_audit_chain_detects_a_deleted_row_in_the_middle_and_at_the_end(db):
    _append(db, 5)
    with db.write() as s:
        s.execute(delete(AuditEntry).where(AuditEntry.id == 2))
    with db.read() as s:
        v = audit.verify(s)
    assert not v.ok and v.first_bad_id == 3 and "missing" in v.reason
    with db.write() as s:  # put back a forged row 2: its hash no longer chains
        s.add(AuditEntry(id=2, at="2021-01-01T00:00:00.000000Z", action="x", entity_ids="[]", result="ok",
                         prev_hash="f" * 64, hash="e" * 64))
    with db.read() as s:
        assert audit.verify(s).first_bad_id == 2
    with db.write() as s:
        s.execute(delete(AuditEntry))
        s.execute(update(AuditHead).values(last_id=0, last_hash=audit.GENESIS))
    _append(db, 3)
    with db.write() as s:
        s.execute(delete(AuditEntry).where(AuditEntry.id == 3))
    with db.read() as s:
        v = audit.verify(s)
    assert not v.ok and "removed at the end" in v.reason


def test_concurrent_appends_keep_one_unbroken_chain(db):
    errors = []

    def worker(k: int) -> None:
        try:
            _append(db, 10, Principal(k, f"u{k}", "investigator", None))
        except Exception as exc:  # noqa: BLE001
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(k,)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    with db.read() as s:
        v = audit.verify(s)
        assert v.ok and v.rows == 40
        assert [r for (r,) in s.execute(select(AuditEntry.id).order_by(AuditEntry.id))] == list(range(1, 41))


def test_at_most_one_running_job_of_a_kind(db):
    with db.write() as s:
        s.add(Job(kind="training", status="running", params="{}", result="{}"))
    with pytest.raises(IntegrityError), db.write() as s:
        s.add(Job(kind="training", status="running", params="{}", result="{}"))
    with db.write() as s:  # another kind, or a finished one, is fine
        s.add(Job(kind="scoring", status="running", params="{}", result="{}"))
        s.add(Job(kind="training", status="failed", params="{}", result="{}"))
    with db.read() as s:
        assert s.scalar(text("SELECT count(*) FROM jobs")) == 3
