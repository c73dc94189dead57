// Recording what an investigation found, from any lead (enterprise, tip, site): a modal dialog
// posting to /v1/outcomes. The outcome is stored before the API answers; it becomes a training label.

import * as api from "./api.js";
import { errorBox } from "./common.js";
import { clear, h, put } from "./dom.js";
import { label, t } from "./i18n.js";

const VIOLATIONS = ["dumping_3t", "covert_discharge", "water_dumping", "unlicensed_operation", "supplying_unlicensed", "other"];
const OUTCOMES = ["confirmed", "unfounded", "open"];

function today() {
  return new Intl.DateTimeFormat("sv-SE", { timeZone: "Asia/Shanghai" }).format(new Date());
}

/** A button that opens the dialog for one lead; ``onSaved(outcome)`` after it is stored. */
export function outcomeButton(kind, id, name, onSaved) {
  return h("button", { type: "button", class: "primary", "data-action": "record-outcome",
    onclick: () => openOutcome(kind, id, name, onSaved) }, t("outcome.record"));
}

export function openOutcome(kind, id, name, onSaved) {
  const dialog = document.getElementById("outcome-dialog");
  clear(dialog);
  const status = h("div", { class: "form-status", role: "status", "aria-live": "polite" });
  const violation = h("select", { id: "oc-violation", name: "violation", disabled: true },
    h("option", { value: "" }, t("outcome.chooseViolation")), VIOLATIONS.map((v) => h("option", { value: v }, label("violation", v))));
  const radios = OUTCOMES.map((o) => h("label", { class: "radio" },
    h("input", { type: "radio", name: "outcome", value: o, required: true, onchange: sync }), label("outcome", o)));
  const tonnes = h("input", { id: "oc-tonnes", name: "tonnes", type: "number", min: "0", max: "1000000", step: "0.01", inputmode: "decimal" });
  const criminal = h("input", { id: "oc-criminal", name: "criminal", type: "checkbox" });
  const opened = h("input", { id: "oc-opened", name: "opened", type: "date", value: today(), max: today(), min: "2000-01-01" });
  const note = h("textarea", { id: "oc-note", name: "note", maxlength: "2000", rows: "3" });
  const save = h("button", { type: "submit", class: "primary" }, t("outcome.save"));

  function sync() {
    const confirmed = form.outcome.value === "confirmed";
    violation.disabled = !confirmed;
    violation.required = confirmed;
    if (!confirmed) violation.value = "";
  }

  async function submit(e) {
    e.preventDefault();
    clear(status);
    const body = { entity_kind: kind, entity_id: id, outcome: form.outcome.value };
    if (!body.outcome) return;
    if (body.outcome === "confirmed") body.violation = violation.value;
    if (tonnes.value !== "") body.tonnes = Number(tonnes.value);
    if (criminal.checked) body.criminal = true;
    if (opened.value) body.opened = opened.value;
    if (note.value.trim()) body.note = note.value.trim();
    save.disabled = true;
    try {
      const out = await api.post("/v1/outcomes", body);
      put(status, h("p", { class: "ok" }, t("outcome.saved", { case: out.case_id })));
      form.reset();
      sync();
      onSaved?.(out);
      setTimeout(() => dialog.open && dialog.close(), 900);
    } catch (err) {
      put(status, errorBox(err));
    } finally {
      save.disabled = false;
    }
  }

  const form = h("form", { method: "dialog", onsubmit: submit, class: "outcome-form" },
    h("h2", { id: "outcome-title" }, t("outcome.title")),
    h("p", { class: "muted" }, `${label("kind", kind)} ${id}${name && name !== id ? ` · ${name}` : ""}`),
    h("fieldset", {}, h("legend", {}, t("outcome.outcome")), radios),
    h("div", { class: "field" }, h("label", { for: "oc-violation" }, t("outcome.violation")), violation),
    h("div", { class: "row" },
      h("div", { class: "field" }, h("label", { for: "oc-tonnes" }, t("outcome.tonnes")), tonnes),
      h("div", { class: "field" }, h("label", { for: "oc-opened" }, t("outcome.opened")), opened)),
    h("div", { class: "field check" }, criminal, h("label", { for: "oc-criminal" }, t("outcome.criminal"))),
    h("div", { class: "field" }, h("label", { for: "oc-note" }, t("outcome.note")), note),
    status,
    h("div", { class: "actions" },
      h("button", { type: "button", onclick: () => dialog.close() }, t("cancel")), save));
  put(dialog, form);
  dialog.showModal();
  radios[0].querySelector("input").focus();
}
