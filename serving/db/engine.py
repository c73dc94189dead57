"""Engines and sessions. SQLite: WAL, a busy timeout, foreign keys, and one writer (a separate
engine holding a single connection whose transactions begin ``IMMEDIATE``); the database file (and so
its WAL and shared-memory files, which SQLite makes with the same mode) is readable by its owner only.
PostgreSQL: one pooled engine with ``pre_ping``, so a restarted server is reconnected to without
restarting the service; reads run at REPEATABLE READ, so each read session sees one snapshot.
Every session carries the audit keys the database was opened with (``serving.audit``).
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import stat
from collections.abc import Iterator
from pathlib import Path

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

BUSY_TIMEOUT_MS = 15_000
PG_CONNECT_TIMEOUT_S = 5


def _sqlite_engine(url: str, immediate: bool) -> Engine:
    kw = {"pool_size": 1, "max_overflow": 0, "pool_timeout": BUSY_TIMEOUT_MS / 1000} if immediate else {}
    engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": BUSY_TIMEOUT_MS / 1000}, **kw)

    @event.listens_for(engine, "connect")
    def _pragmas(dbapi_conn, _record) -> None:
        dbapi_conn.isolation_level = None  # we issue BEGIN ourselves (pysqlite's own handling is wrong)
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.close()

    @event.listens_for(engine, "begin")
    def _begin(conn) -> None:
        conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")

    return engine


def private_sqlite_file(url: str) -> Path | None:
    """Create the SQLite file of ``url`` with mode 0600 if it does not exist yet, or take group and
    other permissions away from an existing one (it holds informants' words). The path, or None for
    an in-memory database."""
    database = make_url(url).database
    if not database or database == ":memory:" or database.startswith("file:"):
        return None
    path = Path(database)
    if path.parent.exists():
        try:
            os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
        except FileExistsError:
            mode = stat.S_IMODE(path.stat().st_mode)
            if mode & 0o077 and path.stat().st_uid == os.getuid():
                os.chmod(path, mode & 0o700)
        for extra in ("-wal", "-shm", "-journal"):
            side = path.with_name(path.name + extra)
            if side.exists() and stat.S_IMODE(side.stat().st_mode) & 0o077 and side.stat().st_uid == os.getuid():
                os.chmod(side, stat.S_IMODE(side.stat().st_mode) & 0o700)
    return path


def make_engines(url: str) -> tuple[Engine, Engine]:
    """(read engine, write engine) for ``url``; the same pooled engine twice for a server database."""
    u = make_url(url)
    if u.get_backend_name() == "sqlite":
        private_sqlite_file(url)
        return _sqlite_engine(url, immediate=False), _sqlite_engine(url, immediate=True)
    connect_args = {"connect_timeout": PG_CONNECT_TIMEOUT_S} if u.get_backend_name() == "postgresql" else {}
    engine = create_engine(url, pool_pre_ping=True, pool_size=10, max_overflow=10, pool_timeout=15,
                           pool_recycle=1800, connect_args=connect_args)
    return engine, engine


class Database:
    """The service's database: ``read()`` sessions for queries, ``write()`` sessions that commit on exit.
    ``audit_keys`` (``serving.auditkeys.AuditKeys``) signs the audit rows written through it."""

    def __init__(self, url: str, audit_keys=None) -> None:
        self.url = url
        self.audit_keys = audit_keys
        self.engine, self.write_engine = make_engines(url)
        # A read (a page and its total, a run and its rows) sees one snapshot of the database: SQLite's
        # read transaction does; PostgreSQL's default READ COMMITTED takes a new snapshot per statement,
        # so a total could disagree with the rows beside it. Read-only REPEATABLE READ never fails.
        reader = self.engine if self.engine.dialect.name == "sqlite" else self.engine.execution_options(
            isolation_level="REPEATABLE READ")
        info = {"audit_keys": audit_keys}
        self._reader = reader
        self._read = sessionmaker(reader, expire_on_commit=False, info=info)
        self._write = sessionmaker(self.write_engine, expire_on_commit=False, info=info)

    @property
    def fingerprint(self) -> str:
        """Which database this is, for its audit checkpoints: a hash of its URL without the password."""
        return hashlib.sha256(make_url(self.url).render_as_string(hide_password=True).encode("utf-8")).hexdigest()[:16]

    @property
    def is_sqlite(self) -> bool:
        return self.engine.dialect.name == "sqlite"

    @contextlib.contextmanager
    def read(self) -> Iterator[Session]:
        with self._read() as s:
            yield s

    @contextlib.contextmanager
    def write(self) -> Iterator[Session]:
        """One transaction: committed when the block ends, rolled back if it raises."""
        with self._write() as s, s.begin():
            yield s

    @contextlib.contextmanager
    def read_connection(self) -> Iterator[Connection]:
        """``read()`` without the ORM session, for statements built once that run at every request (the
        gate's token and data version): the same engine and transaction, rolled back at the end."""
        with self._reader.connect() as conn:
            yield conn

    @contextlib.contextmanager
    def write_connection(self) -> Iterator[Connection]:
        """``write()`` without the ORM session (the audit row of a read): one transaction on the write
        engine, committed when the block ends, rolled back if it raises."""
        with self.write_engine.begin() as conn:
            yield conn

    def dispose(self) -> None:
        self.engine.dispose()
        if self.write_engine is not self.engine:
            self.write_engine.dispose()
