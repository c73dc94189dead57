// The case desk: "我的线索" (an investigator's leads) and the county's cases, and one lead's case page:
// take it, give it to someone, set a due date, move its status, record the outcome; its history.

import * as api from "./api.js";
import { enterpriseLink, errorBox, loading, may, pageTitle, section, session } from "./common.js";
import { clear, fmt, h, link, put, table } from "./dom.js";
import { label, t } from "./i18n.js";
import { outcomeButton } from "./outcome.js";

export const STATUSES = ["待核查", "核查中", "已立案", "已移送", "已结案-属实", "已结案-不属实"];
const enc = encodeURIComponent;
const ROUTE_OF = { enterprise: "enterprise", tip: "tip", site: "site" };

/** A status as a badge (concluded ones muted, overdue flagged). */
export function statusBadge(status, overdue = false) {
  const cls = status?.startsWith("已结案") ? "done" : status === "待核查" ? "new" : "busy";
  return h("span", { class: `badge status ${cls}`, "data-status": status }, label("case", status),
    overdue ? h("span", { class: "badge overdue" }, t("case.overdue")) : null);
}

/** The link from a list row to its lead's case page. */
export const caseLink = (kind, id, status, overdue) =>
  link(`/case/${kind}/${enc(id)}`, statusBadge(status || "待核查", overdue), { class: "case-link", title: t("case.open") });

function entityLink(c) {
  if (c.entity_kind === "enterprise") return enterpriseLink(c.entity_id, c.name);
  return link(`/${ROUTE_OF[c.entity_kind]}/${enc(c.entity_id)}`, c.entity_id);
}

/** #/cases: my leads (default for an investigator) or every case of my jurisdiction. */
export function renderDesk(main, { params }) {
  const body = h("div", { class: "list-body" });
  const mine = h("input", { id: "desk-mine", type: "checkbox", checked: params.mine !== "0" });
  const status = h("select", { id: "desk-status" }, h("option", { value: "" }, t("filter.all")),
    STATUSES.map((s) => h("option", { value: s, selected: params.status === s }, label("case", s))));
  const overdue = h("input", { id: "desk-overdue", type: "checkbox", checked: params.overdue === "1" });
  const go = () => {
    const p = new URLSearchParams();
    if (!mine.checked) p.set("mine", "0");
    if (status.value) p.set("status", status.value);
    if (overdue.checked) p.set("overdue", "1");
    location.hash = `#/cases${p.toString() ? `?${p}` : ""}`;
  };
  for (const el of [mine, status, overdue]) el.addEventListener("change", go);
  const exportBtn = h("button", { type: "button", "data-action": "export", onclick: () =>
    api.download("/v1/exports/cases", { mine: mine.checked, status: status.value }, "cases.xlsx").catch((e) => put(clear(body), errorBox(e))) },
  t("export.xlsx"));
  put(main, pageTitle(t("desk.title")),
    h("form", { class: "filters", onsubmit: (e) => e.preventDefault() },
      h("div", { class: "field check" }, mine, h("label", { for: "desk-mine" }, t("desk.mine"))),
      h("div", { class: "field" }, h("label", { for: "desk-status" }, t("case.status")), status),
      h("div", { class: "field check" }, overdue, h("label", { for: "desk-overdue" }, t("desk.overdue"))),
      h("div", { class: "field actions" }, exportBtn)),
    body);

  async function load(p) {
    put(clear(body), loading());
    try {
      const page = await api.get("/v1/cases", { mine: p.mine !== "0", status: p.status, overdue: p.overdue === "1", limit: 200 });
      const rows = page.items.map((c) => h("tr", { "data-id": c.entity_id },
        h("td", {}, label("kind", c.entity_kind)), h("td", { class: "id" }, entityLink(c)), h("td", {}, c.county || "—"),
        h("td", {}, caseLink(c.entity_kind, c.entity_id, c.status, c.overdue)), h("td", {}, c.assignee || "—"),
        h("td", {}, fmt.date(c.due)), h("td", {}, fmt.utc(c.updated_at))));
      put(clear(body), h("p", { class: "muted" }, t("list.total", { total: page.total })),
        page.items.length ? table([t("case.kind"), t("case.lead"), t("col.county"), t("case.status"), t("case.assignee"),
          t("case.due"), t("case.updated")], rows, { class: "cases" }) : h("p", { class: "empty" }, t("desk.empty")));
    } catch (err) {
      put(clear(body), errorBox(err));
    }
  }
  load(params);
  return { update: (p) => load(p) };
}

/** #/case/{kind}/{id}: one lead's case. */
export async function renderCase(main, { kind, id }) {
  const head = h("div", { class: "case-head" });
  const formBox = h("div");
  const history = h("div");
  put(main, pageTitle(t("case.title", { id })), head, formBox, section("case.history", history));

  async function load() {
    put(clear(head), loading());
    let c;
    try {
      c = await api.get(`/v1/cases/${kind}/${enc(id)}`);
    } catch (err) {
      put(clear(head), errorBox(err));
      return;
    }
    put(clear(head), h("dl", { class: "facts case-facts" },
      h("dt", {}, t("case.lead")), h("dd", {}, label("kind", kind), " ", entityLink(c)),
      h("dt", {}, t("col.county")), h("dd", {}, c.county || "—"),
      h("dt", {}, t("case.status")), h("dd", { id: "case-status" }, statusBadge(c.status, c.overdue)),
      h("dt", {}, t("case.assignee")), h("dd", { id: "case-assignee" }, c.assignee || "—"),
      h("dt", {}, t("case.due")), h("dd", {}, fmt.date(c.due))));
    put(clear(formBox), await moveForm(c, load));
    put(clear(history), c.history.length ? table([t("case.at"), t("case.who"), t("case.action"), t("case.change"), t("case.note")],
      c.history.map((e) => h("tr", {}, h("td", {}, fmt.utc(e.at)), h("td", {}, e.user || "—"), h("td", {}, label("caseAction", e.action)),
        h("td", {}, e.status_from === e.status_to ? label("case", e.status_to) : `${label("case", e.status_from)} → ${label("case", e.status_to)}`,
          e.assignee ? h("div", { class: "sub" }, `${t("case.assignee")}: ${e.assignee}`) : null),
        h("td", { class: "text" }, e.note || ""))), { class: "history" }) : h("p", { class: "muted" }, t("case.noHistory")));
  }

  await load();
  return {};
}

async function moveForm(c, reload) {
  const status = h("div", { class: "form-status", role: "status", "aria-live": "polite" });
  const select = h("select", { id: "case-move-status", name: "status" }, h("option", { value: "" }, t("case.keep")),
    STATUSES.filter((s) => s !== c.status).map((s) => h("option", { value: s }, label("case", s))));
  let people = [];
  try { people = (await api.get("/v1/cases/assignees", { county: c.county })).items; } catch { /* only take */ }
  const assignee = h("select", { id: "case-move-assignee", name: "assignee_id" }, h("option", { value: "" }, t("case.keep")),
    people.map((u) => h("option", { value: String(u.id) }, `${u.name}${u.county ? ` · ${u.county}` : ""}`)));
  const due = h("input", { id: "case-move-due", type: "date", name: "due", value: c.due || "" });
  const note = h("textarea", { id: "case-move-note", name: "note", rows: "2", maxlength: "2000" });

  async function send(body) {
    clear(status);
    try {
      await api.post(`/v1/cases/${c.entity_kind}/${enc(c.entity_id)}`, body);
      await reload();
    } catch (err) {
      put(status, errorBox(err));
    }
  }

  const mineAlready = c.assignee && c.assignee === session.me?.name;
  const take = h("button", { type: "button", class: "primary", "data-action": "take", disabled: Boolean(mineAlready) || !session.me || session.me.role !== "investigator",
    onclick: () => send({ take: true, ...(note.value.trim() ? { note: note.value.trim() } : {}) }) }, t("case.take"));
  const form = h("form", { class: "case-form card", onsubmit: (e) => {
    e.preventDefault();
    const body = {};
    if (select.value) body.status = select.value;
    if (assignee.value) body.assignee_id = Number(assignee.value);
    if (due.value && due.value !== c.due) body.due = due.value;
    if (note.value.trim()) body.note = note.value.trim();
    if (Object.keys(body).length) send(body);
  } },
  h("h2", {}, t("case.move")),
  h("div", { class: "row" },
    h("div", { class: "field" }, h("label", { for: "case-move-status" }, t("case.status")), select),
    h("div", { class: "field" }, h("label", { for: "case-move-assignee" }, t("case.assignee")), assignee),
    h("div", { class: "field" }, h("label", { for: "case-move-due" }, t("case.due")), due)),
  h("div", { class: "field" }, h("label", { for: "case-move-note" }, t("case.note")), note),
  status,
  h("div", { class: "actions" }, take, h("button", { type: "submit", "data-action": "move" }, t("case.save")),
    may("outcome") ? outcomeButton(c.entity_kind, c.entity_id, c.name, () => reload()) : null));
  return form;
}
