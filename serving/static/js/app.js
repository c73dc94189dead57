// The page shell: sign-in with a token, tabs for what the role may use, a hash router
// (#/enterprises?county=…, #/enterprise/E1, …) and the language switch.

import * as api from "./api.js";
import { cached, errorBox, forgetCache, may, pageTitle, session, whoText } from "./common.js";
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
import * as printView from "./print.js";
import * as vehicle from "./vehicle.js";

const main = document.getElementById("main");

// path pattern, resources needed (all of them), tab to highlight, view
const ROUTES = [
  [/^\/enterprises$/, ["leads"], "enterprises", (box, p) => lists.render(box, { kind: "enterprise", params: p })],
  [/^\/tips$/, ["leads", "tip"], "tips", (box, p) => lists.render(box, { kind: "tip", params: p })],
  [/^\/tips\/all$/, ["tip"], "tips", (box, p) => lists.render(box, { kind: "alltips", params: p })],
  [/^\/sites$/, ["leads", "site"], "sites", (box, p) => lists.render(box, { kind: "site", params: p })],
  [/^\/vehicles$/, ["vehicle"], "vehicles", (box, p) => lists.render(box, { kind: "vehicle", params: p })],
  [/^\/vehicles\/(.+)$/, ["vehicle"], "vehicles", (box, p, id) => vehicle.render(box, { id })],
  [/^\/enterprises\/(.+)$/, ["enterprise"], null, (box, p, id) => enterprise.render(box, { id })],
  [/^\/sites\/(.+)$/, ["site"], "sites", (box, p, id) => site.render(box, { id })],
  [/^\/print\/(enterprise|site|tip)\/(.+)$/, [], null, (box, p, kind, id) => printView.render(box, { kind, id })],
  [/^\/enterprise\/(.+)$/, ["enterprise"], null, (box, p, id) => enterprise.render(box, { id })],
  [/^\/site\/(.+)$/, ["site"], "sites", (box, p, id) => site.render(box, { id })],
  [/^\/tip\/(.+)$/, ["tip"], "tips", (box, p, id) => tips.render(box, { id })],
  [/^\/tip-new$/, ["tip_write"], "tip-new", (box) => tips.renderIntake(box)],
  [/^\/mismatch$/, ["mismatch"], "mismatch", (box, p) => mismatch.render(box, { params: p })],
  [/^\/models$/, ["admin"], "models", (box) => models.render(box)],
  [/^\/cases$/, ["cases"], "cases", (box, p) => cases.renderDesk(box, { params: p })],
  [/^\/case\/(enterprise|tip|site)\/(.+)$/, ["cases"], "cases", (box, p, kind, id) => cases.renderCase(box, { kind, id })],
  [/^\/handovers$/, ["handover_read"], "handovers", (box) => handovers.render(box)],
  [/^\/stats$/, ["stats"], "stats", (box, p) => stats.render(box, { params: p })],
];

let current = { path: null, view: null };
// Every navigation gets a number, its own AbortController and its own box inside <main>: the
// previous view's GETs are aborted, and whatever it still draws lands in a detached box, so the
// address bar, the tab and the content always belong to the same navigation.
let navigation = { n: 0, ctl: null };

function newNavigation() {
  navigation.ctl?.abort();
  const ctl = new AbortController();
  navigation = { n: navigation.n + 1, ctl };
  api.setNavSignal(ctl.signal);
  return navigation.n;
}

/** A fresh box for one view, replacing whatever <main> showed. */
function viewBox() {
  const box = h("div", { class: "view" });
  put(clear(main), box);
  return box;
}

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

/** "数据截至 …" under the tabs on every page: the newest list's as-of date (else the data's last day). */
async function showDataPeriod() {
  const el = document.getElementById("data-period");
  if (!session.me) { el.hidden = true; return; }
  try {
    const f = await cached("/v1/filters");
    const end = f.as_of_dates?.length ? f.as_of_dates[f.as_of_dates.length - 1] : f.snapshot_last_day;
    el.textContent = end ? t("data.period", { date: end }) : t("data.none");
    el.dataset.asOf = end || "";
    el.hidden = !session.me;
  } catch { el.hidden = true; }
}

function showWho() {
  showDataPeriod();
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
  const mine = newNavigation();
  const box = viewBox();
  current = { path, view: null };
  if (!hit) {
    showTabs(null);
    put(box, pageTitle(t("none.title")), h("p", {}, path === "/none" ? t("none.role") : t("none.route")));
    return;
  }
  showTabs(hit.tab);
  if (!hit.needs.every(may)) {
    put(box, pageTitle(t("err.403")), h("p", {}, t("none.forbidden")));
    return;
  }
  const id = hit.m[1] ? decodeURIComponent(hit.m[1]) : undefined;
  let view = null;
  try {
    view = await hit.view(box, params, id, hit.m[2] ? decodeURIComponent(hit.m[2]) : undefined);
  } catch (err) {
    if (mine === navigation.n && !api.isAbort(err)) put(clear(box), errorBox(err));
  }
  if (mine !== navigation.n) return; // the user went elsewhere meanwhile: this view is gone
  current.view = view;
  box.querySelector("h1")?.focus({ preventScroll: true });
}

// why the user was sent to sign in (a revoked or expired token): kept until they sign in again, so
// the redirect's own navigation does not wipe it
let signInMessage = null;

function renderSignIn(message = signInMessage) {
  newNavigation();
  showTabs(null);
  showWho();
  const status = h("div", { role: "status", "aria-live": "polite" }, message ? h("p", { class: "error", "data-reason": "expired" }, message) : null);
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
      signInMessage = null;
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

function signOut(message = null) {
  signInMessage = message;
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
  window.addEventListener("unhandledrejection", (e) => { if (api.isAbort(e.reason)) e.preventDefault(); });
  window.addEventListener("hashchange", () => route());
  const saved = api.token.get();
  if (saved) {
    try {
      session.me = await api.whoAmI(saved);
    } catch (err) {
      if (err.status === 401) { api.token.clear(); signInMessage = t("signin.expired"); } else notify(t("err.network"), "error");
    }
  }
  showWho();
  route(true);
}

start();
