"""Helpers for the reliability tests: a real HTTP server for an app (in a thread, or as a process
that can be killed), checks on error answers, and a throwaway PostgreSQL server to stop and start.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
import traceback
from collections.abc import Iterator
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent


def find_pg_bin(debian_root: Path = Path("/usr/lib/postgresql")) -> Path | None:
    """The folder holding ``initdb`` and ``pg_ctl``: ``HAZLEADS_PG_BIN`` if set, else the newest of
    Debian's ``/usr/lib/postgresql/<version>/bin``, else wherever ``PATH`` finds ``initdb``."""
    if os.environ.get("HAZLEADS_PG_BIN"):
        return Path(os.environ["HAZLEADS_PG_BIN"])
    debian = [p.parent for p in debian_root.glob("*/bin/initdb")]
    debian = [b for b in debian if (b / "pg_ctl").exists()]
    if debian:
        return max(debian, key=lambda b: tuple(int(x) if x.isdigit() else 0 for x in b.parent.name.split(".")))
    found = shutil.which("initdb")
    return Path(found).resolve().parent if found else None


PG_BIN = find_pg_bin()
LEAKS = ("Traceback", 'File "', "/work/", "site-packages", "sqlalchemy.", "psycopg2.", "sqlite3.")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def assert_clean_error(r: httpx.Response, allow_503: bool = False) -> None:
    """A 4xx (or an allowed 503) JSON answer with a ``detail`` and the request id; no internals."""
    assert r.status_code < 500 or (allow_503 and r.status_code == 503), (r.status_code, r.text[:500])
    for leak in LEAKS:
        assert leak not in r.text, f"{leak!r} in the answer: {r.text[:500]}"
    if r.status_code >= 400:
        assert r.headers.get("content-type", "").startswith("application/json"), r.headers
        body = r.json()
        assert body.get("detail"), body
        assert "request_id" in body, body


@contextlib.contextmanager
def live_server(app, lifespan: str = "off") -> Iterator[str]:
    """``app`` served by uvicorn on a free loopback port, in a thread; yields the base URL."""
    import uvicorn

    port = free_port()
    config = uvicorn.Config(app, host="127.0.0.1", port=port, lifespan=lifespan, log_config=None, access_log=False,
                            limit_concurrency=1000, timeout_keep_alive=30)
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name="uvicorn-test", daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=30)


class Crew:
    """Threads whose failures are kept: a thread that raises fails the test (``check``) instead of
    dying quietly and leaving the checks it was making unmade; so does one still running at the end."""

    def __init__(self) -> None:
        self.errors: list[str] = []
        self.threads: list[threading.Thread] = []
        self._lock = threading.Lock()

    def start(self, target, *args, name: str | None = None) -> threading.Thread:
        def run() -> None:
            try:
                target(*args)
            except BaseException as exc:  # noqa: BLE001 - kept and reported by check()
                with self._lock:
                    self.errors.append(f"{threading.current_thread().name}: {type(exc).__name__}: {exc}\n"
                                       + "".join(traceback.format_tb(exc.__traceback__)[-3:]))

        t = threading.Thread(target=run, name=name or getattr(target, "__name__", "worker"), daemon=True)
        self.threads.append(t)
        t.start()
        return t

    def alive(self) -> list[str]:
        return [t.name for t in self.threads if t.is_alive()]

    def join(self, timeout_s: float) -> None:
        end = time.monotonic() + timeout_s
        for t in self.threads:
            t.join(max(0.0, end - time.monotonic()))

    def check(self) -> None:
        assert self.errors == [], "a thread failed:\n" + "\n".join(self.errors[:5])
        assert self.alive() == [], f"threads still running: {self.alive()}"


def wait_for(predicate, timeout_s: float, what: str, interval_s: float = 0.1):
    end = time.monotonic() + timeout_s
    while time.monotonic() < end:
        value = predicate()
        if value:
            return value
        time.sleep(interval_s)
    raise AssertionError(f"timed out after {timeout_s} s waiting for {what}")


# ---- the service as a process ----------------------------------------------------------------------


class ServiceProcess:
    """``python -m tests.reliability_runner serve`` on a free port; ``kill()`` is SIGKILL."""

    def __init__(self, env: dict[str, str], data: Path | None, log: Path, warm: str = "background",
                 history_months: int = 0, crash_at: str | None = None, experiment: Path | None = None) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        args = [sys.executable, "-m", "tests.reliability_runner", "serve", "--port", str(self.port), "--warm", warm,
                "--history-months", str(history_months)]
        if data is not None:
            args += ["--data", str(data)]
        if experiment is not None:
            args += ["--experiment", str(experiment)]
        full_env = {**os.environ, **env, "PYTHONUNBUFFERED": "1"}
        full_env.pop("HAZLEADS_CRASH_AT", None)
        if "HAZLEADS_DATABASE_URL" not in env:
            full_env.pop("HAZLEADS_DATABASE_URL", None)
        if crash_at:
            full_env["HAZLEADS_CRASH_AT"] = crash_at
        self.log = log
        self._fh = open(log, "ab")  # noqa: SIM115 - closed in stop()
        self.proc = subprocess.Popen(args, cwd=ROOT, env=full_env, stdout=self._fh, stderr=subprocess.STDOUT)

    def wait_up(self, timeout_s: float = 120) -> None:
        def up() -> bool:
            if self.proc.poll() is not None:
                raise AssertionError(f"service exited with {self.proc.returncode}:\n{self.tail()}")
            try:
                return httpx.get(f"{self.url}/healthz", timeout=2).status_code == 200
            except httpx.HTTPError:
                return False

        wait_for(up, timeout_s, f"the service on {self.url}", 0.2)

    def wait_ready(self, headers: dict, timeout_s: float = 180) -> dict:
        def ready():
            r = httpx.get(f"{self.url}/readyz", headers=headers, timeout=10)
            body = r.json()
            if body.get("phase") in ("ready", "degraded"):
                return body
            return None

        return wait_for(ready, timeout_s, "the service's warm-up", 0.3)

    def tail(self, n: int = 60) -> str:
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-n:])
        except OSError:
            return ""

    def kill(self) -> None:
        if self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGKILL)
        self.proc.wait(timeout=30)
        self._fh.close()

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.kill()
        self._fh.close()

    def rss_kb(self) -> int:
        with open(f"/proc/{self.proc.pid}/status") as fh:
            for line in fh:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
        return 0


FAST_TOML = """name = "reliability"
enterprise_models = ["lgbm", "rules"]
tip_models = ["lgbm", "channel"]

[lgbm]
n_estimators = 40

[splits]
n_folds = 1
test_days = 60
step_days = 60
calib_days = 30
label_days = 90
min_label_days = 30
min_history_days = 60
"""


def thin_copy(snapshot: Path, dest: Path, every: int = 25) -> Path:
    """The snapshot with one trajectory fix in ``every`` kept: the same enterprises, manifests, tips
    and cases (so the same labels), loaded and featurised in a fraction of the time."""
    shutil.copytree(snapshot, dest, ignore=shutil.ignore_patterns("trajectories.*"))
    src = snapshot / "trajectories.csv"
    with open(src, encoding="utf-8") as fin, open(dest / "trajectories.csv", "w", encoding="utf-8") as fout:
        fout.write(fin.readline())
        for i, line in enumerate(fin):
            if i % every == 0:
                fout.write(line)
    return dest


def service_env(home: Path, database_url: str | None = None) -> dict[str, str]:
    env = {"HAZLEADS_HOME": str(home), "HAZLEADS_MLFLOW_TRACKING_URI": f"sqlite:///{home / 'mlflow.db'}"}
    if database_url:
        env["HAZLEADS_DATABASE_URL"] = database_url
    return env


def raw_sql(url, *statements: str, params: list[tuple] | None = None) -> list[tuple]:
    """Run ``statements`` through the database driver itself, outside the service's code, as a
    database administrator would (``params``: one tuple per statement, ``?`` or ``%s`` style as the
    driver wants); the rows of the last one, if it returns any."""
    from sqlalchemy.engine import make_url

    url = make_url(url) if isinstance(url, str) else url
    params = params or [()] * len(statements)
    rows: list[tuple] = []
    if url.get_backend_name() == "sqlite":
        conn = sqlite3.connect(url.database)
        try:
            for st, p in zip(statements, params, strict=True):
                cur = conn.execute(st, p)
                rows = cur.fetchall() if cur.description else []
            conn.commit()
        finally:
            conn.close()
        return rows
    import psycopg2

    conn = psycopg2.connect(host=url.host, port=url.port or 5432, user=url.username, dbname=url.database,
                            password=url.password)
    try:
        with conn.cursor() as cur:
            for st, p in zip(statements, params, strict=True):
                cur.execute(st.replace("?", "%s"), p)
                rows = cur.fetchall() if cur.description else []
        conn.commit()
    finally:
        conn.close()
    return rows


def audit_verdict(db_url: str, home: Path):
    """The audit chain of ``db_url`` checked as ``hazleads audit verify`` would with the home folder
    ``home`` (its key and its checkpoints)."""
    from hazleads.settings import Settings
    from serving import audit
    from serving.auditkeys import load_keys
    from serving.db.engine import Database

    settings = Settings(home=home, database_url=db_url)
    db = Database(db_url, audit_keys=load_keys(settings, create=False))
    try:
        return audit.verify_database(db, settings.audit_checkpoint_path)
    finally:
        db.dispose()


def add_users(db_url: str, roles: dict[str, tuple[str, str | None]]) -> dict[str, dict[str, str]]:
    """Create users directly in the service's database (migrated first); their bearer headers by name."""
    from serving.auth import create_user
    from serving.db.engine import Database
    from serving.db.migrate import upgrade

    db = Database(db_url)
    try:
        upgrade(db.url, engine=db.write_engine)
        out = {}
        with db.write() as s:
            for name, (role, county) in roles.items():
                out[name] = {"Authorization": f"Bearer {create_user(s, name, role, county)[1]}"}
        return out
    finally:
        db.dispose()


# ---- a throwaway PostgreSQL server ------------------------------------------------------------------


class ThrowawayPostgres:
    """An ``initdb`` cluster in a temporary folder, run as the ``postgres`` OS user (the server refuses
    root) on a free port, with its socket in the same folder. ``stop()`` and ``start()`` do what they
    say to this server only; ``close()`` removes it."""

    def __init__(self) -> None:
        self.root = Path(tempfile.mkdtemp(prefix="hazleads-pg-"))
        self.data = self.root / "data"
        self.port = free_port()
        self.url = f"postgresql+psycopg2://postgres@127.0.0.1:{self.port}/postgres"
        os.chmod(self.root, 0o777)
        self._run([str(PG_BIN / "initdb"), "-D", str(self.data), "-U", "postgres", "--auth=trust", "-E", "UTF8",
                   "--no-sync", "--locale=C"])

    @staticmethod
    def available() -> str | None:
        """Why a throwaway server cannot be made here, or None."""
        if PG_BIN is None or not (PG_BIN / "initdb").exists() or not (PG_BIN / "pg_ctl").exists():
            return (f"no initdb and pg_ctl under {PG_BIN}" if PG_BIN else
                    "no initdb under /usr/lib/postgresql/*/bin nor on PATH (set HAZLEADS_PG_BIN)")
        if os.geteuid() == 0 and shutil.which("runuser") is None:
            return "running as root without runuser: cannot start PostgreSQL as the postgres user"
        try:
            import pwd

            pwd.getpwnam("postgres")
        except KeyError:
            return "no 'postgres' OS user"
        return None

    def _run(self, args: list[str], check: bool = True) -> subprocess.CompletedProcess:
        if os.geteuid() == 0:
            args = ["runuser", "-u", "postgres", "--", *args]
        return subprocess.run(args, capture_output=True, text=True, timeout=120, check=check)

    def start(self) -> None:
        opts = f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=60"
        self._run([str(PG_BIN / "pg_ctl"), "-D", str(self.data), "-o", opts, "-l", str(self.root / "log"), "-w",
                   "-t", "60", "start"])

    def stop(self) -> None:
        self._run([str(PG_BIN / "pg_ctl"), "-D", str(self.data), "-m", "immediate", "-w", "-t", "60", "stop"],
                  check=False)

    def close(self) -> None:
        self.stop()
        shutil.rmtree(self.root, ignore_errors=True)
