"""The web page in Debian's Chromium, against the real app served by uvicorn on a loopback port
(the hand-built snapshot, lists and users of the service tests; a champion registered in this
module's own MLflow store). Every test records each request the page makes and fails if one
leaves the machine or a script error occurs. Screenshots go to tests/artifacts/screenshots/."""

from __future__ import annotations

import httpx
import pytest

from tests.service_support import mlflow_env_kept
from tests.web_support import browsing, chromium, live_service, shot

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
                mlflow.log_metrics({f"enterprise/{fold}/{name}/{metric}": v for i, fold in enumerate(FOLDS)
                                    for name, base in MODELS.items()
                                    for metric, v in (("precision_at_20", base + i / 100), ("recall_at_20", base / 2),
                                                      ("average_precision", base - 0.1))})
                version = registry.log_model(model, "enterprise", x)
                mlflow.set_tags({"enterprise_version": version, "enterprise_gate": "promoted"})
            registry.promote("enterprise", version)
    finally:
        mlflow.set_tracking_uri(before)
    return version


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
    assert visible_tabs(page) == ["enterprises", "tips", "sites", "tip-new", "mismatch", "cases", "handovers",
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
    ui.assert_clean()


def test_model_owner_sees_the_champion_its_evaluation_and_the_last_runs(web, ui):
    page = ui.page
    ui.sign_in(web[1]["admin"], expect="table.leads")
    assert visible_tabs(page) == ["enterprises", "tips", "sites", "tip-new", "mismatch", "cases", "handovers", "stats",
                                  "models"]
    ui.route("#/models", "table.evaluation")
    assert page.inner_text("section[aria-labelledby=sec-models-kind-enterprise] dd.champion") == "v1"
    rows = page.locator("section[aria-labelledby=sec-models-kind-enterprise] table.evaluation tbody tr")
    assert rows.count() == len(FOLDS) * len(MODELS)
    head = page.inner_text("table.evaluation thead")
    assert "precision@20" in head and "average_precision" in head
    assert "0.630" in page.inner_text("table.evaluation")  # lgbm, second fold
    assert page.locator("section[aria-labelledby=sec-models-runs] tbody tr").count() == 1
    assert page.locator("section[aria-labelledby=sec-models-lists] tbody tr").count() == 2
    assert "尚无冠军模型" in page.inner_text("section[aria-labelledby=sec-models-kind-tip]")
    shot(page, "11-models")
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
