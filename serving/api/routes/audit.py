"""The audit log (auditors only): read it, and verify its hash chain."""

from __future__ import annotations

import json
from typing import Annotated

from fastapi import APIRouter, Query, Request
from sqlalchemy import func, select

from serving import audit
from serving.api.deps import AuditReader, Limit, RuntimeDep, record
from serving.db.models import AuditEntry
from serving.schemas.common import ERRORS
from serving.schemas.meta import AuditPage, AuditVerdict

router = APIRouter(prefix="/v1/audit", tags=["audit"], responses=ERRORS)


@router.get("", response_model=AuditPage, summary="Audit rows, oldest first")
def read_audit(request: Request, user: AuditReader, rt: RuntimeDep,
               after_id: Annotated[int, Query(ge=0, le=2**62)] = 0,
               user_name: Annotated[str | None, Query(min_length=1, max_length=64)] = None,
               action: Annotated[str | None, Query(min_length=1, max_length=64, description="prefix, e.g. tip.")] = None,
               limit: Limit = 100):
    conds = [AuditEntry.id > after_id]
    if user_name is not None:
        conds.append(AuditEntry.user_name == user_name)
    if action is not None:
        conds.append(AuditEntry.action.startswith(action, autoescape=True))
    with rt.db.read() as s:
        total = s.scalar(select(func.count(AuditEntry.id)).where(*conds)) or 0
        rows = list(s.scalars(select(AuditEntry).where(*conds).order_by(AuditEntry.id).limit(limit)))
    record(rt, request, user, "audit.read", [str(rows[0].id), str(rows[-1].id)] if rows else [])
    items = [{**{c: getattr(e, c) for c in ("id", "at", "user_id", "user_name", "role", "action", "model_version",
                                             "result", "request_id", "prev_hash", "hash")},
              "entity_ids": json.loads(e.entity_ids or "[]")} for e in rows]
    return {"total": total, "limit": limit, "offset": 0, "items": items}


@router.get("/verify", response_model=AuditVerdict, summary="Check the hash chain")
def verify_audit(request: Request, user: AuditReader, rt: RuntimeDep):
    """The chain checked with the audit key (kept outside the database) and against the signed
    checkpoints exported outside it; the first row that does not hold is named."""
    v = audit.verify_database(rt.db, rt.settings.audit_checkpoint_path)
    record(rt, request, user, "audit.verify", [], result="ok" if v.ok else f"broken at {v.first_bad_id}")
    return {"ok": v.ok, "rows": v.rows, "first_bad_id": v.first_bad_id, "reason": v.reason,
            "checkpoints": v.checkpoints, "legacy_rows": v.legacy_rows}
