"""The web page in Debian's Chromium, against the real app served by uvicorn on a loopback port
(the hand-built snapshot, lists and users of the service tests; a champion registered in this
module's own MLflow store). Every test records each request the page makes and fails if one
leaves the machine or a script error occurs. Screenshots go to tests/artifacts/screenshots/."""

from __future__ import annotations

import contextlib

import httpx
import pytest

from tests.service_support import mlflow_env_kept
from tests.web_support import SCREENSHOTS, browsing, chromium, live_service, shot

pytestmark = pytest.mark.browser
FOLDS = ("2021-01-31", "2021-02-28")
MODELS = {"lgbm": 0.62, "logistic": 0.48, "rules": 0.41}


def register_champion(home, mlflow_uri: str) -> str:
    """An enterprise model (a dummy: the page shows what the registry says) registered and promoted,
    with evaluation metrics per fold and model logged in its run, as the training pipeline does."""
    import mlflow
    import pandas as pd
    from sklearn.dummy import DummyClassifier

    from hazleads.settings import Settings
    from training import registry

    before = mlflow.get_tracking_uri()
    try:
        with mlflow_env_kept():
            registry.configure(Settings(home=home / "home", mlflow_tracking_uri=mlflow_uri))
            x = pd.DataFrame({"unaccounted_t_365d": [0.0, 0.5, 4.0, 9.0], "night_stops_near_water_90d": [0.0, 0.0, 1.0, 2.0]})
            model = DummyClassifier(strategy="prior").fit(x, [0, 0, 1, 1])
            with mlflow.start_run():
                mlflow.set_tags({"as_of": "2021-04-01", "snapshot_digest": "hand"})
                # the keys the training pipeline logs: entity/fold/model/metric, where the metric of
                # labelled rows has a slash of its own (five parts); overlap and rows have four
                mlflow.log_metrics({f"enterprise/{fold}/{name}/{metric}": v for i, fold in enumerate(FOLDS)
                                    for name, base in MODELS.items()
                                    for metric, v in (("labels/precision_at_20", base + i / 100), ("labels/recall_at_20", base / 2),
                                                      ("labels/ap", base - 0.1), ("overlap_at_20", 0.5), ("rows", 40.0))})
                # and the per-group tables, from the same function on a hand-made fold (two months)
                for col, table in bias_tables().items():
                    mlflow.log_text(table.to_csv(index=False), f"bias_audit_{col}.csv")
                gate = "promoted: precision@20 (labels, latest fold; ties by average precision) 0.6300 (first champion)"
                version = registry.log_model(model, "enterprise", x, tags={"model": "learned", "gate": gate})
                mlflow.set_tags({"enterprise_version": version, "enterprise_gate": "promoted (first champion)",
                                 "enterprise_model": "learned"})
            registry.promote("enterprise", version)
    finally:
        mlflow.set_tracking_uri(before)
    return version


def bias_tables():
    """``bias_audit`` per county and industry group of the hand-built enterprises over two months:
    临桂区 (E1, E5) has 4 rows, 3 investigated; its labelled precision@20 is (1/2 + 1/1) / 2 = 0.75."""
    import numpy as np
    import pandas as pd

    from training.evaluate import bias_audit

    nan = np.nan
    f = pd.DataFrame({"as_of": ["a"] * 5 + ["b"] * 5, "entity_id": ["E1", "E2", "E3", "E4", "E5"] * 2,
                      "county": ["临桂区", "七星区", "雁山区", "阳朔县", "临桂区"] * 2,
                      "industry_group": ["chemical", "other", "battery_collection", "vehicle_repair", "electroplating"] * 2,
                      "score": [0.9, 0.2, 0.3, 0.5, 0.7, 0.8, 0.1, 0.3, 0.4, 0.6],
                      "label": [1, nan, 0, 1, 0, 1, nan, nan, nan, nan]})
    return {col: bias_audit(f, col, 20) for col in ("county", "industry_group")}


@pytest.fixture(scope="module")
def web(tmp_path_factory, hand_snapshot):
    home = tmp_path_factory.mktemp("web")
    uri = f"sqlite:///{home / 'mlflow.db'}"
    import mlflow

    before = mlflow.get_tracking_uri()
    register_champion(home, uri)
    with live_service(home, hand_snapshot, mlflow_uri=uri) as (server, tokens):
        yield server, tokens
    mlflow.set_tracking_uri(before)


@pytest.fixture(scope="module")
def browser():
    with chromium() as b:
        yield b


@pytest.fixture
def ui(web, browser):
    server, _ = web
    with browsing(browser, server.url) as b:
        yield b


def api(web, who: str, path: str, **params):
    server, tokens = web
    r = httpx.get(f"{server.url}{path}", params=params, headers={"Authorization": f"Bearer {tokens[who]}"}, timeout=10)
    assert r.status_code == 200, r.text
    return r.json()


def visible_tabs(page) -> list[str]:
    return page.eval_on_selector_all("#tabs a[data-tab]", "els => els.filter(a => !a.hidden).map(a => a.dataset.tab)")


def ids_in_list(page) -> list[str]:
    return page.eval_on_selector_all("table.leads tbody tr", "rows => rows.map(r => r.dataset.id)")


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


def test_model_owner_sees_the_champion_its_evaluation_and_the_last_runs(web, ui):
    page = ui.page
    ui.sign_in(web[1]["admin"], expect="table.leads")
    assert visible_tabs(page) == ["enterprises", "tips", "sites", "vehicles", "tip-new", "mismatch", "cases", "handovers",
                                  "stats", "models"]
    ui.route("#/models", "table.compare")
    card = "section[aria-labelledby=sec-models-kind-enterprise]"
    assert page.inner_text(f"{card} dd.champion") == "v1" and page.inner_text(f"{card} dd.champion-source") == "学习模型"
    # the version beside its baselines: five-part metric names read in Chinese, the learned model's 0.625 best
    compare = page.inner_text(f"{card} table.compare")
    assert "前 20 名精确率（按核查结论）" in compare and "平均精度 AP（按核查结论）" in compare
    assert "规则评分（基线）" in compare and "逻辑回归（基线）" in compare
    assert page.inner_text(f"{card} table.compare tr[data-model=lgbm] td.strong").startswith("0.625")  # (0.62 + 0.63) / 2
    assert "已晋升（首个冠军）：前 20 名精确率" in page.inner_text(f"{card} details.version summary .gate")
    # per county and industry, folded under the version
    page.click(f"{card} details.version[data-version='1'] details.groups > summary")
    lingui = [c.strip() for c in page.locator(f"{card} table.by-county tr[data-group='临桂区'] td").all_inner_texts()]
    assert lingui[:7] == ["临桂区", "4", "75.0%", "66.7%", "3", "0.750", "1.000"]
    assert "化工" in page.inner_text(f"{card} table.by-industry") and "按行业" in page.inner_text(f"{card} details.groups")
    rows = page.locator(f"{card} table.evaluation tbody tr")
    assert rows.count() == len(FOLDS) * len(MODELS)
    head = [page.get_attribute(f"{card} table.evaluation thead th[data-metric='{m}']", "title") for m in
            ("labels/precision@20", "labels/recall@20", "labels/ap", "overlap@20", "rows")]
    assert None not in head  # every stored metric has its column, five-part names included
    assert "前 20 名清单稳定度" in page.text_content(f"{card} table.evaluation thead")  # folded under the versions
    assert "0.630" in page.text_content(f"{card} table.evaluation")  # lgbm, second fold
    runs = page.inner_text("section[aria-labelledby=sec-models-runs] tbody")
    assert "已完成" in runs and "企业模型 · 晋升判定：已晋升（首个冠军）" in runs and "企业模型 · 类型：学习模型" in runs
    assert page.locator("section[aria-labelledby=sec-models-lists] tbody tr").count() == 2
    assert "尚无冠军模型" in page.inner_text("section[aria-labelledby=sec-models-kind-tip]")
    shot(page, "11-models")

    page.once("dialog", lambda d: d.accept())  # rolling back asks first; v1 replaced nothing: refused, said so
    page.click(f"{card} [data-action=rollback-enterprise]")
    page.wait_for_selector(f"{card} .error[data-status='409']")
    assert "没有可回滚的版本" in page.inner_text(f"{card} .error") and "replaced no earlier champion" in page.inner_text(f"{card} .error")
    assert api(web, "admin", "/v1/models")["models"][0]["champion"] == "1"
    page.once("dialog", lambda d: d.dismiss())  # training asks first; dismissed, nothing starts
    page.click("[data-action=train]")
    assert api(web, "admin", "/v1/training")["items"] == []
    # user management: add (the token shown once), replace a token, disable — each confirmed
    page.fill("#u-name", "field_officer")
    page.select_option("#u-role", "investigator")
    page.select_option("#u-county", "临桂区")
    page.click("form.add-user button[type=submit]")
    page.wait_for_selector(".token-once code.token")
    first = page.inner_text(".token-once code.token")
    page.wait_for_selector("table.users tr[data-user=field_officer]")
    assert httpx.get(f"{web[0].url}/v1/me", headers={"Authorization": f"Bearer {first}"}, timeout=10).json()["county"] == "临桂区"
    page.once("dialog", lambda d: d.accept())
    page.click("table.users tr[data-user=field_officer] [data-action=rotate]")
    page.wait_for_function("t => document.querySelector('.token-once code.token')?.textContent !== t", arg=first)
    second = page.inner_text(".token-once code.token")
    assert httpx.get(f"{web[0].url}/v1/me", headers={"Authorization": f"Bearer {first}"}, timeout=10).status_code == 401
    page.once("dialog", lambda d: d.accept())
    page.click("table.users tr[data-user=field_officer] [data-action=disable]")
    page.wait_for_selector("table.users tr[data-user=field_officer].disabled")
    assert httpx.get(f"{web[0].url}/v1/me", headers={"Authorization": f"Bearer {second}"}, timeout=10).status_code == 401
    shot(page, "15-models-users")
    ui.assert_clean()


def test_keyboard_only_use_labelled_controls_and_no_request_leaves_the_machine(web, ui):
    page = ui.page
    ui.goto()
    page.wait_for_selector("#token")
    page.focus("#token")
    page.keyboard.type(web[1]["inv"])
    page.keyboard.press("Enter")
    page.wait_for_selector("table.leads")
    for _ in range(100):  # Tab through the header, tabs and filters to the first lead
        page.keyboard.press("Tab")
        if page.evaluate("() => document.activeElement.closest('tr')?.dataset.id") == "E1":
            break
    else:
        pytest.fail("the first lead cannot be reached with the keyboard")
    page.keyboard.press("Enter")
    page.wait_for_selector("svg.map")
    page.focus("svg.map")
    before = page.get_attribute("svg.map [data-kind=self]", "points")
    page.keyboard.press("+")  # zoomed by keyboard: the star is drawn again, larger around it
    page.wait_for_function("b => document.querySelector('svg.map [data-kind=self]').getAttribute('points') !== b", arg=before)

    unlabelled = """() => [...document.querySelectorAll('input, select, textarea')].filter(el =>
        el.type !== 'hidden' && !el.labels?.length && !el.getAttribute('aria-label')).map(el => el.id || el.name)"""
    for route, ready in (("#/enterprises", "table.leads"), ("#/tips", "table.leads"), ("#/tips/all", "table.leads"),
                         ("#/sites", "table.leads"), ("#/tip-new", "form.intake"), ("#/mismatch", "table.mismatch"),
                         ("#/cases", "main form.filters"), ("#/case/enterprise/E1", "form.case-form"),
                         ("#/handovers", "main .card"), ("#/stats", ".stat-cards"),
                         ("#/enterprise/E1", "svg.map"), ("#/site/S1", "svg.map"), ("#/tip/T2", "blockquote")):
        ui.route(route, ready)
        assert page.evaluate(unlabelled) == [], route
    page.click("[data-action=record-outcome]")
    assert page.evaluate(unlabelled) == []
    page.keyboard.press("Escape")
    page.wait_for_selector("dialog:not([open])", state="attached")
    hosts = {u.split("/")[2] for u in ui.requests}
    assert hosts == {web[0].url.split("/")[2]}, hosts
    ui.assert_clean()


def test_a_wrong_token_is_refused_and_signing_out_forgets_the_token(web, ui):
    page = ui.page
    ui.goto()
    page.fill("#token", "not-a-token-0123456789")
    page.click("form.signin button[type=submit]")
    page.wait_for_selector("form.signin .error")
    assert page.locator("#tabs").is_hidden()
    ui.sign_in(web[1]["auditor"])
    assert visible_tabs(page) == ["stats"] and "/v1/audit" in page.inner_text("main")
    page.click("#sign-out")
    page.wait_for_selector("form.signin")
    assert page.evaluate("() => sessionStorage.getItem('hazleads.token')") is None
    ui.assert_clean()


def test_a_late_answer_never_replaces_the_tab_the_user_went_to(web, ui):
    """Slow network: an enterprise is clicked, then the ledger tab before the enterprise answers.
    The enterprise's answer is held back until the ledger page is drawn, then let through: the
    address bar, the highlighted tab and the content must all still be the ledger's."""
    page = ui.page
    ui.sign_in(web[1]["inv"], expect="table.leads")
    held = []
    page.route("**/v1/enterprises/E1?*", lambda route: held.append(route))
    with page.expect_request("**/v1/enterprises/E1?*"):
        page.click("tr[data-id=E1] td.id a")
    page.click("#tabs a[data-tab=mismatch]")
    page.wait_for_selector("table.mismatch")
    assert len(held) == 1
    with contextlib.suppress(Exception):  # the page aborted it: nothing to let through
        held[0].continue_()
    page.unroute("**/v1/enterprises/E1?*")
    page.wait_for_timeout(800)  # room for a late answer to be drawn, if the page would draw it
    assert page.evaluate("() => location.hash") == "#/mismatch"
    assert page.get_attribute("#tabs a[aria-current=page]", "data-tab") == "mismatch"
    assert page.locator("main h1").count() == 1 and page.locator("main table.mismatch").count() == 1
    assert page.locator("main svg.chart").count() == 0 and "桂林市某化工有限公司" not in page.inner_text("main h1")
    ui.assert_clean()


def test_warm_up_retries_by_itself_and_offline_says_check_the_network(web, ui):
    page = ui.page
    calls = []

    def warming(route):
        calls.append(route.request.url)
        if len(calls) <= 2:  # as the service answers before its first list is stored
            route.fulfill(status=503, content_type="application/json", headers={"Retry-After": "30"},
                          body='{"detail": "not ready: no lead list yet: the scoring job has not finished", "request_id": "w"}')
        else:
            route.continue_()

    page.route("**/v1/leads/enterprises?*", warming)
    ui.sign_in(web[1]["inv"], expect=".warming")
    assert "正在准备线索清单" in page.inner_text(".warming") and "自动重试" in page.inner_text(".warming")
    assert page.locator("main .error").count() == 0  # no red box, no English
    page.wait_for_selector("table.leads")  # retried without a click
    assert len(calls) == 3 and ids_in_list(page)[0] == "E1"
    page.unroute("**/v1/leads/enterprises?*")
    calls.clear()
    page.route("**/v1/enterprises/E1?*", warming)  # a detail page waits and retries the same way
    ui.route("#/enterprise/E1", ".warming")
    page.wait_for_selector("svg.chart.ledger")
    assert len(calls) == 3 and page.inner_text("main h1") == "桂林市某化工有限公司"
    page.unroute("**/v1/enterprises/E1?*")

    page.route("**/v1/leads/sites?*", lambda route: route.abort("internetdisconnected"))
    ui.route("#/sites", "main .error")
    assert "无法连接服务器，请检查网络" in page.inner_text("main .error")
    assert "Failed to fetch" not in page.inner_text("main")
    page.click("#lang")
    page.wait_for_function("() => document.querySelector('main .error')?.textContent.includes('check your network')")
    page.click("#lang")
    page.wait_for_function("() => document.documentElement.lang === 'zh-CN'")
    ui.assert_clean()


def test_a_revoked_token_leads_to_sign_in_with_the_reason(web, ui):
    server, tokens = web
    admin = {"Authorization": f"Bearer {tokens['admin']}"}
    made = httpx.post(f"{server.url}/v1/users", json={"name": "revoked_in_browser", "role": "investigator"},
                      headers=admin, timeout=10)
    assert made.status_code == 201, made.text
    page = ui.page
    ui.sign_in(made.json()["token"], expect="table.leads")
    gone = httpx.delete(f"{server.url}/v1/users/{made.json()['id']}", headers=admin, timeout=10)
    assert gone.status_code == 204
    page.click("#tabs a[data-tab=sites]")
    page.wait_for_selector("form.signin .error")
    page.wait_for_timeout(300)  # the redirect's own navigation has happened by now
    assert page.inner_text("form.signin .error") == "令牌已失效，请重新登录"
    assert page.evaluate("() => location.hash") == "#/login" and page.locator("#tabs").is_hidden()
    assert page.evaluate("() => sessionStorage.getItem('hazleads.token')") is None
    shot(page, "13-token-revoked")
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


PHONE = {"width": 390, "height": 844}
SMALLEST_TEXT = """sel => Math.min(...[...document.querySelectorAll(sel)].flatMap(svg => {
    const k = svg.getBoundingClientRect().width / svg.viewBox.baseVal.width;
    return [...svg.querySelectorAll('text')].filter(x => x.textContent.trim())
        .map(x => parseFloat(getComputedStyle(x).fontSize) * k); }))"""


def test_on_a_phone_lists_are_cards_charts_readable_and_the_map_answers_taps_and_keys(web, browser):
    server, tokens = web
    with browsing(browser, server.url, viewport=PHONE) as ui:
        page = ui.page
        ui.sign_in(tokens["inv"], expect="table.leads")
        assert "数据截至 2021-04-01" in page.inner_text("#data-period")  # the period the lists cover, on every page
        assert page.evaluate("() => document.scrollingElement.scrollWidth") <= PHONE["width"]  # nothing scrolls sideways
        card = page.locator("table.leads tr[data-id=E1]")
        assert page.evaluate("() => getComputedStyle(document.querySelector('table.leads tr[data-id=E1]')).display") == "flex"
        assert card.bounding_box()["width"] <= PHONE["width"]
        for cell in ("td.rank", "td.id", "td.score-cell", "td.county", "td.reasons-cell li:first-child"):
            assert card.locator(cell).is_visible(), cell
        assert "桂林市某化工有限公司" in card.inner_text() and "临桂区" in card.inner_text() and "E1 台账缺口" in card.inner_text()
        assert card.locator("td.code").is_hidden()  # the industry code waits for the detail page
        shot(page, "16-phone-enterprises")
        ui.route("#/tips", "table.leads.tip")
        assert page.locator("table.leads tr[data-id=T3] td.text").is_visible()
        assert page.locator("table.leads tr[data-id=T2] td.text").inner_text().strip() != ""
        shot(page, "17-phone-tips")

        ui.route("#/enterprise/E1", "svg.map")
        page.wait_for_selector("svg.chart.ledger")
        assert "数据截至 2021-04-01" in page.inner_text("#data-period")
        assert page.evaluate(SMALLEST_TEXT, "svg.chart") >= 10  # axis text at 390 px
        assert page.evaluate(SMALLEST_TEXT, "svg.map") >= 10
        # the places' names are drawn, the star lies above the stop circles, the legend holds what is drawn
        assert "漓江" in page.eval_on_selector_all("svg.map text.place-name", "ts => ts.map(t => t.textContent).join(' ')")
        order = page.eval_on_selector_all("svg.map > g.layer", "gs => gs.map(g => g.getAttribute('class'))")
        assert order.index("layer enterprise") > order.index("layer stop") > order.index("layer names") > order.index("layer place")
        for key in page.eval_on_selector_all("figure.map-figure ul.legend li", "ls => ls.map(l => l.dataset.key)"):
            kind, _, sub = key.partition(":")
            sel = {"place": f"[data-layer=place][data-kind={sub}]", "ent": f"[data-layer=enterprise][data-kind={sub}]"}.get(kind, f"[data-layer={kind}]")
            assert page.locator(f"svg.map {sel}").count() >= 1, f"legend names {key}, which is not drawn"
        shot(page, "18-phone-enterprise")
        page.locator("figure.map-figure").screenshot(path=str(SCREENSHOTS / "19-phone-map.png"))
        page.click("svg.map [data-layer=enterprise][data-kind=self]")  # a tap, not a hover
        assert "桂林市某化工有限公司" in page.inner_text(".map-info")
        page.focus("svg.map")
        page.keyboard.press("Tab")  # the first of the lead's own symbols
        focused = page.evaluate("() => document.activeElement.getAttribute('aria-label')")
        assert focused and page.inner_text(".map-info") == focused
        assert "悬停" not in page.inner_text("figure.map-figure") and "鼠标" not in page.inner_text("figure.map-figure")
        ui.assert_clean()
