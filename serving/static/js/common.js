// Pieces shared by the views: the session (who is signed in), cached look-ups, error boxes,
// reasons, evidence pointers with the catalogue's descriptions, outcome lists.

import * as api from "./api.js";
import { clear, fmt, h, link, put, table } from "./dom.js";
import { label, lang, t } from "./i18n.js";

export const session = { me: null };
const cache = new Map();

/** A GET whose answer does not change within a session (filters, catalogue, places). */
export function cached(path, params) {
  const key = api.url(path, params);
  if (!cache.has(key)) cache.set(key, api.get(path, params, { signal: null }).catch((e) => { cache.delete(key); throw e; }));
  return cache.get(key);
}

export function forgetCache() { cache.clear(); }

export const may = (resource) => Boolean(session.me?.may?.includes(resource));

export function errorBox(err) {
  const status = err?.status;
  const key = { 400: "err.bad", 401: "err.401", 403: "err.403", 404: "err.404", 409: "err.409", 413: "err.413",
    422: "err.422", 429: "err.429", 503: "err.503" }[status] || (status ? "err.other" : "err.network");
  let detail = status ? (err?.detail ?? err?.message ?? "") : ""; // "Failed to fetch" says nothing to a user
  if (Array.isArray(detail)) detail = detail.map((d) => `${(d.loc || []).slice(1).join(".")}: ${d.msg}`).join("; ");
  // what the user sent is wrong: the server's words name the field, so they stay in view
  const fieldLevel = [400, 409, 422].includes(status);
  return h("div", { class: "error", role: "alert", "data-status": status ?? "network" },
    h("strong", {}, t(key)),
    detail ? (fieldLevel ? h("div", { class: "detail" }, String(detail))
      : h("details", { class: "detail" }, h("summary", {}, t("err.details")), String(detail))) : null,
    err?.requestId ? h("div", { class: "rid" }, t("err.requestId", { id: err.requestId })) : null);
}

/** "Loading …" naming what is loading. */
export const loading = (what) => h("p", { class: "loading", role: "status" }, what ? t("loading.what", { what }) : t("loading"));

const warmTries = new WeakMap();

/** While the service warms up (503: no lead list yet, database starting) show a progress note in
 * ``box`` and call ``again`` after a few seconds, as long as ``box`` is still on the page. Returns
 * false for any other error (the caller shows it). */
export function retryWhenWarming(box, err, again) {
  if (err?.status !== 503) return false;
  const n = (warmTries.get(box) || 0) + 1;
  warmTries.set(box, n);
  const secs = Math.min(1 + n, 10);
  put(clear(box), h("div", { class: "warming", role: "status", "aria-live": "polite" },
    h("strong", {}, t("warmup.title")), h("p", {}, t("warmup.wait", { s: secs, n }))));
  setTimeout(() => { if (box.isConnected) again(); }, secs * 1000);
  return true;
}

/** The box loaded after a warm-up: the next warm-up counts from one again. */
export const warmedUp = (box) => warmTries.delete(box);

export function section(titleKey, ...children) {
  const id = `sec-${titleKey.replace(/\W+/g, "-")}`;
  return h("section", { class: "card", "aria-labelledby": id }, h("h2", { id }, t(titleKey)), children);
}

export const exploreBadge = () => h("span", { class: "badge explore", title: t("explore.hint") }, t("explore"));

export function reasonsList(reasons, max = Infinity) {
  if (!reasons?.length) return h("p", { class: "muted" }, t("reasons.none"));
  const shown = reasons.slice(0, max);
  const list = h("ul", { class: "reasons" }, shown.map((r) => h("li", {}, r)));
  if (reasons.length <= max) return list;
  return h("div", {}, list, h("details", { class: "more" },
    h("summary", {}, t("reasons.more", { n: reasons.length - max })),
    h("ul", { class: "reasons" }, reasons.slice(max).map((r) => h("li", {}, r)))));
}

/** "name: value" pairs as a definition list (empty values left out). */
export function facts(pairs) {
  return h("dl", { class: "facts" }, pairs.filter(([, v]) => v !== null && v !== undefined && v !== "")
    .map(([k, v]) => [h("dt", {}, t(k)), h("dd", {}, v)]));
}

const UNIT = { t: " t", kWh: " kWh", m: " m", days: " d", hours: " h" };

function featureText(name, catalogue) {
  const spec = catalogue.get(name);
  if (!spec) return { desc: name, unit: "" };
  return { desc: lang() === "en" ? spec.description_en : spec.description_zh, unit: UNIT[spec.unit] ?? "" };
}

/** The evidence pointers of a lead: what each feature's value is and where to look. */
export async function evidenceTable(evidence) {
  const entries = Object.entries(evidence || {});
  if (!entries.length) return h("p", { class: "muted" }, t("evidence.none"));
  let catalogue = new Map();
  try {
    catalogue = new Map((await cached("/v1/catalogue")).items.map((c) => [c.name, c]));
  } catch { /* names shown as they are */ }
  const rows = entries.map(([name, ev]) => {
    const { desc, unit } = featureText(name, catalogue);
    const pointers = Object.entries(ev).filter(([k]) => k !== "value")
      .map(([k, v]) => h("span", { class: "chip" }, `${label("ptr", k)}: ${v}`));
    return h("tr", {}, h("td", {}, desc, h("div", { class: "code" }, name)),
      h("td", { class: "n" }, `${fmt.num(ev.value, 2)}${unit}`), h("td", {}, pointers));
  });
  return table([t("evidence.feature"), t("evidence.value"), t("evidence.where")], rows, { class: "evidence" });
}

export function outcomesTable(outcomes) {
  if (!outcomes?.length) return h("p", { class: "muted" }, t("outcomes.none"));
  return table([t("outcome.case"), t("outcome.outcome"), t("outcome.violation"), t("outcome.tonnes"),
    t("outcome.opened"), t("outcome.recorded")],
  outcomes.map((o) => h("tr", {}, h("td", { class: "code" }, o.case_id), h("td", {}, label("outcome", o.outcome)),
    h("td", {}, label("violation", o.violation) || "—"), h("td", { class: "n" }, fmt.tonnes(o.tonnes)),
    h("td", {}, fmt.date(o.opened)), h("td", {}, `${fmt.utc(o.recorded_at)}${o.recorded_by ? ` · ${o.recorded_by}` : ""}`))),
  { class: "outcomes" });
}

export const enterpriseLink = (id, name) => (may("enterprise")
  ? link(`/enterprise/${encodeURIComponent(id)}`, name || id)
  : h("span", {}, name || id));

export function pageTitle(text, ...extra) {
  return h("div", { class: "page-title" }, h("h1", { tabindex: "-1" }, text), extra);
}

/** Who is signed in, for the header: "name · role · county". */
export function whoText(me) {
  return `${me.name} · ${label("role", me.role)} · ${me.county || t("citywide")}`;
}
