// For model owners: the champion of each kind and the version in service, the champion's
// evaluation (metrics per fold and model), the registered versions, the last training runs and the
// stored lead lists.

import * as api from "./api.js";
import { errorBox, loading, pageTitle, section } from "./common.js";
import { clear, fmt, h, put, table } from "./dom.js";
import { label, t } from "./i18n.js";

/** Evaluation rows (entity, fold, model, metric, value) as one table: a row per model and fold. */
function evaluationTable(rows) {
  if (!rows.length) return h("p", { class: "muted" }, t("models.noEvaluation"));
  const metrics = [...new Set(rows.map((r) => r.metric))].sort();
  const keyOf = (r) => `${r.entity}\u0000${r.fold}\u0000${r.model}`;
  const groups = new Map();
  for (const r of rows) {
    if (!groups.has(keyOf(r))) groups.set(keyOf(r), { entity: r.entity, fold: r.fold, model: r.model, values: {} });
    groups.get(keyOf(r)).values[r.metric] = r.value;
  }
  const best = {};
  for (const g of groups.values()) {
    for (const m of metrics) {
      const v = g.values[m];
      const k = `${g.entity}|${g.fold}|${m}`;
      if (typeof v === "number" && (best[k] === undefined || v > best[k])) best[k] = v;
    }
  }
  const sorted = [...groups.values()].sort((a, b) => a.entity.localeCompare(b.entity) || a.fold.localeCompare(b.fold) || a.model.localeCompare(b.model));
  return table([t("models.entity"), t("models.fold"), t("models.model"), ...metrics],
    sorted.map((g) => h("tr", {}, h("td", {}, g.entity), h("td", {}, g.fold), h("td", { class: "code" }, g.model),
      metrics.map((m) => {
        const v = g.values[m];
        const top = typeof v === "number" && v === best[`${g.entity}|${g.fold}|${m}`];
        return h("td", { class: top ? "n strong" : "n" }, typeof v === "number" ? v.toFixed(3) : "—");
      }))),
    { class: "evaluation" });
}

function kindCard(k) {
  return section(`models.kind.${k.kind}`,
    h("dl", { class: "facts" },
      h("dt", {}, t("models.champion")), h("dd", { class: "champion" }, k.champion ? `v${k.champion}` : t("models.noChampion")),
      h("dt", {}, t("models.serving")), h("dd", {}, k.serving ? `v${k.serving}` : "—"),
      k.load_error ? [h("dt", {}, t("models.loadError")), h("dd", { class: "warn" }, k.load_error)] : null),
    h("h3", {}, t("models.evaluation")), evaluationTable(k.evaluation),
    h("details", {}, h("summary", {}, t("models.versions", { n: k.versions.length })),
      k.versions.length ? table([t("models.version"), t("models.created"), t("models.gate")],
        k.versions.map((v) => h("tr", { class: v.champion ? "champion" : "" },
          h("td", {}, `v${v.version}`, v.champion ? h("span", { class: "badge ok" }, t("models.championBadge")) : null),
          h("td", {}, fmt.utc(v.created)), h("td", { class: "small" }, v.gate || "—")))) : h("p", { class: "muted" }, t("none"))));
}

export async function render(main) {
  put(main, pageTitle(t("tab.models")), loading(t("loading.models")));
  let models;
  let runs = { items: [] };
  let jobs = { items: [] };
  try {
    [models, runs, jobs] = await Promise.all([api.get("/v1/models"), api.get("/v1/runs", { limit: 20 }), api.get("/v1/training", { limit: 10 })]);
  } catch (err) {
    main.lastChild.replaceWith(errorBox(err));
    return;
  }
  put(clear(main), pageTitle(t("tab.models")),
    models.models.map(kindCard),
    section("models.runs", models.runs.length ? table([t("models.run"), t("models.started"), t("models.status"), "as-of", t("models.decisions")],
      models.runs.map((r) => h("tr", {}, h("td", { class: "code" }, r.run_id.slice(0, 12)), h("td", {}, fmt.utc(r.started)),
        h("td", {}, r.status || "—"), h("td", {}, r.as_of || "—"),
        h("td", { class: "small" }, Object.entries(r.decisions).map(([k, v]) => h("div", {}, `${k}: ${v}`))))))
      : h("p", { class: "muted" }, t("none"))),
    section("models.jobs", jobs.items.length ? table([t("models.job"), t("models.started"), t("models.status"), t("models.by"), t("models.promoted")],
      jobs.items.map((j) => h("tr", {}, h("td", {}, String(j.id)), h("td", {}, fmt.utc(j.started_at)),
        h("td", {}, label("jobstatus", j.status), j.progress ? h("div", { class: "sub" }, j.progress) : null, j.error ? h("div", { class: "warn small" }, j.error) : null),
        h("td", {}, j.requested_by || "—"), h("td", {}, j.promoted === null ? "—" : j.promoted ? t("yes") : t("no")))))
      : h("p", { class: "muted" }, t("none"))),
    section("models.lists", runs.items.length ? table([t("models.list"), "as-of", t("model.version"), t("models.created")],
      runs.items.map((r) => h("tr", {}, h("td", {}, String(r.run_id)), h("td", {}, r.as_of), h("td", {}, r.model_version ?? "—"),
        h("td", {}, fmt.utc(r.created_at))))) : h("p", { class: "muted" }, t("none"))));
}
