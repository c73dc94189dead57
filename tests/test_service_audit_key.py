"""The audit chain resists whoever can write the database: its rows are signed with a key kept outside
it, and signed checkpoints exported outside it pin its length. Each attack here is done as a
database administrator would do it, with plain SQL through the driver, and checked with the command
an auditor runs, ``hazleads audit verify``; on SQLite and PostgreSQL."""

from __future__ import annotations

import hashlib
import json
import stat

import pytest
from typer.testing import CliRunner

from hazleads.cli.main import app as cli
from hazleads.settings import Settings
from serving import audit
from serving.auditkeys import AuditKeyError, load_keys
from serving.auth import Principal
from serving.db import migrate
from serving.db.setup import open_database
from tests.reliability_support import raw_sql

ALICE = Principal(1, "alice", "investigator", "临桂区")
COLS = ("id", "at", "user_id", "user_name", "role", "action", "entity_ids", "model_version", "result", "request_id",
        "prev_hash", "hash", "key_id")


@pytest.fixture
def home(db_url, tmp_path, monkeypatch):
    """A home folder (key, checkpoints) for the database ``db_url``, as the command line sees it."""
    h = tmp_path / "home"
    monkeypatch.setenv("HAZLEADS_HOME", str(h))
    monkeypatch.setenv("HAZLEADS_DATABASE_URL", db_url)
    monkeypatch.delenv("HAZLEADS_AUDIT_KEY", raising=False)
    return Settings(home=h, database_url=db_url)


def _append(settings: Settings, n: int, start: int = 0) -> None:
    db = open_database(settings)
    try:
        for i in range(start, start + n):
            with db.write() as s:
                audit.append(s, ALICE, "tip.read", [f"T{i}"], model_version="7", request_id=f"r{i}")
    finally:
        db.dispose()


def _checkpoint(settings: Settings):
    db = open_database(settings)
    try:
        return audit.write_checkpoint(db, settings.audit_checkpoint_path)
    finally:
        db.dispose()


def _verify() -> tuple[int, str]:
    r = CliRunner().invoke(cli, ["audit", "verify"])
    return r.exit_code, r.output


def _rows(url) -> list[dict]:
    return [dict(zip(COLS, r, strict=True)) for r in raw_sql(url, f"SELECT {', '.join(COLS)} FROM audit_log ORDER BY id")]


def _rewrite(url, rows: list[dict], keyed_as_before: bool) -> None:
    """What an administrator without the key can do: recompute every hash from the first row on with
    the published algorithm, unkeyed (SHA-256), keeping or dropping the key ids, then fix the head."""
    prev = audit.GENESIS
    statements, params = [], []
    for r in rows:
        r = {**r, "prev_hash": prev, "key_id": r["key_id"] if keyed_as_before else None}
        fields = audit.FIELDS if keyed_as_before else audit.LEGACY_FIELDS
        data = json.dumps({k: r[k] for k in fields}, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        r["hash"] = hashlib.sha256((prev + data).encode("utf-8")).hexdigest()
        statements.append("UPDATE audit_log SET user_name = ?, prev_hash = ?, hash = ?, key_id = ? WHERE id = ?")
        params.append((r["user_name"], r["prev_hash"], r["hash"], r["key_id"], r["id"]))
        prev = r["hash"]
    statements.append("UPDATE audit_head SET last_id = ?, last_hash = ? WHERE id = 1")
    params.append((rows[-1]["id"], prev))
    raw_sql(url, *statements, params=params)


@pytest.mark.parametrize("keyed_as_before", [True, False], ids=["key ids kept", "rows made unkeyed"])
@pytest.mark.parametrize("with_checkpoints", [True, False], ids=["checkpointed", "no checkpoint yet"])
def test_a_chain_rewritten_with_plain_sql_does_not_verify(home, db_url, keyed_as_before, with_checkpoints):
    _append(home, 6)
    if with_checkpoints:
        assert _checkpoint(home).id == 6
    else:
        home.audit_checkpoint_path.unlink(missing_ok=True)
    assert _verify() == (0, "审计链完整 audit chain intact: 6 row(s), " + f"{int(with_checkpoints)} checkpoint(s)\n")
    rows = _rows(db_url)
    rows[2]["user_name"] = "mallory"  # the one change the rewrite is for
    _rewrite(db_url, rows, keyed_as_before)
    code, out = _verify()
    assert code == 1, out
    if keyed_as_before:  # the key ids name the key, but the hashes were not made with it
        assert "row 1" in out and "rewritten without the key" in out
    elif with_checkpoints:  # valid unkeyed hashes, but not the chain the checkpoint signed
        assert "row 6 is not the row checkpointed" in out, out
    else:
        assert "none of the 6 rows is signed with the audit key" in out


def test_a_row_appended_without_the_key_does_not_verify(home, db_url):
    """A forged row added at the end, chained with the published unkeyed algorithm and the head moved to it."""
    _append(home, 4)
    last = _rows(db_url)[-1]
    row = {**last, "id": 5, "user_name": "mallory", "action": "outcome.create.tip", "prev_hash": last["hash"], "key_id": None}
    row["hash"] = hashlib.sha256((row["prev_hash"] + audit.canonical(row, keyed=False)).encode("utf-8")).hexdigest()
    raw_sql(db_url, f"INSERT INTO audit_log ({', '.join(COLS)}) VALUES ({', '.join('?' * len(COLS))})",
            "UPDATE audit_head SET last_id = 5, last_hash = ? WHERE id = 1", params=[tuple(row[c] for c in COLS), (row["hash"],)])
    code, out = _verify()
    assert code == 1 and "row 5 carries no key after keyed rows" in out, out


def test_a_truncated_tail_does_not_verify_once_checkpointed(home, db_url):
    _append(home, 10)
    assert _checkpoint(home).id == 10
    _append(home, 2, start=10)
    rows = _rows(db_url)
    # the tail cut and the head set back to the new last row: the chain itself is consistent again
    raw_sql(db_url, "DELETE FROM audit_log WHERE id > 7", "UPDATE audit_head SET last_id = ?, last_hash = ? WHERE id = 1",
            params=[(), (7, rows[6]["hash"])])
    code, out = _verify()
    assert code == 1 and "chain ends at row 7 but row 10 was checkpointed" in out, out
    assert "rows 8..10 were removed" in out


def test_a_checkpoint_altered_or_forged_in_its_file_does_not_verify(home, db_url):
    _append(home, 3)
    _checkpoint(home)
    path = home.audit_checkpoint_path
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    line = json.loads(path.read_text(encoding="utf-8"))
    path.write_text(json.dumps({**line, "id": 2}) + "\n", encoding="utf-8")
    code, out = _verify()
    assert code == 1 and "signature of the checkpoint at row 2 does not hold" in out, out


def test_the_key_is_private_made_once_and_never_in_the_database(home, db_url, monkeypatch):
    _append(home, 2)
    key_file = home.home_dir / "audit.key"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600 and stat.S_IMODE(home.home_dir.stat().st_mode) == 0o700
    keys = load_keys(home)
    assert load_keys(home) == keys and len(keys.current) == 32
    dump = repr(raw_sql(db_url, "SELECT * FROM audit_log")) + repr(raw_sql(db_url, "SELECT * FROM audit_head"))
    assert keys.current.hex() not in dump and keys.current_id in dump
    key_file.chmod(0o644)
    with pytest.raises(AuditKeyError, match="chmod 600"):
        load_keys(home)
    code, out = _verify()
    assert code == 2 and "chmod 600" in out
    key_file.chmod(0o600)
    monkeypatch.setenv("HAZLEADS_AUDIT_KEY", "too short")
    with pytest.raises(AuditKeyError, match="at least 32"):
        load_keys(Settings(home=home.home, database_url=db_url))
    monkeypatch.setenv("HAZLEADS_AUDIT_KEY", "a key set by the operator, longer than 32 characters")
    env_keys = load_keys(Settings(home=home.home, database_url=db_url))
    assert env_keys.current_id != keys.current_id
    code, out = _verify()  # the rows were signed with the file's key, which is not the one given now
    assert code == 1 and f"audit key {keys.current_id}, which is not in the keyring" in out, out


def test_without_the_key_nothing_verifies_and_nothing_is_made(home, db_url):
    _append(home, 2)
    (home.home_dir / "audit.key").rename(home.home_dir / "elsewhere.key")
    code, out = _verify()
    assert code == 2 and "no audit key" in out
    assert not (home.home_dir / "audit.key").exists()  # verify never makes a key


def test_key_rotation_keeps_earlier_rows_verifiable(home, db_url):
    _append(home, 3)
    old = load_keys(home).current_id
    r = CliRunner().invoke(cli, ["audit", "rotate-key"])
    assert r.exit_code == 0, r.output
    new = load_keys(home).current_id
    assert new != old and (home.home_dir / "audit-keys" / f"{old}.key").exists()
    assert stat.S_IMODE((home.home_dir / "audit-keys").stat().st_mode) == 0o700
    _append(home, 2, start=3)
    code, out = _verify()
    assert code == 0 and "6 row(s), 2 checkpoint(s)" in out, out  # 3, the rotation's own row, 2 more
    rows = _rows(db_url)
    assert [r["key_id"] for r in rows] == [old] * 3 + [new] * 3 and rows[3]["action"] == "audit.key_rotated"
    (home.home_dir / "audit-keys" / f"{old}.key").unlink()  # the retired key lost: its rows cannot be checked
    code, out = _verify()
    assert code == 1 and f"audit key {old}, which is not in the keyring" in out


def test_a_chain_from_before_the_key_is_sealed_at_the_upgrade_and_stays_checked(home, db_url):
    """A database made by the previous version (revision 0001, rows hashed without a key) is upgraded:
    its rows are kept, sealed by a first keyed row, and still checked; rewriting one of them, or
    turning the keyed rows into unkeyed ones, does not verify."""
    from serving.db.engine import Database

    bare = Database(db_url)
    migrate.upgrade(db_url, "0001", engine=bare.write_engine)
    bare.dispose()
    prev, statements, params = audit.GENESIS, [], []
    for i in range(1, 4):
        row = {"id": i, "at": f"2026-12-0{i}T08:00:00.000000Z", "user_id": 1, "user_name": "alice", "role": "investigator",
               "action": "tip.read", "entity_ids": json.dumps([f"T{i}"]), "model_version": "6", "result": "ok",
               "request_id": f"old{i}", "prev_hash": prev}
        h = hashlib.sha256((prev + audit.canonical(row, keyed=False)).encode("utf-8")).hexdigest()
        statements.append("INSERT INTO audit_log (id, at, user_id, user_name, role, action, entity_ids, model_version, "
                          "result, request_id, prev_hash, hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)")
        params.append((*row.values(), h))
        prev = h
    statements.append("UPDATE audit_head SET last_id = 3, last_hash = ? WHERE id = 1")
    params.append((prev,))
    raw_sql(db_url, *statements, params=params)
    r = CliRunner().invoke(cli, ["audit", "checkpoint"])  # the first command of this version: the key is
    assert r.exit_code == 0 and "checkpoint at row 4" in r.output, r.output  # made, the database migrated and sealed
    code, out = _verify()
    assert code == 0 and "4 row(s), 1 checkpoint(s), 3 row(s) from before the key" in out, out
    rows = _rows(db_url)
    assert [r["key_id"] is None for r in rows] == [True, True, True, False] and rows[3]["action"] == "audit.keyed"
    _append(home, 1)
    assert _verify()[0] == 0
    rows = _rows(db_url)
    raw_sql(db_url, "UPDATE audit_log SET user_name = 'mallory' WHERE id = 2")
    code, out = _verify()
    assert code == 1 and "row 2" in out
    raw_sql(db_url, "UPDATE audit_log SET user_name = 'alice' WHERE id = 2")
    assert _verify()[0] == 0
    _rewrite(db_url, rows, keyed_as_before=False)  # every row made "from before the key"
    code, out = _verify()
    assert code == 1 and "row 4 is not the row checkpointed" in out, out
    home.audit_checkpoint_path.unlink()
    code, out = _verify()
    assert code == 1 and "none of the 5 rows is signed" in out, out


def test_the_service_exports_checkpoints_and_the_api_holds_the_chain_to_them(db_url, tmp_path, hand_snapshot):
    from tests.reliability_support import wait_for
    from tests.service_support import start_service

    with start_service(db_url, tmp_path, hand_snapshot, settings={"audit_checkpoint_s": 1.0}) as svc:
        for _ in range(3):
            svc.get("inv", "/v1/leads/enterprises")
        path = svc.rt.settings.audit_checkpoint_path
        wait_for(lambda: path.exists() and path.read_text(), 20, "the service's first checkpoint")
        v = svc.get("auditor", "/v1/audit/verify").json()
        assert v["ok"] and v["checkpoints"] >= 1, v
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
        first = json.loads(path.read_text(encoding="utf-8").splitlines()[0])
        path.write_text(json.dumps({**first, "hash": "0" * 64}) + "\n", encoding="utf-8")  # an altered checkpoint
        v = svc.get("auditor", "/v1/audit/verify").json()
        assert not v["ok"] and "does not hold" in v["reason"], v
    lines = path.read_text(encoding="utf-8").splitlines()
    assert len(lines) >= 2  # and one more when the service stopped
