// One tip with its corroboration (stops nearby in the week before, similar tips, the named
// enterprise's evidence), and the intake form that stores and scores a new tip at once.

import * as api from "./api.js";
import { vehicleLink } from "./chainview.js";
import { cached, enterpriseLink, errorBox, facts, loading, may, outcomesTable, pageTitle, reasonsList, section, session } from "./common.js";
import { clear, fmt, h, put, scoreCell, table } from "./dom.js";
import { label, lang, t } from "./i18n.js";
import { drawMap } from "./map.js";
import { outcomeButton } from "./outcome.js";
import { notify } from "./notice.js";

const CHANNELS = ["12369", "110", "online", "informant", "patrol", "other"];
const NAMED = ["unaccounted_t_365d", "unlicensed_receiver_t_365d", "night_share_excess_90d", "prior_confirmed_cases"];

function tipMap(d, background) {
  const features = [];
  if (d.lat !== null && d.lon !== null) features.push({ type: "Feature", geometry: { type: "Point", coordinates: [d.lon, d.lat] }, properties: { layer: "tip" } });
  for (const st of d.corroboration?.stops_nearby || []) {
    features.push({ type: "Feature", geometry: { type: "Point", coordinates: [st.lon, st.lat] },
      properties: { layer: "stop", vehicle_id: st.vehicle_id, start: st.start, why: st.night ? ["night"] : [] } });
  }
  return features.length ? drawMap({ type: "FeatureCollection", features }, { background, title: t("map.tip.title", { id: d.tip_id }) }) : null;
}

async function namedFacts(named) {
  let catalogue = new Map();
  try { catalogue = new Map((await cached("/v1/catalogue")).items.map((c) => [c.name, c])); } catch { /* names as they are */ }
  const desc = (n) => (catalogue.get(n) ? (lang() === "en" ? catalogue.get(n).description_en : catalogue.get(n).description_zh) : n);
  return h("div", {}, h("p", {}, t("tip.named"), " ", enterpriseLink(named.enterprise_id)),
    table([t("evidence.feature"), t("evidence.value")], NAMED.filter((n) => named[n] !== null && named[n] !== undefined)
      .map((n) => h("tr", {}, h("td", {}, desc(n)), h("td", { class: "n" }, fmt.num(named[n], 2))))));
}

export async function render(main, { id }) {
  put(main, loading(t("loading.tip", { id })));
  let d;
  try {
    d = await api.get(`/v1/tips/${encodeURIComponent(id)}`, { lang: lang() });
  } catch (err) {
    put(clear(main), pageTitle(t("tip.title", { id })), errorBox(err));
    return;
  }
  const outcomesBox = h("div", {}, loading(t("outcomes")));
  const refresh = async () => {
    try {
      const page = await api.get("/v1/outcomes", { entity_kind: "tip", entity_id: id, limit: 100 });
      put(clear(outcomesBox), outcomesTable(page.items));
    } catch (err) { put(clear(outcomesBox), errorBox(err)); }
  };
  const c = d.corroboration;
  // a tip received after the data ends cannot be corroborated by it: say so rather than "no stops"
  const dataEnd = (await cached("/v1/filters").catch(() => null))?.snapshot_last_day;
  const afterData = Boolean(dataEnd) && String(d.received_at || "").slice(0, 10) > dataEnd;
  let background = null;
  if (d.lat !== null && !d.redacted) {
    try { background = await cached("/v1/places"); } catch { /* the map shows the tip and stops only */ }
  }
  const map = d.redacted ? null : tipMap(d, background);
  put(clear(main), 
    pageTitle(t("tip.title", { id }), d.redacted ? h("span", { class: "badge redacted" }, t("redacted")) : null,
      h("a", { href: `#/print/tip/${encodeURIComponent(id)}`, class: "button", "data-action": "print" }, t("print.button")),
      may("outcome") ? outcomeButton("tip", id, null, refresh) : null),
    h("div", { class: "grid" },
      h("section", { class: "card summary", "aria-label": t("summary") },
        h("div", { class: "big-score" }, h("span", { class: "label" }, t("col.score")),
          d.score === null ? h("span", { class: "muted" }, t("unscored")) : scoreCell(d.score)),
        facts([["col.received", fmt.local(d.received_at)], ["col.channel", label("channel", d.channel)],
          ["col.county", d.county], ["tip.source", label("source", d.source)], ["col.status", label("status", d.status)],
          ["model.version", d.model_version], ["tip.location", d.lat !== null ? `${fmt.num(d.lat, 5)}, ${fmt.num(d.lon, 5)}` : null]])),
      section("tip.text", d.redacted ? h("p", { class: "muted" }, t("tip.redactedText")) : h("blockquote", { class: "tip-text" }, d.text || "")),
      section("reasons", reasonsList(d.reasons))),
    section("tip.corroboration", afterData ? h("p", { class: "warn after-data" }, t("tip.afterData", { date: dataEnd })) : null,
      d.redacted || !c ? h("p", { class: "muted" }, t("tip.noCorroboration")) : [
      h("p", {}, t("tip.similar", { n: c.similar_tips ?? "—" })),
      h("h3", {}, t("tip.stopsNearby")),
      c.stops_nearby.length ? table([t("stop.vehicle"), t("stop.when"), t("stop.until"), t("tip.distance"), t("stop.night")],
        c.stops_nearby.map((st) => h("tr", {}, h("td", {}, vehicleLink(st.vehicle_id)), h("td", {}, fmt.local(st.start)),
          h("td", {}, fmt.local(st.end)), h("td", { class: "n" }, `${fmt.num(st.distance_m, 0)} m`), h("td", {}, st.night ? t("yes") : t("no")))))
        : h("p", { class: "muted" }, t("stops.none")),
      c.named_enterprise ? await namedFacts(c.named_enterprise) : null,
    ]),
    map ? section("map", map) : null,
    d.enterprise_ids.length || d.vehicle_ids.length ? section("tip.linked", facts([
      ["enterprises", d.enterprise_ids.length ? d.enterprise_ids.map((e, i) => [i ? ", " : "", enterpriseLink(e)]) : null],
      ["vehicles", d.vehicle_ids.length ? d.vehicle_ids.map((v, i) => [i ? ", " : "", vehicleLink(v)]) : null]])) : null,
    may("outcome") ? section("outcomes", outcomesBox) : null);
  if (may("outcome")) refresh();
}

function nowLocal() {
  return new Intl.DateTimeFormat("sv-SE", { timeZone: "Asia/Shanghai", year: "numeric", month: "2-digit", day: "2-digit",
    hour: "2-digit", minute: "2-digit" }).format(new Date()).replace(" ", "T");
}

/** Finding the enterprise a tip names by part of its name (``/v1/enterprise-names``, the reader's
 * county only): a text box, the matches as a list to click or pick with the keyboard, the choice shown. */
function enterpriseFinder() {
  let chosen = null;
  let seq = 0;
  let timer = null;
  const input = h("input", { id: "tip-enterprise", type: "search", maxlength: "64", autocomplete: "off", role: "combobox",
    "aria-autocomplete": "list", "aria-controls": "tip-enterprise-list", "aria-expanded": "false", "aria-describedby": "tip-enterprise-hint" });
  const list = h("ul", { id: "tip-enterprise-list", class: "picks", role: "listbox", "aria-label": t("intake.enterprise"), hidden: true });
  const shown = h("p", { class: "chosen", role: "status", "aria-live": "polite" });
  const close = () => { list.hidden = true; input.setAttribute("aria-expanded", "false"); };
  const choose = (e) => {
    chosen = e.enterprise_id;
    input.value = e.name;
    close();
    put(clear(shown), t("intake.enterpriseChosen", { name: e.name, id: e.enterprise_id, county: e.county || "—" }), " ",
      h("button", { type: "button", class: "link-button", onclick: () => { chosen = null; input.value = ""; clear(shown); input.focus(); } },
        t("intake.enterpriseClear")));
  };
  async function search() {
    const q = input.value.trim();
    const mine = ++seq;
    if (!q) { close(); return; }
    put(clear(list), h("li", { class: "muted" }, t("intake.searching")));
    list.hidden = false;
    try {
      const found = await api.get("/v1/enterprise-names", { q, limit: 8 });
      if (mine !== seq) return;
      clear(list);
      if (!found.items.length) put(list, h("li", { class: "muted" }, t("intake.enterpriseNone", { q })));
      for (const e of found.items) {
        put(list, h("li", { role: "option", tabindex: "0", "data-id": e.enterprise_id, onclick: () => choose(e),
          onkeydown: (ev) => {
            if (ev.key === "Enter" || ev.key === " ") { ev.preventDefault(); choose(e); input.focus(); }
            if (ev.key === "ArrowDown") { ev.preventDefault(); ev.target.nextElementSibling?.focus(); }
            if (ev.key === "ArrowUp") { ev.preventDefault(); (ev.target.previousElementSibling || input).focus(); }
            if (ev.key === "Escape") { close(); input.focus(); }
          } }, h("strong", {}, e.name), h("span", { class: "sub" }, ` ${e.enterprise_id} · ${e.county || "—"}`)));
      }
      input.setAttribute("aria-expanded", "true");
    } catch (err) {
      if (mine === seq) put(clear(list), h("li", {}, errorBox(err)));
    }
  }
  input.addEventListener("input", () => {
    chosen = null;
    clear(shown);
    clearTimeout(timer);
    timer = setTimeout(search, 250);
  });
  input.addEventListener("keydown", (ev) => {
    if (ev.key === "ArrowDown" && !list.hidden) { ev.preventDefault(); list.querySelector("[role=option]")?.focus(); }
    if (ev.key === "Escape") close();
  });
  const field = h("div", { class: "field finder" }, h("label", { for: "tip-enterprise" }, t("intake.enterprise")), input,
    h("small", { id: "tip-enterprise-hint", class: "muted" }, t("intake.enterpriseHint")), list, shown);
  return { field, chosen: () => chosen, pending: () => !chosen && input.value.trim() !== "" };
}

/** The intake form: stored and scored at once, then the new tip's page. */
export async function renderIntake(main) {
  let f = { counties: [] };
  try { f = await cached("/v1/filters"); } catch { /* county typed by hand is not offered; leave it empty */ }
  const scoped = session.me?.county;
  const status = h("div", { class: "form-status", role: "status", "aria-live": "polite" });
  const fld = (id, key, input, hint) => h("div", { class: "field" }, h("label", { for: id }, t(key)), input,
    hint ? h("small", { id: `${id}-hint`, class: "muted" }, t(hint)) : null);
  const enterprisePicker = enterpriseFinder();
  const form = h("form", { class: "intake card", novalidate: false },
    fld("tip-channel", "col.channel", h("select", { id: "tip-channel", name: "channel", required: true },
      h("option", { value: "" }, t("intake.chooseChannel")), CHANNELS.map((c) => h("option", { value: c }, label("channel", c))))),
    fld("tip-text", "tip.text", h("textarea", { id: "tip-text", name: "text", required: true, maxlength: "4000", rows: "5",
      "aria-describedby": "tip-text-hint" }), "intake.textHint"),
    h("div", { class: "row" },
      fld("tip-received", "col.received", h("input", { id: "tip-received", name: "received_at", type: "datetime-local", max: nowLocal(),
        "aria-describedby": "tip-received-hint" }), "intake.receivedHint"),
      fld("tip-county", "col.county", h("select", { id: "tip-county", name: "county", disabled: Boolean(scoped) },
        scoped ? h("option", { value: scoped }, scoped) : [h("option", { value: "" }, t("intake.countyUnknown")),
          f.counties.map((c) => h("option", { value: c }, c))]))),
    h("div", { class: "row" },
      fld("tip-lat", "intake.lat", h("input", { id: "tip-lat", name: "lat", type: "number", step: "any", min: "-90", max: "90", inputmode: "decimal" })),
      fld("tip-lon", "intake.lon", h("input", { id: "tip-lon", name: "lon", type: "number", step: "any", min: "-180", max: "180", inputmode: "decimal" })),
      enterprisePicker.field),
    status,
    h("div", { class: "actions" }, h("button", { type: "submit", class: "primary" }, t("intake.submit"))));
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    clear(status);
    const v = (n) => form.elements[n].value.trim();
    if ((v("lat") === "") !== (v("lon") === "")) {
      put(status, h("p", { class: "error", role: "alert" }, t("intake.bothOrNeither")));
      return;
    }
    const body = { channel: v("channel"), text: v("text") };
    if (v("received_at")) body.received_at = v("received_at").length === 16 ? `${v("received_at")}:00` : v("received_at");
    if (v("lat") !== "") { body.lat = Number(v("lat")); body.lon = Number(v("lon")); }
    if (!scoped && v("county")) body.county = v("county");
    if (enterprisePicker.pending()) {
      put(status, h("p", { class: "error", role: "alert" }, t("intake.enterprisePick")));
      return;
    }
    if (enterprisePicker.chosen()) body.enterprise_id = enterprisePicker.chosen();
    const btn = form.querySelector("button[type=submit]");
    btn.disabled = true;
    try {
      const tip = await api.post("/v1/tips", body, { lang: lang() });
      notify(tip.score === null ? t("intake.storedUnscored", { id: tip.tip_id })
        : t("intake.stored", { id: tip.tip_id, score: fmt.score(tip.score) }));
      location.hash = `#/tip/${encodeURIComponent(tip.tip_id)}`;
    } catch (err) {
      put(status, errorBox(err));
    } finally {
      btn.disabled = false;
    }
  });
  put(main, pageTitle(t("tab.tipNew")), h("p", { class: "muted" }, t("intake.help")), form);
}
