"""Background jobs for administrators: retraining (one at a time) and on-demand scoring; the
stored scoring runs (as-of dates and model versions) for every reader of lists."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, HTTPException, Request
from fastapi import Path as PathParam
from sqlalchemy import select

from serving.api.deps import Admin, Limit, RunsReader, RuntimeDep
from serving.api.present import run_info, user_names
from serving.db.models import Job
from serving.jobs import start_scoring, start_training
from serving.repo import runs
from serving.schemas.admin import JobList, JobOut, RunList, ScoringIn, TrainingIn
from serving.schemas.common import ERRORS, NOT_FOUND, ErrorBody

router = APIRouter(prefix="/v1", tags=["jobs"], responses={**ERRORS, **NOT_FOUND})
BUSY = {409: {"model": ErrorBody, "description": "a job of this kind is already running"},
        429: {"model": ErrorBody, "description": "over the jobs one user may start in an hour; see Retry-After"}}
JobId = Annotated[int, PathParam(ge=1, le=2**31 - 1)]


def job_out(rt, job: Job, names: dict[int, str]) -> dict:
    result = json.loads(job.result or "{}")
    promoted = None
    if job.kind == "training" and job.status == "succeeded":
        promoted = any(d.get("promoted") for d in result.get("decisions", []))
    return {"id": job.id, "kind": job.kind, "status": job.status, "started_at": job.started_at,
            "finished_at": job.finished_at, "requested_by": names.get(job.requested_by),
            "params": json.loads(job.params or "{}"), "progress": rt.progress.get(job.id) if job.status == "running" else None,
            "result": result, "error": job.error, "promoted": promoted}


def _jobs(rt, kind: str, limit: int) -> dict:
    with rt.db.read() as s:
        rows = list(s.scalars(select(Job).where(Job.kind == kind).order_by(Job.id.desc()).limit(limit)))
        names = user_names(s, [j.requested_by for j in rows])
    return {"items": [job_out(rt, j, names) for j in rows]}


def _job(rt, kind: str, job_id: int) -> dict:
    with rt.db.read() as s:
        job = s.get(Job, job_id)
        if job is None or job.kind != kind:
            raise HTTPException(404, f"no {kind} job {job_id}")
        names = user_names(s, [job.requested_by])
    return job_out(rt, job, names)


def _config(rt, experiment: str | None):
    if experiment is None:
        return rt.train_config
    import experiments
    from training.config import ConfigError, load_config

    path = Path(experiments.__file__).parent / f"{experiment}.toml"
    if not path.exists():
        known = sorted(p.stem for p in path.parent.glob("*.toml"))
        raise HTTPException(422, f"experiment {experiment!r} does not exist; known: {', '.join(known)}")
    try:
        return load_config(path)
    except ConfigError as exc:
        raise HTTPException(422, f"experiment {experiment!r} is invalid: {exc}") from None


@router.post("/training", response_model=JobOut, status_code=202, responses=BUSY, summary="Start a training run")
def start_training_run(body: TrainingIn, request: Request, user: Admin, rt: RuntimeDep):
    """Retrain on the served snapshot plus every outcome recorded here, in the background. A new
    model replaces the champion only if it passes the gate; the service then loads it and re-scores
    without a restart. While a run is going, another request is refused with 409."""
    job_id = start_training(rt, user, body.as_of, _config(rt, body.experiment))
    return _job(rt, "training", job_id)


@router.get("/training", response_model=JobList, summary="Recent training runs")
def training_runs(request: Request, user: Admin, rt: RuntimeDep, limit: Limit = 20):
    return _jobs(rt, "training", limit)


@router.get("/training/{job_id}", response_model=JobOut, summary="One training run's status")
def training_run(job_id: JobId, request: Request, user: Admin, rt: RuntimeDep):
    return _job(rt, "training", job_id)


@router.post("/scoring", response_model=JobOut, status_code=202, responses=BUSY, summary="Score now")
def start_scoring_run(body: ScoringIn, request: Request, user: Admin, rt: RuntimeDep):
    """Compute and store the lead lists at an as-of date (default the snapshot's last day) with the
    models in service."""
    job_id = start_scoring(rt, body.as_of, user)
    return _job(rt, "scoring", job_id)


@router.get("/scoring/{job_id}", response_model=JobOut, summary="One scoring job's status")
def scoring_job(job_id: JobId, request: Request, user: Admin, rt: RuntimeDep):
    return _job(rt, "scoring", job_id)


@router.get("/runs", response_model=RunList, summary="Stored lead lists: as-of dates and model versions")
def scoring_runs(request: Request, user: RunsReader, rt: RuntimeDep, limit: Limit = 50):
    with rt.db.read() as s:
        rows = runs.runs(s, rt.digest, limit)
    return {"items": [run_info(r, "enterprise") for r in rows], "snapshot_digest": rt.digest,
            "as_of_dates": sorted({r.as_of for r in rows})}


