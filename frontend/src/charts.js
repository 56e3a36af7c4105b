// Charts (Chart.js, bundled; only the parts we draw are registered so the bundle
// stays small). Each chart is paired with a data table for screen readers.

import {
  BarController, BarElement, CategoryScale, Chart, Filler, Legend, LinearScale,
  LineController, LineElement, PointElement, Tooltip,
} from "chart.js";

import { compact, day, number } from "./format.js";

Chart.register(BarController, BarElement, CategoryScale, Filler, Legend, LinearScale,
  LineController, LineElement, PointElement, Tooltip);
Chart.defaults.font.family = getComputedStyle(document.documentElement)
  .getPropertyValue("--font").trim() || "system-ui, sans-serif";
Chart.defaults.color = "#3d4a5c";
Chart.defaults.maintainAspectRatio = false;
Chart.defaults.animation = false;

export const COLORS = {
  actual: "#0b4f6c",
  forecast: "#c05a00",
  band80: "rgba(192, 90, 0, 0.28)",
  band95: "rgba(192, 90, 0, 0.12)",
  anomaly: "#c0162f",
  bar: "#1d7a9c",
};

/**
 * The period of `periods` (sorted first days, on the tenant's calendar: Sunday or
 * Monday weeks, fiscal quarters, retail periods) holding the date `iso`.
 */
export function periodHolding(periods, iso) {
  const d = iso.slice(0, 10);
  let found;
  for (const p of periods) if (p <= d) found = p;
  return found;
}

function label(period, grain) {
  if (grain === "month") {
    return new Intl.DateTimeFormat(undefined, { month: "short", year: "numeric", timeZone: "UTC" })
      .format(new Date(`${period}T00:00:00Z`));
  }
  return day(period);
}

/**
 * The measure over time: actual values, the forecast with its 80% and 95% bands, and
 * anomalies marked. Returns the Chart (destroy it before drawing again).
 */
export function timeSeriesChart(canvas, { series, measure, grain, forecast, anomalies }) {
  const periods = series.map((p) => p.period.slice(0, 10));
  const fc = (forecast ?? []).map((p) => ({ ...p, period: String(p.period).slice(0, 10) }));
  const seen = new Set(periods);
  for (const p of fc) if (!seen.has(p.period)) { periods.push(p.period); seen.add(p.period); }
  periods.sort();
  const index = new Map(periods.map((p, i) => [p, i]));
  const blank = () => periods.map(() => null);
  // The answers label each period on the tenant's calendar ("FY2025 Q1").
  const labels = new Map([...series, ...fc].filter((p) => p.label)
    .map((p) => [String(p.period).slice(0, 10), p.label]));

  const actual = blank();
  for (const p of series) actual[index.get(p.period.slice(0, 10))] = p[measure] ?? null;
  const point = blank();
  const lo80 = blank();
  const hi80 = blank();
  const lo95 = blank();
  const hi95 = blank();
  if (fc.length) {
    // Start the forecast line at the last actual value so the two lines join.
    const lastActual = series.length ? series[series.length - 1] : null;
    if (lastActual) {
      const i = index.get(lastActual.period.slice(0, 10));
      const v = lastActual[measure];
      point[i] = v; lo80[i] = v; hi80[i] = v; lo95[i] = v; hi95[i] = v;
    }
    for (const p of fc) {
      const i = index.get(p.period);
      point[i] = p.value; lo80[i] = p.lo80; hi80[i] = p.hi80; lo95[i] = p.lo95; hi95[i] = p.hi95;
    }
  }
  const marks = blank();
  const markInfo = new Map();
  for (const a of anomalies ?? []) {
    const i = index.get(grain === "day" ? a.date.slice(0, 10) : periodHolding(periods, a.date));
    if (i === undefined || actual[i] === null) continue;
    marks[i] = actual[i];
    markInfo.set(i, a);
  }

  const band = (data, fill, color, name) => ({ type: "line", label: name, data, fill,
    backgroundColor: color, borderWidth: 0, pointRadius: 0, pointHitRadius: 0, spanGaps: false,
    tension: 0 });
  const datasets = [];
  if (fc.length) {
    datasets.push(
      band(lo95, false, "transparent", "95% range (low)"),
      band(hi95, "-1", COLORS.band95, "95% range"),
      band(lo80, false, "transparent", "80% range (low)"),
      band(hi80, "-1", COLORS.band80, "80% range"),
    );
  }
  datasets.push({ type: "line", label: "Actual", data: actual, borderColor: COLORS.actual,
    backgroundColor: COLORS.actual, borderWidth: 2, pointRadius: periods.length > 60 ? 0 : 2,
    tension: 0.15, spanGaps: false });
  if (fc.length) {
    datasets.push({ type: "line", label: "Forecast", data: point, borderColor: COLORS.forecast,
      backgroundColor: COLORS.forecast, borderDash: [6, 4], borderWidth: 2, pointRadius: 0,
      tension: 0.15 });
  }
  if (markInfo.size) {
    datasets.push({ type: "line", label: "Anomaly", data: marks, showLine: false,
      pointStyle: "triangle", pointRadius: 7, pointHoverRadius: 9,
      backgroundColor: COLORS.anomaly, borderColor: "#fff", borderWidth: 1 });
  }

  return new Chart(canvas, {
    type: "line",
    data: { labels: periods.map((p) => labels.get(p) ?? label(p, grain)), datasets },
    options: {
      interaction: { mode: "index", intersect: false },
      scales: {
        x: { ticks: { maxRotation: 0, autoSkip: true, autoSkipPadding: 16 }, grid: { display: false } },
        y: { beginAtZero: true, ticks: { callback: (v) => compact(v) } },
      },
      plugins: {
        legend: { labels: { filter: (item) => !item.text.includes("(low)"), boxWidth: 14 } },
        tooltip: {
          filter: (item) => item.raw !== null && !item.dataset.label.includes("(low)"),
          callbacks: {
            label: (ctx) => {
              const name = ctx.dataset.label;
              if (name === "80% range") return `80% range: ${number(lo80[ctx.dataIndex])} – ${number(hi80[ctx.dataIndex])}`;
              if (name === "95% range") return `95% range: ${number(lo95[ctx.dataIndex])} – ${number(hi95[ctx.dataIndex])}`;
              if (name === "Anomaly") {
                const a = markInfo.get(ctx.dataIndex);
                return `Unusual (${a.severity}): expected about ${number(a.expected)}`;
              }
              return `${name}: ${number(ctx.raw, 2)}`;
            },
          },
        },
      },
    },
  });
}

/** Horizontal bars of a breakdown's top values by revenue. */
export function breakdownChart(canvas, items) {
  const rows = items.slice(0, 10);
  // Long names are cut to what the card can show beside the bars (narrow on a phone).
  const room = canvas.parentElement?.clientWidth ?? 600;
  const cut = room < 360 ? 16 : room < 480 ? 20 : 28;
  return new Chart(canvas, {
    type: "bar",
    data: {
      labels: rows.map((r) => truncate(String(r.value ?? "(blank)"), cut)),
      datasets: [{ label: "Revenue", data: rows.map((r) => r.revenue), backgroundColor: COLORS.bar,
        borderRadius: 3, maxBarThickness: 22 }],
    },
    options: {
      indexAxis: "y",
      scales: { x: { beginAtZero: true, ticks: { callback: (v) => compact(v) } },
        y: { grid: { display: false } } },
      plugins: {
        legend: { display: false },
        tooltip: { callbacks: {
          title: (ctx) => String(rows[ctx[0].dataIndex].value ?? "(blank)"),
          label: (ctx) => {
            const r = rows[ctx.dataIndex];
            const share = r.share === null || r.share === undefined ? "" : ` · ${number(r.share * 100, 1)}% of total`;
            return `Revenue ${number(r.revenue)}${share}`;
          } } },
      },
    },
  });
}

function truncate(s, n) {
  return s.length > n ? `${s.slice(0, n - 1)}…` : s;
}
