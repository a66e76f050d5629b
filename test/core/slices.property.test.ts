/**
 * Merged slices give exactly the findings of one evaluation over the whole window: random records, random
 * periods, random runs (some missed, some retried), every detection, per-model thresholds and exclusions
 * included, against the in-process evaluator. Each period is "queried" by running the Lambda's query text
 * (the usage shape) through the Insights interpreter and reading its rows as the Lambda does.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { defineRule } from "../../config/rule-settings.js";
import { buildInsightsQuery } from "../../core/insights-query.js";
import { parseUsageRows } from "../../core/insights-rows.js";
import { RuleEvaluator } from "../../core/record-evaluator.js";
import type { InvocationRecord } from "../../core/record-reader.js";
import type { Window } from "../../core/rule.js";
import { cellKey, cellsOf, floorToPeriod, mergeSlices, missingCells, type Slice } from "../../core/slices.js";
import { recordArb as recordArbOf } from "../helpers/arbitraries.js";
import { rowsFor } from "../helpers/insights-emulator.js";

const MINUTE = 60_000;
const recordArb = (span: number): fc.Arbitrary<InvocationRecord> =>
  recordArbOf({
    accounts: ["111111111111", "222222222222", "333333333333"],
    identities: [
      "arn:aws:iam::1:user/a",
      "arn:aws:iam::1:user/b",
      "arn:aws:sts::1:assumed-role/batch/x",
      // Two sessions of one role: one principal for token-volume.
      "arn:aws:sts::1:assumed-role/app/i-1",
      "arn:aws:sts::1:assumed-role/app/i-2",
    ],
    // Edges matter most: records right on and next to period boundaries.
    timestampMs: fc.oneof(
      fc.integer({ min: 0, max: span }),
      fc.integer({ min: 0, max: span / MINUTE }).map((m) => m * MINUTE),
      fc.integer({ min: 1, max: span / MINUTE }).map((m) => m * MINUTE - 1),
    ),
  });

/** What a slice query returns: the query text's rows for the cell, read as the Lambda reads them. */
const queryCell = (
  records: readonly InvocationRecord[],
  cell: Window,
  rule: ReturnType<typeof defineRule>,
): Slice => {
  const rows = rowsFor(records, buildInsightsQuery(rule, cell, { shape: "usage" }));
  const { groups, rejected, rejectedValues } = parseUsageRows(rows, cell);
  expect([...rejected, ...rejectedValues]).toEqual([]);
  return { window: cell, groups };
};

describe("slices", () => {
  it("tile a window exactly, on the epoch-aligned lattice", () => {
    const cells = cellsOf({ startMs: 0, endMs: 4 * 15 * MINUTE }, 15 * MINUTE);
    expect(cells.map(cellKey)).toEqual(["0-900000", "900000-1800000", "1800000-2700000", "2700000-3600000"]);
    expect(() => cellsOf({ startMs: 1, endMs: 15 * MINUTE }, 15 * MINUTE)).toThrow(RangeError);
    expect(floorToPeriod(15 * MINUTE + 59_999, 15 * MINUTE)).toBe(15 * MINUTE);
  });

  it("merged over random runs (missed, retried) equal one evaluation of the whole window", () => {
    // How often each detection fired: the property must not hold only because nothing fires.
    const fired = new Map<string, number>();
    fc.assert(
      fc.property(
        fc.constantFrom(5, 10, 15, 30, 60).chain((minutes) => {
          const period = minutes * MINUTE;
          const periods = 8;
          const span = 3 * periods * period;
          return fc.record({
            period: fc.constant(period),
            periods: fc.constant(periods),
            records: fc.array(recordArb(span), { maxLength: 60 }),
            // Which scheduled runs happen (false: missed), and which are retried.
            runs: fc.array(fc.record({ happens: fc.boolean(), retried: fc.boolean() }), {
              minLength: 3 * periods,
              maxLength: 3 * periods,
            }),
            thresholds: fc.record({
              promptTokens: fc.integer({ min: 1, max: 200 }),
              completionTokens: fc.integer({ min: 1, max: 200 }),
              requestSize: fc.integer({ min: 1, max: 200 }),
            }),
            minRequests: fc.integer({ min: 1, max: 3 }),
            exclude: fc.boolean(),
            // Around what a few of the records add up to, so each detection fires and stays quiet.
            cachedInputTokens: fc.integer({ min: 1, max: 400 }),
            tokensPerHour: fc.integer({ min: 1, max: 1500 }),
            requestsPerHour: fc.integer({ min: 1, max: 8 }),
            modelThresholds: fc.subarray([
              { prefix: "m", thresholds: { promptTokens: 150, requestSize: 20, completionTokens: 100 } },
              { prefix: "m1", thresholds: { promptTokens: 30, requestSize: 180, completionTokens: 60 } },
            ]),
          });
        }),
        ({ period, periods, records, runs, thresholds, minRequests, exclude, ...detections }) => {
          const rule = defineRule({
            thresholds,
            minRequests,
            ...detections,
            lookbackMs: periods * period,
            excludedIdentityPatterns: exclude ? ["arn:aws:sts::*:assumed-role/batch/*"] : [],
          });
          const store = new Map<string, Slice>();
          const queried: string[] = [];
          runs.forEach((run, i) => {
            const end = (i + 1) * period;
            if (!run.happens || end < periods * period) return;
            const window = { startMs: end - periods * period, endMs: end };
            for (const attempt of run.retried ? [1, 2] : [1]) {
              for (const cell of missingCells(
                window,
                period,
                [...store.values()].map((s) => s.window),
              )) {
                queried.push(cellKey(cell));
                store.set(cellKey(cell), queryCell(records, cell, rule));
              }
              const merged = mergeSlices(store.values(), window, rule).findings;
              const whole = new RuleEvaluator(rule, window);
              for (const r of records) whole.add(r);
              expect(merged, `run ${i} attempt ${attempt}`).toEqual(whole.findings());
              for (const d of merged.flatMap((f) => f.detections)) fired.set(d, (fired.get(d) ?? 0) + 1);
            }
          });
          // Each period was queried at most once, however runs were missed or retried.
          expect(new Set(queried).size).toBe(queried.length);
        },
      ),
      { numRuns: 150 },
    );
    for (const d of ["heavy-requests", "cached-input", "token-volume"]) {
      expect(fired.get(d) ?? 0, d).toBeGreaterThan(50);
    }
  });
});
