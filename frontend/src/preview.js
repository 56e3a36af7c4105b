// The mapping preview on the upload page: the first MiB of the chosen file (File.slice)
// goes to POST /api/uploads/preview, which runs the ingest's own sniff, type settling and
// mapping on it. The page shows each column with its type and role (a select, so a wrong
// role is corrected before the file is sent) and the first rows as they would load. A
// role changed here is put into the upload's mapping (the Advanced controls), which the
// ingest then follows and its report credits to the user. A workbook is sent whole (up to
// WORKBOOK_PREVIEW_BYTES); its answer lists the sheets, and the sheet chosen here is the
// one previewed and uploaded (`sheet()`).

import { api } from "./api.js";
import { errorBox, h, loadingState, replace } from "./dom.js";
import { number } from "./format.js";
import { ROLES } from "./upload-options.js";
import { WORKBOOK_PREVIEW_BYTES, workbookType } from "./workbooks.js";

export const PREVIEW_BYTES = 1024 * 1024;

const HOW = {
  header: "recognised by its name",
  content: "recognised by its values",
  user: "as you chose",
  derived: "quantity × unit price",
};
const TYPES = { number: "Numbers", date: "Dates", text: "Text", empty: "Empty" };
const SAMPLE = [["row_number", "Row"], ...ROLES.filter(([r]) => r !== "unit_price")];

/** `options`: the Advanced controls (advancedOptions()), which hold the mapping sent. */
export function mappingPreview(options) {
  const title = () => h("h2", { id: "preview-h", text: "Check the columns" });
  const element = h("section", { class: "card hidden", "aria-labelledby": "preview-h",
    dataset: { preview: "" } });
  let seq = 0;
  let sheet = null;
  let current = null;

  /** Preview a file (a workbook: the sheet chosen, else its first); resolves to true when
   * the preview is shown. */
  async function show(file, chosenSheet = null) {
    const mine = ++seq;
    if (file !== current) sheet = null;
    current = file;
    sheet = chosenSheet ?? sheet;
    const workbook = workbookType(file);
    element.classList.remove("hidden");
    if (workbook && file.size > WORKBOOK_PREVIEW_BYTES) {
      replace(element, title(), h("p", { class: "hint", dataset: { previewSkipped: "" },
        text: "This workbook is too large to preview here; its first sheet is read when it is uploaded." }));
      return true;
    }
    replace(element, title(), loadingState(workbook ? "Reading the workbook…" : "Reading the start of the file…"));
    const partial = !workbook && file.size > PREVIEW_BYTES;
    let answer;
    try {
      answer = await api("/api/uploads/preview", { method: "POST",
        contentType: workbook ?? "text/csv", data: workbook ? file : file.slice(0, PREVIEW_BYTES),
        query: { partial: partial ? "true" : undefined, sheet: sheet ?? undefined } });
    } catch (err) {
      if (mine === seq) replace(element, title(), errorBox(err));
      return false;
    }
    if (mine !== seq) return false;
    sheet = answer.sheet ?? sheet;
    draw(answer, answer.partial ?? partial, workbook);
    return true;
  }

  function sheetChooser(answer) {
    const select = h("select", { id: "preview-sheet", dataset: { previewSheet: "" } },
      answer.sheets.map((name) => h("option", { value: name, text: name })));
    select.value = answer.sheet ?? sheet ?? answer.sheets[0];
    select.addEventListener("change", () => show(current, select.value));
    return h("p", { class: "field" }, h("label", { for: "preview-sheet", text: "Sheet " }), select);
  }

  function draw(answer, partial, workbook) {
    options.setColumns(answer.columns ?? []);
    // column -> role: what the ingest found, then what the user already chose.
    const roleOf = new Map();
    const how = new Map();
    for (const [role, m] of Object.entries(answer.mapping ?? {})) {
      if (m?.column) {
        roleOf.set(m.column, role);
        how.set(m.column, m.by);
      }
    }
    for (const [role, col] of Object.entries(options.values().mapping ?? {})) {
      for (const [c, r] of roleOf) if (r === role) roleOf.delete(c);
      if (col) {
        roleOf.set(col, role);
        how.set(col, "user");
      }
    }
    const selects = new Map();
    const rows = (answer.columns ?? []).map((c) => {
      const howCell = h("td", { class: "muted small", text: HOW[how.get(c.column)] ?? "" });
      const select = h("select", { "aria-label": `Role of ${c.column}`,
        dataset: { previewRole: c.column } },
        h("option", { value: "", text: "Not used" }),
        ROLES.map(([role, label]) => h("option", { value: role, text: label })));
      select.value = roleOf.get(c.column) ?? "";
      selects.set(c.column, { select, howCell });
      select.addEventListener("change", () => {
        const before = roleOf.get(c.column);
        const after = select.value || null;
        // The role this column leaves is not taken from it any more.
        if (before && before !== after) options.choose(before, null);
        roleOf.delete(c.column);
        if (after) {
          for (const [other, r] of roleOf) {
            if (r === after) {
              roleOf.delete(other);
              selects.get(other).select.value = "";
              selects.get(other).howCell.textContent = HOW.user;
            }
          }
          roleOf.set(c.column, after);
          options.choose(after, c.column);
        }
        howCell.textContent = HOW.user;
      });
      return h("tr", { dataset: { previewColumn: c.column } },
        h("th", { scope: "row", text: c.column }),
        h("td", { text: typeLabel(c) }), h("td", {}, select), howCell);
    });

    const sample = answer.sample_rows ?? [];
    const shown = SAMPLE.filter(([key]) => key === "row_number" || sample.some((r) => r[key] !== null && r[key] !== undefined));
    const readFrom = workbook ? (partial ? "first rows of the sheet" : "whole sheet")
      : (partial ? "first MiB" : "whole file");
    replace(element, title(),
      (answer.sheets ?? []).length > 0 && sheetChooser(answer),
      h("p", { class: "hint", text: `Read from the ${readFrom}: `
        + `${number(answer.rows_read ?? 0)} rows. Change a role if it is wrong; the upload uses your choice.` }),
      answer.error && h("div", { class: "alert alert-warn", role: "alert", dataset: { previewError: answer.error.code } },
        h("p", {}, h("strong", { text: "As it is, this file would not load: " }), answer.error.message)),
      (answer.warnings ?? []).length > 0 && h("ul", { class: "alert alert-warn", dataset: { previewWarnings: "" } },
        answer.warnings.map((w) => h("li", { text: w }))),
      h("div", { class: "table-scroll" }, h("table", { class: "table preview-table", dataset: { table: "preview-columns" } },
        h("thead", {}, h("tr", {}, ["Column", "Type", "Role", "How"].map((t) => h("th", { scope: "col", text: t })))),
        h("tbody", {}, rows))),
      sample.length > 0 && h("h3", { text: "First rows as they would load" }),
      sample.length > 0 && h("div", { class: "table-scroll" }, h("table", { class: "table", dataset: { table: "preview-rows" } },
        h("thead", {}, h("tr", {}, shown.map(([, label]) => h("th", { scope: "col", text: label })))),
        h("tbody", {}, sample.map((r) => h("tr", {}, shown.map(([key]) => h("td", {
          class: ["amount", "quantity", "row_number"].includes(key) ? "num" : undefined,
          text: cellText(key, r[key]) }))))))));
  }

  return {
    element,
    show,
    /** The workbook sheet chosen in the preview (null: the first, or not a workbook). */
    sheet: () => sheet,
    hide() {
      seq += 1;
      sheet = null;
      current = null;
      element.classList.add("hidden");
      replace(element);
    },
  };
}

function typeLabel(c) {
  const base = TYPES[c.type] ?? c.type ?? "";
  if (c.type === "date" && c.date_order === "ambiguous") return `${base} (day/month unclear)`;
  if (c.type === "date" && c.date_order) return `${base} (${c.date_order})`;
  return base;
}

function cellText(key, value) {
  if (value === null || value === undefined) return "";
  if (key === "occurred_at") return String(value).replace("T", " ").replace(/(\s00:00:00)?(\+00:00)?$/, "");
  return String(value);
}

