// Building elements without innerHTML (API text is never parsed as markup), and number/time formats.

import { lang } from "./i18n.js";

const SVG_NS = "http://www.w3.org/2000/svg";

function append(el, children) {
  for (const c of children.flat(Infinity)) {
    if (c === null || c === undefined || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}

/** h("a", {href: "#/x", class: "k", onclick: fn, dataset: {...}}, "text", child, [more]) */
export function h(tag, props = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(props || {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k.startsWith("on") && typeof v === "function") el.addEventListener(k.slice(2), v);
    else if (k === "class") el.className = v;
    else if (k === "dataset") Object.assign(el.dataset, v);
    else if (k === "text") el.textContent = v;
    else if (k in el && typeof v !== "string") el[k] = v;
    else el.setAttribute(k, v === true ? "" : v);
  }
  return append(el, children);
}

/** An SVG element; attributes as given (numbers rounded to 0.1 for compact markup). */
export function s(tag, attrs = {}, ...children) {
  const el = document.createElementNS(SVG_NS, tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k.startsWith("on") && typeof v === "function") el.addEventListener(k.slice(2), v);
    else el.setAttribute(k, typeof v === "number" ? String(Math.round(v * 10) / 10) : v);
  }
  if (tag === "svg") el.setAttribute("xmlns", SVG_NS);
  return append(el, children);
}

export function clear(el) {
  while (el.firstChild) el.firstChild.remove();
  return el;
}

const isNum = (x) => typeof x === "number" && Number.isFinite(x);

export const fmt = {
  num(x, digits = 1) {
    if (!isNum(x)) return "—";
    return x.toLocaleString(lang() === "en" ? "en-US" : "zh-CN", { maximumFractionDigits: digits, minimumFractionDigits: 0 });
  },
  score: (x) => (isNum(x) ? x.toFixed(3) : "—"),
  tonnes: (x) => (isNum(x) ? `${fmt.num(x, 2)} t` : "—"),
  int: (x) => (isNum(x) ? Math.round(x).toLocaleString("en-US") : "—"),
  /** A local (data) time as given by the API, without converting zones: "2021-02-18 22:00". */
  local(iso) {
    if (!iso) return "—";
    return String(iso).replace("T", " ").slice(0, 16);
  },
  date: (iso) => (iso ? String(iso).slice(0, 10) : "—"),
  /** A record-keeping time (UTC with offset) shown in Beijing time. */
  utc(iso) {
    if (!iso) return "—";
    const d = new Date(iso);
    if (Number.isNaN(d.getTime())) return String(iso);
    const p = new Intl.DateTimeFormat("sv-SE", {
      timeZone: "Asia/Shanghai", year: "numeric", month: "2-digit", day: "2-digit", hour: "2-digit", minute: "2-digit",
    }).format(d);
    return p;
  },
};

/** A <meter> for a score in [0, 1] with its number beside it. */
export function scoreCell(score) {
  const v = isNum(score) ? score : 0;
  return h("span", { class: "score" },
    h("meter", { min: "0", max: "1", low: "0.3", high: "0.7", optimum: "0", value: String(v), "aria-hidden": "true" }),
    h("span", { class: "num" }, fmt.score(score)));
}

/** A link to a route of the page. */
export const link = (route, text, props = {}) => h("a", { href: `#${route}`, ...props }, text);

export function table(headers, rows, props = {}) {
  return h("div", { class: "table-wrap" },
    h("table", props,
      h("thead", {}, h("tr", {}, headers.map((x) => h("th", { scope: "col" }, x)))),
      h("tbody", {}, rows)));
}

/** Append children (arrays flattened, null/false left out) and return the element. */
export const put = (el, ...children) => append(el, children);
