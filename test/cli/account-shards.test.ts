import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { shardOf } from "../../cli/account-shards.js";

describe("shardOf: accounts split between the scanner's threads", () => {
  it("gives every account one shard in range, the same every time", () => {
    fc.assert(
      fc.property(fc.string(), fc.integer({ min: 1, max: 64 }), (account, shards) => {
        const k = shardOf(account, shards);
        expect(Number.isInteger(k) && k >= 0 && k < shards).toBe(true);
        expect(shardOf(account, shards)).toBe(k);
      }),
    );
  });

  it("spreads AWS account ids over the shards", () => {
    const counts = new Array<number>(4).fill(0);
    for (let i = 0; i < 4000; i++) {
      const account = String(100000000000 + i * 7919);
      const k = shardOf(account, 4);
      counts[k] = (counts[k] ?? 0) + 1;
    }
    for (const n of counts) expect(n).toBeGreaterThan(800);
  });
});
