/**
 * Differential test of the Lambda's usage query against the reader, on generated hostile records: the query
 * text itself (its `parse` regexes run on the raw record by JavaScript's engine, then its `fields` and `stats`
 * interpreted) must give the usage group the scanner builds from the same record: token sums, cached input and
 * its count over the threshold, and the hunt's conditional maxima and sums, under random thresholds and
 * per-model thresholds. Only records the contract binds the query on (Bedrock-shaped, no imitations).
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { defineRule } from "../../config/rule-settings.js";
import { groupOf, matches } from "../../core/evaluator.js";
import { buildInsightsQuery } from "../../core/insights-query.js";
import { parseUsageRows } from "../../core/insights-rows.js";
import { HOUR_MS } from "../../core/rule.js";
import { usageOfRecord } from "../../core/usage.js";
import { adversarialRecord } from "../helpers/adversarial.js";
import { interpret } from "../helpers/insights-interpreter.js";
import { rawRecord } from "../helpers/records.js";
import { referenceRead } from "../helpers/reference-reader.js";

const ruleArb = fc.record({
  thresholds: fc.record({
    promptTokens: fc.integer({ min: 1, max: 20_000 }),
    completionTokens: fc.integer({ min: 1, max: 20_000 }),
    requestSize: fc.integer({ min: 1, max: 20_000 }),
  }),
  cachedInputTokens: fc.integer({ min: 1, max: 30_000 }),
  modelThresholds: fc.subarray([
    { prefix: "anthropic", thresholds: { promptTokens: 50, requestSize: 60, completionTokens: 70 } },
    {
      prefix: "anthropic.claude-3",
      thresholds: { promptTokens: 9_000_000, requestSize: 5, completionTokens: 9 },
    },
    { prefix: "amazon.nova", thresholds: { promptTokens: 1, requestSize: 1, completionTokens: 1 } },
  ]),
});

/** The query's rows for one raw record, its `parse @message` regexes run on the text. */
function queryOne(text: string, timestampMs: number, rule: ReturnType<typeof defineRule>) {
  const start = Math.floor(timestampMs / HOUR_MS) * HOUR_MS;
  const query = buildInsightsQuery(rule, { startMs: start, endMs: start + HOUR_MS }, { shape: "usage" });
  const rows = interpret(query, [{ "@timestamp": timestampMs, "@message": text }], (ev, regex) => {
    const groups = new RegExp(regex).exec(String(ev["@message"]))?.groups ?? {};
    return { ...groups };
  });
  return parseUsageRows(rows, { startMs: start, endMs: start + HOUR_MS });
}

describe("differential: the usage query against the reader", () => {
  it("gives the scanner's usage group for every hostile record it is bound on", () => {
    let compared = 0;
    let hunted = 0;
    let cached = 0;
    fc.assert(
      fc.property(adversarialRecord({ rawNewlines: false, maxDepth: 400 }), ruleArb, (g, r) => {
        const e = referenceRead(g.text);
        // Log events are stamped after 1970: earlier record times never reach Logs Insights.
        if (e === null || !g.bedrockShaped || g.imitation || e.timestampMs < 0) return;
        compared++;
        const rule = defineRule(r);
        const matching = matches(e, rule);
        const { accountId: _a, identityArn: _i, modelId: _m, ...hunt } = groupOf(e);
        const want = usageOfRecord(e, matching ? hunt : null, rule.cachedInputTokens);
        const { groups, rejected, rejectedValues } = queryOne(g.text, e.timestampMs, rule);
        expect([...rejected, ...rejectedValues]).toEqual([]);
        expect(groups).toHaveLength(1);
        const got = groups[0];
        // Identities are shown only when they are principal ARNs, and model ids as written: the rest must agree.
        expect({ ...got, identityArn: null, modelId: null }).toEqual({
          ...want,
          identityArn: null,
          modelId: null,
        });
        if (matching) hunted++;
        if (want.cachedInputRequests > 0) cached++;
      }),
      { numRuns: 1500 },
    );
    expect(compared).toBeGreaterThan(150);
    expect(hunted).toBeGreaterThan(20);
    expect(cached).toBeGreaterThan(20);
  });

  it("takes the cached-prompt case apart exactly: 6 prompt tokens, 180,000 read from the cache, body in S3", () => {
    const rule = defineRule({});
    const text = rawRecord({ promptTokens: 6, completionTokens: 350 }).replace(
      '"inputTokenCount":6',
      '"inputBodyS3Path":"s3://b/k.json","inputTokenCount":6,"cacheReadInputTokenCount":180000,"cacheWriteInputTokenCount":0',
    );
    const e = referenceRead(text);
    expect(e).not.toBeNull();
    const { groups } = queryOne(text, e?.timestampMs ?? 0, rule);
    expect(groups[0]).toMatchObject({
      requests: 1,
      inputTokens: 6,
      cacheReadTokens: 180_000,
      outputTokens: 350,
      cachedInputRequests: 1,
      cachedInputTokens: 180_006,
      maxCachedInputTokens: 180_006,
      hunt: null,
    });
  });
});
