import { api } from "../api.js";
import { errorBox, field, h, replace, showFieldErrors } from "../dom.js";
import { navigate } from "../router.js";

/** The token of a mailed link: after "#token=", never sent to a server. */
export function tokenFromHash(hash) {
  return new URLSearchParams(String(hash ?? "").replace(/^#/, "")).get("token") ?? "";
}

export function render(main) {
  const token = tokenFromHash(location.hash);
  // A one-time secret: out of the address bar and the history at once.
  if (location.hash) history.replaceState({}, "", location.pathname);
  const status = h("div", { class: "form-status" });
  const submit = h("button", { type: "submit", class: "btn btn-primary", text: "Set the new password" });
  const form = h("form", { class: "card form", novalidate: true, dataset: { form: "reset" } },
    field({ label: "New password", name: "password", type: "password",
      autocomplete: "new-password", required: true, minlength: 10,
      hint: "At least 10 characters; not your email and not a common password." }),
    status, submit);

  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    const password = String(new FormData(form).get("password") ?? "");
    replace(status);
    submit.disabled = true;
    try {
      await api("/api/auth/password/reset", { method: "POST", auth: false, body: { token, password } });
      navigate("/signin?reset=1", { replace: true });
    } catch (err) {
      if (!showFieldErrors(form, err)) replace(status, errorBox(err));
      submit.disabled = false;
    }
  });

  const body = token ? form : h("div", { class: "card" },
    h("p", { text: "This page needs the link from the email we sent you." }),
    h("a", { href: "/forgot-password", text: "Ask for a new link" }));
  main.append(h("section", { class: "page narrow auth-page" },
    h("h1", { text: "Choose a new password" }), body));
}
