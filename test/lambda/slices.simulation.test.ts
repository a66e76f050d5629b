/**
 * A simulated day of scheduled runs every 15 minutes against Logs Insights emulated at the SDK boundary and the
 * real state table on a DynamoDB API (dynalite): a missed run, a retried run and late events. Each period is
 * queried once, each incident alerts once, and escalations alert again.
 */
import { CloudWatchLogsClient } from "@aws-sdk/client-cloudwatch-logs";
import { PublishCommand, SNSClient } from "@aws-sdk/client-sns";
import { mockClient } from "aws-sdk-client-mock";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { ENV } from "../../config/environment.js";
import type { InvocationRecord } from "../../core/record-reader.js";
import { cellKey } from "../../core/slices.js";
import { AlertLedger } from "../../lambda/adapters/alert-ledger.js";
import { SliceStore } from "../../lambda/adapters/slice-store.js";
import { type RunSummary, runDetection } from "../../lambda/run-detection.js";
import { toRunRequest } from "../../lambda/run-request.js";
import { detectionDeps, detectorConfig } from "../helpers/aws.js";
import { startDynalite } from "../helpers/dynalite.js";
import { emulateInsights } from "../helpers/insights-emulator.js";
import { rec } from "../helpers/records.js";

const insights = mockClient(CloudWatchLogsClient);
const sns = mockClient(SNSClient);
const MINUTE = 60_000;
const PERIOD = 15 * MINUTE;
const DAY = Date.parse("2026-11-19T00:00:00Z");
const at = (hhmm: string) => Date.parse(`2026-11-19T${hhmm}:00Z`);

/** A heavy request (prompt tokens over the threshold) that lands in the logs `delayMs` after it happened. */
type Timed = InvocationRecord & { arrivesMs: number };
const heavy = (accountId: string, identity: string, time: number, delayMs = 30_000): Timed => ({
  ...rec({ accountId, identityArn: identity, promptTokens: 9000, timestamp: new Date(time).toISOString() }),
  arrivesMs: time + delayMs,
});

const A = "111111111111";
const B = "222222222222";
const C = "333333333333";
const batchJob = `arn:aws:sts::${A}:assumed-role/batch/nightly`;
const leakedKey = `arn:aws:iam::${A}:user/leaked`;

let db: Awaited<ReturnType<typeof startDynalite>>;
beforeAll(async () => {
  db = await startDynalite();
});
afterAll(async () => {
  await db.stop();
});
beforeEach(() => {
  insights.reset();
  sns.reset();
  sns.on(PublishCommand).resolves({ MessageId: "m" });
});

/** Runs the scheduled invocations at `times` (epoch ms) in order; returns each run's summary. */
async function simulate(
  records: Timed[],
  times: number[],
  env: Record<string, string> = {},
  remainingTimeMs = 600_000,
  /** The schedule in force at each run (a redeploy can change it); 15 minutes by default. */
  scheduleAt: (t: number) => string = () => "15m",
  rowLimit?: number,
) {
  const configAt = (t: number) =>
    detectorConfig({ [ENV.schedule]: scheduleAt(t), [ENV.lookback]: "24h", ...env });
  const config = configAt(times[0] ?? DAY);
  const table = await db.createTable();
  const store = { ledger: new AlertLedger(db.client, table), slices: new SliceStore(db.client, table) };
  let now = times[0] ?? DAY;
  // Logs Insights sees a record once it has arrived.
  const { queried } = emulateInsights(insights, () => records.filter((r) => r.arrivesMs <= now));
  const summaries: RunSummary[] = [];
  for (const t of times) {
    now = t;
    const { deps } = detectionDeps({ ...store, remainingTimeMs: () => remainingTimeMs, rowLimit }, t);
    const request = toRunRequest({ scheduledTime: new Date(t).toISOString() }, configAt(t), t);
    summaries.push(await runDetection(configAt(t), request, deps));
  }
  // "account …, N heavy requests": the part of the subject this test is about (severity and label aside).
  const subjects = sns
    .commandCalls(PublishCommand)
    .map((c) => /account \d{12}, \d+ heavy requests/.exec(String(c.args[0].input.Subject))?.[0]);
  return { summaries, queried, subjects, config };
}

/** Scheduled times of a day at the cron lattice (every 15 minutes, 5 minutes past: the settle delay). */
const scheduledDay = () => Array.from({ length: 96 }, (_, i) => DAY + i * PERIOD + 5 * MINUTE);

describe("a day of scheduled runs over stored slices", () => {
  it("queries each period once (missed and retried runs included) and alerts once per incident, again on escalation", async () => {
    const records: Timed[] = [
      // Incident 1: a batch job of account A at 02:00-02:20, then quiet.
      heavy(A, batchJob, at("02:01")),
      heavy(A, batchJob, at("02:07")),
      heavy(A, batchJob, at("02:16")),
      // A leaked key of the same account starts at 10:00: a new identity escalates.
      heavy(A, leakedKey, at("10:02")),
      // Incident 2: account B, 3 requests at 14:00, then 3 more at 16:00 (the count doubles).
      ...["14:01", "14:02", "14:03", "16:01", "16:02", "16:03"].map((t) =>
        heavy(B, `arn:aws:iam::${B}:user/x`, at(t)),
      ),
      // Late events: C's second request arrives 3 minutes late (inside the 5-minute settle delay).
      heavy(C, `arn:aws:iam::${C}:user/c`, at("20:01")),
      heavy(C, `arn:aws:iam::${C}:user/c`, at("20:14"), 3 * MINUTE),
    ];
    const times = scheduledDay();
    // A missed run at 06:05, and the 12:05 run retried (same scheduled time).
    const missed = times.indexOf(at("06:05"));
    times.splice(missed, 1);
    times.splice(times.indexOf(at("12:05")), 0, at("12:05"));
    const { summaries, queried, subjects } = await simulate(records, times);

    // Every period from a day before the first run to the last run's window end, each queried exactly once.
    const keys = queried.map(cellKey);
    expect(new Set(keys).size).toBe(keys.length);
    expect(keys).toHaveLength(96 + 95);
    expect(Math.min(...queried.map((w) => w.startMs))).toBe(DAY - 24 * 60 * MINUTE);
    expect(Math.max(...queried.map((w) => w.endMs))).toBe(at("23:45"));
    // The run after the missed one caught up two periods; the retried run queried nothing.
    expect(summaries.map((s) => s.slices?.queried)).toContain(2);
    const retried = summaries.filter((s) => s.window.end === new Date(at("12:00")).toISOString());
    expect(retried.map((s) => s.queries)).toEqual([1, 0]);
    // Steady state: one period per run. Bytes queried over the day: each record once.
    expect(summaries.slice(1).every((s) => (s.slices?.queried ?? 0) <= 2)).toBe(true);
    const bytes = summaries.reduce((n, s) => n + s.statistics.bytesScanned, 0);
    expect(bytes).toBe(records.length);

    // Each alert says why it was sent now.
    const reasons = sns
      .commandCalls(PublishCommand)
      .map((c) => /Why now: +(.*)/.exec(JSON.parse(String(c.args[0].input.Message)).email)?.[1]);
    expect(reasons).toEqual([
      "first alert for this account",
      `escalated: requests 2 → 4; new identity ${leakedKey}`,
      "first alert for this account",
      "escalated: requests 3 → 6",
      "first alert for this account",
    ]);
    expect(subjects).toEqual([
      // 02:01 and 02:07 make two (the minimum) by the 02:20 run; the third at 02:16 does not double it.
      `account ${A}, 2 heavy requests`,
      `account ${A}, 4 heavy requests`,
      `account ${B}, 3 heavy requests`,
      `account ${B}, 6 heavy requests`,
      `account ${C}, 2 heavy requests`,
    ]);
  });

  it("a role's rotating sessions are one principal: one alert per incident, escalated by a new principal or detection", async () => {
    const D = "444444444444";
    const build = (n: number) => `arn:aws:sts::${D}:assumed-role/ci-runner/build-${n}`;
    const leaked = `arn:aws:iam::${D}:user/leaked`;
    const records: Timed[] = [
      // The incident: a CI job's heavy requests, six from one build...
      ...[1, 2, 3, 4, 5, 6].map((m) => heavy(D, build(1), at(`01:0${m}`))),
      // ...then one more from each next build, every two hours: each a new session, none a new principal.
      heavy(D, build(2), at("03:01")),
      heavy(D, build(3), at("05:01")),
      heavy(D, build(4), at("07:01")),
      // A leaked key of the same account: a new principal.
      heavy(D, leaked, at("09:01")),
      // The same key floods at 11:00 under the per-request thresholds: token-volume fires too.
      ...Array.from({ length: 1300 }, (_, i) => ({
        ...rec({
          accountId: D,
          identityArn: leaked,
          promptTokens: 7900,
          completionTokens: 7900,
          timestamp: new Date(at("11:00") + i * 2000).toISOString(),
        }),
        arrivesMs: at("11:00") + i * 2000 + 30_000,
      })),
      // More builds after that: still the same incident.
      heavy(D, build(5), at("14:01")),
      heavy(D, build(6), at("16:01")),
    ];
    await simulate(records, scheduledDay());
    const reasons = sns
      .commandCalls(PublishCommand)
      .map((c) => /Why now: +(.*)/.exec(JSON.parse(String(c.args[0].input.Message)).email)?.[1]);
    expect(reasons).toEqual([
      "first alert for this account",
      `escalated: new identity ${leaked}`,
      // A key with no history over anomaly's 2 M floor at 11:15 (7.1 M tokens), over token-volume's 10 M at 11:30.
      "escalated: now also anomaly",
      "escalated: now also token-volume; anomalous hour's tokens 7,110,000 → 14,220,000",
    ]);
    // The flood is seen before its hour is over: at the run whose window ends at 11:30, 900 requests in.
    const last = JSON.parse(String(sns.commandCalls(PublishCommand).at(-1)?.args[0].input.Message)).email;
    expect(last).toContain(`14.2 M tokens in one hour from ${leaked} (900 requests, 11:00-11:30 UTC`);
  });

  it("an event later than the settle delay is missed by the live slices, unless the previous period is re-queried", async () => {
    const late = [
      heavy(C, `arn:aws:iam::${C}:user/c`, at("20:01")),
      heavy(C, `arn:aws:iam::${C}:user/c`, at("20:14"), 10 * MINUTE),
    ];
    const times = [at("20:20"), at("20:35"), at("20:50")];
    const without = await simulate(late, times);
    expect(without.subjects).toEqual([]);
    sns.reset();
    sns.on(PublishCommand).resolves({ MessageId: "m" });
    const withRequery = await simulate(late, times, { [ENV.requeryPreviousSlice]: "true" });
    expect(withRequery.subjects).toEqual([`account ${C}, 2 heavy requests`]);
    // The previous period is queried twice (once late), never more.
    const keys = withRequery.queried.map(cellKey);
    expect(keys.filter((k) => k === cellKey({ startMs: at("20:00"), endMs: at("20:15") }))).toHaveLength(2);
  });

  it("a schedule changed by a redeploy (15 minutes to 1 hour) never counts a request twice", async () => {
    const records = [heavy(A, batchJob, at("09:01")), heavy(A, batchJob, at("09:20"))];
    const quarter = [at("09:20"), at("09:35"), at("09:50"), at("10:05")];
    const hourly = [at("11:05"), at("12:05")];
    const { summaries, subjects } = await simulate(records, [...quarter, ...hourly], {}, 600_000, (t) =>
      t >= at("11:00") ? "1h" : "15m",
    );
    // The hourly runs see the 09:00 hour twice-stored (as four quarters and as one hour) but count it once.
    expect(subjects).toEqual([`account ${A}, 2 heavy requests`]);
    expect(summaries.at(-1)?.findings).toBe(1);
    expect(summaries.map((s) => s.accounts.length)).toEqual([0, 1, 1, 1, 1, 1]);
  });

  it("a period whose rows reach the row limit is halved until they fit: counts and evidence stay exact", async () => {
    const users = Array.from({ length: 8 }, (_, i) => `arn:aws:iam::${A}:user/u${i}`);
    const records = users.map((u, i) => heavy(A, u, at("12:00") + i * MINUTE + 1000));
    const { summaries, subjects } = await simulate(
      records,
      [at("12:20")],
      { [ENV.lookback]: "1h" },
      600_000,
      undefined,
      3,
    );
    expect(summaries[0]).toMatchObject({ fellBack: true, findings: 1 });
    expect(subjects).toEqual([`account ${A}, 8 heavy requests`]);
    const email = JSON.parse(String(sns.commandCalls(PublishCommand)[0]?.args[0].input.Message))
      .email as string;
    expect(email).toMatch(/of 8 identities|8 identities/);
  });

  it("catches up within the run's time and continues on the next run, newest periods first", async () => {
    const records = [heavy(A, batchJob, at("01:01")), heavy(A, batchJob, at("01:02"))];
    // Every query takes a poll (1 s on the fake clock); a short remaining time cuts each run's catch-up.
    const times = Array.from({ length: 10 }, (_, i) => at("12:05") + i * PERIOD);
    const { summaries, subjects, queried } = await simulate(records, times, {}, 120_000);
    const pending = summaries.map((s) => s.slices?.pending ?? -1);
    expect(pending[0]).toBeGreaterThan(0);
    // Each run gets further, until nothing is pending.
    for (let i = 1; i < pending.length; i++) expect(pending[i]).toBeLessThanOrEqual(pending[i - 1] ?? 0);
    expect(pending.at(-1)).toBe(0);
    // The first run started with its newest period.
    expect(queried[0]).toEqual({ startMs: at("11:45"), endMs: at("12:00") });
    // The 01:00 requests were in the oldest periods: alerted once they were caught up, once.
    expect(subjects).toEqual([`account ${A}, 2 heavy requests`]);
    expect(new Set(queried.map(cellKey)).size).toBe(queried.length);
  });
});
