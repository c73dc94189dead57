// Pieces of the chain producer → manifest → vehicle → stop → site, shared by the enterprise, site,
// vehicle and print views: links for every id, the evidence as the API spells it out (labels, units,
// pointers), and the tables of stops, manifests, driving events, partners and sources.

import { may } from "./common.js";
import { fmt, h, link, table } from "./dom.js";
import { label, lang, t } from "./i18n.js";

const enc = encodeURIComponent;

export const vehicleLink = (id) => (may("vehicle") ? link(`/vehicles/${enc(id)}`, id, { class: "code", "data-vehicle-link": id })
  : h("span", { class: "code" }, id));
export const siteLink = (id) => (may("site") ? link(`/sites/${enc(id)}`, id, { class: "code", "data-site-link": id })
  : h("span", { class: "code" }, id));
export const entLink = (id, name) => (may("enterprise")
  ? link(`/enterprises/${enc(id)}`, name || id, { "data-enterprise-link": id }) : h("span", {}, name || id));
const tipLink = (id) => (may("tip") ? link(`/tip/${enc(id)}`, id) : h("span", {}, id));

/** An enterprise as "name" over its id, linked; "outside your county" where the API left it out. */
export function party(id, name, self) {
  if (id === self && self) return h("span", { class: "self" }, t("manifest.self"));
  if (id === null || id === undefined) return h("span", { class: "muted" }, t("manifest.outside"));
  return h("span", {}, entLink(id, name || id), h("div", { class: "sub" }, id));
}

/** Tonnes to one decimal, with the unit in the page's language. */
export const tonnes = (x) => (typeof x === "number" && Number.isFinite(x) ? `${x.toFixed(1)}${lang() === "en" ? " t" : " 吨"}` : "—");
const metres = (x) => (typeof x === "number" && Number.isFinite(x)
  ? (x >= 1000 ? `${(x / 1000).toFixed(1)}${lang() === "en" ? " km" : " 公里"}` : `${Math.round(x)}${lang() === "en" ? " m" : " 米"}`) : "—");

function pointerChip(p) {
  const linkFor = { enterprise: (id, text) => entLink(id, text), vehicle: vehicleLink, tip: tipLink, site: siteLink };
  const links = (p.links || []).filter((l) => linkFor[l.kind]);
  // a pointer naming ids reads as its links (an enterprise's by its name and id), else as its text
  const body = links.length ? links.map((l, i) => [i ? " " : "", linkFor[l.kind](l.id, links.length === 1 ? p.text : l.id)]) : p.text;
  return h("span", { class: "chip pointer", "data-field": p.field }, `${p.label}${lang() === "en" ? ": " : "："}`, body);
}

/** The evidence rows (``evidence_rows`` of a detail): label, value with unit, where to check. */
export function readableEvidence(rows) {
  const ev = rows?.evidence || [];
  const profile = rows?.profile || [];
  const out = [];
  out.push(ev.length ? table([t("evidence.feature"), t("evidence.value"), t("evidence.pointers")],
    ev.map((r) => h("tr", { "data-feature": r.feature }, h("td", {}, r.label), h("td", { class: "n strong" }, r.value_text),
      h("td", {}, r.pointers.map(pointerChip)))), { class: "evidence readable" })
    : h("p", { class: "muted" }, t("evidence.none")));
  if (profile.length) {
    out.push(h("h3", {}, t("evidence.profile")),
      h("dl", { class: "facts profile-facts" }, profile.map((r) => [h("dt", {}, r.label),
        h("dd", {}, r.value_text, r.pointers.length ? [" · ", r.pointers.map((p) => `${p.label}：${p.text}`).join("；")] : null)])));
  }
  return out;
}

export function stopsTable(stops) {
  return table([t("stop.vehicle"), t("stop.when"), t("stop.minutes"), t("stop.place"), t("stop.water"), t("stop.karst"),
    t("stop.manifest"), t("stop.site"), t("stop.why")],
  stops.map((st) => h("tr", { "data-vehicle": st.vehicle_id },
    h("td", {}, vehicleLink(st.vehicle_id)), h("td", {}, fmt.local(st.start)), h("td", { class: "n" }, fmt.num(st.duration_min, 0)),
    h("td", { class: "small" }, st.place || `${fmt.num(st.lat, 5)}, ${fmt.num(st.lon, 5)}`),
    h("td", { class: "n" }, st.water_m === null || st.water_m === undefined ? "—" : `${metres(st.water_m)}${st.water_name ? ` (${st.water_name})` : ""}`),
    h("td", { class: "n" }, metres(st.karst_m)),
    h("td", { class: "code" }, st.manifest_id || "—"),
    h("td", {}, st.site_id ? siteLink(st.site_id) : "—"),
    h("td", {}, (st.why || []).map((w) => h("span", { class: "chip" }, label("why", w)))))),
  { class: "stops" });
}

export function manifestsTable(manifests, self) {
  return table([t("manifest"), t("manifest.code"), t("manifest.qty"), t("manifest.departed"), t("manifest.received"),
    t("manifest.producer"), t("manifest.carrier"), t("manifest.receiver"), t("manifest.flags")],
  manifests.map((m) => h("tr", { class: m.flags.length ? "flagged" : "", "data-id": m.manifest_id },
    h("td", { class: "code" }, m.manifest_id, h("div", { class: "sub" }, vehicleLink(m.vehicle_id))),
    h("td", { class: "small" }, m.waste_text || m.waste_code), h("td", { class: "n" }, tonnes(m.quantity_t)),
    h("td", {}, fmt.local(m.departed_at)),
    h("td", {}, m.received_at ? `${fmt.local(m.received_at)} · ${tonnes(m.received_t)}` : h("span", { class: "warn" }, t("manifest.notReceived"))),
    h("td", { "data-role": "producer" }, party(m.producer_id, m.producer_name, self)),
    h("td", { "data-role": "transporter" }, party(m.transporter_id, m.transporter_name, self)),
    h("td", { "data-role": "receiver" }, party(m.receiver_id, m.receiver_name, self)),
    h("td", {}, m.flags.length ? m.flags.map((f) => h("span", { class: "chip warn" }, label("flag", f))) : "—"))),
  { class: "manifests" });
}

function eventValue(e) {
  if (e.value === null || e.value === undefined) return "—";
  if (e.unit === "min") return e.value >= 60 ? `${(e.value / 60).toFixed(1)}${lang() === "en" ? " h" : " 小时"}` : `${Math.round(e.value)}${lang() === "en" ? " min" : " 分钟"}`;
  if (e.unit === "km/h") return `${Math.round(e.value)} km/h`;
  if (e.unit === "h") return `${e.value.toFixed(1)}${lang() === "en" ? " h" : " 小时"}`;
  if (e.unit === "t") return tonnes(e.value);
  return `${fmt.num(e.value, 1)} ${e.unit || ""}`.trim();
}

export function eventsTable(events) {
  return table([t("event.category"), t("event.start"), t("event.end"), t("event.place"), t("event.value"), t("event.limit"), t("stop.manifest")],
    events.map((e) => h("tr", { "data-event": e.event_id, "data-category": e.category },
      h("td", {}, e.category_text), h("td", {}, fmt.local(e.start)), h("td", {}, fmt.local(e.end)),
      h("td", { class: "small" }, e.place || `${fmt.num(e.lat, 4)}, ${fmt.num(e.lon, 4)}`),
      h("td", { class: "n" }, eventValue(e), e.distance_km ? h("div", { class: "sub" }, `${fmt.num(e.distance_km, 1)} km`) : null),
      h("td", {}, e.limit || "—"), h("td", { class: "code" }, e.manifest_id || "—"))),
    { class: "events" });
}

export function partnersTable(partners) {
  return table([t("partner.role"), t("col.enterprise"), t("col.county"), t("partner.manifests"), t("partner.tonnes")],
    partners.map((p) => h("tr", { "data-partner": p.enterprise_id }, h("td", {}, label("partner", p.role)),
      h("td", {}, party(p.enterprise_id, p.name)), h("td", {}, p.county || "—"), h("td", { class: "n" }, String(p.manifests)),
      h("td", { class: "n" }, tonnes(p.tonnes)))), { class: "partners" });
}

/** Per stop at a site: the manifests its vehicle had departed in the hours before, and their producers. */
export function sourcesTable(sources) {
  const rows = [];
  for (const s of sources) {
    const ms = s.manifests.length ? s.manifests : [null];
    ms.forEach((m, i) => rows.push(h("tr", { "data-vehicle": s.vehicle_id },
      i === 0 ? h("td", { rowspan: String(ms.length) }, vehicleLink(s.vehicle_id), h("div", { class: "sub" }, fmt.local(s.stop_start))) : null,
      m ? [h("td", { class: "code" }, m.manifest_id), h("td", { class: "small" }, m.waste_text || m.waste_code),
        h("td", { class: "n" }, tonnes(m.quantity_t)), h("td", { class: "n" }, fmt.num(m.hours_before, 1)),
        h("td", { "data-role": "producer" }, party(m.producer_id, m.producer_name))]
        : h("td", { colspan: "5", class: "muted" }, t("vehicle.none")))));
  }
  return table([t("chain.stop"), t("manifest"), t("manifest.code"), t("manifest.qty"), t("chain.hoursBefore"), t("manifest.producer")],
    rows, { class: "sources" });
}

/** An enterprise's chain: the vehicles that carried its waste, its receivers, the sites those vehicles stopped at. */
export function enterpriseChain(chain) {
  if (!chain) return null;
  return h("div", { class: "grid three chain" },
    h("div", {}, h("h3", {}, t("chain.vehicles")), chain.vehicles.length ? table([t("col.vehicle"), t("partner.manifests"), t("partner.tonnes"), t("chain.drivingScore")],
      chain.vehicles.map((v) => h("tr", {}, h("td", {}, vehicleLink(v.vehicle_id)), h("td", { class: "n" }, String(v.manifests)),
        h("td", { class: "n" }, tonnes(v.tonnes)), h("td", { class: "n" }, v.driving_score === null ? "—" : fmt.score(v.driving_score)))))
      : h("p", { class: "muted" }, t("vehicle.none"))),
    h("div", {}, h("h3", {}, t("chain.receivers")), chain.receivers.length ? table([t("col.enterprise"), t("partner.manifests"), t("partner.tonnes")],
      chain.receivers.map((r) => h("tr", {}, h("td", {}, party(r.enterprise_id, r.name)), h("td", { class: "n" }, String(r.manifests)),
        h("td", { class: "n" }, tonnes(r.tonnes))))) : h("p", { class: "muted" }, t("vehicle.none"))),
    h("div", {}, h("h3", {}, t("chain.sites")), chain.sites.length ? table([t("col.site"), t("col.vehicle")],
      chain.sites.map((s) => h("tr", {}, h("td", {}, siteLink(s.site_id)), h("td", {}, s.vehicle_ids.map((v, i) => [i ? ", " : "", vehicleLink(v)])))))
      : h("p", { class: "muted" }, t("vehicle.none"))));
}
