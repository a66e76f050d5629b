import {
  CloudWatchLogsClient,
  GetQueryResultsCommand,
  StartQueryCommand,
  StopQueryCommand,
} from "@aws-sdk/client-cloudwatch-logs";
import { mockClient } from "aws-sdk-client-mock";
import { beforeEach, describe, expect, it } from "vitest";
import { runInsightsQuery } from "../../lambda/adapters/logs-insights.js";
import { DeadlineError, QueryError, QueryRejectedError, QueryStoppedError } from "../../lambda/errors.js";
import { fakeClock, resultRows } from "../helpers/aws.js";

const logs = mockClient(CloudWatchLogsClient);
const client = new CloudWatchLogsClient({ region: "us-east-1" });
const window = {
  startMs: Date.parse("2026-11-19T00:00:00.500Z"),
  endMs: Date.parse("2026-11-20T00:00:00.250Z"),
};
const req = {
  logGroupIdentifiers: ["bedrock-invocations"],
  queryString: "stats count(*)",
  window,
  limit: 100,
};

const awsError = (name: string) => Object.assign(new Error(`${name} happened`), { name });

describe("runInsightsQuery", () => {
  beforeEach(() => logs.reset());

  it("starts with epoch seconds covering the window, polls until Complete and returns rows and statistics", async () => {
    logs.on(StartQueryCommand).resolves({ queryId: "q-1" });
    logs
      .on(GetQueryResultsCommand)
      .resolvesOnce({ status: "Scheduled" })
      .resolvesOnce({ status: "Running", results: resultRows([{ account: "partial" }]) })
      .resolves({
        status: "Complete",
        results: resultRows([{ account: "123456789012", requestCount: "3" }]),
        statistics: { bytesScanned: 2048, recordsScanned: 10, recordsMatched: 3 },
      });
    const clock = fakeClock();
    const out = await runInsightsQuery(client, req, { ...clock, deadlineMs: clock.now() + 600_000 });

    expect(logs).toHaveReceivedCommandOnce(StartQueryCommand);
    expect(logs).toHaveReceivedCommandWith(StartQueryCommand, {
      logGroupIdentifiers: ["bedrock-invocations"],
      startTime: Math.floor(window.startMs / 1000),
      endTime: Math.ceil(window.endMs / 1000),
      limit: 100,
    });
    expect(out.rows).toEqual([{ account: "123456789012", requestCount: "3" }]);
    expect(out.statistics).toEqual({ bytesScanned: 2048, recordsScanned: 10, recordsMatched: 3 });
    expect(logs).toHaveReceivedCommandTimes(GetQueryResultsCommand, 3);
    // Backoff grows between polls.
    expect(clock.sleeps).toEqual([1000, 1500, 2250]);
  });

  it.each(["Failed", "Cancelled", "Timeout", "Unknown"])(
    "status %s ends the run with a clear error",
    async (status) => {
      logs.on(StartQueryCommand).resolves({ queryId: "q-2" });
      logs.on(GetQueryResultsCommand).resolves({ status: status as "Failed" });
      const clock = fakeClock();
      await expect(
        runInsightsQuery(client, req, { ...clock, deadlineMs: clock.now() + 600_000 }),
      ).rejects.toThrow(new QueryError(`Logs Insights query q-2 ended with status ${status}`));
    },
  );

  it.each(["ThrottlingException", "LimitExceededException", "ServiceUnavailableException"])(
    "%s on StartQuery is retried with backoff",
    async (name) => {
      logs
        .on(StartQueryCommand)
        .rejectsOnce(awsError(name))
        .rejectsOnce(awsError(name))
        .resolves({ queryId: "q-3" });
      logs.on(GetQueryResultsCommand).resolves({ status: "Complete", results: [] });
      const clock = fakeClock();
      const out = await runInsightsQuery(client, req, { ...clock, deadlineMs: clock.now() + 600_000 });
      expect(out.queryId).toBe("q-3");
      expect(logs.commandCalls(StartQueryCommand)).toHaveLength(3);
      expect(clock.sleeps.slice(0, 2)).toEqual([1000, 2000]);
    },
  );

  it("throttled polls are retried", async () => {
    logs.on(StartQueryCommand).resolves({ queryId: "q-4" });
    logs
      .on(GetQueryResultsCommand)
      .rejectsOnce(awsError("ThrottlingException"))
      .resolves({ status: "Complete", results: [] });
    const clock = fakeClock();
    await expect(
      runInsightsQuery(client, req, { ...clock, deadlineMs: clock.now() + 600_000 }),
    ).resolves.toMatchObject({
      rows: [],
    });
  });

  it("a missing log group is a configuration error naming the log groups", async () => {
    logs.on(StartQueryCommand).rejects(awsError("ResourceNotFoundException"));
    const clock = fakeClock();
    const run = runInsightsQuery(client, req, { ...clock, deadlineMs: clock.now() + 600_000 });
    await expect(run).rejects.toThrow(QueryRejectedError);
    await expect(
      runInsightsQuery(client, req, { ...clock, deadlineMs: clock.now() + 600_000 }),
    ).rejects.toThrow(/log group not found among bedrock-invocations/);
  });

  it("a malformed query is a configuration error", async () => {
    logs.on(StartQueryCommand).rejects(awsError("MalformedQueryException"));
    const clock = fakeClock();
    await expect(
      runInsightsQuery(client, req, { ...clock, deadlineMs: clock.now() + 600_000 }),
    ).rejects.toThrow(/Logs Insights rejected the query \(MalformedQueryException\)/);
  });

  it("stops the query and fails cleanly when the deadline comes", async () => {
    logs.on(StartQueryCommand).resolves({ queryId: "q-5" });
    logs.on(GetQueryResultsCommand).resolves({ status: "Running" });
    logs.on(StopQueryCommand).resolves({ success: true });
    const clock = fakeClock();
    await expect(
      runInsightsQuery(client, req, { ...clock, deadlineMs: clock.now() + 30_000 }),
    ).rejects.toThrow(DeadlineError);
    expect(logs).toHaveReceivedCommandExactlyOnceWith(StopQueryCommand, { queryId: "q-5" });
    expect(clock.now()).toBeLessThan(Date.parse("2026-11-20T00:10:30Z"));
  });

  it("gives up retrying a throttled start at the deadline without a query to stop", async () => {
    logs.on(StartQueryCommand).rejects(awsError("LimitExceededException"));
    const clock = fakeClock();
    await expect(
      runInsightsQuery(client, req, { ...clock, deadlineMs: clock.now() + 10_000 }),
    ).rejects.toThrow(/about to time out waiting to start the query \(LimitExceededException\)/);
    expect(logs.commandCalls(StopQueryCommand)).toHaveLength(0);
  });

  it("a polling error that is not worth retrying stops the query before failing", async () => {
    logs.on(StartQueryCommand).resolves({ queryId: "q-6" });
    logs.on(GetQueryResultsCommand).rejects(awsError("AccessDeniedException"));
    logs.on(StopQueryCommand).resolves({ success: true });
    const clock = fakeClock();
    await expect(
      runInsightsQuery(client, req, { ...clock, deadlineMs: clock.now() + 600_000 }),
    ).rejects.toMatchObject({
      name: "AccessDeniedException",
    });
    expect(logs).toHaveReceivedCommandExactlyOnceWith(StopQueryCommand, { queryId: "q-6" });
  });

  it("other SDK errors propagate unchanged", async () => {
    logs.on(StartQueryCommand).rejects(awsError("AccessDeniedException"));
    const clock = fakeClock();
    await expect(
      runInsightsQuery(client, req, { ...clock, deadlineMs: clock.now() + 600_000 }),
    ).rejects.toMatchObject({
      name: "AccessDeniedException",
    });
  });
});

describe("runInsightsQuery, watched (the CLI's progress and Ctrl-C)", () => {
  beforeEach(() => logs.reset());

  it("reports each poll's statistics with the query id, the last being the final ones", async () => {
    logs.on(StartQueryCommand).resolves({ queryId: "q-w" });
    logs
      .on(GetQueryResultsCommand)
      .resolvesOnce({ status: "Running", statistics: { bytesScanned: 100 } })
      .resolves({ status: "Complete", results: [], statistics: { bytesScanned: 300 } });
    const seen: [number, string][] = [];
    const clock = fakeClock();
    const out = await runInsightsQuery(
      client,
      req,
      { ...clock, deadlineMs: Number.POSITIVE_INFINITY },
      {
        onStatistics: (s, id) => seen.push([s.bytesScanned, id]),
      },
    );
    expect(seen).toEqual([
      [100, "q-w"],
      [300, "q-w"],
    ]);
    expect(out.statistics.bytesScanned).toBe(300);
  });

  it("an abort stops the running query (StopQuery) and says which", async () => {
    logs.on(StartQueryCommand).resolves({ queryId: "q-a" });
    logs.on(GetQueryResultsCommand).resolves({ status: "Running" });
    logs.on(StopQueryCommand).resolves({ success: true });
    const controller = new AbortController();
    const clock = fakeClock();
    let polls = 0;
    const run = runInsightsQuery(
      client,
      req,
      { ...clock, deadlineMs: Number.POSITIVE_INFINITY },
      {
        signal: controller.signal,
        onStatistics: () => {
          if (++polls === 2) controller.abort();
        },
      },
    );
    const err = await run.catch((e: unknown) => e);
    expect(err).toBeInstanceOf(QueryStoppedError);
    expect((err as QueryStoppedError).queryId).toBe("q-a");
    expect(logs).toHaveReceivedCommandWith(StopQueryCommand, { queryId: "q-a" });
    expect(logs).toHaveReceivedCommandTimes(GetQueryResultsCommand, 2);
  });

  it("aborted before it starts: no query is started", async () => {
    const controller = new AbortController();
    controller.abort();
    const clock = fakeClock();
    await expect(
      runInsightsQuery(
        client,
        req,
        { ...clock, deadlineMs: Number.POSITIVE_INFINITY },
        { signal: controller.signal },
      ),
    ).rejects.toBeInstanceOf(QueryStoppedError);
    expect(logs).not.toHaveReceivedCommand(StartQueryCommand);
  });
});
