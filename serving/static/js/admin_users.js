// User management for administrators on the models page: the users, adding one (its token shown
// once), disabling one, replacing a token — the /v1/users routes, each step confirmed.

import * as api from "./api.js";
import { errorBox, loading, section, session } from "./common.js";
import { clear, fmt, h, put, table } from "./dom.js";
import { label, t } from "./i18n.js";

const ROLES = ["investigator", "env_bureau", "admin", "auditor"];

function tokenBox(user) {
  return h("div", { class: "token-once", role: "alert" },
    h("strong", {}, t("users.tokenOnce", { name: user.name })),
    h("code", { class: "token", tabindex: "0" }, user.token),
    h("small", { class: "muted" }, t("users.tokenHint")));
}

export function usersSection(counties = []) {
  const body = h("div", {}, loading(t("users.title")));
  const status = h("div", { role: "status", "aria-live": "polite" });

  async function refresh() {
    let users;
    try {
      users = await api.get("/v1/users");
    } catch (err) {
      put(clear(body), errorBox(err));
      return;
    }
    put(clear(body), table([t("users.name"), t("users.role"), t("col.county"), t("users.created"), t("users.expires"), t("col.status"), ""],
      users.items.map((u) => h("tr", { "data-user": u.name, class: u.disabled ? "disabled" : "" },
        h("td", {}, u.name), h("td", {}, label("role", u.role)), h("td", {}, u.county || t("citywide")),
        h("td", {}, fmt.utc(u.created_at)), h("td", {}, fmt.utc(u.token_expires_at)),
        h("td", {}, u.disabled ? t("users.disabled") : t("users.active")),
        h("td", { class: "actions" }, u.disabled || u.name === session.me?.name ? null : [
          h("button", { type: "button", "data-action": "rotate", onclick: () => rotate(u) }, t("users.rotate")),
          h("button", { type: "button", "data-action": "disable", onclick: () => disable(u) }, t("users.disable"))]))),
    { class: "users" }));
  }

  async function rotate(u) {
    if (!window.confirm(t("users.confirmRotate", { name: u.name }))) return;
    clear(status);
    try {
      put(status, tokenBox(await api.post(`/v1/users/${u.id}/token`, {})));
    } catch (err) { put(status, errorBox(err)); }
    refresh();
  }

  async function disable(u) {
    if (!window.confirm(t("users.confirmDisable", { name: u.name }))) return;
    clear(status);
    try {
      await api.del(`/v1/users/${u.id}`);
      put(status, h("p", { class: "ok" }, t("users.disabledNow", { name: u.name })));
    } catch (err) { put(status, errorBox(err)); }
    refresh();
  }

  const role = h("select", { id: "u-role", name: "role", required: true }, ROLES.map((r) => h("option", { value: r }, label("role", r))));
  const county = h("select", { id: "u-county", name: "county" }, h("option", { value: "" }, t("citywide")),
    counties.map((c) => h("option", { value: c }, c)));
  const sync = () => { county.disabled = !["investigator", "env_bureau"].includes(role.value); if (county.disabled) county.value = ""; };
  role.addEventListener("change", sync);
  sync();
  const form = h("form", { class: "filters add-user", "aria-label": t("users.add") },
    h("div", { class: "field" }, h("label", { for: "u-name" }, t("users.name")),
      h("input", { id: "u-name", name: "name", required: true, maxlength: "64", pattern: "[\\w.\\-]+", autocomplete: "off" })),
    h("div", { class: "field" }, h("label", { for: "u-role" }, t("users.role")), role),
    h("div", { class: "field" }, h("label", { for: "u-county" }, t("col.county")), county),
    h("div", { class: "field actions" }, h("button", { type: "submit", class: "primary" }, t("users.add"))));
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    clear(status);
    const body = { name: form.elements.name.value.trim(), role: role.value };
    if (!county.disabled && county.value) body.county = county.value;
    try {
      put(status, tokenBox(await api.post("/v1/users", body)));
      form.reset();
      sync();
    } catch (err) { put(status, errorBox(err)); }
    refresh();
  });
  refresh();
  return section("users.title", form, status, body);
}
