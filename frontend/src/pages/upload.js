import { api, putWithProgress } from "../api.js";
import { POLL_MAX_MS, POLL_MS } from "../config.js";
import { announce, errorBox, field, h, loadingState, replace, showFieldErrors } from "../dom.js";
import { bytes, number } from "../format.js";
import { mappingPreview } from "../preview.js";
import { FINAL, renderReport, statusLine, uploadFacts } from "../report.js";
import { advancedOptions, readHeader, retrySettings } from "../upload-options.js";
import { ACCEPT, workbookType } from "../workbooks.js";

const ACCEPTED = new Set(["text/csv", "application/csv", "text/plain", "application/vnd.ms-excel"]);

export function render(main, { query } = {}) {
  let file = null;
  let confirmDuplicate = false;
  // Columns a failed upload's report described (with their types), by name.
  let known = new Map();
  let stopped = false;
  const controller = new AbortController();

  const fileInput = h("input", { type: "file", name: "file", accept: ACCEPT,
    class: "visually-hidden" });
  const fileName = h("p", { class: "drop-file", dataset: { selectedFile: "" }, text: "No file chosen" });
  const drop = h("div", { class: "dropzone", dataset: { dropzone: "" } },
    h("p", { class: "drop-title", text: "Drag a CSV file or a workbook (.xlsx, .xls, .ods) here" }),
    h("p", {}, "or ", h("label", { for: "upload-file", class: "btn", text: "Choose a file…" })),
    fileName);
  fileInput.id = "upload-file";
  drop.prepend(fileInput);

  function choose(f) {
    file = f ?? null;
    fileName.textContent = file ? `${file.name} · ${bytes(file.size)}` : "No file chosen";
    drop.classList.toggle("has-file", Boolean(file));
    if (!file) {
      preview.hide();
      return;
    }
    // The preview types the columns; without it, the header alone still names them.
    preview.show(file).then((shown) => {
      if (shown || file !== f || workbookType(f)) return;
      readHeader(f).then((names) => {
        if (names.length && file === f) options.setColumns(names.map((n) => known.get(n) ?? { column: n }));
      }).catch(() => {});
    });
  }
  fileInput.addEventListener("change", () => choose(fileInput.files[0]));
  for (const type of ["dragenter", "dragover"]) {
    drop.addEventListener(type, (e) => {
      e.preventDefault();
      drop.classList.add("dragging");
    });
  }
  for (const type of ["dragleave", "drop"]) {
    drop.addEventListener(type, () => drop.classList.remove("dragging"));
  }
  drop.addEventListener("drop", (e) => {
    e.preventDefault();
    if (e.dataTransfer?.files?.length) choose(e.dataTransfer.files[0]);
  });

  const datasetInput = h("input", { name: "dataset", type: "text", value: "sales", required: true,
    list: "dataset-names", autocomplete: "off", maxlength: 100 });
  const datalist = h("datalist", { id: "dataset-names" });
  const modes = h("fieldset", { class: "radios" },
    h("legend", { text: "If the dataset already has data" }),
    radio("mode", "append", "Add these rows to it (append)", true),
    radio("mode", "replace", "Replace all its rows with this file (replace)", false));
  const options = advancedOptions();
  const preview = mappingPreview(options);
  const status = h("div", { class: "form-status" });
  const notice = h("div", { class: "form-notice", "aria-live": "polite" });
  const submit = h("button", { type: "submit", class: "btn btn-primary", text: "Upload" });
  const form = h("form", { class: "card form", novalidate: true, dataset: { form: "upload" } },
    notice,
    field({ label: "Dataset", name: "dataset", control: datasetInput,
      hint: "A name for this data; a new name creates a new dataset." }),
    datalist, drop, h("p", { class: "field-error", dataset: { errorFor: "filename" } }),
    modes, preview.element, options.element, status, submit);

  const progressBar = h("progress", { max: 100, value: 0, "aria-label": "Upload progress",
    dataset: { progress: "upload" } });
  const progressText = h("p", { class: "small", "aria-live": "polite", dataset: { progressText: "" } });
  const progress = h("section", { class: "card hidden", "aria-labelledby": "progress-h" },
    h("h2", { id: "progress-h", text: "Sending the file" }), progressBar, progressText);
  const ingest = h("section", { class: "card hidden", "aria-live": "polite", dataset: { ingest: "" } });
  const guide = fileGuide();

  api("/api/metrics/datasets").then((resp) => {
    const items = resp?.datasets ?? resp?.items ?? [];
    replace(datalist, items.map((d) => h("option", { value: d.name ?? d.id })));
  }).catch(() => {});

  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    replace(status);
    const dataset = datasetInput.value.trim();
    const problems = {};
    if (!file) problems.filename = ["Choose a CSV file or a workbook to upload."];
    if (!dataset) problems.dataset = ["is required"];
    if (Object.keys(problems).length) {
      showFieldErrors(form, { details: { fields: problems } });
      if (problems.filename) form.querySelector("[data-error-for=filename]").textContent = problems.filename[0];
      return;
    }
    showFieldErrors(form, {});
    const mode = new FormData(form).get("mode");
    const contentType = workbookType(file) ?? (ACCEPTED.has(file.type) ? file.type : "text/csv");
    submit.disabled = true;
    replace(notice);
    replace(ingest);
    ingest.classList.add("hidden");
    guide.classList.add("hidden");
    try {
      const body = { filename: file.name, size_bytes: file.size, content_type: contentType, dataset, mode };
      for (const [key, value] of Object.entries(options.values())) if (value !== null) body[key] = value;
      // Set by "Load it anyway" on a duplicate: this one submission confirms it.
      if (confirmDuplicate) body.confirm_duplicate = true;
      if (workbookType(file) && preview.sheet()) body.sheet = preview.sheet();
      confirmDuplicate = false;
      const created = await api("/api/uploads", { method: "POST", body });
      const upload = created.upload;
      progress.classList.remove("hidden");
      announce("Uploading the file");
      await putWithProgress(created.upload_url, file, created.headers ?? { "Content-Type": contentType },
        (loaded, total) => {
          const pct = total ? Math.round((100 * loaded) / total) : 0;
          progressBar.value = pct;
          progressText.textContent = `${pct}% · ${bytes(loaded)} of ${bytes(total)}`;
        }, { signal: controller.signal });
      progressText.textContent = `100% · ${bytes(file.size)} sent`;
      announce("File sent. Processing.");
      ingest.classList.remove("hidden");
      await poll(upload.id);
    } catch (err) {
      if (err.name === "AbortError") return;
      // A problem with an advanced setting: open the disclosure so its control can take focus.
      const fields = Object.keys(err.details?.fields ?? {});
      if (fields.some((k) => ["mapping", "date_order", "decimal_separator"].includes(k))) options.element.open = true;
      if (!showFieldErrors(form, err)) replace(status, errorBox(err));
    } finally {
      submit.disabled = false;
    }
  });

  async function poll(id) {
    const started = Date.now();
    let delay = POLL_MS;
    while (!stopped && Date.now() - started < POLL_MAX_MS) {
      let upload;
      try {
        upload = await api(`/api/uploads/${encodeURIComponent(id)}`, { signal: controller.signal });
      } catch (err) {
        if (err.name === "AbortError") return;
        replace(ingest, h("h2", { text: "Processing" }), errorBox(err));
        delay = Math.min(delay * 2, 10_000);
        await sleep(delay);
        continue;
      }
      showIngest(upload);
      if (FINAL.has(upload.status)) {
        announce(upload.status === "loaded"
          ? `Loaded ${number(upload.report?.rows_loaded ?? 0)} rows` : "The upload failed");
        return;
      }
      await sleep(delay);
    }
  }

  function showIngest(upload) {
    const next = upload.status === "loaded" ? h("p", { class: "actions" },
      h("a", { class: "btn btn-primary", href: `/dashboard?dataset=${encodeURIComponent(upload.dataset_id)}`,
        text: "Open the dashboard" }), " ",
      h("a", { class: "btn", href: "/uploads", text: "All uploads" }))
      : upload.status === "failed" && upload.error?.code === "duplicate_content"
        ? duplicateChoice(upload) : null;
    replace(ingest, h("h2", { text: "Processing" }), statusLine(upload),
      upload.status === "processing" && h("progress", { max: 100,
        value: Math.round((upload.progress ?? 0) * 100), "aria-label": "Processing progress" }),
      uploadFacts(upload),
      FINAL.has(upload.status) && renderReport(upload, { retry: () => retryWith(upload) }), next);
  }

  /** The same content is already loaded: say which upload holds it, and let the user load
   * this file anyway (same file, same settings, confirmed) or leave it. */
  function duplicateChoice(upload) {
    const earlier = upload.error.details ?? {};
    const again = h("button", { type: "button", class: "btn btn-primary", text: "Load it anyway",
      dataset: { confirmDuplicate: "" } });
    again.addEventListener("click", () => {
      confirmDuplicate = true;
      form.requestSubmit();
    });
    return h("div", { class: "alert alert-warn", dataset: { duplicate: "" } },
      h("p", {}, "This file's content is already in the dataset",
        earlier.filename ? ` (“${earlier.filename}”` : " (",
        earlier.upload_id ? h("a", { href: `/uploads/${encodeURIComponent(earlier.upload_id)}`,
          text: earlier.filename ? ", see that upload" : "see that upload" }) : "", "). ",
        "Loading it again would count every sale twice."),
      h("p", { class: "actions" }, again));
  }

  /** Put a failed upload's settings back into the form, with Advanced open where it failed. */
  function retryWith(upload, { focus = true } = {}) {
    const settings = retrySettings(upload);
    if (settings.dataset) datasetInput.value = settings.dataset;
    const radioInput = form.querySelector(`input[name=mode][value="${CSS.escape(settings.mode)}"]`);
    if (radioInput) radioInput.checked = true;
    known = new Map(settings.columns.map((c) => [c.column, c]));
    options.prefill(settings);
    announce("The form holds the settings of the failed upload. Adjust them and upload again.");
    if (focus) options.open(settings.focus);
    else options.element.open = true;
    return settings;
  }

  const from = query?.get("from");
  if (from) {
    replace(notice, loadingState("Loading the settings of that upload…"));
    api(`/api/uploads/${encodeURIComponent(from)}`).then((upload) => {
      if (stopped) return;
      // Keep focus on the heading: the file has to be chosen again first.
      retryWith(upload, { focus: false });
      replace(notice, h("p", { class: "alert alert-info", dataset: { retryOf: upload.id } },
        `The settings of “${upload.filename}” are filled in. Choose the file again, adjust `
        + "them under Advanced and upload."));
      // Its report stays in view while the settings are adjusted.
      replace(ingest, h("h2", { text: "Previous attempt" }), statusLine(upload), uploadFacts(upload),
        FINAL.has(upload.status) && renderReport(upload));
      ingest.classList.remove("hidden");
      guide.classList.add("hidden");
    }).catch((err) => {
      if (!stopped) replace(notice, errorBox(err));
    });
  }

  main.append(h("section", { class: "page" },
    h("h1", { text: "Upload sales data" }),
    h("p", { class: "lead", text: "A CSV with one row per sale or order line: a date and an "
      + "amount (or quantity and unit price), plus any of product, category, region, customer, "
      + "channel and order id. Column names are recognised automatically." }),
    h("div", { class: "grid-2" }, form, h("div", {}, guide, progress, ingest))));

  return () => {
    stopped = true;
    controller.abort();
  };
}

/** What a file should look like, beside the form until an upload starts. */
function fileGuide() {
  return h("section", { class: "card guide", "aria-labelledby": "guide-h", dataset: { guide: "" } },
    h("h2", { id: "guide-h", text: "What a good file looks like" }),
    h("ul", {},
      h("li", { text: "A header row with the column names, then one row per sale or order line." }),
      h("li", { text: "A date column: 2024-03-31, 31/03/2024, 03/31/2024 or 31 Mar 2024 all work." }),
      h("li", { text: "An amount column, or a quantity and a unit price." }),
      h("li", { text: "Commas, semicolons or tabs between columns." })),
    h("p", { class: "small muted", text: "For example:" }),
    h("pre", { class: "sample" }, h("code", { text: "Order Date,Product,Region,Sales\n"
      + "2024-03-31,Desk lamp,West,49.90\n2024-03-31,Notebook,East,6.50" })),
    h("p", { class: "small muted", text: "Rows that cannot be read are set aside and listed in the "
      + "report, with a download to fix them. If a column is missed or read the wrong way, "
      + "set it under Advanced." }));
}

function radio(name, value, label, checked) {
  const id = `${name}-${value}`;
  return h("div", { class: "radio" },
    h("input", { type: "radio", id, name, value, checked }),
    h("label", { for: id, text: label }));
}

function sleep(ms) {
  return new Promise((r) => setTimeout(r, ms));
}
