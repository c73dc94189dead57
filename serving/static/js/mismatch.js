// The ledger cross-check for the environment bureau: per enterprise, month and waste code in
// tonnes, the 3-tonne criminal standard called out; filters, pages, and the CSV export (the API's
// own file: UTF-8 with a byte-order mark, so Excel opens the Chinese names correctly).

import * as api from "./api.js";
import { cached, enterpriseLink, errorBox, loading, pageTitle, retryWhenWarming, session, warmedUp } from "./common.js";
import { clear, fmt, h, put, table } from "./dom.js";
import { t } from "./i18n.js";
import { pager } from "./lists.js";
import { notify } from "./notice.js";

const GAPS = ["generated_t", "accounted_t", "balance_gap_t", "manifest_gap_t", "receipt_gap_t", "power_gap_t", "unaccounted_t"];
const FILTERS = ["county", "enterprise_id", "category", "month_from", "month_to", "min_gap_t", "over_3t", "sort"];

export function render(main, { params }) {
  let state = { ...params };
  let seq = 0;
  const info = h("p", { class: "run-info muted" });
  const body = h("div", { class: "list-body" });
  const exportBtn = h("button", { type: "button", class: "secondary", "data-action": "export", onclick: exportCsv }, t("mismatch.export"));
  const form = h("form", { class: "filters", role: "search", "aria-label": t("filter.label") });
  put(main, pageTitle(t("tab.mismatch"), exportBtn), h("p", { class: "muted" }, t("mismatch.help")), form, info, body);

  const query = () => Object.fromEntries(Object.entries(state).filter(([k, v]) => FILTERS.includes(k) && v !== ""));

  function apply(extra = {}) {
    const p = {};
    for (const el of form.elements) if (el.name && !el.disabled && el.value !== "") p[el.name] = el.value;
    Object.assign(p, extra);
    if (!p.offset || p.offset === "0") delete p.offset;
    if (p.limit === "50") delete p.limit;
    if (p.sort === "unaccounted") delete p.sort;
    location.hash = `#/mismatch${Object.keys(p).length ? `?${new URLSearchParams(p)}` : ""}`;
  }
  form.addEventListener("submit", (e) => { e.preventDefault(); apply(); });
  form.addEventListener("change", (e) => { if (e.target.tagName === "SELECT") apply(); });

  let built = false;
  async function buildForm() {
    if (built) {
      for (const el of form.elements) if (el.name && !el.disabled) el.value = state[el.name] ?? ({ limit: "50", sort: "unaccounted" }[el.name] || "");
      return;
    }
    built = true;
    let f = { counties: [], categories: [] };
    try { f = await cached("/v1/filters"); } catch (err) { put(body, errorBox(err)); }
    const scoped = session.me?.county;
    const opt = (v, text, cur) => h("option", { value: v, selected: String(cur ?? "") === String(v) }, text);
    const fld = (name, input) => h("div", { class: "field" }, h("label", { for: `m-${name}` }, t(`mismatch.f.${name}`)), input);
    put(form, 
      fld("county", h("select", { id: "m-county", name: "county", disabled: Boolean(scoped) },
        scoped ? opt(scoped, scoped, scoped) : [opt("", t("filter.all")), f.counties.map((c) => opt(c, c, state.county))])),
      fld("enterprise_id", h("input", { id: "m-enterprise_id", name: "enterprise_id", type: "text", maxlength: "64", value: state.enterprise_id ?? "" })),
      fld("category", h("select", { id: "m-category", name: "category" }, opt("", t("filter.all")), f.categories.map((c) => opt(c, c, state.category)))),
      fld("month_from", h("input", { id: "m-month_from", name: "month_from", type: "month", value: state.month_from ?? "" })),
      fld("month_to", h("input", { id: "m-month_to", name: "month_to", type: "month", value: state.month_to ?? "" })),
      fld("min_gap_t", h("input", { id: "m-min_gap_t", name: "min_gap_t", type: "number", min: "0", step: "0.1", value: state.min_gap_t ?? "", inputmode: "decimal" })),
      fld("over_3t", h("select", { id: "m-over_3t", name: "over_3t" }, opt("", t("filter.all")),
        opt("row", t("mismatch.over.row"), state.over_3t), opt("enterprise", t("mismatch.over.enterprise"), state.over_3t))),
      fld("sort", h("select", { id: "m-sort", name: "sort" }, ["unaccounted", "score", "month"].map((v) => opt(v, t(`mismatch.sort.${v}`), state.sort ?? "unaccounted")))),
      h("div", { class: "field" }, h("label", { for: "m-limit" }, t("filter.limit")),
        h("select", { id: "m-limit", name: "limit" }, [25, 50, 100, 200].map((n) => opt(String(n), String(n), state.limit ?? "50")))),
      h("div", { class: "field actions" }, h("button", { type: "submit", class: "primary" }, t("filter.apply")),
        h("button", { type: "button", onclick: () => { location.hash = "#/mismatch"; } }, t("filter.reset"))));
  }

  async function load() {
    const mine = ++seq;
    const limit = Number(state.limit) || 50;
    const offset = Number(state.offset) || 0;
    if (!body.querySelector(".warming")) put(clear(body), loading(t("tab.mismatch")));
    try {
      const page = await api.get("/v1/ledger-mismatch", { ...query(), limit, offset });
      if (mine !== seq) return;
      warmedUp(body);
      put(clear(info), t("mismatch.info", { as_of: page.run.as_of, total: page.total }));
      const rows = page.items.map((r) => h("tr", { class: r.over_3t ? "over" : "", "data-id": r.enterprise_id },
        h("td", {}, enterpriseLink(r.enterprise_id, r.name), h("div", { class: "sub" }, r.enterprise_id)),
        h("td", {}, r.county || "—"), h("td", {}, r.month), h("td", { class: "code" }, r.waste_code),
        GAPS.map((c) => h("td", { class: c === "unaccounted_t" ? "n strong" : "n" }, fmt.num(r[c], 2),
          c === "unaccounted_t" && r.over_3t ? h("span", { class: "badge over" }, "≥3 t") : null)),
        h("td", { class: "n" }, fmt.num(r.enterprise_unaccounted_t_365d, 2),
          r.enterprise_over_3t ? h("span", { class: "badge over" }, "≥3 t") : null),
        h("td", { class: "n" }, fmt.score(r.score))));
      put(clear(body), 
        page.items.length ? null : h("p", { class: "empty" }, t("list.empty")),
        table([t("col.enterprise"), t("col.county"), t("ledger.month"), t("ledger.code"), ...GAPS.map((c) => t(`ledger.${c}`)),
          t("mismatch.total365"), t("col.score")], rows, { class: "mismatch" }),
        pager(page.total, limit, offset, (p) => apply({ limit: String(limit), offset: String((p - 1) * limit) })));
    } catch (err) {
      if (mine === seq && !retryWhenWarming(body, err, () => { if (mine === seq) load(); })) put(clear(body), errorBox(err));
    }
  }

  async function exportCsv() {
    exportBtn.disabled = true;
    try {
      const file = await api.download("/v1/ledger-mismatch/export", query(), "ledger_mismatch.csv");
      notify(t("mismatch.exported", { name: file.name, kb: Math.max(1, Math.round(file.size / 1024)) }));
    } catch (err) {
      body.prepend(errorBox(err));
    } finally {
      exportBtn.disabled = false;
    }
  }

  async function update(p) {
    state = { ...p };
    if (session.me?.county) delete state.county;
    await buildForm();
    await load();
  }
  update(params);
  return { update };
}
