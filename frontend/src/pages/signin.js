import { api } from "../api.js";
import { DEMO } from "../config.js";
import { errorBox, field, h, replace, showFieldErrors } from "../dom.js";
import { navigate } from "../router.js";
import * as session from "../session.js";

function nextPath(query) {
  const next = query.get("next") ?? "";
  // Only ever a path on this site: never an absolute or protocol-relative URL.
  return next.startsWith("/") && !next.startsWith("//") ? next : "/dashboard";
}

export function render(main, { query }) {
  const status = h("div", { class: "form-status" });
  const submit = h("button", { type: "submit", class: "btn btn-primary", text: "Sign in" });
  const form = h("form", { class: "card form", novalidate: true, "aria-labelledby": "signin-h" },
    field({ label: "Email", name: "email", type: "email", autocomplete: "username", required: true }),
    field({ label: "Password", name: "password", type: "password",
      autocomplete: "current-password", required: true }),
    status,
    submit,
    h("p", { class: "small" }, h("a", { href: "/forgot-password", text: "Forgot password?" })));
  if (query.get("reset")) {
    replace(status, h("p", { class: "notice success", text: "Your password is changed. Sign in with it." }));
  }

  async function signIn(credentials, button) {
    replace(status);
    button.disabled = true;
    const label = button.textContent;
    button.textContent = "Signing in…";
    try {
      const resp = await api("/api/auth/login", { method: "POST", body: credentials, auth: false });
      session.establish(resp);
      navigate(nextPath(query), { replace: true });
    } catch (err) {
      if (!showFieldErrors(form, err)) replace(status, errorBox(err));
      button.disabled = false;
      button.textContent = label;
    }
  }

  form.addEventListener("submit", (e) => {
    e.preventDefault();
    const data = new FormData(form);
    const email = String(data.get("email") ?? "").trim();
    const password = String(data.get("password") ?? "");
    const problems = {};
    if (!email) problems.email = ["is required"];
    if (!password) problems.password = ["is required"];
    if (Object.keys(problems).length) {
      showFieldErrors(form, { details: { fields: problems } });
      return;
    }
    signIn({ email, password }, submit);
  });

  const demoButton = h("button", { type: "button", class: "btn btn-accent",
    dataset: { action: "demo" }, text: "Try the demo" });
  demoButton.addEventListener("click", () => signIn({ ...DEMO }, demoButton));

  main.append(h("section", { class: "page narrow auth-page" },
    h("h1", { id: "signin-h", text: "Sign in to Tidemark" }),
    h("div", { class: "card demo-card" },
      h("h2", { text: "New here? Look around first" }),
      h("p", { text: "The demo account has four years of sample sales already loaded: "
        + "KPIs, forecasts and insights, one click away." }),
      h("p", { class: "muted small" },
        "Email ", h("code", { text: DEMO.email }), " · password ", h("code", { text: DEMO.password })),
      demoButton),
    form,
    h("p", { class: "center" }, "No account yet? ",
      h("a", { href: "/register", text: "Create one for your own data" }))));
}
