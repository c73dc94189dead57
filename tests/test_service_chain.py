"""The chain both ways over the hand-built snapshot (``tests/service_support.py``): the vehicle list
and page, a site's sources, an enterprise's chain, with the roles, county rules and readable evidence.

What the snapshot holds, worked out by hand: 桂C12345 (carrier E2, 七星区) carried E1's (临桂区) waste
to E3 (雁山区) on M1 and M2 and, under M2, stopped 40 minutes at night by the river at site S1; its
terminal was silent under both manifests (events at E1, in 临桂区). 桂C54321 (E2's, no hazmat
permit) carried M3 from E4 (阳朔县) while silent: two kinds of event in 阳朔县, so it ranks first."""

from __future__ import annotations

import json
import re

TOKEN = re.compile(r"[\w\-]+")


def ids_in(answer) -> set[str]:
    return set(TOKEN.findall(json.dumps(answer, ensure_ascii=False)))


def test_the_vehicle_list_ranks_by_driving_and_county_readers_see_their_countys_vehicles(service):
    city = service.get("inv", "/v1/vehicles").json()
    assert [i["vehicle_id"] for i in city["items"]] == ["桂C54321", "桂C12345"] and city["as_of"] == "2021-04-01"
    first = city["items"][0]
    assert (first["unpermitted_events"], first["silent_events"], first["transporter_name"]) == (1, 1, "桂林某运输有限公司")
    assert any("无危险货物运输资质" in r and "M3" in r for r in first["reasons"])
    assert any("所属运输企业 桂林某运输有限公司" in r for r in first["reasons"])

    yangshuo = service.get("inv_yangshuo", "/v1/vehicles").json()
    assert [(i["vehicle_id"], i["rank"]) for i in yangshuo["items"]] == [("桂C54321", 1)]
    # its carrier is 七星区's: neither its id nor its name reaches a 阳朔县 reader
    assert yangshuo["items"][0]["transporter_id"] is None and "E2" not in ids_in(yangshuo)
    assert "桂林某运输有限公司" not in json.dumps(yangshuo, ensure_ascii=False)
    lingui = service.get("inv_lingui", "/v1/vehicles").json()
    assert [(i["vehicle_id"], i["rank"]) for i in lingui["items"]] == [("桂C12345", 1)]
    assert [i["vehicle_id"] for i in service.get("inv", "/v1/vehicles", params={"county": "阳朔县"}).json()["items"]] == ["桂C54321"]
    assert service.get("inv_lingui", "/v1/vehicles", params={"county": "阳朔县"}).json()["total"] == 0
    assert [i["vehicle_id"] for i in service.get("admin", "/v1/vehicles", params={"min_score": 0.5}).json()["items"]] == ["桂C54321"]
    assert service.get("env", "/v1/vehicles").status_code == 403 and service.get("auditor", "/v1/vehicles/桂C12345").status_code == 403
    assert service.get(None, "/v1/vehicles").status_code == 401


def test_a_vehicle_page_follows_the_chain_from_its_carrier_to_the_producers_and_sites(service):
    d = service.get("inv", "/v1/vehicles/桂C12345").json()
    assert d["vehicle"] == {"vehicle_id": "桂C12345", "transporter_id": "E2", "transporter_name": "桂林某运输有限公司",
                            "hazmat_permit": True, "capacity_t": 10.0}
    assert d["lead"]["rank"] == 2 and d["carrier_vehicles"] == ["桂C54321"]
    assert [m["manifest_id"] for m in d["manifests"]] == ["M2", "M1"]
    m2 = d["manifests"][0]
    assert m2["producer_name"] == "桂林市某化工有限公司" and m2["waste_text"] == "900-214-08（HW08 废矿物油与含矿物油废物）"
    assert "unconfirmed_30d" in m2["flags"]
    assert [(p["role"], p["enterprise_id"], p["manifests"], p["tonnes"]) for p in d["partners"]] == [
        ("producer", "E1", 2, 17.0), ("receiver", "E3", 2, 17.0)]
    [night] = [s for s in d["stops"] if s["night"]]
    assert night["site_id"] == "S1" and night["manifest_id"] == "M2" and night["place"].startswith("距漓江 ")
    assert {e["category"] for e in d["events"]} == {"silent"} and len(d["gps_gaps"]) == 2
    assert d["gps_gaps"][0]["manifest_id"] == "M2" and d["gps_gaps"][0]["start"].startswith("2021-02-18T08:32:30")
    layers = {f["properties"]["layer"] for f in d["map"]["features"]}
    assert {"event", "stop", "enterprise", "track"} <= layers
    assert service.get("inv", "/v1/vehicles/桂X00000").status_code == 404


def test_a_site_names_the_manifests_and_producers_of_the_hours_before_each_stop(service):
    d = service.get("inv", "/v1/sites/S1").json()
    [src] = d["sources"]
    assert src["vehicle_id"] == "桂C12345" and src["stop_start"].startswith("2021-02-18T22:00")
    # M2 left E1 at 08:30, 13.5 h before the stop; M1 (a month earlier) is not among them
    assert [(m["manifest_id"], m["producer_id"], m["hours_before"]) for m in src["manifests"]] == [("M2", "E1", 13.5)]
    assert d["place"].startswith("距漓江 ") and d["stops"][0]["site_id"] == "S1"
    assert d["vehicles"][0]["transporter_name"] == "桂林某运输有限公司"


def test_the_chain_across_county_lines_names_nothing_of_another_county(service):
    # 阳朔县: 桂C12345 never touched it; 桂C54321 carried its E4's waste for a 七星区 carrier to a 雁山区 receiver
    assert service.get("inv_yangshuo", "/v1/vehicles/桂C12345").status_code == 404
    d = service.get("inv_yangshuo", "/v1/vehicles/桂C54321").json()
    [m3] = d["manifests"]
    assert (m3["producer_id"], m3["transporter_id"], m3["receiver_id"]) == ("E4", None, None)
    assert (m3["transporter_name"], m3["receiver_name"]) == (None, None)
    assert d["vehicle"]["transporter_id"] is None and d["carrier_vehicles"] == []
    assert [p["enterprise_id"] for p in d["partners"]] == ["E4"]
    assert ids_in(d) & {"E1", "E2", "E3", "E5", "S1"} == set()
    assert "桂林某运输有限公司" not in json.dumps(d, ensure_ascii=False)
    # 临桂区 reads E1's chain: its vehicle and the site its load stopped at, but not the 雁山区 receiver
    e1 = service.get("inv_lingui", "/v1/enterprises/E1").json()
    assert [v["vehicle_id"] for v in e1["chain"]["vehicles"]] == ["桂C12345"]
    assert e1["chain"]["receivers"] == [] and e1["chain"]["sites"] == [{"site_id": "S1", "vehicle_ids": ["桂C12345"]}]
    assert ids_in(e1) & {"E2", "E3", "E4"} == set()
    city = service.get("inv", "/v1/enterprises/E1").json()
    assert [(r["enterprise_id"], r["manifests"], r["tonnes"]) for r in city["chain"]["receivers"]] == [("E3", 2, 17.0)]


def test_enterprise_evidence_reads_with_units_names_and_the_profile_apart(service):
    d = service.get("inv", "/v1/enterprises/E1").json()
    assert d["profile"]["industry_text"] == "C2662 专项化学用品制造"
    assert d["profile"]["category_texts"] == ["HW08 废矿物油与含矿物油废物"]
    rows = {r["feature"]: r for r in d["evidence_rows"]["evidence"]}
    assert rows["unaccounted_t_365d"]["value_text"] == "8.8 吨"
    assert rows["unaccounted_t_365d"]["label"] == "近12个月去向不明的危险废物（吨）"
    assert "900-214-08（HW08 废矿物油与含矿物油废物）" in [p["text"] for p in rows["unaccounted_t_365d"]["pointers"]]
    partner = rows["partners_with_confirmed_cases_365d"]["pointers"][0]
    assert partner["text"] == "桂林某运输有限公司（E2）" and partner["links"] == [{"kind": "enterprise", "id": "E2"}]
    assert all(r["feature"] not in {"employees_log", "key_industry", "age_years"} for r in d["evidence_rows"]["evidence"])
    en = service.get("inv", "/v1/enterprises/E1", params={"lang": "en"}).json()
    assert {r["feature"]: r for r in en["evidence_rows"]["evidence"]}["unaccounted_t_365d"]["value_text"] == "8.8 t"
    # a 临桂区 reader reads the pointer to 七星区's E2 masked, with no name beside it
    lingui = service.get("inv_lingui", "/v1/enterprises/E1").json()
    ptr = {r["feature"]: r for r in lingui["evidence_rows"]["evidence"]}.get("partners_with_confirmed_cases_365d")
    assert ptr is None or ("E2" not in ptr["pointers"][0]["text"] and ptr["pointers"][0]["links"] == [])
