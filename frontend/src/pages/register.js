import { api } from "../api.js";
import { errorBox, field, h, replace, showFieldErrors } from "../dom.js";
import { navigate } from "../router.js";
import * as session from "../session.js";

/** The browser's IANA zone and the zones it knows, for the business's time zone. */
export function zoneChoices() {
  const mine = Intl.DateTimeFormat().resolvedOptions().timeZone || "UTC";
  const all = typeof Intl.supportedValuesOf === "function" ? Intl.supportedValuesOf("timeZone") : [];
  return { mine, all: [...new Set([mine, "UTC", ...all])].sort() };
}

export function zoneSelect(value) {
  const { mine, all } = zoneChoices();
  const select = h("select", { name: "time_zone" }, all.map((z) => h("option", { value: z, text: z })));
  select.value = value ?? mine;
  return select;
}

export function render(main) {
  const status = h("div", { class: "form-status" });
  const submit = h("button", { type: "submit", class: "btn btn-primary", text: "Create account" });
  const form = h("form", { class: "card form", novalidate: true },
    field({ label: "Organisation", name: "tenant_name", autocomplete: "organization",
      required: true, hint: "Your company or team; its data is visible only to its members." }),
    field({ label: "Your name", name: "name", autocomplete: "name" }),
    field({ label: "Time zone", name: "time_zone", control: zoneSelect(),
      hint: "Sales are counted on their date in this zone; an admin can change it later." }),
    field({ label: "Email", name: "email", type: "email", autocomplete: "email", required: true }),
    field({ label: "Password", name: "password", type: "password", autocomplete: "new-password",
      required: true, minlength: 10,
      hint: "At least 10 characters; not your email and not a common password." }),
    status,
    submit);

  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    const data = Object.fromEntries(new FormData(form));
    const body = { email: String(data.email ?? "").trim(), password: String(data.password ?? ""),
      tenant_name: String(data.tenant_name ?? "").trim(), time_zone: String(data.time_zone ?? "") || undefined };
    if (String(data.name ?? "").trim()) body.name = String(data.name).trim();
    const problems = {};
    if (!body.tenant_name) problems.tenant_name = ["is required"];
    if (!body.email) problems.email = ["is required"];
    if (body.password.length < 10) problems.password = ["must be at least 10 characters"];
    if (Object.keys(problems).length) {
      showFieldErrors(form, { details: { fields: problems } });
      return;
    }
    replace(status);
    submit.disabled = true;
    submit.textContent = "Creating account…";
    try {
      const resp = await api("/api/auth/register", { method: "POST", body, auth: false });
      session.establish(resp);
      navigate("/upload", { replace: true });
    } catch (err) {
      if (!showFieldErrors(form, err)) replace(status, errorBox(err));
      submit.disabled = false;
      submit.textContent = "Create account";
    }
  });

  main.append(h("section", { class: "page narrow auth-page" },
    h("h1", { text: "Create your Tidemark account" }),
    h("p", { class: "lead", text: "Start a workspace for your organisation; you will be its "
      + "administrator and can invite colleagues later." }),
    form,
    h("p", { class: "center" }, "Already have an account? ", h("a", { href: "/signin", text: "Sign in" }))));
}
