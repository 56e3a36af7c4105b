import { api } from "../api.js";
import { errorBox, h, replace } from "../dom.js";
import * as session from "../session.js";
import { tokenFromHash } from "./reset-password.js";

export function render(main) {
  const token = tokenFromHash(location.hash);
  if (location.hash) history.replaceState({}, "", location.pathname);
  const result = h("div", { class: "card", role: "status", text: "Confirming your address…" });
  main.append(h("section", { class: "page narrow auth-page" },
    h("h1", { text: "Confirm your email address" }), result));
  if (!token) {
    replace(result, h("p", { text: "This page needs the link from the email we sent you." }));
    return;
  }
  api("/api/auth/email/verify", { method: "POST", auth: false, body: { token } })
    .then(async (resp) => {
      replace(result, h("p", { class: "notice success", dataset: { verified: "" } },
        `${resp.email} is confirmed.`), h("a", { href: session.current().signedIn
        ? "/dashboard" : "/signin", text: "Continue" }));
      if (session.current().signedIn) await session.reloadUser();
    })
    .catch((err) => replace(result, errorBox(err)));
}
