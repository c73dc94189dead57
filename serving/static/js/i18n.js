// UI strings in Chinese (default) and English, from /static/i18n.json. Reasons and feature
// descriptions are not here: they come from the API (?lang=) and the feature catalogue.

const LANG_KEY = "hazleads.lang";
let dict = { zh: {}, en: {} };
let current = localStorage.getItem(LANG_KEY) === "en" ? "en" : "zh";
const listeners = [];

export async function loadStrings() {
  const res = await fetch("/static/i18n.json", { cache: "no-cache", credentials: "omit" });
  dict = await res.json();
}

export const lang = () => current;

/** The string for ``key`` with ``{name}`` placeholders filled; the key itself if missing. */
export function t(key, vars) {
  const s = dict[current]?.[key] ?? dict.zh?.[key] ?? key;
  return vars ? s.replace(/\{(\w+)\}/g, (m, k) => (vars[k] ?? m)) : s;
}

/** A code's label (``group.code``), or the code itself when none is known. */
export function label(group, code) {
  if (code === null || code === undefined || code === "") return "";
  const key = `${group}.${code}`;
  const s = dict[current]?.[key] ?? dict.zh?.[key];
  return s ?? String(code);
}

export function setLang(l) {
  current = l === "en" ? "en" : "zh";
  localStorage.setItem(LANG_KEY, current);
  applyStatic(document);
  for (const cb of listeners) cb(current);
}

export function onLangChange(cb) { listeners.push(cb); }

/** Static markup: data-i18n="key" sets the text, data-i18n-attr="attr:key;attr:key" attributes. */
export function applyStatic(root) {
  document.documentElement.lang = current === "en" ? "en" : "zh-CN";
  document.title = t("app.title") + " · hazleads";
  for (const el of root.querySelectorAll("[data-i18n]")) el.textContent = t(el.dataset.i18n);
  for (const el of root.querySelectorAll("[data-i18n-attr]")) {
    for (const pair of el.dataset.i18nAttr.split(";")) {
      const [attr, key] = pair.split(":");
      el.setAttribute(attr, t(key));
    }
  }
}
