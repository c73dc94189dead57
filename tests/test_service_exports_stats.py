"""Excel exports (opened with openpyxl: Chinese headers with units, numbers without float noise, text a
spreadsheet would run made inert) and the campaign's statistics per county, month and stage, with the
precision of the lists, over the hand-built snapshot and lists on SQLite and PostgreSQL."""

from __future__ import annotations

import io

from openpyxl import load_workbook

from serving.export import Column, workbook

E = "/v1/leads/enterprises"


def sheets(r) -> dict:
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("application/vnd.openxmlformats")
    wb = load_workbook(io.BytesIO(r.content))
    return {ws.title: [[c for c in row] for row in ws.iter_rows()] for ws in wb.worksheets}


def values(rows) -> list[list]:
    return [[c.value for c in row] for row in rows]


def test_a_hostile_text_is_never_a_formula_and_numbers_carry_no_noise():
    hostile = ["=HYPERLINK(\"http://x\",\"点我\")", "+1+1", "-2.3", "@SUM(A1)", "\t=1", "普通文字", "a=b"]
    content = workbook([("表", [Column("text", "文字"), Column("t", "吨数（吨）", 3)],
                         [{"text": h, "t": 0.1 + 0.2} for h in hostile])])
    ws = load_workbook(io.BytesIO(content)).worksheets[0]
    assert [c.value for c in ws[1]] == ["文字", "吨数（吨）"]
    cells = [row[0] for row in ws.iter_rows(min_row=2)]
    assert all(c.data_type == "s" for c in cells)
    assert [c.value for c in cells] == ["'" + h for h in hostile[:5]] + hostile[5:]
    assert {row[1].value for row in ws.iter_rows(min_row=2)} == {0.3}
    assert ws.cell(row=2, column=2).number_format == "0.000"
    odd = workbook([("表", [Column("text", "文字")], [{"text": "七星\x16区\x00"}])])  # a county typed with control keys
    assert load_workbook(io.BytesIO(odd)).worksheets[0].cell(row=2, column=1).value == "七星区"


def test_every_list_exports_with_chinese_headers_and_the_lists_filters(service):
    r = service.post("admin", "/v1/users", {"name": "-2.3", "role": "investigator"})
    assert r.status_code == 201, r.text
    service.post("inv", "/v1/cases/enterprise/E1", {"assignee_id": r.json()["id"], "status": "核查中"})
    got = sheets(service.get("inv", "/v1/exports/leads/enterprises"))
    rows = got["企业线索"]
    head = values(rows)[0]
    assert head[:4] == ["排名", "名单原排名", "企业编号", "企业名称"] and "得分（0–1）" in head and "承办人" in head
    body = values(rows)[1:]
    assert [r[2] for r in body] == ["E1", "E4", "E3", "E5", "E2"]
    who = rows[1][head.index("承办人")]
    assert who.value == "'-2.3" and who.data_type == "s"  # inert: a name that Excel would compute
    assert body[0][head.index("得分（0–1）")] == 0.9 and body[0][head.index("状态")] == "核查中"
    assert body[0][head.index("行业")] == "化学原料和化学制品制造业"
    lingui = sheets(service.get("inv_lingui", "/v1/exports/leads/enterprises", params={"sort": "score"}))["企业线索"]
    assert [r[2] for r in values(lingui)[1:]] == ["E5", "E1"]  # the reader's county, in the order asked for
    tips = values(sheets(service.get("inv_lingui", "/v1/exports/leads/tips"))["举报线索"])
    assert tips[0][2] == "举报编号" and [t[2] for t in tips[1:]] == ["T2"]
    assert tips[1][tips[0].index("内容已隐去")] == "是" and tips[1][tips[0].index("理由")] is None
    assert tips[1][tips[0].index("举报内容")] is None  # an informant's words, withheld as in the list
    online = values(sheets(service.get("inv", "/v1/exports/leads/tips", params={"channel": "online"}))["举报线索"])
    assert [t[2] for t in online[1:]] == ["T3"]  # the tip list's own filters hold in its export too
    assert online[1][online[0].index("举报内容")] == "河边半夜有货车停了很久"
    assert values(sheets(service.get("inv", "/v1/exports/leads/sites"))["疑似倾倒点位"])[0][3] == "纬度（度）"

    mm = sheets(service.get("env_lingui", "/v1/exports/ledger-mismatch"))
    monthly, totals = values(mm["按月明细"]), values(mm["按企业合计"])
    assert "未说明去向（吨）" in monthly[0] and totals[0][:2] == ["企业编号", "企业名称"]
    assert {r[1] for r in monthly[1:]} <= {"E1", "E5"} and {r[0] for r in totals[1:]} <= {"E1", "E5"}
    col = monthly[0].index("未说明去向（吨）")
    for t in totals[1:]:  # each enterprise's total is the sum of its monthly rows
        assert abs(t[5] - sum(r[col] for r in monthly[1:] if r[1] == t[0])) < 2e-3
    api = service.get("env_lingui", "/v1/ledger-mismatch/enterprises").json()["items"]
    assert [i["enterprise_id"] for i in api] == [t[0] for t in totals[1:]]
    for cell in (c for row in mm["按月明细"][1:] for c in row):
        assert not (isinstance(cell.value, float) and len(repr(cell.value)) > 12), cell.value  # no float noise

    desk = values(sheets(service.get("inv", "/v1/exports/cases"))["线索办理"])
    assert desk[0][:5] == ["线索类型", "线索编号", "企业名称", "区县", "状态"] and desk[1][:2] == ["企业", "E1"]
    assert service.get("env", "/v1/exports/leads/enterprises").status_code == 403
    assert service.get("auditor", "/v1/exports/ledger-mismatch").status_code == 403


def test_statistics_follow_the_desk_and_the_handovers_within_each_readers_county(service):
    empty = service.get("auditor", "/v1/stats").json()
    assert empty["totals"]["issued"] == 0 and empty["by_month"] == []
    service.post("inv_lingui", "/v1/cases/enterprise/E1", {"take": True})
    service.post("inv_lingui", "/v1/outcomes", {"entity_kind": "enterprise", "entity_id": "E1", "outcome": "confirmed",
                                                "violation": "dumping_3t", "tonnes": 4.25, "criminal": False})
    service.post("inv_yangshuo", "/v1/outcomes", {"entity_kind": "enterprise", "entity_id": "E4", "outcome": "unfounded"})
    hid = service.post("env_lingui", "/v1/handovers", {"enterprise_id": "E5", "findings": ["移送公安"]}).json()["id"]
    assert service.post("inv_lingui", f"/v1/handovers/{hid}/accept", {}).status_code == 200

    city = service.get("auditor", "/v1/stats").json()
    assert city["county"] is None
    t = city["totals"]
    assert (t["issued"], t["checked"], t["confirmed"], t["unfounded"], t["handed_over"], t["criminal"]) == (3, 3, 1, 1, 1, 1)
    assert t["tonnes"] == 4.25 and t["median_days"] is not None and t["median_days"] >= 0
    by_county = {r["county"]: r for r in city["by_month"]}
    assert set(by_county) == {"临桂区", "阳朔县"}
    assert (by_county["临桂区"]["confirmed"], by_county["临桂区"]["handed_over"], by_county["阳朔县"]["unfounded"]) == (1, 1, 1)
    assert [s["stage"] for s in city["by_stage"]] == ["全程"]
    prec = {(p["kind"], p["as_of"]): p for p in city["precision"]}
    p = prec[("enterprise", "2021-04-01")]
    assert (p["listed"], p["concluded"], p["confirmed"], p["precision"]) == (5, 2, 1, 0.5)

    lingui = service.get("env_lingui", "/v1/stats", params={"county": "阳朔县"}).json()  # asks for another county
    assert lingui["county"] == "临桂区" and {r["county"] for r in lingui["by_month"]} == {"临桂区"}
    assert lingui["totals"]["unfounded"] == 0 and lingui["totals"]["confirmed"] == 1
    lp = {(p["kind"], p["as_of"]): p for p in lingui["precision"]}[("enterprise", "2021-04-01")]
    assert (lp["listed"], lp["concluded"], lp["precision"]) == (2, 1, 1.0)
    assert service.get("admin", "/v1/stats", params={"county": "阳朔县"}).json()["totals"]["unfounded"] == 1

    book = sheets(service.get("auditor", "/v1/stats/export"))
    months = values(book["按区县按月"])
    assert months[0][:3] == ["区县", "月份", "下发线索（条）"] and months[-1][:2] == ["全市", "合计"]
    assert months[-1][months[0].index("查获危废（吨）")] == 4.25
    assert values(book["名单查准率"])[0][-1] == "查准率（0–1）"
