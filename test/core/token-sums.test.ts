/** Token sums per model (the cost estimate's evidence) in both engines, and the price table. */
import { describe, expect, it } from "vitest";
import { DEFAULT_RULE } from "../../config/rule-settings.js";
import { aggregateGroups, groupOf, mergeAggregates, toFindings } from "../../core/evaluator.js";
import { buildInsightsQuery } from "../../core/insights-query.js";
import { parseRows } from "../../core/insights-rows.js";
import {
  BUILT_IN_PRICES,
  baseModelId,
  estimateCost,
  parsePrices,
  priceFor,
  priceTable,
} from "../../core/pricing.js";
import { RuleEvaluator } from "../../core/record-evaluator.js";
import { rec } from "../helpers/records.js";

const window = { startMs: Date.parse("2026-11-19T00:00:00Z"), endMs: Date.parse("2026-11-20T00:00:00Z") };
const records = [
  rec({ accountId: "111111111111", modelId: "m1", promptTokens: 9000, completionTokens: 100 }),
  rec({ accountId: "111111111111", modelId: "m1", promptTokens: 10_000, completionTokens: null }),
  rec({ accountId: "111111111111", modelId: "m2", promptTokens: null, completionTokens: 20_000 }),
  rec({ accountId: "111111111111", modelId: "m2", promptTokens: 12_000, completionTokens: 5 }),
];

describe("token sums", () => {
  it("the in-process engine sums prompt and completion tokens per model and per account", () => {
    const ev = new RuleEvaluator(DEFAULT_RULE, window);
    for (const r of records) ev.add(r);
    const [f] = ev.findings();
    expect(f?.topModels).toEqual([
      { modelId: "m1", requestCount: 2, sumPromptTokens: 19_000, sumCompletionTokens: 100 },
      { modelId: "m2", requestCount: 2, sumPromptTokens: 12_000, sumCompletionTokens: 20_005 },
    ]);
    expect(f).toMatchObject({ sumPromptTokens: 31_000, sumCompletionTokens: 20_105 });
  });

  it("sums merge: any split of the groups gives the same finding", () => {
    const groups = records.map(groupOf);
    const whole = toFindings(aggregateGroups(groups, DEFAULT_RULE).aggregates, DEFAULT_RULE);
    for (let cut = 0; cut <= groups.length; cut++) {
      const a = aggregateGroups(groups.slice(0, cut), DEFAULT_RULE).aggregates;
      const b = aggregateGroups(groups.slice(cut), DEFAULT_RULE).aggregates;
      expect(toFindings(mergeAggregates(b, a), DEFAULT_RULE)).toEqual(whole);
    }
  });

  it("the Insights query sums the same fields, and its rows give the same sums", () => {
    const q = buildInsightsQuery(DEFAULT_RULE, window, { shape: "evidence" });
    expect(q).toContain("sum(promptTokens) as sumPromptTokens, sum(completionTokens) as sumCompletionTokens");
    expect(buildInsightsQuery(DEFAULT_RULE, window, { shape: "account" })).toContain("sum(promptTokens)");
    const row = (model: string, prompt: string, completion: string) => ({
      account: "111111111111",
      identityArn: "arn:aws:iam::111111111111:user/alice",
      model,
      requestCount: "2",
      maxPromptTokens: "12000",
      firstSeen: "2026-11-19 12:00:00.000",
      lastSeen: "2026-11-19 12:00:00.000",
      sumPromptTokens: prompt,
      sumCompletionTokens: completion,
    });
    const { groups, rejected } = parseRows([row("m1", "19000", "100"), row("m2", "12000.0", "20005")]);
    expect(rejected).toEqual([]);
    const [f] = toFindings(aggregateGroups(groups, DEFAULT_RULE).aggregates, DEFAULT_RULE);
    expect(f).toMatchObject({ sumPromptTokens: 31_000, sumCompletionTokens: 20_105 });
  });

  it("an unreadable sum never rejects a row: it is unknown", () => {
    const { groups, rejected } = parseRows([
      {
        account: "111111111111",
        model: "m1",
        requestCount: "2",
        firstSeen: "2026-11-19 12:00:00.000",
        lastSeen: "2026-11-19 12:00:00.000",
        sumPromptTokens: "1.5e+06",
        sumCompletionTokens: "lots",
      },
    ]);
    expect(rejected).toEqual([]);
    expect(groups[0]).toMatchObject({ sumPromptTokens: 1_500_000, sumCompletionTokens: null });
  });
});

describe("price table", () => {
  it("matches model ids without ARN and inference-profile prefixes, longest prefix first, overrides first", () => {
    expect(
      baseModelId("arn:aws:bedrock:us-east-1::foundation-model/anthropic.claude-3-haiku-20240307-v1:0"),
    ).toBe("anthropic.claude-3-haiku-20240307-v1:0");
    expect(baseModelId("us.anthropic.claude-3-5-haiku-20241022-v1:0")).toBe(
      "anthropic.claude-3-5-haiku-20241022-v1:0",
    );
    expect(priceFor("us.anthropic.claude-3-5-haiku-20241022-v1:0", BUILT_IN_PRICES)?.inputPer1k).toBe(0.0008);
    const table = priceTable(parsePrices(["anthropic.=1/2", "anthropic.claude-3-5-haiku=0.5/0.6"]));
    expect(priceFor("anthropic.claude-3-5-haiku-x", table)).toEqual({
      prefix: "anthropic.claude-3-5-haiku",
      inputPer1k: 0.5,
      outputPer1k: 0.6,
    });
    expect(priceFor("anthropic.claude-3-opus-x", table)?.inputPer1k).toBe(1);
    expect(priceFor("acme.model", table)).toBeNull();
  });

  it("estimates priced models and counts the rest as unknown price", () => {
    const est = estimateCost(
      {
        topModels: [
          {
            modelId: "amazon.nova-lite-v1:0",
            requestCount: 1,
            sumPromptTokens: 1_000_000,
            sumCompletionTokens: 1_000_000,
          },
          { modelId: "acme.private", requestCount: 1, sumPromptTokens: 500, sumCompletionTokens: 0 },
        ],
        modelCount: 3,
        sumPromptTokens: 1_000_700,
        sumCompletionTokens: 1_000_000,
      },
      BUILT_IN_PRICES,
    );
    expect(est.usd).toBeCloseTo(0.06 + 0.24, 6);
    expect(est.pricedModels).toEqual(["amazon.nova-lite-v1:0"]);
    expect(est.unpriced).toEqual({ models: 2, tokens: 700 });
  });
});
