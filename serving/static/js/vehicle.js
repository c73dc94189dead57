// One vehicle: its carrier and permit, rank and reasons by its driving, its events and suspicious
// stops on the map and on a timeline, GPS gaps, the manifests it carried and the producers and
// receivers it served; every id a link along the chain.

import * as api from "./api.js";
import { eventsTable, manifestsTable, partnersTable, party, stopsTable, vehicleLink } from "./chainview.js";
import { cached, errorBox, facts, loading, pageTitle, reasonsList, section } from "./common.js";
import { clear, fmt, h, put, scoreCell } from "./dom.js";
import { label, lang, t } from "./i18n.js";
import { drawMap } from "./map.js";

/** Events, suspicious stops and manifest departures in time order, newest first. */
function timeline(d) {
  const items = [
    ...d.events.map((e) => ({ at: e.start, kind: e.category, text: `${e.category_text}${e.place ? ` · ${e.place}` : ""}` })),
    ...d.stops.filter((s) => s.why?.length).map((s) => ({ at: s.start, kind: "stop",
      text: `${s.why.map((w) => label("why", w)).join("、")}${s.place ? ` · ${s.place}` : ""}` })),
    ...d.manifests.map((m) => ({ at: m.departed_at, kind: "manifest",
      text: `${m.manifest_id} · ${m.waste_text || m.waste_code}${m.producer_name ? ` · ${m.producer_name}` : ""}` })),
  ].filter((x) => x.at).sort((a, b) => String(b.at).localeCompare(String(a.at)));
  if (!items.length) return h("p", { class: "muted" }, t("vehicle.none"));
  return h("ol", { class: "timeline" }, items.slice(0, 100).map((x) => h("li", { "data-kind": x.kind },
    h("time", {}, fmt.local(x.at)), " ", h("span", { class: `chip ${x.kind}` }, label("event", x.kind)), " ", x.text)));
}

export async function render(main, { id }) {
  put(main, loading());
  let d;
  const places = cached("/v1/places").catch(() => null);
  try {
    d = await api.get(`/v1/vehicles/${encodeURIComponent(id)}`, { lang: lang() });
  } catch (err) {
    put(clear(main), pageTitle(t("vehicle.title", { id })), errorBox(err));
    return;
  }
  const v = d.vehicle;
  const lead = d.lead;
  const background = await places;
  put(clear(main),
    pageTitle(t("vehicle.title", { id })),
    h("div", { class: "grid" },
      h("section", { class: "card summary", "aria-label": t("summary") },
        h("div", { class: "big-score" }, h("span", { class: "label" }, t("col.score")), scoreCell(lead?.score ?? null)),
        facts([["vehicle.rank", lead ? `#${lead.rank}` : "—"], ["list.asOf", d.as_of],
          ["vehicle.carrier", v.transporter_id ? party(v.transporter_id, v.transporter_name) : t("manifest.outside")],
          ["vehicle.permit", v.hazmat_permit === true ? t("yes") : v.hazmat_permit === false ? h("span", { class: "warn" }, t("no")) : "—"],
          ["vehicle.capacity", v.capacity_t === null ? null : `${fmt.num(v.capacity_t, 1)}${lang() === "en" ? " t" : " 吨"}`],
          ["col.events", lead ? String(lead.event_count + lead.unpermitted_events) : "0"]])),
      section("reasons", reasonsList(lead?.reasons || []))),
    section("map", drawMap(d.map, { background, title: t("vehicle.title", { id }), fit: ["event", "stop", "enterprise"], minSpanKm: 5 })),
    section("vehicle.timeline", timeline(d)),
    section("vehicle.events", d.events.length ? eventsTable(d.events) : h("p", { class: "muted" }, t("vehicle.none"))),
    section("vehicle.gaps", d.gps_gaps.length ? eventsTable(d.gps_gaps) : h("p", { class: "muted" }, t("vehicle.none"))),
    section("vehicle.stops", d.stops.length ? stopsTable(d.stops) : h("p", { class: "muted" }, t("stops.none"))),
    section("vehicle.manifests", d.manifests.length ? manifestsTable(d.manifests, null) : h("p", { class: "muted" }, t("vehicle.none"))),
    section("vehicle.partners", d.partners.length ? partnersTable(d.partners) : h("p", { class: "muted" }, t("vehicle.none"))),
    d.carrier_vehicles.length ? section("vehicle.others", h("p", {}, d.carrier_vehicles.map((x, i) => [i ? "、" : "", vehicleLink(x)]))) : null);
}
