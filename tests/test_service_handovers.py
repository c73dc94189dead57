"""Handovers between the environment bureau and the police, over the hand-built snapshot and lists,
on SQLite and PostgreSQL: findings recorded, a case handed over with its evidence file, accepted or
returned, the time since handover flagged past the legal limit; roles and county lines; every step audited."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select

from serving.db.models import AuditEntry, Handover

H = "/v1/handovers"
HAND = {"enterprise_id": "E1", "findings": ["罚款", "移送公安"], "fine_yuan": 200000, "tonnes": 4.5,
        "note": "台账缺口超过3吨", "evidence": ["桂环罚〔2021〕12号", "采样报告 S-03"]}


def test_the_bureau_hands_a_case_over_and_the_police_accept_it(service):
    r = service.post("env_lingui", H, {"enterprise_id": "E5", "findings": ["整改"], "note": "限期整改"})
    assert r.status_code == 201, r.text
    assert (r.json()["status"], r.json()["days_since_handover"], r.json()["overdue"]) == ("recorded", None, False)
    assert service.get("inv", "/v1/cases/enterprise/E5").json()["status"] == "待核查"  # findings alone move nothing

    r = service.post("env_lingui", H, HAND)
    assert r.status_code == 201, r.text
    h = r.json()
    assert (h["status"], h["findings"], h["fine_yuan"], h["county"], h["limit_days"]) == (
        "handed", ["罚款", "移送公安"], 200000, "临桂区", 3)
    ev = h["evidence"]
    assert ev["pointers"] == HAND["evidence"] and ev["ledger_mismatch"] and all(
        set(m) >= {"month", "waste_code", "unaccounted_t"} for m in ev["ledger_mismatch"])
    assert 0 <= h["days_since_handover"] < 0.01 and not h["overdue"]
    assert service.get("inv_lingui", "/v1/cases/enterprise/E1").json()["status"] == "已移送"

    # four days pass without a decision: flagged past the three-day limit
    with service.rt.db.write() as s:
        row = s.get(Handover, h["id"])
        row.recorded_at = row.recorded_at - dt.timedelta(days=4)
    late = service.get("inv_lingui", f"{H}/{h['id']}").json()
    assert late["overdue"] and 4.0 <= late["days_since_handover"] < 4.01
    assert [x["id"] for x in service.get("inv", H, params={"overdue": True}).json()["items"]] == [h["id"]]

    r = service.post("inv_lingui", f"{H}/{h['id']}/accept", {"note": "已受理"})
    assert r.status_code == 200, r.text
    assert (r.json()["status"], r.json()["decided_by"], r.json()["overdue"]) == ("accepted", "inv_lingui", True)
    assert service.post("inv_lingui", f"{H}/{h['id']}/accept", {}).status_code == 409
    assert service.post("inv_lingui", f"{H}/{h['id']}/return", {"reason": "证据不足"}).status_code == 409
    case = service.get("inv_lingui", "/v1/cases/enterprise/E1").json()
    assert case["status"] == "已立案"
    assert [x["action"] for x in case["history"]] == ["handover", "accept"]
    assert service.get("inv", H, params={"overdue": True}).json()["items"] == []
    with service.rt.db.read() as s:
        actions = s.scalars(select(AuditEntry.action).where(AuditEntry.action.like("handover.%"))).all()
    assert actions.count("handover.create") == 2 and actions.count("handover.accept") == 1


def test_a_returned_case_goes_back_with_its_reason(service):
    hid = service.post("env", H, {**HAND, "enterprise_id": "E4"}).json()["id"]
    assert service.post("inv_lingui", f"{H}/{hid}/return", {"reason": "证据不足"}).status_code == 404
    r = service.post("inv_yangshuo", f"{H}/{hid}/return", {"reason": "证据不足，缺少处置去向"})
    assert r.status_code == 200 and r.json()["reason"] == "证据不足，缺少处置去向" and r.json()["status"] == "returned"
    case = service.get("inv", "/v1/cases/enterprise/E4").json()
    assert case["status"] == "核查中" and "证据不足" in case["history"][-1]["note"]


def test_handover_roles_and_county_lines(service):
    assert service.post("inv", H, HAND).status_code == 403  # the police do not hand over to themselves
    assert service.post("auditor", H, HAND).status_code == 403
    assert service.get("auditor", H).status_code == 403
    assert service.post("env_lingui", H, {**HAND, "enterprise_id": "E4"}).status_code == 404
    assert service.post("env_lingui", H, {**HAND, "fine_yuan": None}).status_code == 422
    assert service.post("env_lingui", H, {**HAND, "findings": ["整改", "整改"]}).status_code == 422
    hid = service.post("env_lingui", H, HAND).json()["id"]
    assert service.post("env_lingui", f"{H}/{hid}/accept", {}).status_code == 403  # the bureau does not accept
    assert service.get("inv_yangshuo", f"{H}/{hid}").status_code == 404
    assert service.get("inv_yangshuo", H).json()["total"] == 0
    assert service.post("inv_yangshuo", f"{H}/{hid}/accept", {}).status_code == 404
    assert service.get("env_lingui", H).json()["total"] == 1 == service.get("env", H).json()["total"]
