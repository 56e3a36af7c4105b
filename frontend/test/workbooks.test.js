import assert from "node:assert/strict";
import { test } from "node:test";

import { ODS, XLS, XLSX, workbookType } from "../src/workbooks.js";

test("workbooks are told by their extension, whatever the browser's type", () => {
  assert.equal(workbookType({ name: "Sales 2024.XLSX", type: "" }), XLSX);
  assert.equal(workbookType({ name: "old.xls", type: XLS }), XLS);
  assert.equal(workbookType({ name: "ventes.ods", type: "" }), ODS);
});

test("a CSV that Windows labels as Excel stays a CSV", () => {
  assert.equal(workbookType({ name: "export.csv", type: XLS }), null);
  assert.equal(workbookType({ name: "export.csv", type: XLSX }), null);
});

test("a file without an extension is a workbook when the browser types it so", () => {
  assert.equal(workbookType({ name: "download", type: XLSX }), XLSX);
  assert.equal(workbookType({ name: "download", type: "text/csv" }), null);
});
