/** Athena's list-price estimate: whole MB, 10 MB minimum, 5 USD per TB. */
import { describe, expect, it } from "vitest";
import {
  ATHENA_MIN_BILLED_BYTES,
  athenaBilledBytes,
  athenaQueryCostUsd,
  MB,
  TB,
} from "../../core/athena-cost.js";

describe("athenaQueryCostUsd", () => {
  it("bills at least 10 MB per query, even for none", () => {
    expect(ATHENA_MIN_BILLED_BYTES).toBe(10 * MB);
    expect(athenaBilledBytes(0)).toBe(10 * MB);
    expect(athenaBilledBytes(10 * MB - 1)).toBe(10 * MB);
    expect(athenaQueryCostUsd(0)).toBeCloseTo((10 * MB * 5) / TB, 15);
  });

  it("rounds up to a whole MB above the minimum", () => {
    expect(athenaBilledBytes(10 * MB + 1)).toBe(11 * MB);
    expect(athenaBilledBytes(64 * MB)).toBe(64 * MB);
  });

  it("costs 5 USD per TB", () => {
    expect(athenaQueryCostUsd(TB)).toBe(5);
    expect(athenaQueryCostUsd(2 * TB)).toBe(10);
  });
});
