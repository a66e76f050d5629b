/**
 * Runs one CloudWatch Logs Insights query to completion: StartQuery (epoch seconds), GetQueryResults polled
 * with backoff, StopQuery when the deadline comes. The only place that talks to CloudWatch Logs.
 */
import {
  type CloudWatchLogsClient,
  GetQueryResultsCommand,
  type GetQueryResultsCommandOutput,
  type ResultField,
  StartQueryCommand,
  StopQueryCommand,
} from "@aws-sdk/client-cloudwatch-logs";
import type { Row } from "../../core/insights-rows.js";
import type { Window } from "../../core/rule.js";
import { DeadlineError, QueryError, QueryRejectedError, QueryStoppedError } from "../errors.js";

export interface QueryRequest {
  readonly logGroupIdentifiers: readonly string[];
  readonly queryString: string;
  readonly window: Window;
  readonly limit: number;
}

export interface QueryStatistics {
  bytesScanned: number;
  recordsScanned: number;
  recordsMatched: number;
}

export interface QueryOutcome {
  readonly queryId: string;
  readonly rows: Row[];
  readonly statistics: QueryStatistics;
  readonly durationMs: number;
}

export interface QueryClock {
  now(): number;
  sleep(ms: number): Promise<void>;
  /** Epoch ms by which the query must be finished or stopped. */
  readonly deadlineMs: number;
}

/** What a caller watches a query with (the CLI: Ctrl-C and a progress bar); the Lambda needs neither. */
export interface QueryWatch {
  /** Aborted: the query is stopped (StopQuery) and QueryStoppedError thrown. */
  readonly signal?: AbortSignal;
  /** The query's statistics so far, after each poll (bytes scanned grow while it runs; the last are final). */
  onStatistics?(statistics: QueryStatistics, queryId: string): void;
}

/** Errors worth retrying: the service is busy or the account is at its concurrent-query limit. */
const RETRYABLE = new Set(["ThrottlingException", "LimitExceededException", "ServiceUnavailableException"]);
const FAILED = new Set(["Failed", "Cancelled", "Timeout", "Unknown"]);

const FIRST_POLL_MS = 1_000;
const MAX_POLL_MS = 10_000;
const FIRST_RETRY_MS = 1_000;
const MAX_RETRY_MS = 20_000;

const errorName = (err: unknown) => (err as { name?: string } | null)?.name ?? "";

function statisticsOf(out: GetQueryResultsCommandOutput): QueryStatistics {
  return {
    bytesScanned: out.statistics?.bytesScanned ?? 0,
    recordsScanned: out.statistics?.recordsScanned ?? 0,
    recordsMatched: out.statistics?.recordsMatched ?? 0,
  };
}

function toRow(fields: ResultField[]): Row {
  const row: Record<string, string> = {};
  for (const f of fields) if (f.field !== undefined && f.value !== undefined) row[f.field] = f.value;
  return row;
}

async function waitOrGiveUp(ms: number, clock: QueryClock, onDeadline: () => Promise<never>): Promise<void> {
  if (clock.now() + ms >= clock.deadlineMs) await onDeadline();
  await clock.sleep(ms);
}

export async function runInsightsQuery(
  client: CloudWatchLogsClient,
  req: QueryRequest,
  clock: QueryClock,
  watch: QueryWatch = {},
): Promise<QueryOutcome> {
  const started = clock.now();
  const { signal } = watch;
  const interrupted = () => new QueryStoppedError("the run was interrupted before the query started");
  if (signal?.aborted) throw interrupted();
  const tooLate = (what: string) => async (): Promise<never> => {
    throw new DeadlineError(`the Lambda is about to time out ${what}`);
  };

  let queryId: string | undefined;
  for (let delay = FIRST_RETRY_MS; queryId === undefined; delay = Math.min(delay * 2, MAX_RETRY_MS)) {
    try {
      const out = await client.send(
        new StartQueryCommand({
          logGroupIdentifiers: [...req.logGroupIdentifiers],
          queryString: req.queryString,
          // Epoch seconds, both inclusive: cover the window; the query itself filters to [start, end) exactly.
          startTime: Math.floor(req.window.startMs / 1000),
          endTime: Math.ceil(req.window.endMs / 1000),
          limit: req.limit,
        }),
      );
      if (!out.queryId) throw new QueryError("StartQuery returned no query id");
      queryId = out.queryId;
    } catch (err) {
      const name = errorName(err);
      const detail = (err as Error).message;
      if (RETRYABLE.has(name)) {
        await waitOrGiveUp(delay, clock, tooLate(`waiting to start the query (${name})`));
        if (signal?.aborted) throw interrupted();
        continue;
      }
      if (name === "ResourceNotFoundException") {
        throw new QueryRejectedError(
          `log group not found among ${req.logGroupIdentifiers.join(", ")}: ${detail}`,
          { cause: err },
        );
      }
      if (name === "MalformedQueryException" || name === "InvalidParameterException") {
        throw new QueryRejectedError(`Logs Insights rejected the query (${name}): ${detail}`, {
          cause: err,
        });
      }
      throw err;
    }
  }

  const id = queryId;
  const stop = async (): Promise<void> => {
    try {
      await client.send(new StopQueryCommand({ queryId: id }));
    } catch {
      // Best effort: the query may have just finished; the error that made us stop is what matters.
    }
  };
  const stopAndFail = async (): Promise<never> => {
    await stop();
    throw new DeadlineError(`query ${id} did not complete before the Lambda's deadline; it was stopped`);
  };

  const stopOnRequest = async (): Promise<never> => {
    await stop();
    throw new QueryStoppedError(`query ${id} was stopped: the run was interrupted`, id);
  };

  for (let delay = FIRST_POLL_MS; ; delay = Math.min(Math.round(delay * 1.5), MAX_POLL_MS)) {
    if (signal?.aborted) await stopOnRequest();
    await waitOrGiveUp(delay, clock, stopAndFail);
    if (signal?.aborted) await stopOnRequest();
    let out: GetQueryResultsCommandOutput;
    try {
      out = await client.send(new GetQueryResultsCommand({ queryId: id }));
    } catch (err) {
      if (RETRYABLE.has(errorName(err))) continue;
      // A query left running keeps scanning (and billing) for up to an hour.
      await stop();
      throw err;
    }
    const status = out.status ?? "Unknown";
    const statistics = statisticsOf(out);
    watch.onStatistics?.(statistics, id);
    if (status === "Complete") {
      return {
        queryId: id,
        rows: (out.results ?? []).map(toRow),
        statistics,
        durationMs: clock.now() - started,
      };
    }
    if (FAILED.has(status)) throw new QueryError(`Logs Insights query ${id} ended with status ${status}`);
  }
}
