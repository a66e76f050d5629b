/**
 * Merged slices give exactly the findings of one evaluation over the whole window: random records, random
 * periods, random runs (some missed, some retried), exclusions included, against the in-process evaluator.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { defineRule } from "../config/settings.js";
import { groupOf, matches, RuleEvaluator, toFindings } from "../core/evaluator.js";
import type { InvocationRecord } from "../core/record-reader.js";
import type { Window } from "../core/rule.js";
import { cellKey, cellsOf, floorToPeriod, mergeSlices, missingCells, type Slice } from "../core/slices.js";
import { recordArb as recordArbOf } from "./helpers/arbitraries.js";

const MINUTE = 60_000;
const recordArb = (span: number): fc.Arbitrary<InvocationRecord> =>
  recordArbOf({
    accounts: ["111111111111", "222222222222", "333333333333"],
    identities: ["arn:aws:iam::1:user/a", "arn:aws:iam::1:user/b", "arn:aws:sts::1:assumed-role/batch/x"],
    // Edges matter most: records right on and next to period boundaries.
    timestampMs: fc.oneof(
      fc.integer({ min: 0, max: span }),
      fc.integer({ min: 0, max: span / MINUTE }).map((m) => m * MINUTE),
      fc.integer({ min: 1, max: span / MINUTE }).map((m) => m * MINUTE - 1),
    ),
  });

/** What a slice query returns: the matching records of the cell, as groups (one per record is enough). */
const queryCell = (
  records: readonly InvocationRecord[],
  cell: Window,
  rule: ReturnType<typeof defineRule>,
): Slice => ({
  window: cell,
  groups: records
    .filter((r) => r.timestampMs >= cell.startMs && r.timestampMs < cell.endMs && matches(r, rule))
    .map(groupOf),
});

describe("slices", () => {
  it("tile a window exactly, on the epoch-aligned lattice", () => {
    const cells = cellsOf({ startMs: 0, endMs: 4 * 15 * MINUTE }, 15 * MINUTE);
    expect(cells.map(cellKey)).toEqual(["0-900000", "900000-1800000", "1800000-2700000", "2700000-3600000"]);
    expect(() => cellsOf({ startMs: 1, endMs: 15 * MINUTE }, 15 * MINUTE)).toThrow(RangeError);
    expect(floorToPeriod(15 * MINUTE + 59_999, 15 * MINUTE)).toBe(15 * MINUTE);
  });

  it("merged over random runs (missed, retried) equal one evaluation of the whole window", () => {
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
          });
        }),
        ({ period, periods, records, runs, thresholds, minRequests, exclude }) => {
          const rule = defineRule({
            thresholds,
            minRequests,
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
              const merged = toFindings(mergeSlices(store.values(), window, rule).aggregates, rule);
              const whole = new RuleEvaluator(rule, window);
              for (const r of records) whole.add(r);
              expect(merged, `run ${i} attempt ${attempt}`).toEqual(whole.findings());
            }
          });
          // Each period was queried at most once, however runs were missed or retried.
          expect(new Set(queried).size).toBe(queried.length);
        },
      ),
      { numRuns: 150 },
    );
  });
});
