"""Error bodies: always ``{"detail": ..., "request_id": ...}``; the database down is 503 with a reason."""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError, SQLAlchemyError
from starlette.exceptions import HTTPException as StarletteHTTPException

from serving.jobs import JobBusy, NotReady
from serving.limits import Limited

log = logging.getLogger("hazleads.serving")


def _rid(request: Request) -> str | None:
    return getattr(request.state, "request_id", None)


def db_reason(exc: SQLAlchemyError) -> str:
    """A short reason for a database failure, without internals (no SQL, no stack)."""
    orig = getattr(exc, "orig", None)
    text = str(orig or exc).strip().splitlines()[0] if str(orig or exc).strip() else type(exc).__name__
    low = text.lower()
    if "locked" in low or "busy" in low:
        why = "the database is busy"
    elif "connect" in low or "refused" in low or "terminat" in low or "closed" in low or "server" in low:
        why = "the database server cannot be reached"
    elif "timeout" in low:
        why = "the database did not answer in time"
    else:
        why = "the database failed"
    return f"database unavailable: {why}; try again shortly"


def install(app: FastAPI) -> None:
    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        headers = getattr(exc, "headers", None)
        return JSONResponse({"detail": str(exc.detail), "request_id": _rid(request)}, status_code=exc.status_code,
                            headers=headers)

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = [{"loc": list(e.get("loc", ())), "msg": str(e.get("msg", "")), "type": str(e.get("type", ""))}
                  for e in exc.errors()][:50]
        return JSONResponse({"detail": errors, "request_id": _rid(request)}, status_code=422)

    async def unavailable(request: Request, exc: SQLAlchemyError) -> JSONResponse:
        request.app.state.runtime.metrics.db_unavailable.inc()
        log.warning("database unavailable", extra={"error": type(exc).__name__})
        return JSONResponse({"detail": db_reason(exc), "request_id": _rid(request)}, status_code=503,
                            headers={"Retry-After": "5"})

    async def conflict(request: Request, exc: IntegrityError) -> JSONResponse:
        log.warning("integrity conflict", extra={"error": db_reason(exc)})
        return JSONResponse({"detail": "conflict with a stored record; reload and try again", "request_id": _rid(request)},
                            status_code=409)

    app.add_exception_handler(IntegrityError, conflict)
    app.add_exception_handler(OperationalError, unavailable)
    app.add_exception_handler(DBAPIError, unavailable)

    @app.exception_handler(NotReady)
    async def not_ready(request: Request, exc: NotReady) -> JSONResponse:
        return JSONResponse({"detail": f"not ready: {exc}", "request_id": _rid(request)}, status_code=503,
                            headers={"Retry-After": "30"})

    @app.exception_handler(Limited)
    async def limited(request: Request, exc: Limited) -> JSONResponse:
        return JSONResponse({"detail": str(exc), "request_id": _rid(request)}, status_code=429,
                            headers={"Retry-After": str(exc.retry_after)})

    @app.exception_handler(JobBusy)
    async def busy(request: Request, exc: JobBusy) -> JSONResponse:
        return JSONResponse({"detail": str(exc), "request_id": _rid(request)}, status_code=409)
