// Readable names for what the registry and MLflow store in English: metric names (with the
// "labels/" and "truth/" prefixes of five-part keys), model names, gate decisions, run states.

import { label, t } from "./i18n.js";

/** Metrics where a lower value is better, and counts that are not compared at all. */
const LOWER_BETTER = new Set(["brier"]);
const COUNTS = new Set(["n", "positives", "base_rate", "rows"]);

function parts(metric) {
  const i = metric.indexOf("/");
  return i < 0 ? { on: null, base: metric } : { on: metric.slice(0, i), base: metric.slice(i + 1) };
}

/** "labels/precision@20" -> "前 20 名精确率（核查结论）"; unknown names are shown as they are. */
export function metricName(metric) {
  const { on, base } = parts(metric);
  const m = /^(\w+)@(\d+)$/.exec(base);
  const name = m ? t(`metric.${m[1]}@k`, { k: m[2] }) : t(`metric.${base}`);
  const known = !name.startsWith("metric.");
  const text = known ? name : base;
  return on ? `${text}（${label("metricOn", on)}）` : text;
}

/** 1: higher is better, -1: lower is better, 0: not a quality (a count). */
export function direction(metric) {
  const { base } = parts(metric);
  if (COUNTS.has(base)) return 0;
  return LOWER_BETTER.has(base) ? -1 : 1;
}

export const modelName = (m) => label("modelname", m);

const GATE = [
  [/^promoted: (.+?) (-?[\d.]+|nan) vs (-?[\d.]+|nan)$/, (m) => t("gate.promotedVs", { metric: gateMetric(m[1]), new: m[2], old: m[3] })],
  [/^promoted: (.+?) (-?[\d.]+|nan) \(first champion\)$/, (m) => t("gate.promotedFirst", { metric: gateMetric(m[1]), new: m[2] })],
  [/^promoted: (.+?) (-?[\d.]+|nan) \(v(\d+) was trained with these outcomes: not compared\)$/,
    (m) => t("gate.promotedUncompared", { metric: gateMetric(m[1]), new: m[2], v: m[3] })],
  [/^promoted: (.+?) (-?[\d.]+|nan)$/, (m) => t("gate.promoted", { metric: gateMetric(m[1]), new: m[2] })],
  [/^(?:not promoted: )?(.+?) (-?[\d.]+|nan) is below the champion v(\d+)'s (-?[\d.]+|nan) on the same rows$/,
    (m) => t("gate.below", { metric: gateMetric(m[1]), new: m[2], v: m[3], old: m[4] })],
  [/^(?:not promoted: )?the new version does not load back/, () => t("gate.noLoad")],
  [/^(?:not promoted: )?the new version loaded back does not reproduce its scores/, () => t("gate.noReproduce")],
  [/^(?:not promoted: )?it gives \(nearly\) one score to every row/, () => t("gate.constant")],
  [/^promoted \(first champion\)$/, () => t("gate.promotedFirstPlain")],
  [/^promoted vs (-?[\d.]+|nan)$/, (m) => t("gate.promotedVsPlain", { old: m[1] })],
  [/^promoted \(v(\d+) was trained with these outcomes: not compared\)$/, (m) => t("gate.promotedUncomparedPlain", { v: m[1] })],
  [/^promoted$/, () => t("gate.promotedPlain")],
];

function gateMetric(text) {
  const m = /^precision@(\d+) \(labels, latest fold; ties by average precision\)$/.exec(text);
  return m ? t("gate.metric", { k: m[1] }) : text;
}

/** A gate decision in the page's language (the stored English when it is not one of the known forms). */
export function gateText(text) {
  if (!text) return "—";
  for (const [re, f] of GATE) {
    const m = re.exec(text);
    if (m) return f(m);
  }
  return text;
}

/** A decision tag of a training run ("enterprise_gate": …) as "企业模型 晋升判定: …". */
export function decisionText(key, value) {
  const m = /^(enterprise|tip)_(gate|version|model)$/.exec(key);
  if (!m) return `${key}: ${value}`;
  const v = m[2] === "gate" ? gateText(value) : m[2] === "model" ? label("source", value) : `v${value}`;
  return `${t(`models.kind.${m[1]}`)} · ${t(`decision.${m[2]}`)}：${v}`;
}

export const runStatus = (s) => label("runstatus", s);
