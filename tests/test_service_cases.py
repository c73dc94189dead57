"""The case desk over the hand-built snapshot and lists (tests/service_support.py), on SQLite and
PostgreSQL: a lead taken, moved and concluded leaves the open list, which re-ranks at once; "我的线索";
county lines on every case route; the lists' new filters and sorts."""

from __future__ import annotations

from sqlalchemy import select

from serving.db.models import AuditEntry, CaseEvent
from serving.repo.outcomes import recorded_outcomes

E = "/v1/leads/enterprises"


def ids(r, key: str = "enterprise_id") -> list[str]:
    assert r.status_code == 200, r.text
    return [i[key] for i in r.json()["items"]]


def test_a_lead_taken_moved_and_concluded_leaves_the_open_list_which_re_ranks(service):
    assert ids(service.get("inv", E)) == ["E1", "E4", "E3", "E5", "E2"]
    r = service.post("inv_lingui", "/v1/cases/enterprise/E1", {"take": True, "due": "2021-04-10", "note": "去现场"})
    assert r.status_code == 200, r.text
    c = r.json()
    assert (c["status"], c["assignee"], c["due"], c["county"]) == ("核查中", "inv_lingui", "2021-04-10", "临桂区")
    assert ids(service.get("inv_lingui", "/v1/cases", params={"mine": True}), "entity_id") == ["E1"]
    assert service.get("inv", "/v1/cases", params={"mine": True}).json()["total"] == 0
    top = service.get("inv_lingui", E).json()["items"][0]
    assert (top["enterprise_id"], top["rank"], top["status"], top["assignee"]) == ("E1", 1, "核查中", "inv_lingui")
    assert ids(service.get("inv", E, params={"mine": True})) == []
    assert ids(service.get("inv_lingui", E, params={"mine": True})) == ["E1"]

    r = service.post("inv_lingui", "/v1/cases/enterprise/E1", {"status": "已立案", "note": "台账与联单不符"})
    assert r.json()["status"] == "已立案"
    r = service.post("inv_lingui", "/v1/outcomes", {"entity_kind": "enterprise", "entity_id": "E1", "outcome": "confirmed",
                                                    "violation": "dumping_3t", "tonnes": 4.2, "criminal": True})
    assert r.status_code == 201, r.text

    # concluded: gone from the open list, which re-ranks without a new scoring run
    items = service.get("inv", E).json()["items"]
    assert [(i["enterprise_id"], i["rank"], i["list_rank"]) for i in items] == [
        ("E4", 1, 2), ("E3", 2, 3), ("E5", 3, 4), ("E2", 4, 5)]
    assert [(i["enterprise_id"], i["rank"]) for i in service.get("inv_lingui", E).json()["items"]] == [("E5", 1)]
    done = service.get("inv", E, params={"status": "已结案-属实"}).json()["items"]
    assert [(i["enterprise_id"], i["list_rank"]) for i in done] == [("E1", 1)]
    case = service.get("inv_lingui", "/v1/cases/enterprise/E1").json()
    assert case["status"] == "已结案-属实" and not case["overdue"]
    assert [(h["action"], h["status_from"], h["status_to"], h["user"]) for h in case["history"]] == [
        ("take", "待核查", "核查中", "inv_lingui"), ("status", "核查中", "已立案", "inv_lingui"),
        ("outcome", "已立案", "已结案-属实", "inv_lingui")]
    assert case["history"][0]["note"] == "去现场"
    with service.rt.db.read() as s:  # outcomes still feed training, and every step is audited
        assert recorded_outcomes(s)[["enterprise_id", "outcome"]].values.tolist() == [["E1", "confirmed"]]
        actions = s.scalars(select(AuditEntry.action)).all()
        assert {"case.enterprise.take", "case.enterprise.status", "outcome.create.enterprise"} <= set(actions)

    # unfounded on the top tip: it leaves the tip list too
    assert ids(service.get("inv", "/v1/leads/tips"), "tip_id") == ["T3", "T2"]
    service.post("inv", "/v1/outcomes", {"entity_kind": "tip", "entity_id": "T3", "outcome": "unfounded"})
    tips = service.get("inv", "/v1/leads/tips").json()["items"]
    assert [(i["tip_id"], i["rank"]) for i in tips] == [("T2", 1)]


def test_case_routes_hold_county_lines_and_roles(service):
    for who, code in (("inv_yangshuo", 404), ("env", 403), ("auditor", 403)):
        assert service.get(who, "/v1/cases/enterprise/E1").status_code == code, who
        assert service.post(who, "/v1/cases/enterprise/E1", {"take": True}).status_code == code, who
    assert service.post("inv", "/v1/cases/enterprise/NOPE", {"take": True}).status_code == 404
    lingui, yangshuo = service.user_ids["inv_lingui"], service.user_ids["inv_yangshuo"]
    bad = service.post("inv", "/v1/cases/enterprise/E1", {"assignee_id": yangshuo})
    assert bad.status_code == 422 and "assignee_id" in bad.text
    env = service.user_ids["env"]
    assert service.post("inv", "/v1/cases/enterprise/E1", {"assignee_id": env}).status_code == 422
    assert service.post("inv", "/v1/cases/enterprise/E1", {"status": "立案"}).status_code == 422
    assert service.post("inv", "/v1/cases/enterprise/E1", {"assignee_id": lingui, "due": "2021-01-01"}).status_code == 200
    assert service.post("inv", "/v1/cases/enterprise/E4", {"take": True}).status_code == 200
    assert service.post("inv", "/v1/cases/site/S1", {"status": "核查中"}).status_code == 200
    assert sorted(ids(service.get("inv", "/v1/cases"), "entity_id")) == ["E1", "E4", "S1"]
    assert ids(service.get("inv_lingui", "/v1/cases"), "entity_id") == ["E1", "S1"]  # S1 is 临桂区's now; due first
    assert ids(service.get("inv_yangshuo", "/v1/cases"), "entity_id") == ["E4"]
    overdue = service.get("inv", "/v1/cases", params={"overdue": True}).json()["items"]
    assert [(c["entity_id"], c["overdue"]) for c in overdue] == [("E1", True)]
    names = [a["name"] for a in service.get("inv_lingui", "/v1/cases/assignees").json()["items"]]
    assert names == ["inv", "inv_lingui"]
    names = [a["name"] for a in service.get("inv", "/v1/cases/assignees", params={"county": "阳朔县"}).json()["items"]]
    assert names == ["inv", "inv_yangshuo"]
    untouched = service.get("inv", "/v1/cases/tip/T2").json()
    assert untouched["status"] == "待核查" and untouched["history"] == []
    with service.rt.db.read() as s:
        assert len(s.scalars(select(CaseEvent)).all()) == 3


def test_lists_sort_filter_and_search_by_name(service):
    assert ids(service.get("inv", E, params={"sort": "score"})) == ["E2", "E5", "E3", "E4", "E1"]
    assert ids(service.get("inv", E, params={"sort": "score", "desc": True})) == ["E1", "E4", "E3", "E5", "E2"]
    assert ids(service.get("inv", E, params={"sort": "county"})) == ["E2", "E1", "E5", "E4", "E3"]  # 七 临 阳 雁, then rank
    assert ids(service.get("inv", E, params={"name": "化工"})) == ["E1"]
    assert ids(service.get("inv", E, params={"name": "桂林"})) == ["E1", "E2"]
    assert ids(service.get("inv", E, params={"industry_name": "化学"})) == ["E1"]
    assert ids(service.get("inv", E, params={"industry_name": "修理"})) == ["E4"]
    assert ids(service.get("inv", E, params={"industry_name": "不存在的行业"})) == []
    assert ids(service.get("inv", E, params={"min_score": 0.3, "max_score": 0.8})) == ["E4", "E3", "E5"]
    item = service.get("inv", E).json()["items"][0]
    assert item["industry_name"] == "化学原料和化学制品制造业"
    service.post("inv", "/v1/cases/enterprise/E3", {"assignee_id": service.user_ids["inv"], "status": "已立案"})
    assert ids(service.get("inv", E, params={"status": "已立案"})) == ["E3"]
    assert ids(service.get("inv", E, params={"status": "待核查"})) == ["E1", "E4", "E5", "E2"]
    assert ids(service.get("inv", E, params={"assignee_id": service.user_ids["inv"]})) == ["E3"]
    assert ids(service.get("inv", E, params={"sort": "status", "desc": True}))[0] == "E3"
    assert ids(service.get("inv", E, params={"sort": "assignee"}))[0] == "E3"
    over = ids(service.get("inv", E, params={"over_3t": True}))
    totals = {i["enterprise_id"]: i["enterprise_unaccounted_t_365d"]
              for i in service.get("inv", "/v1/ledger-mismatch", params={"limit": 200}).json()["items"]}
    assert over == [e for e in ["E1", "E4", "E3", "E5", "E2"] if totals.get(e, 0) >= 3.0]
    assert over  # the hand-built ledgers put at least one enterprise over 3 t
