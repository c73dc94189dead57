"""Dependencies. A route's signature says who may call it: ``LeadReader``, ``TipReader``, ``Admin``…

Authentication happens in ``serving.middleware.AuthGate`` (so that 401 comes before anything
else); ``current_user`` reads what it found. Each role check that fails is audited and answers 403.

Every dependency on a request's path is ``async`` and does no blocking work of its own (what must
touch the database goes to the thread pool itself): FastAPI runs a plain ``def`` dependency in the
thread pool, and a hop there costs more than the check. A kept lead-list page makes one hop: the
gate reads the token, finds the kept answer and writes its audit row in it, and answers without
the router (``serving.api.kept.kept_read``, ``tests/test_list_cache.py``); a page computed
afresh makes two, the gate's and the route's.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterable
from typing import Annotated, TypeVar

from fastapi import Depends, HTTPException, Query, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from starlette.concurrency import run_in_threadpool

from serving import audit
from serving.access import allowed
from serving.auth import Principal, authenticate, parse_bearer
from serving.runtime import Runtime
from serving.schemas.common import Lang
from serving.scope import Scope

bearer = HTTPBearer(auto_error=False, scheme_name="bearer",
                    description="a token from `hazleads users add NAME --role ROLE [--county C]`")


async def plain_text(request: Request) -> None:
    """Refuse a NUL character in the path or the query (422): no id or filter holds one, and
    PostgreSQL cannot even compare with one. Applied to every route (``create_app``)."""
    if "\x00" in request.scope.get("path", "") or any("\x00" in k or "\x00" in v for k, v in request.query_params.multi_items()):
        raise HTTPException(422, "a NUL character (%00) in the path or query; remove it")


async def get_runtime(request: Request) -> Runtime:
    return request.app.state.runtime


RuntimeDep = Annotated[Runtime, Depends(get_runtime)]


def _authenticate(rt: Runtime, token: str | None) -> Principal | None:
    with rt.db.read() as s:
        return authenticate(s, token)


async def current_user(request: Request, rt: RuntimeDep,
                       creds: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)]) -> Principal:
    p = getattr(request.state, "principal", None)
    if p is None:  # the gate did not run (an app mounted without it): authenticate here
        p = await run_in_threadpool(_authenticate, rt, parse_bearer(request.headers.get("authorization")))
    if p is None:
        raise HTTPException(401, "missing or invalid bearer token", headers={"WWW-Authenticate": "Bearer"})
    return p


CurrentUser = Annotated[Principal, Depends(current_user)]


def request_id(request: Request) -> str | None:
    return getattr(request.state, "request_id", None)


def record(rt: Runtime, request: Request, user: Principal | None, action: str, ids: Iterable[str] = (),
           result: str = "ok", model_version: str | None = None) -> None:
    """Append an audit row in its own transaction (reads; writes audit inside their own)."""
    record_as(rt, request_id(request), user, action, ids, result=result, model_version=model_version)


def record_as(rt: Runtime, rid: str | None, user: Principal | None, action: str, ids: Iterable[str] = (),
              result: str = "ok", model_version: str | None = None) -> None:
    """``record`` for the request whose id is ``rid`` (where there is no ``Request``: the gate). The row
    is the one ``audit.append`` writes in ``rt.db.write()``, on a plain connection (no ORM session)."""
    with rt.db.write_connection() as conn:
        audit.append_on(conn, rt.db.audit_keys, user, action, ids, result=result, model_version=model_version,
                        request_id=rid)


def require(resource: str) -> Callable[..., Principal]:
    async def check(request: Request, user: CurrentUser, rt: RuntimeDep) -> Principal:
        if not allowed(user, resource):
            route = getattr(request.scope.get("route"), "path", request.url.path)
            await run_in_threadpool(record, rt, request, user, f"denied {request.method} {route}"[:64], result="forbidden")
            raise HTTPException(403, f"role {user.role} may not use this resource ({resource})")
        return user

    check.__name__ = f"require_{resource}"
    return check


LeadReader = Annotated[Principal, Depends(require("leads"))]
EnterpriseReader = Annotated[Principal, Depends(require("enterprise"))]
SiteReader = Annotated[Principal, Depends(require("site"))]
VehicleReader = Annotated[Principal, Depends(require("vehicle"))]
TipReader = Annotated[Principal, Depends(require("tip"))]
TipWriter = Annotated[Principal, Depends(require("tip_write"))]
OutcomeUser = Annotated[Principal, Depends(require("outcome"))]
CaseUser = Annotated[Principal, Depends(require("cases"))]
HandoverReader = Annotated[Principal, Depends(require("handover_read"))]
HandoverWriter = Annotated[Principal, Depends(require("handover_write"))]
HandoverDecider = Annotated[Principal, Depends(require("handover_decide"))]
StatsReader = Annotated[Principal, Depends(require("stats"))]
MismatchReader = Annotated[Principal, Depends(require("mismatch"))]
RunsReader = Annotated[Principal, Depends(require("runs"))]
AnyUser = Annotated[Principal, Depends(require("me"))]
Admin = Annotated[Principal, Depends(require("admin"))]
MetricsReader = Annotated[Principal, Depends(require("metrics"))]
AuditReader = Annotated[Principal, Depends(require("audit"))]
DocsReader = Annotated[Principal, Depends(require("docs"))]

MAX_PAGE = 200
MAX_OFFSET = 100_000
Limit = Annotated[int, Query(ge=1, le=MAX_PAGE, description=f"page size, at most {MAX_PAGE}")]
Offset = Annotated[int, Query(ge=0, le=MAX_OFFSET)]


def lang_of(rt: Runtime, lang: Lang | None) -> str:
    return lang or rt.settings.lang


async def reader_scope(user: CurrentUser, rt: RuntimeDep) -> Scope:
    """What this reader may see of the snapshot being served (``serving.scope``)."""
    return Scope(user, rt.ctx)


ReaderScope = Annotated[Scope, Depends(reader_scope)]


T = TypeVar("T")


def query_model(cls: type[T]) -> Callable[..., T]:
    """``Depends(query_model(Cls))`` is ``Depends(Cls)`` (the same query parameters, the same OpenAPI)
    without the thread-pool hop FastAPI makes for a class: building a dataclass of parsed query
    parameters blocks nothing."""

    async def make(**kwargs) -> T:
        return cls(**kwargs)

    make.__signature__ = inspect.signature(cls, eval_str=True)
    make.__name__ = make.__qualname__ = cls.__name__
    make.__doc__ = cls.__doc__
    return make
