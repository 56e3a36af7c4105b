import { api } from "../api.js";
import { errorBox, field, h, replace, showFieldErrors } from "../dom.js";

// The answer is the same whether or not an account uses the address: the page says
// only that a link is on its way if one does.
export function render(main) {
  const status = h("div", { class: "form-status", role: "status" });
  const submit = h("button", { type: "submit", class: "btn btn-primary", text: "Send the link" });
  const form = h("form", { class: "card form", novalidate: true, dataset: { form: "forgot" } },
    field({ label: "Email", name: "email", type: "email", autocomplete: "username", required: true,
      hint: "The address you sign in with." }),
    status, submit);

  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    const email = String(new FormData(form).get("email") ?? "").trim();
    if (!email) {
      showFieldErrors(form, { details: { fields: { email: ["is required"] } } });
      return;
    }
    replace(status);
    submit.disabled = true;
    try {
      const resp = await api("/api/auth/password/forgot", { method: "POST", auth: false,
        body: { email } });
      replace(status, h("p", { class: "notice success", dataset: { sent: "" }, text: resp.message }));
    } catch (err) {
      if (!showFieldErrors(form, err)) replace(status, errorBox(err));
    } finally {
      submit.disabled = false;
    }
  });

  main.append(h("section", { class: "page narrow auth-page" },
    h("h1", { text: "Reset your password" }),
    h("p", { text: "We will email you a link to choose a new password. It works once, for 30 minutes." }),
    form,
    h("p", { class: "center" }, h("a", { href: "/signin", text: "Back to sign in" }))));
}
