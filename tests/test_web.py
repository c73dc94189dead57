"""Working the leads in Debian's Chromium, against the real app served by uvicorn on a loopback port
(``tests/web_fixtures.py``): a county investigator, the environment bureau, the English switch, a
site and a tip with their corroboration and outcomes, the chain from a site to its producers and
the printed evidence file, the tip form's enterprise finder. Every test records each request the
page makes and fails if one leaves the machine or a script error occurs. Screenshots go to
tests/artifacts/screenshots/."""

from __future__ import annotations

import httpx
import pytest

from tests.web_fixtures import api, ids_in_list, visible_tabs
from tests.web_support import shot

pytestmark = pytest.mark.browser


def test_county_investigator_filters_opens_an_enterprise_and_records_an_outcome(web, ui):
    page = ui.page
    ui.goto()
    page.wait_for_selector("form.signin")
    assert page.get_attribute("html", "lang") == "zh-CN" and page.inner_text("form.signin h1") == "登录"
    shot(page, "01-sign-in")
    ui.sign_in(web[1]["inv_lingui"], expect="table.leads")
    assert "临桂区" in page.inner_text("#who-name")
    assert visible_tabs(page) == ["enterprises", "tips", "sites", "vehicles", "tip-new", "mismatch", "cases", "handovers",
                                  "stats"]  # no models tab
    # the county's two enterprises, ranked within it; E5 is an exploration draw and says so
    assert ids_in_list(page) == ["E1", "E5"]
    explore = page.locator("table.leads tr.explore")
    assert explore.count() == 1 and explore.get_attribute("data-id") == "E5" and "探索" in explore.inner_text()
    assert "E1 台账缺口" in page.inner_text("tr[data-id=E1] .reasons-cell")
    assert page.is_disabled("#f-county")  # the county is fixed for a county-scoped reader
    shot(page, "02-enterprise-list")
    page.select_option("#f-exploration", "false")
    page.wait_for_function("() => location.hash.includes('exploration=false')")
    page.wait_for_function("() => document.querySelectorAll('table.leads tbody tr').length === 1")
    assert ids_in_list(page) == ["E1"]
    page.select_option("#f-industry", "C33")  # E5 is C3360, but exploration=false still holds
    page.wait_for_selector("p.empty")
    page.click("text=清除")
    page.wait_for_function("() => document.querySelectorAll('table.leads tbody tr').length === 2")

    page.click("tr[data-id=E1] a")
    page.wait_for_selector("svg.map")
    assert page.inner_text("main h1") == "桂林市某化工有限公司"
    assert "E1 台账缺口" in page.inner_text("section[aria-labelledby=sec-reasons]")
    assert page.locator("svg.chart.history circle.dot").count() == 2  # two list dates
    bars = page.locator("svg.chart.ledger rect.bar")
    assert bars.count() == 2 and page.locator("svg.chart.ledger rect.bar.over").count() == 1  # 2021-02: 8.8 t
    assert page.locator("svg.chart.ledger g.threshold line").count() == 1
    assert page.locator("svg.chart.power rect.bar.kwh").count() == 1
    for selector, at_least in (("[data-layer=enterprise][data-kind=self]", 1), ("[data-layer=stop]", 1),
                               ("[data-layer=track]", 1), ("[data-layer=place][data-kind=river]", 1)):
        assert page.locator(f"svg.map {selector}").count() >= at_least, selector
    # E1's carrier (七星区) and receiver (雁山区) are other counties': neither on the map nor named in its manifests
    assert page.locator("svg.map [data-layer=enterprise][data-kind=partner]").count() == 0
    m2 = page.inner_text("table.manifests tbody tr[data-id=M2]")
    assert "E2" not in m2 and "E3" not in m2 and m2.count("辖区外单位") == 2
    river = page.get_attribute("svg.map [data-layer=place][data-kind=river]", "points")
    assert river and len(river.split()) >= 2
    assert page.locator("table.manifests tbody tr.flagged[data-id=M2]").count() == 1
    shot(page, "03-enterprise")

    before = api(web, "inv_lingui", "/v1/outcomes", entity_kind="enterprise", entity_id="E1")["total"]
    page.click("[data-action=record-outcome]")
    page.wait_for_selector("dialog[open] form.outcome-form")
    assert page.is_disabled("#oc-violation")
    page.check("input[name=outcome][value=confirmed]")
    page.select_option("#oc-violation", "water_dumping")
    page.fill("#oc-tonnes", "8.8")
    page.fill("#oc-note", "浏览器测试：河边夜间停留核实")
    shot(page, "04-record-outcome", full_page=False)
    page.click("dialog form button[type=submit]")
    page.wait_for_selector("dialog p.ok")
    case = page.inner_text("dialog p.ok")
    page.wait_for_selector("dialog:not([open])", state="attached")
    page.wait_for_selector("table.outcomes tbody tr")
    stored = api(web, "inv_lingui", "/v1/outcomes", entity_kind="enterprise", entity_id="E1")
    assert stored["total"] == before + 1
    o = stored["items"][0]
    assert (o["outcome"], o["violation"], o["tonnes"], o["recorded_by"]) == ("confirmed", "water_dumping", 8.8, "inv_lingui")
    assert o["note"] == "浏览器测试：河边夜间停留核实" and o["case_id"] in case
    assert o["case_id"] in page.inner_text("table.outcomes")
    # confirmed concludes E1 and it leaves the open list: reopened, for the later walks of this module
    server, tokens = web
    r = httpx.post(f"{server.url}/v1/cases/enterprise/E1", json={"status": "核查中", "note": "复查"},
                   headers={"Authorization": f"Bearer {tokens['inv_lingui']}"}, timeout=10)
    assert r.status_code == 200 and r.json()["history"][-2]["status_to"] == "已结案-属实", r.text

    ui.route("#/enterprise/E4", "main .error")  # 阳朔县: outside the county, as if it did not exist
    assert "未找到" in page.inner_text("main .error")
    ui.assert_clean()


def test_env_bureau_sees_the_ledger_mismatch_and_exports_it_but_no_tips(web, ui):
    page = ui.page
    ui.sign_in(web[1]["env_lingui"], expect="table.mismatch")
    assert visible_tabs(page) == ["mismatch", "handovers", "stats"]
    assert page.locator("#tabs a[data-tab=tips]").is_hidden()
    rows = page.eval_on_selector_all("table.mismatch tbody tr", "rs => rs.map(r => r.dataset.id)")
    assert set(rows) == {"E1", "E5"}  # 临桂区 only
    page.select_option("#m-over_3t", "row")
    page.wait_for_function("() => location.hash.includes('over_3t=row')")
    page.wait_for_function("() => document.querySelectorAll('table.mismatch tbody tr').length === 2")
    assert page.locator("table.mismatch tbody tr.over").count() == 2
    shot(page, "05-ledger-mismatch")
    with page.expect_download() as dl:
        page.click("[data-action=export]")
    data = open(dl.value.path(), "rb").read()
    assert data.startswith(b"\xef\xbb\xbf"), "Excel needs the UTF-8 byte-order mark"
    lines = data.decode("utf-8-sig").splitlines()
    assert lines[0].startswith("as_of,name,enterprise_id,county") and len(lines) == 3
    assert all(",临桂区," in line for line in lines[1:])
    assert dl.value.suggested_filename.startswith("ledger_mismatch_")
    # bureau staff may open the enterprise, but record nothing and see no tips
    page.click("table.mismatch tr[data-id=E1] a")
    page.wait_for_selector("svg.chart.ledger")
    assert page.locator("[data-action=record-outcome]").count() == 0
    assert page.locator("#sec-tips").count() == 0
    ui.route("#/tips", "main h1")
    assert page.locator("table").count() == 0 and "无权" in page.inner_text("main")
    assert ui.api_status("/v1/leads/tips") == 403 and ui.api_status("/v1/tips") == 403
    assert ui.api_status("/v1/tips/T2") == 403
    ui.assert_clean()


def test_the_english_switch_changes_the_interface_and_the_reasons(web, ui):
    page = ui.page
    ui.sign_in(web[1]["inv"], expect="table.leads")
    assert page.inner_text("#tabs a[data-tab=enterprises]") == "企业线索"
    page.click("#lang")
    page.wait_for_function("() => document.documentElement.lang === 'en'")
    page.wait_for_function("() => document.querySelector('main h1')?.textContent.startsWith('Enterprises')")
    assert page.inner_text("#tabs a[data-tab=enterprises]") == "Enterprises"
    assert page.inner_text("#tabs a[data-tab=mismatch]") == "Ledger mismatch"
    page.wait_for_function("() => document.querySelector('tr[data-id=E1] .reasons-cell')?.textContent.includes('E1 ledger gap')")
    assert "Exploration" in page.inner_text("tr[data-id=E5]")
    ui.route("#/enterprise/E1", "svg.map")
    assert "E1 ledger gap" in page.inner_text("section[aria-labelledby=sec-reasons]")
    assert "Unaccounted tonnes per month" in page.get_attribute("svg.chart.ledger", "aria-label")
    shot(page, "06-enterprise-english")
    page.reload()  # the choice is remembered
    page.wait_for_selector("svg.map")
    assert page.get_attribute("html", "lang") == "en"
    page.click("#lang")
    page.wait_for_function("() => document.documentElement.lang === 'zh-CN'")
    page.wait_for_function("() => document.body.innerText.includes('E1 台账缺口')")
    ui.assert_clean()


def test_site_page_tip_intake_and_tip_corroboration_with_outcomes(web, ui):
    page = ui.page
    ui.sign_in(web[1]["inv"], expect="table.leads")
    ui.route("#/sites", "table.leads.site")
    assert ids_in_list(page)[0] == "S1"
    shot(page, "07-site-list")
    page.click("tr[data-id=S1] td.id a")
    page.wait_for_selector("svg.map")
    assert page.locator("svg.map [data-layer=site]").count() == 1
    assert page.locator("svg.map [data-layer=stop]").count() >= 1
    assert page.locator("svg.map [data-layer=enterprise]").count() == 2
    assert "桂C12345" in page.inner_text("section[aria-labelledby=sec-site-vehicles]")
    assert page.locator("section[aria-labelledby=sec-site-enterprises] a").count() == 2
    shot(page, "08-site")
    page.click("[data-action=record-outcome]")
    page.check("input[name=outcome][value=unfounded]")
    page.click("dialog form button[type=submit]")
    page.wait_for_selector("dialog p.ok")
    page.wait_for_selector("dialog:not([open])", state="attached")
    site_outcomes = api(web, "inv", "/v1/outcomes", entity_kind="site", entity_id="S1")
    assert site_outcomes["items"][0]["outcome"] == "unfounded"
    # unfounded concludes S1 and it leaves the open list: reopened, for the chain's walk from the site list
    server, tokens = web
    r = httpx.post(f"{server.url}/v1/cases/site/S1", json={"status": "核查中", "note": "复查"},
                   headers={"Authorization": f"Bearer {tokens['inv']}"}, timeout=10)
    assert r.status_code == 200 and r.json()["history"][-2]["status_to"] == "已结案-不属实", r.text

    ui.route("#/tip-new", "form.intake")
    page.select_option("#tip-channel", "12369")
    page.fill("#tip-text", "凌晨河边有货车停了很久，有刺鼻气味")
    page.fill("#tip-received", "2021-02-19T06:00")
    page.fill("#tip-lat", "25.101")
    shot(page, "09-tip-intake")
    page.click("form.intake button[type=submit]")
    page.wait_for_selector("form.intake .error")  # latitude without longitude
    page.fill("#tip-lon", "110.341")
    page.click("form.intake button[type=submit]")
    page.wait_for_function("() => location.hash.startsWith('#/tip/W')")
    page.wait_for_selector("blockquote.tip-text")
    tip_id = page.evaluate("() => decodeURIComponent(location.hash.slice(6))")
    assert "凌晨河边" in page.inner_text("blockquote.tip-text") and not page.is_hidden("#notice")
    stored = api(web, "inv", f"/v1/tips/{tip_id}")
    assert stored["source"] == "intake" and stored["received_at"].startswith("2021-02-19T06:00") and stored["lat"] == 25.101

    ui.route("#/tip/T3", "table")  # a snapshot tip and what corroborates it
    page.wait_for_selector("svg.map")
    assert "桂C12345" in page.inner_text("section[aria-labelledby=sec-tip-corroboration]")
    assert page.locator("svg.map [data-layer=tip]").count() == 1 and page.locator("svg.map [data-layer=stop]").count() == 1
    assert page.locator("svg.map [data-layer=place][data-kind=river]").count() == 1  # the places layer behind
    shot(page, "10-tip")
    page.click("[data-action=record-outcome]")
    page.check("input[name=outcome][value=open]")
    page.click("dialog form button[type=submit]")
    page.wait_for_selector("dialog p.ok")
    page.wait_for_selector("section[aria-labelledby=sec-outcomes] table.outcomes")
    assert api(web, "inv", "/v1/outcomes", entity_kind="tip", entity_id="T3")["items"][0]["outcome"] == "open"
    ui.route("#/tips/all", "table.leads.alltips")
    assert tip_id in ids_in_list(page)
    ui.route("#/tips", "table.leads.tip")  # the ranked open tips of the list
    assert ids_in_list(page) == ["T3", "T2"] and "附近有夜间停车" in page.inner_text("tr[data-id=T3]")
    shot(page, "12-tip-list")
    assert "河边半夜有货车停了很久" in page.inner_text("tr[data-id=T3] td.text")  # the tip's own words
    assert page.locator("#f-industry").count() == 0 and page.locator("#f-category").count() == 0  # no firm's filters
    page.select_option("#f-corroborated", "true")
    page.wait_for_function("() => location.hash.includes('corroborated=true')")
    page.wait_for_function("() => document.querySelectorAll('table.leads tbody tr').length === 1")
    assert ids_in_list(page) == ["T3"]
    ui.assert_clean()


def test_the_chain_site_to_vehicle_to_producer_and_back_and_the_printed_evidence_file(web, ui, tmp_path):
    """Site S1 → the vehicle that stopped there → the manifest it carried → its producer, by clicking,
    and back; the 车辆 tab; then E1's evidence file printed to PDF (and a PNG of its print render)."""
    page = ui.page
    ui.sign_in(web[1]["inv"], expect="table.leads")
    ui.route("#/sites", "table.leads.site")
    page.click("tr[data-id=S1] td.id a")
    page.wait_for_selector("table.sources")
    sources = page.inner_text("table.sources")
    assert "M2" in sources and "桂林市某化工有限公司" in sources and "13.5" in sources  # M2 left E1 13.5 h before the stop
    assert "距漓江" in page.inner_text("table.stops") and "距漓江" in page.inner_text("section.summary")
    page.click("table.sources a[data-vehicle-link='桂C12345']")
    page.wait_for_function("() => decodeURIComponent(location.hash) === '#/vehicles/桂C12345'")
    page.wait_for_selector("svg.map [data-layer=event]")
    assert page.inner_text("main h1") == "车辆 桂C12345"
    assert page.locator("svg.map [data-layer=stop]").count() >= 1 and page.locator("svg.map [data-layer=track]").count() >= 1
    assert page.locator("ol.timeline li").count() >= 4  # two silences, the night stop, two departures
    assert page.locator("table.events tbody tr[data-category=silent]").count() >= 2
    m2 = page.inner_text("table.manifests tbody tr[data-id=M2]")
    assert "HW08 废矿物油与含矿物油废物" in m2 and "9.0 吨" in m2 and "桂林某运输有限公司" in m2
    shot(page, "13-vehicle")
    page.click("table.manifests tbody tr[data-id=M2] td[data-role=producer] a")
    page.wait_for_function("() => location.hash === '#/enterprises/E1'")
    page.wait_for_selector("section[aria-labelledby=sec-chain-title] a[data-site-link=S1]")
    assert page.inner_text("main h1") == "桂林市某化工有限公司"
    evidence = page.inner_text("table.evidence.readable")
    assert "8.8 吨" in evidence and "HW08 废矿物油与含矿物油废物" in evidence and "receipt_gap_t_365d" not in evidence
    page.go_back()
    page.wait_for_selector("svg.map [data-layer=event]")
    assert page.inner_text("main h1") == "车辆 桂C12345"
    page.go_back()
    page.wait_for_selector("table.sources")
    assert page.inner_text("main h1").endswith("S1")

    page.click("#tabs a[data-tab=vehicles]")
    page.wait_for_selector("table.leads.vehicle")
    assert ids_in_list(page) == ["桂C54321", "桂C12345"] and "无危险货物运输资质" in page.inner_text("tr[data-id=桂C54321]")

    ui.route("#/enterprises/E1", "a[data-action=print]")
    page.click("a[data-action=print]")
    page.wait_for_selector("article.print-doc svg.map")
    doc = page.inner_text("article.print-doc")
    for words in ("证据材料：桂林市某化工有限公司（E1）", "为何排在此处", "E1 台账缺口", "8.8 吨", "数据期间", "截至 2021-04-01",
                  "排序模型版本", "来源与去向", "桂C12345", "S1"):
        assert words in doc, words
    assert page.locator("article.print-doc svg.chart.ledger").count() == 1
    page.emulate_media(media="print")
    assert page.is_hidden("#tabs") and page.is_hidden(".print-actions")
    pdf = tmp_path / "evidence-E1.pdf"
    page.pdf(path=str(pdf), format="A4", print_background=True)
    png = tmp_path / "evidence-E1.png"
    page.screenshot(path=str(png), full_page=True)
    assert pdf.read_bytes()[:5] == b"%PDF-" and pdf.stat().st_size > 20_000
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    shot(page, "14-evidence-file")
    page.emulate_media(media="screen")
    ui.assert_clean()



def test_the_tip_form_finds_the_named_enterprise_by_name_within_the_county(web, ui):
    page = ui.page
    ui.sign_in(web[1]["inv_lingui"], expect="table.leads")
    ui.route("#/tip-new", "form.intake")
    assert "E1" not in page.inner_text("#tip-enterprise-hint")  # no internal id as the example
    page.fill("#tip-enterprise", "阳朔")  # 阳朔县's firm: not this county's, so not found
    page.wait_for_selector("#tip-enterprise-list li:has-text('没有找到')")
    page.fill("#tip-enterprise", "桂林")
    page.wait_for_selector("#tip-enterprise-list li[role=option]")
    assert page.eval_on_selector_all("#tip-enterprise-list li[role=option]", "o => o.map(x => x.dataset.id)") == ["E1"]
    page.select_option("#tip-channel", "12369")
    page.fill("#tip-text", "化工厂后门夜里有槽罐车")
    page.click("form.intake button[type=submit]")  # typed but not picked: asked to pick
    page.wait_for_selector("form.intake .error:has-text('请从列表中选择')")
    page.focus("#tip-enterprise")
    page.keyboard.press("ArrowDown")
    page.keyboard.press("Enter")
    assert "桂林市某化工有限公司（E1，临桂区）" in page.inner_text("p.chosen")
    shot(page, "14-tip-form-finder")
    page.click("form.intake button[type=submit]")
    page.wait_for_function("() => location.hash.startsWith('#/tip/W')")
    tip_id = page.evaluate("() => decodeURIComponent(location.hash.slice(6))")
    assert api(web, "inv", f"/v1/tips/{tip_id}")["enterprise_id"] == "E1"
    page.wait_for_selector("p.after-data")  # received now, after the data ends: said, not "no stops"
    assert "晚于数据截止日" in page.inner_text("section[aria-labelledby=sec-tip-corroboration]")
    ui.assert_clean()


