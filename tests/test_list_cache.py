"""Lead-list answers kept per reader until the data moves (``serving.listcache``, revision 0004), on
SQLite and PostgreSQL: the data version moves on every change to a table a reader can see, whoever
writes it, and not on the audit rows every read appends; a kept answer is served only at its version,
never to another reader, and every read is audited."""

from __future__ import annotations

from sqlalchemy import func, select

from serving.db import models
from serving.db.engine import Database
from serving.db.models import AuditEntry, Base
from serving.listcache import Answer, ListCache, data_version
from tests.reliability_support import raw_sql

E = "/v1/leads/enterprises"
NOT_WATCHED = {"audit_log", "audit_head", "data_version"}  # the audit chain moves on every read


def _version(service) -> int:
    with service.rt.db.read() as s:
        return data_version(s)


def _audited(service) -> int:
    with service.rt.db.read() as s:
        return s.scalar(select(func.count()).select_from(AuditEntry))


def test_every_table_a_reader_can_see_moves_the_data_version():
    import importlib

    migration = importlib.import_module("serving.migrations.versions.0004_data_version")
    assert set(Base.metadata.tables) - NOT_WATCHED == set(migration.WATCHED), \
        "a new table needs the data version's triggers (a migration like 0004) or a reason to be left out"


def test_the_version_moves_on_insert_update_delete_from_outside_the_service_and_not_on_audit_rows(service):
    url = service.rt.db.url
    v0 = _version(service)
    raw_sql(url, "UPDATE leads SET score = 0.5 WHERE entity_id = 'E2'")
    v1 = _version(service)
    assert v1 > v0
    raw_sql(url, "DELETE FROM leads WHERE entity_id = 'E2' AND kind = 'enterprise'")
    v2 = _version(service)
    assert v2 > v1
    raw_sql(url, "UPDATE users SET county = county WHERE id = 1")
    v3 = _version(service)
    assert v3 > v2
    assert service.get("inv", E).status_code == 200  # appends an audit row
    assert _version(service) == v3


def test_a_repeated_read_is_kept_and_still_audited_and_a_write_shows_at_once(service):
    cache = service.rt.lists
    first = service.get("inv", E)
    audited, hits = _audited(service), cache.hits
    again = service.get("inv", E)
    assert again.status_code == 200 and again.content == first.content
    assert cache.hits == hits + 1 and _audited(service) == audited + 1
    assert again.headers["content-type"] == "application/json"
    # a write through the API (a case concluded) moves the version: the list is computed afresh
    ok = {"entity_kind": "enterprise", "entity_id": "E1", "outcome": "confirmed", "violation": "dumping_3t",
          "tonnes": 4.0, "opened": "2021-03-10"}
    assert service.post("inv", "/v1/outcomes", ok).status_code in (200, 201)
    after = service.get("inv", E).json()
    assert "E1" not in [i["enterprise_id"] for i in after["items"]]
    # a write from outside the service (another process, an administrator) too
    raw_sql(service.rt.db.url, "UPDATE leads SET score = 0.999 WHERE entity_id = 'E2' AND kind = 'enterprise'")
    scores = {i["enterprise_id"]: i["score"] for i in service.get("inv", E).json()["items"]}
    assert scores["E2"] == 0.999


def test_an_answer_is_never_given_to_another_reader(service):
    city = service.get("inv", E).json()
    county = service.get("inv_lingui", E).json()
    assert {i["county"] for i in county["items"]} == {"临桂区"}
    assert len(city["items"]) > len(county["items"])
    assert service.get("inv", E).json() == city  # the city-wide reader's kept answer is still its own


def test_the_cache_serves_only_the_version_it_was_computed_at_and_drops_the_oldest_past_its_bytes():
    cache = ListCache(max_bytes=10)
    a = Answer(3, b"12345", ("E1",), "7")
    cache.put(("k1",), a)
    assert cache.get(("k1",), 3) is a
    assert cache.get(("k1",), 4) is None  # the data moved
    cache.put(("k2",), a)
    cache.get(("k1",), 3)  # k1 used last: k2 is the oldest
    cache.put(("k3",), a)  # 15 bytes > 10: the oldest goes
    assert cache.get(("k2",), 3) is None and cache.get(("k1",), 3) is a and len(cache) == 2
    assert cache.bytes == 10
    cache.put(("k1",), Answer(4, b"1", (), None))  # replaced, not counted twice
    assert cache.bytes == 6 and len(cache) == 2
    cache.put(("big",), Answer(4, b"x" * 11, (), None))  # larger than the whole budget: nothing is kept
    assert len(cache) == 0 and cache.bytes == 0


def test_a_new_database_starts_at_version_zero_with_one_row(db_url):
    from serving.db import migrate

    d = Database(db_url)
    try:
        migrate.upgrade(d.url, engine=d.write_engine)
        with d.read() as s:
            assert data_version(s) == 0
            assert s.scalar(select(func.count()).select_from(models.DataVersion)) == 1
    finally:
        d.dispose()


def _statements(service, path: str) -> list[str]:
    """The SQL statements (not BEGIN/COMMIT) that one request runs, in order, on any engine."""
    from sqlalchemy import event

    seen: list[str] = []

    def note(conn, cursor, statement, *args) -> None:
        seen.append(" ".join(statement.split()))

    engines = {id(e): e for e in (service.rt.db.engine, service.rt.db.write_engine)}.values()
    for e in engines:
        event.listen(e, "before_cursor_execute", note)
    try:
        assert service.get("inv", path).status_code == 200
    finally:
        for e in engines:
            event.remove(e, "before_cursor_execute", note)
    return [s for s in seen if s.split(" ")[0].upper() not in ("BEGIN", "COMMIT", "ROLLBACK")]


def test_a_kept_page_reads_only_the_token_and_the_version_then_writes_its_audit_row(service):
    """A kept answer costs five statements whatever the list: the token and the data version (the
    gate, one read), the audit chain's head, the audit row, the head moved (one write)."""
    first = _statements(service, E)  # computed: the page's own queries too
    kept = _statements(service, E)
    assert len(first) > len(kept)
    assert len(kept) == 5, kept
    token, version, head, row, move = (s.lower() for s in kept)
    assert "from users" in token and "substr" in token
    assert "from data_version" in version
    assert "from audit_head" in head and "insert into audit_log" in row and "update audit_head" in move
    if service.rt.db.engine.dialect.name == "postgresql":
        assert "for update" in head  # concurrent writers never fork the chain


def test_a_kept_page_goes_to_the_thread_pool_once_and_a_computed_one_twice(service, monkeypatch):
    """Every dependency on the path is async (``serving.api.deps``); a kept page is served by the
    gate in its one hop (token, version, kept answer, audit row); a page computed afresh goes to the
    route's hop too."""
    import anyio.to_thread

    hops: list[str] = []
    real = anyio.to_thread.run_sync

    async def spy(func, *args, **kwargs):
        hops.append(getattr(func, "__qualname__", repr(func)))
        return await real(func, *args, **kwargs)

    monkeypatch.setattr(anyio.to_thread, "run_sync", spy)
    assert service.get("inv", E).status_code == 200  # computed: the gate's hop and the route's
    assert len(hops) == 2, hops
    assert service.get("inv", E).status_code == 200  # kept
    assert len(hops) == 3, hops
    for _ in range(2):  # the desk's filters: no hop of their own, computed then kept
        assert service.get("inv", E + "?sort=score&desc=true").status_code == 200
    assert len(hops) == 6, hops


def _last_audit_row(service) -> dict:
    with service.rt.db.read() as s:
        e = s.scalars(select(AuditEntry).order_by(AuditEntry.id.desc()).limit(1)).one()
        return {k: getattr(e, k) for k in ("user_id", "user_name", "role", "action", "entity_ids", "model_version",
                                           "result", "request_id")}


def _requests_counted(service, path: str, status: str = "200") -> float:
    return service.rt.metrics.registry.get_sample_value(
        "hazleads_request_seconds_count", {"method": "GET", "route": path, "status": status}) or 0.0


def test_a_kept_page_served_by_the_gate_is_the_routes_answer_audited_logged_and_counted_alike(service, caplog):
    """What the gate sends for a kept page is what the route sent when it computed it: the bytes, the
    headers, the audit row (but its request id), the access log's line and the request metric."""
    import logging

    rows, lines, counted = [], [], []
    for n in range(3):  # computed by the route, then served by the gate twice
        caplog.clear()
        with caplog.at_level(logging.INFO, logger="hazleads.serving.access"):
            r = service.get("inv", E + "?limit=2", headers={"X-Request-ID": f"req-{n}"})
        assert r.status_code == 200 and r.headers["x-request-id"] == f"req-{n}"
        rows.append({**_last_audit_row(service), "request_id": None})
        assert _last_audit_row(service)["request_id"] == f"req-{n}"
        lines.append([{k: getattr(x, k) for k in ("method", "path", "route", "status", "user")}
                      for x in caplog.records if x.name == "hazleads.serving.access"])
        counted.append(_requests_counted(service, E))
        if n == 0:
            first = r
        else:
            assert r.content == first.content
            assert [(k, v) for k, v in r.headers.items() if k != "x-request-id"] == \
                [(k, v) for k, v in first.headers.items() if k != "x-request-id"]
    assert service.rt.lists.hits == 2
    assert rows[0] == rows[1] == rows[2] and rows[0]["action"] == "leads.enterprise.list"
    assert lines[0] == lines[1] == lines[2] == [{"method": "GET", "path": E, "route": E, "status": 200, "user": "inv"}]
    assert counted == [1.0, 2.0, 3.0]
    # the token is still checked at every read: a disabled reader's kept page is refused
    raw_sql(service.rt.db.url, "UPDATE users SET disabled = TRUE WHERE name = 'inv'")
    assert service.get("inv", E + "?limit=2").status_code == 401


def test_reads_audited_on_a_plain_connection_hold_the_chain_and_read_as_a_session_reads(service):
    """The gate reads the token on a plain connection and the lists' audit rows are written on one
    (``Database.read_connection``, ``write_connection``): the rows are chained and signed as
    ``audit.append`` signs them, and the read sees one snapshot as a read session does."""
    from serving import audit

    db = service.rt.db
    for _ in range(3):
        assert service.get("inv", E).status_code == 200
    with db.write() as s:  # a row through the session between them
        audit.append(s, None, "test.between", ["x"])
    assert service.get("inv_lingui", E).status_code == 200
    verdict = audit.verify_database(db, None)
    assert verdict.ok, verdict.reason
    with db.read() as s:
        keys = s.scalars(select(AuditEntry.key_id).where(AuditEntry.action == "leads.enterprise.list")).all()
    assert len(keys) == 4 and set(keys) == {db.audit_keys.current_id}
    if db.engine.dialect.name == "postgresql":
        with db.read_connection() as conn, db.read() as s:
            level = "SELECT current_setting('transaction_isolation')"
            assert conn.exec_driver_sql(level).scalar() == s.connection().exec_driver_sql(level).scalar() == "repeatable read"


def test_a_kept_page_whose_audit_row_cannot_be_written_fails_as_the_route_fails_once(service, monkeypatch):
    """The database refusing the audit row of a kept page: the same 503 as when the route meets it,
    no row, the answer not sent, and the write not tried a second time."""
    from sqlalchemy.exc import OperationalError

    from serving.api import kept as gate
    from serving.api.routes import leads

    def busy(*args, **kwargs):
        calls.append(args[2])
        raise OperationalError("INSERT INTO audit_log", {}, Exception("database is locked"))

    assert service.get("inv", E).status_code == 200  # kept from now on
    before, down = _audited(service), service.rt.metrics.db_unavailable._value.get()
    calls: list[str] = []
    monkeypatch.setattr(gate, "record_as", busy)
    kept = service.get("inv", E)
    assert len(calls) == 1 and _audited(service) == before
    monkeypatch.setattr(leads, "record", lambda rt, request, user, *a, **kw: busy(rt, None, user))
    service.rt.lists.clear()
    computed = service.get("inv", E)  # the route computes it and meets the same refusal
    assert len(calls) == 2 and _audited(service) == before
    for r in (kept, computed):
        assert r.status_code == 503 and r.headers["retry-after"] == "5"
        assert r.json() == {"detail": "database unavailable: the database is busy; try again shortly",
                            "request_id": r.headers["x-request-id"]}
    assert kept.headers["content-type"] == computed.headers["content-type"]
    assert service.rt.metrics.db_unavailable._value.get() == down + 2


def test_a_repeated_query_parameter_is_kept_apart_from_the_same_ones_in_another_order(service):
    """The last value of a repeated parameter is the one read: ``county=A&county=B`` and
    ``county=B&county=A`` are two lists, and the second is not given the first's kept answer."""
    a, b = "临桂区", "阳朔县"
    first = service.get("inv", E, params=[("county", a), ("county", b)])
    second = service.get("inv", E, params=[("county", b), ("county", a)])
    assert {i["county"] for i in first.json()["items"]} == {b}
    assert {i["county"] for i in second.json()["items"]} == {a}
    # the vehicle list too, kept under its own version
    by_b, by_a = (service.get("inv", V, params=[("county", c)]).json()["items"] for c in (b, a))
    assert by_a != by_b
    assert service.get("inv", V, params=[("county", a), ("county", b)]).json()["items"] == by_b
    assert service.get("inv", V, params=[("county", b), ("county", a)]).json()["items"] == by_a


V = "/v1/vehicles"


def test_the_vehicle_list_is_kept_per_reader_until_the_served_features_change(service):
    """The vehicle list is made from the features being served, not the database: kept per reader
    and query while those features serve (a database write does not drop it), computed afresh once
    new features are served, never given to another reader, and audited on every read."""
    import json

    import pandas as pd

    from serving.auth import Principal
    from serving.chain import vehicle_page
    from serving.db.models import User
    from serving.scope import Scope

    rt, cache = service.rt, service.rt.lists
    first = service.get("inv", V)
    hits, audited = cache.hits, _audited(service)
    again = service.get("inv", V)
    assert again.status_code == 200 and again.content == first.content and cache.hits == hits + 1
    assert _audited(service) == audited + 1
    shown = [i["vehicle_id"] for i in first.json()["items"]]
    with rt.db.read() as s:
        action, ids = s.execute(select(AuditEntry.action, AuditEntry.entity_ids).order_by(AuditEntry.id.desc()).limit(1)).one()
        u = s.scalars(select(User).where(User.name == "inv")).one()
    assert action == "vehicles.list" and json.loads(ids) == shown and len(shown) > 1
    # the kept bytes say what the page computed now says
    page = vehicle_page(rt, Scope(Principal(u.id, u.name, u.role, u.county), rt.ctx), "zh", None, None, 50, 0)
    assert first.json() == json.loads(json.dumps(page, default=str, ensure_ascii=False))
    # a county reader is never given the city-wide answer; its own is kept for it
    county = service.get("inv_yangshuo", V)
    assert county.json()["total"] < first.json()["total"]
    assert service.get("inv_yangshuo", V).content == county.content and service.get("inv", V).content == first.content
    # a write to the database leaves it kept (the list does not read the database) ...
    raw_sql(rt.db.url, "UPDATE leads SET score = 0.5 WHERE entity_id = 'E2'")
    hits = cache.hits
    assert service.get("inv", V).content == first.content and cache.hits == hits + 1
    # ... features served anew (here: at an earlier date) make it afresh
    earlier = rt.snapshot.last_day - pd.Timedelta(days=40)
    fs = rt.build_features(earlier)
    rt.serve_features(fs)
    from serving import chain

    assert chain._indexes[id(fs)][0] is fs  # its vehicle index built before it was served: no page waits for it
    after = service.get("inv", V).json()
    assert after["as_of"] == str(earlier.date()) != first.json()["as_of"]


# the checks the three list routes make: a kept page served by the gate (serving.api.kept) makes the
# same ones another way (token, role, the reader's id and county and the query string in the key)
LIST_ROUTE_CHECKS = {"fastapi.security.http.HTTPBearer", "serving.api.deps.Desk", "serving.api.deps.current_user",
                     "serving.api.deps.get_runtime", "serving.api.deps.plain_text", "serving.api.deps.reader_scope",
                     "serving.api.deps.require.<locals>.check"}


def test_the_list_routes_check_only_what_a_kept_page_served_by_the_gate_checks(service):
    from fastapi.routing import iter_route_contexts

    def calls(dependant):
        for d in dependant.dependencies:
            yield d.call
            yield from calls(d)

    def name(c) -> str:
        return f"{c.__module__}.{getattr(c, '__qualname__', type(c).__qualname__)}"

    lists = {r.path: r for r in iter_route_contexts(service.app.routes) if getattr(r, "path", "") in
             {"/v1/leads/enterprises", "/v1/leads/tips", "/v1/leads/sites"}}
    assert len(lists) == 3
    for path, route in lists.items():
        assert {name(c) for c in calls(route.dependant)} == LIST_ROUTE_CHECKS, (
            f"{path}: its dependencies changed; a kept page is served by the gate without them "
            "(serving.api.kept.kept_read): make the gate check the same, then update LIST_ROUTE_CHECKS")


def test_a_kept_page_is_not_served_to_another_reader_of_the_same_role_and_county(service):
    from serving.auth import create_user

    with service.rt.db.write() as s:
        other, token = create_user(s, "inv_other", "investigator", None)  # the role and county of "inv"
        other_id = other.id
    cache = service.rt.lists
    first = service.get("inv", E, params={"mine": "true"})
    service.get("inv", E, params={"mine": "true"})  # kept now
    hits, misses = cache.hits, cache.misses
    theirs = service.client.get(E, params={"mine": "true"}, headers={"Authorization": f"Bearer {token}"})
    assert theirs.status_code == 200 and first.status_code == 200
    assert (cache.hits, cache.misses) == (hits, misses + 1)  # computed for them, not the kept one
    with service.rt.db.read() as s:
        assert s.scalar(select(AuditEntry.user_id).order_by(AuditEntry.id.desc()).limit(1)) == other_id


def test_with_dependencies_overridden_a_kept_page_goes_to_the_route(service):
    from serving.api.deps import get_runtime

    assert service.get("inv", E).status_code == 200
    assert service.get("inv", E).status_code == 200  # kept, served by the gate

    def broken():
        raise RuntimeError("overridden")

    service.app.dependency_overrides[get_runtime] = broken
    try:
        assert service.get("inv", E).status_code == 500
    finally:
        service.app.dependency_overrides.clear()
    assert service.get("inv", E).status_code == 200
