"""The authorisation matrix, generated from the app's own routes: a route missing from ``ALLOWED``
fails the first test, so a new endpoint cannot be added without deciding who may call it.

Every route except /healthz answers 401 without a valid token; each role gets 403 exactly where it
has no right; county-scoped users get 404 for another county's entities, as for missing ones."""

from __future__ import annotations

import re

import pytest
from fastapi.routing import iter_route_contexts

from tests.service_support import start_service

ADMIN, INV, ENV, AUD = "admin", "investigator", "env_bureau", "auditor"
ALL = frozenset({ADMIN, INV, ENV, AUD})
PUBLIC = "public"
ALLOWED: dict[tuple[str, str], frozenset[str] | str] = {
    ("GET", "/healthz"): PUBLIC,
    ("GET", "/"): PUBLIC,  # the web page (its files under /static/ too); its API calls carry the token
    ("GET", "/readyz"): ALL,
    ("GET", "/metrics"): frozenset({ADMIN}),
    ("GET", "/openapi.json"): ALL,
    ("GET", "/docs"): ALL,
    ("GET", "/docs/oauth2-redirect"): ALL,
    ("GET", "/redoc"): ALL,
    ("GET", "/v1/leads/enterprises"): frozenset({ADMIN, INV}),
    ("GET", "/v1/leads/tips"): frozenset({ADMIN, INV}),
    ("GET", "/v1/leads/sites"): frozenset({ADMIN, INV}),
    ("GET", "/v1/enterprises/{enterprise_id}"): frozenset({ADMIN, INV, ENV}),
    ("GET", "/v1/enterprise-names"): frozenset({ADMIN, INV, ENV}),
    ("GET", "/v1/sites/{site_id}"): frozenset({ADMIN, INV}),
    ("GET", "/v1/vehicles"): frozenset({ADMIN, INV}),
    ("GET", "/v1/vehicles/{vehicle_id}"): frozenset({ADMIN, INV}),
    ("GET", "/v1/tips"): frozenset({ADMIN, INV}),
    ("POST", "/v1/tips"): frozenset({ADMIN, INV}),
    ("GET", "/v1/tips/{tip_id}"): frozenset({ADMIN, INV}),
    ("GET", "/v1/outcomes"): frozenset({ADMIN, INV}),
    ("POST", "/v1/outcomes"): frozenset({ADMIN, INV}),
    ("GET", "/v1/cases"): frozenset({ADMIN, INV}),
    ("GET", "/v1/cases/assignees"): frozenset({ADMIN, INV}),
    ("GET", "/v1/cases/enterprise/{enterprise_id}"): frozenset({ADMIN, INV}),
    ("POST", "/v1/cases/enterprise/{enterprise_id}"): frozenset({ADMIN, INV}),
    ("GET", "/v1/cases/tip/{tip_id}"): frozenset({ADMIN, INV}),
    ("POST", "/v1/cases/tip/{tip_id}"): frozenset({ADMIN, INV}),
    ("GET", "/v1/cases/site/{site_id}"): frozenset({ADMIN, INV}),
    ("POST", "/v1/cases/site/{site_id}"): frozenset({ADMIN, INV}),
    ("GET", "/v1/handovers"): frozenset({ADMIN, INV, ENV}),
    ("POST", "/v1/handovers"): frozenset({ADMIN, ENV}),
    ("GET", "/v1/handovers/{handover_id}"): frozenset({ADMIN, INV, ENV}),
    ("POST", "/v1/handovers/{handover_id}/accept"): frozenset({ADMIN, INV}),
    ("POST", "/v1/handovers/{handover_id}/return"): frozenset({ADMIN, INV}),
    ("GET", "/v1/exports/leads/enterprises"): frozenset({ADMIN, INV}),
    ("GET", "/v1/exports/leads/tips"): frozenset({ADMIN, INV}),
    ("GET", "/v1/exports/leads/sites"): frozenset({ADMIN, INV}),
    ("GET", "/v1/exports/ledger-mismatch"): frozenset({ADMIN, INV, ENV}),
    ("GET", "/v1/exports/cases"): frozenset({ADMIN, INV}),
    ("GET", "/v1/stats"): ALL,
    ("GET", "/v1/stats/export"): ALL,
    ("GET", "/v1/ledger-mismatch/enterprises"): frozenset({ADMIN, INV, ENV}),
    ("GET", "/v1/ledger-mismatch"): frozenset({ADMIN, INV, ENV}),
    ("GET", "/v1/ledger-mismatch/export"): frozenset({ADMIN, INV, ENV}),
    ("GET", "/v1/runs"): frozenset({ADMIN, INV, ENV}),
    ("POST", "/v1/training"): frozenset({ADMIN}),
    ("GET", "/v1/training"): frozenset({ADMIN}),
    ("GET", "/v1/training/{job_id}"): frozenset({ADMIN}),
    ("POST", "/v1/scoring"): frozenset({ADMIN}),
    ("GET", "/v1/scoring/{job_id}"): frozenset({ADMIN}),
    ("GET", "/v1/models"): frozenset({ADMIN}),
    ("POST", "/v1/models/{kind}/promote"): frozenset({ADMIN}),
    ("POST", "/v1/models/{kind}/rollback"): frozenset({ADMIN}),
    ("POST", "/v1/models/reload"): frozenset({ADMIN}),
    ("GET", "/v1/users"): frozenset({ADMIN}),
    ("POST", "/v1/users"): frozenset({ADMIN}),
    ("DELETE", "/v1/users/{user_id}"): frozenset({ADMIN}),
    ("POST", "/v1/users/{user_id}/token"): frozenset({ADMIN}),
    ("GET", "/v1/audit"): frozenset({AUD}),
    ("GET", "/v1/audit/verify"): frozenset({AUD}),
    ("GET", "/v1/me"): ALL,
    ("GET", "/v1/filters"): ALL,
    ("GET", "/v1/catalogue"): ALL,
    ("GET", "/v1/places"): ALL,
}
NOT_READY_HERE = {("GET", "/readyz"), ("POST", "/v1/scoring")}  # no model in this fixture: 503 with a reason
IDENTITIES = {"admin": ADMIN, "inv": INV, "inv_lingui": INV, "env": ENV, "env_lingui": ENV, "auditor": AUD}
PARAMS = {"enterprise_id": "E1", "site_id": "S1", "tip_id": "T2", "job_id": "1", "kind": "enterprise", "handover_id": "1",
          "vehicle_id": "桂C12345"}  # all in 临桂区 (the vehicle carried E1's waste)
OTHER_COUNTY = {"enterprise_id": "E4", "site_id": "S2", "tip_id": "T1", "vehicle_id": "桂C54321"}  # none in 临桂区
_n = iter(range(10_000))


def body_for(method: str, path: str) -> dict | None:
    if method != "POST":
        return None
    return {
        "/v1/tips": {"channel": "12369", "text": "夜里有车倒东西", "enterprise_id": "E1", "received_at": "2021-03-30T20:00:00"},
        "/v1/outcomes": {"entity_kind": "enterprise", "entity_id": "E1", "outcome": "open"},
        "/v1/users": {"name": f"u{next(_n)}", "role": "auditor"},
        "/v1/models/{kind}/promote": {"version": "1"},
    }.get(path, {})


def app_routes(app) -> set[tuple[str, str]]:
    """(method, path) of every route the app serves, included routers flattened."""
    out = set()
    for r in iter_route_contexts(app.routes):
        for m in getattr(r, "methods", None) or ():
            if m != "HEAD":
                out.add((m, r.path))
    return out


@pytest.fixture(scope="module")
def svc(tmp_path_factory, hand_snapshot):
    home = tmp_path_factory.mktemp("authz")
    with start_service(f"sqlite:///{home / 'authz.db'}", home, hand_snapshot) as h:
        h.user_ids["victim"] = h.post("admin", "/v1/users", {"name": "victim", "role": "auditor"}).json()["id"]
        yield h


def call(svc, who: str | None, method: str, path: str, params: dict | None = None, headers: dict | None = None):
    url = re.sub(r"\{(\w+)\}", lambda m: (params or PARAMS)[m.group(1)] if m.group(1) != "user_id" else
                 str(svc.user_ids["victim"]), path)
    hdrs = {**(svc.headers(who) if who else {}), **(headers or {})}
    return svc.client.request(method, url, json=body_for(method, path), headers=hdrs)


def test_every_route_has_a_decision(svc):
    routes = app_routes(svc.app)
    assert routes - ALLOWED.keys() == set(), "new routes: decide who may call them in ALLOWED"
    assert ALLOWED.keys() - routes == set(), "ALLOWED names routes the app no longer has"
    assert len(routes) >= 30


@pytest.mark.parametrize("auth", [None, "Bearer not-a-real-token-0123456789", "Basic YWRtaW46YWRtaW4=", "Bearer ",
                                  "Bearer " + "x" * 500])
def test_without_a_valid_token_every_route_but_health_is_401(svc, auth):
    for method, path in sorted(app_routes(svc.app)):
        r = call(svc, None, method, path, headers={"Authorization": auth} if auth else None)
        if ALLOWED[(method, path)] == PUBLIC:
            assert r.status_code == 200, (method, path)
        else:
            assert r.status_code == 401, (method, path, r.status_code)
            assert r.headers["www-authenticate"].startswith("Bearer") and "request_id" in r.json()
    assert svc.client.get("/v1/no-such-thing").status_code == 401
    assert svc.client.post("/v1/tips", content=b"{not json").status_code == 401


@pytest.mark.parametrize("who", sorted(IDENTITIES))
def test_each_role_gets_403_exactly_where_it_has_no_right(svc, who):
    role = IDENTITIES[who]
    wrong = []
    for method, path in sorted(app_routes(svc.app)):
        allowed = ALLOWED[(method, path)]
        r = call(svc, who, method, path)
        if allowed != PUBLIC and role not in allowed:
            ok = r.status_code == 403 and "request_id" in r.json()
        else:
            ok = r.status_code not in (401, 403) and (r.status_code < 500 or (
                r.status_code == 503 and (method, path) in NOT_READY_HERE and "request_id" not in r.json().get("detail", "")))
        if not ok:
            wrong.append((method, path, r.status_code, r.text[:200]))
    assert wrong == []


@pytest.mark.parametrize("who", ["inv_lingui", "env_lingui"])
def test_another_countys_entities_answer_404_like_missing_ones(svc, who):
    role = IDENTITIES[who]
    checked = 0
    for method, path in sorted(app_routes(svc.app)):
        names = set(re.findall(r"\{(\w+)\}", path))
        allowed = ALLOWED[(method, path)]
        if not names & OTHER_COUNTY.keys() or allowed == PUBLIC or role not in allowed:
            continue
        other = call(svc, who, method, path, params={**PARAMS, **OTHER_COUNTY})
        missing = call(svc, who, method, path, params={**PARAMS, **dict.fromkeys(OTHER_COUNTY, "NOPE")})
        assert other.status_code == missing.status_code == 404, (path, other.status_code)
        checked += 1
    assert checked >= (3 if role == INV else 1)
    if role == INV:
        r = svc.post(who, "/v1/outcomes", {"entity_kind": "enterprise", "entity_id": "E4", "outcome": "open"})
        assert r.status_code == 404
        assert svc.get(who, "/v1/leads/enterprises", params={"county": "阳朔县"}).json()["total"] == 0


@pytest.mark.parametrize("who, redacted", [("inv_lingui", True), ("inv", False), ("admin", False)])
def test_informant_tip_redaction_by_identity(svc, who, redacted):
    for path in ("/v1/tips/T2", "/v1/tips"):
        body = svc.get(who, path).json()
        tip = body if path.endswith("T2") else next(t for t in body["items"] if t["tip_id"] == "T2")
        assert tip["redacted"] is redacted and (tip["text"] is None) is redacted
        assert (tip["enterprise_id"] is None) is redacted
    lead = next(t for t in svc.get(who, "/v1/leads/tips").json()["items"] if t["tip_id"] == "T2")
    assert lead["redacted"] is redacted and (lead["enterprise_ids"] == []) is redacted
