"""A hand-built snapshot and lead lists for the service tests: five enterprises in four counties,
three tips (one from an informant), one night stop by the river while a manifest's load was on
board, and lead lists whose every number is written here."""

from __future__ import annotations

import contextlib
import json
import os
from pathlib import Path

import pandas as pd

from tests.minimal_snapshot import TABLES, write_minimal

ENTERPRISES = """enterprise_id,name,credit_code,industry_code,county,lat,lon,park,key_discharge_unit,roles,employees,opened
E1,桂林市某化工有限公司,91450300MA5K000001,C2662,临桂区,25.24,110.20,临桂工业园,是,producer,120,2015-03-01
E2,桂林某运输有限公司,91450300MA5K000002,G5430,七星区,25.28,110.32,,false,transporter,40,2012-06-15
E3,广西某环保处置有限公司,91450300MA5K000003,N7724,雁山区,25.06,110.30,,yes,receiver,80,2010-01-10
E4,阳朔县某汽修厂,,O8111,阳朔县,24.78,110.49,,0,producer,8,
E5,临桂某电镀厂,,C3360,临桂区,25.22,110.18,临桂工业园,否,producer,30,2018-01-01
"""
TIPS = """tip_id,received_at,channel,text,lat,lon,county,enterprise_id
T1,2021-02-11T20:15:00,12369,"有人夜里往河边倒黑色的油，味道很大",24.79,110.48,阳朔县,E4
T2,2021-02-12T08:00:00,informant,内部人员反映厂里偷偷把废液拉走,,,,E1
T3,2021-02-19T07:30:00,online,河边半夜有货车停了很久,25.101,110.341,七星区,
"""
STOP_LAT, STOP_LON = 25.10, 110.34  # by the river 漓江, far from every enterprise
COUNTY = {"E1": "临桂区", "E2": "七星区", "E3": "雁山区", "E4": "阳朔县", "E5": "临桂区"}


def trajectories() -> str:
    """The carrier's truck: leaves E1 with manifest M2's load, stops 40 minutes at night by the river."""
    rows = ["vehicle_id,ts,lat,lon,speed_kmh"]
    t = pd.Timestamp("2021-02-18T08:30:00")
    for i in range(6):  # at E1
        rows.append(f"桂C12345,{t + pd.Timedelta(seconds=30 * i):%Y-%m-%dT%H:%M:%S},25.2400,110.2000,0")
    t = pd.Timestamp("2021-02-18T22:00:00")
    for i in range(81):  # 40 minutes by the river
        rows.append(f"桂C12345,{t + pd.Timedelta(seconds=30 * i):%Y-%m-%dT%H:%M:%S},{STOP_LAT + (i % 3) * 1e-5:.5f},{STOP_LON:.5f},0")
    rows.append("桂C12345,2021-02-18T22:41:00,25.1100,110.3500,40")
    rows.append("桂C54321,2021-02-10T10:00:00,24.7800,110.4900,0")
    return "\n".join(rows) + "\n"


def write_service_snapshot(folder: Path) -> Path:
    cases = TABLES["cases"] + "C3,2021-04-01,E5,,open,,,\n"  # the snapshot's last day: M2 unconfirmed 42 days
    ledgers = TABLES["ledgers"] + "E5,2021-01,336-064-17,6.0,0.0,0.0,1.0\nE5,2021-02,336-064-17,6.0,0.0,0.0,1.0\n"
    electricity = TABLES["electricity"] + "E5,2021-01-01,500,50\nE5,2021-02-01,500,50\n"
    return write_minimal(folder, tables={"enterprises": ENTERPRISES, "tips": TIPS, "trajectories": trajectories(),
                                         "ledgers": ledgers, "electricity": electricity, "cases": cases})


def _reasons(*texts: str) -> str:
    return json.dumps(list(texts), ensure_ascii=False)


def enterprise_list(as_of: str, scores: dict[str, float], explore: str | None = None) -> pd.DataFrame:
    order = sorted(scores, key=lambda e: -scores[e])
    rows = []
    for rank, e in enumerate(order, start=1):
        exp = e == explore
        rows.append({"as_of": as_of, "enterprise_id": e, "score": scores[e], "rank": rank,
                     "reasons": _reasons(f"{e} 台账缺口", *(["探索性抽样"] if exp else [])),
                     "reasons_en": _reasons(f"{e} ledger gap", *(["exploration draw"] if exp else [])),
                     "exploration": exp, "inclusion_prob": 0.5 if exp else 1.0, "model_rank": rank})
    return pd.DataFrame(rows)


def lead_set(snapshot, features, digest: str, as_of: str, scores: dict[str, float], version: str = "7"):
    """A ``LeadSet`` built by hand (the scorer's columns), stored through the service's own functions."""
    from training.score import LeadSet

    tips = pd.DataFrame([
        {"as_of": as_of, "tip_id": "T3", "score": 0.7, "rank": 1, "reasons": _reasons("附近有夜间停车"),
         "reasons_en": _reasons("a night stop nearby"), "exploration": False, "inclusion_prob": 1.0, "model_rank": 1,
         "enterprise_ids": "", "vehicle_ids": "桂C12345"},
        {"as_of": as_of, "tip_id": "T2", "score": 0.6, "rank": 2, "reasons": _reasons("点名企业 E1 台账缺口"),
         "reasons_en": _reasons("named enterprise E1 has a ledger gap"), "exploration": False, "inclusion_prob": 1.0,
         "model_rank": 2, "enterprise_ids": "E1", "vehicle_ids": ""},
    ])
    sites = pd.DataFrame([
        {"as_of": as_of, "site_id": "S1", "lat": STOP_LAT, "lon": STOP_LON, "score": 0.9, "rank": 1,
         "reasons": _reasons("夜间载货停留，距漓江不足 100 米"), "reasons_en": _reasons("a loaded night stop by the Li river"),
         "exploration": False, "inclusion_prob": 1.0, "model_rank": 1, "vehicle_ids": "桂C12345", "enterprise_ids": "E1;E4"},
        {"as_of": as_of, "site_id": "S2", "lat": 24.70, "lon": 110.52, "score": 0.3, "rank": 2,
         "reasons": _reasons("停留"), "reasons_en": _reasons("a stop"), "exploration": False, "inclusion_prob": 1.0,
         "model_rank": 2, "vehicle_ids": "桂C54321", "enterprise_ids": "E4"},
    ])
    return LeadSet(pd.Timestamp(as_of), enterprise_list(as_of, scores, explore="E5"), tips, sites,
                   features.ledger_mismatch, {"enterprise": version, "tip": version}, digest, "rules", features)


# ---- a running service over this snapshot -------------------------------------------------------

USERS = {  # name: (role, county)
    "admin": ("admin", None), "inv": ("investigator", None), "inv_lingui": ("investigator", "临桂区"),
    "inv_yangshuo": ("investigator", "阳朔县"), "env": ("env_bureau", None), "env_lingui": ("env_bureau", "临桂区"),
    "auditor": ("auditor", None),
}
AS_OF = "2021-04-01"
EARLIER = "2021-03-31"
SCORES = {"E1": 0.9, "E4": 0.8, "E3": 0.5, "E5": 0.4, "E2": 0.1}
EARLIER_SCORES = {"E1": 0.6, "E4": 0.85, "E3": 0.3, "E5": 0.2, "E2": 0.1}


class Harness:
    def __init__(self, client, app, tokens: dict[str, str], user_ids: dict[str, int]) -> None:
        self.client, self.app, self.tokens, self.user_ids = client, app, tokens, user_ids

    @property
    def rt(self):
        return self.app.state.runtime

    def headers(self, who: str | None) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[who]}"} if who else {}

    def get(self, who: str | None, path: str, **kw):
        return self.client.get(path, headers={**self.headers(who), **kw.pop("headers", {})}, **kw)

    def post(self, who: str | None, path: str, json=None, **kw):
        return self.client.post(path, json=json, headers={**self.headers(who), **kw.pop("headers", {})}, **kw)

    def request(self, who: str | None, method: str, path: str, **kw):
        return self.client.request(method, path, headers={**self.headers(who), **kw.pop("headers", {})}, **kw)


def store_lists(rt, hand: dict) -> None:
    from serving.repo import runs

    with rt.db.write() as s:
        runs.store(s, lead_set(hand["snapshot"], hand["features"], hand["digest"], EARLIER, EARLIER_SCORES), rt.ctx,
                   "history", 0.1, with_mismatch=False)
        leads = lead_set(hand["snapshot"], hand["features"], hand["digest"], AS_OF, SCORES)
        runs.store(s, leads, rt.ctx, "start", 0.1, with_mismatch=True)
        runs.sync_snapshot_tips(s, hand["snapshot"], rt.ctx, leads.tip, "7")


def make_users(rt) -> tuple[dict[str, str], dict[str, int]]:
    from serving.auth import create_user

    tokens, ids = {}, {}
    with rt.db.write() as s:
        for name, (role, county) in USERS.items():
            user, tokens[name] = create_user(s, name, role, county)
            ids[name] = user.id
    return tokens, ids


@contextlib.contextmanager
def mlflow_env_kept():
    """``training.registry.configure`` exports the first tracking URI it sees to the environment;
    keep that from leaking into later tests (which would then use this test's MLflow store)."""
    before = os.environ.get("MLFLOW_TRACKING_URI")
    try:
        yield
    finally:
        if before is None:
            os.environ.pop("MLFLOW_TRACKING_URI", None)
        else:
            os.environ["MLFLOW_TRACKING_URI"] = before


def drop_keys(node, keys):
    """A JSON value without the object members named in ``keys`` (clocks, ids), at any depth."""
    if isinstance(node, dict):
        return {k: drop_keys(v, keys) for k, v in node.items() if k not in keys}
    if isinstance(node, list):
        return [drop_keys(v, keys) for v in node]
    return node


@contextlib.contextmanager
def start_service(db_url: str, home: Path, hand: dict, lists: bool = True, users: bool = True,
                  settings: dict | None = None, **app_kw):
    """The app on ``db_url`` serving the hand-built snapshot (no models: lists stored by hand);
    ``settings``: values of the settings object beyond home, database and MLflow store."""
    from fastapi.testclient import TestClient

    from hazleads.settings import Settings
    from serving.app import create_app

    # one (empty) MLflow store for every such service of the session, named explicitly: the registry
    # exports the first tracking URI it sees to the environment
    settings = Settings(home=home / "home", database_url=db_url, mlflow_tracking_uri=hand["mlflow_uri"], **(settings or {}))
    app = create_app(settings, data=hand["path"], warm="off", watch_interval_s=0, **app_kw)
    with mlflow_env_kept(), TestClient(app, raise_server_exceptions=False) as client:
        rt = app.state.runtime
        rt.use_snapshot(hand["snapshot"], hand["path"], hand["digest"], hand["places"])
        rt.features = hand["features"]
        rt.phase = "ready"
        if lists:
            store_lists(rt, hand)
        tokens, ids = make_users(rt) if users else ({}, {})
        try:
            yield Harness(client, app, tokens, ids)
        finally:
            for lock in (rt.training_lock, rt.scoring_lock):  # let background jobs end before the database goes
                if lock.acquire(timeout=60):
                    lock.release()
