"""Durability: the service process killed (SIGKILL) while investigators record outcomes loses no
outcome whose request was answered with success, on SQLite and PostgreSQL; after a restart every
201-answered outcome is there once, with the id it was given, and the database and the audit
chain are whole. Plus: PostgreSQL stopped and restarted under a running service — every request
answers 503 with a reason while it is down, and succeeds again afterwards without a restart.
"""

from __future__ import annotations

import sqlite3
import threading
import uuid
from pathlib import Path

import httpx
import pytest
from sqlalchemy import create_engine
from sqlalchemy.engine import make_url

from tests.reliability_support import (
    ServiceProcess,
    ThrowawayPostgres,
    add_users,
    assert_clean_error,
    live_server,
    wait_for,
)
from tests.service_support import start_service


@pytest.mark.parametrize("db", ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def test_service_killed_while_recording_outcomes_loses_no_answered_outcome(db, request, tmp_path, hand_snapshot):
    home = tmp_path / "home"
    home.mkdir()
    db_url = f"sqlite:///{home / 'hazleads.db'}" if db == "sqlite" else request.getfixturevalue("postgres_url")
    h = add_users(db_url, {"inv": ("investigator", None), "aud": ("auditor", None)})
    env = {"HAZLEADS_HOME": str(home), "HAZLEADS_MLFLOW_TRACKING_URI": hand_snapshot["mlflow_uri"]}
    if db != "sqlite":
        env["HAZLEADS_DATABASE_URL"] = db_url
    svc = ServiceProcess(env, hand_snapshot["path"], tmp_path / "svc.log")
    answered: dict[str, int] = {}  # note -> outcome id, for every 201
    unanswered: list[str] = []
    lock = threading.Lock()
    stop = threading.Event()
    try:
        svc.wait_up()
        svc.wait_ready(h["inv"])

        def client(k: int) -> None:
            with httpx.Client(base_url=svc.url, headers=h["inv"], timeout=10) as c:
                i = 0
                while not stop.is_set():
                    note = f"c{k}-{i}"
                    i += 1
                    try:
                        r = c.post("/v1/outcomes", json={"entity_kind": "enterprise", "entity_id": f"E{1 + k % 5}",
                                                         "outcome": "confirmed", "violation": "dumping_3t", "tonnes": 3.5,
                                                         "note": note})
                    except httpx.HTTPError:
                        with lock:
                            unanswered.append(note)
                        if svc.proc.poll() is not None:
                            return
                        continue
                    with lock:
                        if r.status_code == 201:
                            answered[note] = r.json()["id"]
                        else:
                            unanswered.append(note)

        threads = [threading.Thread(target=client, args=(k,)) for k in range(8)]
        for t in threads:
            t.start()
        wait_for(lambda: len(answered) >= 40, 120, "outcomes to be recorded")
        svc.kill()  # mid-stream: eight requests in flight
        stop.set()
        for t in threads:
            t.join(timeout=60)
    finally:
        stop.set()
        svc.kill()
    assert len(answered) >= 40 and unanswered, "the kill came while requests were in flight"
    if db == "sqlite":
        conn = sqlite3.connect(home / "hazleads.db")
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        conn.close()
    again = ServiceProcess(env, hand_snapshot["path"], tmp_path / "svc-again.log")
    try:
        again.wait_up()
        stored: dict[str, list[int]] = {}
        offset = 0
        while True:
            page = httpx.get(f"{again.url}/v1/outcomes", params={"limit": 200, "offset": offset}, headers=h["inv"],
                             timeout=30).json()
            for o in page["items"]:
                stored.setdefault(o["note"], []).append(o["id"])
            offset += 200
            if offset >= page["total"]:
                break
        lost = {n: i for n, i in answered.items() if stored.get(n) != [i]}
        assert lost == {}, f"{len(lost)} outcome(s) answered 201 are missing or changed: {list(lost.items())[:5]}"
        assert all(len(ids) == 1 for ids in stored.values()), "an outcome stored twice"
        assert set(stored) <= set(answered) | set(unanswered)
        verdict = httpx.get(f"{again.url}/v1/audit/verify", headers=h["aud"], timeout=60).json()
        assert verdict["ok"], verdict
    finally:
        again.stop()


# ---- PostgreSQL stopped under the service --------------------------------------------------------------


@pytest.fixture(scope="module")
def throwaway_pg():
    """Our own PostgreSQL server (never the shared one at 5432), to stop and start at will."""
    why = ThrowawayPostgres.available()
    if why:
        pytest.skip(f"no throwaway PostgreSQL here: {why}")
    server = ThrowawayPostgres()
    try:
        server.start()
        yield server
    finally:
        server.close()


REQUESTS = [
    ("GET", "/v1/leads/enterprises", None, "inv"), ("GET", "/v1/enterprises/E1", None, "inv"),
    ("GET", "/v1/tips", None, "inv"), ("GET", "/v1/me", None, "auditor"), ("GET", "/v1/audit", None, "auditor"),
    ("POST", "/v1/outcomes", {"entity_kind": "enterprise", "entity_id": "E1", "outcome": "open", "note": "while down"}, "inv"),
    ("POST", "/v1/tips", {"channel": "12369", "text": "数据库停了也要报"}, "inv"),
]


def test_postgresql_stopped_and_restarted_under_a_running_service(throwaway_pg, tmp_path, hand_snapshot):
    admin = create_engine(throwaway_pg.url, isolation_level="AUTOCOMMIT")
    name = f"hazleads_{uuid.uuid4().hex[:8]}"
    with admin.connect() as conn:
        conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    admin.dispose()
    url = make_url(throwaway_pg.url).set(database=name).render_as_string(hide_password=False)
    with start_service(url, tmp_path, hand_snapshot) as svc, live_server(svc.app) as base:
        def call(method, path, body, who):
            return httpx.request(method, base + path, json=body, headers=svc.headers(who), timeout=60)

        for req in REQUESTS:
            assert call(*req).status_code in (200, 201), req
        outcomes_before = call("GET", "/v1/outcomes", None, "inv").json()["total"]

        throwaway_pg.stop()
        try:
            for req in REQUESTS:
                r = call(*req)  # a hang ends in the client's timeout, an error here
                assert r.status_code == 503, (req, r.status_code, r.text[:300])
                assert_clean_error(r, allow_503=True)
                assert r.json()["detail"].startswith("database unavailable") and r.headers["retry-after"]
            ready = httpx.get(base + "/readyz", headers=svc.headers("inv"), timeout=60)
            assert ready.status_code == 503
            assert httpx.get(base + "/healthz", timeout=10).status_code == 200  # alive, not ready
        finally:
            throwaway_pg.start()

        # back without restarting the service: the pool reconnects
        wait_for(lambda: call(*REQUESTS[0]).status_code == 200, 60, "the service to reach the restarted database")
        for req in REQUESTS:
            r = call(*req)
            assert r.status_code in (200, 201), (req, r.status_code, r.text[:300])
        assert call("GET", "/v1/outcomes", None, "inv").json()["total"] == outcomes_before + 1  # the refused one is not there
        assert svc.get("auditor", "/v1/audit/verify").json()["ok"]


def test_the_throwaway_server_is_found_wherever_debian_put_it(tmp_path, monkeypatch):
    """Debian installs one folder per major version (/usr/lib/postgresql/<N>/bin): the newest complete
    one is used, whatever N; without one, ``initdb`` on PATH; ``HAZLEADS_PG_BIN`` overrides both."""
    from tests.reliability_support import find_pg_bin

    monkeypatch.delenv("HAZLEADS_PG_BIN", raising=False)
    root = tmp_path / "postgresql"
    for version, tools in (("9.6", ("initdb", "pg_ctl")), ("13", ("initdb", "pg_ctl")), ("17", ("initdb",)),
                           ("16", ("initdb", "pg_ctl"))):
        (root / version / "bin").mkdir(parents=True)
        for tool in tools:
            (root / version / "bin" / tool).write_text("#!/bin/sh\n")
    assert find_pg_bin(root) == root / "16" / "bin"  # 17 lacks pg_ctl; 16 beats 13 and 9.6
    elsewhere = tmp_path / "bin"
    elsewhere.mkdir()
    (elsewhere / "initdb").write_text("#!/bin/sh\n")
    (elsewhere / "initdb").chmod(0o755)
    monkeypatch.setenv("PATH", str(elsewhere))
    assert find_pg_bin(tmp_path / "none") == elsewhere
    monkeypatch.setenv("HAZLEADS_PG_BIN", "/opt/pg/bin")
    assert find_pg_bin(root) == Path("/opt/pg/bin")
