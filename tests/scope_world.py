"""A small world for the redaction and jurisdiction tests (tests/test_service_scope.py): the hand-built
snapshot of ``service_support`` with tips that cross county lines, informants in two counties, a tip,
a site and outcomes without any county, a site whose county changes between two lists, and reasons
and evidence that point at other counties' enterprises and at an informant's tip.

It comes in two variants, ``A`` and ``B``, that differ only in what readers not entitled to
informants must never learn: which enterprise informant tip T2 names (E1, a C2662 HW08 producer, or
E5, a C3360 HW17 producer, both in 临桂区), the words of the informant tips and the notes of the
outcomes recorded against them. Every answer to such a reader must be the same in both.
"""

from __future__ import annotations

import contextlib
import json
from pathlib import Path

import pandas as pd

from tests.service_support import (
    AS_OF,
    EARLIER,
    ENTERPRISES,
    STOP_LAT,
    STOP_LON,
    start_service,
    write_service_snapshot,
)

NAMED = {"A": "E1", "B": "E5"}  # the enterprise informant tip T2 names
SECRET = {"A": "线人甲在车间看见", "B": "线人乙听仓库的人说"}  # informant text: never shown to the unentitled
NOTE = {"A": "约谈线人王某", "B": "约谈线人李某"}  # notes of outcomes recorded against informant tips
INFORMANT_REASON = "近12个月有 1 条内部知情人举报"  # features.network informant_tips_365d, rendered
INFORMANT_REASON_EN = "1 insider tips in the last 12 months"
COUNTY = {"E1": "临桂区", "E2": "七星区", "E3": "雁山区", "E4": "阳朔县", "E5": "临桂区"}

USERS = {  # name: (role, county)
    "admin": ("admin", None), "inv": ("investigator", None), "inv_lingui": ("investigator", "临桂区"),
    "inv_yangshuo": ("investigator", "阳朔县"), "inv_qixing": ("investigator", "七星区"),
    "inv_yanshan": ("investigator", "雁山区"), "env": ("env_bureau", None), "env_lingui": ("env_bureau", "临桂区"),
    "auditor": ("auditor", None),
}
ENTITLED = {"admin", "inv"}  # see informant tips in full


def tips_csv(variant: str) -> str:
    named, secret = NAMED[variant], SECRET[variant]
    return f"""tip_id,received_at,channel,text,lat,lon,county,enterprise_id
T1,2021-02-11T20:15:00,12369,"有人夜里往河边倒黑色的油，味道很大",24.79,110.48,阳朔县,E4
T2,2021-02-12T08:00:00,informant,{secret}厂里偷偷把废液拉走,,,,{named}
T3,2021-02-19T07:30:00,online,河边半夜有货车停了很久,25.101,110.341,七星区,
T4,2021-02-20T09:00:00,other,听说有人乱倒东西,,,,
T5,2021-02-21T10:00:00,12369,隔壁县的工厂车辆夜里出入频繁,,,七星区,E1
T6,2021-02-22T22:00:00,informant,{secret}汽修厂把废机油倒进溶洞,24.781,110.489,阳朔县,E4
T7,2021-02-23T06:00:00,online,河边也看到货车停着,25.108,110.349,雁山区,
"""


def write_world(folder: Path, variant: str) -> Path:
    path = write_service_snapshot(folder)
    (path / "tips.csv").write_text(tips_csv(variant), encoding="utf-8")
    assert "E5" in ENTERPRISES
    return path


def _reasons(*texts: str) -> str:
    return json.dumps(list(texts), ensure_ascii=False)


def lead_set(hand: dict, variant: str, as_of: str):
    """Hand-written lists at ``as_of`` (the later list files site S9 under 阳朔县, the earlier under 临桂区)."""
    from training.score import LeadSet

    named = NAMED[variant]
    later = as_of == AS_OF

    def ent(e: str, score: float, rank: int, *why: str, en: tuple[str, ...] = ()) -> dict:
        return {"as_of": as_of, "enterprise_id": e, "score": score, "rank": rank, "model_rank": rank,
                "exploration": False, "inclusion_prob": 1.0,
                "reasons": _reasons(f"{e} 台账缺口", *why), "reasons_en": _reasons(f"{e} ledger gap", *en)}

    informant = ((INFORMANT_REASON,), (INFORMANT_REASON_EN,))
    enterprises = pd.DataFrame([
        ent("E1", 0.9, 1, "9.0 吨危废交给无该类别许可的单位（联单 M2，接收方 E3）", *(informant[0] if named == "E1" else ()),
            en=("9.0 t handed to receivers not licensed for the code (manifest M2, receiver E3)",
                *(informant[1] if named == "E1" else ()))),
        ent("E4", 0.8, 2), ent("E3", 0.5, 3),
        ent("E5", 0.4, 4, *(informant[0] if named == "E5" else ()), en=informant[1] if named == "E5" else ()),
        ent("E2", 0.1, 5, "2 个合作承运/接收单位涉及已查实案件（如 E4）", en=("2 partners linked to confirmed cases (e.g. E4)",)),
    ])

    def tip(t: str, score: float, rank: int, ents: str, vehicles: str, *why: str) -> dict:
        return {"as_of": as_of, "tip_id": t, "score": score, "rank": rank, "model_rank": rank, "exploration": False,
                "inclusion_prob": 1.0, "enterprise_ids": ents, "vehicle_ids": vehicles,
                "reasons": _reasons(*why), "reasons_en": _reasons(*why)}

    tips = pd.DataFrame([
        tip("T3", 0.7, 1, "", "桂C12345", "附近有夜间停车"),
        tip("T2", 0.65, 2, named, "", f"点名企业 {named}", "来自informant渠道"),
        tip("T5", 0.6, 3, "E1", "", "点名企业 E1"),
        tip("T6", 0.55, 4, "E4", "桂C54321", "点名企业 E4", "来自informant渠道"),
        tip("T7", 0.5, 5, "E3", "", "7天内附近另有 1 条举报"),
        tip("T1", 0.45, 6, "E4", "", "点名企业 E4"),
        tip("T4", 0.2, 7, "", "", "举报 8 字"),
    ])

    def site(s: str, lat, lon, ents: str, score: float, rank: int) -> dict:
        return {"as_of": as_of, "site_id": s, "lat": lat, "lon": lon, "score": score, "rank": rank, "model_rank": rank,
                "exploration": False, "inclusion_prob": 1.0, "vehicle_ids": "桂C12345", "enterprise_ids": ents,
                "reasons": _reasons(f"{s} 夜间停留"), "reasons_en": _reasons(f"{s} night stop")}

    sites = pd.DataFrame([
        site("S1", STOP_LAT, STOP_LON, "E1;E4", 0.9, 1),
        site("S2", 24.70, 110.52, "E4", 0.3, 2),
        site("S3", None, None, "", 0.25, 3),  # no place and no linked enterprise: no county
        site("S9", 25.00, 110.40, "E4" if later else "E1", 0.2, 4),  # 阳朔县 in the later list, 临桂区 in the earlier
    ])
    fs = hand["features"]
    return LeadSet(pd.Timestamp(as_of), enterprises, tips, sites, fs.ledger_mismatch, {"enterprise": "7", "tip": "7"},
                   hand["digest"], "rules", fs)


EVIDENCE = {  # pointers the scorer could have written: other counties' enterprises, an informant's tip
    ("enterprise", "E1"): {"partners_with_confirmed_cases_365d": {"value": 1.0, "partner_id": "E3"}},
    ("tip", "T7"): {"tip_similar_7d": {"value": 1.0, "group": "T3"}},
    ("tip", "T1"): {"tip_similar_7d": {"value": 1.0, "group": "T6"}},
    ("site", "S1"): {"site_linked_producers_365d": {"value": 2.0, "enterprise_ids": "E1;E4"}},
}


def store(rt, hand: dict, variant: str) -> None:
    from sqlalchemy import select

    from serving.db.models import Lead
    from serving.repo import runs

    pointers = dict(EVIDENCE)
    pointers[("enterprise", NAMED[variant])] = {**pointers.get(("enterprise", NAMED[variant]), {}),
                                                "informant_tips_365d": {"value": 1.0}}
    with rt.db.write() as s:
        runs.store(s, lead_set(hand, variant, EARLIER), rt.ctx, "history", 0.1, with_mismatch=False)
        leads = lead_set(hand, variant, AS_OF)
        runs.store(s, leads, rt.ctx, "start", 0.1, with_mismatch=True)
        runs.sync_snapshot_tips(s, hand["snapshot"], rt.ctx, leads.tip, "7")
        for (kind, entity), ev in pointers.items():
            for lead in s.scalars(select(Lead).where(Lead.kind == kind, Lead.entity_id == entity)):
                lead.evidence = json.dumps({**json.loads(lead.evidence or "{}"), **ev}, ensure_ascii=False)


def make_users(rt) -> tuple[dict[str, str], dict[str, int]]:
    from serving.auth import create_user

    tokens, ids = {}, {}
    with rt.db.write() as s:
        for name, (role, county) in USERS.items():
            user, tokens[name] = create_user(s, name, role, county)
            ids[name] = user.id
    return tokens, ids


OUTCOMES = [  # (who records it, body): one per kind of row a reader could trip over
    ("admin", {"entity_kind": "tip", "entity_id": "T2", "outcome": "confirmed", "violation": "dumping_3t",
               "tonnes": 4.0, "opened": "2021-03-01", "note": "NOTE"}),
    ("admin", {"entity_kind": "tip", "entity_id": "T6", "outcome": "open", "opened": "2021-03-02", "note": "NOTE"}),
    ("inv_qixing", {"entity_kind": "tip", "entity_id": "T5", "outcome": "unfounded", "opened": "2021-03-03",
                    "note": "七星区核查"}),
    ("admin", {"entity_kind": "tip", "entity_id": "T4", "outcome": "open", "opened": "2021-03-04", "note": "无县"}),
    ("inv_yangshuo", {"entity_kind": "site", "entity_id": "S9", "outcome": "open", "opened": "2021-03-05"}),
    ("admin", {"entity_kind": "site", "entity_id": "S3", "outcome": "open", "opened": "2021-03-05"}),
    ("inv_yangshuo", {"entity_kind": "enterprise", "entity_id": "E4", "outcome": "open", "opened": "2021-03-06"}),
    ("inv_lingui", {"entity_kind": "enterprise", "entity_id": "E1", "outcome": "open", "opened": "2021-03-07"}),
]


@contextlib.contextmanager
def start_world(db_url: str, home: Path, hand: dict, variant: str):
    """The service over world ``variant`` with its lists, users and outcomes (recorded through the API)."""
    with start_service(db_url, home, hand, lists=False, users=False) as h:
        store(h.rt, hand, variant)
        h.tokens, h.user_ids = make_users(h.rt)
        h.variant = variant
        for who, body in OUTCOMES:
            body = {**body, "note": NOTE[variant]} if body.get("note") == "NOTE" else body
            r = h.post(who, "/v1/outcomes", body)
            assert r.status_code == 201, (who, body, r.text)
        yield h
