// The top bar: brand, the pages this role may use, the account and sign out.

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
    h("span", { class: "account-name", title: user?.email ?? "" },
      h("span", { class: "muted small", text: tenant?.name ?? "" }),
      h("span", { class: "small", text: `${user?.email ?? ""} · ${user?.role ?? ""}` })),
    h("button", { type: "button", class: "btn btn-ghost", dataset: { action: "sign-out" },
      onclick: async () => {
        await session.signOut();
        navigate("/signin");
      }, text: "Sign out" }));
  replace(bar, h("div", { class: "topbar-inner" }, brand, nav, account));
}
