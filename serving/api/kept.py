"""A kept lead-list page served by the auth gate (``serving.middleware.AuthGate``) in the thread hop
where it reads the token and the data version: the kept answer looked up, its read audited, and the
answer sent without the router, FastAPI's dependencies or a second hop.

Safe because an answer is kept only after the route answered the same reader (id, role and county
in the key: it passed the route's role and scope checks) with the same query string (it passed the
same parameter checks) at the same data version; the token is still checked at every read. It is
safe only while the routes' checks depend on nothing else: ``tests/test_list_cache.py`` pins the
dependencies of the three list routes, so a check added to them fails there until it is added here.
With ``app.dependency_overrides`` set (tests) nothing is served here: the routes run as overridden.
"""

from __future__ import annotations

from fastapi import Response

from serving.access import allowed
from serving.api.deps import record_as
from serving.auth import Principal
from serving.listcache import Answer, list_key

PREFIX = "/v1/leads"
PATHS = {"enterprise": "/enterprises", "tip": "/tips", "site": "/sites"}
KIND_OF_PATH = {PREFIX + path: kind for kind, path in PATHS.items()}


def kept_read(rt, scope: dict, user: Principal, version: int) -> Answer | None:
    """For the gate, just after the token and the data version were read: a GET of a list whose
    answer is kept for this reader, query and version, audited as the route audits it; else None and
    the request goes to the route."""
    kind = KIND_OF_PATH.get(scope.get("path")) if scope.get("method") == "GET" and not scope.get("root_path") else None
    if kind is None or not allowed(user, "leads"):
        return None
    answer = rt.lists.get(list_key(kind, user, rt, scope.get("query_string", b"")), version, count_miss=False)
    if answer is None or answer.route is None:
        return None
    record_as(rt, scope.get("state", {}).get("request_id"), user, f"leads.{kind}.list", answer.ids,
              model_version=answer.model_version)
    return answer


def gate_reader(app):
    """The gate's ``kept`` callable for ``app``: ``kept_read`` on its runtime, unless dependencies are
    overridden (then every request goes to the routes, which run the overrides)."""
    def kept(scope: dict, user: Principal, version: int) -> Answer | None:
        if app.dependency_overrides:
            return None
        return kept_read(app.state.runtime, scope, user, version)
    return kept


def kept_response(answer: Answer) -> Response:
    """The response of a list page, from the route or from the gate."""
    return Response(answer.body, media_type="application/json")
