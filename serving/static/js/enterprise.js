// One enterprise: score and reasons, evidence pointers, score history, ledger gaps per month and
// waste code (3 t line), power against declared waste, the map, its manifests and suspicious stops,
// tips naming it, recorded outcomes; recording an outcome (investigators).

import * as api from "./api.js";
import { ledgerGaps, NARROW, powerVsWaste, scoreHistory } from "./charts.js";
import { cached, enterpriseLink, errorBox, evidenceTable, exploreBadge, facts, loading, may, outcomesTable, pageTitle, reasonsList, retryWhenWarming, section, session } from "./common.js";
import { clear, fmt, h, link, put, scoreCell, table } from "./dom.js";
import { label, lang, t } from "./i18n.js";
import { drawMap } from "./map.js";
import { outcomeButton } from "./outcome.js";
import { enterpriseChain, manifestsTable as chainManifests, readableEvidence, stopsTable as chainStops } from "./chainview.js";

const enc = encodeURIComponent;
const yes = (v) => (v === true ? t("yes") : v === false ? t("no") : "—");

function ledgerTable(ledger) {
  const cols = ["generated_t", "accounted_t", "balance_gap_t", "manifest_gap_t", "receipt_gap_t", "power_gap_t", "unaccounted_t"];
  return table([t("ledger.month"), t("ledger.code"), ...cols.map((c) => t(`ledger.${c}`))],
    ledger.map((r) => h("tr", { class: (r.unaccounted_t ?? 0) >= 3 ? "over" : "" }, h("td", {}, r.month), h("td", { class: "code" }, r.waste_code),
      cols.map((c) => h("td", { class: c === "unaccounted_t" ? "n strong" : "n" }, fmt.num(r[c], 2))))),
    { class: "ledger" });
}

export async function render(main, { id }) {
  put(main, loading(t("loading.enterprise", { id })));
  let d;
  const places = cached("/v1/places").catch(() => null); // the base layer of the map, loaded once
  try {
    d = await api.get(`/v1/enterprises/${enc(id)}`, { lang: lang() });
  } catch (err) {
    // while the service warms up: a progress note, then this page again by itself
    if (!retryWhenWarming(main, err, () => render(clear(main), { id }))) put(clear(main), pageTitle(id), errorBox(err));
    return;
  }
  const p = d.profile;
  const outcomesBox = h("div", {}, outcomesTable(d.outcomes));
  const refreshOutcomes = async () => {
    const page = await api.get("/v1/outcomes", { entity_kind: "enterprise", entity_id: id, limit: 100 });
    put(clear(outcomesBox), outcomesTable(page.items));
  };
  const head = pageTitle(p.name, d.exploration ? exploreBadge() : null,
    link(`/print/enterprise/${enc(id)}`, t("print.button"), { class: "button", "data-action": "print" }),
    may("outcome") ? outcomeButton("enterprise", id, p.name, refreshOutcomes) : null);
  const summary = h("section", { class: "card summary", "aria-label": t("summary") },
    h("div", { class: "big-score" }, h("span", { class: "label" }, t("col.score")), scoreCell(d.score)),
    facts([["col.rank", d.rank ? `#${d.rank}${session.me?.county ? ` (${t("rank.scope")})` : ""}` : "—"],
      ["list.asOf", d.run ? d.run.as_of : "—"], ["model.version", d.run?.model_version ?? "—"],
      ["profile.id", p.enterprise_id], ["col.county", p.county], ["col.industry", p.industry_text || p.industry_code],
      ["profile.roles", p.roles.map((r) => label("entrole", r)).join(", ")], ["profile.categories", (p.category_texts?.length ? p.category_texts : p.categories).join("；")]]));
  const evidence = d.evidence_rows ? readableEvidence(d.evidence_rows) : await evidenceTable(d.evidence);
  const background = await places;
  put(clear(main), head, h("div", { class: "grid two" }, summary, section("reasons", reasonsList(d.reasons))),
  section("evidence", evidence),
  section("ledger", ledgerGaps(d.ledger), d.ledger.length ? h("details", {}, h("summary", {}, t("ledger.table")), ledgerTable(d.ledger)) : null),
  h("div", { class: "grid two" }, section("history", scoreHistory(d.history, NARROW)), section("power", powerVsWaste(d.power, NARROW))),
  section("map", drawMap(d.map, { background, title: t("map.enterprise", { name: p.name }) })),
  section("manifests", h("p", { class: "muted" }, t("manifests.count", { shown: d.manifests.length, total: d.manifests_total })),
    d.manifests.length ? chainManifests(d.manifests, p.enterprise_id) : null),
  section("chain.title", enterpriseChain(d.chain)),
  section("stops", d.stops.length ? chainStops(d.stops) : h("p", { class: "muted" }, t("stops.none"))),
  d.tips ? section("tips", d.tips.length ? table([t("col.tip"), t("col.received"), t("col.channel"), t("col.score")],
    d.tips.map((x) => h("tr", {}, h("td", {}, link(`/tip/${enc(x.tip_id)}`, x.tip_id)), h("td", {}, fmt.local(x.received_at)),
      h("td", {}, label("channel", x.channel)), h("td", {}, scoreCell(x.score))))) : h("p", { class: "muted" }, t("tips.none"))) : null,
  d.outcomes ? section("outcomes", outcomesBox) : null,
  section("profile", facts([["profile.name", p.name], ["profile.credit", p.credit_code], ["profile.park", p.park],
    ["profile.key", yes(p.key_discharge_unit)], ["profile.employees", p.employees], ["profile.opened", p.opened],
    ["profile.location", `${fmt.num(p.lat, 5)}, ${fmt.num(p.lon, 5)}`]])));
}
