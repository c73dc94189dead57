// Ranked lead lists (enterprises, tips, sites) and the list of all tips: the API's filters, one
// page of rows at a time (never more than the page size in the DOM), the filter state in the URL.

import * as api from "./api.js";
import { vehicleLink } from "./chainview.js";
import { cached, enterpriseLink, errorBox, exploreBadge, loading, pageTitle, reasonsList, retryWhenWarming, session, warmedUp } from "./common.js";
import { clear, fmt, h, link, put, scoreCell, table } from "./dom.js";
import { label, lang, t } from "./i18n.js";
import { STATUSES, caseLink } from "./cases.js";

const PAGE_SIZES = [25, 50, 100, 200];
const CHANNELS = ["12369", "110", "online", "informant", "patrol", "other"];
const enc = encodeURIComponent;

/** A tip's words, cut to a line or two (an informant's are withheld from readers not entitled). */
const tipText = (i) => h("td", { class: "text" }, i.redacted ? h("span", { class: "badge redacted" }, t("redacted"))
  : (i.text || "").length > 80 ? `${i.text.slice(0, 80)}…` : (i.text || "—"));

// the case desk's filters and the sort (every lead list): what the API's Desk filters take
const DESK = ["status", "mine", "industry_name", "max_score", "sort", "desc"];
const SORTS = ["rank", "score", "name", "county", "industry", "status", "assignee", "due"];
const EXPORT = { enterprise: "/v1/exports/leads/enterprises", tip: "/v1/exports/leads/tips", site: "/v1/exports/leads/sites" };
const idCell = (route, id, sub) => h("td", { class: "id" }, link(route, id), sub ? h("div", { class: "sub" }, sub) : null);

const KINDS = {
  enterprise: {
    title: "list.enterprises", endpoint: "/v1/leads/enterprises", route: "/enterprises",
    filters: ["as_of", "county", "industry", "category", "min_score", "exploration", "name", "over_3t", ...DESK],
    head: ["col.rank", "col.score", "col.enterprise", "col.county", "col.industry", "col.status", "col.assignee", "col.reasons"],
    row: (i) => [h("td", { class: "id" }, enterpriseLink(i.enterprise_id, i.name), h("div", { class: "sub" }, i.enterprise_id)),
      h("td", { class: "county" }, i.county || "—"),
      h("td", { class: "code" }, i.industry_code || "—", i.industry_name ? h("div", { class: "sub" }, i.industry_name) : null)],
  },
  tip: {
    title: "list.tips", endpoint: "/v1/leads/tips", route: "/tips",
    filters: ["as_of", "county", "channel", "corroborated", "min_score", "exploration", ...DESK],
    head: ["col.rank", "col.score", "col.tip", "col.county", "col.channel", "col.text", "col.status", "col.assignee", "col.reasons"],
    row: (i) => [idCell(`/tip/${enc(i.tip_id)}`, i.tip_id, fmt.local(i.received_at)), h("td", { class: "county" }, i.county || "—"),
      h("td", {}, label("channel", i.channel)), tipText(i)],
  },
  site: {
    title: "list.sites", endpoint: "/v1/leads/sites", route: "/sites",
    filters: ["as_of", "county", "industry", "category", "min_score", "exploration", ...DESK],
    head: ["col.rank", "col.score", "col.site", "col.county", "col.linked", "col.status", "col.assignee", "col.reasons"],
    row: (i) => [idCell(`/site/${enc(i.site_id)}`, i.site_id, `${fmt.num(i.lat, 4)}, ${fmt.num(i.lon, 4)}`),
      h("td", { class: "county" }, i.county || "—"),
      h("td", { class: "small" }, i.vehicle_ids.length ? h("div", {}, `${t("vehicles")}: `, i.vehicle_ids.slice(0, 3).map((v, n) => [n ? ", " : "", vehicleLink(v)]),
          i.vehicle_ids.length > 3 ? " …" : "") : null,
        i.enterprise_ids.length ? h("div", {}, `${t("enterprises")}: `, i.enterprise_ids.slice(0, 3).map((e, n) => [n ? ", " : "", enterpriseLink(e)]),
          i.enterprise_ids.length > 3 ? " …" : "") : null)],
  },
  vehicle: {
    title: "list.vehicles", endpoint: "/v1/vehicles", route: "/vehicles", desk: false, // no case desk for vehicles
    filters: ["county", "min_score"],
    head: ["col.rank", "col.score", "col.vehicle", "col.carrier", "col.events", "col.reasons"],
    row: (i) => [idCell(`/vehicles/${enc(i.vehicle_id)}`, i.vehicle_id, i.counties.join("、")),
      h("td", {}, i.transporter_id ? [enterpriseLink(i.transporter_id, i.transporter_name), h("div", { class: "sub" }, i.transporter_id)] : "—"),
      h("td", { class: "n" }, String(i.event_count + i.unpermitted_events))],
  },
  alltips: {
    title: "list.alltips", endpoint: "/v1/tips", route: "/tips/all",
    filters: ["county", "channel", "source", "min_score"],
    head: ["col.tip", "col.received", "col.channel", "col.county", "col.text", "col.score", "col.status"],
  },
};

/** One field of the filter form, from the filter values the API offers this reader. */
function field(name, f, value) {
  const id = `f-${name}`;
  const opt = (v, text) => h("option", { value: v, selected: String(value ?? "") === String(v) }, text);
  let input;
  if (name === "as_of") input = h("select", { id, name }, opt("", t("filter.latest")), [...f.as_of_dates].reverse().map((d) => opt(d, d)));
  else if (name === "county") {
    const scoped = session.me?.county;
    input = h("select", { id, name, disabled: Boolean(scoped) }, scoped ? opt(scoped, scoped) : [opt("", t("filter.all")), f.counties.map((c) => opt(c, c))]);
  } else if (name === "industry") input = h("select", { id, name }, opt("", t("filter.all")), f.industries.map((c) => opt(c, c)));
  else if (name === "category") input = h("select", { id, name }, opt("", t("filter.all")), f.categories.map((c) => opt(c, c)));
  else if (name === "exploration") input = h("select", { id, name }, opt("", t("filter.all")), opt("false", t("filter.modelOnly")), opt("true", t("filter.exploreOnly")));
  else if (name === "channel") input = h("select", { id, name }, opt("", t("filter.all")), CHANNELS.map((c) => opt(c, label("channel", c))));
  else if (name === "corroborated") input = h("select", { id, name }, opt("", t("filter.all")), opt("true", t("filter.corroboratedYes")), opt("false", t("filter.uncorroborated")));
  else if (name === "source") input = h("select", { id, name }, opt("", t("filter.all")), opt("snapshot", label("source", "snapshot")), opt("intake", label("source", "intake")));
  else if (name === "min_score" || name === "max_score") input = h("input", { id, name, type: "number", min: "0", max: "1", step: "0.05", value: value ?? "", inputmode: "decimal" });
  else if (name === "status") input = h("select", { id, name }, opt("", t("filter.open")), STATUSES.map((c) => opt(c, label("case", c))));
  else if (name === "mine" || name === "over_3t" || name === "desc") input = h("select", { id, name }, opt("", t("filter.all")), opt("true", t(`filter.${name}.yes`)));
  else if (name === "sort") input = h("select", { id, name }, SORTS.map((c) => opt(c, t(`sort.${c}`))));
  else if (name === "name" || name === "industry_name") input = h("input", { id, name, type: "search", maxlength: name === "name" ? "64" : "32", value: value ?? "", autocomplete: "off" });
  return h("div", { class: "field" }, h("label", { for: id }, t(`filter.${name}`)), input);
}

export function pager(total, limit, offset, go) {
  const pages = Math.max(1, Math.ceil(total / limit));
  const page = Math.floor(offset / limit) + 1;
  const to = (p) => go(Math.min(Math.max(p, 1), pages));
  const btn = (text, p, disabled, rel) => h("button", { type: "button", disabled, "data-page": rel, onclick: () => to(p) }, text);
  const jump = h("input", { type: "number", id: "page-jump", min: "1", max: String(pages), value: String(page), class: "page-input",
    onchange: (e) => to(Number(e.target.value) || 1) });
  return h("nav", { class: "pager", "aria-label": t("pager.label") },
    btn(t("pager.first"), 1, page <= 1, "first"), btn(t("pager.prev"), page - 1, page <= 1, "prev"),
    h("label", { for: "page-jump" }, t("pager.page")), jump, h("span", {}, t("pager.of", { pages })),
    btn(t("pager.next"), page + 1, page >= pages, "next"), btn(t("pager.last"), pages, page >= pages, "last"),
    h("span", { class: "range", role: "status" }, total ? t("pager.range", { from: offset + 1, to: Math.min(offset + limit, total), total }) : t("pager.none")));
}

function rowsOf(kind, items) {
  const spec = KINDS[kind];
  if (kind === "alltips") {
    return items.map((i) => h("tr", { "data-id": i.tip_id },
      idCell(`/tip/${enc(i.tip_id)}`, i.tip_id, label("source", i.source)), h("td", {}, fmt.local(i.received_at)),
      h("td", {}, label("channel", i.channel)), h("td", { class: "county" }, i.county || "—"),
      tipText(i),
      h("td", { class: "score-cell" }, i.score === null ? h("span", { class: "muted" }, t("unscored")) : scoreCell(i.score)),
      h("td", {}, label("status", i.status))));
  }
  return items.map((i) => h("tr", { class: i.exploration ? "explore" : "", "data-id": i.enterprise_id || i.tip_id || i.site_id || i.vehicle_id },
    h("td", { class: "rank" }, String(i.rank), i.exploration ? h("div", {}, exploreBadge()) : null),
    h("td", { class: "score-cell" }, scoreCell(i.score)), spec.row(i),
    spec.desk === false ? null : [ // a lead's case: its status (a link to the case) and who has it
      h("td", { class: "status" }, caseLink(kind, i.enterprise_id || i.tip_id || i.site_id, i.status,
        Boolean(i.due && i.due < new Date().toISOString().slice(0, 10) && !String(i.status).startsWith("已结案")))),
      h("td", {}, i.assignee || "—")],
    h("td", { class: "reasons-cell" }, reasonsList(i.reasons, 2))));
}

/** A list view; ``update(params)`` reloads it when only the query changed (focus stays in the form). */
export function render(main, { kind, params }) {
  const spec = KINDS[kind];
  let seq = 0;
  let state = {};
  const info = h("p", { class: "run-info muted" });
  const body = h("div", { class: "list-body" });
  const form = h("form", { class: "filters", role: "search", "aria-label": t("filter.label"), onsubmit: (e) => { e.preventDefault(); apply(); } });
  const switcher = kind === "tip" || kind === "alltips" ? h("div", { class: "switch" },
    link("/tips", t("list.tips"), { "aria-current": kind === "tip" ? "page" : null }),
    link("/tips/all", t("list.alltips"), { "aria-current": kind === "alltips" ? "page" : null })) : null;
  put(main, pageTitle(t(spec.title)), switcher, form, info, body);

  function hashFor(p) {
    return `#${spec.route}${Object.keys(p).length ? `?${new URLSearchParams(p)}` : ""}`;
  }

  function apply(extra = {}) {
    const p = {};
    for (const el of form.elements) {
      if (!el.name || el.disabled || el.value === "") continue;
      p[el.name] = el.value;
    }
    Object.assign(p, { offset: "0" }, extra);
    if (p.offset === "0") delete p.offset;
    if (p.limit === "50") delete p.limit;
    location.hash = hashFor(p);
  }

  let built = false;

  async function buildForm() {
    if (built) { // keep the controls (and the focus): only show the values of the new query
      for (const el of form.elements) if (el.name && !el.disabled) el.value = state[el.name] ?? (el.name === "limit" ? "50" : "");
      return;
    }
    built = true;
    let f = { counties: [], industries: [], categories: [], as_of_dates: [] };
    try { f = await cached("/v1/filters"); } catch (err) { put(body, errorBox(err)); }
    clear(form);
    put(form, spec.filters.map((n) => field(n, f, state[n])),
      h("div", { class: "field" }, h("label", { for: "f-limit" }, t("filter.limit")),
        h("select", { id: "f-limit", name: "limit" }, PAGE_SIZES.map((n) => h("option", { value: String(n), selected: String(state.limit || 50) === String(n) }, String(n))))),
      h("div", { class: "field actions" }, h("button", { type: "submit", class: "primary" }, t("filter.apply")),
        h("button", { type: "button", onclick: () => { location.hash = `#${spec.route}`; } }, t("filter.reset")),
        EXPORT[kind] ? h("button", { type: "button", "data-action": "export", onclick: () =>
          api.download(EXPORT[kind], { ...collect(), lang: lang() }, `${kind}_leads.xlsx`).catch((e) => put(clear(body), errorBox(e))) },
        t("export.xlsx")) : null));
  }
  form.addEventListener("change", (e) => { if (e.target.tagName === "SELECT") apply(); });

  async function load() {
    const mine = ++seq;
    const limit = Number(state.limit) || 50;
    const offset = Number(state.offset) || 0;
    if (!body.querySelector(".warming")) put(clear(body), loading(t(spec.title)));
    body.setAttribute("aria-busy", "true");
    try {
      const params = { ...state, limit, offset, lang: lang() };
      const page = await api.get(spec.endpoint, params);
      if (mine !== seq) return;
      warmedUp(body);
      put(clear(info), page.run ? t("list.runInfo", { as_of: page.run.as_of, version: page.run.model_version ?? "—", total: page.total })
        : page.as_of ? t("list.vehiclesInfo", { as_of: page.as_of, total: page.total }) : t("list.total", { total: page.total }));
      const tbody = rowsOf(kind, page.items);
      const frag = document.createDocumentFragment();
      put(frag, table((spec.head).map((k) => t(k)), tbody, { class: `leads ${kind}`, "data-kind": kind }),
        pager(page.total, limit, offset, (p) => apply({ ...collect(), limit: String(limit), offset: String((p - 1) * limit) })));
      if (!page.items.length) frag.prepend(h("p", { class: "empty" }, t("list.empty")));
      put(clear(body), frag);
    } catch (err) {
      if (mine === seq && !retryWhenWarming(body, err, () => { if (mine === seq) load(); })) put(clear(body), errorBox(err));
    } finally {
      if (mine === seq) body.removeAttribute("aria-busy");
    }
  }

  const collect = () => Object.fromEntries(Object.entries(state).filter(([k]) => k !== "offset"));

  async function update(p) {
    state = { ...p };
    if (session.me?.county) delete state.county;
    await buildForm();
    await load();
  }

  update(params);
  return { update };
}
