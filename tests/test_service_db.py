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
from serving.auditkeys import AuditKeys
from serving.auth import Principal
from serving.db import migrate
from serving.db.engine import Database
from serving.db.models import AuditEntry, AuditHead, Base, Job

TABLES = {"users", "scoring_runs", "leads", "ledger_mismatch", "tips", "outcomes", "jobs", "audit_log", "audit_head",
          "cases", "case_events", "handovers"}
ALICE = Principal(1, "alice", "investigator", "临桂区")


KEYS = AuditKeys.of(b"a test audit key, 32 bytes or more")


@pytest.fixture
def db(db_url):
    d = Database(db_url, audit_keys=KEYS)
    migrate.upgrade(d.url, engine=d.write_engine)
    yield d
    d.dispose()


def test_migrations_up_down_up_match_the_models(db_url):
    d = Database(db_url)
    try:
        migrate.upgrade(d.url, engine=d.write_engine)
        assert migrate.current(d.engine) == migrate.HEAD
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


ROWS_0001 = [  # one row in every table of revision 0001, as the previous version wrote them
    "INSERT INTO users (id, name, role, county, token_hash, created_at, disabled) VALUES "
    "(1, 'wang', 'investigator', '临桂区', '" + "a" * 64 + "', '2026-01-02 03:04:05', false)",
    "INSERT INTO scoring_runs (id, as_of, snapshot_digest, enterprise_version, tip_version, site_scoring, trigger, "
    "created_at, duration_s, n_enterprise, n_tip, n_site, n_mismatch) VALUES "
    "(1, '2021-04-01', 'd', '7', '7', 'rules', 'start', '2026-01-02 03:04:05', 1.5, 1, 0, 0, 1)",
    "INSERT INTO leads (id, run_id, kind, entity_id, rank, county_rank, score, exploration, county, industries, "
    "categories, enterprise_ids, vehicle_ids, reasons, reasons_en, evidence) VALUES "
    "(1, 1, 'enterprise', 'E1', 1, 1, 0.9, false, '临桂区', ';C2662;', ';HW08;', 'E1', '', '[]', '[]', '{}')",
    "INSERT INTO ledger_mismatch (id, run_id, enterprise_id, county, month, waste_code, category, unaccounted_t, score) "
    "VALUES (1, 1, 'E1', '临桂区', '2021-02', '900-214-08', 'HW08', 9.0, 0.8)",
    "INSERT INTO tips (tip_id, source, received_at, channel, text, jurisdiction, reasons, reasons_en, enterprise_ids, "
    "vehicle_ids, corroboration, created_by, created_at) VALUES "
    "('W1', 'intake', '2021-03-01 08:00:00', 'informant', '内部人员反映', '临桂区', '[]', '[]', '', '', '{}', 1, "
    "'2026-01-02 03:04:05')",
    "INSERT INTO outcomes (id, entity_kind, entity_id, jurisdiction, outcome, opened, note, tip_id, recorded_by, recorded_at) "
    "VALUES (1, 'tip', 'W1', '临桂区', 'open', '2021-03-02', '核查中', 'W1', 1, '2026-01-02 03:04:05')",
    "INSERT INTO jobs (id, kind, status, requested_by, started_at, params, result) VALUES "
    "(1, 'training', 'succeeded', 1, '2026-01-02 03:04:05', '{}', '{}')",
    "INSERT INTO audit_log (id, at, user_id, user_name, role, action, entity_ids, result, prev_hash, hash) VALUES "
    "(1, '2026-01-02T03:04:05.000000Z', 1, 'wang', 'investigator', 'tip.read', '[\"W1\"]', 'ok', '" + "0" * 64 + "', '"
    + "b" * 64 + "')",
]
TABLE_KEYS = {"users": "id", "scoring_runs": "id", "leads": "id", "ledger_mismatch": "id", "tips": "tip_id",
              "outcomes": "id", "jobs": "id", "audit_log": "id", "audit_head": "id"}


def _snapshot_rows(url) -> dict[str, list[tuple]]:
    from tests.reliability_support import raw_sql

    cols = {"users": "id, name, role, county, token_hash, created_at, disabled",
            "audit_log": "id, at, user_name, action, entity_ids, prev_hash, hash"}
    return {t: raw_sql(url, f"SELECT {cols.get(t, '*')} FROM {t} ORDER BY {k}") for t, k in TABLE_KEYS.items()}


def test_upgrading_a_database_of_the_previous_version_keeps_every_row(db_url):
    """Revision 0001 with a row in every table, upgraded to head: every row kept as it was, tokens given
    90 more days, old audit rows marked as written before the key; and back down and up again."""
    import datetime as dt

    from tests.reliability_support import raw_sql

    d = Database(db_url)
    try:
        migrate.upgrade(d.url, "0001", engine=d.write_engine)
        raw_sql(db_url, *ROWS_0001)
        before = _snapshot_rows(db_url)
        assert all(before[t] for t in TABLE_KEYS)
        migrate.upgrade(d.url, engine=d.write_engine)
        assert migrate.current(d.engine) == migrate.HEAD
        assert _snapshot_rows(db_url) == before
        issued, expires = raw_sql(db_url, "SELECT token_issued_at, token_expires_at FROM users")[0]
        assert str(issued).startswith("2026-01-02 03:04:05")
        days = (pd_ts(expires) - dt.datetime.now(dt.UTC).replace(tzinfo=None)).total_seconds() / 86400
        assert 89.9 < days <= 90.0
        assert raw_sql(db_url, "SELECT key_id FROM audit_log") == [(None,)]
        with d.engine.connect() as conn:
            assert compare_metadata(MigrationContext.configure(conn), Base.metadata) == []
        migrate.downgrade(d.url, "0001", engine=d.write_engine)
        assert _snapshot_rows(db_url) == before
        migrate.upgrade(d.url, engine=d.write_engine)
        assert _snapshot_rows(db_url) == before
    finally:
        d.dispose()


def pd_ts(value):
    import pandas as pd

    return pd.Timestamp(value).to_pydatetime()


def test_upgrading_a_0002_database_keeps_every_row_and_puts_outcomes_on_the_desk(db_url):
    """Revision 0002 with a row in every table (two outcomes about one tip, one about an enterprise),
    upgraded to 0003: every row kept as it was; each lead with outcomes is on the desk as its newest
    outcome says, with one history step; new cases get fresh ids; and back down and up again."""
    from tests.reliability_support import raw_sql

    d = Database(db_url)
    try:
        migrate.upgrade(d.url, "0002", engine=d.write_engine)
        raw_sql(db_url, *ROWS_0001)
        raw_sql(db_url, "INSERT INTO outcomes (id, entity_kind, entity_id, jurisdiction, outcome, violation, tonnes, "
                "opened, enterprise_id, tip_id, recorded_by, recorded_at) VALUES "
                "(2, 'tip', 'W1', '临桂区', 'unfounded', NULL, NULL, '2021-03-05', NULL, 'W1', 1, '2026-01-05 00:00:00'),"
                "(3, 'enterprise', 'E1', '临桂区', 'confirmed', '900-214-08', 4.5, '2021-03-06', 'E1', NULL, 1, "
                "'2026-01-06 00:00:00')")
        before = _snapshot_rows(db_url)
        assert len(before["outcomes"]) == 3
        migrate.upgrade(d.url, engine=d.write_engine)
        assert migrate.current(d.engine) == "0004" == migrate.HEAD
        assert _snapshot_rows(db_url) == before
        cases = raw_sql(db_url, "SELECT entity_kind, entity_id, jurisdiction, status, concluded_at FROM cases ORDER BY id")
        assert [c[:4] for c in cases] == [("enterprise", "E1", "临桂区", "已结案-属实"), ("tip", "W1", "临桂区", "已结案-不属实")]
        assert all(c[4] is not None for c in cases)
        assert raw_sql(db_url, "SELECT count(*) FROM case_events")[0][0] == 2
        with d.engine.connect() as conn:
            assert compare_metadata(MigrationContext.configure(conn), Base.metadata) == []
        raw_sql(db_url, "INSERT INTO cases (entity_kind, entity_id, status, created_at, updated_at) "
                "VALUES ('site', 'S1', '核查中', '2026-02-01 00:00:00', '2026-02-01 00:00:00')")
        assert raw_sql(db_url, "SELECT id FROM cases WHERE entity_id = 'S1'") == [(3,)]
        migrate.downgrade(d.url, "0002", engine=d.write_engine)
        assert _snapshot_rows(db_url) == before
        assert "cases" not in set(inspect(d.engine).get_table_names())
        migrate.upgrade(d.url, engine=d.write_engine)
        assert _snapshot_rows(db_url) == before
    finally:
        d.dispose()
