"""Concurrency on a real HTTP server: outcome writes, outcome and lead-list reads and re-scoring at
the same time stay consistent (every write stored once, totals that agree with their rows, lists
never half-replaced) on SQLite and PostgreSQL; two training requests never run at once, in one
process or across two service processes on one database; SQLite shared by two processes loses no
write and never answers "database is locked".
"""

from __future__ import annotations

import datetime as dt
import subprocess
import sys
import threading
import time

import httpx
from sqlalchemy import func, select

from serving.db.models import Job, Outcome, ScoringRun
from tests.reliability_support import (
    ROOT,
    Crew,
    ServiceProcess,
    add_users,
    audit_verdict,
    live_server,
    wait_for,
)
from tests.service_support import AS_OF, SCORES, lead_set, start_service

ALT_SCORES = {"E4": 0.95, "E1": 0.7, "E5": 0.6, "E3": 0.2, "E2": 0.05}


def _store(rt, hand, scores: dict) -> None:
    from serving.repo import runs

    with rt.db.write() as s:
        runs.store(s, lead_set(hand["snapshot"], hand["features"], hand["digest"], AS_OF, scores), rt.ctx, "on_demand",
                   0.1, with_mismatch=False)


def test_outcome_writes_reads_and_rescoring_at_once_stay_consistent(db_url, tmp_path, hand_snapshot):
    writers, per_writer = 4, 30
    with start_service(db_url, tmp_path, hand_snapshot) as svc, live_server(svc.app) as base:
        h = svc.headers("inv")
        done = threading.Event()
        problems: list[str] = []
        created: list[int] = []
        lists_seen: set[tuple] = set()
        lock = threading.Lock()
        valid_lists = {tuple(sorted(SCORES, key=lambda e: -SCORES[e])), tuple(sorted(ALT_SCORES, key=lambda e: -ALT_SCORES[e]))}

        def writer(w: int) -> None:
            with httpx.Client(base_url=base, headers=h, timeout=60) as c:
                for k in range(per_writer):
                    r = c.post("/v1/outcomes", json={"entity_kind": "enterprise", "entity_id": "E1", "outcome": "open",
                                                     "note": f"w{w}-{k}"})
                    with lock:
                        if r.status_code == 201:
                            created.append(r.json()["id"])
                        else:
                            problems.append(f"write {w}-{k}: {r.status_code} {r.text[:200]}")

        def outcome_reader() -> None:
            last = 0
            with httpx.Client(base_url=base, headers=h, timeout=60) as c:
                while not done.is_set():
                    page = c.get("/v1/outcomes", params={"limit": 200}).json()
                    ids = [o["id"] for o in page["items"]]
                    if len(ids) != len(set(ids)):
                        problems.append("duplicate outcomes in a page")
                    if len(ids) != min(page["total"], 200):
                        problems.append(f"torn page: total {page['total']} but {len(ids)} rows")
                    if page["total"] < last:
                        problems.append(f"the total went back from {last} to {page['total']}")
                    last = page["total"]

        def list_reader() -> None:
            with httpx.Client(base_url=base, headers=h, timeout=60) as c:
                while not done.is_set():
                    page = c.get("/v1/leads/enterprises", params={"limit": 200}).json()
                    order = tuple(i["enterprise_id"] for i in page["items"])
                    with lock:
                        lists_seen.add(order)
                    if order not in valid_lists or page["total"] != 5:
                        problems.append(f"a torn lead list: {order} of {page['total']}")

        rescored = [0]

        def rescorer() -> None:
            flip = False
            while not done.is_set():
                _store(svc.rt, hand_snapshot, ALT_SCORES if flip else SCORES)
                rescored[0] += 1
                flip = not flip
                time.sleep(0.05)

        writing, reading = Crew(), Crew()
        for w in range(writers):
            writing.start(writer, w, name=f"writer-{w}")
        for target in (outcome_reader, outcome_reader, list_reader, list_reader, rescorer):
            reading.start(target)
        writing.join(300)
        writing.check()
        # the readers keep reading until both lists were seen across several re-scorings (however fast
        # the writers were), so the consistency checks below cannot pass vacuously; a reader that
        # died on the way fails the test (its checks were not made)
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and not (len(lists_seen) == 2 and rescored[0] > 4) and not reading.errors:
            time.sleep(0.05)
        assert len(reading.alive()) == 5 or reading.errors, "a reader stopped before it was told to"
        done.set()
        reading.join(60)
        reading.check()
        assert problems == [], problems[:10]
        assert len(created) == writers * per_writer and len(set(created)) == len(created)
        with svc.rt.db.read() as s:
            notes = [n for (n,) in s.execute(select(Outcome.note))]
            runs = s.scalar(select(func.count(ScoringRun.id)))
        assert sorted(notes) == sorted(f"w{w}-{k}" for w in range(writers) for k in range(per_writer))
        assert len(lists_seen) == 2 and runs > 4, "the re-scoring ran while the lists were read"
        assert svc.get("auditor", "/v1/audit/verify").json()["ok"]


def _intervals(rt) -> list[tuple[dt.datetime, dt.datetime]]:
    with rt.db.read() as s:
        return [(j.started_at, j.finished_at) for j in s.scalars(select(Job).where(Job.kind == "training").order_by(Job.id))]


def _no_overlap(spans) -> None:
    spans = sorted(spans)
    for (a0, a1), (b0, _) in zip(spans, spans[1:], strict=False):
        assert a1 is not None and a1 <= b0, f"two training runs overlapped: {a0}–{a1} and {b0}"


def test_concurrent_training_requests_in_one_process_never_overlap(tmp_path, hand_snapshot):
    with start_service(f"sqlite:///{tmp_path / 'one.db'}", tmp_path, hand_snapshot) as svc, live_server(svc.app) as base:
        h = svc.headers("admin")
        answers: list[httpx.Response] = []
        gate = threading.Barrier(8)

        def fire() -> None:
            with httpx.Client(base_url=base, headers=h, timeout=60) as c:
                gate.wait()
                answers.append(c.post("/v1/training", json={}))

        for _ in range(3):
            crew = Crew()
            for _ in range(8):
                crew.start(fire)
            crew.join(120)
            crew.check()
            wait_for(lambda: not svc.rt.training_lock.locked(), 120, "the training run to end")
        assert len(answers) == 24
        codes = sorted(r.status_code for r in answers)
        assert set(codes) <= {202, 409} and codes.count(202) >= 3, codes  # one at least per round
        assert all("already running" in r.json()["detail"] for r in answers if r.status_code == 409)
        _no_overlap(_intervals(svc.rt))


def test_a_running_job_of_a_live_process_is_not_recovered_by_another_instance(tmp_path, hand_snapshot):
    """A second instance starting on the same database must not fail the first one's running job:
    that would free the one-running-job index and let two trainings run at once. (It did: every
    start failed every running job.) A job whose process is dead is failed, as before."""
    db_url = f"sqlite:///{tmp_path / 'shared.db'}"
    add_users(db_url, {})  # migrated
    holder = subprocess.Popen([sys.executable, "-c", (
        "import sys, time\n"
        "from serving.auditkeys import AuditKeys\n"
        "from serving.db.engine import Database\n"
        "from serving.jobs import _open_job\n"
        "class R: pass\n"
        "r = R(); r.db = Database(sys.argv[1], audit_keys=AuditKeys.of(b'another process key 0123456789abcdef'))\n"
        "print(_open_job(r, 'training', None, {'as_of': None}), flush=True)\n"
        "time.sleep(600)\n"), db_url], cwd=ROOT, stdout=subprocess.PIPE, text=True)
    try:
        job_id = int(holder.stdout.readline())
        with start_service(db_url, tmp_path, hand_snapshot) as svc:  # its start-up runs the recovery
            with svc.rt.db.read() as s:
                assert s.get(Job, job_id).status == "running"
            r = svc.post("admin", "/v1/training", {})
            assert r.status_code == 409 and f"job {job_id}" in r.json()["detail"]
            holder.kill()
            holder.wait(timeout=30)
            from serving.jobs import recover

            assert recover(svc.rt) == 1
            with svc.rt.db.read() as s:
                job = s.get(Job, job_id)
                assert job.status == "failed" and "interrupted" in job.error
            r = svc.post("admin", "/v1/training", {})
            assert r.status_code == 202, r.text
    finally:
        if holder.poll() is None:
            holder.kill()
            holder.wait(timeout=30)


def test_two_service_processes_on_one_sqlite_file(tmp_path, hand_snapshot):
    """Two service processes share one SQLite database: concurrent outcomes to both are all stored,
    none refused as "locked" (one writer per process, busy timeout, WAL); training requests to both at
    once never run two trainings together."""
    home = tmp_path / "home"
    db_url = f"sqlite:///{home / 'hazleads.db'}"
    home.mkdir()
    h = add_users(db_url, {"inv": ("investigator", None), "adm": ("admin", None), "aud": ("auditor", None)})
    env = {"HAZLEADS_HOME": str(home), "HAZLEADS_MLFLOW_TRACKING_URI": hand_snapshot["mlflow_uri"]}
    a = ServiceProcess(env, hand_snapshot["path"], tmp_path / "a.log")
    b = ServiceProcess(env, hand_snapshot["path"], tmp_path / "b.log")
    try:
        for p in (a, b):
            p.wait_up()
            p.wait_ready(h["inv"])
        results: list[tuple[int, str]] = []
        lock = threading.Lock()

        def writer(p: ServiceProcess, w: int) -> None:
            with httpx.Client(base_url=p.url, headers=h["inv"], timeout=60) as c:
                for k in range(25):
                    r = c.post("/v1/outcomes", json={"entity_kind": "enterprise", "entity_id": "E2", "outcome": "unfounded",
                                                     "note": f"{p.port}-{w}-{k}"})
                    with lock:
                        results.append((r.status_code, r.text[:200]))

        crew = Crew()
        for p in (a, b):
            for w in range(3):
                crew.start(writer, p, w)
        crew.join(300)
        crew.check()
        assert [x for x in results if x[0] != 201] == [] and len(results) == 150
        assert httpx.get(f"{a.url}/v1/outcomes", headers=h["inv"], params={"limit": 1}).json()["total"] == 150
        # training requested from both processes at once, a few times
        answers = []
        for _ in range(3):
            gate = threading.Barrier(2)

            def fire(p: ServiceProcess, gate=gate) -> None:
                gate.wait()
                answers.append(httpx.post(f"{p.url}/v1/training", json={}, headers=h["adm"], timeout=60))

            crew = Crew()
            for p in (a, b):
                crew.start(fire, p)
            crew.join(120)
            crew.check()
            wait_for(lambda: all(j["status"] != "running" for j in
                                 httpx.get(f"{a.url}/v1/training", headers=h["adm"]).json()["items"]), 120, "trainings to end")
        assert len(answers) == 6 and {r.status_code for r in answers} <= {202, 409}
        from serving.db.engine import Database

        db = Database(db_url)
        try:
            with db.read() as s:
                spans = [(j.started_at, j.finished_at) for j in s.scalars(select(Job).where(Job.kind == "training"))]
            _no_overlap(spans)
        finally:
            db.dispose()
        verdict = audit_verdict(db_url, home)
        assert verdict.ok and verdict.rows > 150, verdict
        assert "database is locked" not in a.tail(400) + b.tail(400)
    finally:
        a.stop()
        b.stop()


def test_postgresql_uses_a_pool_with_pre_ping_and_sqlite_one_writer(tmp_path):
    from sqlalchemy.pool import QueuePool

    from serving.db.engine import Database

    pg = Database("postgresql+psycopg2://nobody@127.0.0.1:9/none")
    try:
        assert isinstance(pg.engine.pool, QueuePool) and pg.engine.pool.size() >= 5 and pg.engine.pool._pre_ping
        assert pg.write_engine is pg.engine
    finally:
        pg.dispose()
    lite = Database(f"sqlite:///{tmp_path / 'x.db'}")
    try:
        assert lite.write_engine.pool.size() == 1 and lite.write_engine is not lite.engine
    finally:
        lite.dispose()


_OPEN_STORE = """
import sys
from pathlib import Path
from hazleads.settings import Settings
from training import registry
registry.configure(Settings(home=Path(sys.argv[1]), mlflow_tracking_uri=sys.argv[2]))
print(registry.champion_version("enterprise"))
"""


def test_processes_opening_a_new_mlflow_store_together_all_succeed_and_leave_it_usable(tmp_path):
    """Two services started together (or a service and ``hazleads train``) on a new home: MLflow creates
    its tables on first opening, and unguarded openings collide ("duplicate column name") and can leave
    a half-migrated store that fails every later registry call (a CI run lost /v1/models that way)."""
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    procs = [subprocess.Popen([sys.executable, "-c", _OPEN_STORE, str(tmp_path / f"home{k}"), uri], cwd=ROOT,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for k in range(4)]
    outs = [p.communicate(timeout=300) for p in procs]
    failed = [(p.returncode, err.strip().splitlines()[-1:]) for p, (_, err) in zip(procs, outs, strict=True) if p.returncode != 0]
    assert failed == []
    assert [out.strip().splitlines()[-1] for out, _ in outs] == ["None"] * 4
    again = subprocess.run([sys.executable, "-c", _OPEN_STORE, str(tmp_path / "later"), uri], cwd=ROOT,
                           capture_output=True, text=True, timeout=300)
    assert again.returncode == 0, again.stderr[-500:]
