import { spawnSync } from "node:child_process";
import { describe, expect, it } from "vitest";
import { DEFAULT_RULE, defineRule } from "../../config/rule-settings.js";
import { matches, UNKNOWN } from "../../core/evaluator.js";
import { RuleEvaluator } from "../../core/record-evaluator.js";
import { readRecord } from "../../core/record-reader.js";
import type { Window } from "../../core/rule.js";
import { rawRecord, rec } from "../helpers/records.js";

const DAY: Window = {
  startMs: Date.parse("2026-11-19T00:00:00Z"),
  endMs: Date.parse("2026-11-20T00:00:00Z"),
};
const at = (iso: string) => ({ timestamp: iso, timestampMs: Date.parse(iso) });

function evaluate(records: Parameters<RuleEvaluator["add"]>[0][], rule = DEFAULT_RULE, window = DAY) {
  const e = new RuleEvaluator(rule, window);
  for (const r of records) e.add(r);
  return { findings: e.findings(), stats: e.stats };
}

describe("matching (strictly greater, any present metric)", () => {
  it("8000 does not match, 8001 does, for each metric alone", () => {
    for (const metric of ["promptTokens", "completionTokens", "requestSize"] as const) {
      expect(matches(rec({ accountId: "a", [metric]: 8000 }), DEFAULT_RULE), metric).toBe(false);
      expect(matches(rec({ accountId: "a", [metric]: 8001 }), DEFAULT_RULE), metric).toBe(true);
    }
  });

  it("a record with missing metrics still matches on the others; all missing never matches", () => {
    expect(matches(rec({ accountId: "a", completionTokens: 9000 }), DEFAULT_RULE)).toBe(true);
    expect(matches(rec({ accountId: "a" }), DEFAULT_RULE)).toBe(false);
  });

  it("string token counts in the log are missing, not numbers", () => {
    const r = readRecord(rawRecord({ promptTokens: "90000", completionTokens: "90000" }));
    expect(r.ok && matches(r.record, DEFAULT_RULE)).toBe(false);
  });

  it("uses overridden thresholds", () => {
    const rule = defineRule({ thresholds: { promptTokens: 100 } });
    expect(matches(rec({ accountId: "a", promptTokens: 101 }), rule)).toBe(true);
    expect(matches(rec({ accountId: "a", completionTokens: 101 }), rule)).toBe(false);
  });
});

describe("window [start, end)", () => {
  it("includes the start instant and excludes the end instant", () => {
    const heavy = { promptTokens: 9000 };
    const { stats, findings } = evaluate([
      rec({ accountId: "a", ...heavy, ...at("2026-11-19T00:00:00Z") }),
      rec({ accountId: "a", ...heavy, ...at("2026-11-19T23:59:59.999Z") }),
      rec({ accountId: "a", ...heavy, ...at("2026-11-20T00:00:00Z") }),
      rec({ accountId: "a", ...heavy, ...at("2026-11-18T23:59:59.999Z") }),
    ]);
    expect(stats).toEqual({
      recordsRead: 4,
      recordsInWindow: 2,
      // The one before the start is anomaly's history only.
      recordsInHistory: 1,
      recordsMatched: 2,
      recordsExcluded: 0,
      excludedRecords: 0,
      duplicates: 0,
      copies: 0,
    });
    expect(findings[0]?.requestCount).toBe(2);
    expect(findings[0]?.firstSeen).toBe("2026-11-19T00:00:00.000Z");
    expect(findings[0]?.lastSeen).toBe("2026-11-19T23:59:59.999Z");
  });
});

describe("aggregation per account", () => {
  it("keeps accounts with at least minRequests matches and drops single matches", () => {
    const { findings } = evaluate([
      rec({ accountId: "one", promptTokens: 50_000 }),
      rec({ accountId: "two", promptTokens: 9_000 }),
      rec({ accountId: "two", promptTokens: 10 }),
      rec({ accountId: "two", completionTokens: 8_500 }),
    ]);
    expect(findings.map((f) => [f.accountId, f.requestCount])).toEqual([["two", 2]]);
  });

  it("minRequests 1 keeps single matches", () => {
    const { findings } = evaluate(
      [rec({ accountId: "one", promptTokens: 50_000 })],
      defineRule({ minRequests: 1 }),
    );
    expect(findings).toHaveLength(1);
  });

  it("a maximum is null when no matching record has that metric; non-matching records do not count", () => {
    const { findings } = evaluate([
      rec({ accountId: "a", completionTokens: 9_000 }),
      rec({ accountId: "a", completionTokens: 12_000 }),
      rec({ accountId: "a", promptTokens: 7_000 }),
    ]);
    expect(findings[0]).toMatchObject({
      maxPromptTokens: null,
      maxRequestSize: null,
      maxCompletionTokens: 12_000,
      requestCount: 2,
    });
  });

  it("maxima include the non-triggering metrics of matching records", () => {
    const { findings } = evaluate([
      rec({ accountId: "a", promptTokens: 9_000, completionTokens: 5 }),
      rec({ accountId: "a", promptTokens: 3, completionTokens: 8_001, requestSize: 40 }),
    ]);
    expect(findings[0]).toMatchObject({
      maxPromptTokens: 9_000,
      maxCompletionTokens: 8_001,
      maxRequestSize: 40,
    });
  });

  it("collects evidence: identities and models by count, cache-inclusive input", () => {
    const { findings } = evaluate([
      rec({
        accountId: "a",
        promptTokens: 9_000,
        identityArn: "arn:x",
        modelId: "m1",
        cacheWriteTokens: 20_000,
      }),
      rec({ accountId: "a", promptTokens: 9_000, identityArn: "arn:y", modelId: "m1" }),
      rec({ accountId: "a", promptTokens: 9_000, identityArn: "arn:y", modelId: null }),
    ]);
    expect(findings[0]?.topIdentities).toEqual([
      { identityArn: "arn:y", requestCount: 2 },
      { identityArn: "arn:x", requestCount: 1 },
    ]);
    expect(findings[0]?.topModels).toEqual([
      { modelId: "m1", requestCount: 2, sumPromptTokens: 18_000, sumCompletionTokens: null },
      { modelId: UNKNOWN, requestCount: 1, sumPromptTokens: 9000, sumCompletionTokens: null },
    ]);
    expect(findings[0]?.maxCacheInclusiveInputTokens).toBe(29_000);
  });
});

describe("records counted once (the same request delivered to S3 and to CloudWatch)", () => {
  const heavy = { accountId: "a", promptTokens: 9_000 };

  it("a matching record seen again with the same requestId is skipped and counted as a duplicate", () => {
    const { findings, stats } = evaluate([
      rec({ ...heavy, requestId: "r1" }),
      rec({ ...heavy, requestId: "r2" }),
      rec({ ...heavy, requestId: "r1" }),
      rec({ ...heavy, requestId: "r2" }),
    ]);
    expect(findings[0]?.requestCount).toBe(2);
    expect(stats).toEqual({
      recordsRead: 4,
      recordsInWindow: 4,
      recordsInHistory: 0,
      recordsMatched: 2,
      recordsExcluded: 0,
      excludedRecords: 0,
      duplicates: 2,
      copies: 2,
    });
  });

  it("one heavy request delivered twice is still one request: no finding at minRequests 2", () => {
    const { findings, stats } = evaluate([
      rec({ ...heavy, requestId: "r1" }),
      rec({ ...heavy, requestId: "r1" }),
    ]);
    expect(findings).toEqual([]);
    expect(stats.duplicates).toBe(1);
  });

  it("records without a requestId are never taken for duplicates", () => {
    const { findings, stats } = evaluate([rec({ ...heavy }), rec({ ...heavy }), rec({ ...heavy })]);
    expect(findings[0]?.requestCount).toBe(3);
    expect(stats.duplicates).toBe(0);
  });

  it("exclusions: every excluded request counts once in excludedRecords, the matching ones in recordsExcluded", () => {
    const { findings, stats } = evaluate(
      [
        rec({ ...heavy, accountId: "111111111111", requestId: "r1" }),
        rec({ ...heavy, accountId: "111111111111", requestId: "r1" }),
        rec({ accountId: "111111111111", promptTokens: 10, requestId: "r2" }),
        rec({ accountId: "111111111111", promptTokens: 10, requestId: "r2" }),
        rec({ ...heavy, accountId: "222222222222", requestId: "r3" }),
      ],
      defineRule({ minRequests: 1, excludedAccountIds: ["111111111111"] }),
    );
    expect(findings.map((f) => f.accountId)).toEqual(["222222222222"]);
    expect(stats).toMatchObject({ recordsMatched: 2, recordsExcluded: 1, excludedRecords: 2 });
  });

  it("the same requestId in another account is another request", () => {
    const { findings } = evaluate(
      [rec({ ...heavy, requestId: "r1" }), rec({ ...heavy, accountId: "b", requestId: "r1" })],
      defineRule({ minRequests: 1 }),
    );
    expect(findings.map((f) => f.accountId)).toEqual(["a", "b"]);
  });

  it("non-matching copies are no hunt duplicates, but the other detections count them once (copies)", () => {
    const light = { accountId: "a", promptTokens: 10, requestId: "r1" };
    const { stats } = evaluate([rec(light), rec(light)]);
    expect(stats).toEqual({
      recordsRead: 2,
      recordsInWindow: 2,
      recordsInHistory: 0,
      recordsMatched: 0,
      recordsExcluded: 0,
      excludedRecords: 0,
      duplicates: 0,
      copies: 1,
    });
  });
});

describe("what the evaluator keeps stays small: ids, account, identity and model keys", () => {
  it.each(["uuid", "other"])(
    "%s ids: 400 records of 50 KB, 400 accounts, leave far less than their text in memory",
    (kind) => {
      // The reader's strings are slices of the record text: kept as they are, each would pin ~50 KB.
      const r = spawnSync(
        process.execPath,
        ["--expose-gc", "--import", "tsx", "test/helpers/retained-heap.ts", "400", "50", kind],
        { encoding: "utf8", timeout: 60_000 },
      );
      expect(r.status, r.stderr).toBe(0);
      const { retained, stats } = JSON.parse(r.stdout) as {
        retained: number;
        stats: { recordsMatched: number };
      };
      expect(stats.recordsMatched).toBe(400);
      expect(retained).toBeLessThan(2_000_000); // the texts are 20 MB
    },
  );
});

describe("order", () => {
  it("sorts by max prompt, request size, completion (all descending, nulls last), then account", () => {
    const pair = (accountId: string, p: Partial<Parameters<typeof rec>[0]>) => [
      rec({ accountId, ...p }),
      rec({ accountId, ...p }),
    ];
    const { findings } = evaluate([
      ...pair("z-null-prompt", { requestSize: 99_999 }),
      ...pair("b-tie", { promptTokens: 9_000, requestSize: 100, completionTokens: 5 }),
      ...pair("a-tie", { promptTokens: 9_000, requestSize: 100, completionTokens: 5 }),
      ...pair("c-more-completion", { promptTokens: 9_000, requestSize: 100, completionTokens: 9_000 }),
      ...pair("d-null-size", { promptTokens: 9_000, completionTokens: 99_999 }),
      ...pair("e-top", { promptTokens: 20_000 }),
      ...pair("f-all-null-but-completion", { completionTokens: 8_001 }),
    ]);
    expect(findings.map((f) => f.accountId)).toEqual([
      "e-top",
      "c-more-completion",
      "a-tie",
      "b-tie",
      "d-null-size",
      "z-null-prompt",
      "f-all-null-but-completion",
    ]);
  });
});
