// format.js: the numbers, dates and sentences the dashboard shows. The module reads the
// reader's locale once at import, so the locale (and the time zone the clock times are
// shown in) is fixed before it is loaded.
import assert from "node:assert/strict";
import { test } from "node:test";

process.env.TZ = "UTC";
Object.defineProperty(globalThis, "navigator", { value: { language: "en-US" }, configurable: true });
const fmt = await import("../src/format.js");

test("number groups thousands and rounds to the digits asked for", () => {
  assert.equal(fmt.number(1234567.891), "1,234,568");
  assert.equal(fmt.number(1234567.891, 2), "1,234,567.89");
  assert.equal(fmt.number(0.5, 2), "0.50");
  assert.equal(fmt.number(-42), "-42");
});

test("a missing value is shown as a dash, never as 0 or NaN", () => {
  for (const f of [fmt.number, fmt.compact, fmt.money, fmt.percent]) {
    assert.equal(f(null), "—");
    assert.equal(f(undefined), "—");
    assert.equal(f(Number.NaN), "—");
  }
  assert.equal(fmt.bytes(null), "—");
  assert.equal(fmt.dateTime(""), "—");
  assert.equal(fmt.day(null), "—");
});

test("compact shortens large numbers to one decimal", () => {
  assert.equal(fmt.compact(1234567), "1.2M");
  assert.equal(fmt.compact(15300), "15.3K");
  assert.equal(fmt.compact(999), "999");
});

test("money is a plain grouped amount with no currency symbol", () => {
  assert.equal(fmt.money(2500.4), "2,500");
  assert.equal(fmt.money(2500.456, 2), "2,500.46");
});

test("percent keeps one decimal by default", () => {
  assert.equal(fmt.percent(12.345), "12.3%");
  assert.equal(fmt.percent(7, 0), "7%");
});

test("change is signed with a true minus sign and hides tiny moves", () => {
  assert.equal(fmt.change(12.34), "+12.3%");
  assert.equal(fmt.change(-4), "−4.0%");
  assert.equal(fmt.change(0.04), "no change");
  assert.equal(fmt.change(-0.049), "no change");
  assert.equal(fmt.change(0.05), "+0.1%");
});

test("change has nothing to say without a finite comparison", () => {
  for (const v of [null, undefined, Number.NaN, Infinity, -Infinity]) assert.equal(fmt.change(v), null);
});

test("bytes picks the largest unit below 1024 and stops at terabytes", () => {
  assert.equal(fmt.bytes(0), "0 B");
  assert.equal(fmt.bytes(512), "512 B");
  assert.equal(fmt.bytes(1536), "1.5 KB");
  assert.equal(fmt.bytes(5 * 1024 ** 2), "5.0 MB");
  assert.equal(fmt.bytes(5 * 1024 ** 5), "5,120.0 TB");
});

test("dateTime shows the date and the clock time; an unreadable value as given", () => {
  assert.match(fmt.dateTime("2024-03-05T14:07:00Z"), /^Mar 5, 2024, 2:07\sPM$/);
  assert.equal(fmt.dateTime("not a date"), "not a date");
});

test("day shows the calendar date written in the value, whatever its time zone", () => {
  assert.equal(fmt.day("2024-03-05"), "Mar 5, 2024");
  // The time and offset are ignored: a late-evening timestamp stays on its own day.
  assert.equal(fmt.day("2024-03-05T23:30:00-08:00"), "Mar 5, 2024");
  assert.equal(fmt.day("05/03/2024"), "05/03/2024");
});

test("titleCase turns identifiers into labels", () => {
  assert.equal(fmt.titleCase("order_id"), "Order id");
  assert.equal(fmt.titleCase("ship-mode"), "Ship mode");
  assert.equal(fmt.titleCase(null), "");
});

test("accuracyInWords grades the error and compares with repeating last season", () => {
  const lines = fmt.accuracyInWords({ smape: 8.4, mase: 0.5, baseline: { mase: 1 },
    coverage80: 0.82, backtest_origins: 6 }, { measure: "orders", grain: "week" });
  assert.deepEqual(lines, [
    "When tested on past data, the orders forecast was typically off by about 8% per week — very close.",
    "Its errors were 50% smaller than simply repeating last season's figures.",
    "The darker band is meant to hold the real value 8 times in 10; in testing it did 82% of the time.",
    "Checked against 6 past cut-off points.",
  ]);
});

test("accuracyInWords warns when the forecast loses to the seasonal baseline", () => {
  const [quality, versus] = fmt.accuracyInWords({ smape: 40, mase: 1.5, baseline: { mase: 1 } });
  assert.match(quality, /revenue forecast was typically off by about 40% per month — only a rough guide\.$/);
  assert.equal(versus, "It did 50% worse than simply repeating last season's figures, so treat it with caution.");
  assert.deepEqual(fmt.accuracyInWords({ mase: 1.01, baseline: { mase: 1 } }),
    ["It did about as well as simply repeating last season's figures."]);
});

test("accuracyInWords reads coverage given as a share or as a percentage", () => {
  assert.match(fmt.accuracyInWords({ coverage80: 79 })[0], /did 79% of the time\.$/);
  assert.match(fmt.accuracyInWords({ coverage80: 0.79 })[0], /did 79% of the time\.$/);
});

test("accuracyInWords says nothing without an accuracy or with unusable numbers", () => {
  assert.deepEqual(fmt.accuracyInWords(null), []);
  assert.deepEqual(fmt.accuracyInWords({ smape: Infinity, mase: 2, baseline: { mase: 0 } }), []);
});
