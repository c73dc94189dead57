"""The API endpoint by endpoint, over the hand-built snapshot and lists (tests/service_support.py),
on SQLite and PostgreSQL."""

from __future__ import annotations

from sqlalchemy import select

from serving.db.models import AuditEntry, Outcome
from serving.repo.outcomes import recorded_outcomes
from tests.service_support import AS_OF, EARLIER, start_service

E = "/v1/leads/enterprises"


def test_enterprise_list_is_ranked_with_reasons_run_and_evidence(service):
    r = service.get("inv", E)
    assert r.status_code == 200
    body = r.json()
    assert body["total"] == 5 and body["run"]["as_of"] == AS_OF and body["run"]["model_version"] == "7"
    assert [i["enterprise_id"] for i in body["items"]] == ["E1", "E4", "E3", "E5", "E2"]
    assert [i["rank"] for i in body["items"]] == [1, 2, 3, 4, 5]
    first = body["items"][0]
    assert first["reasons"] == ["E1 台账缺口"] and first["county"] == "临桂区" and first["name"].startswith("桂林")
    e5 = body["items"][3]  # the exploration entry: the service writes the note (model rank 4 city-wide)
    assert e5["exploration"] and e5["reasons"][0] == "E5 台账缺口" and "第4位" in e5["reasons"][-1]
    en = service.get("inv", E, params={"lang": "en"}).json()["items"][0]
    assert en["reasons"] == ["E1 ledger gap"]


def test_enterprise_list_filters_and_bounded_pages(service):
    def ids(**params):
        r = service.get("inv", E, params=params)
        assert r.status_code == 200, r.text
        return [i["enterprise_id"] for i in r.json()["items"]]

    assert ids(county="临桂区") == ["E1", "E5"]
    assert ids(industry="C26") == ["E1"]
    assert ids(category="HW08") == ["E1", "E4", "E3", "E2"]  # producers, the receiver and the carrier of HW08
    assert ids(category="HW17") == ["E5"]
    assert ids(min_score=0.5) == ["E1", "E4", "E3"]
    assert ids(exploration="true") == ["E5"]
    assert ids(limit=2, offset=1) == ["E4", "E3"]
    assert ids(as_of=EARLIER) == ["E4", "E1", "E3", "E5", "E2"]
    for bad in ({"limit": 201}, {"limit": 0}, {"offset": -1}, {"industry": "C%"}, {"category": "HW8"},
                {"min_score": 2}):
        assert service.get("inv", E, params=bad).status_code == 422, bad
    r = service.get("inv", E, params={"as_of": "2020-01-31"})
    assert r.status_code == 404 and AS_OF in r.json()["detail"]


def test_county_investigator_sees_only_the_county_ranked_within_it(service):
    body = service.get("inv_lingui", E).json()
    assert body["total"] == 2
    assert [(i["enterprise_id"], i["rank"]) for i in body["items"]] == [("E1", 1), ("E5", 2)]
    assert "第2位" in body["items"][1]["reasons"][-1]  # exploration note ranks within the county
    other = service.get("inv_lingui", E, params={"county": "阳朔县"}).json()
    assert other["total"] == 0 and other["items"] == []
    sites = service.get("inv_lingui", "/v1/leads/sites").json()
    assert [s["site_id"] for s in sites["items"]] == ["S1"] and sites["items"][0]["enterprise_ids"] == ["E1"]
    assert service.get("inv_yangshuo", "/v1/leads/sites").json()["items"][0]["site_id"] == "S2"


def test_enterprise_detail_has_history_ledger_manifests_stops_and_map(service):
    r = service.get("inv", "/v1/enterprises/E1")
    assert r.status_code == 200, r.text
    d = r.json()
    assert d["profile"]["county"] == "临桂区" and d["profile"]["roles"] == ["producer"]
    assert d["score"] == 0.9 and d["rank"] == 1 and d["reasons"] == ["E1 台账缺口"]
    assert [(h["as_of"], h["score"]) for h in d["history"]] == [(EARLIER, 0.6), (AS_OF, 0.9)]
    assert {(m["month"], m["waste_code"]) for m in d["ledger"]} == {("2021-01", "900-214-08"), ("2021-02", "900-214-08")}
    m2 = next(m for m in d["manifests"] if m["manifest_id"] == "M2")
    assert "unconfirmed_30d" in m2["flags"] and d["manifests_total"] == 2
    assert len(d["stops"]) == 1 and d["stops"][0]["manifest_id"] == "M2" and "night" in d["stops"][0]["why"]
    layers = {(f["properties"]["layer"], f["geometry"]["type"]) for f in d["map"]["features"]}
    assert {("enterprise", "Point"), ("stop", "Point"), ("track", "LineString"), ("place", "LineString")} <= layers
    assert [(p["month"], p["kwh"], p["generated_t"]) for p in d["power"]] == [("2021-01", 2380.5, 10.0), ("2021-02", None, 10.0)]
    assert d["tips"] == [{"tip_id": "T2", "received_at": "2021-02-12T08:00:00+08:00", "channel": "informant", "score": 0.6}]
    assert service.get("inv", "/v1/enterprises/E1", params={"as_of": EARLIER}).json()["score"] == 0.6


def test_outside_the_county_is_exactly_like_missing(service):
    outside = service.get("inv_lingui", "/v1/enterprises/E4")
    missing = service.get("inv_lingui", "/v1/enterprises/NOPE")
    assert outside.status_code == missing.status_code == 404
    assert outside.json()["detail"].replace("E4", "X") == missing.json()["detail"].replace("NOPE", "X")
    assert service.get("inv_lingui", "/v1/sites/S2").status_code == 404
    assert service.get("inv_lingui", "/v1/tips/T1").status_code == 404
    assert service.get("env_lingui", "/v1/enterprises/E1").status_code == 200


def test_env_bureau_gets_enterprise_detail_and_mismatch_but_never_tips(service):
    d = service.get("env", "/v1/enterprises/E1").json()
    assert d["tips"] is None and d["outcomes"] is None and d["ledger"]
    for path in ("/v1/tips", "/v1/tips/T3", "/v1/leads/tips", "/v1/leads/enterprises", "/v1/sites/S1"):
        assert service.get("env", path).status_code == 403, path
    assert service.get("env", "/v1/ledger-mismatch").status_code == 200


def test_ledger_mismatch_rows_filters_and_the_3t_flag(service):
    r = service.get("env", "/v1/ledger-mismatch", params={"enterprise_id": "E1"})
    assert r.status_code == 200
    rows = {(i["month"]): i for i in r.json()["items"]}
    feb = rows["2021-02"]  # declared 9 t transferred, manifest M2 9 t never received (more than 30 days): 9 t missing
    assert feb["receipt_gap_t"] == 9.0 and feb["over_3t"] and feb["enterprise_over_3t"]
    assert feb["unaccounted_t"] >= 3
    assert service.get("env", "/v1/ledger-mismatch", params={"over_3t": "row"}).json()["total"] >= 1
    small = service.get("env", "/v1/ledger-mismatch", params={"enterprise_id": "E4"}).json()["items"]
    assert small and not any(i["enterprise_over_3t"] for i in small)
    assert service.get("env_lingui", "/v1/ledger-mismatch", params={"enterprise_id": "E4"}).json()["total"] == 0
    assert service.get("env", "/v1/ledger-mismatch", params={"min_gap_t": 100}).json()["total"] == 0
    assert service.get("env", "/v1/ledger-mismatch", params={"month_from": "2021-13"}).status_code == 422


def test_ledger_mismatch_exports_excel_csv_with_the_same_filters(service):
    r = service.get("env_lingui", "/v1/ledger-mismatch/export", params={"over_3t": "enterprise"})
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    assert r.content.startswith("\ufeff".encode()) and "attachment" in r.headers["content-disposition"]
    lines = r.content.decode("utf-8-sig").splitlines()
    assert lines[0].startswith("as_of,name,enterprise_id,county,month")
    assert {x.split(",")[2] for x in lines[1:]} == {"E1", "E5"}  # the county's enterprises over 3 t, nothing else
    page = service.get("env_lingui", "/v1/ledger-mismatch", params={"over_3t": "enterprise"}).json()
    assert page["total"] == len(lines) - 1


def test_informant_tips_redacted_unless_entitled(service):
    county = service.get("inv_lingui", "/v1/tips").json()
    assert [t["tip_id"] for t in county["items"]] == ["T2"]  # it exists in the county ...
    t2 = county["items"][0]
    assert t2["redacted"] and t2["text"] is None and t2["enterprise_id"] is None and t2["reasons"] == []
    detail = service.get("inv_lingui", "/v1/tips/T2").json()
    assert detail["redacted"] and detail["corroboration"] is None and detail["enterprise_ids"] == []
    lead = service.get("inv_lingui", "/v1/leads/tips").json()["items"]
    assert lead[0]["tip_id"] == "T2" and lead[0]["redacted"] and lead[0]["reasons"] == []
    for who in ("inv", "admin"):  # ... but only the entitled read it
        full = service.get(who, "/v1/tips/T2").json()
        assert not full["redacted"] and "废液" in full["text"] and full["enterprise_id"] == "E1"
    assert service.get("inv_lingui", "/v1/enterprises/E1").json()["tips"] == []  # the link names the informant's target


def test_snapshot_tip_detail_with_corroboration(service):
    d = service.get("inv", "/v1/tips/T3").json()
    assert d["score"] == 0.7 and d["status"] == "open" and d["county"] == "七星区"
    stops = d["corroboration"]["stops_nearby"]
    assert len(stops) == 1 and stops[0]["vehicle_id"] == "桂C12345" and stops[0]["distance_m"] < 200
    assert service.get("inv", "/v1/tips/T1").json()["status"] == "investigated"  # case C1


def test_tip_intake_stores_and_answers_without_a_model(service):
    body = {"channel": "12369", "text": "河边夜里有车倒东西", "lat": 24.79, "lon": 110.48, "enterprise_id": "E4",
            "received_at": "2021-03-04T21:00:00+08:00"}
    r = service.post("inv_yangshuo", "/v1/tips", body)
    assert r.status_code == 201, r.text
    tip = r.json()
    assert tip["county"] == "阳朔县" and tip["source"] == "intake" and tip["score"] is None  # no tip model here
    assert tip["received_at"] == "2021-03-04T21:00:00+08:00"
    listed = service.get("inv_yangshuo", "/v1/tips", params={"source": "intake"}).json()["items"]
    assert [t["tip_id"] for t in listed] == [tip["tip_id"]]
    assert service.get("inv_lingui", f"/v1/tips/{tip['tip_id']}").status_code == 404
    assert service.post("inv_yangshuo", "/v1/tips", {**body, "county": "临桂区"}).status_code == 403
    assert service.post("inv_lingui", "/v1/tips", {**body, "county": None}).status_code == 422  # E4 not in 临桂区
    for bad in ({**body, "channel": "fax"}, {**body, "text": ""}, {**body, "lat": 95}, {**body, "lon": None},
                {**body, "extra": 1}, {**body, "text": "x" * 4001}, {**body, "received_at": "2999-01-01T00:00:00"}):
        assert service.post("inv", "/v1/tips", bad).status_code == 422, bad


def test_informant_intake_by_a_county_investigator_is_stored_redacted_for_them(service):
    r = service.post("inv_lingui", "/v1/tips", {"channel": "informant", "text": "厂里夜里偷运废液", "enterprise_id": "E1",
                                                "received_at": "2021-03-04T10:00:00"})
    assert r.status_code == 201 and r.json()["redacted"] and r.json()["text"] is None
    full = service.get("inv", f"/v1/tips/{r.json()['tip_id']}").json()
    assert full["text"] == "厂里夜里偷运废液" and full["county"] == "临桂区"


def test_outcomes_are_validated_scoped_and_exported_as_cases(service):
    ok = {"entity_kind": "enterprise", "entity_id": "E1", "outcome": "confirmed", "violation": "dumping_3t",
          "tonnes": 4.5, "criminal": True, "opened": "2021-03-10"}
    r = service.post("inv_lingui", "/v1/outcomes", ok)
    assert r.status_code == 201, r.text
    assert r.json()["case_id"] == "SVC-000001" and r.json()["recorded_by"] == "inv_lingui"
    assert service.post("inv_lingui", "/v1/outcomes", {**ok, "entity_id": "E4"}).status_code == 404
    assert service.post("inv", "/v1/outcomes", {**ok, "violation": None}).status_code == 422
    assert service.post("inv", "/v1/outcomes", {**ok, "outcome": "unfounded"}).status_code == 422
    assert service.post("inv", "/v1/outcomes", {**ok, "tonnes": -1}).status_code == 422
    tip = {"entity_kind": "tip", "entity_id": "T2", "outcome": "unfounded", "opened": "2021-03-11"}
    assert service.post("inv", "/v1/outcomes", tip).status_code == 201
    site = {"entity_kind": "site", "entity_id": "S1", "outcome": "open"}
    assert service.post("inv_lingui", "/v1/outcomes", site).status_code == 201
    assert service.post("inv_yangshuo", "/v1/outcomes", site).status_code == 404
    assert service.get("inv_yangshuo", "/v1/outcomes").json()["total"] == 0
    assert service.get("inv_lingui", "/v1/outcomes").json()["total"] == 3  # T2's jurisdiction is 临桂区
    with service.rt.db.read() as s:
        frame = recorded_outcomes(s)
    ids = frame[["case_id", "enterprise_id", "tip_id", "outcome"]]
    assert ids.astype(object).where(ids.notna(), None).values.tolist() == [
        ["SVC-000001", "E1", None, "confirmed"], ["SVC-000002", "E1", "T2", "unfounded"]]  # the site is no label
    assert str(frame["opened"].dtype) == "datetime64[ns]" and frame["tonnes"].iloc[0] == 4.5


def test_a_recorded_outcome_survives_a_restart(db_url, tmp_path, hand_snapshot):
    with start_service(db_url, tmp_path, hand_snapshot) as first:
        r = first.post("inv", "/v1/outcomes", {"entity_kind": "enterprise", "entity_id": "E4", "outcome": "confirmed",
                                               "violation": "water_dumping", "tonnes": 3.5, "opened": "2021-03-06"})
        assert r.status_code == 201
        tokens = first.tokens
    with start_service(db_url, tmp_path, hand_snapshot, lists=False, users=False) as second:  # same database
        second.tokens = tokens
        out = second.get("inv", "/v1/outcomes").json()["items"]
        assert [(o["entity_id"], o["violation"], o["tonnes"]) for o in out] == [("E4", "water_dumping", 3.5)]
        with second.rt.db.read() as s:
            assert recorded_outcomes(s)["case_id"].tolist() == ["SVC-000001"]


def test_reads_and_writes_are_audited_with_user_role_and_model_version(service):
    service.get("inv_lingui", E)
    service.get("inv", "/v1/enterprises/E4")
    service.get("inv_lingui", "/v1/enterprises/E4")
    service.post("inv", "/v1/outcomes", {"entity_kind": "enterprise", "entity_id": "E2", "outcome": "open"})
    with service.rt.db.read() as s:
        rows = [(a.user_name, a.role, a.action, a.entity_ids, a.model_version, a.result)
                for a in s.scalars(select(AuditEntry).where(AuditEntry.user_name.is_not(None)).order_by(AuditEntry.id))]
    assert ("inv_lingui", "investigator", "leads.enterprise.list", '["E1", "E5"]', "7", "ok") in rows
    assert ("inv", "investigator", "enterprise.read", '["E4"]', "7", "ok") in rows
    assert ("inv_lingui", "investigator", "enterprise.read", '["E4"]', None, "not_found") in rows
    assert ("inv", "investigator", "outcome.create.enterprise", '["E2", "SVC-000001"]', None, "open") in rows
    verdict = service.get("auditor", "/v1/audit/verify").json()
    assert verdict["ok"] and verdict["rows"] == 4
    page = service.get("auditor", "/v1/audit", params={"action": "enterprise.", "limit": 10}).json()
    assert {i["action"] for i in page["items"]} == {"enterprise.read"}


def test_audit_endpoint_reports_tampering(service):
    service.get("inv", E)
    with service.rt.db.write() as s:
        row = s.scalars(select(AuditEntry).where(AuditEntry.action == "leads.enterprise.list")).first()
        row.entity_ids = "[]"
        bad = row.id
    v = service.get("auditor", "/v1/audit/verify").json()
    assert not v["ok"] and v["first_bad_id"] == bad


def test_users_admin_create_list_disable(service):
    r = service.post("admin", "/v1/users", {"name": "zhang", "role": "investigator", "county": "阳朔县"})
    assert r.status_code == 201
    token, uid = r.json()["token"], r.json()["id"]
    h = {"Authorization": f"Bearer {token}"}
    assert service.client.get("/v1/me", headers=h).json() == {
        "name": "zhang", "role": "investigator", "county": "阳朔县", "sees_informants": False,
        "may": ["cases", "catalogue", "docs", "enterprise", "handover_decide", "handover_read", "leads", "me", "mismatch",
                "outcome", "places", "ready", "runs", "site", "stats", "tip", "tip_write", "vehicle"]}
    assert "token" not in service.get("admin", "/v1/users").json()["items"][-1]
    assert service.post("admin", "/v1/users", {"name": "zhang", "role": "admin"}).status_code == 409
    assert service.post("admin", "/v1/users", {"name": "li", "role": "auditor", "county": "X"}).status_code == 422
    assert service.request("admin", "DELETE", f"/v1/users/{uid}").status_code == 204
    assert service.client.get("/v1/me", headers=h).status_code == 401
    assert service.request("admin", "DELETE", f"/v1/users/{service.user_ids['admin']}").status_code == 422


def test_runs_filters_catalogue_places(service):
    runs = service.get("env", "/v1/runs").json()
    assert runs["as_of_dates"] == [EARLIER, AS_OF]
    f = service.get("inv_lingui", "/v1/filters").json()
    assert f["counties"] == ["临桂区"] and f["industries"] == ["C26", "C33"] and "HW08" in f["categories"]
    cat = service.get("auditor", "/v1/catalogue", params={"entity": "site"}).json()["items"]
    assert cat and all(c["entity"] == "site" for c in cat) and all(c["description_zh"] for c in cat)
    places = service.get("env", "/v1/places").json()
    assert {f["properties"]["kind"] for f in places["features"]} == {"river", "karst", "reservoir"}
    assert [f["properties"]["kind"] for f in service.get("env", "/v1/places", params={"kind": "karst"}).json()["features"]] == ["karst"]


def test_outcome_rows_store_who_and_when(service):
    service.post("inv", "/v1/outcomes", {"entity_kind": "enterprise", "entity_id": "E3", "outcome": "unfounded"})
    with service.rt.db.read() as s:
        o = s.scalars(select(Outcome)).one()
    assert o.recorded_by == service.user_ids["inv"] and o.jurisdiction == "雁山区" and o.opened is not None


def test_tip_list_has_the_text_and_filters_that_fit_tips(service):
    page = service.get("inv", "/v1/leads/tips").json()
    texts = {i["tip_id"]: i["text"] for i in page["items"]}
    assert "废液" in texts["T2"] and texts["T3"]  # entitled: an informant's words too
    ids = lambda **p: [i["tip_id"] for i in service.get("inv", "/v1/leads/tips", params=p).json()["items"]]  # noqa: E731
    assert ids(corroborated="true") == ["T3"] and ids(corroborated="false") == ["T2"]  # 桂C12345 stopped near T3
    assert ids(channel="informant") == ["T2"] and ids(channel="110") == []
    county = service.get("inv_lingui", "/v1/leads/tips").json()["items"]
    assert [(i["tip_id"], i["redacted"], i["text"]) for i in county] == [("T2", True, None)]
    for value in ("true", "false"):  # what corroborates an informant's tip is withheld: it matches neither
        assert service.get("inv_lingui", "/v1/leads/tips", params={"corroborated": value}).json()["total"] == 0
    assert service.get("inv_lingui", "/v1/leads/tips", params={"channel": "informant"}).json()["total"] == 1


def test_enterprises_are_found_by_name_within_the_county(service):
    def found(who, q, **p):
        r = service.get(who, "/v1/enterprise-names", params={"q": q, **p})
        assert r.status_code == 200, r.text
        return [i["enterprise_id"] for i in r.json()["items"]]

    assert found("inv", "桂林") == ["E1", "E2"]  # names starting with it, in code-point order of the name
    assert found("inv", "化工") == ["E1"] and found("inv", "e4") == ["E4"]  # partial Chinese; an id, any case
    assert found("inv", "某", limit=2) == found("inv", "某")[:2] and len(found("inv", "某")) >= 4
    assert found("inv_lingui", "桂林") == ["E1"] and found("inv_lingui", "阳朔") == []  # 阳朔县's firm is not found
    assert set(found("env_lingui", "E")) == {"E1", "E5"}
    first = service.get("inv", "/v1/enterprise-names", params={"q": "化工"}).json()["items"][0]
    assert (first["name"], first["county"], first["industry_code"]) == ("桂林市某化工有限公司", "临桂区", "C2662")
    assert service.get("inv", "/v1/enterprise-names", params={"q": ""}).status_code == 422
    assert service.get("auditor", "/v1/enterprise-names", params={"q": "桂林"}).status_code == 403
