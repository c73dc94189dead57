// The evidence file of an enterprise, a site or a tip, laid out to print (Chromium renders it to
// PDF): why the lead ranks where it does, the evidence with its row pointers, the charts, the map,
// the chain, the data period and the model version that ranked it; Chinese first.

import * as api from "./api.js";
import { ledgerGaps, powerVsWaste, scoreHistory } from "./charts.js";
import { enterpriseChain, manifestsTable, readableEvidence, sourcesTable, stopsTable, vehicleLink } from "./chainview.js";
import { cached, errorBox, facts, loading, reasonsList, session } from "./common.js";
import { clear, fmt, h, link, put, scoreCell } from "./dom.js";
import { label, lang, t } from "./i18n.js";
import { drawMap } from "./map.js";

const enc = encodeURIComponent;
const ENDPOINT = { enterprise: "/v1/enterprises/", site: "/v1/sites/", tip: "/v1/tips/" };
const BACK = { enterprise: "/enterprises/", site: "/sites/", tip: "/tip/" };

function part(titleKey, ...children) {
  return h("section", { class: "print-part", "data-part": titleKey }, h("h2", {}, t(titleKey)), children);
}

function nowLocal() {
  return new Intl.DateTimeFormat("sv-SE", { timeZone: "Asia/Shanghai", year: "numeric", month: "2-digit", day: "2-digit",
    hour: "2-digit", minute: "2-digit" }).format(new Date());
}

function header(kind, name, d, asOf, version, rank) {
  return h("header", { class: "print-head" },
    h("p", { class: "print-kind" }, t(`print.kind.${kind}`)),
    h("h1", { tabindex: "-1" }, t("print.title", { name })),
    facts([["col.rank", rank ? `#${rank}` : "—"], ["col.score", d.score === null || d.score === undefined ? "—" : fmt.score(d.score)],
      ["print.period", asOf ? t("print.periodText", { as_of: asOf }) : "—"], ["print.model", version || "—"],
      ["print.reader", session.me ? `${session.me.name} · ${label("role", session.me.role)}` : null], ["print.printed", nowLocal()]]));
}

function enterpriseFile(d, background) {
  const p = d.profile;
  return [
    header("enterprise", `${p.name}（${p.enterprise_id}）`, d, d.run?.as_of, d.run?.model_version, d.rank),
    part("print.why", h("div", { class: "big-score" }, scoreCell(d.score)), reasonsList(d.reasons)),
    part("evidence", readableEvidence(d.evidence_rows)),
    part("profile", facts([["col.industry", p.industry_text || p.industry_code], ["col.county", p.county],
      ["profile.categories", (p.category_texts || []).join("；")], ["profile.credit", p.credit_code], ["profile.park", p.park]])),
    part("ledger", ledgerGaps(d.ledger)),
    part("power", powerVsWaste(d.power)),
    part("history", scoreHistory(d.history)),
    part("map", drawMap(d.map, { background, title: p.name })),
    part("manifests", d.manifests.length ? manifestsTable(d.manifests, p.enterprise_id) : h("p", { class: "muted" }, t("vehicle.none"))),
    part("chain.title", enterpriseChain(d.chain)),
    part("stops", d.stops.length ? stopsTable(d.stops) : h("p", { class: "muted" }, t("stops.none"))),
  ];
}

function siteFile(d, background, id) {
  return [
    header("site", `${id}${d.place ? `（${d.place}）` : ""}`, d, d.run?.as_of, d.run?.model_version, d.rank),
    part("print.why", h("div", { class: "big-score" }, scoreCell(d.score)), reasonsList(d.reasons)),
    part("evidence", readableEvidence(d.evidence_rows)),
    part("history", scoreHistory(d.history)),
    part("map", drawMap(d.map, { background, title: id, fit: ["site", "stop"], minSpanKm: 5 })),
    part("site.stopsTitle", d.stops.length ? stopsTable(d.stops) : h("p", { class: "muted" }, t("stops.none"))),
    part("chain.sources", d.sources?.length ? sourcesTable(d.sources) : h("p", { class: "muted" }, t("vehicle.none"))),
  ];
}

function tipFile(d) {
  const c = d.corroboration;
  return [
    header("tip", d.tip_id, d, d.received_at ? fmt.date(d.received_at) : null, d.model_version, null),
    part("print.tip.text", d.redacted ? h("p", { class: "muted" }, t("tip.redactedText")) : h("blockquote", { class: "tip-text" }, d.text || ""),
      facts([["col.received", fmt.local(d.received_at)], ["col.channel", label("channel", d.channel)], ["col.county", d.county]])),
    part("print.why", reasonsList(d.reasons)),
    part("print.corroboration", !c ? h("p", { class: "muted" }, t("tip.noCorroboration")) : [
      h("p", {}, t("tip.similar", { n: c.similar_tips ?? "—" })),
      h("ul", {}, c.stops_nearby.map((s) => h("li", {}, vehicleLink(s.vehicle_id), ` ${fmt.local(s.start)} – ${fmt.local(s.end)} · ${fmt.num(s.distance_m, 0)} m`)))]),
  ];
}

export async function render(main, { kind, id }) {
  put(main, loading());
  let d;
  const places = cached("/v1/places").catch(() => null);
  try {
    d = await api.get(`${ENDPOINT[kind]}${enc(id)}`, { lang: lang() });
  } catch (err) {
    put(clear(main), h("h1", { tabindex: "-1" }, id), errorBox(err));
    return;
  }
  const background = kind === "tip" ? null : await places;
  const body = kind === "enterprise" ? enterpriseFile(d, background) : kind === "site" ? siteFile(d, background, id) : tipFile(d);
  put(clear(main), h("div", { class: "print-actions no-print" },
    h("button", { type: "button", class: "primary", "data-action": "print-now", onclick: () => window.print() }, t("print.button")),
    link(`${BACK[kind]}${enc(id)}`, t("print.back"), { class: "button" })),
  h("article", { class: "print-doc", lang: lang() === "en" ? "en" : "zh-CN" }, body));
}
