// Numbers as a manager reads them: grouped, rounded sensibly, signed changes.

const locale = navigator.language || "en-GB";

export function number(value, digits = 0) {
  if (value === null || value === undefined || Number.isNaN(value)) return "—";
  return new Intl.NumberFormat(locale, { maximumFractionDigits: digits,
    minimumFractionDigits: digits }).format(value);
}

export function compact(value) {
  if (value === null || value === undefined || Number.isNaN(value)) return "—";
  return new Intl.NumberFormat(locale, { notation: "compact", maximumFractionDigits: 1 })
    .format(value);
}

export function money(value, digits = 0) {
  return number(value, digits);
}

export function percent(value, digits = 1) {
  if (value === null || value === undefined || Number.isNaN(value)) return "—";
  return `${number(value, digits)}%`;
}

/** "+12.3%" / "−4.0%" / "no change"; null when there is nothing to compare with. */
export function change(pct) {
  if (pct === null || pct === undefined || Number.isNaN(pct) || !Number.isFinite(pct)) return null;
  if (Math.abs(pct) < 0.05) return "no change";
  const sign = pct > 0 ? "+" : "−";
  return `${sign}${number(Math.abs(pct), 1)}%`;
}

export function bytes(n) {
  if (n === null || n === undefined) return "—";
  const units = ["B", "KB", "MB", "GB", "TB"];
  let i = 0;
  let v = n;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i += 1;
  }
  return `${number(v, i === 0 ? 0 : 1)} ${units[i]}`;
}

export function dateTime(value) {
  if (!value) return "—";
  const d = new Date(value);
  if (Number.isNaN(d.getTime())) return String(value);
  return new Intl.DateTimeFormat(locale, { dateStyle: "medium", timeStyle: "short" }).format(d);
}

export function day(value) {
  if (!value) return "—";
  const d = new Date(`${String(value).slice(0, 10)}T00:00:00Z`);
  if (Number.isNaN(d.getTime())) return String(value);
  return new Intl.DateTimeFormat(locale, { dateStyle: "medium", timeZone: "UTC" }).format(d);
}

export function titleCase(s) {
  return String(s ?? "").replace(/[_-]+/g, " ").replace(/^\w/, (c) => c.toUpperCase());
}

/**
 * The forecast's backtest accuracy as a sentence: how far off it typically was, how it
 * compares with "same as last season", and how often the ranges held the real value.
 */
export function accuracyInWords(acc, { measure = "revenue", grain = "month" } = {}) {
  if (!acc) return [];
  const lines = [];
  const per = { day: "day", week: "week", month: "month" }[grain] ?? "period";
  if (acc.smape !== null && acc.smape !== undefined && Number.isFinite(acc.smape)) {
    const err = acc.smape;
    const quality = err <= 10 ? "very close" : err <= 20 ? "close" : err <= 35 ? "roughly right"
      : "only a rough guide";
    lines.push(`When tested on past data, the ${measure} forecast was typically off by about `
      + `${number(err, 0)}% per ${per} — ${quality}.`);
  }
  const base = acc.baseline;
  if (acc.mase !== null && acc.mase !== undefined && base?.mase) {
    const ratio = acc.mase / base.mase;
    if (ratio < 0.97) {
      lines.push(`Its errors were ${number((1 - ratio) * 100, 0)}% smaller than simply `
        + "repeating last season's figures.");
    } else if (ratio > 1.03) {
      lines.push(`It did ${number((ratio - 1) * 100, 0)}% worse than simply repeating last `
        + "season's figures, so treat it with caution.");
    } else {
      lines.push("It did about as well as simply repeating last season's figures.");
    }
  }
  if (acc.coverage80 !== null && acc.coverage80 !== undefined) {
    lines.push(`The darker band is meant to hold the real value 8 times in 10; in testing it `
      + `did ${number(acc.coverage80 * (acc.coverage80 <= 1 ? 100 : 1), 0)}% of the time.`);
  }
  if (acc.backtest_origins) {
    lines.push(`Checked against ${number(acc.backtest_origins)} past cut-off points.`);
  }
  return lines;
}
