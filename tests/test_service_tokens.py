"""Tokens that expire and can be replaced, users the command line can disable, a strict bearer
scheme, counties that cannot be blank, per-user limits on tips and jobs, re-scoring that coalesces
after promotions, and files only their owner can read."""

from __future__ import annotations

import datetime as dt
import stat
import threading

import httpx
import pytest
from sqlalchemy import func, select, text
from typer.testing import CliRunner

from hazleads.cli.main import app as cli
from hazleads.settings import Settings
from serving.auth import check_token, create_user, parse_bearer
from serving.db.engine import Database
from serving.db.models import AuditEntry, Job, ScoringRun, User
from tests.reliability_support import Crew, live_server
from tests.service_support import start_service

# ---- expiry and rotation --------------------------------------------------------------------------------


def test_a_token_is_valid_for_its_days_and_not_a_second_longer(db_url, tmp_path):
    from serving.db.setup import open_database

    db = open_database(Settings(home=tmp_path / "home", database_url=db_url))
    try:
        with db.write() as s:
            user, token = create_user(s, "li", "investigator", "阳朔县", days=1)
            issued = user.token_issued_at
        assert user.token_expires_at == issued + dt.timedelta(days=1)
        with db.read() as s:
            assert check_token(s, token, now=issued + dt.timedelta(days=1) - dt.timedelta(microseconds=1))[1] == ""
            assert check_token(s, token, now=issued + dt.timedelta(days=1)) == (None, "expired")
            assert check_token(s, "x" * 43) == (None, "invalid")
    finally:
        db.dispose()


def test_an_expired_token_is_401_and_says_so(service):
    with service.rt.db.write() as s:
        s.execute(text("UPDATE users SET token_expires_at = :t WHERE name = 'inv'"),
                  {"t": dt.datetime.now(dt.UTC).replace(tzinfo=None) - dt.timedelta(seconds=1)})
    r = service.get("inv", "/v1/me")
    assert r.status_code == 401 and "expired" in r.json()["detail"] and r.headers["www-authenticate"].startswith("Bearer")
    assert service.get("inv_lingui", "/v1/me").status_code == 200


def test_an_admin_replaces_a_token_through_the_api(service):
    old = service.tokens["inv_lingui"]
    r = service.post("admin", f"/v1/users/{service.user_ids['inv_lingui']}/token")
    assert r.status_code == 201, r.text
    new = r.json()["token"]
    assert new != old and r.json()["token_expires_at"]
    assert service.client.get("/v1/me", headers={"Authorization": f"Bearer {old}"}).status_code == 401
    assert service.client.get("/v1/me", headers={"Authorization": f"Bearer {new}"}).json()["name"] == "inv_lingui"
    assert service.post("admin", "/v1/users/99999/token").status_code == 404
    assert service.post("admin", f"/v1/users/{service.user_ids['admin']}/token").status_code == 422  # not one's own
    assert service.post("inv", f"/v1/users/{service.user_ids['inv']}/token").status_code == 403
    with service.rt.db.read() as s:
        assert s.scalar(select(func.count()).select_from(AuditEntry).where(AuditEntry.action == "user.rotate")) == 1


@pytest.fixture
def home(tmp_path, monkeypatch):
    monkeypatch.setenv("HAZLEADS_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("HAZLEADS_DATABASE_URL", raising=False)
    monkeypatch.delenv("HAZLEADS_AUDIT_KEY", raising=False)
    return tmp_path / "home"


def _principal(home, token):
    db = Database(f"sqlite:///{home / 'hazleads.db'}")
    try:
        with db.read() as s:
            return check_token(s, token)
    finally:
        db.dispose()


def test_cli_rotate_prints_the_new_token_alone_and_the_old_one_stops(home):
    r = CliRunner().invoke(cli, ["users", "add", "zhao", "--role", "investigator", "--county", "临桂区", "--days", "30"])
    assert r.exit_code == 0, r.output
    old = r.output.strip().splitlines()[-1]
    rot = CliRunner().invoke(cli, ["users", "rotate", "zhao", "--days", "7"])
    assert rot.exit_code == 0, rot.output
    new = rot.output.strip().splitlines()[-1]
    assert new != old and " " not in new and len(new) >= 40 and rot.output.endswith(new + "\n")
    assert _principal(home, old) == (None, "invalid")
    p, why = _principal(home, new)
    assert (p.name, p.county, why) == ("zhao", "临桂区", "")
    listing = CliRunner().invoke(cli, ["users", "list"]).output
    expires = (dt.datetime.now(dt.UTC) + dt.timedelta(days=7)).strftime("%Y-%m-%d")
    assert expires in listing and new not in listing
    assert CliRunner().invoke(cli, ["users", "rotate", "nobody"]).exit_code == 2


def test_cli_disable_stops_the_token_at_once(home):
    token = CliRunner().invoke(cli, ["users", "add", "qian", "--role", "auditor"]).output.strip().splitlines()[-1]
    assert _principal(home, token)[1] == ""
    r = CliRunner().invoke(cli, ["users", "disable", "qian"])
    assert r.exit_code == 0, r.output
    assert _principal(home, token) == (None, "disabled")
    assert "停用 disabled" in CliRunner().invoke(cli, ["users", "list"]).output
    assert CliRunner().invoke(cli, ["users", "rotate", "qian"]).exit_code == 2  # disabled stays disabled
    audit = CliRunner().invoke(cli, ["audit", "verify"])
    assert audit.exit_code == 0 and "2 row(s)" in audit.output  # user.create, user.disable


# ---- the header and the county ------------------------------------------------------------------------------


SHAPES = [
    ("Bearer {t}", True), ("bearer {t}", True),  # RFC 7235: the scheme is case-insensitive
    ("Token {t}", False), ("Basic {t}", False), ("Bearer  {t}", False), ("Bearer {t} ", False), (" Bearer {t}", False),
    ("Bearer\t{t}", False), ("Bearer {t},x", False), ("Bearer={t}", False), ("{t}", False), ("Bearer {t} {t}", False),
    ("Bearer: {t}", False), ("BearerX {t}", False), ("Bearer\n{t}", False), ("Digest {t}", False),
]


def test_only_bearer_and_the_token_is_a_credential(tmp_path, hand_snapshot):
    with start_service(f"sqlite:///{tmp_path / 's.db'}", tmp_path, hand_snapshot, lists=False) as svc:
        for shape, ok in SHAPES:
            header = shape.format(t=svc.tokens["inv"])
            assert (parse_bearer(header) is not None) is ok, shape
            try:
                r = svc.client.get("/v1/me", headers={"Authorization": header})
            except httpx.LocalProtocolError:  # the client itself refuses a newline in a header
                assert "\n" in shape
                continue
            assert r.status_code == (200 if ok else 401), (shape, r.status_code)
            if not ok:
                assert r.headers["www-authenticate"].startswith("Bearer") and "request_id" in r.json()


def test_a_blank_county_is_refused_on_the_command_line_as_in_the_api(home, db_url, tmp_path, hand_snapshot):
    with start_service(db_url, tmp_path, hand_snapshot, lists=False) as svc:
        for county in (" ", "", "\t", "\u3000"):
            r = CliRunner().invoke(cli, ["users", "add", "sun", "--role", "investigator", "--county", county])
            assert r.exit_code == 2 and "county" in r.output and "blank" in r.output, (county, r.output)
            api = svc.post("admin", "/v1/users", {"name": "sun", "role": "investigator", "county": county})
            assert api.status_code == 422, api.text
    ok = CliRunner().invoke(cli, ["users", "add", "sun", "--role", "investigator", "--county", " 临桂区 "])
    assert ok.exit_code == 0
    assert _principal(home, ok.output.strip().splitlines()[-1])[0].county == "临桂区"


# ---- per-user limits ----------------------------------------------------------------------------------------------


TIP = {"channel": "12369", "text": "河边夜里有车倒东西", "received_at": "2021-03-04T21:00:00"}


def test_tip_intake_is_limited_per_user_with_retry_after(db_url, tmp_path, hand_snapshot):
    with start_service(db_url, tmp_path, hand_snapshot, settings={"tip_intake_per_hour": 3}) as svc:
        for _ in range(3):
            assert svc.post("inv_yangshuo", "/v1/tips", TIP).status_code == 201
        r = svc.post("inv_yangshuo", "/v1/tips", TIP)
        assert r.status_code == 429 and "at most 3" in r.json()["detail"] and "request_id" in r.json()
        assert 3500 <= int(r.headers["retry-after"]) <= 3600
        assert svc.post("inv", "/v1/tips", TIP).status_code == 201  # another user is not held back
        with svc.rt.db.write() as s:  # the oldest of the three leaves the hour
            first = s.scalars(select(User.id).where(User.name == "inv_yangshuo")).one()
            oldest = s.execute(text("SELECT min(created_at) FROM tips WHERE created_by = :u"), {"u": first}).scalar()
            s.execute(text("UPDATE tips SET created_at = :t WHERE created_by = :u AND created_at = :o"),
                      {"t": dt.datetime.now(dt.UTC).replace(tzinfo=None) - dt.timedelta(minutes=61), "u": first, "o": oldest})
        assert svc.post("inv_yangshuo", "/v1/tips", TIP).status_code == 201
        assert svc.post("inv_yangshuo", "/v1/tips", TIP).status_code == 429


def test_the_tip_limit_holds_for_requests_at_the_same_moment(db_url, tmp_path, hand_snapshot):
    with start_service(db_url, tmp_path, hand_snapshot, settings={"tip_intake_per_hour": 5}) as svc, \
            live_server(svc.app) as base:
        codes: list[int] = []
        gate = threading.Barrier(12)

        def send() -> None:
            with httpx.Client(base_url=base, headers=svc.headers("inv"), timeout=60) as c:
                gate.wait()
                codes.append(c.post("/v1/tips", json=TIP).status_code)

        crew = Crew()
        for _ in range(12):
            crew.start(send)
        crew.join(120)
        crew.check()
        assert sorted(codes) == [201] * 5 + [429] * 7


def test_job_requests_are_limited_per_user_with_retry_after(db_url, tmp_path, hand_snapshot):
    from serving.jobs import _close_job, _open_job
    from serving.limits import Limited

    with start_service(db_url, tmp_path, hand_snapshot, settings={"jobs_per_hour": 2}) as svc:
        rt = svc.rt
        admin = check_token_principal(svc, "admin")
        for _ in range(2):
            job = _open_job(rt, "scoring", admin, {}, limited=True)
            _close_job(rt, job, "scoring", "succeeded", {}, None, admin)
        with pytest.raises(Limited) as exc:
            _open_job(rt, "scoring", admin, {}, limited=True)
        assert 3500 <= exc.value.retry_after <= 3600
        job = _open_job(rt, "scoring", admin, {})  # the service's own jobs (start-up, promotions) are never refused
        _close_job(rt, job, "scoring", "succeeded", {}, None, admin)
        r = svc.post("admin", "/v1/training", {})
        assert r.status_code == 429 and r.headers["retry-after"].isdigit(), r.text
        with rt.db.read() as s:
            assert s.scalar(select(func.count()).select_from(Job).where(Job.kind == "training")) == 0
        assert not rt.training_lock.locked()


def check_token_principal(svc, who: str):
    with svc.rt.db.read() as s:
        return check_token(s, svc.tokens[who])[0]


# ---- promotions coalesce ---------------------------------------------------------------------------------------


def test_a_burst_of_promotions_costs_one_re_scoring(tmp_path, hand_snapshot):
    """Five champion changes while a scoring job runs queue one re-score, not five; one after that
    queues one more. Scored for real with the label-free rule model."""
    from models.fallback import RuleLeadModel
    from serving.jobs import request_rescore
    from tests.reliability_support import wait_for
    from training.registry import LoadedModel

    with start_service(f"sqlite:///{tmp_path / 's.db'}", tmp_path, hand_snapshot) as svc:
        rt = svc.rt
        rows = hand_snapshot["features"].enterprise.reset_index()
        rt.models = {"enterprise": LoadedModel("enterprise", "r1", RuleLeadModel().fit(rows), {}), "tip": None}

        def promotion_runs() -> int:
            with rt.db.read() as s:
                return s.scalar(select(func.count()).select_from(ScoringRun).where(ScoringRun.trigger == "promotion"))

        rt.scoring_lock.acquire()  # a scoring job is running
        try:
            queued = [request_rescore(rt, None) for _ in range(5)]
        finally:
            rt.scoring_lock.release()
        assert queued == [True, False, False, False, False]
        wait_for(lambda: not rt.rescore_waiting and not rt.scoring_lock.locked() and promotion_runs() == 1, 120,
                 "the re-scoring")
        assert request_rescore(rt, None)
        wait_for(lambda: not rt.rescore_waiting and not rt.scoring_lock.locked() and promotion_runs() == 2, 120,
                 "the second re-scoring")
        assert promotion_runs() == 2


# ---- files only their owner reads --------------------------------------------------------------------------------


def test_the_database_key_and_checkpoint_files_are_private(tmp_path, hand_snapshot):
    home = tmp_path / "home"
    with start_service(f"sqlite:///{home / 'hazleads.db'}", tmp_path, hand_snapshot) as svc:
        svc.post("inv", "/v1/tips", TIP)
        settings = svc.rt.settings
        from serving import audit

        audit.write_checkpoint(svc.rt.db, settings.audit_checkpoint_path)
        made = [home / "hazleads.db", home / "hazleads.db-wal", home / "hazleads.db-shm", home / "audit.key",
                settings.audit_checkpoint_path]
        for path in made:
            assert path.exists(), path
            assert stat.S_IMODE(path.stat().st_mode) == 0o600, (path, oct(path.stat().st_mode))
        assert stat.S_IMODE(home.stat().st_mode) == 0o700
    loose = tmp_path / "loose.db"
    loose.touch(mode=0o644)
    loose.chmod(0o644)
    Database(f"sqlite:///{loose}").dispose()  # an existing database file others could read is closed to them
    assert stat.S_IMODE(loose.stat().st_mode) == 0o600
