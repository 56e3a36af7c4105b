// The parts of the dashboard, each drawn from one API response.

import { breakdownChart, timeSeriesChart } from "./charts.js";
import { emptyState, h } from "./dom.js";
import { accuracyInWords, change, day, number, percent, titleCase } from "./format.js";

export const KPIS = [
  ["revenue", "Revenue", 0],
  ["orders", "Orders", 0],
  ["units", "Units", 0],
  ["aov", "Average order value", 2],
  ["customers", "Customers", 0],
  ["new_customers", "New customers", 0],
  ["returning_customers", "Returning customers", 0],
  ["revenue_per_customer", "Revenue per customer", 2],
];

export const MEASURES = [["revenue", "Revenue"], ["orders", "Orders"], ["units", "Units"],
  ["customers", "Customers"]];

export const BREAKDOWNS = [["product", "Top products"], ["category", "Categories"],
  ["region", "Regions"], ["channel", "Channels"]];

// The forecast panel's "by <dimension>" choice ("" = the total only).
export const FORECAST_BY = [["", "Total only"], ["category", "By category"], ["region", "By region"],
  ["product", "By product"], ["channel", "By channel"], ["customer", "By customer"]];
export const FORECAST_TOP = 5;
// Periods of history drawn next to each small forecast: enough to see its season.
const SMALL_HISTORY = { day: 56, week: 26, month: 18 };

function delta(pct, label) {
  const text = change(pct);
  const cls = text === null ? "flat" : pct > 0.05 ? "up" : pct < -0.05 ? "down" : "flat";
  const arrow = { up: "▲", down: "▼", flat: "" }[cls];
  return h("p", { class: `delta delta-${cls}` },
    h("span", { class: "delta-value", "aria-hidden": arrow ? undefined : "true" },
      arrow && h("span", { "aria-hidden": "true", text: `${arrow} ` }), text ?? "—"),
    h("span", { class: "delta-label", text: text === null ? ` ${label}: no data to compare` : ` ${label}` }));
}

export function kpiCards(kpis, comparison) {
  const prevTitle = comparison?.previous ? `${day(comparison.previous.start)} – ${day(comparison.previous.end)}` : "";
  const yaTitle = comparison?.year_ago ? `${day(comparison.year_ago.start)} – ${day(comparison.year_ago.end)}` : "";
  return h("ul", { class: "kpis", "aria-label": "Key figures" }, KPIS.map(([key, title, digits]) => {
    const k = kpis?.[key] ?? {};
    const card = h("li", { class: "kpi card", dataset: { kpi: key, value: k.value ?? "" } },
      h("h3", { class: "kpi-title", text: title }),
      h("p", { class: "kpi-value", dataset: { kpiValue: key }, text: number(k.value, digits) }),
      delta(k.change_pct, "vs previous period"),
      delta(k.yoy_pct, "vs a year ago"));
    card.title = [prevTitle && `Previous period: ${prevTitle}`, yaTitle && `A year ago: ${yaTitle}`]
      .filter(Boolean).join("\n");
    return card;
  }));
}

/** The time-series card; returns {node, chart}. */
export function seriesCard({ view, measure, forecast, forecastNote }) {
  const canvas = h("canvas", { role: "img", "aria-label": `${titleCase(measure)} over time` });
  const figure = h("figure", { class: "chart chart-series", dataset: { chart: "series",
    forecastPoints: forecast?.forecast?.length ?? 0, anomalies: view.anomalies?.length ?? 0 } },
  h("div", { class: "chart-box" }, canvas));
  const node = h("section", { class: "card span-all", "aria-labelledby": "series-h" },
    h("div", { class: "card-head" },
      h("h2", { id: "series-h", text: `${titleCase(measure)} by ${view.grain}` }),
      h("p", { class: "muted small", text: "Solid: actual · dashed: forecast · shaded: the ranges the "
        + "forecast expects the real value to fall in (darker 80%, lighter 95%) · ▲ unusual days" })),
    figure);
  if (forecastNote) node.append(h("p", { class: "muted small", dataset: { forecastNote: "" }, text: forecastNote }));
  if (forecast?.accuracy) node.append(accuracyBlock(forecast, measure, view.grain));
  node.append(seriesTable(view.series, measure, forecast));
  return { node, draw: () => timeSeriesChart(canvas, { series: view.series, measure, grain: view.grain,
    forecast: forecast?.forecast, anomalies: view.anomalies }) };
}

function accuracyBlock(forecast, measure, grain) {
  const lines = accuracyInWords(forecast.accuracy, { measure, grain });
  const parts = (forecast.model?.components ?? []).filter((c) => c.weight > 0);
  const model = parts.length > 1
    ? `a blend of ${parts.map((c) => `${titleCase(c.name)} (${number(c.weight * 100, 0)}%)`).join(", ")}`
    : forecast.model?.name ? titleCase(forecast.model.name) : null;
  return h("div", { class: "accuracy", dataset: { accuracy: "" } },
    h("h3", { text: "How far to trust the forecast" }),
    h("ul", {}, lines.map((l) => h("li", { text: l }))),
    model && h("p", { class: "muted small", text: `Method: ${model}.` }));
}

function seriesTable(series, measure, forecast) {
  const fc = forecast?.forecast ?? [];
  return h("details", { class: "data-table" },
    h("summary", { text: "Show the figures as a table" }),
    h("div", { class: "table-scroll" }, h("table", { class: "table", dataset: { table: "series" } },
      h("thead", {}, h("tr", {}, ["Period", titleCase(measure), "Forecast", "80% range", "95% range"]
        .map((c) => h("th", { scope: "col", text: c })))),
      h("tbody", {},
        series.map((p) => h("tr", {}, h("td", { text: p.label ?? day(p.period) }),
          h("td", { class: "num", text: number(p[measure], 2) }), h("td"), h("td"), h("td"))),
        fc.map((p) => h("tr", { class: "forecast-row", dataset: { forecastPeriod: p.period } },
          h("td", { text: p.label ?? day(p.period) }), h("td"),
          h("td", { class: "num", text: number(p.value, 2) }),
          h("td", { class: "num", text: `${number(p.lo80)} – ${number(p.hi80)}` }),
          h("td", { class: "num", text: `${number(p.lo95)} – ${number(p.hi95)}` })))))));
}

/**
 * One forecast per top value of a dimension, as small multiples: each with its own
 * intervals and its own backtest accuracy. `chooser` is the "by <dimension>" select.
 * Returns {node, draw} where draw() returns the charts to destroy.
 */
export function dimensionForecastCard({ chooser, breakdown, note, measure, grain }) {
  const node = h("section", { class: "card span-all", "aria-labelledby": "fcby-h",
    dataset: { forecastBy: breakdown?.dimension ?? "" } },
  h("div", { class: "card-head" }, h("h2", { id: "fcby-h", text: "Forecast by dimension" }),
    h("div", { class: "ctl" }, h("label", { for: chooser.id, text: "Show" }), chooser)));
  if (note) node.append(h("p", { class: "muted small", dataset: { forecastByNote: "" }, text: note }));
  const items = breakdown?.series ?? [];
  if (breakdown && !items.length) {
    node.append(h("p", { class: "muted", text: `No ${breakdown.dimension} values to forecast in this selection.` }));
  }
  const keep = SMALL_HISTORY[grain] ?? 26;
  const drawers = [];
  const grid = h("div", { class: "forecast-multiples" }, items.map((s) => {
    const canvas = h("canvas", { role: "img", "aria-label": `${titleCase(measure)} forecast for ${s.value}` });
    const series = s.history.slice(-keep).map((p) => ({ period: p.period, [measure]: p.value }));
    drawers.push(() => timeSeriesChart(canvas, { series, measure, grain, forecast: s.forecast, anomalies: [] }));
    const last = s.forecast[s.forecast.length - 1];
    return h("figure", { class: "chart forecast-small", dataset: { forecastValue: s.value,
      forecastPoints: s.forecast.length, mase: s.accuracy?.mase ?? "" } },
    h("figcaption", {}, h("strong", { text: s.value ?? "(blank)" }),
      h("span", { class: "muted small", text: ` · revenue ${number(s.revenue)}` })),
    h("div", { class: "chart-box" }, canvas),
    h("p", { class: "small", dataset: { seriesAccuracy: "" }, text: accuracyFigure(s.accuracy) }),
    last && h("p", { class: "muted small", text: `Last forecast period ${day(last.period)}: ${number(last.value)} `
      + `(80% range ${number(last.lo80)} – ${number(last.hi80)})` }));
  }));
  node.append(grid);
  return { node, draw: () => drawers.map((d) => d()) };
}

/** One line on a series' backtest: its typical error and how it compares to repeating last season. */
export function accuracyFigure(acc) {
  if (!acc || !acc.backtest_origins) return "Too little history to test this forecast.";
  const parts = [];
  if (acc.smape !== null && acc.smape !== undefined) parts.push(`typically off by ${number(acc.smape, 0)}%`);
  if (acc.mase !== null && acc.mase !== undefined) {
    parts.push(`MASE ${number(acc.mase, 2)}${acc.baseline?.mase ? ` (last season repeated: ${number(acc.baseline.mase, 2)})` : ""}`);
  }
  return parts.length ? `Tested on past data: ${parts.join(", ")}.` : "Tested on past data.";
}

/** One card per breakdown dimension; returns [{node, draw}]. */
export function breakdownCards(breakdowns) {
  return BREAKDOWNS.map(([dim, title]) => {
    const items = breakdowns?.[dim] ?? [];
    const node = h("section", { class: "card", "aria-labelledby": `bd-${dim}`, dataset: { breakdown: dim } },
      h("h2", { id: `bd-${dim}`, text: title }));
    if (!items.length) {
      node.append(h("p", { class: "muted", text: `No ${dim} column in this data.` }));
      return { node, draw: () => null };
    }
    const canvas = h("canvas", { role: "img", "aria-label": `${title} by revenue` });
    const height = Math.max(120, Math.min(items.length, 10) * 28 + 30);
    const box = h("div", { class: "chart-box" }, canvas);
    box.style.height = `${height}px`;
    node.append(h("figure", { class: "chart", dataset: { chart: dim } }, box),
      h("details", { class: "data-table" }, h("summary", { text: "Show as a table" }),
        h("div", { class: "table-scroll" }, h("table", { class: "table" },
          h("thead", {}, h("tr", {}, ["#", titleCase(dim), "Revenue", "Share", "Growth", "Rank change"]
            .map((c) => h("th", { scope: "col", text: c })))),
          h("tbody", {}, items.map((r) => h("tr", {},
            h("td", { class: "num", text: r.rank ?? "" }), h("td", { text: r.value ?? "(blank)" }),
            h("td", { class: "num", text: number(r.revenue) }),
            h("td", { class: "num", text: r.share === null || r.share === undefined ? "—" : percent(r.share * 100) }),
            h("td", { class: "num", text: change(r.growth_pct) ?? "—" }),
            h("td", { class: "num", text: rankChange(r) }))))))));
    return { node, draw: () => breakdownChart(canvas, items) };
  });
}

function rankChange(r) {
  if (r.previous_rank === null || r.previous_rank === undefined) return "new";
  const d = r.previous_rank - r.rank;
  return d === 0 ? "same" : d > 0 ? `up ${d}` : `down ${-d}`;
}

export function concentrationNote(breakdowns) {
  const c = breakdowns?.concentration;
  if (!c || c.top10pct_share === null || c.top10pct_share === undefined) return null;
  const who = c.dimension ?? "customer";
  return h("section", { class: "card span-all", "aria-labelledby": "concentration-h", dataset: { concentration: "" } },
    h("h2", { id: "concentration-h", text: `${who.charAt(0).toUpperCase()}${who.slice(1)} concentration` }),
    h("p", { class: "muted", text: `The top 10% of ${who}s bring in ${percent(c.top10pct_share * 100, 0)} of revenue.` }));
}

export function insightsCard(insights) {
  const node = h("section", { class: "card", "aria-labelledby": "insights-h" },
    h("h2", { id: "insights-h", text: "What stands out" }));
  if (!insights?.length) {
    node.append(emptyState("Nothing unusual", "No notable changes in this period."));
    return node;
  }
  node.append(h("ol", { class: "insights", dataset: { insights: "" } },
    insights.map((i) => h("li", { class: `insight insight-${i.kind ?? "info"}`, text: i.text }))));
  return node;
}

export function anomaliesCard(anomalies) {
  const node = h("section", { class: "card", "aria-labelledby": "anomalies-h" },
    h("h2", { id: "anomalies-h", text: "Unusual days" }));
  if (!anomalies?.length) {
    node.append(h("p", { class: "muted", text: "No unusual days in this period." }));
    return node;
  }
  node.append(h("div", { class: "table-scroll" }, h("table", { class: "table", dataset: { table: "anomalies" } },
    h("thead", {}, h("tr", {}, ["Date", "Actual", "Expected", "Severity"].map((c) => h("th", { scope: "col", text: c })))),
    h("tbody", {}, anomalies.slice(0, 20).map((a) => h("tr", {},
      h("td", { text: day(a.date) }), h("td", { class: "num", text: number(a.actual) }),
      h("td", { class: "num", text: number(a.expected) }),
      h("td", {}, h("span", { class: `badge badge-sev-${a.severity}`, text: titleCase(a.severity) }))))))));
  return node;
}
