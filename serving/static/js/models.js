// For administrators: the champion of each kind (learned or rules) and the version in service,
// every version's main metrics beside its baselines and per county and industry, the champion's full evaluation with readable
// metric names, gate decisions and run states in the page's language; buttons to train, score,
// promote and roll back (confirmed, with progress), and user management.

import { usersSection } from "./admin_users.js";
import { groupsSection } from "./model_groups.js";
import * as api from "./api.js";
import { cached, errorBox, loading, pageTitle, section } from "./common.js";
import { clear, fmt, h, put, table } from "./dom.js";
import { label, t } from "./i18n.js";
import { decisionText, direction, gateText, metricName, modelName, runStatus } from "./model_text.js";

const MAIN = ["labels/precision@20", "labels/ap", "labels/recall@20", "truth/precision@20", "truth/ap"];
const mean = (xs) => (xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : null);

/** Rows (entity, fold, model, metric, value) as one value per model and metric, averaged over folds. */
function byModel(rows) {
  const out = new Map();
  for (const r of rows) {
    if (typeof r.value !== "number") continue;
    if (!out.has(r.model)) out.set(r.model, {});
    (out.get(r.model)[r.metric] ||= []).push(r.value);
  }
  return new Map([...out].map(([m, vals]) => [m, Object.fromEntries(Object.entries(vals).map(([k, v]) => [k, mean(v)]))]));
}

function bestOf(values, metric) {
  const d = direction(metric);
  const xs = values.filter((v) => typeof v === "number");
  if (!d || !xs.length) return null;
  return d > 0 ? Math.max(...xs) : Math.min(...xs);
}

const num = (v) => (typeof v === "number" ? v.toFixed(3) : "—");

/** A version's main metrics, one row per model (the learned one and its baselines), best in bold. */
function comparison(rows, source) {
  const models = byModel(rows);
  if (!models.size) return h("p", { class: "muted small" }, t("models.noEvaluation"));
  const metrics = MAIN.filter((m) => [...models.values()].some((v) => typeof v[m] === "number"));
  const order = [...models.keys()].sort((a, b) => (a === "lgbm" ? -1 : b === "lgbm" ? 1 : a.localeCompare(b)));
  return table([t("models.model"), ...metrics.map(metricName)],
    order.map((m) => h("tr", { "data-model": m, class: (source === "rules" ? m.startsWith("rules") : m === "lgbm") ? "served" : "" },
      h("td", {}, modelName(m)),
      metrics.map((k) => {
        const v = models.get(m)[k];
        const top = typeof v === "number" && v === bestOf(order.map((x) => models.get(x)[k]), k);
        return h("td", { class: top ? "n strong" : "n" }, num(v));
      }))),
    { class: "compare" });
}

/** The champion's every stored metric per fold and model, named readably (raw name as a tooltip). */
function evaluationTable(rows) {
  if (!rows.length) return h("p", { class: "muted" }, t("models.noEvaluation"));
  const metrics = [...new Set(rows.map((r) => r.metric))].sort();
  const keyOf = (r) => `${r.entity}\u0000${r.fold}\u0000${r.model}`;
  const groups = new Map();
  for (const r of rows) {
    if (!groups.has(keyOf(r))) groups.set(keyOf(r), { entity: r.entity, fold: r.fold, model: r.model, values: {} });
    groups.get(keyOf(r)).values[r.metric] = r.value;
  }
  const sorted = [...groups.values()].sort((a, b) => a.entity.localeCompare(b.entity) || a.fold.localeCompare(b.fold) || a.model.localeCompare(b.model));
  const best = {};
  for (const m of metrics) {
    for (const g of sorted) {
      const k = `${g.entity}|${g.fold}|${m}`;
      best[k] = bestOf(sorted.filter((x) => x.entity === g.entity && x.fold === g.fold).map((x) => x.values[m]), m);
    }
  }
  return h("div", { class: "table-wrap" }, h("table", { class: "evaluation" },
    h("thead", {}, h("tr", {}, [t("models.entity"), t("models.fold"), t("models.model")].map((x) => h("th", { scope: "col" }, x)),
      metrics.map((m) => h("th", { scope: "col", title: m, "data-metric": m }, metricName(m))))),
    h("tbody", {}, sorted.map((g) => h("tr", {}, h("td", {}, t(`models.kind.${g.entity}`)), h("td", {}, g.fold),
      h("td", { title: g.model }, modelName(g.model)),
      metrics.map((m) => {
        const v = g.values[m];
        const top = typeof v === "number" && v === best[`${g.entity}|${g.fold}|${m}`];
        return h("td", { class: top ? "n strong" : "n" }, num(v));
      }))))));
}

/** Confirm, POST, then follow the job (training or scoring) until it ends, in ``box``. */
async function startJob(kind, box, done) {
  if (!window.confirm(t(`models.confirm.${kind}`))) return;
  put(clear(box), loading(t(`models.starting.${kind}`)));
  let job;
  try {
    job = await api.post(`/v1/${kind}`, {});
  } catch (err) {
    put(clear(box), errorBox(err));
    return;
  }
  const show = (j) => put(clear(box), h("p", { class: `job ${j.status}`, role: "status", "data-job": j.id },
    t(`models.job.${kind}`, { id: j.id }), "：", label("jobstatus", j.status), j.progress ? ` · ${j.progress}` : "",
    j.error ? h("span", { class: "warn" }, ` · ${j.error}`) : ""));
  show(job);
  while (job.status === "running" && box.isConnected) {
    await new Promise((r) => { setTimeout(r, 2000); });
    try { job = await api.get(`/v1/${kind}/${job.id}`, {}, { signal: null }); } catch (err) { put(clear(box), errorBox(err)); return; }
    if (box.isConnected) show(job);
  }
  if (box.isConnected) done();
}

function kindCard(k, refresh) {
  const msg = h("div", { role: "status", "aria-live": "polite" });
  const act = async (what, path, body, confirmText) => {
    if (!window.confirm(confirmText)) return;
    put(clear(msg), loading(t(`models.doing.${what}`)));
    try {
      await api.post(path, body);
      put(clear(msg), h("p", { class: "ok" }, t(`models.done.${what}`)));
      refresh();
    } catch (err) { put(clear(msg), errorBox(err)); }
  };
  const kindName = t(`models.kind.${k.kind}`);
  return section(`models.kind.${k.kind}`,
    h("dl", { class: "facts" },
      h("dt", {}, t("models.champion")), h("dd", { class: "champion" }, k.champion ? `v${k.champion}` : t("models.noChampion")),
      h("dt", {}, t("models.championIs")), h("dd", { class: "champion-source" }, k.champion_source ? label("source", k.champion_source) : "—"),
      h("dt", {}, t("models.serving")), h("dd", {}, k.serving ? `v${k.serving}` : "—"),
      k.load_error ? [h("dt", {}, t("models.loadError")), h("dd", { class: "warn" }, k.load_error)] : null),
    k.champion ? h("div", { class: "actions" }, h("button", { type: "button", "data-action": `rollback-${k.kind}`,
      onclick: () => act("rollback", `/v1/models/${k.kind}/rollback`, {}, t("models.confirmRollback", { kind: kindName, v: k.champion })) },
    t("models.rollback"))) : null,
    msg,
    h("h3", {}, t("models.versionsCompared")),
    k.versions.length ? h("div", { class: "versions" }, k.versions.slice(0, 10).map((v) => h("details", { class: "version", "data-version": v.version, open: v.champion || null },
      h("summary", {}, h("strong", {}, `v${v.version}`), v.champion ? h("span", { class: "badge ok" }, t("models.championBadge")) : null,
        ` · ${v.source ? label("source", v.source) : "—"} · ${fmt.utc(v.created)} · `, h("span", { class: "gate" }, gateText(v.gate))),
      comparison(v.evaluation || [], v.source),
      groupsSection(v),
      v.champion ? null : h("button", { type: "button", "data-action": `promote-${k.kind}-${v.version}`,
        onclick: () => act("promote", `/v1/models/${k.kind}/promote`, { version: v.version }, t("models.confirmPromote", { kind: kindName, v: v.version })) },
      t("models.promote", { v: v.version })))))
      : h("p", { class: "muted" }, t("none")),
    h("details", {}, h("summary", {}, t("models.evaluation")), evaluationTable(k.evaluation)));
}

export async function render(main) {
  put(main, pageTitle(t("tab.models")), loading(t("loading.models")));
  let models;
  let runs = { items: [] };
  let jobs = { items: [] };
  let counties = [];
  try {
    [models, runs, jobs] = await Promise.all([api.get("/v1/models"), api.get("/v1/runs", { limit: 20 }), api.get("/v1/training", { limit: 10 })]);
    counties = (await cached("/v1/filters").catch(() => ({ counties: [] }))).counties;
  } catch (err) {
    main.lastChild.replaceWith(errorBox(err));
    return;
  }
  const refresh = () => { if (main.isConnected) render(clear(main)); };
  const jobBox = h("div", { class: "job-progress" });
  put(clear(main), pageTitle(t("tab.models"),
    h("button", { type: "button", class: "primary", "data-action": "train", onclick: () => startJob("training", jobBox, refresh) }, t("models.train")),
    h("button", { type: "button", "data-action": "score", onclick: () => startJob("scoring", jobBox, refresh) }, t("models.score"))),
  jobBox,
  models.models.map((k) => kindCard(k, refresh)),
  section("models.runs", models.runs.length ? table([t("models.run"), t("models.started"), t("models.status"), t("list.asOf"), t("models.decisions")],
    models.runs.map((r) => h("tr", {}, h("td", { class: "code" }, r.run_id.slice(0, 12)), h("td", {}, fmt.utc(r.started)),
      h("td", { class: "run-status" }, r.status ? runStatus(r.status) : "—"), h("td", {}, r.as_of || "—"),
      h("td", { class: "small" }, Object.entries(r.decisions).sort().map(([k, v]) => h("div", {}, decisionText(k, v)))))))
    : h("p", { class: "muted" }, t("none"))),
  section("models.jobs", jobs.items.length ? table([t("models.job"), t("models.started"), t("models.status"), t("models.by"), t("models.promoted")],
    jobs.items.map((j) => h("tr", {}, h("td", {}, String(j.id)), h("td", {}, fmt.utc(j.started_at)),
      h("td", {}, label("jobstatus", j.status), j.progress ? h("div", { class: "sub" }, j.progress) : null, j.error ? h("div", { class: "warn small" }, j.error) : null),
      h("td", {}, j.requested_by || "—"), h("td", {}, j.promoted === null ? "—" : j.promoted ? t("yes") : t("no")))))
    : h("p", { class: "muted" }, t("none"))),
  section("models.lists", runs.items.length ? table([t("models.list"), t("list.asOf"), t("model.version"), t("models.created")],
    runs.items.map((r) => h("tr", {}, h("td", {}, String(r.run_id)), h("td", {}, r.as_of), h("td", {}, r.model_version ?? "—"),
      h("td", {}, fmt.utc(r.created_at))))) : h("p", { class: "muted" }, t("none"))),
  usersSection(counties));
}
