// A model version's evaluation per county and per industry group (the tables its training run
// logged): rows scored, how often investigated and confirmed, how often listed in the top k, and
// precision@k and average precision on each group's own investigated rows. Folded under the version.

import { h, table } from "./dom.js";
import { lang, t } from "./i18n.js";

const pct = (v) => (typeof v === "number" ? `${(v * 100).toFixed(1)}%` : "—");
const num = (v) => (typeof v === "number" ? v.toFixed(3) : "—");
const int = (v) => (typeof v === "number" ? String(Math.round(v)) : "—");

// column, header key, format; "violating" only when the run knew the truth (simulated cities)
const COLUMNS = [
  ["rows", "rows", int], ["investigated", "investigated", pct], ["confirmed_rate", "confirmed", pct],
  ["labels_n", "labelsN", int], ["labels_precision_at_k", "precision", num], ["labels_ap", "ap", num],
  ["top_k_share", "topK", pct], ["mean_score", "meanScore", num], ["violating", "violating", pct],
];

function groupTable(kind, rows) {
  if (!rows.length) return h("p", { class: "muted small" }, t("models.groups.none"));
  const cols = COLUMNS.filter(([c]) => c !== "violating" || rows.some((r) => typeof r[c] === "number"));
  return table([t(`models.groups.${kind}`), ...cols.map(([, key]) => t(`models.groups.col.${key}`))],
    rows.map((r) => h("tr", { "data-group": r.group },
      h("td", { title: r.group }, lang() === "en" ? r.name_en : r.name),
      cols.map(([c, , f]) => h("td", { class: "n" }, f(r[c]))))),
    { class: `groups by-${kind}` });
}

/** "按区县 / 按行业": nothing when the version has neither table (a tip model). */
export function groupsSection(v) {
  const county = v.by_county || [];
  const industry = v.by_industry || [];
  if (!county.length && !industry.length) return null;
  return h("details", { class: "groups" }, h("summary", {}, t("models.groups.title")),
    h("p", { class: "muted small" }, t("models.groups.note")),
    h("h4", {}, t("models.groups.byCounty")), groupTable("county", county),
    h("h4", {}, t("models.groups.byIndustry")), groupTable("industry", industry));
}
