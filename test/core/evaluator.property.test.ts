import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { defineRule } from "../../config/rule-settings.js";
import { type Aggregates, mergeAggregates, toFindings } from "../../core/evaluator.js";
import { RuleEvaluator } from "../../core/record-evaluator.js";
import type { InvocationRecord } from "../../core/record-reader.js";
import type { Rule, Window } from "../../core/rule.js";
import { recordArb as recordArbOf } from "../helpers/arbitraries.js";

const WINDOW: Window = { startMs: 1_000_000, endMs: 2_000_000 };

const recordArb = recordArbOf({
  accounts: ["111", "222", "333", "444"],
  identities: ["arn:a", "arn:b", "arn:c"],
  timestampMs: fc.integer({ min: 900_000, max: 2_100_000 }),
});

const ruleArb: fc.Arbitrary<Rule> = fc
  .record({
    promptTokens: fc.integer({ min: 1, max: 200 }),
    completionTokens: fc.integer({ min: 1, max: 200 }),
    requestSize: fc.integer({ min: 1, max: 200 }),
    minRequests: fc.integer({ min: 1, max: 4 }),
  })
  .map(({ minRequests, ...thresholds }) => defineRule({ thresholds, minRequests }));

/** The contract written out the obvious way: filter, group into arrays, reduce, sort. */
function naive(records: InvocationRecord[], rule: Rule, window: Window) {
  const hits = records.filter(
    (r) =>
      r.timestampMs >= window.startMs &&
      r.timestampMs < window.endMs &&
      ((r.promptTokens ?? -1) > rule.thresholds.promptTokens ||
        (r.completionTokens ?? -1) > rule.thresholds.completionTokens ||
        (r.requestSize ?? -1) > rule.thresholds.requestSize),
  );
  const accounts = [...new Set(hits.map((r) => r.accountId))];
  const maxOrNull = (xs: (number | null)[]) => {
    const present = xs.filter((x): x is number => x !== null);
    return present.length ? Math.max(...present) : null;
  };
  const rows = accounts.map((accountId) => {
    const mine = hits.filter((r) => r.accountId === accountId);
    return {
      accountId,
      maxPromptTokens: maxOrNull(mine.map((r) => r.promptTokens)),
      maxRequestSize: maxOrNull(mine.map((r) => r.requestSize)),
      maxCompletionTokens: maxOrNull(mine.map((r) => r.completionTokens)),
      requestCount: mine.length,
      firstSeen: new Date(Math.min(...mine.map((r) => r.timestampMs))).toISOString(),
      lastSeen: new Date(Math.max(...mine.map((r) => r.timestampMs))).toISOString(),
    };
  });
  // Nulls last in a descending sort: rank null below every number.
  const key = (v: number | null) => (v === null ? -1 : v);
  return rows
    .filter((r) => r.requestCount >= rule.minRequests)
    .sort(
      (a, b) =>
        key(b.maxPromptTokens) - key(a.maxPromptTokens) ||
        key(b.maxRequestSize) - key(a.maxRequestSize) ||
        key(b.maxCompletionTokens) - key(a.maxCompletionTokens) ||
        a.accountId.localeCompare(b.accountId),
    );
}

const core = (f: ReturnType<RuleEvaluator["findings"]>[number]) => ({
  accountId: f.accountId,
  maxPromptTokens: f.maxPromptTokens,
  maxRequestSize: f.maxRequestSize,
  maxCompletionTokens: f.maxCompletionTokens,
  requestCount: f.requestCount,
  firstSeen: f.firstSeen,
  lastSeen: f.lastSeen,
});

function aggregate(records: InvocationRecord[], rule: Rule): Aggregates {
  const e = new RuleEvaluator(rule, WINDOW);
  for (const r of records) e.add(r);
  return e.aggregates;
}

describe("streaming evaluator (property)", () => {
  it("equals a naive whole-array evaluation", () => {
    fc.assert(
      fc.property(fc.array(recordArb, { maxLength: 80 }), ruleArb, (records, rule) => {
        const e = new RuleEvaluator(rule, WINDOW);
        for (const r of records) e.add(r);
        expect(e.findings().map(core)).toEqual(naive(records, rule, WINDOW));
      }),
      { numRuns: 300 },
    );
  });

  it("merging partial aggregates of any split equals evaluating the whole, evidence included", () => {
    fc.assert(
      fc.property(
        fc.array(recordArb, { maxLength: 80 }),
        fc.array(fc.nat(), { maxLength: 6 }),
        ruleArb,
        (records, cuts, rule) => {
          const points = [...new Set(cuts.map((c) => c % (records.length + 1)))].sort((a, b) => a - b);
          const slices: InvocationRecord[][] = [];
          let from = 0;
          for (const p of [...points, records.length]) {
            slices.push(records.slice(from, p));
            from = p;
          }
          // Merge in reverse order too: merging is commutative as well as associative.
          const merged = slices
            .map((s) => aggregate(s, rule))
            .reverse()
            .reduce((acc, a) => mergeAggregates(acc, a), new Map() as Aggregates);
          expect(toFindings(merged, rule)).toEqual(toFindings(aggregate(records, rule), rule));
        },
      ),
      { numRuns: 300 },
    );
  });

  it("merging leaves its inputs unchanged", () => {
    fc.assert(
      fc.property(fc.array(recordArb, { maxLength: 30 }), ruleArb, (records, rule) => {
        const a = aggregate(records, rule);
        const before = toFindings(a, rule);
        mergeAggregates(a, aggregate(records, rule));
        expect(toFindings(a, rule)).toEqual(before);
      }),
    );
  });
});
