/**
 * A small, overridable on-demand price table for the alert's cost estimate: model id prefix to US dollars
 * per 1,000 input and output tokens. An estimate only: list prices change, differ by region, and batch,
 * provisioned throughput, cache tokens and discounts are not counted. Models not in the table are reported as
 * "unknown price", never guessed. Pure: no AWS.
 */
import type { Finding } from "./evaluator.js";
import { modelKeyOf } from "./model-key.js";

export interface ModelPrice {
  /** Matched against the model id without its ARN and cross-region inference prefix (`us.`, `eu.`, ...). */
  readonly prefix: string;
  readonly inputPer1k: number;
  readonly outputPer1k: number;
}

/** When the built-in prices were taken from the Amazon Bedrock pricing page (us-east-1, on demand). */
export const BUILT_IN_PRICES_AS_OF = "2025";

/** Built-in list prices (us-east-1, on demand, standard tier). Override or extend with `modelPrices`. */
export const BUILT_IN_PRICES: readonly ModelPrice[] = [
  { prefix: "anthropic.claude-3-5-sonnet", inputPer1k: 0.003, outputPer1k: 0.015 },
  { prefix: "anthropic.claude-3-7-sonnet", inputPer1k: 0.003, outputPer1k: 0.015 },
  { prefix: "anthropic.claude-sonnet-4", inputPer1k: 0.003, outputPer1k: 0.015 },
  { prefix: "anthropic.claude-3-5-haiku", inputPer1k: 0.0008, outputPer1k: 0.004 },
  { prefix: "anthropic.claude-3-haiku", inputPer1k: 0.00025, outputPer1k: 0.00125 },
  { prefix: "anthropic.claude-3-opus", inputPer1k: 0.015, outputPer1k: 0.075 },
  { prefix: "anthropic.claude-opus-4", inputPer1k: 0.015, outputPer1k: 0.075 },
  { prefix: "amazon.nova-micro", inputPer1k: 0.000035, outputPer1k: 0.00014 },
  { prefix: "amazon.nova-lite", inputPer1k: 0.00006, outputPer1k: 0.00024 },
  { prefix: "amazon.nova-pro", inputPer1k: 0.0008, outputPer1k: 0.0032 },
  { prefix: "meta.llama3-1-8b-instruct", inputPer1k: 0.00022, outputPer1k: 0.00022 },
  { prefix: "meta.llama3-1-70b-instruct", inputPer1k: 0.00072, outputPer1k: 0.00072 },
];

/** Parses `modelPrices` entries (`prefix=input/output`, validated by the settings table). */
export function parsePrices(entries: readonly string[]): ModelPrice[] {
  return entries.map((e) => {
    const [prefix = "", prices = ""] = e.split("=");
    const [input = "", output = ""] = prices.split("/");
    return { prefix, inputPer1k: Number(input), outputPer1k: Number(output) };
  });
}

/** Overrides first, then the built-in table; the longest matching prefix wins within that order. */
export function priceTable(overrides: readonly ModelPrice[]): readonly ModelPrice[] {
  return [...overrides, ...BUILT_IN_PRICES];
}

/** The model key (core/model-key.ts): what price prefixes are matched against. */
export const baseModelId = modelKeyOf;

export function priceFor(modelId: string, table: readonly ModelPrice[]): ModelPrice | null {
  const id = baseModelId(modelId);
  const overrides = table.filter((p) => !BUILT_IN_PRICES.includes(p));
  for (const group of [overrides, BUILT_IN_PRICES]) {
    const hits = group.filter((p) => id.startsWith(p.prefix));
    if (hits.length > 0) return hits.reduce((a, b) => (b.prefix.length > a.prefix.length ? b : a));
  }
  return null;
}

export interface CostEstimate {
  /** US dollars for the requests of priced models (0 when none is priced). */
  readonly usd: number;
  /** Models whose price was known. */
  readonly pricedModels: readonly string[];
  /** Models (of the evidence list, plus "others" beyond it) without a known price, and their tokens. */
  readonly unpriced: { readonly models: number; readonly tokens: number };
  /** False when no token counts were logged at all: nothing to estimate. */
  readonly known: boolean;
}

/**
 * The on-demand cost of a finding's matching requests: the evidence models' token sums times their prices.
 * Tokens of models beyond the evidence list, or without a price, are counted as unpriced.
 */
export function estimateCost(
  f: Pick<Finding, "topModels" | "modelCount" | "sumPromptTokens" | "sumCompletionTokens">,
  table: readonly ModelPrice[],
): CostEstimate {
  let usd = 0;
  let pricedTokens = 0;
  let listedTokens = 0;
  const pricedModels: string[] = [];
  let unpricedModels = 0;
  for (const m of f.topModels) {
    const input = m.sumPromptTokens ?? 0;
    const output = m.sumCompletionTokens ?? 0;
    listedTokens += input + output;
    const price = priceFor(m.modelId, table);
    if (price === null) {
      if (input + output > 0) unpricedModels++;
      continue;
    }
    usd += (input / 1000) * price.inputPer1k + (output / 1000) * price.outputPer1k;
    pricedTokens += input + output;
    pricedModels.push(m.modelId);
  }
  const total = (f.sumPromptTokens ?? 0) + (f.sumCompletionTokens ?? 0);
  const others = Math.max(0, total - listedTokens);
  if (others > 0) unpricedModels += Math.max(1, f.modelCount - f.topModels.length);
  return {
    usd,
    pricedModels,
    unpriced: { models: unpricedModels, tokens: total - pricedTokens },
    known: f.sumPromptTokens !== null || f.sumCompletionTokens !== null,
  };
}

/** Bytes in the GB that AWS bills scanned data by (2^30). */
export const BYTES_PER_GB = 1024 ** 3;

/**
 * CloudWatch Logs Insights' list price per GB scanned (us-east-1, standard log class; the same in most
 * Regions): what a query costs, whoever runs it (the scheduled Lambda, the CLI's `insights` command).
 */
export const INSIGHTS_USD_PER_GB_SCANNED = 0.005;

/** What Logs Insights bills for scanning `bytes`, in US dollars. */
export const insightsCostUsd = (bytes: number): number =>
  (bytes / BYTES_PER_GB) * INSIGHTS_USD_PER_GB_SCANNED;
