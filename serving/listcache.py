"""A reader's lead-list answers kept until the data moves.

A page of a lead list costs the service 10–25 ms of CPU (the page query, the desk's cases, open
ranks, each entry's reasons and evidence in the reader's language and scope, the response model);
a bare route costs about one. Readers page back and forth, reload, and return to the list after
each detail page, and the data under a list changes far less often than it is read. So an answer is
kept, serialised, per reader and request, together with the database's data version
(``serving.db.models.DataVersion``: triggers move it on every change to every table but the audit
chain's, in whichever process or code path writes). A kept answer is served only while the version
is the one it was computed at; the snapshot being served is part of the key (the cache is also
emptied when the service takes a new snapshot).

Kept per reader (the user's id, role and county are in the key): an answer never crosses from one
reader to another, so what a reader may see (county, informants) is decided exactly as when it was
computed. Every read is still audited with the ids it showed (``serving.api.routes.leads``).

The vehicle list (``serving.api.routes.vehicles``) is kept here too, under its own keys, but its
version is the runtime's ``features_version``: it is made from the features being served and the
snapshot, never from the database, so a database write leaves it valid and new features do not.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass

from sqlalchemy import Connection, select
from sqlalchemy.orm import Session

from serving.db.models import DataVersion

MAX_BYTES = 64 * 1024 * 1024  # the kept answers' bodies together (a 50-entry page is about 90 KB, 200 entries 370 KB)


@dataclass(frozen=True)
class Answer:
    version: int
    body: bytes
    ids: tuple[str, ...]
    model_version: str | None
    route: object | None = None  # the route that computed it: the gate names it when it serves the answer again


def list_key(kind: str, user, rt, query_string: bytes) -> tuple:
    """What a kept list answer is kept under: the list, the reader (id, role, county), the service's
    language (with the query's ``lang``, the answer's), the snapshot, and the query string as sent
    (the same bytes parse to the same parameters; reordered or repeated parameters are another key:
    a repeated parameter is read by its last value, so sorted parameters would mix them up)."""
    return (kind, user.id, user.role, user.county, rt.settings.lang, rt.digest, query_string)


_VERSION = select(DataVersion.n).where(DataVersion.id == 1)  # built once: a statement per request costs more than the read


def data_version(session: Session | Connection) -> int:
    """The data version, read first in a read so that what follows is at least as new as it.
    ``session``: a session or a connection (``Database.read_connection``)."""
    conn = session.connection() if isinstance(session, Session) else session
    return conn.execute(_VERSION).scalar() or 0


class ListCache:
    """Serialised answers by key, least recently used dropped first once their bodies pass
    ``max_bytes`` together; thread-safe."""

    def __init__(self, max_bytes: int = MAX_BYTES) -> None:
        self.max_bytes = max_bytes
        self.bytes = 0
        self._answers: OrderedDict[tuple, Answer] = OrderedDict()
        self._lock = threading.Lock()
        self.hits = self.misses = 0

    def get(self, key: tuple, version: int, count_miss: bool = True) -> Answer | None:
        """The answer kept under ``key`` at ``version``, or None. ``count_miss``: False for a look that
        is repeated by the route on a miss (the gate's, ``serving.api.kept.kept_read``)."""
        with self._lock:
            answer = self._answers.get(key)
            if answer is None or answer.version != version:
                self.misses += count_miss
                return None
            self._answers.move_to_end(key)
            self.hits += 1
            return answer

    def put(self, key: tuple, answer: Answer) -> None:
        with self._lock:
            old = self._answers.pop(key, None)
            if old is not None:
                self.bytes -= len(old.body)
            self._answers[key] = answer
            self.bytes += len(answer.body)
            while self.bytes > self.max_bytes and self._answers:
                _, dropped = self._answers.popitem(last=False)
                self.bytes -= len(dropped.body)

    def clear(self) -> None:
        with self._lock:
            self._answers.clear()
            self.bytes = 0

    def __len__(self) -> int:
        return len(self._answers)
