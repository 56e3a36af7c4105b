import { h } from "../dom.js";

export function render(main) {
  main.append(h("section", { class: "page narrow" },
    h("h1", { text: "Page not found" }),
    h("p", { text: "There is nothing at this address." }),
    h("p", {}, h("a", { href: "/dashboard", text: "Go to the dashboard" }))));
}
