/**
 * Per-model thresholds for the hunt (`modelThresholds`): `model-key-prefix=prompt/size/completion`. A record of a
 * model whose key starts with an entry's prefix is held to that entry's thresholds (the longest matching prefix
 * wins); every other record keeps the rule's global thresholds. With no entries the hunt is exactly Elastic's.
 */
import { modelKeyOf } from "./model-key.js";
import type { Metric, ModelThreshold, Rule } from "./rule.js";

/**
 * One entry as text. The prefix's characters are those of model ids, which the Logs Insights query also puts
 * into a regular expression (so nothing else may pass); each threshold is a count of at most 15 digits, at least 1.
 */
export const MODEL_THRESHOLD_ENTRY = /^([\w.:-]{1,200})=([1-9]\d{0,14})\/([1-9]\d{0,14})\/([1-9]\d{0,14})$/;

/** Entries Logs Insights can carry in one query (each adds a parse and a few terms to the query text). */
export const MAX_MODEL_THRESHOLDS = 10;

/** Parses entries already validated against MODEL_THRESHOLD_ENTRY. */
export function parseModelThresholds(entries: readonly string[]): ModelThreshold[] {
  return entries.map((entry) => {
    const m = MODEL_THRESHOLD_ENTRY.exec(entry);
    if (!m)
      throw new RangeError(`model threshold ${JSON.stringify(entry)} is not prefix=prompt/size/completion`);
    return Object.freeze({
      prefix: m[1] ?? "",
      thresholds: Object.freeze({
        promptTokens: Number(m[2]),
        requestSize: Number(m[3]),
        completionTokens: Number(m[4]),
      }),
    });
  });
}

/** The entry text of a parsed threshold (for the function's environment and the docs). */
export const formatModelThreshold = (t: ModelThreshold): string =>
  `${t.prefix}=${t.thresholds.promptTokens}/${t.thresholds.requestSize}/${t.thresholds.completionTokens}`;

/** The entry for a model key: the longest matching prefix, or null. */
export function modelThresholdFor(
  entries: readonly ModelThreshold[],
  modelKey: string,
): ModelThreshold | null {
  let best: ModelThreshold | null = null;
  for (const e of entries) {
    if (modelKey.startsWith(e.prefix) && (best === null || e.prefix.length > best.prefix.length)) best = e;
  }
  return best;
}

export type ThresholdsOf = (modelId: string | null) => Readonly<Record<Metric, number>>;

/** The thresholds a record of each model is held to, remembered per model id (a scan meets few models). */
export function thresholdsResolver(rule: Pick<Rule, "thresholds" | "modelThresholds">): ThresholdsOf {
  const entries = rule.modelThresholds;
  if (entries.length === 0) return () => rule.thresholds;
  const known = new Map<string, Readonly<Record<Metric, number>>>();
  return (modelId) => {
    if (modelId === null) return rule.thresholds;
    let t = known.get(modelId);
    if (t === undefined) {
      t = modelThresholdFor(entries, modelKeyOf(modelId))?.thresholds ?? rule.thresholds;
      if (known.size < 10_000) known.set(modelId, t);
    }
    return t;
  };
}
