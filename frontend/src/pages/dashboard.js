import { api, fetchBlob } from "../api.js";
import { FORECAST_BY, FORECAST_TOP, MEASURES, anomaliesCard, breakdownCards, concentrationNote,
  dimensionForecastCard, insightsCard, kpiCards, seriesCard } from "../dashboard-view.js";
import { announce, emptyState, errorBox, h, loadingState, replace, saveBlob } from "../dom.js";
import { dateTime, day, titleCase } from "../format.js";
import { setQuery } from "../router.js";
import * as session from "../session.js";

const DIMENSIONS = ["product", "category", "region", "customer", "channel"];
const HORIZON = { day: 28, week: 12, month: 6 };

export function render(main, { query }) {
  const state = {
    dataset: query.get("dataset") ?? "",
    start: query.get("start") ?? "",
    end: query.get("end") ?? "",
    grain: query.get("grain") ?? "",
    measure: MEASURES.some(([m]) => m === query.get("measure")) ? query.get("measure") : "revenue",
    filters: DIMENSIONS.flatMap((d) => query.getAll(d).map((v) => [d, v])),
    forecastBy: FORECAST_BY.some(([d]) => d && d === query.get("forecast_by")) ? query.get("forecast_by") : "",
  };
  let charts = [];
  let view = null;
  let datasets = [];
  let seq = 0;
  let stopped = false;

  const datasetSelect = h("select", { id: "f-dataset", name: "dataset" });
  const startInput = h("input", { id: "f-start", name: "start", type: "date" });
  const endInput = h("input", { id: "f-end", name: "end", type: "date" });
  const grainSelect = h("select", { id: "f-grain", name: "grain" },
    h("option", { value: "", text: "Automatic" }),
    // Weeks, quarters and years follow the organisation's calendar (admin settings).
    ["day", "week", "month", "quarter", "year"].map((g) => h("option", { value: g, text: titleCase(g) })));
  const measureSelect = h("select", { id: "f-measure", name: "measure" },
    MEASURES.map(([m, label]) => h("option", { value: m, text: label })));
  const dimSelect = h("select", { id: "f-dim", name: "filter_dimension" },
    DIMENSIONS.map((d) => h("option", { value: d, text: titleCase(d) })));
  const valueSelect = h("select", { id: "f-value", name: "filter_value" });
  const addFilter = h("button", { type: "button", class: "btn", dataset: { action: "add-filter" }, text: "Add filter" });
  const chips = h("ul", { class: "chips", "aria-label": "Active filters" });
  const exportSeries = h("button", { type: "button", class: "btn", dataset: { action: "export-series" }, text: "Export series (CSV)" });
  const exportBreakdowns = h("button", { type: "button", class: "btn", dataset: { action: "export-breakdowns" }, text: "Export breakdowns (CSV)" });
  const resetButton = h("button", { type: "button", class: "btn btn-ghost", text: "Reset filters" });
  const forecastBySelect = h("select", { id: "f-forecast-by", name: "forecast_by" },
    FORECAST_BY.map(([d, label]) => h("option", { value: d, text: label })));
  // The forecasts last drawn, kept so a redraw (a "by" choice) does not refetch the total.
  let shown = { forecast: null, note: null, byDim: null, byNote: null };

  const controls = h("form", { class: "filters card", "aria-label": "Dashboard filters", dataset: { filters: "" } },
    ctl("Dataset", datasetSelect), ctl("From", startInput), ctl("To", endInput),
    ctl("Grain", grainSelect), ctl("Chart measure", measureSelect),
    h("fieldset", { class: "filter-add" }, h("legend", { text: "Filter by dimension" }),
      ctl("Dimension", dimSelect), ctl("Value", valueSelect), addFilter),
    chips,
    h("div", { class: "filter-actions" }, resetButton, exportSeries, exportBreakdowns));
  const meta = h("p", { class: "muted small", dataset: { meta: "" } });
  // Outside the body, which every redraw replaces: the doubt stays in view.
  const quality = h("div", { dataset: { qualityNote: "" } });
  const body = h("div", { class: "dashboard-body", "aria-live": "polite", "aria-busy": "true" }, loadingState("Loading your dashboard…"));
  // On a phone the filters fold away behind one line so the numbers come first.
  const summary = h("summary", { class: "filters-summary", text: "Filters" });
  const panel = h("details", { class: "filters-panel" }, summary, controls);
  panel.open = window.matchMedia("(min-width: 700px)").matches;
  main.append(h("section", { class: "page wide" },
    h("div", { class: "page-head" }, h("h1", { text: "Dashboard" }), meta), quality, panel, body));

  controls.addEventListener("submit", (e) => e.preventDefault());
  datasetSelect.addEventListener("change", () => {
    Object.assign(state, { dataset: datasetSelect.value, start: "", end: "", filters: [] });
    load();
  });
  for (const [input, key] of [[startInput, "start"], [endInput, "end"]]) {
    input.addEventListener("change", () => {
      state[key] = input.value;
      load();
    });
  }
  grainSelect.addEventListener("change", () => { state.grain = grainSelect.value; load(); });
  measureSelect.addEventListener("change", () => { state.measure = measureSelect.value; load(); });
  forecastBySelect.addEventListener("change", () => {
    state.forecastBy = forecastBySelect.value;
    setQuery(urlState());
    loadByDimension(seq);
  });
  dimSelect.addEventListener("change", fillValues);
  addFilter.addEventListener("click", () => {
    const pair = [dimSelect.value, valueSelect.value];
    if (!pair[1] || state.filters.some(([d, v]) => d === pair[0] && v === pair[1])) return;
    state.filters.push(pair);
    load();
  });
  resetButton.addEventListener("click", () => {
    Object.assign(state, { start: "", end: "", grain: "", filters: [] });
    load();
  });
  exportSeries.addEventListener("click", () => download("series", exportSeries));
  exportBreakdowns.addEventListener("click", () => download("breakdowns", exportBreakdowns));

  function urlState() {
    return { ...params(), measure: state.measure === "revenue" ? "" : state.measure, forecast_by: state.forecastBy };
  }

  function forecastQuery() {
    return { ...params(), start: undefined, end: undefined, measure: state.measure, grain: view.grain,
      horizon: HORIZON[view.grain] ?? 6 };
  }

  /** The per-value forecasts of the chosen dimension (none: the card only offers the choice). */
  async function loadByDimension(mine) {
    forecastBySelect.value = state.forecastBy;
    if (!view || !shown.forecast) return;
    if (!state.forecastBy) {
      shown = { ...shown, byDim: null, byNote: null };
      draw();
      return;
    }
    shown = { ...shown, byDim: null, byNote: `Loading the forecasts by ${state.forecastBy}…` };
    draw();
    try {
      const byDim = await api("/api/predictions", { query: { ...forecastQuery(), dimension: state.forecastBy,
        top: FORECAST_TOP } });
      if (mine !== seq || stopped || byDim.dimension !== state.forecastBy) return;
      shown = { ...shown, byDim, byNote: null };
    } catch (err) {
      if (mine !== seq || stopped) return;
      shown = { ...shown, byDim: null, byNote: `The forecasts by ${state.forecastBy} are not available: ${err.message}` };
    }
    draw();
  }

  function params() {
    const p = { dataset: state.dataset, start: state.start, end: state.end, grain: state.grain };
    for (const [d, v] of state.filters) p[d] = [...(p[d] ?? []), v];
    return p;
  }

  function fillValues() {
    const dim = dimSelect.value;
    const items = view?.breakdowns?.[dim] ?? [];
    const values = items.map((i) => i.value).filter((v) => v !== null && v !== undefined);
    replace(valueSelect, values.length ? values.map((v) => h("option", { value: v, text: v }))
      : h("option", { value: "", text: `No ${dim} values` }));
    valueSelect.disabled = !values.length;
    addFilter.disabled = !values.length;
  }

  function drawChips() {
    const n = state.filters.length;
    summary.textContent = n ? `Filters · ${n} active` : "Filters";
    replace(chips, state.filters.map(([d, v]) => h("li", { class: "chip", dataset: { filter: `${d}=${v}` } },
      h("span", { text: `${titleCase(d)}: ${v}` }),
      h("button", { type: "button", class: "chip-remove", "aria-label": `Remove filter ${d}: ${v}`, text: "×",
        onclick: () => {
          state.filters = state.filters.filter(([fd, fv]) => !(fd === d && fv === v));
          load();
        } }))));
  }

  async function download(part, button) {
    button.disabled = true;
    try {
      const { blob, filename } = await fetchBlob("/api/metrics/export", { ...params(), format: "csv", part });
      saveBlob(blob, filename ?? `${state.dataset}-${part}.csv`);
      announce(`Exported ${part}`);
    } catch (err) {
      body.prepend(errorBox(err));
    } finally {
      button.disabled = false;
    }
  }

  function destroyCharts() {
    for (const c of charts) c?.destroy();
    charts = [];
  }

  async function init() {
    try {
      datasets = (await api("/api/metrics/datasets")).datasets ?? [];
    } catch (err) {
      replace(body, errorBox(err, { retry: init }));
      return;
    }
    if (stopped) return;
    if (!datasets.length) {
      panel.classList.add("hidden");
      body.setAttribute("aria-busy", "false");
      const canUpload = session.hasRole("analyst");
      replace(body, emptyState("No data yet",
        canUpload ? "Upload a CSV of your sales and your KPIs, forecast and insights appear here."
          : "Nothing has been uploaded to your organisation yet. Ask an analyst or admin to upload data.",
        canUpload && h("a", { class: "btn btn-primary", href: "/upload", dataset: { action: "first-upload" }, text: "Upload a CSV" })));
      return;
    }
    replace(datasetSelect, datasets.map((d) => h("option", { value: d.id, text: d.name ?? d.id })));
    if (!datasets.some((d) => d.id === state.dataset)) {
      state.dataset = (datasets.find((d) => d.row_count > 0) ?? datasets[0]).id;
    }
    load();
  }

  async function load() {
    const mine = ++seq;
    setQuery(urlState());
    datasetSelect.value = state.dataset;
    replace(quality, qualityNote(datasets.find((d) => d.id === state.dataset)));
    grainSelect.value = state.grain;
    measureSelect.value = state.measure;
    forecastBySelect.value = state.forecastBy;
    drawChips();
    body.setAttribute("aria-busy", "true");
    body.classList.add("is-loading");
    if (!view) replace(body, loadingState("Loading your dashboard…"));
    let next;
    try {
      next = await api("/api/metrics", { query: params() });
    } catch (err) {
      if (mine !== seq || stopped) return;
      destroyCharts();
      body.classList.remove("is-loading");
      body.setAttribute("aria-busy", "false");
      view = null;
      replace(body, errorBox(err, { retry: load }));
      return;
    }
    if (mine !== seq || stopped) return;
    view = next;
    startInput.value = state.start || view.range?.start || "";
    endInput.value = state.end || view.range?.end || "";
    const dr = view.data_range;
    for (const input of [startInput, endInput]) {
      input.min = dr?.start ?? "";
      input.max = dr?.end ?? "";
    }
    meta.textContent = [dr?.start && `Data from ${day(dr.start)} to ${day(dr.end)}`,
      view.computed_at && `updated ${dateTime(view.computed_at)}`].filter(Boolean).join(" · ");
    fillValues();
    const forecastWanted = view.range && dr?.end && view.range.end >= dr.end && view.grain in HORIZON;
    shown = { forecast: null, byDim: null, byNote: null,
      note: forecastWanted ? "Loading the forecast…" : view.grain in HORIZON
        ? "The forecast is shown when the range reaches the latest data."
        : "Forecasts are made by day, week or month." };
    draw();
    body.classList.remove("is-loading");
    body.setAttribute("aria-busy", "false");
    announce("Dashboard updated");
    if (!forecastWanted) return;
    try {
      const forecast = await api("/api/predictions", { query: forecastQuery() });
      if (mine !== seq || stopped) return;
      shown = { ...shown, forecast, note: null };
    } catch (err) {
      if (mine !== seq || stopped) return;
      shown = { ...shown, note: `The forecast is not available: ${err.message}` };
    }
    draw();
    await loadByDimension(mine);
  }

  function draw() {
    const { forecast, note: forecastNote, byDim, byNote } = shown;
    destroyCharts();
    if (!view.range || !view.series?.length) {
      replace(body, emptyState("No data in this range",
        "Try a wider date range or remove a filter.",
        h("button", { type: "button", class: "btn", text: "Reset filters", onclick: () => resetButton.click() })));
      return;
    }
    const series = seriesCard({ view, measure: state.measure, forecast, forecastNote });
    // The "by <dimension>" choice appears once the total forecast is there.
    const byCard = forecast ? dimensionForecastCard({ chooser: forecastBySelect, breakdown: byDim, note: byNote,
      measure: state.measure, grain: view.grain }) : null;
    const bds = breakdownCards(view.breakdowns);
    replace(body,
      kpiCards(view.kpis, view.comparison),
      h("div", { class: "grid" }, series.node, byCard?.node,
        h("div", { class: "grid-2 span-all" }, insightsCard(view.insights), anomaliesCard(view.anomalies)),
        bds.map((b) => b.node),
        concentrationNote(view.breakdowns)));
    charts = [series.draw(), ...(byCard ? byCard.draw() : []), ...bds.map((b) => b.draw())];
  }

  init();
  return () => {
    stopped = true;
    destroyCharts();
  };
}

function ctl(label, control) {
  return h("div", { class: "ctl" }, h("label", { for: control.id, text: label }), control);
}


/**
 * A dataset whose loads carried warnings (returns, outliers, a role not found...) says so
 * above its figures, with the first warnings and a link to the uploads that raised them.
 */
function qualityNote(dataset) {
  const q = dataset?.data_quality;
  if (!q?.warning_count) return null;
  const n = q.warning_count;
  const link = q.upload_ids?.length === 1 ? `/uploads/${encodeURIComponent(q.upload_ids[0])}` : "/uploads";
  return h("div", { class: "alert alert-warn", role: "note", dataset: { dataQuality: String(n) } },
    h("p", {}, h("strong", { text: "Data quality: " }),
      `${n} warning${n === 1 ? "" : "s"} from the loads behind these figures. `,
      h("a", { href: link, text: "See the validation report" })),
    h("ul", { class: "small" }, (q.warnings ?? []).map((w) => h("li", { text: w }))));
}
