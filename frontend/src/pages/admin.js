import { api } from "../api.js";
import { emptyState, errorBox, field, h, loadingState, replace, showFieldErrors } from "../dom.js";
import { dateTime, day, titleCase } from "../format.js";
import * as session from "../session.js";
import { zoneSelect } from "./register.js";

const ROLES = [["viewer", "Viewer — reads the dashboard"], ["analyst", "Analyst — also uploads data"],
  ["admin", "Admin — also manages users"]];

export function render(main) {
  const list = h("div", {}, loadingState("Loading users…"));
  const status = h("div", { class: "form-status" });
  const invited = h("div", { "aria-live": "polite" });
  const roleSelect = h("select", { name: "role" }, ROLES.map(([v, l]) => h("option", { value: v, text: l })));
  roleSelect.value = "analyst";
  const submit = h("button", { type: "submit", class: "btn btn-primary", text: "Invite" });
  const form = h("form", { class: "card form", novalidate: true, dataset: { form: "invite" } },
    h("h2", { text: "Invite a colleague" }),
    field({ label: "Email", name: "email", type: "email", autocomplete: "off", required: true }),
    field({ label: "Role", name: "role", control: roleSelect }),
    field({ label: "Password (optional)", name: "password", type: "password", autocomplete: "new-password",
      hint: "Leave empty to get a one-time invite code to pass on instead." }),
    status, submit, invited);
  let stopped = false;
  const settings = h("div", {}, loadingState("Loading settings…"));

  main.append(h("section", { class: "page" },
    h("h1", { text: "Users" }),
    h("p", { class: "lead", text: `Everyone with access to ${session.current().tenant?.name ?? "your organisation"}.` }),
    h("div", { class: "grid-admin" }, list, form),
    h("h2", { text: "Calendar and time zone" }),
    settings));

  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    const data = Object.fromEntries(new FormData(form));
    const body = { email: String(data.email ?? "").trim(), role: data.role };
    if (data.password) body.password = String(data.password);
    if (!body.email) {
      showFieldErrors(form, { details: { fields: { email: ["is required"] } } });
      return;
    }
    replace(status);
    replace(invited);
    submit.disabled = true;
    try {
      const resp = await api("/api/auth/users", { method: "POST", body });
      showFieldErrors(form, {});
      form.reset();
      roleSelect.value = "analyst";
      if (resp.invite?.token) {
        const link = `${location.origin}/invite?token=${encodeURIComponent(resp.invite.token)}`;
        replace(invited, h("div", { class: "alert alert-ok", dataset: { invite: "" } },
          h("p", { text: `${resp.user.email} is invited. Send them this one-time link (it is shown only now):` }),
          h("p", {}, h("input", { type: "text", readonly: true, value: link, class: "copy",
            "aria-label": "Invite link", onfocus: (ev) => ev.target.select() })),
          resp.invite.expires_at && h("p", { class: "small", text: `Valid until ${dateTime(resp.invite.expires_at)}.` })));
      } else {
        replace(invited, h("p", { class: "alert alert-ok", text: `${resp.user.email} can now sign in.` }));
      }
      load();
    } catch (err) {
      if (!showFieldErrors(form, err)) replace(status, errorBox(err));
    } finally {
      submit.disabled = false;
    }
  });

  async function load() {
    try {
      const resp = await api("/api/auth/users");
      if (stopped) return;
      draw(resp.users ?? []);
    } catch (err) {
      if (!stopped) replace(list, errorBox(err, { retry: load }));
    }
  }

  function draw(users) {
    if (!users.length) {
      replace(list, emptyState("No users", "Invite a colleague to get started."));
      return;
    }
    const me = session.current().user?.id;
    // A card per user on a phone (CSS); the roles keep the table's meaning when restyled.
    replace(list, h("div", { class: "card table-cards-wrap" },
      h("table", { class: "table table-cards", role: "table", dataset: { table: "users" } },
        h("caption", { class: "visually-hidden", text: "Users of this organisation" }),
        h("thead", { role: "rowgroup" }, h("tr", { role: "row" }, ["Email", "Role", "Status", "Added", "Access"]
          .map((c) => h("th", { scope: "col", role: "columnheader", text: c })))),
        h("tbody", { role: "rowgroup" }, users.map((u) => row(u, u.id === me))))));
  }

  function row(u, isMe, message) {
    const note = h("span", { class: "small", role: "status", text: message ?? "" });
    const role = h("select", { "aria-label": `Role of ${u.email}`, dataset: { role: u.id } },
      ROLES.map(([v]) => h("option", { value: v, text: titleCase(v) })));
    role.value = u.role;
    role.addEventListener("change", () => patch(u, { role: role.value }, note, () => { role.value = u.role; }));
    const toggle = h("button", { type: "button", class: `btn btn-small ${u.disabled ? "" : "btn-danger"}`,
      dataset: { action: u.disabled ? "enable" : "disable" }, disabled: isMe,
      "aria-label": `${u.disabled ? "Enable" : "Disable"} ${u.email}`, text: u.disabled ? "Enable" : "Disable" });
    toggle.addEventListener("click", () => patch(u, { disabled: !u.disabled }, note));
    const cell = (label, attrs, ...children) => h("td", { role: "cell", dataset: { label }, ...attrs }, ...children);
    const tr = h("tr", { role: "row", dataset: { userId: u.id } },
      cell("Email", { class: "cell-title" }, h("span", { text: u.email }),
        isMe && h("span", { class: "muted small", text: " (you)" })),
      cell("Role", {}, role),
      cell("Status", {}, h("span", { class: `badge badge-${u.status}`, text: titleCase(u.status) })),
      cell("Added", { text: day(u.created_at), title: dateTime(u.created_at) }),
      cell("Access", { class: "cell-actions" }, toggle, " ", note));
    return tr;
  }

  async function patch(u, body, note, undo) {
    replace(note, "Saving…");
    try {
      const resp = await api(`/api/auth/users/${encodeURIComponent(u.id)}`, { method: "PATCH", body });
      const tr = note.closest("tr");
      tr.replaceWith(row(resp.user, resp.user.id === session.current().user?.id, "Saved."));
    } catch (err) {
      undo?.();
      replace(note, errorBox(err));
    }
  }

  const MONTHS = ["January", "February", "March", "April", "May", "June", "July", "August",
    "September", "October", "November", "December"];

  async function loadSettings() {
    try {
      const resp = await api("/api/auth/tenant/settings");
      if (!stopped) drawSettings(resp);
    } catch (err) {
      if (!stopped) replace(settings, errorBox(err, { retry: loadSettings }));
    }
  }

  function drawSettings({ settings: s, rederive }) {
    const select = (name, options, value) => {
      const el = h("select", { name }, options.map(([v, l]) => h("option", { value: String(v), text: l })));
      el.value = String(value ?? "");
      return el;
    };
    const note = h("div", { class: "form-status", role: "status" });
    const save = h("button", { type: "submit", class: "btn btn-primary", text: "Save settings" });
    const settingsForm = h("form", { class: "card form", novalidate: true, dataset: { form: "settings" } },
      field({ label: "Time zone", name: "time_zone", control: zoneSelect(s.time_zone),
        hint: "Sales are counted on their date in this zone. Changing it asks for the data to be uploaded again." }),
      field({ label: "Weeks start on", name: "week_start",
        control: select("week_start", [["monday", "Monday"], ["sunday", "Sunday"]], s.week_start) }),
      field({ label: "Fiscal year starts in", name: "fiscal_year_start_month",
        control: select("fiscal_year_start_month", MONTHS.map((m, i) => [i + 1, m]), s.fiscal_year_start_month) }),
      field({ label: "Retail calendar", name: "retail_calendar",
        control: select("retail_calendar", [["none", "None (calendar months)"], ["4-4-5", "4-4-5 weeks"],
          ["4-5-4", "4-5-4 weeks"], ["5-4-4", "5-4-4 weeks"]], s.retail_calendar) }),
      field({ label: "Holiday country", name: "holiday_country", maxlength: 2, value: s.holiday_country ?? "",
        hint: "Two-letter code (US, FR…) whose public holidays forecasts take into account; empty for none." }),
      rederive?.length ? h("p", { class: "alert alert-warn", dataset: { rederive: "" },
        text: `Upload again (replace) to count these datasets in the new time zone: ${rederive.join(", ")}.` }) : null,
      note, save);
    settingsForm.addEventListener("submit", async (e) => {
      e.preventDefault();
      const data = Object.fromEntries(new FormData(settingsForm));
      const body = { time_zone: data.time_zone, week_start: data.week_start,
        fiscal_year_start_month: Number(data.fiscal_year_start_month), retail_calendar: data.retail_calendar,
        holiday_country: String(data.holiday_country ?? "").trim() || null };
      save.disabled = true;
      replace(note, "Saving…");
      try {
        const resp = await api("/api/auth/tenant/settings", { method: "PATCH", body });
        drawSettings(resp);
        replace(settings.querySelector("[role=status]"), "Saved.");
      } catch (err) {
        replace(note);
        if (!showFieldErrors(settingsForm, err)) replace(note, errorBox(err));
        save.disabled = false;
      }
    });
    replace(settings, settingsForm);
  }

  load();
  loadSettings();
  return () => {
    stopped = true;
  };
}
