// Workbooks (.xlsx, .xls, .ods) on the upload page. They are sent with their own content
// type (the signed URL binds it), and their preview takes the whole file: a workbook is a
// zip (or an OLE2 file) that its first MiB cannot open. The server tells a workbook by its
// bytes, so a .csv that Windows labels application/vnd.ms-excel stays a CSV.

export const XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";
export const XLS = "application/vnd.ms-excel";
export const ODS = "application/vnd.oasis.opendocument.spreadsheet";
export const BY_EXTENSION = { xlsx: XLSX, xlsm: XLSX, xls: XLS, ods: ODS };
/** Largest workbook the preview takes (shared/uploads/preview.py WORKBOOK_PREVIEW_BYTES). */
export const WORKBOOK_PREVIEW_BYTES = 20 * 1024 * 1024;
export const ACCEPT = ".csv,.tsv,.txt,.xlsx,.xlsm,.xls,.ods,text/csv," + [XLSX, ODS].join(",");

function extension(name) {
  const dot = (name ?? "").lastIndexOf(".");
  return dot < 0 ? "" : name.slice(dot + 1).toLowerCase();
}

/** The workbook content type of a file named like one (or typed as an .xlsx or .ods by
 * the browser, its name aside from a text extension), else null. Mirrors
 * shared/ingest/workbooks.py is_workbook. */
export function workbookType(file) {
  const ext = extension(file?.name);
  if (BY_EXTENSION[ext]) return BY_EXTENSION[ext];
  const typed = [XLSX, ODS].includes(file?.type) && !["csv", "tsv", "txt"].includes(ext);
  return typed ? file.type : null;
}
