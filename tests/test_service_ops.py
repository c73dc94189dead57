"""Operations: request ids, JSON logs, no stack trace to clients, bounded bodies, 503 with a reason
while the database is unavailable (and recovery without a restart), and the command line."""

from __future__ import annotations

import io
import json
import logging
import sqlite3

import pytest
from sqlalchemy import event
from typer.testing import CliRunner

from hazleads.cli.main import app as cli
from serving import logs
from serving.db.engine import Database


def test_request_id_is_echoed_when_sane_and_made_otherwise(service):
    r = service.get("inv", "/v1/me", headers={"X-Request-ID": "case-42.a"})
    assert r.headers["x-request-id"] == "case-42.a"
    for bad in (None, "x" * 65, "bad id\n"):
        r = service.get("inv", "/v1/me", headers={"X-Request-ID": bad} if bad else {})
        assert len(r.headers["x-request-id"]) == 32 and r.headers["x-request-id"] != bad
    unauth = service.client.get("/v1/me")
    assert unauth.json()["request_id"] == unauth.headers["x-request-id"]


def test_an_unhandled_error_is_a_generic_500_with_the_request_id(service):
    def boom():
        raise RuntimeError("secret internals: /etc/hazleads password=hunter2")

    service.app.add_api_route("/v1/boom", boom)
    r = service.get("admin", "/v1/boom", headers={"X-Request-ID": "boom-1"})
    assert r.status_code == 500
    assert r.json() == {"detail": "internal error; quote the request id when reporting it", "request_id": "boom-1"}
    assert "secret" not in r.text and "Traceback" not in r.text


def test_request_bodies_are_bounded(service):
    big = {"channel": "12369", "text": "x" * 70_000}
    r = service.post("inv", "/v1/tips", big)
    assert r.status_code == 413 and "64 KB" in r.json()["detail"]
    r = service.client.post("/v1/tips", content=b"x" * 70_000, headers={**service.headers("inv"), "content-type": "application/json"})
    assert r.status_code == 413


def test_json_logs_carry_the_request(service):
    stream = io.StringIO()
    root = logging.getLogger()
    saved = root.handlers[:], root.level
    logs.configure("INFO", stream)
    try:
        service.get("inv_lingui", "/v1/leads/enterprises", headers={"X-Request-ID": "log-me"})
    finally:
        root.handlers[:], _ = saved[0], root.setLevel(saved[1])
    lines = [json.loads(x) for x in stream.getvalue().splitlines()]
    access = [x for x in lines if x["msg"] == "request" and x.get("request_id") == "log-me"]
    assert access and access[0]["status"] == 200 and access[0]["route"] == "/v1/leads/enterprises"
    assert access[0]["user"] == "inv_lingui" and access[0]["ms"] >= 0


def test_database_down_is_503_with_a_reason_then_recovers(service, db_url, tmp_path):
    rt = service.rt
    healthy = rt.db
    down = (Database("postgresql+psycopg2://postgres@127.0.0.1:9/none") if db_url.startswith("postgresql")
            else Database(f"sqlite:///{tmp_path / 'no-such-dir' / 'x.db'}"))
    rt.db = down
    try:
        r = service.get("inv", "/v1/leads/enterprises")
        assert r.status_code == 503 and r.json()["detail"].startswith("database unavailable")
        assert r.headers["retry-after"] and "Traceback" not in r.text
        assert service.client.get("/healthz").status_code == 200
    finally:
        rt.db = healthy
        down.dispose()
    assert service.get("inv", "/v1/leads/enterprises").status_code == 200


def test_a_write_failing_in_the_database_is_503_not_500(service, db_url):
    if not db_url.startswith("sqlite"):
        pytest.skip("uses SQLite's query_only to refuse writes")
    engine = service.rt.db.write_engine
    engine.dispose()

    def read_only(conn, _record) -> None:
        conn.execute("PRAGMA query_only=ON")

    event.listen(engine, "connect", read_only)
    try:
        r = service.get("inv", "/v1/leads/enterprises")  # the read is fine; its audit row cannot be written
        assert r.status_code == 503 and "database" in r.json()["detail"]
    finally:
        event.remove(engine, "connect", read_only)
        engine.dispose()
    assert service.get("inv", "/v1/leads/enterprises").status_code == 200


@pytest.fixture
def home(tmp_path, monkeypatch):
    monkeypatch.setenv("HAZLEADS_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("HAZLEADS_DATABASE_URL", raising=False)
    return tmp_path / "home"


def test_cli_users_add_prints_the_token_alone_on_the_last_line(home):
    from serving.auth import authenticate

    r = CliRunner().invoke(cli, ["users", "add", "wang", "--role", "investigator", "--county", "阳朔县"])
    assert r.exit_code == 0, r.output
    token = r.output.strip().splitlines()[-1]
    assert token == token.strip() and " " not in token and len(token) >= 40
    db = Database(f"sqlite:///{home / 'hazleads.db'}")
    with db.read() as s:
        p = authenticate(s, token)
    db.dispose()
    assert (p.name, p.role, p.county) == ("wang", "investigator", "阳朔县")
    assert token not in (home / "hazleads.db").read_bytes().decode("latin-1")  # only its hash is stored
    bad = CliRunner().invoke(cli, ["users", "add", "li", "--role", "boss"])
    assert bad.exit_code == 2 and "role must be one of" in bad.output
    assert CliRunner().invoke(cli, ["users", "add", "wang", "--role", "admin"]).exit_code == 2


def test_cli_audit_verify_names_the_first_bad_row(home):
    for name in ("a", "b", "c"):
        assert CliRunner().invoke(cli, ["users", "add", name, "--role", "auditor"]).exit_code == 0
    ok = CliRunner().invoke(cli, ["audit", "verify"])
    assert ok.exit_code == 0 and "3 row(s)" in ok.output
    conn = sqlite3.connect(home / "hazleads.db")
    conn.execute("UPDATE audit_log SET result = 'forged' WHERE id = 2")
    conn.commit()
    conn.close()
    bad = CliRunner().invoke(cli, ["audit", "verify"])
    assert bad.exit_code == 1 and "row 2" in bad.output
