import { api } from "../api.js";
import { errorBox, field, h, replace, showFieldErrors } from "../dom.js";
import * as session from "../session.js";

// The signed-in user's own account: the address, and changing it (confirmed by a link
// sent to the new address; the password is asked again).
export function render(main) {
  const { user } = session.current();
  const status = h("div", { class: "form-status", role: "status" });
  const submit = h("button", { type: "submit", class: "btn btn-primary", text: "Send the confirmation link" });
  const form = h("form", { class: "card form", novalidate: true, dataset: { form: "change-email" } },
    h("h2", { text: "Change your email address" }),
    field({ label: "New email", name: "email", type: "email", autocomplete: "email", required: true }),
    field({ label: "Current password", name: "password", type: "password",
      autocomplete: "current-password", required: true }),
    status, submit);

  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    const data = new FormData(form);
    replace(status);
    submit.disabled = true;
    try {
      const resp = await api("/api/auth/email/change", { method: "POST",
        body: { email: String(data.get("email") ?? "").trim(), password: String(data.get("password") ?? "") } });
      replace(status, h("p", { class: "notice success", text: resp.message }));
      form.reset();
    } catch (err) {
      if (!showFieldErrors(form, err)) replace(status, errorBox(err));
    } finally {
      submit.disabled = false;
    }
  });

  const pending = user?.pending_email
    ? h("p", { class: "muted", text: `Waiting for ${user.pending_email} to be confirmed.` }) : null;
  main.append(h("section", { class: "page narrow" },
    h("h1", { text: "Your account" }),
    h("div", { class: "card" },
      h("p", {}, "Signed in as ", h("strong", { text: user?.email ?? "" }),
        user?.email_verified === false ? " (not confirmed yet)" : ""),
      pending),
    form));
}
