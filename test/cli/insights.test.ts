/**
 * The `insights` command in-process, CloudWatch Logs mocked at the SDK boundary and Logs Insights emulated by
 * interpreting the query text over records (test/helpers/insights-emulator.ts): over 90 days of generated
 * records (the sample generator's days and the detection cases), its findings are the scanner's over the same
 * records written as files; days, concurrency, the row-limit fallback, retries, failures, the stored-bytes
 * limit, the cost and Ctrl-C.
 */
import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import {
  CloudWatchLogsClient,
  DescribeLogGroupsCommand,
  GetQueryResultsCommand,
  StartQueryCommand,
  StopQueryCommand,
} from "@aws-sdk/client-cloudwatch-logs";
import { mockClient } from "aws-sdk-client-mock";
import { afterEach, beforeAll, beforeEach, describe, expect, it, vi } from "vitest";
import { CliError, EXIT } from "../../cli/errors.js";
import { findLogFiles } from "../../cli/find-log-files.js";
import { historySummary } from "../../cli/format.js";
import { type InsightsIo, type InsightsOptions, runInsights } from "../../cli/insights-command.js";
import { huntPeriods } from "../../cli/insights-hunt.js";
import { describeLogGroups } from "../../cli/log-groups.js";
import { main } from "../../cli/main.js";
import { readLogFile } from "../../cli/read-batches.js";
import { writeSampleData } from "../../cli/sample-data.js";
import { scanLogs } from "../../cli/scan.js";
import { resolveSettings } from "../../config/resolve-settings.js";
import { RULE_SETTINGS, ruleFrom } from "../../config/rule-settings.js";
import type { Finding } from "../../core/finding.js";
import { BYTES_PER_GB, insightsCostUsd } from "../../core/pricing.js";
import type { InvocationRecord } from "../../core/record-reader.js";
import { DAY_MS, type Rule, type Window } from "../../core/rule.js";
import { detectionCorpus } from "../helpers/detection-cases.js";
import { emulateInsights, queryWindow } from "../helpers/insights-emulator.js";

const logs = mockClient(CloudWatchLogsClient);
const GROUP = "/aws/bedrock/model-invocations";
const END = Date.parse("2026-11-20T00:00:00Z");
const WINDOW: Window = { startMs: END - 90 * DAY_MS, endMs: END };
const RULE: Rule = ruleFrom(resolveSettings(RULE_SETTINGS, {}, "cli"));

let dir: string;
let records: InvocationRecord[];

/** 90 days: sample days (with their week of anomaly history) at the start, middle and end, and the detection cases. */
beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "bdd-insights-"));
  const days = [
    { seed: 3, endMs: WINDOW.startMs + DAY_MS },
    { seed: 5, endMs: END - 45 * DAY_MS },
    { seed: 42, endMs: END - 10 * DAY_MS },
  ];
  for (const d of days) await writeSampleData(join(dir, `sample-${d.seed}`), d);
  mkdirSync(join(dir, "cases"));
  writeFileSync(join(dir, "cases", "day.json.gz"), gzipSync(`${detectionCorpus().join("\n")}\n`));
  records = [];
  const { files } = await findLogFiles([dir]);
  for (const f of files) {
    for await (const item of readLogFile(f.path)) if (item.kind === "record") records.push(item.record);
  }
}, 120_000);

/** The log group, created when its first record was written (it holds every record from then on). */
const describedGroup = (storedBytes: number) => ({
  logGroups: [
    {
      logGroupName: GROUP,
      storedBytes,
      creationTime: records.reduce((m, r) => Math.min(m, r.timestampMs), Number.POSITIVE_INFINITY),
    },
  ],
});

beforeEach(() => {
  logs.reset();
  logs.on(DescribeLogGroupsCommand).resolves(describedGroup(5 * BYTES_PER_GB));
});

/** A stream that keeps what is written. */
function capture(tty = false) {
  const chunks: string[] = [];
  return {
    isTTY: tty,
    columns: 120,
    write(chunk: string) {
      chunks.push(chunk);
      return true;
    },
    text: () => chunks.join(""),
  } as unknown as NodeJS.WritableStream & { isTTY: boolean; text(): string };
}

/** Sleeping advances time at once: polls and backoff cost no test time. */
function instantClock() {
  let now = Date.parse("2026-11-21T00:00:00Z");
  return {
    now: () => now,
    sleep: async (ms: number) => {
      now += ms;
    },
  };
}

const OPTIONS: InsightsOptions = { format: "json", concurrency: 4, maxStoredGb: 100, progress: false };

async function hunt(window: Window, options: Partial<InsightsOptions> = {}, io: Partial<InsightsIo> = {}) {
  const stdout = capture();
  const stderr = capture();
  const code = await runInsights(
    [GROUP],
    RULE,
    window,
    { ...OPTIONS, ...options },
    {
      stdout,
      stderr,
      clock: instantClock(),
      signal: new AbortController().signal,
      ...io,
    },
  );
  return { code, stdout: stdout.text(), stderr: stderr.text() };
}

interface Report {
  findings: Finding[];
  history: ReturnType<typeof historySummary>;
  source: {
    queries: number;
    bytesScanned: number;
    costUsd: number;
    queried: string[];
    details: Record<string, number>;
  };
}

describe("insights over 90 days: the scanner's findings over the same records", () => {
  it("every detection fires, and the findings and anomaly's history are the scanner's", async () => {
    const { queried } = emulateInsights(logs, () => records);
    const { code, stdout, stderr } = await hunt(WINDOW);
    expect(code, stderr).toBe(EXIT.ok);
    const report = JSON.parse(stdout) as Report;
    const scanned = await scanLogs([dir], RULE, WINDOW);
    expect(report.findings).toEqual(scanned.findings);
    expect(report.history).toEqual(historySummary(scanned, RULE));
    const fired = new Set(report.findings.flatMap((f) => f.detections));
    expect([...fired].sort()).toEqual(["anomaly", "cached-input", "heavy-requests", "token-volume"]);
    // The records before the window count only as history: the first sample's week before it is there.
    expect(report.history.records).toBeGreaterThan(0);
    // One query per UTC day: 90 of the window, 7 of anomaly's history.
    expect(queried).toHaveLength(97);
    expect(report.source.queries).toBe(97);
    expect(report.source.details).toMatchObject({ windowDays: 90, historyDays: 7, rowLimitReached: 0 });
  }, 120_000);
});

describe("days", () => {
  it("each query covers one UTC day (cut at the window's ends), its StartQuery times covering it", async () => {
    emulateInsights(logs, () => records);
    const window = { startMs: END - 2 * DAY_MS - 3_600_000 * 5.5, endMs: END - 3_600_000 };
    await hunt(window);
    const starts = logs.commandCalls(StartQueryCommand).map((c) => c.args[0].input);
    const windows = starts.map((s) => queryWindow(s.queryString ?? ""));
    const expected = huntPeriods(RULE, window);
    expect(windows.sort((a, b) => a.startMs - b.startMs)).toEqual(
      [...expected.history, ...expected.window].sort((a, b) => a.startMs - b.startMs),
    );
    for (const w of windows) {
      expect(w.endMs - w.startMs).toBeLessThanOrEqual(DAY_MS);
      expect(Math.floor(w.startMs / DAY_MS)).toBe(Math.floor((w.endMs - 1) / DAY_MS));
    }
    for (const s of starts) {
      const w = queryWindow(s.queryString ?? "");
      expect(s.startTime).toBe(Math.floor(w.startMs / 1000));
      expect(s.endTime).toBe(Math.ceil(w.endMs / 1000));
      expect(s.logGroupIdentifiers).toEqual([GROUP]);
    }
    // The window cut at midnight, mid-day at both ends; history from baselineDays before its first clock hour.
    expect(expected.window.map((w) => w.endMs - w.startMs)).toEqual([
      5.5 * 3_600_000,
      DAY_MS,
      DAY_MS - 3_600_000,
    ]);
    expect(expected.history[0]?.startMs).toBe(END - 2 * DAY_MS - 6 * 3_600_000 - 7 * DAY_MS);
    expect(expected.history.at(-1)?.endMs).toBe(window.startMs);
  });

  it("no more queries run at once than --concurrency", async () => {
    // A query runs from StartQuery until GetQueryResults says Complete.
    let running = 0;
    let most = 0;
    let started = 0;
    logs.on(StartQueryCommand).callsFake(async () => {
      running++;
      most = Math.max(most, running);
      return { queryId: `c-${++started}` };
    });
    logs.on(GetQueryResultsCommand).callsFake(async () => {
      running--;
      return { status: "Complete", results: [], statistics: { bytesScanned: 0 } };
    });
    const { code } = await hunt({ startMs: END - 20 * DAY_MS, endMs: END }, { concurrency: 3 });
    expect(code).toBe(EXIT.ok);
    expect(started).toBe(27);
    expect(most).toBe(3);
  });
});

describe("the row limit, retries and failures", () => {
  const threeDays = { startMs: END - 3 * DAY_MS, endMs: END };

  it("days whose rows reach a lowered row limit are halved: the findings stay the scanner's", async () => {
    emulateInsights(logs, () => records);
    // The day of the seed-42 sample: a few thousand requests in many groups.
    const sampleDay = { startMs: END - 11 * DAY_MS, endMs: END - 10 * DAY_MS };
    const { code, stdout } = await hunt(sampleDay, {}, { rowLimit: 300 });
    expect(code).toBe(EXIT.ok);
    const report = JSON.parse(stdout) as Report;
    expect(report.source.details.rowLimitReached).toBeGreaterThan(0);
    expect(report.source.queries).toBeGreaterThan(1 + 7);
    const scanned = await scanLogs([dir], RULE, sampleDay);
    expect(report.findings).toEqual(scanned.findings);
    expect(report.findings.length).toBeGreaterThan(0);
  });

  it("a minute whose rows still reach the limit is read per account, and its findings say so", async () => {
    emulateInsights(logs, () => records);
    // The detection cases' flood hour, without history: every minute of it is queried alone, then per account.
    const rule = { ...RULE, baselineDays: 0, excludedIdentityPatterns: ["arn:aws:iam::*:user/nobody"] };
    const floodHour = {
      startMs: Date.parse("2026-11-19T14:00:00Z"),
      endMs: Date.parse("2026-11-19T15:00:00Z"),
    };
    const stdout = capture();
    const stderr = capture();
    const code = await runInsights([GROUP], rule, floodHour, OPTIONS, {
      stdout,
      stderr,
      clock: instantClock(),
      signal: new AbortController().signal,
      rowLimit: 1,
    });
    expect(code).toBe(EXIT.ok);
    const report = JSON.parse(stdout.text()) as Report;
    expect(report.findings.length).toBeGreaterThan(0);
    expect(
      report.findings.every((f) => (f.caveats ?? []).some((c) => c.includes("account-level query"))),
    ).toBe(true);
    expect(stderr.text()).toMatch(
      /warning: usage rows reached the row limit even for a minute; using account-level rows \(\d+ times\)/,
    );
  });

  it("Throttling on StartQuery and GetQueryResults is retried", async () => {
    const emulated = emulateInsights(logs, () => records);
    const throttled = () => Object.assign(new Error("Rate exceeded"), { name: "ThrottlingException" });
    logs.on(StartQueryCommand).rejectsOnce(throttled()).callsFake(emulated.startQuery);
    logs.on(GetQueryResultsCommand).rejectsOnce(throttled()).callsFake(emulated.getQueryResults);
    const { code, stdout } = await hunt(threeDays);
    expect(code).toBe(EXIT.ok);
    const report = JSON.parse(stdout) as Report;
    expect(report.source.queries).toBe(10);
    expect(logs.commandCalls(StartQueryCommand)).toHaveLength(11);
    expect(report.findings).toEqual((await scanLogs([dir], RULE, threeDays)).findings);
  });

  it("a Failed query ends the hunt with one line, and the other running queries are stopped", async () => {
    let n = 0;
    logs.on(StartQueryCommand).callsFake(async () => ({ queryId: `f-${++n}` }));
    logs.on(GetQueryResultsCommand).callsFake(async (input: { queryId: string }) => ({
      status: input.queryId === "f-2" ? "Failed" : "Running",
    }));
    logs.on(StopQueryCommand).resolves({ success: true });
    const err = await hunt(threeDays).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CliError);
    expect((err as CliError).message).toBe("Logs Insights: Logs Insights query f-2 ended with status Failed");
    expect((err as CliError).exitCode).toBe(EXIT.usage);
    const stopped = logs.commandCalls(StopQueryCommand).map((c) => c.args[0].input.queryId);
    expect(stopped.sort()).toEqual(["f-1", "f-3", "f-4"]);
  });
});

describe("cost: stored bytes before, bytes scanned after", () => {
  const day = { startMs: END - DAY_MS, endMs: END };

  it("refuses to start above --max-stored-gb, naming the flag, and starts when it is raised", async () => {
    emulateInsights(logs, () => records);
    logs.on(DescribeLogGroupsCommand).resolves(describedGroup(150 * BYTES_PER_GB));
    const err = await hunt(day).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CliError);
    expect((err as CliError).message).toMatch(
      /^the log groups hold 150\.0 GB: scanning all of it costs at most 0\.75 USD .*over --max-stored-gb 100: raise it \(--max-stored-gb 150\)/,
    );
    expect((err as CliError).flags).toEqual(["--max-stored-gb"]);
    expect(logs).not.toHaveReceivedCommand(StartQueryCommand);
    const raised = await hunt(day, { maxStoredGb: 150 });
    expect(raised.code).toBe(EXIT.ok);
    expect(raised.stderr.split("\n")[0]).toBe(
      `CloudWatch Logs Insights over 1 log group(s) holding 150.0 GB: scanning all of it costs at most 0.75 USD (0.005 USD per GB scanned)`,
    );
  });

  it("the report says the queries run, the bytes scanned and their cost", async () => {
    emulateInsights(logs, () => records);
    const { stdout, stderr } = await hunt(day);
    const report = JSON.parse(stdout) as Report;
    // The emulator bills one byte per record in each queried day: the window's and the history's.
    const historyStart = day.startMs - 7 * DAY_MS;
    const inQueried = records.filter(
      (r) => r.timestampMs >= historyStart && r.timestampMs < day.endMs,
    ).length;
    expect(report.source).toMatchObject({
      engine: "CloudWatch Logs Insights",
      queried: [GROUP],
      queries: 8,
      bytesScanned: inQueried,
      costUsd: insightsCostUsd(inQueried),
    });
    expect(report.source.details.storedBytes).toBe(5 * BYTES_PER_GB);
    expect(stderr).toContain("Querying 8 days (1 in the window, 7 of anomaly's history), 4 at a time\n");
    expect(stderr).toMatch(/^8 queries run, \d+\.\d+ KB scanned, 0\.0000 USD$/m);
    const table = await hunt(day, { format: "table" });
    expect(table.stdout).toMatch(
      /^Queried {2}CloudWatch Logs Insights: \/aws\/bedrock\/model-invocations; 8 queries, /m,
    );
  });

  it("a progress line on a terminal: days done, bytes scanned, running cost", async () => {
    emulateInsights(logs, () => records);
    const stderr = capture(true);
    await runInsights(
      [GROUP],
      RULE,
      day,
      { ...OPTIONS, progress: true },
      {
        stdout: capture(),
        stderr,
        clock: instantClock(),
        signal: new AbortController().signal,
      },
    );
    expect(stderr.text()).toMatch(/\] 8\/8 days, [\d.]+ KB scanned, 0\.0000 USD/);
  });
});

describe("Ctrl-C", () => {
  it("stops every running query (StopQuery) and ends with exit code 130 and one line", async () => {
    let n = 0;
    logs.on(StartQueryCommand).callsFake(async () => ({ queryId: `r-${++n}` }));
    logs.on(GetQueryResultsCommand).resolves({ status: "Running", statistics: { bytesScanned: 10 } });
    logs.on(StopQueryCommand).resolves({ success: true });
    const controller = new AbortController();
    let polls = 0;
    const clock = instantClock();
    const err = await hunt(
      { startMs: END - 20 * DAY_MS, endMs: END },
      {},
      {
        signal: controller.signal,
        clock: {
          now: clock.now,
          sleep: async (ms) => {
            await clock.sleep(ms);
            if (++polls === 12) controller.abort();
          },
        },
      },
    ).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CliError);
    expect((err as CliError).exitCode).toBe(EXIT.interrupted);
    expect((err as CliError).message).toBe("interrupted after 0 of 27 days: 4 running queries stopped");
    const stopped = logs.commandCalls(StopQueryCommand).map((c) => c.args[0].input.queryId);
    expect(stopped.sort()).toEqual(["r-1", "r-2", "r-3", "r-4"]);
    expect(logs.commandCalls(StartQueryCommand)).toHaveLength(4);
  });
});

describe("log groups by name or ARN", () => {
  const arn = `arn:aws:logs:us-east-1:123456789012:log-group:${GROUP}:*`;

  it("an ARN is described by its name and queried as given; a bad identifier is one line", async () => {
    const client = new CloudWatchLogsClient({ region: "us-east-1" });
    const groups = await describeLogGroups(client, [arn], Date.now());
    expect(logs).toHaveReceivedCommandWith(DescribeLogGroupsCommand, { logGroupIdentifiers: [GROUP] });
    expect(groups).toEqual([
      { identifier: arn, name: GROUP, storedBytes: 5 * BYTES_PER_GB, recordsFromMs: expect.any(Number) },
    ]);
    await expect(describeLogGroups(client, ["no spaces allowed"], Date.now())).rejects.toThrow(
      new CliError('"no spaces allowed" is not a log group name or ARN'),
    );
  });

  it("history is known from the creation, or from the oldest day the retention keeps", async () => {
    const now = Date.parse("2026-11-21T00:00:00Z");
    const client = new CloudWatchLogsClient({ region: "us-east-1" });
    logs.on(DescribeLogGroupsCommand).resolves({
      logGroups: [{ logGroupName: GROUP, storedBytes: 1, creationTime: 1000, retentionInDays: 30 }],
    });
    expect((await describeLogGroups(client, [GROUP], now))[0]?.recordsFromMs).toBe(now - 30 * DAY_MS);
    logs.on(DescribeLogGroupsCommand).resolves({ logGroups: [{ logGroupName: GROUP, storedBytes: 1 }] });
    expect((await describeLogGroups(client, [GROUP], now))[0]?.recordsFromMs).toBeUndefined();
  });
});

describe("through main: one line on stderr and the exit code", () => {
  let err: string[];
  let out: string[];
  beforeEach(() => {
    err = [];
    out = [];
    vi.spyOn(process.stderr, "write").mockImplementation((c) => {
      err.push(String(c));
      return true;
    });
    vi.spyOn(process.stdout, "write").mockImplementation((c) => {
      out.push(String(c));
      return true;
    });
  });
  afterEach(() => {
    vi.restoreAllMocks();
  });

  it("a log group that does not exist", async () => {
    logs.on(DescribeLogGroupsCommand).resolves({ logGroups: [] });
    const code = await main([
      "node",
      "cli",
      "insights",
      "--region",
      "us-east-1",
      "/nope",
      "--lookback",
      "1d",
    ]);
    expect(code).toBe(EXIT.usage);
    expect(err.join("")).toBe("error: log group not found: /nope (check the name and --region)\n");
    expect(out).toEqual([]);
  });

  it("access denied", async () => {
    logs.on(DescribeLogGroupsCommand).rejects(
      Object.assign(new Error("User is not authorized to perform: logs:DescribeLogGroups"), {
        name: "AccessDeniedException",
        $metadata: { httpStatusCode: 400 },
      }),
    );
    const code = await main(["node", "cli", "insights", "--region", "us-east-1", GROUP]);
    expect(code).toBe(EXIT.usage);
    expect(err.join("")).toBe(
      "error: CloudWatch Logs: access denied (AccessDeniedException): the credentials need logs:DescribeLogGroups, logs:StartQuery, logs:GetQueryResults, logs:StopQuery\n",
    );
  });

  it("bad flags: a concurrency over the limit, a stored-bytes limit that is not a number", async () => {
    expect(await main(["node", "cli", "insights", "--concurrency", "101", GROUP])).toBe(EXIT.usage);
    expect(await main(["node", "cli", "insights", "--max-stored-gb", "lots", GROUP])).toBe(EXIT.usage);
    expect(logs).not.toHaveReceivedCommand(DescribeLogGroupsCommand);
  });
});
