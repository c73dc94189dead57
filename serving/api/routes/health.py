"""Operations: liveness (no token), readiness and Prometheus metrics (tokens required)."""

from __future__ import annotations

from fastapi import APIRouter, Response
from fastapi.responses import JSONResponse
from sqlalchemy import text

from serving.api.deps import AnyUser, MetricsReader, RuntimeDep
from serving.repo import runs
from serving.schemas.common import ERRORS
from serving.schemas.meta import Health, Ready

router = APIRouter(tags=["operations"])


@router.get("/healthz", response_model=Health, summary="Liveness: the process answers")
def healthz():
    return {"status": "ok"}


@router.get("/readyz", response_model=Ready, responses={**ERRORS, 503: {"model": Ready, "description": "not ready, with why"}},
            summary="Readiness: database reachable, models loaded, a lead list stored")
def readyz(user: AnyUser, rt: RuntimeDep):
    db_ok, lead_list = True, False
    try:
        with rt.db.read() as s:
            s.execute(text("SELECT 1"))
            lead_list = runs.current_run(s, rt.digest) is not None
    except Exception:  # noqa: BLE001 - reported as not ready
        db_ok = False
    r = rt.readiness()
    ready = db_ok and lead_list and bool(r["enterprise_model"]) and bool(r["features"])
    problem = None
    if not db_ok:
        problem = "database unavailable"
    elif not ready:
        problem = r["problem"] or ("no champion enterprise model" if not r["enterprise_model"] else
                                   "the evidence tables are being built" if not r["features"] else "no lead list stored yet")
    body = Ready(ready=ready, database=db_ok, phase=str(r["phase"]), snapshot=bool(r["snapshot"]),
                 features=bool(r["features"]), models=rt.versions(), lead_list=lead_list, problem=problem)
    return JSONResponse(body.model_dump(mode="json"), status_code=200 if ready else 503)


@router.get("/metrics", responses=ERRORS, response_class=Response, summary="Prometheus metrics (admins)")
def metrics(user: MetricsReader, rt: RuntimeDep):
    return Response(rt.metrics.render(), media_type="text/plain; version=0.0.4; charset=utf-8")
