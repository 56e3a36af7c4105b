import { api } from "../api.js";
import { emptyState, errorBox, h, loadingState, replace } from "../dom.js";
import { bytes, dateTime, number } from "../format.js";
import { FINAL, statusBadge } from "../report.js";
import * as session from "../session.js";

export function render(main) {
  const body = h("div", {}, loadingState("Loading uploads…"));
  const canWrite = session.hasRole("analyst");
  let items = [];
  let nextToken = null;
  let timer = null;
  let stopped = false;
  const more = h("button", { type: "button", class: "btn hidden", text: "Load more" });
  more.addEventListener("click", () => load(nextToken));

  main.append(h("section", { class: "page" },
    h("div", { class: "page-head" }, h("h1", { text: "Uploads" }),
      canWrite && h("a", { class: "btn btn-primary", href: "/upload", dataset: { action: "new-upload" },
        text: "Upload a CSV" })),
    body, more));

  async function load(token) {
    try {
      const resp = await api("/api/uploads", { query: { page_size: 25, page_token: token } });
      if (stopped) return;
      items = token ? items.concat(resp.items ?? []) : (resp.items ?? []);
      nextToken = resp.next_page_token ?? null;
      draw();
      // Keep in-flight uploads' status fresh while the page is open.
      clearTimeout(timer);
      if (!token && items.some((u) => !FINAL.has(u.status))) timer = setTimeout(() => load(), 3000);
    } catch (err) {
      if (!stopped) replace(body, errorBox(err, { retry: () => load(token) }));
    }
  }

  function draw() {
    more.classList.toggle("hidden", !nextToken);
    if (!items.length) {
      replace(body, emptyState("No uploads yet",
        canWrite ? "Upload a CSV of your sales to see your dashboard." : "An analyst of your organisation can upload data.",
        canWrite && h("a", { class: "btn btn-primary", href: "/upload", text: "Upload a CSV" })));
      return;
    }
    const rows = items.map((u) => h("tr", { dataset: { uploadId: u.id } },
      h("td", {}, h("a", { href: `/uploads/${encodeURIComponent(u.id)}`, text: u.filename ?? u.id })),
      h("td", { text: u.dataset_name ?? u.dataset_id ?? "" }),
      h("td", {}, statusBadge(u.status)),
      h("td", { class: "num", text: bytes(u.size_bytes) }),
      h("td", { class: "num", text: u.report ? number(u.report.rows_loaded ?? 0) : "—" }),
      h("td", { class: "num", text: u.report ? number(u.report.rows_rejected ?? 0) : "—" }),
      h("td", { text: dateTime(u.created_at) }),
      canWrite && h("td", {}, deleteButton(u))));
    replace(body, h("div", { class: "table-scroll card" }, h("table", { class: "table", dataset: { table: "uploads" } },
      h("caption", { class: "visually-hidden", text: "Uploads, newest first" }),
      h("thead", {}, h("tr", {}, ["File", "Dataset", "Status", "Size", "Rows loaded", "Rejected",
        "Uploaded", canWrite ? "Actions" : null].filter(Boolean).map((c) =>
        h("th", { scope: "col", class: ["Size", "Rows loaded", "Rejected"].includes(c) ? "num" : undefined, text: c })))),
      h("tbody", {}, rows))));
  }

  function deleteButton(u) {
    const b = h("button", { type: "button", class: "btn btn-danger btn-small", dataset: { action: "delete" },
      "aria-label": `Delete ${u.filename ?? u.id}`, text: "Delete" });
    b.addEventListener("click", async () => {
      if (!window.confirm(`Delete “${u.filename}” and remove its rows from “${u.dataset_name}”?`)) return;
      b.disabled = true;
      try {
        await api(`/api/uploads/${encodeURIComponent(u.id)}`, { method: "DELETE" });
        items = items.filter((x) => x.id !== u.id);
        draw();
      } catch (err) {
        b.disabled = false;
        b.closest("td").append(errorBox(err));
      }
    });
    return b;
  }

  load();
  return () => {
    stopped = true;
    clearTimeout(timer);
  };
}
