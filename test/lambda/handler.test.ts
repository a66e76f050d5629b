/** The real handler module with the real Powertools Logger and Metrics; AWS mocked at the SDK boundary. */
import {
  CloudWatchLogsClient,
  GetQueryResultsCommand,
  StartQueryCommand,
} from "@aws-sdk/client-cloudwatch-logs";
import { EventBridgeClient, PutEventsCommand } from "@aws-sdk/client-eventbridge";
import { PublishCommand, SNSClient } from "@aws-sdk/client-sns";
import { mockClient } from "aws-sdk-client-mock";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from "vitest";
import { ENV } from "../../config/environment.js";
import { lambdaContext, resultRows, usageRow } from "../helpers/aws.js";
import { startDynalite } from "../helpers/dynalite.js";

const logs = mockClient(CloudWatchLogsClient);
const sns = mockClient(SNSClient);
const eventBridge = mockClient(EventBridgeClient);
const TOPIC = "arn:aws:sns:eu-west-1:123456789012:alerts";
const context = lambdaContext();

let output: string[] = [];

async function loadHandler(env: Record<string, string | undefined>) {
  vi.resetModules();
  for (const [k, v] of Object.entries(env)) {
    if (v === undefined) vi.stubEnv(k, "");
    else vi.stubEnv(k, v);
  }
  return (await import("../../lambda/handler.js")).handler;
}

const goodEnv = {
  [ENV.logGroupIdentifiers]: "/aws/bedrock/invocations",
  [ENV.alertTopicArn]: TOPIC,
  AWS_REGION: "eu-west-1",
};

const jsonLines = () =>
  output
    .join("")
    .split("\n")
    .filter((l) => l.startsWith("{"))
    .map((l) => JSON.parse(l) as Record<string, unknown>);

describe("handler", () => {
  beforeEach(() => {
    logs.reset();
    sns.reset();
    output = [];
    // Powertools writes INFO and metrics to stdout, WARN and ERROR to stderr: capture both.
    for (const stream of [process.stdout, process.stderr]) {
      vi.spyOn(stream, "write").mockImplementation((chunk: string | Uint8Array) => {
        output.push(String(chunk));
        return true;
      });
    }
    logs.on(StartQueryCommand).resolves({ queryId: "q-1" });
    logs.on(GetQueryResultsCommand).resolves({
      status: "Complete",
      statistics: { bytesScanned: 1e9, recordsScanned: 5e5, recordsMatched: 3 },
      results: resultRows([
        usageRow({
          account: "210987654321",
          identityArn: "arn:aws:iam::210987654321:user/leaked",
          model: "amazon.nova-lite-v1:0",
          requestCount: "3",
          maxPromptTokens: "250",
          maxRequestSize: "900",
          maxCompletionTokens: "31000",
          maxCacheInclusiveInputTokens: "250",
          firstSeen: "2026-11-20 01:00:00.000",
          lastSeen: "2026-11-20 02:00:00.000",
        }),
      ]),
    });
    sns.on(PublishCommand).resolves({ MessageId: "m-1" });
    eventBridge.reset();
    eventBridge.on(PutEventsCommand).resolves({ FailedEntryCount: 0, Entries: [{ EventId: "e-1" }] });
  });
  afterEach(() => {
    vi.restoreAllMocks();
    vi.unstubAllEnvs();
  });

  it("a scheduled run (EventBridge Scheduler input) queries the settled window and publishes", async () => {
    const handler = await loadHandler(goodEnv);
    // Without a state table (none in goodEnv) a scheduled run queries its whole window at once.
    const summary = await handler({ scheduledTime: "2026-11-20T12:05:00Z" }, context);

    expect(summary).toMatchObject({
      trigger: "scheduled",
      window: { start: "2026-11-19T12:00:00.000Z", end: "2026-11-20T12:00:00.000Z" },
      findings: 1,
      alertsPublished: 1,
    });
    expect(logs).toHaveReceivedCommandExactlyOnceWith(StartQueryCommand, {
      logGroupIdentifiers: ["/aws/bedrock/invocations"],
      startTime: Date.parse("2026-11-19T12:00:00Z") / 1000,
      endTime: Date.parse("2026-11-20T12:00:00Z") / 1000,
    });
    expect(sns).toHaveReceivedCommandExactlyOnceWith(PublishCommand, { TopicArn: TOPIC });
    const sent = sns.commandCalls(PublishCommand)[0]?.args[0].input;
    expect(JSON.parse(sent?.Message ?? "{}").email).toContain(
      "https://eu-west-1.console.aws.amazon.com/cloudwatch/home?region=eu-west-1",
    );

    const lines = jsonLines();
    // The Logger knows the Lambda context (middy middleware): request id and cold start on every line.
    expect(lines.find((l) => l.message === "run complete")).toMatchObject({
      level: "INFO",
      service: "bedrock-dos-detector",
      function_request_id: "req-1",
      cold_start: expect.any(Boolean),
    });
    const emf = lines.find((l) => "_aws" in l);
    expect(emf).toMatchObject({ RunSucceeded: 1, AccountsFlagged: 1, BytesScanned: 1e9, AlertsPublished: 1 });
  });

  it("a manual dry run publishes nothing and says so", async () => {
    const handler = await loadHandler(goodEnv);
    const summary = await handler(
      { start: "2026-11-18T00:00:00Z", end: "2026-11-19T00:00:00Z", dryRun: true },
      context,
    );
    expect(summary).toMatchObject({ trigger: "manual", dryRun: true, alertsPublished: 0, alertsPrepared: 1 });
    expect(sns.commandCalls(PublishCommand)).toHaveLength(0);
  });

  it("bad configuration fails every invocation with one log line naming the variable", async () => {
    const handler = await loadHandler({
      ...goodEnv,
      [ENV.logGroupIdentifiers]: undefined,
      [ENV.minRequests]: "lots",
    });
    await expect(handler({ scheduledTime: "2026-11-20T12:00:00Z" }, context)).rejects.toThrow(
      /LOG_GROUP_IDENTIFIERS/,
    );
    const errors = jsonLines().filter((l) => l.level === "ERROR");
    expect(errors).toHaveLength(1);
    expect(String(errors[0]?.message)).toMatch(
      /^run failed: ConfigurationError: MIN_REQUESTS must be a whole number .*; LOG_GROUP_IDENTIFIERS is required$/,
    );
    // The error object itself is logged: class, message and stack.
    expect(errors[0]?.error).toMatchObject({
      name: "ConfigurationError",
      stack: expect.stringContaining("ConfigurationError"),
    });
    expect(logs.commandCalls(StartQueryCommand)).toHaveLength(0);
    expect(jsonLines().find((l) => "_aws" in l)).toMatchObject({ RunFailed: 1 });
  });

  it("a bad event fails the invocation visibly", async () => {
    const handler = await loadHandler(goodEnv);
    await expect(
      handler({ start: "2026-11-19T00:00:00Z", end: "2026-11-18T00:00:00Z" }, context),
    ).rejects.toThrow("start must be before end");
    expect(jsonLines().some((l) => String(l.message).startsWith("run failed: EventError"))).toBe(true);
  });
});

describe("handler with the alert ledger on a real DynamoDB API (dynalite)", () => {
  let db: Awaited<ReturnType<typeof startDynalite>>;
  beforeAll(async () => {
    db = await startDynalite();
  });
  afterAll(async () => {
    await db.stop();
  });
  afterEach(() => {
    vi.unstubAllEnvs();
  });

  it("a retried scheduled invocation (same scheduled time) publishes nothing twice", async () => {
    logs.reset();
    sns.reset();
    logs.on(StartQueryCommand).resolves({ queryId: "q-1" });
    // The newest period (queried first) holds the heavy requests; the others are empty.
    logs
      .on(GetQueryResultsCommand)
      .resolvesOnce({
        status: "Complete",
        results: resultRows([
          usageRow({
            account: "210987654321",
            requestCount: "3",
            maxPromptTokens: "9999",
            firstSeen: "2026-11-20 11:50:00.000",
            lastSeen: "2026-11-20 11:55:00.000",
          }),
        ]),
      })
      .resolves({ status: "Complete", results: [] });
    sns.on(PublishCommand).resolves({ MessageId: "m-1" });
    const table = await db.createTable();
    const endpoint = String(
      await db.client.config.endpoint?.().then((e) => `${e.protocol}//${e.hostname}:${e.port}`),
    );
    const handler = await loadHandler({
      ...goodEnv,
      [ENV.stateTable]: table,
      // Four periods and a day of anomaly history keep the real poll waits short.
      [ENV.lookback]: "1h",
      [ENV.baselineDays]: "1",
      AWS_ENDPOINT_URL_DYNAMODB: endpoint,
      AWS_ACCESS_KEY_ID: "test",
      AWS_SECRET_ACCESS_KEY: "test",
    });
    vi.spyOn(process.stdout, "write").mockImplementation(() => true);
    const event = { scheduledTime: "2026-11-20T12:05:00Z" };
    // The window's four periods, then the 24 hours of history before it (a new deployment catching up).
    expect(await handler(event, context)).toMatchObject({
      alertsPublished: 1,
      queries: 28,
      slices: { queried: 4, historyQueried: 24, historyPending: 0 },
    });
    // The retry reads the slices and the history index the first attempt stored: no query, no second alert.
    const retry = await handler(event, context);
    expect(retry).toMatchObject({
      alertsPublished: 0,
      alertsSuppressed: 1,
      queries: 0,
      slices: { historyQueried: 0, historyPending: 0 },
    });
    // Four periods' headers and parts at most, and the index; nothing written.
    expect(retry.state).toMatchObject({ itemsWritten: 0 });
    expect(retry.state?.itemsRead).toBeGreaterThan(0);
    expect(sns.commandCalls(PublishCommand)).toHaveLength(1);
    vi.restoreAllMocks();
  });
});
