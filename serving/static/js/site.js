// A candidate illegal site: score, reasons and history, its stops on the map, the vehicles and
// enterprises linked to it, recorded outcomes; recording an outcome.

import * as api from "./api.js";
import { scoreHistory } from "./charts.js";
import { entLink, party, readableEvidence, sourcesTable, stopsTable, vehicleLink } from "./chainview.js";
import { cached, enterpriseLink, errorBox, facts, loading, may, outcomesTable, pageTitle, reasonsList, retryWhenWarming, section } from "./common.js";
import { clear, fmt, h, link, put, scoreCell, table } from "./dom.js";
import { lang, t } from "./i18n.js";
import { drawMap } from "./map.js";
import { outcomeButton } from "./outcome.js";

export async function render(main, { id }) {
  put(main, loading(t("loading.site", { id })));
  let d;
  const places = cached("/v1/places").catch(() => null);
  try {
    d = await api.get(`/v1/sites/${encodeURIComponent(id)}`, { lang: lang() });
  } catch (err) {
    // while the service warms up: a progress note, then this page again by itself
    if (!retryWhenWarming(main, err, () => render(clear(main), { id }))) put(clear(main), pageTitle(t("site.title", { id })), errorBox(err));
    return;
  }
  const background = await places;
  const outcomesBox = h("div", {}, outcomesTable(d.outcomes));
  const refresh = async () => {
    const page = await api.get("/v1/outcomes", { entity_kind: "site", entity_id: id, limit: 100 });
    put(clear(outcomesBox), outcomesTable(page.items));
  };
  put(clear(main), 
    pageTitle(t("site.title", { id }), link(`/print/site/${encodeURIComponent(id)}`, t("print.button"), { class: "button", "data-action": "print" }),
      may("outcome") ? outcomeButton("site", id, null, refresh) : null),
    h("div", { class: "grid" },
      h("section", { class: "card summary", "aria-label": t("summary") },
        h("div", { class: "big-score" }, h("span", { class: "label" }, t("col.score")), scoreCell(d.score)),
        facts([["col.rank", `#${d.rank}`], ["list.asOf", d.run.as_of], ["col.county", d.county],
          ["site.place", d.place], ["site.location", `${fmt.num(d.lat, 5)}, ${fmt.num(d.lon, 5)}`], ["site.stops", String(d.stops.length)]])),
      section("reasons", reasonsList(d.reasons))),
    section("evidence", readableEvidence(d.evidence_rows)),
    section("map", drawMap(d.map, { background, title: t("map.site.title", { id }), fit: ["site", "stop"], minSpanKm: 5 })),
    section("site.stopsTitle", d.stops.length ? stopsTable(d.stops) : h("p", { class: "muted" }, t("stops.none"))),
    section("chain.sources", d.sources?.length ? sourcesTable(d.sources) : h("p", { class: "muted" }, t("vehicle.none"))),
    h("div", { class: "grid two" },
      section("site.vehicles", d.vehicles.length ? table([t("stop.vehicle"), t("vehicle.carrier"), t("vehicle.permit")],
        d.vehicles.map((v) => h("tr", {}, h("td", {}, vehicleLink(v.vehicle_id)),
          h("td", {}, v.transporter_id ? party(v.transporter_id, v.transporter_name) : "—"),
          h("td", { class: v.hazmat_permit === false ? "warn" : "" }, v.hazmat_permit === true ? t("yes") : v.hazmat_permit === false ? t("no") : "—"))))
        : h("p", { class: "muted" }, t("none"))),
      section("site.enterprises", d.enterprises.length ? table([t("col.enterprise"), t("col.county")],
        d.enterprises.map((e) => h("tr", {}, h("td", {}, entLink(e.enterprise_id, e.name), h("div", { class: "sub" }, e.enterprise_id)),
          h("td", {}, e.county || "—")))) : h("p", { class: "muted" }, t("none")))),
    section("history", scoreHistory(d.history)),
    section("outcomes", outcomesBox));
}
