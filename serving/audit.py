"""The audit log: append-only rows chained by hashes, so that an edited or deleted row is detectable.

Each row's ``hash = sha256(prev_hash + canonical(row))`` where ``canonical`` is the row's fields
(id included) as sorted, compact JSON. The one-row ``audit_head`` holds the last id and hash and is
locked (``FOR UPDATE``; SQLite's single writer) while a row is appended, so concurrent writers
never fork the chain. ``verify`` walks the chain and names the first row that breaks it.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from serving.auth import Principal
from serving.db.models import AuditEntry, AuditHead

GENESIS = "0" * 64
MAX_IDS = 500
FIELDS = ("id", "at", "user_id", "user_name", "role", "action", "entity_ids", "model_version", "result",
          "request_id", "prev_hash")


def canonical(row: dict) -> str:
    return json.dumps({k: row[k] for k in FIELDS}, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def chain_hash(prev_hash: str, row: dict) -> str:
    return hashlib.sha256((prev_hash + canonical(row)).encode("utf-8")).hexdigest()


def _row_dict(e: AuditEntry) -> dict:
    return {k: getattr(e, k) for k in FIELDS}


def append(session: Session, user: Principal | None, action: str, entity_ids: Iterable[str] = (),
           result: str = "ok", model_version: str | None = None, request_id: str | None = None) -> AuditEntry:
    """Append one row inside the caller's write transaction (it commits with the audited change)."""
    head = session.get(AuditHead, 1, with_for_update=True)
    if head is None:  # a database made without the migration's seed row
        head = AuditHead(id=1, last_id=0, last_hash=GENESIS)
        session.add(head)
        session.flush()
    ids = [str(i)[:64] for i in list(entity_ids)[:MAX_IDS]]
    row = {
        "id": head.last_id + 1,
        "at": dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
        "user_id": user.id if user else None,
        "user_name": user.name if user else None,
        "role": user.role if user else None,
        "action": action[:64],
        "entity_ids": json.dumps(ids, ensure_ascii=False),
        "model_version": (model_version or None) and str(model_version)[:64],
        "result": str(result)[:32],
        "request_id": request_id,
        "prev_hash": head.last_hash,
    }
    entry = AuditEntry(**row, hash=chain_hash(head.last_hash, row))
    session.add(entry)
    head.last_id, head.last_hash = entry.id, entry.hash
    return entry


@dataclass
class Verdict:
    ok: bool
    rows: int
    first_bad_id: int | None = None
    reason: str = ""


def verify(session: Session, batch: int = 5000) -> Verdict:
    """Walk the whole chain; the first row whose link or hash does not hold is named."""
    prev_hash, prev_id, n = GENESIS, 0, 0
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
            if chain_hash(prev_hash, _row_dict(e)) != e.hash:
                return Verdict(False, n, e.id, f"row {e.id}'s content does not match its hash (the row was edited)")
            prev_hash, prev_id, n = e.hash, e.id, n + 1
        last = rows[-1].id
    head = session.get(AuditHead, 1)
    if head is not None and (head.last_id != prev_id or head.last_hash != prev_hash):
        return Verdict(False, n, prev_id + 1 if head.last_id > prev_id else head.last_id,
                       f"the chain ends at row {prev_id} but its head records row {head.last_id}: rows were removed at the end")
    return Verdict(True, n)
