"""Security beyond the authorisation matrix (``test_service_authz.py`` checks every route × role):
what the matrix cannot see — methods a route does not serve, mounts, the public page's prefix —
tokens stored only hashed and compared in constant time, uploads refused, the audit chain under
direct SQL edits on SQLite and PostgreSQL, and pickled models loaded only from the registry after
their checksum matches (a tampered artifact, cached copy or MLmodel file is refused, and no other
code path unpickles anything).
"""

from __future__ import annotations

import ast
import hashlib
import hmac
import io
import logging
import pickle
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sqlalchemy import text

from serving import audit
from serving.auditkeys import AuditKeys
from serving.auth import Principal, hash_token
from serving.db import migrate
from serving.db.engine import Database
from tests.reliability_support import ROOT, raw_sql
from tests.service_support import USERS, mlflow_env_kept, start_service
from tests.test_service_authz import ALLOWED, app_routes

OTHER_METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "TRACE")


@pytest.fixture(scope="module")
def svc(tmp_path_factory, hand_snapshot):
    home = tmp_path_factory.mktemp("security")
    with start_service(f"sqlite:///{home / 'sec.db'}", home, hand_snapshot) as h:
        yield h


# ---- every door ----------------------------------------------------------------------------------------


def test_public_paths_serve_no_data(svc):
    """Only the page and liveness are public; nothing under /v1, and the page carries no data."""
    from serving.app import PUBLIC_PATHS

    assert all(not p.startswith(("/v1", "/metrics", "/readyz", "/openapi", "/docs")) for p in PUBLIC_PATHS)
    r = svc.client.get("/")
    assert r.status_code in (200, 401)
    for name in ("E1", "桂林", "T2", "内部人员"):
        assert name not in r.text


def test_every_method_on_every_path_needs_a_token(svc):
    """A method a route does not serve is still 401 (not 405, which would tell a stranger the path exists)."""
    paths = {p for _, p in app_routes(svc.app)}
    checked = 0
    for path in sorted(paths):
        url = re.sub(r"\{\w+\}", "E1", path)
        for method in OTHER_METHODS:
            r = svc.client.request(method, url)
            public = ALLOWED.get((method, path)) == "public" or (path == "/" and method in ("GET", "HEAD"))
            if public or (path in ("/healthz", "/") and method != "GET"):
                assert r.status_code != 500
                continue
            assert r.status_code == 401, (method, path, r.status_code)
            checked += 1
    assert checked >= 150


def test_mounts_and_the_public_prefix_lead_nowhere_else(svc):
    """Every mount is listed; paths under the public static prefix never reach an API route or a file
    outside the page's folder, however the path is spelled."""
    from starlette.routing import Mount

    mounts = [r.path for r in svc.app.routes if isinstance(r, Mount)]
    assert set(mounts) <= {"/static"}, f"a new mount: decide whether it is public ({mounts})"
    for path in ("/static/../v1/leads/enterprises", "/static/%2e%2e/v1/leads/enterprises", "/static/..%2fapp.py",
                 "/static/%2e%2e/%2e%2e/hazleads/settings.py", "/static//etc/passwd", "/static/../../serving/app.py",
                 "/static/%2e%2e%2f%2e%2e%2fpyproject.toml"):
        r = svc.client.get(path)
        assert r.status_code in (401, 404), (path, r.status_code)
        assert "enterprise_id" not in r.text and "import" not in r.text and "root:" not in r.text, path
    assert svc.client.get("/v1/leads/enterprises/../../static/index.html").status_code in (401, 404)


def test_no_route_takes_an_upload_and_a_large_multipart_body_is_refused(svc):
    spec = svc.get("admin", "/openapi.json").json()
    kinds = {ct for ops in spec["paths"].values() for op in ops.values() if isinstance(op, dict)
             for ct in op.get("requestBody", {}).get("content", {})}
    assert kinds <= {"application/json"}, kinds
    files = {"file": ("leads.csv", b"x" * 100_000, "text/csv")}
    for path in ("/v1/tips", "/v1/outcomes", "/v1/users"):
        r = svc.client.post(path, files=files, headers=svc.headers("admin"))
        assert r.status_code == 413, (path, r.status_code)


# ---- tokens ---------------------------------------------------------------------------------------------


def _all_text(db: Database) -> str:
    """Every value of every table, as text."""
    from serving.db.models import Base

    out = io.StringIO()
    with db.engine.connect() as conn:
        for table in Base.metadata.sorted_tables:
            for row in conn.execute(table.select()):
                out.write(repr(tuple(row)))
    return out.getvalue()


def test_tokens_are_stored_only_hashed_and_never_logged(db_url, tmp_path, hand_snapshot):
    """Tokens made by the API and the command line appear nowhere in the database, the logs or any
    answer but the one that creates them; what is stored is the SHA-256 of each."""
    from serving import logs

    stream = io.StringIO()
    root = logging.getLogger()
    saved = root.handlers[:], root.level
    logs.configure("INFO", stream)
    try:
        with start_service(db_url, tmp_path, hand_snapshot) as svc:
            made = svc.post("admin", "/v1/users", {"name": "newcomer", "role": "investigator", "county": "临桂区"})
            assert made.status_code == 201
            tokens = {**svc.tokens, "newcomer": made.json()["token"]}
            for who in tokens:
                svc.client.get("/v1/me", headers={"Authorization": f"Bearer {tokens[who]}"})
            listing = svc.get("admin", "/v1/users").text
            audit_rows = svc.get("auditor", "/v1/audit", params={"limit": 200}).text
            stored = _all_text(svc.rt.db)
            with svc.rt.db.read() as s:
                hashes = {name: s.execute(text("SELECT token_hash FROM users WHERE name = :n"), {"n": name}).scalar()
                          for name in tokens}
    finally:
        root.handlers[:], _ = saved[0], root.setLevel(saved[1])
    logged = stream.getvalue()
    assert logged.count('"msg": "request"') >= len(tokens)  # the requests were logged
    for name, token in tokens.items():
        for where, haystack in (("database", stored), ("logs", logged), ("user list", listing), ("audit", audit_rows)):
            assert token not in haystack, f"{name}'s token found in the {where}"
        assert hashes[name] == hashlib.sha256(token.encode()).hexdigest() and hashes[name] not in listing
    assert set(USERS) <= set(tokens)


def test_a_token_is_accepted_only_if_its_whole_hash_matches_in_constant_time(db_url, tmp_path, hand_snapshot, monkeypatch):
    """A token's row is found by a prefix of its hash; the whole hash then decides, compared with
    ``hmac.compare_digest``. Rows whose hash shares the prefix but not the rest (planted by hand,
    as a near-collision would) are refused, alone or beside the right one, and nothing but hashes
    of the token reaches the database."""
    from sqlalchemy import event

    from serving.auth import SELECTOR, check_token, create_user

    with start_service(db_url, tmp_path, hand_snapshot, lists=False) as svc:
        token = svc.tokens["inv"]
        digest = hash_token(token)

        def other(c: str) -> str:
            return "0" if c != "0" else "1"

        def set_hash(name: str, value: str) -> None:
            with svc.rt.db.write() as s:
                s.execute(text("UPDATE users SET token_hash = :h WHERE name = :n"), {"h": value, "n": name})

        with svc.rt.db.write() as s:
            create_user(s, "twin", "admin")
        set_hash("twin", digest[:SELECTOR] + other(digest[SELECTOR]) + digest[SELECTOR + 1:])
        set_hash("inv", digest[:-1] + other(digest[-1]))  # differs from the token's hash in its last character only
        statements, calls = [], []
        real = hmac.compare_digest
        monkeypatch.setattr(hmac, "compare_digest", lambda a, b: calls.append((a, b)) or real(a, b))

        def seen(conn, cursor, statement, params, context, executemany):
            statements.append(f"{statement} {params}")

        event.listen(svc.rt.db.engine, "before_cursor_execute", seen)
        try:
            with svc.rt.db.read() as s:
                assert check_token(s, token) == (None, "invalid")  # both candidates share the prefix, neither the hash
            assert len(calls) == 2  # every candidate compared in full: no early exit on the first
            assert svc.get("inv", "/v1/me").status_code == 401
            set_hash("inv", digest)
            statements.clear()
            with svc.rt.db.read() as s:
                p, why = check_token(s, token)
                assert (p.name, why) == ("inv", "")
                assert check_token(s, token[:-1] + ("A" if token[-1] != "A" else "B")) == (None, "invalid")
        finally:
            event.remove(svc.rt.db.engine, "before_cursor_execute", seen)
        assert statements and not any(token in st or digest in st for st in statements), statements
        assert any(digest[:SELECTOR] in st for st in statements)  # looked up by a prefix of the hash only
        assert svc.get("inv", "/v1/me").status_code == 200


# ---- the audit chain under direct SQL ------------------------------------------------------------------


EDITS = {
    "at": "'2020-01-01T00:00:00.000000Z'", "user_id": "99", "user_name": "'mallory'", "role": "'admin'",
    "action": "'tip.read'", "entity_ids": "'[\"E9\"]'", "model_version": "'666'", "result": "'forbidden'",
    "request_id": "'forged'", "prev_hash": "'" + "0" * 64 + "'", "hash": "'" + "f" * 64 + "'",
    "key_id": "NULL",
}
KEYS = AuditKeys.of(b"the audit key of the security tests, kept out of the database")


@pytest.fixture
def chain(db_url):
    db = Database(db_url, audit_keys=KEYS)
    migrate.upgrade(db.url, engine=db.write_engine)
    who = Principal(1, "alice", "investigator", "临桂区")
    for i in range(6):
        with db.write() as s:
            audit.append(s, who, "enterprise.read", [f"E{i}"], model_version="3", request_id=f"r{i}")
    yield db
    db.dispose()


def _verdict(db: Database) -> audit.Verdict:
    with db.read() as s:
        return audit.verify(s)


@pytest.mark.parametrize("column", sorted(EDITS))
def test_an_edit_of_any_audit_column_is_detected(chain, column):
    assert _verdict(chain).ok
    raw_sql(chain.engine.url, f"UPDATE audit_log SET {column} = {EDITS[column]} WHERE id = 3")
    v = _verdict(chain)
    assert not v.ok and v.first_bad_id in (3, 4), v


@pytest.mark.parametrize("edit", ["delete first", "delete middle", "delete last", "swap contents", "renumber",
                                  "forged append"])
def test_deleted_reordered_or_forged_audit_rows_are_detected(chain, edit):
    cols = "at, user_id, user_name, role, action, entity_ids, model_version, result, request_id, prev_hash, hash"
    statements = {
        "delete first": ["DELETE FROM audit_log WHERE id = 1"],
        "delete middle": ["DELETE FROM audit_log WHERE id = 4"],
        "delete last": ["DELETE FROM audit_log WHERE id = 6"],
        "swap contents": ["UPDATE audit_log SET id = 100 WHERE id = 2", "UPDATE audit_log SET id = 2 WHERE id = 5",
                          "UPDATE audit_log SET id = 5 WHERE id = 100"],
        "renumber": ["DELETE FROM audit_log WHERE id = 3", "UPDATE audit_log SET id = id - 1 WHERE id > 3"],
        "forged append": [f"INSERT INTO audit_log (id, {cols}) SELECT 7, {cols} FROM audit_log WHERE id = 6"],
    }[edit]
    raw_sql(chain.engine.url, *statements)
    v = _verdict(chain)
    assert not v.ok, (edit, v)


# ---- pickles: only from the registry, only after the checksum ------------------------------------------


UNPICKLERS = re.compile(r"\b(pickle|cloudpickle|joblib|dill|shelve|marshal)\.(load|loads|Unpickler)\b|read_pickle|"
                        r"allow_pickle\s*=\s*True|(sklearn|pyfunc|lightgbm|pytorch|keras)\.load_model|\btorch\.load\b")


def test_no_code_path_but_the_registry_unpickles():
    hits = []
    for folder in ("features", "models", "training", "serving", "hazleads", "simulation", "experiments"):
        for f in (ROOT / folder).rglob("*.py"):
            for i, line in enumerate(f.read_text(encoding="utf-8").splitlines(), start=1):
                if UNPICKLERS.search(line.split("#", 1)[0]):
                    hits.append(f"{f.relative_to(ROOT)}:{i}: {line.strip()}")
    assert [h for h in hits if not h.startswith("training/registry.py:")] == [], hits
    assert any("cloudpickle.loads(data)" in h for h in hits), "the registry's one unpickling moved: recheck it"
    tree = ast.parse((ROOT / "training" / "registry.py").read_text(encoding="utf-8"))
    fn = next(n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef) and n.name == "load_version")
    order = [n.lineno for n in ast.walk(fn) if isinstance(n, ast.Call) and "sha256" in ast.unparse(n.func)]
    loads = [n.lineno for n in ast.walk(fn) if isinstance(n, ast.Call) and ast.unparse(n.func) == "cloudpickle.loads"]
    assert order and loads and min(order) < min(loads), "the checksum is computed before unpickling"
    # the home's own signed entries (training.fold_cache): the signature is checked before unpickling
    fn = next(n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef) and n.name == "load_signed")
    checks = [n.lineno for n in ast.walk(fn) if isinstance(n, ast.Call) and ast.unparse(n.func) == "hmac.compare_digest"]
    loads = [n.lineno for n in ast.walk(fn) if isinstance(n, ast.Call) and ast.unparse(n.func) == "cloudpickle.loads"]
    assert checks and loads and min(checks) < min(loads), "the signature is checked before unpickling"


class _Tiny:
    """A stand-in estimator (the registry logs anything with ``predict_proba``)."""

    def __init__(self, w: float = 1.0) -> None:
        self.w = w

    def predict_proba(self, X):
        z = 1 / (1 + np.exp(-self.w * np.asarray(X, dtype=float)[:, 0]))
        return np.column_stack([1 - z, z])


class _Marker:
    """Unpickling this creates a file: proof that a pickle was executed."""

    def __init__(self, path: str) -> None:
        self.path = path

    def __reduce__(self):
        return (Path.touch, (Path(self.path),))


@pytest.fixture(scope="module")
def registry_home(tmp_path_factory):
    """A registry with a champion and a second, checked version of the enterprise model."""
    import mlflow
    from sklearn.linear_model import LogisticRegression

    from hazleads.settings import Settings
    from training import registry

    home = tmp_path_factory.mktemp("registry")
    settings = Settings(home=home, mlflow_tracking_uri=f"sqlite:///{home / 'mlflow.db'}")
    X = pd.DataFrame({"ledger_gap_t": np.linspace(-3, 3, 40)})
    y = (X["ledger_gap_t"] > 0).astype(int)
    with mlflow_env_kept():
        registry.configure(settings)
        with mlflow.start_run():
            v1 = registry.log_model(LogisticRegression().fit(X, y), "enterprise", X)
            v2 = registry.log_model(LogisticRegression(C=0.5).fit(X, y), "enterprise", X)
        registry.promote("enterprise", v1)
        yield settings, X, v1, v2


def _stored_pickle(settings, version: str) -> Path:
    """The registry's own copy of a version's pickle (in the artifact store), found by its checksum."""
    from mlflow import MlflowClient

    from training import registry

    want = MlflowClient().get_model_version(registry.NAMES["enterprise"], version).tags["sha256"]
    for p in settings.mlflow_artifacts.rglob(registry.PICKLE):
        if registry.sha256_file(p) == want:
            return p
    raise AssertionError(f"no stored pickle for v{version}")


def test_a_tampered_artifact_in_the_registry_is_refused_and_never_promoted(registry_home, tmp_path):
    from training import registry

    settings, X, v1, v2 = registry_home
    with mlflow_env_kept():
        registry.configure(settings)
        stored = _stored_pickle(settings, v2)
        good = stored.read_bytes()
        marker = tmp_path / "executed"
        stored.write_bytes(pickle.dumps(_Marker(str(marker))))
        try:
            with pytest.raises(registry.ModelLoadError, match="checksum"):
                registry.load_version("enterprise", version=v2)
            with pytest.raises(registry.ModelLoadError):
                registry.promote("enterprise", v2)
            scores = np.zeros(len(X))
            decision = registry.gate("enterprise", v2, scores, X, lambda s: 1.0, "m")
            assert not decision.promoted and "does not load back" in decision.reason
            assert registry.champion_version("enterprise") == v1
            assert not marker.exists(), "a tampered pickle was executed"
        finally:
            stored.write_bytes(good)
        assert registry.load_version("enterprise", version=v2).version == v2


def test_a_tampered_cached_copy_or_mlmodel_redirect_is_never_unpickled(registry_home, tmp_path):
    from training import registry

    settings, X, v1, _ = registry_home
    cache = tmp_path / "models"
    marker = tmp_path / "executed"
    with mlflow_env_kept():
        registry.configure(settings)
        loaded = registry.load_version("enterprise", alias=registry.CHAMPION, cache=cache)
        folder = cache / registry.NAMES["enterprise"] / loaded.version
        # 1. the MLmodel file redirected to another pickle: the checked model.pkl is what loads
        (folder / "evil.pkl").write_bytes(pickle.dumps(_Marker(str(marker))))
        mlmodel = (folder / "MLmodel").read_text(encoding="utf-8")
        (folder / "MLmodel").write_text(mlmodel.replace("pickled_model: model.pkl", "pickled_model: evil.pkl"), encoding="utf-8")
        again = registry.load_version("enterprise", alias=registry.CHAMPION, cache=cache)
        assert not marker.exists(), "the MLmodel file made the loader unpickle an unchecked file"
        np.testing.assert_allclose(again.model.predict_proba(X), loaded.model.predict_proba(X))
        # 2. the cached pickle replaced: refused, never executed
        (folder / registry.PICKLE).write_bytes(pickle.dumps(_Marker(str(marker))))
        with pytest.raises(registry.ModelLoadError, match="checksum"):
            registry.load_version("enterprise", alias=registry.CHAMPION, cache=cache)
        assert not marker.exists()


def test_an_unloadable_version_whose_checksum_matches_is_never_promoted_nor_served(registry_home, tmp_path):
    """Even with its checksum re-recorded to match (a corrupted upload, or a forger with registry
    access), a pickle that does not load is refused by promotion, and the service keeps its model."""
    from mlflow import MlflowClient

    from serving.db.engine import Database
    from serving.metrics import Metrics
    from serving.runtime import Runtime
    from training import registry

    settings, X, v1, v2 = registry_home
    with mlflow_env_kept():
        registry.configure(settings)
        db = Database(f"sqlite:///{tmp_path / 's.db'}")
        from hazleads.settings import Settings

        rt = Runtime(Settings(home=tmp_path / "svc", mlflow_tracking_uri=settings.mlflow_uri), db, Metrics())
        try:
            assert rt.load_champions() and rt.versions()["enterprise"] == v1
            stored = _stored_pickle(settings, v2)
            good = stored.read_bytes()
            client = MlflowClient()
            name = registry.NAMES["enterprise"]
            broken = good[: len(good) // 2]
            stored.write_bytes(broken)
            client.set_model_version_tag(name, v2, "sha256", hashlib.sha256(broken).hexdigest())
            try:
                with pytest.raises(registry.ModelLoadError, match="cannot be loaded"):
                    registry.promote("enterprise", v2)
                assert registry.champion_version("enterprise") == v1
                client.set_registered_model_alias(name, registry.CHAMPION, v2)  # forced past the gate by hand
                assert rt.load_champions() is False
                assert rt.versions()["enterprise"] == v1 and "cannot be loaded" in rt.model_errors["enterprise"]
            finally:
                stored.write_bytes(good)
                client.set_model_version_tag(name, v2, "sha256", hashlib.sha256(good).hexdigest())
                client.set_registered_model_alias(name, registry.CHAMPION, v1)
        finally:
            db.dispose()


def test_model_versions_carry_a_checksum_of_the_exact_stored_bytes(registry_home):
    from mlflow import MlflowClient

    from training import registry

    settings, _, v1, v2 = registry_home
    with mlflow_env_kept():
        registry.configure(settings)
        for v in (v1, v2):
            tags = MlflowClient().get_model_version(registry.NAMES["enterprise"], v).tags
            assert re.fullmatch(r"[0-9a-f]{64}", tags["sha256"])
            assert registry.sha256_file(_stored_pickle(settings, v)) == tags["sha256"]
