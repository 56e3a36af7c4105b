// The ingestion status and validation report of one upload (upload page and detail).

import { fetchBlob } from "./api.js";
import { errorBox, h, replace, saveBlob } from "./dom.js";
import { bytes, dateTime, number, percent, titleCase } from "./format.js";
import { ROLE_LABELS } from "./upload-options.js";

export const FINAL = new Set(["loaded", "failed"]);

const STATUS_TEXT = {
  pending: "Waiting for the file",
  uploaded: "File received, queued for processing",
  processing: "Reading and validating rows",
  loaded: "Loaded",
  failed: "Failed",
};

/** The status; a load with warnings reads "Loaded with N warnings" in the warning colour. */
export function statusBadge(status, warnings = 0) {
  if (status === "loaded" && warnings > 0) {
    return h("span", { class: "badge badge-warnings", dataset: { status, warnings: String(warnings) },
      text: `Loaded with ${warnings} warning${warnings === 1 ? "" : "s"}` });
  }
  return h("span", { class: `badge badge-${status ?? "unknown"}`, dataset: { status },
    text: titleCase(status ?? "unknown") });
}

export function statusLine(upload) {
  const pct = Math.round((upload.progress ?? 0) * 100);
  const warned = upload.status === "loaded" && upload.warning_count > 0;
  const parts = [statusBadge(upload.status, upload.warning_count ?? 0), " ",
    warned ? "Loaded, but read the warnings below before trusting the figures" : STATUS_TEXT[upload.status] ?? ""];
  if (upload.status === "processing") parts.push(` (${pct}%)`);
  return h("p", { class: "status-line", dataset: { uploadStatus: upload.status } }, parts);
}

const RETRY_HINTS = {
  ambiguous_date_format: "Choose the day and month order of the dates under Advanced, then upload the file again.",
  no_date_column: "If the file has a date column under another name, pick it as the Date under Advanced.",
  no_measure_column: "If the file has an amount or quantity column under another name, pick it under Advanced.",
  mapping_column_missing: "Pick one of the file's columns (or Automatic) for that role under Advanced.",
  mapping_type_mismatch: "Pick a column of the right kind (or Automatic) for that role under Advanced.",
};

/**
 * The report of one upload. `retry` (a function, or the address of the upload page that
 * pre-fills the form) adds "Try again with these settings" to a failed upload.
 */
export function renderReport(upload, { retry } = {}) {
  const report = upload.report;
  const wrap = h("section", { class: "report", "aria-labelledby": `report-${upload.id}`,
    dataset: { report: upload.id } });
  wrap.append(h("h2", { id: `report-${upload.id}`, text: "Validation report" }));
  if (upload.status === "failed" && upload.error) {
    wrap.append(h("div", { class: "alert alert-error", role: "alert", dataset: { uploadError: "" } },
      h("p", {}, h("strong", { text: "This file was not loaded. " }), sentence(upload.error.message)),
      upload.error.code && h("p", { class: "muted small", text: `Reason code: ${upload.error.code}` })));
    if (retry) wrap.append(retryAction(upload, retry));
  }
  if (!report) {
    if (upload.status !== "failed") wrap.append(h("p", { class: "muted", text: "The report appears once the file has been processed." }));
    return wrap;
  }
  const warnings = report.warnings ?? [];
  if (warnings.length) {
    // First, before the numbers: each warning is a figure the dashboard may get wrong.
    wrap.append(h("div", { class: "alert alert-warn", role: "alert", dataset: { uploadWarnings: String(warnings.length) } },
      h("p", {}, h("strong", { text: `${warnings.length} warning${warnings.length === 1 ? "" : "s"}: ` }),
        "the file loaded, but check these before trusting the dashboard."),
      h("ul", {}, warnings.map((w) => h("li", { text: sentence(w) })))));
  }
  const read = report.rows_read ?? 0;
  const failedEarly = upload.status === "failed" && !read;
  const stats = h("dl", { class: "stats" },
    stat("Rows read", number(read), "rows-read"),
    stat("Rows loaded", number(report.rows_loaded ?? 0), "rows-loaded"),
    stat("Rows rejected", number(report.rows_rejected ?? 0), "rows-rejected"),
    stat("Rejected share", read ? percent((100 * (report.rows_rejected ?? 0)) / read) : "—", "rejected-share"));
  if (!failedEarly) wrap.append(stats);
  // The first upload may set the organisation's holiday country (used by forecasts).
  const holidays = report.holiday_country;
  if (holidays) {
    wrap.append(h("p", { class: "muted small", dataset: { holidayCountry: holidays.country ?? "" } },
      holidays.country ? `Holiday country set to ${holidays.country} for forecasts: ${holidays.reason}.`
        : `Holiday country not set from this file: ${holidays.reason}. An admin can choose it.`));
  }

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
        h("dt", { text: ROLE_LABELS[role] ?? titleCase(role) }), h("dd", {}, mappedColumn(col))])));
  }
  const columns = report.columns ?? [];
  if (upload.status === "failed" && columns.length) {
    wrap.append(h("h3", { text: "Columns in the file" }),
      h("ul", { class: "columns-seen", dataset: { columnsSeen: "" } }, columns.map((c) => h("li", {},
        h("span", { class: "column-name", text: c.column ?? "" }),
        h("span", { class: "muted small", text: ` · ${columnKind(c)}` })))));
  }
  const missing = Object.entries(report.roles ?? {}).filter(([, r]) => r?.status === "not_found");
  if (missing.length && upload.status !== "failed") {
    wrap.append(h("h3", { text: "Not found in the file" }),
      h("dl", { class: "mapping", dataset: { rolesMissing: "" } }, missing.map(([role, r]) => [
        h("dt", { text: ROLE_LABELS[role] ?? titleCase(role) }), h("dd", { class: "muted", text: r.impact ?? "" })])));
  }
  const doubtful = columns.filter((c) => c.invalid_count > 0 || c.null_count > 0);
  if (doubtful.length && upload.status !== "failed") {
    wrap.append(h("h3", { text: "Columns with empty or unreadable values" }),
      h("div", { class: "table-scroll" }, h("table", { class: "table", dataset: { table: "column-quality" } },
        h("thead", {}, h("tr", {}, ["Column", "Type", "Empty", "Unreadable", "Examples"].map((c) =>
          h("th", { scope: "col", text: c })))),
        h("tbody", {}, doubtful.map((c) => h("tr", {},
          h("td", { text: c.column }), h("td", { text: columnKind(c) }),
          h("td", { class: "num", text: number(c.null_count ?? 0) }),
          h("td", { class: "num", text: number(c.invalid_count ?? 0) }),
          h("td", {}, (c.invalid_examples ?? []).map((v) => h("code", { text: `${v ?? ""} ` })))))))));
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

function sentence(text) {
  const s = String(text ?? "");
  return s.charAt(0).toUpperCase() + s.slice(1);
}

function columnKind(c) {
  if (c.type === "date" && c.date_order === "ambiguous") return "dates, day/month order unclear";
  if (c.type === "date" && c.date_order) return `dates (${c.date_order})`;
  return { number: "numbers", date: "dates", text: "text", empty: "empty" }[c.type] ?? c.type ?? "";
}

function retryAction(upload, retry) {
  const hint = RETRY_HINTS[upload.error?.code];
  const label = "Try again with these settings";
  const control = typeof retry === "function"
    ? h("button", { type: "button", class: "btn btn-primary", dataset: { action: "retry" }, onclick: retry, text: label })
    : h("a", { class: "btn btn-primary", href: retry, dataset: { action: "retry" }, text: label });
  return h("div", { class: "retry" }, hint && h("p", { text: hint }), h("p", { class: "actions" }, control));
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
