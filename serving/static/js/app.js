// The page shell: sign-in with a token, tabs for what the role may use, a hash router
// (#/enterprises?county=…, #/enterprise/E1, …) and the language switch.

import * as api from "./api.js";
import { errorBox, forgetCache, may, pageTitle, session, whoText } from "./common.js";
import { clear, h, put } from "./dom.js";
import * as cases from "./cases.js";
import * as enterprise from "./enterprise.js";
import * as handovers from "./handovers.js";
import { applyStatic, lang, loadStrings, onLangChange, setLang, t } from "./i18n.js";
import * as lists from "./lists.js";
import * as mismatch from "./mismatch.js";
import * as models from "./models.js";
import { notify } from "./notice.js";
import * as site from "./site.js";
import * as stats from "./stats.js";
import * as tips from "./tips.js";

const main = document.getElementById("main");

// path pattern, resources needed (all of them), tab to highlight, view
const ROUTES = [
  [/^\/enterprises$/, ["leads"], "enterprises", (p) => lists.render(main, { kind: "enterprise", params: p })],
  [/^\/tips$/, ["leads", "tip"], "tips", (p) => lists.render(main, { kind: "tip", params: p })],
  [/^\/tips\/all$/, ["tip"], "tips", (p) => lists.render(main, { kind: "alltips", params: p })],
  [/^\/sites$/, ["leads", "site"], "sites", (p) => lists.render(main, { kind: "site", params: p })],
  [/^\/enterprise\/(.+)$/, ["enterprise"], null, (p, id) => enterprise.render(main, { id })],
  [/^\/site\/(.+)$/, ["site"], "sites", (p, id) => site.render(main, { id })],
  [/^\/tip\/(.+)$/, ["tip"], "tips", (p, id) => tips.render(main, { id })],
  [/^\/tip-new$/, ["tip_write"], "tip-new", () => tips.renderIntake(main)],
  [/^\/mismatch$/, ["mismatch"], "mismatch", (p) => mismatch.render(main, { params: p })],
  [/^\/models$/, ["admin"], "models", () => models.render(main)],
  [/^\/cases$/, ["cases"], "cases", (p) => cases.renderDesk(main, { params: p })],
  [/^\/case\/(enterprise|tip|site)\/(.+)$/, ["cases"], "cases", (p, kind, id) => cases.renderCase(main, { kind, id })],
  [/^\/handovers$/, ["handover_read"], "handovers", () => handovers.render(main)],
  [/^\/stats$/, ["stats"], "stats", (p) => stats.render(main, { params: p })],
];

let current = { path: null, view: null };

function parseHash() {
  const raw = location.hash.replace(/^#/, "") || "/";
  const [path, query = ""] = raw.split("?");
  return { path, params: Object.fromEntries(new URLSearchParams(query)) };
}

function homeRoute() {
  if (may("leads")) return "/enterprises";
  if (may("mismatch")) return "/mismatch";
  return "/none";
}

function showTabs(active) {
  const nav = document.getElementById("tabs");
  nav.hidden = !session.me;
  for (const a of nav.querySelectorAll("a[data-tab]")) {
    const needs = a.dataset.need.split(",");
    a.hidden = !needs.every(may);
    if (a.dataset.tab === active) a.setAttribute("aria-current", "page");
    else a.removeAttribute("aria-current");
  }
}

function showWho() {
  const who = document.getElementById("who");
  who.hidden = !session.me;
  document.getElementById("who-name").textContent = session.me ? whoText(session.me) : "";
}

async function route(force = false) {
  const { path, params } = parseHash();
  const dialog = document.getElementById("outcome-dialog");
  if (dialog.open) dialog.close();
  if (!session.me) {
    if (path !== "/login") { location.hash = "#/login"; return; }
    renderSignIn();
    return;
  }
  if (path === "/" || path === "/login") { location.hash = `#${homeRoute()}`; return; }
  if (!force && path === current.path && current.view?.update) {
    current.view.update(params);
    return;
  }
  const hit = ROUTES.map(([re, needs, tab, view]) => ({ m: re.exec(path), needs, tab, view })).find((r) => r.m);
  clear(main);
  current = { path, view: null };
  if (!hit) {
    showTabs(null);
    put(main, pageTitle(t("none.title")), h("p", {}, path === "/none" ? t("none.role") : t("none.route")));
    return;
  }
  showTabs(hit.tab);
  if (!hit.needs.every(may)) {
    put(main, pageTitle(t("err.403")), h("p", {}, t("none.forbidden")));
    return;
  }
  const ids = hit.m.slice(1).map((x) => (x === undefined ? undefined : decodeURIComponent(x)));
  current.view = await hit.view(params, ...ids);
  if (current.path === path) main.querySelector("h1")?.focus({ preventScroll: true });
}

function renderSignIn(message) {
  showTabs(null);
  showWho();
  const status = h("div", { role: "status", "aria-live": "polite" }, message ? h("p", { class: "error" }, message) : null);
  const input = h("input", { id: "token", name: "token", type: "password", autocomplete: "off", required: true, spellcheck: false,
    "aria-describedby": "token-hint" });
  const form = h("form", { class: "signin card", onsubmit: async (e) => {
    e.preventDefault();
    clear(status);
    const candidate = input.value.trim();
    try {
      const me = await api.whoAmI(candidate);
      api.token.set(candidate);
      session.me = me;
      forgetCache();
      showWho();
      location.hash = `#${homeRoute()}`;
    } catch (err) {
      put(status, err.status === 401 ? h("p", { class: "error", role: "alert" }, t("signin.bad")) : errorBox(err));
      input.select();
    }
  } },
  h("h1", {}, t("signin.title")),
  h("p", { class: "muted" }, t("signin.help")),
  h("div", { class: "field" }, h("label", { for: "token" }, t("signin.token")), input,
    h("small", { id: "token-hint", class: "muted" }, t("signin.hint"))),
  status,
  h("div", { class: "actions" }, h("button", { type: "submit", class: "primary" }, t("signin.submit"))));
  put(clear(main), form);
  current = { path: "/login", view: null };
  input.focus();
}

function signOut(message) {
  api.token.clear();
  session.me = null;
  forgetCache();
  current = { path: null, view: null };
  showWho();
  if (location.hash !== "#/login") location.hash = "#/login";
  renderSignIn(message);
}

async function start() {
  await loadStrings();
  applyStatic(document);
  const langBtn = document.getElementById("lang");
  const showLangButton = () => {
    langBtn.textContent = lang() === "en" ? "中文" : "English";
    langBtn.setAttribute("lang", lang() === "en" ? "zh-CN" : "en");
  };
  showLangButton();
  langBtn.addEventListener("click", () => setLang(lang() === "en" ? "zh" : "en"));
  onLangChange(() => {
    showLangButton();
    showWho();
    if (session.me) route(true); else renderSignIn();
  });
  document.getElementById("sign-out").addEventListener("click", () => signOut());
  api.whenUnauthorized(() => { if (session.me) signOut(t("signin.expired")); });
  window.addEventListener("hashchange", () => route());
  const saved = api.token.get();
  if (saved) {
    try {
      session.me = await api.whoAmI(saved);
    } catch (err) {
      if (err.status === 401) api.token.clear();
      else notify(t("err.network"), "error");
    }
  }
  showWho();
  route(true);
}

start();
