/**
 * anomaly's comparison (docs/detections.md): the second-largest hourly total over the baseline days before
 * the hour, hours without requests counting 0, against `max(factor x baseline, floor)`.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { addTokens, compare, HourlyTotals, knownFromOf } from "../../core/anomaly.js";
import { DAY_MS, HOUR_MS } from "../../core/rule.js";

const rule = { anomalyFactor: 10, anomalyFloorTokens: 2_000_000, baselineDays: 7 };
const H = Date.parse("2026-11-20T14:00:00Z");
const hoursBefore = (n: number) => H - n * HOUR_MS;

describe("the baseline", () => {
  it("is the second-largest hourly total of the days before: one outlier hour is ignored", () => {
    const hours = new Map([
      [hoursBefore(30), 9_000_000], // one past outlier
      [hoursBefore(20), 120_000],
      [hoursBefore(5), 100_000],
    ]);
    const c = compare(rule, hours, H, H - 7 * DAY_MS);
    expect(c).toMatchObject({ baselineTokens: 120_000, thresholdTokens: 2_000_000, activeHours: 3 });
    expect(c.historyHours).toBe(168);
  });

  it("counts only the baselineDays x 24 hours before the hour, not the hour itself or later ones", () => {
    const hours = new Map([
      [hoursBefore(169), 50_000_000], // just outside
      [hoursBefore(168), 3_000_000], // the oldest hour inside
      [hoursBefore(1), 1_000_000],
      [H, 80_000_000], // the hour itself
      [H + HOUR_MS, 70_000_000],
    ]);
    expect(compare(rule, hours, H, 0)).toMatchObject({ baselineTokens: 1_000_000, activeHours: 2 });
  });

  it("a daily batch is its own baseline from its third night", () => {
    const batch = (nights: number) =>
      new Map(Array.from({ length: nights }, (_, i) => [H - (i + 1) * DAY_MS, 5e6]));
    expect(compare(rule, batch(1), H, 0).thresholdTokens).toBe(2_000_000);
    expect(compare(rule, batch(2), H, 0).thresholdTokens).toBe(50_000_000);
    expect(compare(rule, batch(7), H, 0).thresholdTokens).toBe(50_000_000);
  });

  it("without history the floor alone; the factor applies above it", () => {
    expect(compare(rule, undefined, H, H)).toEqual({
      baselineTokens: 0,
      thresholdTokens: 2_000_000,
      historyHours: 0,
      activeHours: 0,
      unread: false,
    });
    const busy = new Map([
      [hoursBefore(2), 400_000],
      [hoursBefore(3), 400_000],
    ]);
    expect(compare(rule, busy, H, 0).thresholdTokens).toBe(4_000_000);
    expect(compare({ ...rule, anomalyFactor: 2.5 }, busy, H, 0).thresholdTokens).toBe(2_000_000);
  });

  it("history shorter than asked: the hours known are said, the baseline taken over them", () => {
    const hours = new Map([
      [hoursBefore(2), 300_000],
      [hoursBefore(1), 300_000],
    ]);
    const c = compare(rule, hours, H, hoursBefore(50));
    expect(c).toMatchObject({ historyHours: 50, baselineTokens: 300_000, thresholdTokens: 3_000_000 });
  });

  it("an unread history compares with the floor alone", () => {
    const hours = new Map([
      [hoursBefore(2), 9e6],
      [hoursBefore(1), 9e6],
    ]);
    expect(compare(rule, hours, H, 0, true)).toMatchObject({ thresholdTokens: 2_000_000, unread: true });
  });
});

describe("known history", () => {
  it("reaches back from the window over the hours stored, up to the first gap", () => {
    const until = H;
    const stored = new Set([hoursBefore(1), hoursBefore(2), hoursBefore(3), hoursBefore(5)]);
    expect(knownFromOf(stored, hoursBefore(168), until)).toBe(hoursBefore(3));
    expect(knownFromOf(new Set(), hoursBefore(168), until)).toBe(until);
    const all = new Set(Array.from({ length: 200 }, (_, i) => hoursBefore(i + 1)));
    expect(knownFromOf(all, hoursBefore(168), until)).toBe(hoursBefore(168));
  });
});

describe("hourly totals", () => {
  it("are the same however an hour's tokens are grouped before they are added (the scanner's threads sum parts first)", () => {
    const count = fc.oneof(fc.nat({ max: 999_999_999_999_999 }), fc.constant(999_999_999_999_999));
    fc.assert(
      fc.property(
        fc.array(count, { minLength: 1, maxLength: 40 }),
        fc.array(fc.nat(), { maxLength: 10 }),
        (tokens, cuts) => {
          const oneByOne = new HourlyTotals();
          for (const t of tokens) oneByOne.add("1", "p", 0, t);
          // The same tokens in consecutive parts, each summed first, as a part of the scan sums its hour.
          const parts = new HourlyTotals();
          const at = [...new Set(cuts.map((c) => c % tokens.length))].sort((a, b) => a - b);
          let from = 0;
          for (const to of [...at, tokens.length]) {
            parts.add("1", "p", 0, tokens.slice(from, to).reduce(addTokens, 0));
            from = to;
          }
          const total = oneByOne.get("1", "p")?.get(0);
          expect(parts.get("1", "p")?.get(0)).toBe(total);
          const exact = tokens.reduce((n, t) => n + BigInt(t), 0n);
          expect(total).toBe(
            exact > BigInt(Number.MAX_SAFE_INTEGER) ? Number.MAX_SAFE_INTEGER : Number(exact),
          );
        },
      ),
      { numRuns: 500 },
    );
  });
});
