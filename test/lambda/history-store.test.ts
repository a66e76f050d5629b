/**
 * anomaly's hourly roll-ups on a real DynamoDB API (dynalite): the index, the roll-ups of one principal by hour,
 * batches and the traffic counted; and, through scheduled runs, a late request that a re-queried period picks
 * up after its hour was rolled up rewrites that principal's roll-up, and only it.
 */

import { CloudWatchLogsClient } from "@aws-sdk/client-cloudwatch-logs";
import { GetItemCommand } from "@aws-sdk/client-dynamodb";
import { mockClient } from "aws-sdk-client-mock";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ENV } from "../../config/environment.js";
import { STATE } from "../../config/names.js";
import type { InvocationRecord } from "../../core/record-reader.js";
import { HOUR_MS } from "../../core/rule.js";
import { HistoryStore } from "../../lambda/adapters/history-store.js";
import { SliceStore } from "../../lambda/adapters/slice-store.js";
import { StateUsage } from "../../lambda/adapters/state-usage.js";
import { runDetection } from "../../lambda/run-detection.js";
import { toRunRequest } from "../../lambda/run-request.js";
import { detectionDeps, detectorConfig } from "../helpers/aws.js";
import { startDynalite } from "../helpers/dynalite.js";
import { emulateInsights } from "../helpers/insights-emulator.js";
import { rec } from "../helpers/records.js";

const insights = mockClient(CloudWatchLogsClient);
const H = Date.parse("2026-11-20T10:00:00Z");
const A = "111111111111";
const ROLE = `arn:aws:sts::${A}:assumed-role/etl`;

let db: Awaited<ReturnType<typeof startDynalite>>;
beforeAll(async () => {
  db = await startDynalite();
});
afterAll(async () => {
  await db.stop();
});

describe("history store (DynamoDB)", () => {
  it("keeps the index of hours rolled up", async () => {
    const table = await db.createTable();
    const store = new HistoryStore(db.client, table, new StateUsage());
    expect(await store.readIndex()).toEqual(new Set());
    await store.writeIndex(new Set());
    expect(await store.readIndex()).toEqual(new Set());
    const hours = new Set([H - 2 * HOUR_MS, H - HOUR_MS, H]);
    await store.writeIndex(hours);
    expect(await store.readIndex()).toEqual(hours);
  });

  it("reads one principal's hours in [from, to), in batches of any size, with their expiry", async () => {
    const table = await db.createTable();
    const usage = new StateUsage();
    const store = new HistoryStore(db.client, table, usage);
    const totals = Array.from({ length: 60 }, (_, i) => ({
      accountId: A,
      principal: i % 2 === 0 ? ROLE : `arn:aws:iam::${A}:user/u`,
      hourMs: H - Math.floor(i / 2) * HOUR_MS,
      tokens: 1000 + i,
    }));
    await store.writeHours(totals, (h) => h + 8 * 24 * HOUR_MS);
    expect(usage.itemsWritten).toBe(60);
    const hours = await store.readPrincipal(A, ROLE, H - 10 * HOUR_MS, H);
    expect([...hours.entries()].sort((a, b) => a[0] - b[0])).toEqual(
      Array.from({ length: 10 }, (_, k) => [H - (10 - k) * HOUR_MS, 1000 + 2 * (10 - k)]),
    );
    expect(usage.itemsRead).toBe(10);
    // A rewrite of an hour replaces it.
    await store.writeHours([{ accountId: A, principal: ROLE, hourMs: H - HOUR_MS, tokens: 7 }], () => H);
    expect((await store.readPrincipal(A, ROLE, H - HOUR_MS, H)).get(H - HOUR_MS)).toBe(7);
    const item = await db.client.send(
      new GetItemCommand({
        TableName: table,
        Key: {
          [STATE.partitionKey]: { S: `${STATE.principalHoursPrefix}${A}#${ROLE}` },
          [STATE.sortKey]: { S: String(H).padStart(13, "0") },
        },
      }),
    );
    expect(item.Item?.[STATE.ttlAttribute]?.N).toBe(String((H + 8 * 24 * HOUR_MS) / 1000));
    const [a, b] = await store.readPrincipals(
      [
        { accountId: A, principal: ROLE },
        { accountId: A, principal: "arn:aws:iam::111111111111:user/nobody" },
      ],
      H - 2 * HOUR_MS,
      H + HOUR_MS,
    );
    expect(a?.size).toBe(3);
    expect(b?.size).toBe(0);
  });

  it("a period re-queried for a late request rewrites its hour's roll-up for that principal only", async () => {
    const table = await db.createTable();
    const usage = new StateUsage();
    const slices = new SliceStore(db.client, table, usage);
    const history = new HistoryStore(db.client, table, usage, async () => {});
    const at = (m: number) => H + m * 60_000;
    type Timed = InvocationRecord & { arrivesMs: number };
    const request = (identityArn: string, minute: number, tokens: number, delayMin = 0): Timed => ({
      ...rec({
        accountId: A,
        identityArn,
        promptTokens: 100,
        completionTokens: tokens - 100,
        timestamp: new Date(at(minute)).toISOString(),
      }),
      arrivesMs: at(minute) + delayMin * 60_000,
    });
    const records = [
      request(`${ROLE}/s-1`, 5, 5000),
      request(`arn:aws:iam::${A}:user/other`, 20, 3000),
      // In the hour's last period, but delivered 12 minutes late: after the 11:05 run rolled the hour up.
      request(`${ROLE}/s-2`, 55, 4000, 12),
    ];
    let now = at(65);
    emulateInsights(insights, () => records.filter((r) => r.arrivesMs <= now));
    const config = detectorConfig({
      [ENV.schedule]: "15m",
      [ENV.lookback]: "1h",
      [ENV.baselineDays]: "1",
      [ENV.requeryPreviousSlice]: "true",
    });
    const run = async (t: number) => {
      now = t;
      const { deps } = detectionDeps({ slices, history, stateUsage: usage }, t);
      return runDetection(
        config,
        { ...toRunRequest({ scheduledTime: new Date(t).toISOString() }, config, t), dryRun: true },
        deps,
      );
    };
    await run(at(65));
    const read = async () => history.readPrincipal(A, ROLE, H, H + HOUR_MS);
    expect((await read()).get(H)).toBe(5000);
    const writtenBefore = usage.itemsWritten;
    const second = await run(at(80));
    expect(second.slices).toMatchObject({ queried: 2 });
    expect((await read()).get(H)).toBe(9000);
    // The re-queried period and the new one (a header each; the first also a part), and one roll-up.
    const periodItems = 3;
    expect(usage.itemsWritten - writtenBefore).toBe(periodItems + 1);
    expect((await history.readPrincipal(A, `arn:aws:iam::${A}:user/other`, H, H + HOUR_MS)).get(H)).toBe(
      3000,
    );
  });
});
