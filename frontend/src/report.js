// The ingestion status and validation report of one upload (upload page and detail).

import { fetchBlob } from "./api.js";
import { errorBox, h, replace, saveBlob } from "./dom.js";
import { bytes, dateTime, number, percent, titleCase } from "./format.js";

export const FINAL = new Set(["loaded", "failed"]);

const STATUS_TEXT = {
  pending: "Waiting for the file",
  uploaded: "File received, queued for processing",
  processing: "Reading and validating rows",
  loaded: "Loaded",
  failed: "Failed",
};

export function statusBadge(status) {
  return h("span", { class: `badge badge-${status ?? "unknown"}`, dataset: { status },
    text: titleCase(status ?? "unknown") });
}

export function statusLine(upload) {
  const pct = Math.round((upload.progress ?? 0) * 100);
  const parts = [statusBadge(upload.status), " ", STATUS_TEXT[upload.status] ?? ""];
  if (upload.status === "processing") parts.push(` (${pct}%)`);
  return h("p", { class: "status-line", dataset: { uploadStatus: upload.status } }, parts);
}

export function renderReport(upload) {
  const report = upload.report;
  const wrap = h("section", { class: "report", "aria-labelledby": `report-${upload.id}`,
    dataset: { report: upload.id } });
  wrap.append(h("h2", { id: `report-${upload.id}`, text: "Validation report" }));
  if (upload.status === "failed" && upload.error) {
    wrap.append(h("div", { class: "alert alert-error", role: "alert", dataset: { uploadError: "" } },
      h("p", {}, h("strong", { text: "This file was not loaded. " }), upload.error.message ?? ""),
      upload.error.code && h("p", { class: "muted small", text: `Reason code: ${upload.error.code}` })));
  }
  if (!report) {
    if (upload.status !== "failed") wrap.append(h("p", { class: "muted", text: "The report appears once the file has been processed." }));
    return wrap;
  }
  const read = report.rows_read ?? 0;
  const stats = h("dl", { class: "stats" },
    stat("Rows read", number(read), "rows-read"),
    stat("Rows loaded", number(report.rows_loaded ?? 0), "rows-loaded"),
    stat("Rows rejected", number(report.rows_rejected ?? 0), "rows-rejected"),
    stat("Rejected share", read ? percent((100 * (report.rows_rejected ?? 0)) / read) : "—", "rejected-share"));
  wrap.append(stats);

  const reasons = Object.entries(report.rejected_by_reason ?? {}).sort((a, b) => b[1] - a[1]);
  if (reasons.length) {
    wrap.append(h("h3", { text: "Rejected rows by reason" }),
      h("table", { class: "table", dataset: { table: "reasons" } },
        h("thead", {}, h("tr", {}, h("th", { scope: "col", text: "Reason" }),
          h("th", { scope: "col", class: "num", text: "Rows" }))),
        h("tbody", {}, reasons.map(([reason, count]) => h("tr", {},
          h("td", { text: titleCase(reason) }), h("td", { class: "num", text: number(count) }))))));
  }
  const examples = report.examples ?? [];
  if (examples.length) {
    wrap.append(h("h3", { text: "Examples" }),
      h("div", { class: "table-scroll" }, h("table", { class: "table", dataset: { table: "examples" } },
        h("thead", {}, h("tr", {}, ["Row", "Column", "Value", "Reason"].map((c) =>
          h("th", { scope: "col", text: c })))),
        h("tbody", {}, examples.map((ex) => h("tr", {},
          h("td", { class: "num", text: ex.row_number ?? "" }),
          h("td", { text: ex.column ?? "" }),
          h("td", {}, h("code", { text: ex.value ?? "" })),
          h("td", { text: ex.message ?? titleCase(ex.reason ?? "") })))))));
  }
  if ((report.rows_rejected ?? 0) > 0) {
    const status = h("span", { class: "small", role: "status" });
    const button = h("button", { type: "button", class: "btn", dataset: { action: "download-rejected" },
      text: "Download rejected rows (CSV)" });
    button.addEventListener("click", async () => {
      button.disabled = true;
      replace(status, "Preparing…");
      try {
        const { blob, filename } = await fetchBlob(`/api/uploads/${encodeURIComponent(upload.id)}/rejected`);
        saveBlob(blob, filename ?? `${upload.id}-rejected.csv`);
        replace(status, "Downloaded.");
      } catch (err) {
        replace(status, errorBox(err));
      } finally {
        button.disabled = false;
      }
    });
    wrap.append(h("p", { class: "actions" }, button, " ", status));
  }
  const mapping = Object.entries(report.mapping ?? {}).filter(([, col]) => col);
  if (mapping.length) {
    wrap.append(h("h3", { text: "How the columns were read" }),
      h("dl", { class: "mapping", dataset: { mapping: "" } }, mapping.map(([role, col]) => [
        h("dt", { text: titleCase(role) }), h("dd", {}, mappedColumn(col))])));
  }
  for (const w of report.warnings ?? []) {
    wrap.append(h("p", { class: "alert alert-warn", text: w }));
  }
  return wrap;
}

const HOW = {
  header: "recognised by its name",
  content: "recognised by its values",
  user: "as you chose",
  derived: "worked out from quantity × unit price",
};

function mappedColumn(col) {
  if (typeof col === "string") return col;
  const name = Array.isArray(col.column) ? col.column.join(" × ") : String(col.column ?? "");
  return [h("span", { text: name }), col.by && h("span", { class: "muted small", text: ` · ${HOW[col.by] ?? col.by}` })];
}

function stat(label, value, key) {
  return h("div", { class: "stat", dataset: { stat: key } },
    h("dt", { text: label }), h("dd", { text: value }));
}

export function uploadFacts(upload) {
  return h("dl", { class: "facts" },
    h("dt", { text: "File" }), h("dd", { text: upload.filename ?? "" }),
    h("dt", { text: "Dataset" }), h("dd", { text: upload.dataset_name ?? upload.dataset_id ?? "" }),
    h("dt", { text: "Mode" }), h("dd", { text: titleCase(upload.mode) }),
    h("dt", { text: "Size" }), h("dd", { text: bytes(upload.size_bytes) }),
    h("dt", { text: "Created" }), h("dd", { text: dateTime(upload.created_at) }));
}
