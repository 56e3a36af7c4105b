import { api, putWithProgress } from "../api.js";
import { POLL_MAX_MS, POLL_MS } from "../config.js";
import { announce, errorBox, field, h, replace, showFieldErrors } from "../dom.js";
import { bytes, number } from "../format.js";
import { FINAL, renderReport, statusLine, uploadFacts } from "../report.js";

const ACCEPTED = new Set(["text/csv", "application/csv", "text/plain", "application/vnd.ms-excel"]);

export function render(main) {
  let file = null;
  let stopped = false;
  const controller = new AbortController();

  const fileInput = h("input", { type: "file", name: "file", accept: ".csv,.tsv,.txt,text/csv",
    class: "visually-hidden" });
  const fileName = h("p", { class: "drop-file", dataset: { selectedFile: "" }, text: "No file chosen" });
  const drop = h("div", { class: "dropzone", dataset: { dropzone: "" } },
    h("p", { class: "drop-title", text: "Drag a CSV file here" }),
    h("p", {}, "or ", h("label", { for: "upload-file", class: "btn", text: "Choose a file…" })),
    fileName);
  fileInput.id = "upload-file";
  drop.prepend(fileInput);

  function choose(f) {
    file = f ?? null;
    fileName.textContent = file ? `${file.name} · ${bytes(file.size)}` : "No file chosen";
    drop.classList.toggle("has-file", Boolean(file));
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
  const status = h("div", { class: "form-status" });
  const submit = h("button", { type: "submit", class: "btn btn-primary", text: "Upload" });
  const form = h("form", { class: "card form", novalidate: true, dataset: { form: "upload" } },
    field({ label: "Dataset", name: "dataset", control: datasetInput,
      hint: "A name for this data; a new name creates a new dataset." }),
    datalist, drop, h("p", { class: "field-error", dataset: { errorFor: "filename" } }),
    modes, status, submit);

  const progressBar = h("progress", { max: 100, value: 0, "aria-label": "Upload progress",
    dataset: { progress: "upload" } });
  const progressText = h("p", { class: "small", "aria-live": "polite", dataset: { progressText: "" } });
  const progress = h("section", { class: "card hidden", "aria-labelledby": "progress-h" },
    h("h2", { id: "progress-h", text: "Sending the file" }), progressBar, progressText);
  const ingest = h("section", { class: "card hidden", "aria-live": "polite", dataset: { ingest: "" } });

  api("/api/metrics/datasets").then((resp) => {
    const items = resp?.datasets ?? resp?.items ?? [];
    replace(datalist, items.map((d) => h("option", { value: d.name ?? d.id })));
  }).catch(() => {});

  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    replace(status);
    const dataset = datasetInput.value.trim();
    const problems = {};
    if (!file) problems.filename = ["Choose a CSV file to upload."];
    if (!dataset) problems.dataset = ["is required"];
    if (Object.keys(problems).length) {
      showFieldErrors(form, { details: { fields: problems } });
      if (problems.filename) form.querySelector("[data-error-for=filename]").textContent = problems.filename[0];
      return;
    }
    showFieldErrors(form, {});
    const mode = new FormData(form).get("mode");
    const contentType = ACCEPTED.has(file.type) ? file.type : "text/csv";
    submit.disabled = true;
    try {
      const created = await api("/api/uploads", { method: "POST", body: {
        filename: file.name, size_bytes: file.size, content_type: contentType, dataset, mode } });
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
      h("a", { class: "btn", href: "/uploads", text: "All uploads" })) : null;
    replace(ingest, h("h2", { text: "Processing" }), statusLine(upload),
      upload.status === "processing" && h("progress", { max: 100,
        value: Math.round((upload.progress ?? 0) * 100), "aria-label": "Processing progress" }),
      uploadFacts(upload),
      FINAL.has(upload.status) && renderReport(upload), next);
  }

  main.append(h("section", { class: "page" },
    h("h1", { text: "Upload sales data" }),
    h("p", { class: "lead", text: "A CSV with one row per sale or order line: a date and an "
      + "amount (or quantity and unit price), plus any of product, category, region, customer, "
      + "channel and order id. Column names are recognised automatically." }),
    h("div", { class: "grid-2" }, form, h("div", {}, progress, ingest))));

  return () => {
    stopped = true;
    controller.abort();
  };
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
