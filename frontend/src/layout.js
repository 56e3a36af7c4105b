// The top bar: brand, the pages this role may use, the account and sign out.

import { api } from "./api.js";
import { h, replace } from "./dom.js";
import { navigate } from "./router.js";
import * as session from "./session.js";

export function renderTopbar() {
  const bar = document.getElementById("topbar");
  const { user, tenant, signedIn } = session.current();
  const brand = h("a", { href: signedIn ? "/dashboard" : "/signin", class: "brand" },
    h("span", { class: "brand-mark", "aria-hidden": "true" }), "Tidemark");
  if (!signedIn) {
    replace(bar, h("div", { class: "topbar-inner" }, brand));
    return;
  }
  const links = [["/dashboard", "Dashboard"], ["/customers", "Customers"]];
  if (session.hasRole("analyst")) links.push(["/upload", "Upload"]);
  links.push(["/uploads", "Uploads"]);
  if (session.hasRole("admin")) links.push(["/admin", "Users"]);
  const here = location.pathname;
  const nav = h("nav", { "aria-label": "Main", class: "nav" },
    h("ul", {}, links.map(([href, label]) => h("li", {},
      h("a", { href, "aria-current": here === href || here.startsWith(`${href}/`) ? "page" : undefined,
        dataset: { nav: label.toLowerCase() }, text: label })))));
  const account = h("div", { class: "account" },
    h("a", { class: "account-name", href: "/account", title: user?.email ?? "", dataset: { nav: "account" } },
      h("span", { class: "muted small", text: tenant?.name ?? "" }),
      h("span", { class: "small", text: `${user?.email ?? ""} · ${user?.role ?? ""}` })),
    h("button", { type: "button", class: "btn btn-ghost", dataset: { action: "sign-out" },
      onclick: async () => {
        await session.signOut();
        navigate("/signin");
      }, text: "Sign out" }));
  replace(bar, h("div", { class: "topbar-inner" }, brand, nav, account),
    user?.email_verified === false ? verifyBanner(user.email) : null);
}

// Until the address is confirmed the account can sign in but not invite people or
// receive digests; the banner says so and offers the link again.
function verifyBanner(email) {
  const status = h("span", { class: "small", role: "status" });
  const resend = h("button", { type: "button", class: "btn btn-ghost", text: "Send the link again" });
  resend.addEventListener("click", async () => {
    resend.disabled = true;
    try {
      const resp = await api("/api/auth/email/resend", { method: "POST" });
      replace(status, resp.message);
    } catch (err) {
      replace(status, err.message ?? "Could not send the link.");
      resend.disabled = false;
    }
  });
  return h("div", { class: "banner warning", dataset: { banner: "verify" } },
    h("span", {}, `Confirm ${email}: open the link we emailed you. Until then you cannot invite people.`),
    resend, status);
}
