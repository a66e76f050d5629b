/** Stored slices on a real DynamoDB API (dynalite, which enforces the 400 KB item limit). */
import { PutItemCommand } from "@aws-sdk/client-dynamodb";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { STATE } from "../../config/names.js";
import { DEFAULT_RULE } from "../../config/rule-settings.js";
import { evaluateUsage } from "../../core/detections.js";
import type { UsageGroup } from "../../core/usage.js";
import {
  decodePart,
  encodeParts,
  PART_MAX_BYTES,
  SLICE_FORMAT,
  SliceStore,
} from "../../lambda/adapters/slice-store.js";
import { startDynalite } from "../helpers/dynalite.js";

const P = 15 * 60_000;
const cell = (k: number) => ({ startMs: k * P, endMs: (k + 1) * P });
/** A usage group; every i is its own principal (role), every other one has requests matching the hunt. */
const group = (i: number, account = `${100000000000 + (i % 3000)}`): UsageGroup => ({
  accountId: account,
  identityArn: `arn:aws:sts::${account}:assumed-role/worker-role-${i}/session-${i}-${"x".repeat(i % 40)}`,
  modelId: `anthropic.claude-3-5-sonnet-20240620-v1:${i % 7}`,
  hourMs: Math.floor(i / 1000) * 3_600_000,
  requests: 3 + (i % 5),
  firstSeenMs: i,
  lastSeenMs: i + 2,
  inputTokens: 9000 * (i % 11),
  cacheReadTokens: i % 4 === 0 ? 180_000 * (i % 3) : 0,
  cacheWriteTokens: i % 9,
  outputTokens: 7900 * (i % 13),
  cachedInputRequests: i % 4 === 0 ? i % 3 : 0,
  cachedInputTokens: i % 4 === 0 ? 180_006 * (i % 3) : 0,
  maxCachedInputTokens: i % 6 === 0 ? null : 180_006 + i,
  hunt:
    i % 2 === 0
      ? null
      : {
          requestCount: 1 + (i % 3),
          maxPromptTokens: 8001 + i,
          maxRequestSize: i % 4 === 1 ? null : 9000 + i,
          maxCompletionTokens: i % 3 === 0 ? null : 12,
          maxCacheInclusiveInputTokens: 8001 + i,
          firstSeenMs: i,
          lastSeenMs: i + 1,
          sumPromptTokens: (8001 + i) * (1 + (i % 3)),
          sumCompletionTokens: i % 3 === 0 ? null : 12 * (1 + (i % 3)),
        },
});

let db: Awaited<ReturnType<typeof startDynalite>>;
beforeAll(async () => {
  db = await startDynalite();
});
afterAll(async () => {
  await db.stop();
});

describe("slice store", () => {
  it("keeps a slice of 3,000 accounts and 20,000 identities exact, in parts under the item limit", async () => {
    const groups = Array.from({ length: 20_000 }, (_, i) => group(i));
    const parts = encodeParts(groups);
    expect(parts.length).toBeGreaterThan(1);
    for (const p of parts) expect(p.length).toBeLessThanOrEqual(PART_MAX_BYTES);
    expect(parts.flatMap(decodePart)).toEqual(groups);

    const store = new SliceStore(db.client, await db.createTable());
    await store.write({ window: cell(10), groups, bytesScanned: 123 }, Date.now() + 86_400_000, 1);
    const [read] = await store.read({ startMs: 0, endMs: 100 * P });
    expect(read?.window).toEqual(cell(10));
    expect(read?.groups).toEqual(groups);
    expect(read?.bytesScanned).toBe(123);
    // Every detection over the stored period is what it is over the groups themselves.
    const window = { startMs: 0, endMs: 100 * P };
    const merged = evaluateUsage(read?.groups ?? [], DEFAULT_RULE, window);
    expect(merged.findings).toEqual(evaluateUsage(groups, DEFAULT_RULE, window).findings);
    expect(merged.findings.some((f) => f.detections.includes("cached-input"))).toBe(true);
    expect(new Set(groups.map((g) => g.identityArn)).size).toBe(20_000);
  }, 60_000);

  it("a slice an earlier release stored (the hunt's groups only) counts as missing: it is queried again", async () => {
    const table = await db.createTable();
    const store = new SliceStore(db.client, table);
    await store.write({ window: cell(4), groups: [group(1)], bytesScanned: 1 }, Date.now() + 1e8, 1);
    const sk = (part: string) =>
      `${String(cell(4).endMs).padStart(13, "0")}#${String(cell(4).startMs).padStart(13, "0")}#${part}`;
    expect(await store.read({ startMs: 0, endMs: 10 * P })).toHaveLength(1);
    // The same header without the format attribute, as the earlier release wrote it.
    await db.client.send(
      new PutItemCommand({
        TableName: table,
        Item: {
          [STATE.partitionKey]: { S: STATE.slicePartition },
          [STATE.sortKey]: { S: sk("head") },
          parts: { N: "1" },
          generation: { S: "1" },
          bytesScanned: { N: "1" },
        },
      }),
    );
    expect(await store.read({ startMs: 0, endMs: 10 * P })).toEqual([]);
    expect(SLICE_FORMAT).toMatch(/^usage-/);
  });

  it("reads only complete slices inside the window; a rewrite replaces a slice (idempotent)", async () => {
    const table = await db.createTable();
    const store = new SliceStore(db.client, table);
    await store.write({ window: cell(1), groups: [group(1)], bytesScanned: 1 }, Date.now() + 1e8, 1);
    await store.write({ window: cell(2), groups: [group(2)], bytesScanned: 1 }, Date.now() + 1e8, 1);
    await store.write(
      { window: cell(2), groups: [group(3), group(4)], bytesScanned: 2 },
      Date.now() + 1e8,
      2,
    );
    await store.write({ window: cell(5), groups: [], bytesScanned: 0 }, Date.now() + 1e8, 1);
    const read = await store.read({ startMs: cell(2).startMs, endMs: cell(6).startMs });
    expect(read.map((s) => [s.window.startMs / P, s.groups.length])).toEqual([
      [2, 2],
      [5, 0],
    ]);
  });

  it("a rewrite that dies before its header leaves the previous version whole", async () => {
    const table = await db.createTable();
    const store = new SliceStore(db.client, table);
    await store.write({ window: cell(3), groups: [group(7)], bytesScanned: 1 }, Date.now() + 1e8, 1);
    // A newer generation's part, without its header (the run died).
    await db.client.send(
      new PutItemCommand({
        TableName: table,
        Item: {
          [STATE.partitionKey]: { S: STATE.slicePartition },
          [STATE.sortKey]: {
            S: `${String(cell(3).endMs).padStart(13, "0")}#${String(cell(3).startMs).padStart(13, "0")}#2-0`,
          },
          groups: { B: encodeParts([group(8), group(9)])[0] ?? new Uint8Array() },
        },
      }),
    );
    const [read] = await store.read({ startMs: 0, endMs: 10 * P });
    expect(read?.groups).toEqual([group(7)]);
  });
});
