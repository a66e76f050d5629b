/** fast-check generators of already-read invocation records, shared by the property tests. */
import fc from "fast-check";
import type { InvocationRecord } from "../../core/record-reader.js";

/** A metric value around the small thresholds the property tests use, or missing. */
export const metricArb = fc.option(fc.integer({ min: 0, max: 200 }), { nil: null });

/** Records of the given accounts, identities and times (the rest of each record arbitrary). */
export function recordArb(opts: {
  accounts: readonly string[];
  identities: readonly string[];
  timestampMs: fc.Arbitrary<number>;
}): fc.Arbitrary<InvocationRecord> {
  return fc
    .record({
      accountId: fc.constantFrom(...opts.accounts),
      identityArn: fc.option(fc.constantFrom(...opts.identities), { nil: null }),
      modelId: fc.option(fc.constantFrom("m1", "m2"), { nil: null }),
      timestampMs: opts.timestampMs,
      promptTokens: metricArb,
      completionTokens: metricArb,
      requestSize: metricArb,
      cacheReadTokens: metricArb,
      cacheWriteTokens: metricArb,
    })
    .map((r) => ({
      ...r,
      timestamp: new Date(r.timestampMs).toISOString(),
      requestId: null,
      operation: "InvokeModel",
      errorCode: null,
    }));
}
