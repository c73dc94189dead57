"""The audit log: append-only rows chained by keyed hashes, so that an edited, deleted or forged row
is detectable even by whoever can write the database, and signed checkpoints kept outside it.

Each row's ``hash = HMAC-SHA256(key, prev_hash + canonical(row))``: ``canonical`` is the row's fields
(id and ``key_id`` included) as sorted, compact JSON; the key is the audit key named by ``key_id``
(``serving.auditkeys``: a file in the home folder or ``HAZLEADS_AUDIT_KEY``, never in the database).
Without the key a database administrator can change rows but cannot make hashes that verify.

Rows written before the chain had a key (``key_id`` NULL, plain SHA-256) may only form the start of
the chain: the first keyed row links to them and so seals them. A chain with no keyed row at all, or
an unkeyed row after a keyed one, does not verify.

The one-row ``audit_head`` holds the last id and hash and is locked (``FOR UPDATE``; SQLite's single
writer) while a row is appended, so concurrent writers never fork the chain.

A checkpoint is a signed line ``{"db", "id", "hash", "at", "key_id", "sig"}`` appended to a file
outside the database (``Settings.audit_checkpoint_path``), by the service every
``audit_checkpoint_s`` seconds and by ``hazleads audit checkpoint``. ``verify`` requires every
checkpoint of this database to be in the chain as signed: a chain cut after a checkpoint (its tail
deleted and the head set back) or rebuilt from scratch does not verify.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import Connection, bindparam, insert, select, update
from sqlalchemy.orm import Session

from serving.auditkeys import AuditKeyError, AuditKeys
from serving.auth import Principal
from serving.db.models import AuditEntry, AuditHead

GENESIS = "0" * 64
MAX_IDS = 500
LEGACY_FIELDS = ("id", "at", "user_id", "user_name", "role", "action", "entity_ids", "model_version", "result",
                 "request_id", "prev_hash")
FIELDS = (*LEGACY_FIELDS, "key_id")
KEYS = "audit_keys"  # where a Database puts its AuditKeys in each session's ``info``


def canonical(row: dict, keyed: bool = True) -> str:
    fields = FIELDS if keyed else LEGACY_FIELDS
    return json.dumps({k: row.get(k) for k in fields}, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def chain_hash(prev_hash: str, row: dict, key: bytes | None) -> str:
    """The row's hash: keyed (HMAC-SHA256) when ``key`` is given, else the legacy plain SHA-256."""
    data = (prev_hash + canonical(row, keyed=key is not None)).encode("utf-8")
    if key is None:
        return hashlib.sha256(data).hexdigest()
    return hmac.new(key, data, hashlib.sha256).hexdigest()


def _row_dict(e: AuditEntry) -> dict:
    return {k: getattr(e, k) for k in FIELDS}


def session_keys(session: Session) -> AuditKeys:
    return _required(session.info.get(KEYS))


def _required(keys: AuditKeys | None) -> AuditKeys:
    if keys is None:
        raise AuditKeyError("this database was opened without the audit key: nothing can be audited "
                            "(open it with serving.db.setup.open_database or Database(url, audit_keys=...))")
    return keys


# built once, run on the session's connection: every read of the service appends a row, and
# building statements and ORM objects cost more than the three statements themselves
_HEAD = select(AuditHead.last_id, AuditHead.last_hash).where(AuditHead.id == 1).with_for_update()
_SEED_HEAD = insert(AuditHead).values(id=1, last_id=0, last_hash=GENESIS)
_INSERT = insert(AuditEntry)
_MOVE_HEAD = update(AuditHead).where(AuditHead.id == 1).values(last_id=bindparam("new_id"), last_hash=bindparam("new_hash"))


def append(session: Session, user: Principal | None, action: str, entity_ids: Iterable[str] = (),
           result: str = "ok", model_version: str | None = None, request_id: str | None = None) -> dict:
    """Append one row inside the caller's write transaction (it commits with the audited change);
    returns the row as written (its ``hash`` included)."""
    keys = session_keys(session)
    return append_on(session.connection(), keys, user, action, entity_ids, result=result, model_version=model_version,
                     request_id=request_id)


def append_on(conn: Connection, keys: AuditKeys | None, user: Principal | None, action: str,
              entity_ids: Iterable[str] = (), result: str = "ok", model_version: str | None = None,
              request_id: str | None = None) -> dict:
    """``append`` on a connection in a write transaction (``Database.write_connection``), signed with
    ``keys`` (the database's)."""
    keys = _required(keys)
    head = conn.execute(_HEAD).first()
    if head is None:  # a database made without the migration's seed row
        conn.execute(_SEED_HEAD)
        last_id, last_hash = 0, GENESIS
    else:
        last_id, last_hash = head
    ids = [str(i)[:64] for i in list(entity_ids)[:MAX_IDS]]
    row = {
        "id": last_id + 1,
        "at": dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
        "user_id": user.id if user else None,
        "user_name": user.name if user else None,
        "role": user.role if user else None,
        "action": action[:64],
        "entity_ids": json.dumps(ids, ensure_ascii=False),
        "model_version": (model_version or None) and str(model_version)[:64],
        "result": str(result)[:32],
        "request_id": request_id,
        "prev_hash": last_hash,
        "key_id": keys.current_id,
    }
    row["hash"] = chain_hash(last_hash, row, keys.current)
    conn.execute(_INSERT, row)
    conn.execute(_MOVE_HEAD, {"new_id": row["id"], "new_hash": row["hash"]})
    return row


# ---- checkpoints ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Checkpoint:
    db: str  # the database's fingerprint (serving.db.engine.Database.fingerprint)
    id: int
    hash: str
    at: str
    key_id: str
    sig: str = ""

    def payload(self) -> bytes:
        return json.dumps({"db": self.db, "id": self.id, "hash": self.hash, "at": self.at, "key_id": self.key_id},
                          sort_keys=True, separators=(",", ":")).encode("utf-8")


def sign(cp: Checkpoint, keys: AuditKeys) -> Checkpoint:
    key = keys.current
    return Checkpoint(cp.db, cp.id, cp.hash, cp.at, keys.current_id,
                      hmac.new(key, Checkpoint(cp.db, cp.id, cp.hash, cp.at, keys.current_id).payload(),
                               hashlib.sha256).hexdigest())


def read_checkpoints(path: Path, db: str, keys: AuditKeys | None) -> tuple[list[Checkpoint], list[str]]:
    """This database's checkpoints in ``path`` whose signature holds, and a problem per line that is
    not a checkpoint or whose signature does not hold (a forged or altered checkpoint)."""
    if not path.exists():
        return [], []
    good, bad = [], []
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            d = json.loads(line)
            cp = Checkpoint(str(d["db"]), int(d["id"]), str(d["hash"]), str(d["at"]), str(d["key_id"]), str(d["sig"]))
        except (ValueError, KeyError, TypeError):
            bad.append(f"{path}:{n}: not a checkpoint")
            continue
        if cp.db != db:
            continue
        key = keys.get(cp.key_id) if keys else None
        if key is None:
            bad.append(f"{path}:{n}: signed with key {cp.key_id}, which is not in the keyring")
            continue
        if not hmac.compare_digest(hmac.new(key, cp.payload(), hashlib.sha256).hexdigest(), cp.sig):
            bad.append(f"{path}:{n}: the signature of the checkpoint at row {cp.id} does not hold (altered or forged)")
            continue
        good.append(cp)
    return good, bad


def write_checkpoint(db, path: Path) -> Checkpoint | None:
    """Append a signed checkpoint of the chain's head to ``path`` (0600), unless the chain is empty
    or its last checkpoint already records this head. Returns the checkpoint written, if any."""
    keys = db.audit_keys
    if keys is None:
        raise AuditKeyError("no audit key: cannot sign a checkpoint")
    with db.read() as s:
        head = s.get(AuditHead, 1)
        if head is None or head.last_id == 0:
            return None
        last_id, last_hash = head.last_id, head.last_hash
    done, _ = read_checkpoints(path, db.fingerprint, keys)
    if done and max(done, key=lambda c: c.id).id >= last_id:
        return None
    cp = sign(Checkpoint(db.fingerprint, last_id, last_hash,
                         dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"), keys.current_id), keys)
    line = json.dumps({**json.loads(cp.payload()), "sig": cp.sig}, sort_keys=True) + "\n"
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    try:
        os.write(fd, line.encode("utf-8"))  # one write of one short line: appends never interleave
        os.fsync(fd)
    finally:
        os.close(fd)
    return cp


# ---- verification -----------------------------------------------------------------------------


@dataclass
class Verdict:
    ok: bool
    rows: int
    first_bad_id: int | None = None
    reason: str = ""
    checkpoints: int = 0
    legacy_rows: int = 0
    problems: list[str] = field(default_factory=list)


def verify(session: Session, keys: AuditKeys | None = None, checkpoints: Iterable[Checkpoint] = (),
           batch: int = 5000) -> Verdict:
    """Walk the whole chain; the first row whose link, key or hash does not hold is named. Then the
    head, and every checkpoint (each must be in the chain with the hash it signed)."""
    keys = keys if keys is not None else session.info.get(KEYS)
    want = {c.id: c for c in checkpoints}
    prev_hash, prev_id, n, legacy, keyed = GENESIS, 0, 0, 0, False
    last = 0
    while True:
        rows = session.scalars(select(AuditEntry).where(AuditEntry.id > last).order_by(AuditEntry.id).limit(batch)).all()
        if not rows:
            break
        for e in rows:
            if e.id != prev_id + 1:
                return Verdict(False, n, e.id, f"row {e.id} follows row {prev_id}: rows {prev_id + 1}..{e.id - 1} are missing")
            if e.prev_hash != prev_hash:
                return Verdict(False, n, e.id, f"row {e.id} does not link to row {prev_id}'s hash (a row was changed or removed)")
            if e.key_id is None:
                if keyed:
                    return Verdict(False, n, e.id, f"row {e.id} carries no key after keyed rows: written without "
                                                   "the audit key (by someone who can write the database?)")
                legacy += 1
                key = None
            else:
                key = keys.get(e.key_id) if keys is not None else None
                if key is None:
                    return Verdict(False, n, e.id, f"row {e.id} is signed with audit key {e.key_id}, which is not in "
                                                   "the keyring: restore that key (audit-keys/) to check it")
                keyed = True
            if not hmac.compare_digest(chain_hash(prev_hash, _row_dict(e), key), e.hash):
                return Verdict(False, n, e.id, f"row {e.id}'s content does not match its hash (the row was edited, "
                                               "or the chain rewritten without the key)")
            if e.id in want and not hmac.compare_digest(want[e.id].hash, e.hash):
                return Verdict(False, n, e.id, f"row {e.id} is not the row checkpointed at {want[e.id].at}: "
                                               "the chain was rewritten")
            prev_hash, prev_id, n = e.hash, e.id, n + 1
        last = rows[-1].id
    if n and not keyed:
        return Verdict(False, n, 1, f"none of the {n} rows is signed with the audit key: the chain was written or "
                                    "rewritten without it", legacy_rows=legacy)
    head = session.get(AuditHead, 1)
    if head is not None and (head.last_id != prev_id or head.last_hash != prev_hash):
        return Verdict(False, n, prev_id + 1 if head.last_id > prev_id else head.last_id,
                       f"the chain ends at row {prev_id} but its head records row {head.last_id}: rows were removed at the end")
    beyond = [c for c in want.values() if c.id > prev_id]
    if beyond:
        c = max(beyond, key=lambda c: c.id)
        return Verdict(False, n, prev_id + 1, f"the chain ends at row {prev_id} but row {c.id} was checkpointed at "
                                              f"{c.at}: rows {prev_id + 1}..{c.id} were removed", checkpoints=len(want))
    return Verdict(True, n, checkpoints=len(want), legacy_rows=legacy)


def verify_database(db, checkpoint_path: Path | None) -> Verdict:
    """``verify`` with the database's keys and its checkpoints in ``checkpoint_path`` (a checkpoint
    line that is forged, altered or signed with an unknown key fails the verdict too)."""
    cps, bad = read_checkpoints(checkpoint_path, db.fingerprint, db.audit_keys) if checkpoint_path else ([], [])
    with db.read() as s:
        v = verify(s, db.audit_keys, cps)
    if bad:
        v.ok = False
        v.problems = bad
        v.reason = "; ".join([v.reason, *bad[:3]] if v.reason else bad[:3])
    return v


def seal_legacy(db) -> bool:
    """After the upgrade that introduced the key: if the chain has unkeyed rows and no keyed one,
    append a keyed row linking to them (the key then vouches for them as they are). True if sealed."""
    with db.write() as s:
        head = s.get(AuditHead, 1, with_for_update=True)
        if head is None or head.last_id == 0:
            return False
        if s.scalars(select(AuditEntry.id).where(AuditEntry.key_id.is_not(None)).limit(1)).first() is not None:
            return False
        append(s, None, "audit.keyed", [str(head.last_id)], result=f"sealed {head.last_id} unkeyed rows")
    return True
