// Charts drawn as SVG by the page itself: score over time, ledger gaps per month and waste code
// (tonnes, with the 3-tonne line of the criminal standard), power use against declared waste.

import { fmt, h, s } from "./dom.js";
import { label, t } from "./i18n.js";

const H = 270;
const M = { l: 58, r: 62, t: 30, b: 40 };
export const WIDE = 760;
export const NARROW = 560;

/** The drawing area of a chart ``W`` units wide (the SVG scales to its box; text keeps its size ratio). */
function area(wanted) {
  // on a phone the SVG is about 350 px wide: drawn on a canvas of about that width, its 12-unit
  // text stays about 11 px instead of shrinking to 5
  const W = window.matchMedia?.("(max-width: 640px)").matches ? Math.min(wanted, 400) : wanted;
  return { W, PW: W - M.l - M.r, PH: H - M.t - M.b };
}
export const CRIMINAL_T = 3;
// Okabe–Ito: distinguishable with colour-blindness
const PALETTE = ["#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442", "#000000"];

/** The smallest round step (1, 2, 2.5 or 5 × 10ⁿ) at or above ``raw``. */
function niceStep(raw) {
  if (!(raw > 0)) return 1;
  const e = 10 ** Math.floor(Math.log10(raw));
  return [1, 2, 2.5, 5, 10].map((f) => f * e).find((x) => x >= raw * (1 - 1e-9));
}

/** An axis top at or above ``v`` on a round step, with about four ticks. */
function niceAxis(v) {
  if (!(v > 0)) return { top: 1, ticks: 4 };
  const step = niceStep(v / 4);
  const ticks = Math.max(1, Math.ceil(v / step - 1e-9));
  return { top: ticks * step, ticks };
}

function frame(A, titleText, descText, cls) {
  return s("svg", { viewBox: `0 0 ${A.W} ${H}`, class: `chart ${cls}`, role: "img", "aria-label": titleText,
    preserveAspectRatio: "xMidYMid meet" }, s("title", {}, titleText), s("desc", {}, descText));
}

function yAxis(A, svg, max, { side = "left", unit = "", digits = 1, ticks = 4 } = {}) {
  const { W, PH } = A;
  const x = side === "left" ? M.l : W - M.r;
  const g = s("g", { class: `axis y ${side}` });
  for (let i = 0; i <= ticks; i++) {
    const v = (max * i) / ticks;
    const y = M.t + PH - (PH * i) / ticks;
    if (side === "left") g.append(s("line", { x1: M.l, x2: W - M.r, y1: y, y2: y, class: "grid" }));
    g.append(s("text", { x: side === "left" ? x - 6 : x + 6, y: y + 4, "text-anchor": side === "left" ? "end" : "start" },
      fmt.num(v, digits)));
  }
  g.append(s("text", { class: "unit", x: side === "left" ? 8 : W - 8, y: M.t - 16, "text-anchor": side === "left" ? "start" : "end" }, unit));
  svg.append(g);
}

function xLabels(A, svg, labels, xOf) {
  const { W, PW, PH } = A;
  const room = Math.max(1, Math.floor(PW / (7.5 * Math.max(...labels.map((l) => String(l).length)) + 12)));
  const every = Math.max(1, Math.ceil(labels.length / room));
  const g = s("g", { class: "axis x" });
  g.append(s("line", { x1: M.l, x2: W - M.r, y1: M.t + PH, y2: M.t + PH, class: "base" }));
  labels.forEach((lab, i) => {
    if (i % every !== 0) return;
    g.append(s("text", { x: xOf(i), y: M.t + PH + 18, "text-anchor": "middle" }, lab));
  });
  svg.append(g);
}

function legend(items) {
  return h("ul", { class: "legend" }, items.map(([color, text, cls]) =>
    h("li", {}, s("svg", { width: 14, height: 14, "aria-hidden": "true" },
      cls === "line" ? s("line", { x1: 0, x2: 14, y1: 7, y2: 7, stroke: color, "stroke-width": 3 })
        : s("rect", { width: 14, height: 14, fill: color })), text)));
}

const figure = (svg, caption, ...extra) => h("figure", { class: "chart-figure" }, svg, extra, caption ? h("figcaption", {}, caption) : null);

/** Score (0–1) at each as-of date; exploration entries drawn hollow. */
export function scoreHistory(points, width = WIDE) {
  const A = area(width);
  const { PW, PH } = A;
  const svg = frame(A, t("chart.history"), t("chart.history.desc"), "history");
  if (!points.length) return figure(svg, t("chart.empty"));
  yAxis(A, svg, 1, { unit: t("chart.score"), digits: 2 });
  const n = points.length;
  const xOf = (i) => M.l + (n === 1 ? PW / 2 : (PW * i) / (n - 1));
  const yOf = (v) => M.t + PH - PH * Math.max(0, Math.min(1, v ?? 0));
  xLabels(A, svg, points.map((p) => fmt.date(p.as_of)), xOf);
  if (n > 1) svg.append(s("polyline", { class: "series", points: points.map((p, i) => `${xOf(i).toFixed(1)},${yOf(p.score).toFixed(1)}`).join(" ") }));
  points.forEach((p, i) => svg.append(s("circle", { class: p.exploration ? "dot hollow" : "dot", cx: xOf(i), cy: yOf(p.score), r: 4.5, "data-score": p.score },
    s("title", {}, `${fmt.date(p.as_of)}: ${fmt.score(p.score)} · #${p.rank}${p.exploration ? ` · ${t("explore")}` : ""}`))));
  return figure(svg, t("chart.history.caption"));
}

/** Unaccounted tonnes per month, one bar per waste code, the 3 t line across. */
export function ledgerGaps(ledger, width = WIDE) {
  const A = area(width);
  const { W, PW, PH } = A;
  const svg = frame(A, t("chart.ledger"), t("chart.ledger.desc"), "ledger");
  if (!ledger.length) return figure(svg, t("chart.empty"));
  const months = [...new Set(ledger.map((r) => r.month))].sort();
  const codes = [...new Set(ledger.map((r) => r.waste_code))].sort();
  const max = Math.max(CRIMINAL_T * 1.2, ...ledger.map((r) => r.unaccounted_t ?? 0));
  const { top, ticks } = niceAxis(max);
  yAxis(A, svg, top, { unit: t("unit.tonnes"), digits: 1, ticks });
  const band = PW / months.length;
  const inner = Math.max(1, Math.min(36, (band * 0.8) / codes.length));
  const groupW = inner * codes.length;
  const xOf = (i) => M.l + band * (i + 0.5);
  const yOf = (v) => M.t + PH - (PH * Math.max(0, v)) / top;
  xLabels(A, svg, months, xOf);
  const bars = s("g", { class: "bars" });
  for (const r of ledger) {
    const i = months.indexOf(r.month);
    const j = codes.indexOf(r.waste_code);
    const v = r.unaccounted_t ?? 0;
    const x = M.l + band * i + (band - groupW) / 2 + inner * j;
    const over = v >= CRIMINAL_T;
    const tip = `${r.month} ${r.waste_code}: ${fmt.tonnes(v)} ${t("chart.ledger.unaccounted")}` +
      ` (${t("ledger.generated")} ${fmt.tonnes(r.generated_t)}, ${t("ledger.accounted")} ${fmt.tonnes(r.accounted_t)})`;
    bars.append(s("rect", { x, y: yOf(v), width: Math.max(1, inner - 1), height: Math.max(v > 0 ? 1 : 0, yOf(0) - yOf(v)),
      fill: PALETTE[j % PALETTE.length], class: over ? "bar over" : "bar", "data-month": r.month, "data-code": r.waste_code,
      "data-t": v }, s("title", {}, tip)));
  }
  svg.append(bars);
  const y3 = yOf(CRIMINAL_T);
  svg.append(s("g", { class: "threshold" }, s("line", { x1: M.l, x2: W - M.r, y1: y3, y2: y3 }),
    s("text", { x: W - M.r + 4, y: y3 + 4 }, t("chart.ledger.line"))));
  const items = codes.map((c, j) => [PALETTE[j % PALETTE.length], c]);
  return figure(svg, t("chart.ledger.caption"), legend([...items, ["#b00020", t("chart.ledger.lineLegend"), "line"]]));
}

/** Metered kWh per month (night share darker) against the tonnes declared generated (line). */
export function powerVsWaste(power, width = WIDE) {
  const A = area(width);
  const { PW, PH } = A;
  const svg = frame(A, t("chart.power"), t("chart.power.desc"), "power");
  if (!power.length) return figure(svg, t("chart.empty"));
  const k = niceAxis(Math.max(...power.map((p) => p.kwh ?? 0)));
  const kTop = k.top;
  const tTop = niceStep(Math.max(...power.map((p) => p.generated_t ?? 0)) / k.ticks) * k.ticks; // same gridlines both sides
  yAxis(A, svg, kTop, { unit: "kWh", digits: 0, ticks: k.ticks });
  yAxis(A, svg, tTop, { side: "right", unit: t("unit.tonnes"), digits: 2, ticks: k.ticks });
  const band = PW / power.length;
  const xOf = (i) => M.l + band * (i + 0.5);
  const yk = (v) => M.t + PH - (PH * Math.max(0, v ?? 0)) / kTop;
  const yt = (v) => M.t + PH - (PH * Math.max(0, v ?? 0)) / tTop;
  xLabels(A, svg, power.map((p) => p.month), xOf);
  const g = s("g", { class: "bars" });
  power.forEach((p, i) => {
    const w = Math.max(1, Math.min(56, band * 0.7));
    const x = M.l + band * i + (band - w) / 2;
    const tip = `${p.month}: ${fmt.int(p.kwh)} kWh (${t("power.night")} ${fmt.int(p.night_kwh)}), ${t("power.declared")} ${fmt.tonnes(p.generated_t)}`;
    if (p.kwh !== null && p.kwh !== undefined) {
      g.append(s("rect", { class: "bar kwh", x, y: yk(p.kwh), width: w, height: yk(0) - yk(p.kwh) }, s("title", {}, tip)));
      if (p.night_kwh) g.append(s("rect", { class: "bar night", x, y: yk(p.night_kwh), width: w, height: yk(0) - yk(p.night_kwh) }, s("title", {}, tip)));
    } else {
      g.append(s("text", { class: "missing", x: x + w / 2, y: yk(0) - 4, "text-anchor": "middle" }, "?", s("title", {}, `${p.month}: ${t("power.noReading")}`)));
    }
  });
  svg.append(g);
  const pts = power.map((p, i) => (p.generated_t === null || p.generated_t === undefined ? null : [xOf(i), yt(p.generated_t), p]))
    .filter(Boolean);
  if (pts.length > 1) svg.append(s("polyline", { class: "series waste", points: pts.map(([x, y]) => `${x.toFixed(1)},${y.toFixed(1)}`).join(" ") }));
  for (const [x, y, p] of pts) svg.append(s("circle", { class: "dot waste", cx: x, cy: y, r: 4 }, s("title", {}, `${p.month}: ${fmt.tonnes(p.generated_t)}`)));
  return figure(svg, t("chart.power.caption"), legend([["#9ecae1", t("power.kwh")], ["#3182bd", t("power.night")],
    ["#d55e00", t("power.declared"), "line"]]));
}

/** The campaign per month: one bar per count (``series``: [key, label]), months across. */
export function campaignBars(rows, series, width = WIDE) {
  const A = area(width);
  const { PW, PH } = A;
  const svg = frame(A, t("chart.campaign"), t("chart.campaign.desc"), "campaign");
  if (!rows.length) return figure(svg, t("chart.empty"));
  const most = Math.max(1, ...rows.flatMap((r) => series.map(([k]) => r[k] ?? 0)));
  const step = Math.ceil(niceStep(most / 4)); // whole counts on every tick
  const ticks = Math.max(1, Math.ceil(most / step));
  const top = ticks * step;
  yAxis(A, svg, top, { unit: t("unit.count"), digits: 0, ticks });
  const band = PW / rows.length;
  const inner = Math.max(1, Math.min(28, (band * 0.8) / series.length));
  const xOf = (i) => M.l + band * (i + 0.5);
  const yOf = (v) => M.t + PH - (PH * Math.max(0, v)) / top;
  xLabels(A, svg, rows.map((r) => r.month), xOf);
  const bars = s("g", { class: "bars" });
  rows.forEach((r, i) => series.forEach(([k, name], j) => {
    const v = r[k] ?? 0;
    const x = M.l + band * i + (band - inner * series.length) / 2 + inner * j;
    bars.append(s("rect", { x, y: yOf(v), width: Math.max(1, inner - 1), height: Math.max(v > 0 ? 1 : 0, yOf(0) - yOf(v)),
      fill: PALETTE[j % PALETTE.length], class: "bar", "data-month": r.month, "data-series": k, "data-n": v },
    s("title", {}, `${r.month} ${name}: ${fmt.int(v)}`)));
  }));
  svg.append(bars);
  return figure(svg, t("chart.campaign.caption"), legend(series.map(([, name], j) => [PALETTE[j % PALETTE.length], name])));
}

/** Precision (0–1) of each month's top k, one line per list kind. */
export function precisionLine(points, width = WIDE) {
  const A = area(width);
  const { PW, PH } = A;
  const svg = frame(A, t("chart.precision"), t("chart.precision.desc"), "precision");
  const months = [...new Set(points.map((p) => p.month))].sort();
  if (!points.some((p) => p.precision !== null)) return figure(svg, t("chart.empty"));
  yAxis(A, svg, 1, { unit: t("chart.precision.unit"), digits: 1 });
  const n = months.length;
  const xOf = (i) => M.l + (n === 1 ? PW / 2 : (PW * i) / (n - 1));
  const yOf = (v) => M.t + PH - PH * Math.max(0, Math.min(1, v));
  xLabels(A, svg, months, xOf);
  const kinds = [...new Set(points.map((p) => p.kind))];
  kinds.forEach((kind, j) => {
    const pts = points.filter((p) => p.kind === kind && p.precision !== null).map((p) => [xOf(months.indexOf(p.month)), yOf(p.precision), p]);
    if (pts.length > 1) svg.append(s("polyline", { class: "series", stroke: PALETTE[j], points: pts.map(([x, y]) => `${x.toFixed(1)},${y.toFixed(1)}`).join(" ") }));
    for (const [x, y, p] of pts) svg.append(s("circle", { class: "dot", cx: x, cy: y, r: 4.5, fill: PALETTE[j], "data-precision": p.precision },
      s("title", {}, `${p.month} ${label("kind", kind)}: ${fmt.num(p.precision, 2)} (${p.confirmed}/${p.concluded}, k=${p.k})`)));
  });
  return figure(svg, t("chart.precision.caption"), legend(kinds.map((k, j) => [PALETTE[j], label("kind", k), "line"])));
}
