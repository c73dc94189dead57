"""Background work: the scoring job (at start, for the score history, after a promotion, on demand)
and retraining. At most one of each kind runs at a time: an in-process lock and, across processes,
a unique index on the ``running`` job rows. A second request while one runs gets ``JobBusy`` (409).
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import socket
import threading
import time
from collections.abc import Callable

import pandas as pd
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from serving import audit, limits
from serving.auth import Principal
from serving.db.models import Job, utcnow
from serving.repo import runs
from serving.runtime import Runtime

log = logging.getLogger("hazleads.serving")


class JobBusy(RuntimeError):
    """A job of this kind is already running."""


class NotReady(RuntimeError):
    """The service lacks what the job needs (a snapshot, a champion model)."""


def _process_identity(pid: int) -> dict | None:
    """What identifies a live process beyond its (reusable) pid: host, boot and start time (Linux)."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as fh:
            started = fh.read().rsplit(b")", 1)[1].split()[19].decode()  # field 22: start time in ticks
        with open("/proc/sys/kernel/random/boot_id") as fh:
            boot = fh.read().strip()
    except (OSError, IndexError):
        return None
    return {"host": socket.gethostname(), "boot": boot, "pid": pid, "started": started}


def _owner_alive(owner: dict | None) -> bool:
    """True unless the job's owner is known to be dead: a process of this host and boot that is gone
    (or whose pid now belongs to another process). Owners elsewhere cannot be checked: alive."""
    if not isinstance(owner, dict) or "pid" not in owner:
        return False  # a row from before owners were recorded
    if owner.get("host") != socket.gethostname():
        return True
    now = _process_identity(int(owner["pid"]))
    if now is None:
        return False if owner.get("boot") else not _pid_gone(int(owner["pid"]))
    return now["boot"] == owner.get("boot") and now["started"] == owner.get("started")


def _pid_gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False


def _open_job(rt: Runtime, kind: str, user: Principal | None, params: dict, limited: bool = False) -> int:
    """The job's row, opened (``JobBusy`` if one of its kind runs; with ``limited``, ``limits.Limited``
    if the user who asked has started too many in the last hour: the jobs the service starts on its
    own, at start-up or after a promotion, are never refused)."""
    params = {**params, "owner": _process_identity(os.getpid()) or {"host": socket.gethostname(), "pid": os.getpid()}}
    try:
        with rt.db.write() as s:
            if limited and user is not None:
                limits.jobs(s, user, rt.settings.jobs_per_hour)
            job = Job(kind=kind, status="running", requested_by=user.id if user else None,
                      params=json.dumps(params, ensure_ascii=False, default=str), result="{}")
            s.add(job)
            s.flush()
            audit.append(s, user, f"{kind}.start", [str(job.id)], result="started")
            return job.id
    except IntegrityError:
        raise JobBusy(busy_message(rt, kind)) from None


def busy_message(rt: Runtime, kind: str) -> str:
    with rt.db.read() as s:
        job = s.scalars(select(Job).where(Job.kind == kind, Job.status == "running")).first()
    what = "训练 a training run" if kind == "training" else "评分 a scoring job"
    if job is None:
        return f"{what} is already running; try again when it has finished"
    return (f"{what} is already running (job {job.id}, started {job.started_at:%Y-%m-%d %H:%M:%S} UTC); "
            f"follow it at /v1/{'training' if kind == 'training' else 'scoring'}/{job.id} and try again when it has finished")


def _close_job(rt: Runtime, job_id: int, kind: str, status: str, result: dict, error: str | None,
               user: Principal | None) -> None:
    with rt.db.write() as s:
        s.execute(update(Job).where(Job.id == job_id).values(
            status=status, finished_at=utcnow(), result=json.dumps(result, ensure_ascii=False, default=str),
            error=(error or None) and error[:4000]))
        audit.append(s, user, f"{kind}.finish", [str(job_id)], result=status)


def recover(rt: Runtime) -> int:
    """Jobs left ``running`` by a process that died are failed. A job whose owner is still alive (another
    instance of the service on the same database) is left alone: failing it would free the one-running-job
    index and let a second training start beside it."""
    with rt.db.write() as s:
        dead = [j.id for j in s.scalars(select(Job).where(Job.status == "running"))
                if not _owner_alive(_params(j).get("owner"))]
        if not dead:
            return 0
        res = s.execute(update(Job).where(Job.id.in_(dead), Job.status == "running").values(
            status="failed", finished_at=utcnow(), error="interrupted: the service stopped while it ran"))
        return res.rowcount or 0


def _params(job: Job) -> dict:
    try:
        value = json.loads(job.params or "{}")
    except json.JSONDecodeError:
        return {}
    return value if isinstance(value, dict) else {}


# ---- scoring ------------------------------------------------------------------------------


def score_now(rt: Runtime, as_of, trigger: str) -> int:
    """Score the snapshot at ``as_of`` with the serving models and store the lists; the run id."""
    from training.score import score_snapshot

    ent, tip = rt.models.get("enterprise"), rt.models.get("tip")
    if rt.snapshot is None or ent is None:
        raise NotReady(rt.problem or "no champion enterprise model: run `hazleads train` first")
    snap = rt.snapshot
    day = pd.Timestamp(as_of).normalize() if as_of is not None else snap.last_day
    latest = day >= snap.last_day
    t0 = time.perf_counter()
    versions = {"enterprise": ent.version, "tip": tip.version if tip else ""}
    leads = score_snapshot(snap, day, ent.model, tip.model if tip else None, versions, rt.digest,
                           k=rt.settings.gate_k, share=rt.settings.exploration_share, features=rt.build_features(day))
    with rt.db.write() as s:
        run = runs.store(s, leads, rt.ctx, trigger, time.perf_counter() - t0, with_mismatch=latest)
        if latest:
            runs.sync_snapshot_tips(s, snap, rt.ctx, leads.tip, tip.version if tip else None)
        audit.append(s, None, "scoring.store", [str(run.id)], model_version=_vtext(versions),
                     result=f"as_of {day.date()}")
        run_id = run.id
    if latest:
        rt.serve_features(leads.features)
        rt.settle_memory()
    elapsed = time.perf_counter() - t0
    rt.metrics.scoring_seconds.labels(trigger).observe(elapsed)
    log.info("lead lists stored", extra={"run_id": run_id, "as_of": str(day.date()), "trigger": trigger,
                                         "seconds": round(elapsed, 2), "versions": versions})
    return run_id


def _vtext(versions: dict) -> str:
    return ";".join(f"{k}:{v}" for k, v in versions.items() if v)


def history_dates(last_day: pd.Timestamp, months: int) -> list[pd.Timestamp]:
    """The ``months`` month-ends before ``last_day`` (newest last)."""
    if months <= 0:
        return []
    ends = pd.date_range(end=last_day - pd.Timedelta(days=1), periods=months, freq="ME")
    return [d.normalize() for d in ends if d < last_day]


def run_scoring_job(rt: Runtime, as_of, trigger: str, user: Principal | None = None, job_id: int | None = None,
                    blocking: bool = True) -> int | None:
    """One scoring job under the lock (the lock is already held when ``job_id`` is given)."""
    if job_id is None:
        if not rt.scoring_lock.acquire(blocking=blocking):
            raise JobBusy(busy_message(rt, "scoring"))
        try:
            job_id = _open_job(rt, "scoring", user, {"as_of": str(as_of) if as_of else None, "trigger": trigger})
        except BaseException:
            rt.scoring_lock.release()
            raise
    try:
        run_id = score_now(rt, as_of, trigger)
        _close_job(rt, job_id, "scoring", "succeeded", {"run_id": run_id}, None, user)
        return run_id
    except Exception as exc:  # noqa: BLE001 - recorded in the job row, never lost
        log.exception("scoring job failed", extra={"job_id": job_id})
        _close_job(rt, job_id, "scoring", "failed", {}, f"{type(exc).__name__}: {exc}", user)
        return None
    finally:
        rt.scoring_lock.release()


def start_scoring(rt: Runtime, as_of, user: Principal) -> int:
    """Queue an on-demand scoring job in a thread; its job id. Raises JobBusy or NotReady."""
    if rt.snapshot is None or rt.models.get("enterprise") is None:
        raise NotReady(rt.problem or "no champion enterprise model: run a training first")
    if not rt.scoring_lock.acquire(blocking=False):
        raise JobBusy(busy_message(rt, "scoring"))
    try:
        job_id = _open_job(rt, "scoring", user, {"as_of": str(as_of) if as_of else None, "trigger": "on_demand"},
                           limited=True)
    except BaseException:
        rt.scoring_lock.release()
        raise
    threading.Thread(target=run_scoring_job, args=(rt, as_of, "on_demand", user, job_id),
                     name=f"scoring-{job_id}", daemon=True).start()
    return job_id


def warm_up(rt: Runtime, say: Callable[[str], None] | None = None) -> None:
    """Everything the service needs after start: snapshot, champions, the current lists (scored if
    missing), the features behind the evidence, and the score history over past month-ends."""
    say = say or (lambda _m: None)
    rt.phase = "loading"
    say("读取快照 loading the snapshot")
    if not rt.load_snapshot():
        rt.phase = "degraded"
        return
    say("加载模型 loading the champion models")
    rt.load_champions()
    snap = rt.snapshot
    if rt.models.get("enterprise") is None:
        rt.problem = "no champion enterprise model: run `hazleads train` first" + (
            f" ({rt.model_errors['enterprise']})" if "enterprise" in rt.model_errors else "")
        say("构建特征 building features (no model yet)")
        rt.serve_features(rt.build_features(snap.last_day))
        rt.phase = "degraded"
        return
    rt.phase = "scoring"
    with rt.db.read() as s:
        have = runs.has_run(s, rt.digest, snap.last_day.date(), rt.versions())
    if have:
        say("构建特征 building the evidence tables")
        rt.serve_features(rt.build_features(snap.last_day))
        rt.settle_memory()
    else:
        say(f"评分 scoring {snap.last_day.date()}")
        run_scoring_job(rt, snap.last_day, "start")
    rt.phase = "ready" if rt.features is not None else "degraded"
    for d in history_dates(snap.last_day, rt.history_months):
        with rt.db.read() as s:
            if runs.has_run(s, rt.digest, d.date(), rt.versions()):
                continue
        say(f"历史评分 score history {d.date()}")
        run_scoring_job(rt, d, "history")
    rt.settle_memory()


# ---- training -----------------------------------------------------------------------------


def start_training(rt: Runtime, user: Principal, as_of: dt.date | None, config) -> int:
    """Start a training run in a thread; its job id. Raises JobBusy if one runs, NotReady without data."""
    if rt.snapshot_path is None:
        raise NotReady(rt.problem or "no snapshot to train on")
    if not rt.training_lock.acquire(blocking=False):
        raise JobBusy(busy_message(rt, "training"))
    try:
        job_id = _open_job(rt, "training", user, {"as_of": str(as_of) if as_of else None,
                                                   "config": getattr(config, "name", "default")}, limited=True)
    except BaseException:
        rt.training_lock.release()
        raise
    threading.Thread(target=_train, args=(rt, job_id, user, as_of, config), name=f"training-{job_id}",
                     daemon=True).start()
    return job_id


def _train(rt: Runtime, job_id: int, user: Principal, as_of, config) -> None:
    from hazleads.state import write_state
    from serving.repo.outcomes import recorded_outcomes
    from training.pipeline import run_training

    t0 = time.perf_counter()
    status, result, error = "failed", {}, None
    try:
        with rt.db.read() as s:
            outcomes = recorded_outcomes(s)
        rt.progress[job_id] = f"{len(outcomes)} recorded outcome(s) added to the labels"
        res = run_training(rt.snapshot_path, rt.settings, as_of=as_of, config=config, recorded_outcomes=outcomes,
                           progress=lambda m: rt.progress.__setitem__(job_id, str(m)),
                           # no fork beside the request threads: the dates in this process (all cached after
                           # a first run), the later folds in a process from a fork server (training.fold_workers)
                           feature_workers=1, fold_start="forkserver")
        write_state(rt.settings, last_trained_snapshot=str(rt.snapshot_path), last_run_id=res.run_id,
                    last_as_of=str(res.as_of.date()))
        status, result = "succeeded", {**res.summary(), "recorded_outcomes": len(outcomes),
                                        "recorded_case_ids": outcomes["case_id"].head(1000).tolist()}
    except Exception as exc:  # noqa: BLE001 - a failed run is reported, the champion is untouched
        log.exception("training job failed", extra={"job_id": job_id})
        error = f"{type(exc).__name__}: {exc}"
    finally:
        rt.metrics.training_seconds.labels(status).observe(time.perf_counter() - t0)
        try:
            promoted = status == "succeeded" and any(d["promoted"] for d in result.get("decisions", []))
            if promoted:
                rt.progress[job_id] = "加载新模型 loading the new champion"
                if rt.load_champions():
                    rt.progress[job_id] = "重新评分 re-scoring with the new champion"
                    run_scoring_job(rt, None, "promotion", user)
                result["serving"] = rt.versions()
                result["load_errors"] = dict(rt.model_errors)
            _close_job(rt, job_id, "training", status, result, error, user)
        finally:
            rt.progress.pop(job_id, None)
            rt.training_lock.release()


def after_champion_change(rt: Runtime, user: Principal | None) -> bool:
    """Load the registry's champions; if one changed, re-score in the background. True if changed."""
    changed = rt.load_champions()
    if changed and rt.snapshot is not None:
        request_rescore(rt, user)
    return changed


def request_rescore(rt: Runtime, user: Principal | None) -> bool:
    """Re-score the latest lists with the champions serving, in the background. Requests coalesce:
    while one re-score waits to start (behind the scoring lock), later requests join it, since it will
    use every champion loaded by the time it starts; so a burst of promotions costs one re-score (two
    if one was already running). True if this request queued a new re-score."""
    with rt.rescore_lock:
        if rt.rescore_waiting:
            return False
        rt.rescore_waiting = True
    threading.Thread(target=_rescore, args=(rt, user), name="rescoring", daemon=True).start()
    return True


def _rescore(rt: Runtime, user: Principal | None) -> None:
    rt.scoring_lock.acquire()
    with rt.rescore_lock:
        rt.rescore_waiting = False  # from here on, a new champion needs a new re-score
    try:
        job_id = _open_job(rt, "scoring", user, {"as_of": None, "trigger": "promotion"})
    except Exception:  # noqa: BLE001 - a scoring job from another process runs: it scores the new champions too
        rt.scoring_lock.release()
        log.warning("re-scoring after a champion change not started", exc_info=True)
        return
    run_scoring_job(rt, None, "promotion", user, job_id=job_id)
