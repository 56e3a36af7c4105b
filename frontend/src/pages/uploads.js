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
    // On a phone the rows become cards (CSS), each cell labelled by its column's name;
    // the explicit roles keep the table's meaning for screen readers when it is restyled.
    const cell = (label, attrs, ...children) => h("td", { role: "cell", dataset: { label }, ...attrs }, ...children);
    const rows = items.map((u) => h("tr", { role: "row", dataset: { uploadId: u.id } },
      cell("File", { class: "cell-title" },
        h("a", { href: `/uploads/${encodeURIComponent(u.id)}`, text: u.filename ?? u.id })),
      cell("Dataset", { text: u.dataset_name ?? u.dataset_id ?? "" }),
      cell("Status", {}, statusBadge(u.status, u.warning_count ?? 0)),
      cell("Size", { class: "num", text: bytes(u.size_bytes) }),
      cell("Rows loaded", { class: "num", text: u.report ? number(u.report.rows_loaded ?? 0) : "—" }),
      cell("Rejected", { class: "num", text: u.report ? number(u.report.rows_rejected ?? 0) : "—" }),
      cell("Uploaded", { text: dateTime(u.created_at) }),
      canWrite && cell("Actions", { class: "cell-actions" }, deleteButton(u))));
    const headings = ["File", "Dataset", "Status", "Size", "Rows loaded", "Rejected", "Uploaded",
      canWrite ? "Actions" : null].filter(Boolean);
    replace(body, h("div", { class: "card table-cards-wrap" },
      h("table", { class: "table table-cards", role: "table", dataset: { table: "uploads" } },
        h("caption", { class: "visually-hidden", text: "Uploads, newest first" }),
        h("thead", { role: "rowgroup" }, h("tr", { role: "row" }, headings.map((c) => h("th", {
          scope: "col", role: "columnheader",
          class: ["Size", "Rows loaded", "Rejected"].includes(c) ? "num" : undefined, text: c })))),
        h("tbody", { role: "rowgroup" }, rows))));
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
