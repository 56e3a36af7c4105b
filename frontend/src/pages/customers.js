// Customers: who comes back (retention heatmap by first-purchase cohort), the RFM
// segments with their change since last month, and the at-risk list to act on, all
// read from the analysis stored for the dataset's current version.

import { api, fetchBlob } from "../api.js";
import { announce, emptyState, errorBox, h, loadingState, replace, saveBlob } from "../dom.js";
import { day, number, titleCase } from "../format.js";
import { setQuery } from "../router.js";

const MAX_PERIODS = 12;

export function render(main, { query }) {
  const state = { dataset: query.get("dataset") ?? "", grain: query.get("grain") === "week" ? "week" : "month" };
  let stopped = false;
  let seq = 0;
  let atRiskToken = null;
  const datasetSelect = h("select", { id: "c-dataset", name: "dataset" });
  const grainSelect = h("select", { id: "c-grain", name: "grain" },
    ["month", "week"].map((g) => h("option", { value: g, text: `By ${g}` })));
  const exportButton = h("button", { type: "button", class: "btn", dataset: { action: "export-at-risk" },
    text: "Export at-risk list (CSV)" });
  const meta = h("p", { class: "muted small", dataset: { meta: "" } });
  const body = h("div", { "aria-live": "polite" }, loadingState("Loading customers…"));
  main.append(h("section", { class: "page wide" },
    h("div", { class: "page-head" }, h("h1", { text: "Customers" }), meta),
    h("form", { class: "filters card", "aria-label": "Customer filters" },
      label("Dataset", datasetSelect), label("Cohorts", grainSelect),
      h("div", { class: "filter-actions" }, exportButton)),
    body));

  datasetSelect.addEventListener("change", () => { state.dataset = datasetSelect.value; load(); });
  grainSelect.addEventListener("change", () => { state.grain = grainSelect.value; load(); });
  exportButton.addEventListener("click", async () => {
    try {
      const { blob, filename } = await fetchBlob("/api/metrics/customers/export", { dataset: state.dataset, part: "at_risk" });
      saveBlob(blob, filename ?? "at-risk.csv");
      announce("At-risk list exported");
    } catch (err) {
      body.prepend(errorBox(err));
    }
  });

  async function start() {
    try {
      const datasets = (await api("/api/metrics/datasets")).datasets ?? [];
      if (stopped) return;
      if (!datasets.length) {
        replace(body, emptyState("No data yet", "Upload sales with a customer column to see your customers."));
        return;
      }
      replace(datasetSelect, datasets.map((d) => h("option", { value: d.id, text: d.name ?? d.id })));
      if (!datasets.some((d) => d.id === state.dataset)) {
        state.dataset = (datasets.find((d) => d.row_count > 0) ?? datasets[0]).id;
      }
      datasetSelect.value = state.dataset;
      grainSelect.value = state.grain;
      await load();
    } catch (err) {
      if (!stopped) replace(body, errorBox(err, { retry: start }));
    }
  }

  async function load() {
    const mine = ++seq;
    setQuery({ dataset: state.dataset, grain: state.grain });
    replace(body, loadingState("Loading customers…"));
    const q = (part, extra = {}) => api("/api/metrics/customers", { query: { dataset: state.dataset, part, ...extra } });
    try {
      const [summary, cohorts, segments, atRisk] = await Promise.all([
        q("summary"), q("cohorts", { grain: state.grain }), q("segments"), q("at_risk", { limit: 25 })]);
      if (stopped || mine !== seq) return;
      atRiskToken = atRisk.next_page_token;
      meta.textContent = `As of ${day(summary.as_of)} · version ${summary.version}`;
      replace(body, notes(summary), kpis(summary, cohorts.kpis), heatmap(cohorts),
        segmentTable(segments), atRiskCard(atRisk));
    } catch (err) {
      if (stopped || mine !== seq) return;
      replace(body, err.code === "customers_not_ready"
        ? emptyState("Customers are being analysed", "The analysis runs after each load; try again in a minute.")
        : errorBox(err, { retry: load }));
    }
  }

  function notes(summary) {
    const out = h("div", { dataset: { customerNotes: "" } });
    if (summary.insight) out.append(h("p", { class: "card", dataset: { insight: "at-risk" }, text: summary.insight }));
    const lines = summary.lines ?? {};
    if (lines.lines_without_customer) {
      out.append(h("p", { class: "muted small", dataset: { excluded: lines.lines_without_customer },
        text: `${number(lines.lines_without_customer)} of ${number(lines.lines)} lines have no customer id and are left out.` }));
    }
    if (summary.model_unavailable) out.append(h("p", { class: "muted small", text: `No predictions: ${summary.model_unavailable}.` }));
    return out;
  }

  function kpis(summary, k) {
    const items = [
      ["customers", "Customers", number(k.customers)],
      ["repeat_purchase_rate", "Repeat-purchase rate", none(k.repeat_purchase_rate) ? "—" : `${number(k.repeat_purchase_rate * 100, 1)}%`],
      ["median_days_between_purchases", "Median days between purchases", none(k.median_days_between_purchases) ? "—" : number(k.median_days_between_purchases)],
      ["at_risk", "At risk", none(summary.at_risk_share) ? "—" : `${number(summary.at_risk_count)} (${number(summary.at_risk_share * 100, 1)}%)`],
    ];
    return h("ul", { class: "kpis", "aria-label": "Customer figures" }, items.map(([key, title, text]) =>
      h("li", { class: "kpi card", dataset: { kpi: key } }, h("h3", { class: "kpi-title", text: title }),
        h("p", { class: "kpi-value", text }))));
  }

  function heatmap(c) {
    const rows = c.cohorts ?? [];
    if (!rows.length) return h("div", { class: "card" }, h("p", { text: "No cohorts yet." }));
    const width = Math.min(MAX_PERIODS, Math.max(...rows.map((r) => r.retention.length)));
    const head = h("tr", {}, h("th", { scope: "col", text: `First ${c.grain}` }), h("th", { scope: "col", class: "num", text: "Customers" }),
      Array.from({ length: width }, (_, i) => h("th", { scope: "col", class: "num", text: `${c.grain === "week" ? "W" : "M"}${i}` })));
    const lines = rows.map((r) => h("tr", { dataset: { cohort: r.cohort } },
      h("th", { scope: "row", text: r.cohort }), h("td", { class: "num", text: number(r.customers) }),
      Array.from({ length: width }, (_, i) => {
        const share = r.retention[i];
        if (share === undefined) return h("td", {});
        const td = h("td", { class: "num heat", text: `${number(share * 100, 0)}%`,
          title: `${number(share * 100, 1)}% bought; ${number(r.revenue_per_customer[i], 2)} per customer` });
        td.style.background = `rgba(37, 99, 235, ${Math.min(1, share) * 0.85 + 0.05})`;
        td.style.color = share > 0.5 ? "#fff" : "";
        return td;
      })));
    return h("div", { class: "card table-scroll", dataset: { heatmap: "" } }, h("h2", { text: "Retention by cohort" }),
      h("table", { class: "table" }, h("caption", { class: "visually-hidden", text: "Share of each cohort buying in each period" }),
        h("thead", {}, head), h("tbody", {}, lines)));
  }

  function segmentTable(s) {
    const rows = (s.segments ?? []).filter((r) => r.customers || r.previous_customers).map((r) =>
      h("tr", { dataset: { segment: r.segment } }, h("th", { scope: "row", text: titleCase(r.segment.replaceAll("_", " ")) }),
        h("td", { class: "num", text: number(r.customers) }), h("td", { class: "num", text: number(r.revenue, 0) }),
        h("td", { class: "num", text: none(r.predicted_value_12m) ? "—" : number(r.predicted_value_12m, 0) }),
        h("td", { class: "num", text: r.change > 0 ? `+${number(r.change)}` : number(r.change) })));
    return h("div", { class: "card table-scroll", dataset: { segments: "" } }, h("h2", { text: "Segments" }),
      h("table", { class: "table" }, h("thead", {}, h("tr", {}, ["Segment", "Customers", "Revenue", "Predicted 12 months", `Change since ${day(s.previous_as_of)}`]
        .map((t, i) => h("th", { scope: "col", class: i ? "num" : undefined, text: t })))), h("tbody", {}, rows)));
  }

  function atRiskCard(first) {
    const tbody = h("tbody", {});
    const more = h("button", { type: "button", class: "btn hidden", text: "Load more" });
    const add = (page) => {
      tbody.append(...page.customers.map((c) => h("tr", { dataset: { customer: c.customer } },
        h("th", { scope: "row", text: c.customer }), h("td", { class: "num", text: number(c.monetary, 0) }),
        h("td", { class: "num", text: none(c.p_alive) ? "—" : `${number(c.p_alive * 100, 0)}%` }),
        h("td", { class: "num", text: none(c.value_12m) ? "—" : `${number(c.value_12m, 0)} (${number(c.value_12m_lo, 0)}–${number(c.value_12m_hi, 0)})` }),
        h("td", { text: titleCase(c.segment.replaceAll("_", " ")) }))));
      more.classList.toggle("hidden", !atRiskToken);
    };
    more.addEventListener("click", async () => {
      const page = await api("/api/metrics/customers", { query: { dataset: state.dataset, part: "at_risk", limit: 25, page_token: atRiskToken } });
      atRiskToken = page.next_page_token;
      add(page);
    });
    add(first);
    if (!first.customers.length) return h("div", { class: "card", dataset: { atRisk: "" } }, h("h2", { text: "At risk" }), h("p", { text: "No high-value customer is slipping away." }));
    return h("div", { class: "card table-scroll", dataset: { atRisk: "" } }, h("h2", { text: `At risk (${number(first.total)})` }),
      h("p", { class: "muted small", text: "High past value, chance of still being active below 50%. Predicted value over 12 months with an 80% interval." }),
      h("table", { class: "table" }, h("thead", {}, h("tr", {}, ["Customer", "Past revenue", "P(active)", "Predicted 12 months", "Segment"]
        .map((t, i) => h("th", { scope: "col", class: i && i < 4 ? "num" : undefined, text: t })))), tbody), more);
  }

  start();
  return () => { stopped = true; };
}

function none(value) {
  return value === null || value === undefined;
}

function label(text, control) {
  return h("label", { class: "field" }, h("span", { text }), control);
}
