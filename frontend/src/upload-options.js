// The optional parts of POST /api/uploads behind an "Advanced" disclosure: which column
// plays which role (or none), the day/month order of dates and the decimal separator.
// A failed upload's settings (its columns and the mapping read from them) pre-fill it.

import { h, nextId, replace } from "./dom.js";

/** Roles a column can play, in the order the form lists them. */
export const ROLES = [
  ["occurred_at", "Date"],
  ["amount", "Amount"],
  ["quantity", "Quantity"],
  ["unit_price", "Unit price"],
  ["product", "Product"],
  ["category", "Category"],
  ["region", "Region"],
  ["customer", "Customer"],
  ["channel", "Channel"],
  ["order_id", "Order id"],
];
export const ROLE_LABELS = Object.fromEntries(ROLES);

const TYPE_WORDS = { number: "numbers", date: "dates", text: "text", empty: "empty" };

/** The controls and what they hold. */
export function advancedOptions() {
  let columns = []; // [{column, type?, date_order?}]
  const selects = new Map();
  const summaryNote = h("span", { class: "muted small", dataset: { advancedNote: "" } });
  const dateOrder = control("date_order", "Day and month order of dates", [
    ["", "Work it out from the dates"],
    ["DMY", "Day first (31/12/2024, DMY)"],
    ["MDY", "Month first (12/31/2024, MDY)"],
  ], "Needed when no date has a day above 12, so 03/04 could be either.");
  const decimal = control("decimal_separator", "Decimal separator", [
    ["", "Work it out from the numbers"],
    [".", "Point (1,234.56)"],
    [",", "Comma (1.234,56)"],
  ]);
  const columnsNote = h("p", { class: "hint", dataset: { columnsNote: "" } });
  const grid = h("div", { class: "mapping-grid" });
  for (const [role, label] of ROLES) {
    const id = nextId(`map-${role}`);
    const select = h("select", { id, name: `mapping.${role}`, dataset: { role } });
    selects.set(role, select);
    grid.append(h("div", { class: "field" }, h("label", { for: id, text: label }), select));
  }
  const mapping = h("fieldset", { class: "mapping-fields" },
    h("legend", { text: "Columns" }), columnsNote, grid,
    h("p", { class: "field-error", dataset: { errorFor: "mapping" } }));
  const details = h("details", { class: "advanced", dataset: { advanced: "" } },
    h("summary", {}, h("span", { text: "Advanced" }), " ", summaryNote),
    h("div", { class: "advanced-body" },
      h("p", { class: "hint", text: "Change these only when a report says a column was "
        + "ambiguous or read the wrong way." }),
      dateOrder.wrap, decimal.wrap, mapping));

  function fillSelects(chosen = {}) {
    const names = columns.map((c) => c.column);
    for (const [role, select] of selects) {
      const keep = role in chosen ? chosen[role] : current(select);
      const extra = typeof keep === "string" && keep && !names.includes(keep) ? [keep] : [];
      replace(select,
        h("option", { value: "", dataset: { kind: "auto" }, text: "Automatic" }),
        h("option", { value: "", dataset: { kind: "none" }, text: "None (not in this file)" }),
        [...columns, ...extra.map((column) => ({ column }))].map((c) => h("option", {
          value: c.column, dataset: { kind: "column" }, text: describeColumn(c) })));
      select.selectedIndex = 0;
      if (keep === null) select.selectedIndex = 1;
      else if (typeof keep === "string" && keep) {
        const i = [...select.options].findIndex((o) => o.dataset.kind === "column" && o.value === keep);
        if (i >= 0) select.selectedIndex = i;
      }
    }
    columnsNote.textContent = columns.length
      ? `Columns in the file: ${names.join(", ")}.`
      : "Choose a file to pick its columns; Automatic recognises them by name and content.";
  }

  function refreshNote() {
    const n = Object.keys(values().mapping ?? {}).length
      + (dateOrder.select.value ? 1 : 0) + (decimal.select.value ? 1 : 0);
    summaryNote.textContent = n ? `(${n} setting${n === 1 ? "" : "s"} chosen)` : "";
  }
  details.addEventListener("change", refreshNote);

  /** The optional request fields; a role left on Automatic is not sent. */
  function values() {
    const chosen = {};
    for (const [role, select] of selects) {
      const value = current(select);
      if (value !== undefined) chosen[role] = value;
    }
    return {
      mapping: Object.keys(chosen).length ? chosen : null,
      date_order: dateOrder.select.value || null,
      decimal_separator: decimal.select.value || null,
    };
  }

  fillSelects();
  return {
    element: details,
    values,
    /** The columns of the chosen file (or of a failed upload's report). */
    setColumns(list) {
      columns = list;
      fillSelects();
      refreshNote();
    },
    /** Put one role on a column (a string), on none (null) or back on Automatic (undefined). */
    choose(role, column) {
      if (!selects.has(role)) return;
      fillSelects({ [role]: column });
      refreshNote();
    },
    prefill({ mapping: chosen = {}, date_order: order = null, decimal_separator: sep = null,
      columns: list }) {
      if (list) columns = list;
      fillSelects(Object.fromEntries(ROLES.map(([role]) => [role, chosen?.[role]])));
      dateOrder.select.value = order ?? "";
      decimal.select.value = sep ?? "";
      refreshNote();
    },
    open(focusName) {
      details.open = true;
      const target = focusName && details.querySelector(`[name="${CSS.escape(focusName)}"]`);
      (target ?? details.querySelector("summary")).focus();
      details.scrollIntoView({ block: "nearest" });
    },
  };
}

/** undefined: Automatic; null: not in the file; a string: that column. */
function current(select) {
  const option = select.selectedOptions[0];
  if (!option || option.dataset.kind === "auto") return undefined;
  return option.dataset.kind === "none" ? null : option.value;
}

function describeColumn(c) {
  const bits = [TYPE_WORDS[c.type]];
  if (c.type === "date" && c.date_order === "ambiguous") bits.push("day/month order unclear");
  const extra = bits.filter(Boolean).join(", ");
  return extra ? `${c.column} (${extra})` : c.column;
}

function control(name, label, options, hint) {
  const id = nextId(name);
  const hintId = hint ? `${id}-hint` : undefined;
  const select = h("select", { id, name, "aria-describedby": [hintId, `${id}-error`].filter(Boolean).join(" ") },
    options.map(([value, text]) => h("option", { value, text })));
  const wrap = h("div", { class: "field" }, h("label", { for: id, text: label }),
    hint && h("p", { class: "hint", id: hintId, text: hint }), select,
    h("p", { class: "field-error", id: `${id}-error`, dataset: { errorFor: name } }));
  return { select, wrap };
}

/**
 * What a retry of a failed upload should start from: its dataset and mode, the columns
 * seen, the mapping it used or inferred, its date order and decimal separator, and the
 * control the failure points at.
 */
export function retrySettings(upload) {
  const report = upload.report ?? {};
  const error = upload.error ?? {};
  const details = error.details ?? {};
  let columns = (report.columns ?? []).filter((c) => c && c.column !== undefined);
  if (!columns.length && Array.isArray(details.columns_seen)) {
    columns = details.columns_seen.map((c) => (typeof c === "string" ? { column: c } : c));
  }
  const mapping = {};
  for (const [role, how] of Object.entries(report.mapping ?? {})) {
    const column = typeof how === "string" ? how : how?.column;
    if (typeof column === "string" && how?.by !== "derived") mapping[role] = column;
  }
  // The upload's own choices win over what was inferred.
  Object.assign(mapping, upload.mapping ?? {});
  let focus = null;
  switch (error.code) {
    case "ambiguous_date_format":
      if (typeof details.column === "string") mapping.occurred_at ??= details.column;
      focus = "date_order";
      break;
    case "no_date_column":
      focus = "mapping.occurred_at";
      break;
    case "no_measure_column":
      focus = "mapping.amount";
      break;
    case "mapping_type_mismatch":
      if (details.role) {
        delete mapping[details.role];
        focus = `mapping.${details.role}`;
      }
      break;
    case "mapping_column_missing": {
      const role = Object.keys(mapping).find((r) => mapping[r] === details.column);
      if (role) {
        delete mapping[role];
        focus = `mapping.${role}`;
      }
      break;
    }
    default:
      break;
  }
  return {
    dataset: upload.dataset_name ?? "",
    mode: upload.mode ?? "append",
    mapping,
    date_order: upload.date_order ?? null,
    decimal_separator: upload.decimal_separator ?? null,
    columns,
    focus,
  };
}

/** The header of a CSV file, read in the browser so its columns can be picked. */
export async function readHeader(file) {
  const text = (await file.slice(0, 64 * 1024).text()).replace(/^\uFEFF/, "");
  const counts = { ",": 0, ";": 0, "\t": 0, "|": 0 };
  let quoted = false;
  let end = text.length;
  for (let i = 0; i < text.length; i += 1) {
    const c = text[i];
    if (c === '"') quoted = !quoted;
    else if (!quoted && (c === "\n" || c === "\r")) {
      end = i;
      break;
    } else if (!quoted && c in counts) counts[c] += 1;
  }
  const delimiter = Object.entries(counts).sort((a, b) => b[1] - a[1])[0][0];
  const line = text.slice(0, end);
  const cells = [];
  let cell = "";
  quoted = false;
  for (let i = 0; i < line.length; i += 1) {
    const c = line[i];
    if (quoted) {
      if (c === '"' && line[i + 1] === '"') {
        cell += '"';
        i += 1;
      } else if (c === '"') quoted = false;
      else cell += c;
    } else if (c === '"') quoted = true;
    else if (c === delimiter) {
      cells.push(cell.trim());
      cell = "";
    } else cell += c;
  }
  cells.push(cell.trim());
  return cells.filter((c) => c !== "").slice(0, 200);
}
