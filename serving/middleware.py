"""ASGI middleware: request ids, access logs and latency metrics, a catch-all that never lets a
stack trace reach a client, bounded request bodies, and the bearer-token gate.

The gate runs before routing and body parsing, so every path except the public ones answers 401
without a valid token — whatever the method, path or body."""

from __future__ import annotations

import json
import logging
import re
import time
import uuid

import anyio
from sqlalchemy.exc import SQLAlchemyError

from serving.auth import check_token, parse_bearer
from serving.listcache import data_version
from serving.logs import request_id_var

log = logging.getLogger("hazleads.serving.access")
_RID = re.compile(r"^[A-Za-z0-9._\-]{1,64}$")
MAX_BODY = 64 * 1024


async def send_json(send, status: int, body: dict, headers: list[tuple[bytes, bytes]] | None = None) -> None:
    data = json.dumps(body, ensure_ascii=False).encode("utf-8")
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(data)).encode()),
                            *(headers or [])]})
    await send({"type": "http.response.body", "body": data})


class RequestContext:
    """Request id (``X-Request-ID`` echoed when sane, else generated), timing, metrics, access log,
    and a generic JSON 500 with the request id for anything unhandled."""

    def __init__(self, app, metrics) -> None:
        self.app, self.metrics = app, metrics

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers") or [])
        rid = headers.get(b"x-request-id", b"").decode("latin-1")
        rid = rid if _RID.match(rid) else uuid.uuid4().hex
        scope.setdefault("state", {})["request_id"] = rid
        token = request_id_var.set(rid)
        status = {"code": 500, "started": False}

        async def send_wrapper(message) -> None:
            if message["type"] == "http.response.start":
                status["code"], status["started"] = message["status"], True
                message.setdefault("headers", [])
                message["headers"] = [*message["headers"], (b"x-request-id", rid.encode())]
            await send(message)

        t0 = time.perf_counter()
        try:
            await self.app(scope, receive, send_wrapper)
        except Exception:
            log.exception("unhandled error", extra={"path": scope.get("path")})
            if not status["started"]:
                await send_json(send_wrapper, 500, {"detail": "internal error; quote the request id when reporting it",
                                                    "request_id": rid})
        finally:
            elapsed = time.perf_counter() - t0
            route = getattr(scope.get("route"), "path", None) or "unmatched"
            self.metrics.request_seconds.labels(scope["method"], route, str(status["code"])).observe(elapsed)
            principal = scope.get("state", {}).get("principal")
            log.info("request", extra={"method": scope["method"], "path": scope.get("path"), "route": route,
                                       "status": status["code"], "ms": round(elapsed * 1000, 2),
                                       "user": principal.name if principal else None})
            request_id_var.reset(token)


class BodyLimit:
    """Refuse request bodies over ``limit`` bytes with 413, declared or streamed.

    A streamed body is cut where it passes the limit: the 413 is sent at once and the app is told
    the client went away, so that its own answer to the truncated body is dropped (FastAPI would
    otherwise turn any error while reading the body into a misleading 400)."""

    def __init__(self, app, limit: int = MAX_BODY) -> None:
        self.app, self.limit = app, limit

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        rid = scope.get("state", {}).get("request_id")
        detail = {"detail": f"request body over {self.limit // 1024} KB", "request_id": rid}
        length = dict(scope.get("headers") or []).get(b"content-length")
        if length is not None and (not length.isdigit() or int(length) > self.limit):
            await send_json(send, 413, detail)
            return
        seen = 0
        started = refused = False

        async def counting_receive():
            nonlocal seen, refused
            if refused:
                return {"type": "http.disconnect"}
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.limit:
                    refused = True
                    if not started:
                        await send_json(send, 413, detail)
                    return {"type": "http.disconnect"}
            return message

        async def send_wrapper(message) -> None:
            nonlocal started
            if refused:
                return  # the 413 already answered this request
            started = started or message["type"] == "http.response.start"
            await send(message)

        await self.app(scope, counting_receive, send_wrapper)


class AuthGate:
    """Every path but ``public`` and those under ``public_prefixes`` (the web page's files) needs a
    valid bearer token: else 401 with ``WWW-Authenticate``. The authenticated principal is left in
    ``scope['state']['principal']`` for the routes, and the database's data version, read in the
    same transaction just after the token, in ``scope['state']['data_version']``: a kept lead-list
    answer is then served without another read (``serving.api.routes.leads``).

    ``kept(scope, principal, version)``, if given, runs in the same thread hop once the token's read
    is over: a kept answer it returns (``serving.listcache.Answer``, its read already audited) is sent
    here, as the route that computed it sends it and under that route's name for the access log and
    the metrics, without a second hop or the router. Whatever it raises is left in
    ``scope['state']['kept_error']`` for the route to raise where it would have failed itself."""

    def __init__(self, app, get_db, public: frozenset[str], metrics, public_prefixes: tuple[str, ...] = (),
                 kept=None, respond=None) -> None:
        self.app, self.get_db, self.public, self.metrics = app, get_db, public, metrics
        self.public_prefixes = public_prefixes
        self.kept, self.respond = kept, respond

    async def __call__(self, scope, receive, send) -> None:
        path = scope.get("path") or ""
        if scope["type"] != "http" or path in self.public or (self.public_prefixes and path.startswith(self.public_prefixes)):
            await self.app(scope, receive, send)
            return
        rid = scope.get("state", {}).get("request_id")
        header = dict(scope.get("headers") or []).get(b"authorization", b"").decode("latin-1")
        token = parse_bearer(header)
        principal, why, served = None, "missing", None
        if token is not None:
            db, kept = self.get_db(), self.kept

            def lookup():
                with db.read_connection() as conn:  # no ORM session: two statements built once
                    found, why = check_token(conn, token)
                    version = data_version(conn) if found is not None else None
                served = None
                if found is not None and kept is not None:
                    try:
                        served = kept(scope, found, version)
                    except Exception as exc:  # noqa: BLE001 - raised by the route instead (see the class)
                        served = exc
                return found, why, version, served

            try:
                principal, why, version, served = await anyio.to_thread.run_sync(lookup)
            except SQLAlchemyError as exc:
                self.metrics.db_unavailable.inc()
                from serving.api.errors import db_reason

                await send_json(send, 503, {"detail": db_reason(exc), "request_id": rid}, [(b"retry-after", b"5")])
                return
        if principal is None:
            if token is None:
                detail = ("missing bearer token" if not header else "not a bearer token") + \
                    ": send exactly 'Authorization: Bearer <token>' (tokens come from `hazleads users add`)"
            elif why == "expired":
                detail = "token expired: ask an administrator for a new one (`hazleads users rotate NAME`)"
            else:
                detail = "invalid or revoked token: send 'Authorization: Bearer <token>' (tokens come from `hazleads users add`)"
            await send_json(send, 401, {"detail": detail, "request_id": rid},
                            [(b"www-authenticate", b'Bearer realm="hazleads"')])
            return
        scope["state"]["principal"] = principal
        scope["state"]["data_version"] = version
        if isinstance(served, Exception):
            scope["state"]["kept_error"] = served
        elif served is not None:
            scope["route"] = served.route
            await self.respond(served)(scope, receive, send)
            return
        await self.app(scope, receive, send)
