import { api } from "../api.js";
import { errorBox, field, h, replace, showFieldErrors } from "../dom.js";
import { navigate } from "../router.js";
import * as session from "../session.js";

export function render(main, { query }) {
  const status = h("div", { class: "form-status" });
  const submit = h("button", { type: "submit", class: "btn btn-primary", text: "Set password and sign in" });
  const tokenInput = h("input", { name: "token", type: "text", autocomplete: "off", required: true,
    value: query.get("token") ?? "" });
  const form = h("form", { class: "card form", novalidate: true },
    field({ label: "Invite code", name: "token", control: tokenInput,
      hint: "The code your administrator gave you." }),
    field({ label: "New password", name: "password", type: "password",
      autocomplete: "new-password", required: true, minlength: 10,
      hint: "At least 10 characters; not your email and not a common password." }),
    status, submit);
  // The invite code is a one-time secret: keep it out of the address bar and history.
  if (query.get("token")) history.replaceState({}, "", "/invite");

  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    const data = Object.fromEntries(new FormData(form));
    replace(status);
    submit.disabled = true;
    try {
      const resp = await api("/api/auth/invites/accept", { method: "POST", auth: false,
        body: { token: String(data.token ?? "").trim(), password: String(data.password ?? "") } });
      session.establish(resp);
      navigate("/dashboard", { replace: true });
    } catch (err) {
      if (!showFieldErrors(form, err)) replace(status, errorBox(err));
      submit.disabled = false;
    }
  });

  main.append(h("section", { class: "page narrow auth-page" },
    h("h1", { text: "Accept your invitation" }), form));
}
