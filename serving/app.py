"""``create_app(settings)``: the FastAPI app, its lifespan and its middleware.

At start the lifespan opens the database and migrates it to head, recovers jobs a dead process
left running, then (in the foreground for tests, in a thread when served) loads the snapshot and
the champion models, scores the lists if none is stored for them, builds the evidence tables and
scores the past month-ends for the score history. A watcher picks up champions promoted elsewhere.
"""

from __future__ import annotations

import contextlib
import logging
import threading
from pathlib import Path
from typing import Literal

from fastapi import Depends, FastAPI

from hazleads.settings import Settings, get_settings
from serving.api import errors, kept
from serving.api.deps import plain_text
from serving.api.routes import (
    audit,
    cases,
    enterprises,
    exports,
    handovers,
    health,
    jobs,
    leads,
    meta,
    mismatch,
    models,
    names,
    outcomes,
    pages,
    sites,
    stats,
    tips,
    users,
    vehicles,
)
from serving.db.setup import open_database
from serving.jobs import after_champion_change, recover, warm_up
from serving.metrics import Metrics
from serving.middleware import MAX_BODY, AuthGate, BodyLimit, RequestContext
from serving.runtime import Runtime

log = logging.getLogger("hazleads.serving")
PUBLIC_PATHS = frozenset({"/healthz", "/"})  # and the page's files under /static/
Warm = Literal["sync", "background", "off"]


ROUTERS = (health, leads, enterprises, sites, vehicles, tips, outcomes, cases, handovers, exports, mismatch, stats, jobs,
           models, users, audit, meta, names, pages)


def _watch(rt: Runtime, stop: threading.Event, interval_s: float) -> None:
    while not stop.wait(interval_s):
        try:
            after_champion_change(rt, None)
        except Exception:  # noqa: BLE001 - the registry may be briefly unavailable; try again later
            log.warning("champion check failed", exc_info=True)


def _checkpoints(rt: Runtime, stop: threading.Event, interval_s: float) -> None:
    """Export a signed checkpoint of the audit chain every ``interval_s`` seconds, and once at the end."""
    from serving.audit import write_checkpoint

    while True:
        stopping = stop.wait(interval_s)
        try:
            write_checkpoint(rt.db, rt.settings.audit_checkpoint_path)
        except Exception:  # noqa: BLE001 - the database may be briefly unavailable; try again later
            log.warning("audit checkpoint failed", exc_info=True)
        if stopping:
            return


def create_app(settings: Settings | None = None, data: str | Path | None = None, warm: Warm = "background",
               train_config=None, history_months: int = 6, watch_interval_s: float = 60.0,
               max_body: int = MAX_BODY, loaded=None) -> FastAPI:
    """The service over ``data`` (default: the snapshot last trained on). ``loaded``: that snapshot
    as a training run in this process loaded it (``training.pipeline.LoadedSnapshot``), served
    without reading it again."""
    settings = settings or get_settings()
    metrics = Metrics()
    handoff = [loaded] if loaded is not None else []  # taken by the first start: not held by the app after
    del loaded

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI):
        db = open_database(settings)
        rt = Runtime(settings, db, metrics, data=Path(data) if data else None, train_config=train_config,
                     history_months=history_months, loaded=handoff.pop() if handoff else None)
        app.state.runtime = rt
        recover(rt)
        stop = threading.Event()
        threads = []
        if warm == "sync":
            warm_up(rt)
        elif warm == "background":
            threads.append(threading.Thread(target=_safe_warm_up, args=(rt,), name="warm-up", daemon=True))
        if watch_interval_s > 0 and warm != "off":
            threads.append(threading.Thread(target=_watch, args=(rt, stop, watch_interval_s), name="champion-watch",
                                            daemon=True))
        checkpointer = threading.Thread(target=_checkpoints, args=(rt, stop, settings.audit_checkpoint_s),
                                        name="audit-checkpoints", daemon=True)
        for t in [*threads, checkpointer]:
            t.start()
        try:
            yield
        finally:
            stop.set()
            checkpointer.join(timeout=30)
            db.dispose()

    app = FastAPI(
        title="hazleads",
        version="1",
        summary="危险废物违法线索 / Leads for hazardous-waste crime investigators",
        description=("Ranked, explained lead lists of enterprises, tips and candidate illegal sites; evidence; "
                     "tip intake; outcomes; ledger mismatch; retraining. Every path except /healthz needs "
                     "`Authorization: Bearer <token>`; 401 without a valid token, 403 for a role without the "
                     "right, 404 for entities outside the reader's county."),
        lifespan=lifespan,
        dependencies=[Depends(plain_text)],
    )
    app.state.metrics = metrics
    errors.install(app)
    for module in ROUTERS:  # each router carries its full path (/v1/...), so route templates are whole
        app.include_router(module.router)
    pages.mount(app)
    # outermost last: RequestContext -> BodyLimit -> AuthGate -> routes
    app.add_middleware(AuthGate, get_db=lambda: app.state.runtime.db, public=PUBLIC_PATHS,
                       public_prefixes=(pages.STATIC_PREFIX,), metrics=metrics,
                       kept=kept.gate_reader(app), respond=kept.kept_response)
    app.add_middleware(BodyLimit, limit=max_body)
    app.add_middleware(RequestContext, metrics=metrics)
    return app


def _safe_warm_up(rt: Runtime) -> None:
    try:
        warm_up(rt, lambda m: log.info("warm-up", extra={"step": m}))
    except Exception as exc:  # noqa: BLE001 - the service stays up and says why it is not ready
        rt.phase, rt.problem = "degraded", f"start-up failed: {type(exc).__name__}: {exc}"
        log.exception("warm-up failed")
