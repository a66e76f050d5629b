/**
 * Findings for SOAR: EventBridge events and the Security Hub import after the SNS alerts, with their
 * failures visible (per-entry log lines, metrics, a failed run) and never blocking the SNS alert.
 */
import {
  CloudWatchLogsClient,
  GetQueryResultsCommand,
  StartQueryCommand,
} from "@aws-sdk/client-cloudwatch-logs";
import { EventBridgeClient, PutEventsCommand } from "@aws-sdk/client-eventbridge";
import { BatchImportFindingsCommand, SecurityHubClient } from "@aws-sdk/client-securityhub";
import { PublishCommand, SNSClient } from "@aws-sdk/client-sns";
import { mockClient } from "aws-sdk-client-mock";
import { beforeEach, describe, expect, it } from "vitest";
import { ENV } from "../../config/environment.js";
import { FINDING_EVENT, METRIC } from "../../config/names.js";
import { FindingPublicationError } from "../../lambda/errors.js";
import { runDetection } from "../../lambda/run-detection.js";
import type { RunRequest } from "../../lambda/run-request.js";
import type { LastAlert } from "../../lambda/suppression.js";
import { detectionDeps, detectorConfig, evidenceRow, resultRows } from "../helpers/aws.js";

const logs = mockClient(CloudWatchLogsClient);
const sns = mockClient(SNSClient);
const PRODUCT = "arn:aws:securityhub:us-east-1:123456789012:product/123456789012/default";
const request: RunRequest = {
  trigger: "scheduled",
  dryRun: false,
  window: { startMs: Date.parse("2026-11-19T00:00:00Z"), endMs: Date.parse("2026-11-20T00:00:00Z") },
};
const PROMPT_TEXT = "SECRET PROMPT TEXT";

beforeEach(() => {
  logs.reset();
  sns.reset();
  sns.on(PublishCommand).resolves({ MessageId: "m" });
  logs.on(StartQueryCommand).resolves({ queryId: "q" });
  logs.on(GetQueryResultsCommand).resolves({
    status: "Complete",
    statistics: { bytesScanned: 1, recordsScanned: 1, recordsMatched: 1 },
    results: resultRows([
      {
        ...evidenceRow("111111111111", "arn:aws:iam::111111111111:user/leaked", "amazon.nova-lite-v1:0", 30),
      },
      { ...evidenceRow("222222222222", "arn:aws:sts::222222222222:assumed-role/ci/build-1", "m", 4) },
    ]),
  });
});

function setup(extraEnv: Record<string, string> = {}) {
  const events = new EventBridgeClient({ region: "us-east-1" });
  const securityHub = new SecurityHubClient({ region: "us-east-1" });
  const eb = mockClient(events);
  const sh = mockClient(securityHub);
  const { deps, rec, clock } = detectionDeps({ events, securityHub });
  const config = detectorConfig({ [ENV.detectorLabel]: "prod", [ENV.eventBusName]: "soar-bus", ...extraEnv });
  return { eb, sh, deps, rec, clock, config };
}

const ok = (input: { Entries?: unknown[] }) => ({
  FailedEntryCount: 0,
  Entries: (input.Entries ?? []).map((_, i) => ({ EventId: `e-${i}` })),
});

describe("finding events (EventBridge)", () => {
  it("one event per alerted finding on the configured bus, detail the scanner's finding, no prompt text", async () => {
    const { eb, deps, rec, config } = setup();
    eb.on(PutEventsCommand).callsFake(ok);
    await runDetection(config, request, deps);
    expect(eb).toHaveReceivedCommandTimes(PutEventsCommand, 1);
    const entries = eb.commandCalls(PutEventsCommand)[0]?.args[0].input.Entries ?? [];
    expect(entries).toHaveLength(2);
    expect(entries[0]).toMatchObject({
      EventBusName: "soar-bus",
      Source: FINDING_EVENT.source,
      DetailType: FINDING_EVENT.detailType,
    });
    const detail = JSON.parse(entries[0]?.Detail ?? "{}");
    expect(detail).toMatchObject({
      version: "1",
      detector: "prod",
      region: "us-east-1",
      severity: "HIGH",
      window: { start: "2026-11-19T00:00:00.000Z", end: "2026-11-20T00:00:00.000Z" },
      finding: {
        accountId: "111111111111",
        requestCount: 30,
        topIdentities: [{ identityArn: "arn:aws:iam::111111111111:user/leaked", requestCount: 30 }],
      },
    });
    expect(JSON.stringify(entries)).not.toContain(PROMPT_TEXT);
    expect(rec.metrics).toContainEqual({ name: METRIC.findingEventsFailed, unit: "Count", value: 0 });
  });

  it("sends after SNS, and not at all in a dry run or without findings", async () => {
    const { eb, deps, config } = setup();
    eb.on(PutEventsCommand).callsFake(ok);
    await runDetection(config, { ...request, dryRun: true }, deps);
    expect(eb).not.toHaveReceivedCommand(PutEventsCommand);
  });

  it("a partial failure is reported per entry (log, metric), fails the run, and the SNS alerts stay sent", async () => {
    const { eb, deps, rec, config } = setup();
    eb.on(PutEventsCommand).resolves({
      FailedEntryCount: 1,
      Entries: [{ EventId: "e-0" }, { ErrorCode: "MalformedDetail", ErrorMessage: "bad detail" }],
    });
    await expect(runDetection(config, request, deps)).rejects.toThrow(FindingPublicationError);
    await expect(runDetection(config, request, deps)).rejects.toThrow(
      "alerts were sent, but 1 of 2 finding events failed (MalformedDetail)",
    );
    expect(sns.commandCalls(PublishCommand).length).toBeGreaterThanOrEqual(2);
    const failed = rec.lines.filter((l) => l.message === "finding events: entry failed");
    expect(failed[0]?.extra[0]).toEqual({
      accountId: "222222222222",
      error: { name: "MalformedDetail", message: "bad detail" },
    });
    expect(rec.metrics).toContainEqual({ name: METRIC.findingEventsFailed, unit: "Count", value: 1 });
    // A non-retryable error is not sent again.
    expect(eb.commandCalls(PutEventsCommand)).toHaveLength(2);
  });

  it("throttling: the throttled entries and calls are sent again after a backoff", async () => {
    const { eb, deps, rec, clock, config } = setup();
    const throttled = Object.assign(new Error("Rate exceeded"), { name: "ThrottlingException" });
    eb.on(PutEventsCommand)
      .rejectsOnce(throttled)
      .resolvesOnce({
        FailedEntryCount: 1,
        Entries: [{ EventId: "e-0" }, { ErrorCode: "ThrottlingException", ErrorMessage: "slow down" }],
      })
      .callsFake(ok);
    await runDetection(config, request, deps);
    const calls = eb.commandCalls(PutEventsCommand).map((c) => c.args[0].input.Entries?.length);
    expect(calls).toEqual([2, 2, 1]);
    expect(clock.sleeps).toEqual(expect.arrayContaining([250, 500]));
    expect(rec.metrics).toContainEqual({ name: METRIC.findingEventsFailed, unit: "Count", value: 0 });
  });

  it("EventBridge unreachable: the run fails after the SNS alerts, with the error logged", async () => {
    const { eb, deps, rec, config } = setup();
    eb.on(PutEventsCommand).rejects(Object.assign(new Error("denied"), { name: "AccessDeniedException" }));
    await expect(runDetection(config, request, deps)).rejects.toThrow(
      "2 of 2 finding events failed (AccessDeniedException)",
    );
    expect(sns.commandCalls(PublishCommand)).toHaveLength(2);
    expect(rec.lines.filter((l) => l.level === "error")).toHaveLength(2);
  });

  it("the retry of a run that failed on EventBridge sends the events, not the alerts, again (nothing lost)", async () => {
    const { eb, deps, config } = setup();
    // The alert ledger (its own port, in memory here; on DynamoDB in alert-ledger.test.ts).
    const remembered = new Map<string, LastAlert>();
    const ledger = {
      lastAlert: async (id: string) => remembered.get(id) ?? null,
      recordAlert: async (id: string, alert: LastAlert) => {
        remembered.set(id, alert);
      },
    };
    eb.on(PutEventsCommand)
      .rejectsOnce(Object.assign(new Error("denied"), { name: "AccessDeniedException" }))
      .callsFake(ok);
    await expect(runDetection(config, request, { ...deps, ledger })).rejects.toThrow(FindingPublicationError);
    expect(sns.commandCalls(PublishCommand)).toHaveLength(2);
    const retry = await runDetection(config, request, { ...deps, ledger });
    expect(retry).toMatchObject({ alertsPublished: 0, alertsSuppressed: 2 });
    expect(sns.commandCalls(PublishCommand)).toHaveLength(2);
    const sent = eb.commandCalls(PutEventsCommand).at(-1)?.args[0].input.Entries ?? [];
    expect(sent.map((e) => JSON.parse(String(e.Detail)).finding.accountId).sort()).toEqual([
      "111111111111",
      "222222222222",
    ]);
  });
});

describe("Security Hub import", () => {
  it("off unless the product ARN is configured", async () => {
    const { eb, sh, deps, config } = setup();
    eb.on(PutEventsCommand).callsFake(ok);
    await runDetection(config, request, deps);
    expect(sh).not.toHaveReceivedCommand(BatchImportFindingsCommand);
  });

  it("imports ASFF findings: severity, the account and principal as resources, remediation, a stable id", async () => {
    const { eb, sh, deps, config } = setup({ [ENV.securityHubProductArn]: PRODUCT });
    eb.on(PutEventsCommand).callsFake(ok);
    sh.on(BatchImportFindingsCommand).resolves({ SuccessCount: 2, FailedCount: 0, FailedFindings: [] });
    await runDetection(config, request, deps);
    expect(sh).toHaveReceivedCommandTimes(BatchImportFindingsCommand, 1);
    const [first] = sh.commandCalls(BatchImportFindingsCommand)[0]?.args[0].input.Findings ?? [];
    expect(first).toMatchObject({
      SchemaVersion: "2018-10-08",
      ProductArn: PRODUCT,
      AwsAccountId: "123456789012",
      GeneratorId: "bedrock-dos-detector/prod",
      Id: "bedrock-dos-detector/prod/111111111111/2026-11-20T00:00:00.000Z",
      Severity: { Label: "HIGH" },
      RecordState: "ACTIVE",
      Resources: [
        { Type: "AwsAccount", Id: "AWS::::Account:111111111111", Partition: "aws", Region: "us-east-1" },
        { Type: "AwsIamUser", Id: "arn:aws:iam::111111111111:user/leaked" },
      ],
    });
    expect(first?.Remediation?.Recommendation?.Text).toContain("IAM user leaked");
    expect(first?.Description?.length).toBeLessThanOrEqual(1024);
    expect(JSON.stringify(first)).not.toContain(PROMPT_TEXT);
  });

  it("a re-alert in the same suppression period reuses the finding id (an update, not a duplicate)", async () => {
    const { eb, sh, deps, config } = setup({ [ENV.securityHubProductArn]: PRODUCT });
    eb.on(PutEventsCommand).callsFake(ok);
    sh.on(BatchImportFindingsCommand).resolves({ SuccessCount: 2, FailedCount: 0, FailedFindings: [] });
    await runDetection(config, request, deps);
    const later = {
      ...request,
      window: { startMs: request.window.startMs + 3_600_000, endMs: request.window.endMs + 3_600_000 },
    };
    await runDetection(config, later, deps);
    const ids = sh.commandCalls(BatchImportFindingsCommand).map((c) => c.args[0].input.Findings?.[0]?.Id);
    expect(ids[0]).toBe(ids[1]);
  });

  it("failed findings are reported per finding; EventBridge still got its events; the run fails", async () => {
    const { eb, sh, deps, rec, config } = setup({ [ENV.securityHubProductArn]: PRODUCT });
    eb.on(PutEventsCommand).callsFake(ok);
    sh.on(BatchImportFindingsCommand).callsFake((input: { Findings: { Id: string }[] }) => ({
      SuccessCount: 1,
      FailedCount: 1,
      FailedFindings: [{ Id: input.Findings[1]?.Id, ErrorCode: "InvalidInput", ErrorMessage: "bad field" }],
    }));
    await expect(runDetection(config, request, deps)).rejects.toThrow(
      "1 of 2 Security Hub findings failed (InvalidInput)",
    );
    expect(eb).toHaveReceivedCommandTimes(PutEventsCommand, 1);
    expect(rec.metrics).toContainEqual({ name: METRIC.securityHubImportFailed, unit: "Count", value: 1 });
    expect(
      rec.lines.find((l) => l.message === "Security Hub findings: entry failed")?.extra[0],
    ).toMatchObject({
      accountId: "222222222222",
    });
  });
});
