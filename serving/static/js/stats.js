// The campaign's statistics for leadership: per county and month, per stage of the action plan, the
// precision of the lists by month; charts (charts.js) and an Excel export.

import * as api from "./api.js";
import { cached, errorBox, loading, pageTitle, section, session } from "./common.js";
import { campaignBars, precisionLine } from "./charts.js";
import { clear, fmt, h, put, table } from "./dom.js";
import { label, t } from "./i18n.js";

const COUNTS = ["issued", "checked", "confirmed", "unfounded", "handed_over", "criminal"];

function countCells(r) {
  return [...COUNTS.map((k) => h("td", { class: "n", "data-k": k }, fmt.int(r[k]))),
    h("td", { class: "n", "data-k": "tonnes" }, fmt.num(r.tonnes, 3)), h("td", { class: "n", "data-k": "median_days" }, fmt.num(r.median_days, 1))];
}

const countHeads = () => [...COUNTS.map((k) => t(`stats.${k}`)), t("stats.tonnes"), t("stats.median_days")];

/** Months summed over counties, for the chart. */
function perMonth(rows) {
  const out = new Map();
  for (const r of rows) {
    const m = out.get(r.month) || Object.fromEntries([["month", r.month], ...COUNTS.map((k) => [k, 0])]);
    for (const k of COUNTS) m[k] += r[k];
    out.set(r.month, m);
  }
  return [...out.values()].sort((a, b) => a.month.localeCompare(b.month));
}

/** #/stats */
export function render(main, { params }) {
  const body = h("div");
  const county = h("select", { id: "st-county", disabled: Boolean(session.me?.county) });
  const from = h("input", { id: "st-from", type: "month", value: params.month_from || "" });
  const to = h("input", { id: "st-to", type: "month", value: params.month_to || "" });
  const query = () => ({ county: county.value || undefined, month_from: from.value || undefined, month_to: to.value || undefined });
  const go = () => {
    const p = new URLSearchParams(Object.entries(query()).filter(([, v]) => v));
    location.hash = `#/stats${p.toString() ? `?${p}` : ""}`;
  };
  for (const el of [county, from, to]) el.addEventListener("change", go);
  const exportBtn = h("button", { type: "button", "data-action": "export",
    onclick: () => api.download("/v1/stats/export", query(), "campaign_stats.xlsx").catch((e) => put(clear(body), errorBox(e))) }, t("export.xlsx"));
  put(main, pageTitle(t("stats.title")),
    h("form", { class: "filters", onsubmit: (e) => e.preventDefault() },
      h("div", { class: "field" }, h("label", { for: "st-county" }, t("filter.county")), county),
      h("div", { class: "field" }, h("label", { for: "st-from" }, t("stats.from")), from),
      h("div", { class: "field" }, h("label", { for: "st-to" }, t("stats.to")), to),
      h("div", { class: "field actions" }, exportBtn)),
    body);
  cached("/v1/filters").then((f) => {
    const scoped = session.me?.county;
    put(county, scoped ? h("option", { value: scoped }, scoped) : [h("option", { value: "" }, t("stats.city")),
      f.counties.map((c) => h("option", { value: c, selected: params.county === c }, c))]);
  }).catch(() => put(county, h("option", { value: "" }, session.me?.county || t("stats.city"))));

  async function load(p) {
    put(clear(body), loading());
    try {
      const st = await api.get("/v1/stats", p);
      const tot = st.totals;
      const cards = h("div", { class: "stat-cards" }, [...COUNTS, "tonnes", "median_days"].map((k) =>
        h("div", { class: "stat card", "data-k": k }, h("div", { class: "label" }, t(`stats.${k}`)),
          h("div", { class: "value" }, k === "tonnes" ? fmt.num(tot[k], 3) : k === "median_days" ? fmt.num(tot[k], 1) : fmt.int(tot[k])))));
      const series = [["issued", t("stats.issued")], ["confirmed", t("stats.confirmed")], ["unfounded", t("stats.unfounded")],
        ["handed_over", t("stats.handed_over")]];
      put(clear(body),
        h("p", { class: "muted" }, st.county ? t("stats.scope", { county: st.county }) : t("stats.scopeCity")),
        cards,
        section("stats.byMonth", campaignBars(perMonth(st.by_month), series),
          st.by_month.length ? table([t("col.county"), t("stats.month"), ...countHeads()],
            st.by_month.map((r) => h("tr", { "data-county": r.county || "", "data-month": r.month }, h("td", {}, r.county || "—"),
              h("td", {}, r.month), countCells(r))), { class: "stats by-month" }) : h("p", { class: "empty" }, t("stats.empty"))),
        section("stats.byStage", table([t("stats.stage"), t("stats.firstDay"), ...countHeads()],
          st.by_stage.map((r) => h("tr", {}, h("td", {}, r.stage), h("td", {}, r.first_day || "—"), countCells(r))), { class: "stats by-stage" })),
        section("stats.precision", precisionLine(st.precision),
          table([t("stats.month"), t("stats.asOf"), t("stats.list"), "k", t("stats.concluded"), t("stats.confirmed"), t("stats.precisionCol")],
            st.precision.map((r) => h("tr", { "data-kind": r.kind, "data-month": r.month }, h("td", {}, r.month), h("td", {}, r.as_of),
              h("td", {}, label("kind", r.kind)), h("td", { class: "n" }, String(r.k)), h("td", { class: "n" }, String(r.concluded)),
              h("td", { class: "n" }, String(r.confirmed)), h("td", { class: "n" }, r.precision === null ? "—" : fmt.num(r.precision, 3)))),
            { class: "stats precision" })));
    } catch (err) {
      put(clear(body), errorBox(err));
    }
  }
  load(params);
  return { update: (p) => load(p) };
}
