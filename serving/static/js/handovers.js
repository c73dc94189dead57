// Handovers between the environment bureau and the police: the bureau records findings on an enterprise
// and hands a case over with its evidence; the police accept it or return it with a reason. The time
// since handover is shown against the legal limit (《行政执法机关移送涉嫌犯罪案件的规定》第八条).

import * as api from "./api.js";
import { enterpriseLink, errorBox, loading, may, pageTitle, section } from "./common.js";
import { clear, fmt, h, put, table } from "./dom.js";
import { label, t } from "./i18n.js";

const FINDINGS = ["整改", "罚款", "移送公安"];

function recordForm(reload) {
  const status = h("div", { class: "form-status", role: "status", "aria-live": "polite" });
  const ent = h("input", { id: "ho-enterprise", name: "enterprise_id", required: true, maxlength: "64", autocomplete: "off" });
  const boxes = FINDINGS.map((f) => h("label", { class: "radio" }, h("input", { type: "checkbox", name: "findings", value: f }), label("finding", f)));
  const fine = h("input", { id: "ho-fine", type: "number", min: "0", step: "1", inputmode: "decimal" });
  const tonnes = h("input", { id: "ho-tonnes", type: "number", min: "0", step: "0.001", inputmode: "decimal" });
  const note = h("textarea", { id: "ho-note", rows: "2", maxlength: "4000" });
  const evidence = h("textarea", { id: "ho-evidence", rows: "2", placeholder: t("handover.evidenceHint") });
  const form = h("form", { class: "card handover-form", onsubmit: async (e) => {
    e.preventDefault();
    clear(status);
    const findings = boxes.map((b) => b.querySelector("input")).filter((i) => i.checked).map((i) => i.value);
    const body = { enterprise_id: ent.value.trim(), findings };
    if (fine.value !== "") body.fine_yuan = Number(fine.value);
    if (tonnes.value !== "") body.tonnes = Number(tonnes.value);
    if (note.value.trim()) body.note = note.value.trim();
    const ptrs = evidence.value.split("\n").map((x) => x.trim()).filter(Boolean);
    if (ptrs.length) body.evidence = ptrs;
    try {
      const out = await api.post("/v1/handovers", body);
      put(status, h("p", { class: "ok" }, t("handover.saved", { id: out.id })));
      form.reset();
      await reload();
    } catch (err) {
      put(status, errorBox(err));
    }
  } },
  h("h2", {}, t("handover.record")),
  h("div", { class: "field" }, h("label", { for: "ho-enterprise" }, t("handover.enterprise")), ent),
  h("fieldset", {}, h("legend", {}, t("handover.findings")), boxes),
  h("div", { class: "row" },
    h("div", { class: "field" }, h("label", { for: "ho-fine" }, t("handover.fine")), fine),
    h("div", { class: "field" }, h("label", { for: "ho-tonnes" }, t("handover.tonnes")), tonnes)),
  h("div", { class: "field" }, h("label", { for: "ho-note" }, t("case.note")), note),
  h("div", { class: "field" }, h("label", { for: "ho-evidence" }, t("handover.evidence")), evidence),
  status,
  h("div", { class: "actions" }, h("button", { type: "submit", class: "primary", "data-action": "hand-over" }, t("handover.submit"))));
  return form;
}

function decide(hv, reload, box) {
  if (!may("handover_decide") || hv.status !== "handed") return null;
  const reason = h("input", { type: "text", class: "reason", "aria-label": t("handover.reason"), placeholder: t("handover.reason") });
  const act = async (path, body) => {
    try {
      await api.post(`/v1/handovers/${hv.id}/${path}`, body);
      await reload();
    } catch (err) {
      put(clear(box), errorBox(err));
    }
  };
  return h("div", { class: "decide" },
    h("button", { type: "button", class: "primary", "data-action": "accept", onclick: () => act("accept", {}) }, t("handover.accept")),
    reason,
    h("button", { type: "button", "data-action": "return", onclick: () => act("return", { reason: reason.value.trim() }) }, t("handover.return")));
}

/** #/handovers */
export function render(main) {
  const body = h("div", { class: "list-body" });
  const problems = h("div", { role: "status" });
  async function reload() {
    put(clear(body), loading());
    try {
      const page = await api.get("/v1/handovers", { limit: 200 });
      const rows = page.items.map((hv) => h("tr", { "data-id": String(hv.id), "data-status": hv.status, class: hv.overdue ? "overdue" : "" },
        h("td", { class: "n" }, String(hv.id)), h("td", {}, enterpriseLink(hv.enterprise_id, hv.name)), h("td", {}, hv.county || "—"),
        h("td", {}, hv.findings.map((f) => label("finding", f)).join("、"),
          hv.fine_yuan !== null ? h("div", { class: "sub" }, `${t("handover.fine")}: ${fmt.int(hv.fine_yuan)}`) : null),
        h("td", { class: "status" }, label("handover", hv.status), hv.reason ? h("div", { class: "sub" }, hv.reason) : null),
        h("td", { class: "n" }, hv.days_since_handover === null ? "—" : t("handover.days", { days: fmt.num(hv.days_since_handover, 1), limit: hv.limit_days }),
          hv.overdue ? h("span", { class: "badge overdue", title: t("handover.rule") }, t("handover.overdue")) : null),
        h("td", {}, fmt.utc(hv.recorded_at), hv.recorded_by ? h("div", { class: "sub" }, hv.recorded_by) : null),
        h("td", {}, decide(hv, reload, problems))));
      put(clear(body), h("p", { class: "muted" }, t("handover.rule")),
        page.items.length ? table([t("handover.id"), t("handover.enterprise"), t("col.county"), t("handover.findings"), t("case.status"),
          t("handover.elapsed"), t("handover.recordedAt"), ""], rows, { class: "handovers" }) : h("p", { class: "empty" }, t("handover.empty")));
    } catch (err) {
      put(clear(body), errorBox(err));
    }
  }
  put(main, pageTitle(t("handover.title")), may("handover_write") ? recordForm(reload) : null, problems,
    section("handover.list", body));
  reload();
  return {};
}
