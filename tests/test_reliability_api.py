"""Bad requests, generated: every malformed body, query, path, header or content type is answered
with a 4xx and a clear JSON error (``detail`` and the request id), never a 500 or a stack trace —
on SQLite and, when CI gives one, PostgreSQL. Also: a forced internal error reaches the client as a
generic 500, and a failed import (a broken snapshot) changes nothing the service already serves.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import uuid
from urllib.parse import quote

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy.engine import make_url

from tests.reliability_support import assert_clean_error, live_server, wait_for
from tests.service_support import start_service
from tests.test_service_authz import ALLOWED, app_routes

EXAMPLES = int(os.environ.get("HAZLEADS_FUZZ_EXAMPLES", "60"))
FUZZ = settings(max_examples=EXAMPLES, deadline=None, database=None, print_blob=True,
                suppress_health_check=list(HealthCheck))
NOT_READY_HERE = {("GET", "/readyz"), ("POST", "/v1/scoring")}  # no model in this fixture: 503 with a reason


@pytest.fixture(scope="module", params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def svc(request, tmp_path_factory, hand_snapshot):
    """One service per database for the whole module (the fuzzing only adds rows)."""
    home = tmp_path_factory.mktemp("fuzz-api")
    url, server = f"sqlite:///{home / 'fuzz.db'}", None
    if request.param == "postgresql":
        server = request.getfixturevalue("postgres_server")
        name = f"hazleads_fuzz_{uuid.uuid4().hex[:10]}"
        with server.connect() as conn:
            conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
        url = make_url(server.url).set(database=name).render_as_string(hide_password=False)
    with start_service(url, home, hand_snapshot) as h:
        yield h
    if server is not None:
        with server.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


# ---- values that break things ---------------------------------------------------------------------

ODD = ["", " ", "\x00", "a\x00b", "\ud800", "\udfff", "\u202e", "\ufeff", "💩" * 30, "\\", "'", '"', "%", "%00",
       "../../etc/passwd", "<script>", "${jndi:x}", "NaN", "Infinity", "-1", "1e999", "9" * 400, "true", "null",
       "E1' OR '1'='1", "E1;DROP TABLE users", "桂" * 5000, "x" * 70_000, "\r\n", "\t", "%ff%fe", "%zz", "\u0085",
       "\u2028", "２０２１-０１-０１", "2021-02-30", "0001-01-01", "9999-12-31T23:59:59+14:00"]
text = st.sampled_from(ODD) | st.text(max_size=80)
scalars = st.none() | st.booleans() | st.integers(min_value=-(10**30), max_value=10**30) | st.floats() | text
json_values = st.recursive(scalars, lambda kids: st.lists(kids, max_size=5) | st.dictionaries(text, kids, max_size=5),
                           max_leaves=25)

VALID = {
    "/v1/tips": {"channel": "12369", "text": "夜里有车倒东西", "enterprise_id": "E1", "received_at": "2021-03-30T20:00:00",
                 "lat": 25.1, "lon": 110.3, "county": "临桂区"},
    "/v1/outcomes": {"entity_kind": "enterprise", "entity_id": "E1", "outcome": "confirmed", "violation": "dumping_3t",
                     "tonnes": 4.5, "criminal": True, "opened": "2021-03-01", "note": "现场发现"},
    "/v1/users": {"name": "fuzzed", "role": "investigator", "county": "临桂区"},
    "/v1/models/enterprise/promote": {"version": "1"},
    "/v1/scoring": {"as_of": "2021-03-31"},
}


@st.composite
def mutated_bodies(draw):
    """A valid body with fields dropped, retyped, replaced by odd values, or extra fields added."""
    path = draw(st.sampled_from(sorted(VALID)))
    body = dict(VALID[path])
    for _ in range(draw(st.integers(1, 4))):
        op = draw(st.sampled_from(["drop", "retype", "odd", "extra", "whole"]))
        key = draw(st.sampled_from(sorted(VALID[path])))
        if op == "drop":
            body.pop(key, None)
        elif op == "retype":
            body[key] = draw(json_values)
        elif op == "odd":
            body[key] = draw(st.sampled_from(ODD))
        elif op == "extra":
            body[draw(text)] = draw(json_values)
        else:
            return path, draw(json_values)
    return path, body


def _send_json(svc, who: str, path: str, body) -> object:
    data = json.dumps(body, ensure_ascii=draw_ascii(body), allow_nan=True).encode("utf-8", errors="surrogatepass")
    return svc.client.post(path, content=data, headers={**svc.headers(who), "content-type": "application/json"})


def draw_ascii(body) -> bool:
    """Bodies with lone surrogates go as ``\\udxxx`` escapes (valid JSON), the others as raw UTF-8."""
    return any(0xD800 <= ord(c) <= 0xDFFF for c in json.dumps(body, ensure_ascii=False, allow_nan=True))


@FUZZ
@given(case=mutated_bodies(), who=st.sampled_from(["admin", "inv", "inv_lingui"]))
def test_malformed_json_bodies_get_a_clear_4xx(svc, case, who):
    path, body = case
    r = _send_json(svc, who, path, body)
    assert_clean_error(r, allow_503=path == "/v1/scoring")
    if r.status_code == 422:
        detail = r.json()["detail"]
        assert isinstance(detail, str) or all({"loc", "msg"} <= set(d) for d in detail)


RAW_BODIES = [b"", b"{", b"{not json", b"[1,2,", b'{"channel": "12369",}', b"\xff\xfe\x00{", b"NaN", b"null",
              b"[" * 50_000 + b"]" * 50_000, b'{"a":' * 20_000 + b"1" + b"}" * 20_000, b'"' + b"\\" * 1000,
              b'{"text": "\xed\xa0\x80"}', b'{"text": "\\ud800\\udc00\\ud800"}', "{\"text\": \"合\"}".encode("gb18030"),
              b'{"channel": "12369", "text": "x", "channel": "110"}', b"1" * 60_000, b'{"__proto__": {}}']
CONTENT_TYPES = ["application/json", "text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x",
                 "application/json; charset=gb18030", "application/json; charset=utf-16", "application/xml", "",
                 "application/json\x00", "*/*"]


@FUZZ
@given(path=st.sampled_from(sorted(VALID)), body=st.sampled_from(RAW_BODIES) | st.binary(max_size=2000),
       ctype=st.sampled_from(CONTENT_TYPES))
def test_bad_json_and_wrong_content_types_get_a_clear_4xx(svc, path, body, ctype):
    r = svc.client.post(path, content=body, headers={**svc.headers("admin"), "content-type": ctype})
    assert_clean_error(r, allow_503=path == "/v1/scoring")


@pytest.mark.parametrize("path,body", [
    ("/v1/tips", {"channel": "12369", "text": "a\x00b"}),
    ("/v1/outcomes", {"entity_kind": "enterprise", "entity_id": "E1", "outcome": "open", "note": "x\x00"}),
    ("/v1/outcomes", {"entity_kind": "tip", "entity_id": "T\x001", "outcome": "open"}),
    ("/v1/users", {"name": "nul", "role": "investigator", "county": "a\x00"}),
])
def test_a_nul_character_in_a_body_is_422_on_every_database(svc, path, body):
    """Found by the fuzzing on PostgreSQL, which cannot store or even compare a NUL: it was a 500."""
    r = _send_json(svc, "admin", path, body)
    assert r.status_code == 422 and "NUL" in r.text, r.text
    assert_clean_error(r)


@pytest.mark.parametrize("url", ["/v1/leads/enterprises?county=a%00", "/v1/tips/T%00", "/v1/outcomes?entity_id=%00",
                                 "/v1/audit?user_name=%00x", "/v1/ledger-mismatch?enterprise_id=E1%00"])
def test_a_nul_character_in_a_path_or_query_is_422(svc, url):
    r = svc.client.get(url, headers=svc.headers("auditor" if "audit" in url else "admin"))
    assert r.status_code == 422 and "NUL" in r.json()["detail"], r.text
    assert_clean_error(r)


def _q(value: str) -> str:
    return quote(value[:3000].encode("utf-8", errors="surrogatepass"), safe="")


def _fill(path: str, value: str) -> str:
    import re

    return re.sub(r"\{(\w+)\}", lambda m: _q(value), path)


GET_ROUTES = sorted(p for m, p in ALLOWED if m == "GET" and ALLOWED[(m, p)] != "public" and not p.startswith(("/docs", "/redoc")))
PARAMS = ["limit", "offset", "min_score", "as_of", "county", "industry", "category", "lang", "exploration",
          "entity_kind", "entity_id", "channel", "source", "min_gap_t", "over_3t", "month_from", "month_to",
          "enterprise_id", "after_id", "user_name", "action", "entity", "kind", "format"]


@FUZZ
@given(path=st.sampled_from(GET_ROUTES), segment=st.sampled_from(["E1", "S1", "T2", "1"]) | text,
       params=st.lists(st.tuples(st.sampled_from(PARAMS) | text, text | st.integers().map(str)), max_size=6),
       who=st.sampled_from(["admin", "inv_lingui", "env", "auditor"]))
def test_malformed_query_and_path_params_get_a_clear_answer(svc, path, segment, params, who):
    url = _fill(path, segment)
    # lone surrogates go as invalid UTF-8 bytes; the query stops where a client could no longer send it
    # (httpx refuses URLs over 65,536 characters before any request is made)
    parts: list[str] = []
    for k, v in params:
        part = f"{_q(k)}={_q(v)}"
        if len(url) + sum(len(x) + 1 for x in parts) + len(part) + 1 > 60_000:
            break
        parts.append(part)
    query = "&".join(parts)
    r = svc.client.get(f"{url}?{query}" if query else url, headers=svc.headers(who))
    if path == "/readyz" and r.status_code == 503:  # its own documented body: why it is not ready
        assert r.json()["problem"]
        return
    assert_clean_error(r)


@pytest.mark.parametrize("path", GET_ROUTES)
def test_page_sizes_are_bounded_on_every_list(svc, path):
    """Every route that takes ``limit``/``offset`` refuses pages over 200 and offsets over 100 000."""
    paths = svc.get("admin", "/openapi.json").json()["paths"]
    if path not in paths:
        pytest.skip(f"{path} is not in the OpenAPI document (no parameters)")
    spec = paths[path]["get"]
    names = {p["name"] for p in spec.get("parameters", []) if p["in"] == "query"}
    url = _fill(path, "E1")
    who = "auditor" if path.startswith("/v1/audit") else "admin"
    if "limit" in names:
        for bad in ("201", "0", "-1", "1000000000000", "1e3"):
            r = svc.client.get(url, params={"limit": bad}, headers=svc.headers(who))
            assert r.status_code == 422, (path, bad, r.status_code)
            assert_clean_error(r)
    if "offset" in names:
        r = svc.client.get(url, params={"offset": "100001"}, headers=svc.headers(who))
        assert r.status_code == 422, (path, r.status_code)


# GET routes that answer with arrays but take no ``limit``: each bounded by what it lists
FIXED_SIZE = {
    "/v1/enterprises/{enterprise_id}": "one enterprise's evidence; every list is cut server-side (serving/evidence.py)",
    "/v1/sites/{site_id}": "one site's evidence, cut server-side",
    "/v1/vehicles/{vehicle_id}": "one vehicle's chain: events, stops and manifests cut at 200 each (serving/chain.py)",
    "/v1/tips/{tip_id}": "one tip's reasons, links and outcomes",
    "/v1/models": "the registered model kinds and their recent runs",
    "/v1/users": "the accounts, read by the administrator",
    "/v1/me": "the caller's permissions",
    "/v1/filters": "the fixed vocabularies (counties, industries, categories, dates)",
    "/v1/catalogue": "the feature catalogue, fixed by the code",
    "/v1/places": "the snapshot's geography (rivers, reservoirs, karst, parks)",
    "/v1/cases/assignees": "the active investigators of one county and the city-wide ones",
    "/v1/cases/enterprise/{enterprise_id}": "one lead's case, its newest 200 steps (serving/repo/cases.MAX_HISTORY)",
    "/v1/cases/tip/{tip_id}": "one lead's case, its newest 200 steps",
    "/v1/cases/site/{site_id}": "one lead's case, its newest 200 steps",
    "/v1/handovers/{handover_id}": "one handover: one enterprise's mismatch rows, at most 100 outcomes, 50 pointers",
    "/v1/stats": "counts per county and month, per stage and per month's list: bounded by the calendar",
}


def _arrays(schema: dict, comps: dict) -> list[str]:
    def resolve(x):
        while isinstance(x, dict) and "$ref" in x:
            x = comps[x["$ref"].split("/")[-1]]
        return x

    schema = resolve(schema)
    found = ["<top>"] if schema.get("type") == "array" else []
    for name, prop in (schema.get("properties") or {}).items():
        prop = resolve(prop)
        if prop.get("type") == "array" or any(resolve(a).get("type") == "array" for a in prop.get("anyOf", [])):
            found.append(name)
    return found


def test_every_list_route_is_bounded(svc):
    """No GET route answers with a list unless it takes a ``limit`` bounded at 200 or is known to be
    fixed-size (FIXED_SIZE, with the reason); a new list route without either fails here."""
    spec = svc.get("admin", "/openapi.json").json()
    comps = spec.get("components", {}).get("schemas", {})
    unbounded, unlisted = [], []
    for path, ops in spec["paths"].items():
        op = ops.get("get")
        if op is None:
            continue
        limit = next((p for p in op.get("parameters", []) if p["name"] == "limit"), None)
        if limit is not None:
            if not (limit["schema"].get("maximum", 1e18) <= 200):
                unbounded.append(path)
            continue
        body = op.get("responses", {}).get("200", {}).get("content", {}).get("application/json", {}).get("schema", {})
        if _arrays(body, comps) and path not in FIXED_SIZE:
            unlisted.append(path)
    assert unbounded == [] and unlisted == [], (unbounded, unlisted)
    assert set(FIXED_SIZE) <= set(spec["paths"]), "FIXED_SIZE names a route that no longer exists"


@FUZZ
@given(headers=st.dictionaries(st.sampled_from(["X-Request-ID", "Accept", "Accept-Language", "Content-Type", "Cookie",
                                                "X-Forwarded-For", "Origin", "Range", "If-None-Match", "Accept-Encoding"]),
                               st.text(alphabet=st.characters(min_codepoint=0x20, max_codepoint=0xFF), max_size=300),
                               max_size=5))
def test_odd_headers_never_break_a_read(svc, headers):
    raw = {k: v.encode("latin-1") for k, v in headers.items()}  # header values are bytes on the wire
    r = svc.client.get("/v1/leads/enterprises", headers={**raw, **svc.headers("inv")})
    assert_clean_error(r)
    assert r.status_code in (200, 406, 416, 400, 422), r.status_code


def test_a_huge_number_of_query_params_and_a_long_url(svc):
    r = svc.client.get("/v1/leads/enterprises", params=[("county", "临桂区")] * 1000, headers=svc.headers("inv"))
    assert_clean_error(r)
    r = svc.client.get("/v1/enterprises/" + "E" * 20_000, headers=svc.headers("inv"))
    assert r.status_code in (404, 422, 414) and "Traceback" not in r.text


# ---- raw HTTP on a real server: what a client library would never send --------------------------------


def _raw(base: str, payload: bytes) -> tuple[int, bytes]:
    host, port = base.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=10) as s:
        s.sendall(payload)
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = s.recv(65536)
            if not chunk:
                break
            data += chunk
        try:
            while len(data) < 1 << 20:
                chunk = s.recv(65536)
                if not chunk:
                    break
                data += chunk
        except TimeoutError:
            pass
    status = int(data.split(b" ", 2)[1]) if data.startswith(b"HTTP/1.1 ") else 0
    return status, data


def test_raw_http_oddities_are_refused_cleanly(svc):
    token = svc.tokens["admin"].encode()
    auth = b"Authorization: Bearer " + token + b"\r\n"
    cases = {
        "bad percent-encoding": b"GET /v1/leads/enterprises?county=%ff%fe&limit=%zz HTTP/1.1\r\nHost: x\r\n" + auth + b"Connection: close\r\n\r\n",
        "NUL and invalid UTF-8 in the path": b"GET /v1/enterprises/E1%00%ff HTTP/1.1\r\nHost: x\r\n" + auth + b"Connection: close\r\n\r\n",
        "negative content-length": b"POST /v1/tips HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: -5\r\n" + auth + b"Connection: close\r\n\r\n{}",
        "oversized content-length": b"POST /v1/tips HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 99999999999999999999\r\n" + auth + b"Connection: close\r\n\r\n{}",
        "chunked body over the limit": (b"POST /v1/tips HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n"
                                        + auth + b"Connection: close\r\n\r\n" + b"".join(b"4000\r\n" + b"x" * 0x4000 + b"\r\n" for _ in range(6)) + b"0\r\n\r\n"),
        "bad token bytes": b"GET /v1/me HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer \xff\xfe\xfd" + b"a" * 40 + b"\r\nConnection: close\r\n\r\n",
    }
    with live_server(svc.app) as base:
        for label, payload in cases.items():
            status, data = _raw(base, payload)
            assert 400 <= status < 500, (label, data[:300])
            assert b"Traceback" not in data and b"/work/" not in data, (label, data[:500])
        # a request id that is not one is replaced, not echoed (and not an error)
        status, data = _raw(base, b"GET /v1/me HTTP/1.1\r\nHost: x\r\nX-Request-ID: \xe6\xa1\x82\xff<x>\r\n" + auth
                            + b"Connection: close\r\n\r\n")
        assert status == 200 and b"<x>" not in data and b"\xff" not in data
        # a chunked body over the limit is 413 with a JSON reason, not a broken connection
        status, data = _raw(base, cases["chunked body over the limit"])
        assert status == 413 and b"request body over" in data


# ---- a forced internal error ------------------------------------------------------------------------


def test_an_internal_error_in_any_route_is_a_generic_500(svc):
    """Make every route's runtime dependency fail with a message full of secrets: each answer is the
    generic 500 with the request id, and nothing of the exception reaches the client."""
    from serving.api.deps import get_runtime

    def broken():
        raise RuntimeError("boom: password=hunter2 at /work/main/serving/secret.py line 42")

    svc.app.dependency_overrides[get_runtime] = broken
    try:
        checked = 0
        for method, path in sorted(app_routes(svc.app)):
            if ALLOWED[(method, path)] == "public" or path.startswith(("/docs", "/redoc", "/openapi")):
                continue
            who = "auditor" if path.startswith("/v1/audit") else "admin"
            body = {"version": "1"} if path.endswith("/promote") else VALID.get(path, {}) if method == "POST" else None
            r = svc.client.request(method, _fill(path, "E1" if "enterprise" in path else "1"), json=body,
                                   headers={**svc.headers(who), "X-Request-ID": f"boom-{checked}"})
            if r.status_code == 422:  # validation comes before dependencies run: no runtime touched
                continue
            assert r.status_code == 500, (method, path, r.status_code, r.text[:200])
            assert r.json() == {"detail": "internal error; quote the request id when reporting it",
                                "request_id": f"boom-{checked}"}
            assert "hunter2" not in r.text and "Traceback" not in r.text
            checked += 1
        assert checked >= 25
    finally:
        svc.app.dependency_overrides.pop(get_runtime, None)
    assert svc.get("inv", "/v1/leads/enterprises").status_code == 200


def test_an_error_in_the_token_check_itself_is_a_generic_500(svc):
    rt = svc.rt
    healthy = rt.db

    class Exploding:
        def read(self):
            raise RuntimeError("the token store exploded: secret=42")

    rt.db = Exploding()
    try:
        r = svc.get("inv", "/v1/me")
        assert r.status_code == 500 and "secret" not in r.text and r.json()["request_id"]
    finally:
        rt.db = healthy
    assert svc.get("inv", "/v1/me").status_code == 200


# ---- a failed import changes nothing already loaded -------------------------------------------------


def _lists(svc) -> dict:
    out = {}
    for kind in ("enterprises", "tips", "sites"):
        page = svc.get("inv", f"/v1/leads/{kind}", params={"limit": 200}).json()
        out[kind] = (page["run"]["run_id"], [(i.get("enterprise_id") or i.get("tip_id") or i.get("site_id"), i["score"])
                                              for i in page["items"]])
    return out


def test_training_on_a_broken_snapshot_changes_nothing_served(tmp_path, hand_snapshot):
    """The served snapshot's folder is damaged on disk; a training run on it fails with the loader's
    reason, and the service keeps serving what it had: snapshot, lists, readiness, state file."""
    from hazleads.state import read_state, write_state

    copy = tmp_path / "snapshot"
    shutil.copytree(hand_snapshot["path"], copy)
    hand = {**hand_snapshot, "path": copy}
    with start_service(f"sqlite:///{tmp_path / 'svc.db'}", tmp_path, hand) as svc:
        rt = svc.rt
        write_state(rt.settings, last_trained_snapshot=str(copy))
        before, snap_before, state_before = _lists(svc), rt.snapshot, read_state(rt.settings)
        (copy / "ledgers.csv").write_bytes(b"enterprise_id,month\nE1,2021-13\n\xff\xfe")
        r = svc.post("admin", "/v1/training", {})
        assert r.status_code == 202, r.text
        job = wait_for(lambda: (j := svc.get("admin", f"/v1/training/{r.json()['id']}").json())["status"] != "running" and j,
                       120, "the training job")
        assert job["status"] == "failed" and "SnapshotError" in job["error"] and "ledgers.csv" in job["error"]
        assert _lists(svc) == before and rt.snapshot is snap_before
        assert read_state(rt.settings) == state_before
        assert svc.get("inv", "/v1/enterprises/E1").status_code == 200
        # reloading the broken snapshot is refused the same way, and nothing is swapped
        assert rt.load_snapshot() is False and rt.snapshot is snap_before and "unusable" in rt.problem
        assert _lists(svc) == before


def test_serving_a_broken_snapshot_starts_degraded_with_a_reason(tmp_path):
    from fastapi.testclient import TestClient

    from hazleads.settings import Settings
    from serving.app import create_app
    from serving.auth import create_user
    from tests.minimal_snapshot import write_minimal
    from tests.service_support import mlflow_env_kept

    folder = write_minimal(tmp_path / "broken", tables={"vehicles": "vehicle_id\n\"unterminated"})
    settings = Settings(home=tmp_path / "home", database_url=f"sqlite:///{tmp_path / 'b.db'}",
                        mlflow_tracking_uri=f"sqlite:///{tmp_path / 'mlflow.db'}")
    app = create_app(settings, data=folder, warm="sync", watch_interval_s=0)
    with mlflow_env_kept(), TestClient(app, raise_server_exceptions=False) as client:
        with app.state.runtime.db.write() as s:
            _, token = create_user(s, "inv", "investigator")
        h = {"Authorization": f"Bearer {token}"}
        assert client.get("/healthz").status_code == 200
        ready = client.get("/readyz", headers=h)
        assert ready.status_code == 503 and "unusable" in ready.json()["problem"]
        r = client.get("/v1/leads/enterprises", headers=h)
        assert r.status_code == 503 and "unusable" in r.json()["detail"]


def test_cli_train_on_a_broken_snapshot_exits_2_and_keeps_state(tmp_path, monkeypatch):
    from typer.testing import CliRunner

    from hazleads.cli.main import app as cli
    from tests.minimal_snapshot import edit, write_minimal

    home = tmp_path / "home"
    home.mkdir()
    (home / "state.json").write_text('{"last_trained_snapshot": "/somewhere/good"}', encoding="utf-8")
    monkeypatch.setenv("HAZLEADS_HOME", str(home))
    monkeypatch.setenv("HAZLEADS_MLFLOW_TRACKING_URI", f"sqlite:///{tmp_path / 'mlflow.db'}")
    folder = write_minimal(tmp_path / "s", tables=edit("ledgers", "10.0,8.0,0.0,2.0", "10.0,8.0,-1.0,2.0"))
    r = CliRunner().invoke(cli, ["train", "--data", str(folder)])
    assert r.exit_code == 2 and "ledgers.csv:2:onsite_t" in r.output, r.output
    assert json.loads((home / "state.json").read_text()) == {"last_trained_snapshot": "/somewhere/good"}
    assert not (tmp_path / "mlflow.db").exists()  # refused before the registry was touched
