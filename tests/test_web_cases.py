"""One walk through the case desk in Debian's Chromium, against the real app on a loopback port (the
hand-built snapshot and lists of the service tests, a database of its own): an investigator takes a
lead, moves it through the statuses, concludes it and sees the list re-rank, and exports the list; the
bureau hands a case over and the police accept it; the statistics reflect both."""

from __future__ import annotations

import pytest
from openpyxl import load_workbook

from tests.web_fixtures import ids_in_list
from tests.web_support import browsing, chromium, live_service, shot

pytestmark = pytest.mark.browser


def test_a_lead_taken_concluded_handed_over_accepted_and_counted(tmp_path_factory, hand_snapshot, tmp_path):
    home = tmp_path_factory.mktemp("webcases")
    with live_service(home, hand_snapshot) as (server, tokens), chromium() as browser:
        with browsing(browser, server.url) as ui:  # the investigator of 临桂区
            page = ui.page
            ui.sign_in(tokens["inv_lingui"], expect="table.leads")
            assert ids_in_list(page) == ["E1", "E5"]
            assert page.inner_text("tr[data-id=E1] td.rank").startswith("1")
            assert "待核查" in page.inner_text("tr[data-id=E1] td.status")
            page.click("tr[data-id=E1] a.case-link")
            page.wait_for_selector("form.case-form")
            assert "待核查" in page.inner_text("#case-status")
            page.fill("#case-move-note", "去现场")
            page.click("[data-action=take]")
            page.wait_for_function("() => document.querySelector('#case-status')?.innerText?.includes('核查中')")
            assert page.inner_text("#case-assignee") == "inv_lingui"
            page.select_option("#case-move-status", "已立案")
            page.fill("#case-move-note", "台账与联单不符")
            page.click("[data-action=move]")
            page.wait_for_function("() => document.querySelector('#case-status')?.innerText?.includes('已立案')")
            page.wait_for_function("() => document.querySelectorAll('table.history tbody tr').length === 2")
            page.click("[data-action=record-outcome]")
            page.wait_for_selector("dialog[open] form.outcome-form")
            page.check("input[name=outcome][value=confirmed]")
            page.select_option("#oc-violation", "dumping_3t")
            page.fill("#oc-tonnes", "4.2")
            page.click("dialog form button[type=submit]")
            page.wait_for_function("() => document.querySelector('#case-status')?.innerText?.includes('已结案-属实')")
            page.wait_for_function("() => document.querySelectorAll('table.history tbody tr').length === 3")
            shot(page, "cases-01-concluded")

            ui.route("#/cases", "table.cases")  # 我的线索
            assert page.eval_on_selector_all("table.cases tbody tr", "rs => rs.map(r => r.dataset.id)") == ["E1"]
            ui.route("#/enterprises", "table.leads")  # the list without E1, re-ranked
            page.wait_for_function("() => [...document.querySelectorAll('table.leads tbody tr')].map(r => r.dataset.id).join() === 'E5'")
            assert page.inner_text("tr[data-id=E5] td.rank").startswith("1")
            with page.expect_download() as dl:
                page.click("form.filters [data-action=export]")
            path = tmp_path / "list.xlsx"
            dl.value.save_as(path)
            rows = list(load_workbook(path).worksheets[0].iter_rows(values_only=True))
            assert rows[0][:4] == ("排名", "名单原排名", "企业编号", "企业名称") and [r[2] for r in rows[1:]] == ["E5"]
            ui.assert_clean()

        with browsing(browser, server.url) as ui:  # the bureau of 临桂区 hands E5 over
            page = ui.page
            ui.sign_in(tokens["env_lingui"], expect="table.mismatch")
            ui.route("#/handovers", "form.handover-form")
            page.fill("#ho-enterprise", "E5")
            page.check("input[name=findings][value=移送公安]")
            page.fill("#ho-tonnes", "3.5")
            page.fill("#ho-evidence", "桂环罚〔2021〕12号\n采样报告 S-03")
            page.click("[data-action=hand-over]")
            page.wait_for_selector("table.handovers tr[data-status=handed]")
            assert "3 天" in page.inner_text("table.handovers tr[data-status=handed]")
            assert page.locator("[data-action=accept]").count() == 0  # the bureau does not accept its own
            ui.assert_clean()

        with browsing(browser, server.url) as ui:  # the police accept it
            page = ui.page
            ui.sign_in(tokens["inv_lingui"], expect="table.leads")
            ui.route("#/handovers", "table.handovers tr[data-status=handed]")
            page.click("tr[data-status=handed] [data-action=accept]")
            page.wait_for_selector("table.handovers tr[data-status=accepted]")
            ui.route("#/case/enterprise/E5", "#case-status")
            page.wait_for_function("() => document.querySelector('#case-status')?.innerText?.includes('已立案')")
            shot(page, "cases-02-accepted")
            ui.assert_clean()

        with browsing(browser, server.url) as ui:  # leadership reads the numbers
            page = ui.page
            ui.sign_in(tokens["auditor"])
            ui.route("#/stats", ".stat-cards")
            cards = {k: page.inner_text(f".stat-cards [data-k={k}] .value") for k in
                     ("issued", "checked", "confirmed", "handed_over", "criminal", "tonnes")}
            assert cards == {"issued": "2", "checked": "2", "confirmed": "1", "handed_over": "1", "criminal": "1", "tonnes": "4.2"}
            assert page.locator("svg.chart.campaign rect.bar").count() >= 4
            assert page.locator("svg.chart.precision circle.dot").count() >= 1
            assert page.locator("table.by-month tbody tr[data-county=临桂区]").count() == 1
            shot(page, "cases-03-stats")
            ui.assert_clean()
