/**
 * Runs one Athena query to completion: StartQueryExecution in the archive's workgroup, GetQueryExecution polled
 * with backoff (reporting bytes scanned and their cost), GetQueryResults paged into rows keyed by column name.
 * Ctrl-C (the signal) stops the query; throttling is retried. The only place the CLI talks to Athena; the SDK
 * is imported on first use, like S3's.
 */
import type { AthenaClient, GetQueryResultsCommandOutput, QueryExecution } from "@aws-sdk/client-athena";
import { athenaQueryCostUsd } from "../core/athena-cost.js";
import type { Row } from "../core/insights-rows.js";
import { CliError, InputError, InterruptedError } from "./errors.js";

type AthenaModule = typeof import("@aws-sdk/client-athena");

let sdk: Promise<AthenaModule> | undefined;

/** The Athena SDK, imported on first use. */
function athenaSdk(): Promise<AthenaModule> {
  // The SDK's notice about its future Node.js versions is not the run's business (engines: node >= 20).
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= "true";
  sdk ??= import("@aws-sdk/client-athena").catch(() => {
    sdk = undefined;
    throw new InputError(
      "Athena queries need the AWS SDK: @aws-sdk/client-athena is not installed (npm install)",
    );
  });
  return sdk;
}

/** A client with the SDK's default credentials, in `region` or the SDK's default Region. */
export async function createAthenaClient(region?: string): Promise<AthenaClient> {
  const mod = await athenaSdk();
  return new mod.AthenaClient(region === undefined ? {} : { region });
}

export interface AthenaQueryRequest {
  readonly queryString: string;
  /** The archive's workgroup: it holds the results location, their encryption and the bytes-scanned cutoff. */
  readonly workGroup: string;
  readonly database: string;
  /** @default "AwsDataCatalog" */
  readonly catalog?: string;
  /** Aborting (Ctrl-C) stops the query and throws an InterruptedError. */
  readonly signal?: AbortSignal;
}

export interface AthenaClock {
  now(): number;
  /** Resolves after `ms`, or as soon as `signal` aborts. */
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
}

export const systemClock: AthenaClock = {
  now: () => Date.now(),
  sleep: (ms, signal) =>
    new Promise((resolve) => {
      if (signal?.aborted) return resolve();
      // Cleared on abort: a pending timer would keep the process alive after Ctrl-C.
      const done = () => {
        clearTimeout(timer);
        signal?.removeEventListener("abort", done);
        resolve();
      };
      const timer = setTimeout(done, ms);
      signal?.addEventListener("abort", done, { once: true });
    }),
};

/** What a poll saw: the query's state and what it has scanned so far. */
export interface AthenaProgress {
  readonly queryExecutionId: string;
  /** QUEUED, RUNNING, SUCCEEDED, FAILED or CANCELLED. */
  readonly state: string;
  readonly scannedBytes: number;
  /** The list-price cost of `scannedBytes` (core/athena-cost.ts), in US dollars. */
  readonly costUsd: number;
  readonly elapsedMs: number;
}

export interface AthenaQueryOutcome {
  readonly queryExecutionId: string;
  /** The column names, in the query's order. */
  readonly columns: string[];
  /** One row per result row, keyed by column name; SQL NULL is undefined. */
  readonly rows: Row[];
  readonly scannedBytes: number;
  readonly costUsd: number;
}

/** Errors worth retrying: Athena's request-rate and concurrent-query limits. */
const THROTTLED = new Set(["TooManyRequestsException", "ThrottlingException"]);
const MAX_TRIES = 8;
const FIRST_RETRY_MS = 1_000;
const MAX_RETRY_MS = 20_000;
const FIRST_POLL_MS = 500;
const MAX_POLL_MS = 5_000;
const PAGE_SIZE = 1000;
/** The StateChangeReason Athena gives when a workgroup's BytesScannedCutoffPerQuery stops a query. */
const CUTOFF_REASON = /bytes scanned limit was exceeded/i;

const errorName = (err: unknown) => (err as { name?: string } | null)?.name ?? "";
const interrupted = (id?: string) =>
  new InterruptedError(
    id === undefined ? "Athena query interrupted" : `Athena query ${id} interrupted; it was stopped`,
  );
/** Interrupted after the query finished: nothing left to stop. */
const interruptedReading = (id: string) =>
  new InterruptedError(`Athena query ${id} finished; reading its results was interrupted`);

/** Calls `send`, retrying throttling with exponential backoff; an abort while waiting ends the retries. */
async function withRetries<T>(
  what: string,
  send: () => Promise<T>,
  clock: AthenaClock,
  signal: AbortSignal | undefined,
): Promise<T> {
  for (let attempt = 1, delay = FIRST_RETRY_MS; ; attempt++, delay = Math.min(delay * 2, MAX_RETRY_MS)) {
    try {
      return await send();
    } catch (err) {
      const name = errorName(err);
      if (!THROTTLED.has(name) || signal?.aborted) throw err;
      if (attempt >= MAX_TRIES) {
        const text = `Athena ${what}: still throttled (${name}) after ${MAX_TRIES} tries; try again later`;
        throw new CliError(text, { cause: err });
      }
      await clock.sleep(delay, signal);
      if (signal?.aborted) throw err;
    }
  }
}

/** A rejected request in one line (SQL errors, missing workgroup, access denied). */
function rejected(what: string, err: unknown): CliError {
  const detail = safeReason(err instanceof Error ? err.message : String(err));
  return new CliError(`Athena ${what} failed (${errorName(err) || "error"}): ${detail}`, { cause: err });
}

const scannedOf = (q: QueryExecution | undefined) => q?.Statistics?.DataScannedInBytes ?? 0;

/** The longest reason quoted from Athena. */
const MAX_REASON = 300;

/**
 * Athena's reason, safe to print: one line, bounded, and with quoted values that are not plain names blanked,
 * since an error over the `line` column can quote record text (a prompt) and no error may show it.
 */
export function safeReason(reason: string): string {
  const blanked = reason
    .replace(/\s+/g, " ")
    .trim()
    .replace(/'([^']*)'/g, (quoted, inner: string) => (/^[\w.$"-]{1,128}$/.test(inner) ? quoted : "'…'"));
  return blanked.length > MAX_REASON ? `${blanked.slice(0, MAX_REASON)}…` : blanked;
}

/** Why a finished query did not succeed, in one line. */
function endedError(id: string, q: QueryExecution, workGroup: string): CliError {
  const state = q.Status?.State ?? "UNKNOWN";
  const given = q.Status?.StateChangeReason;
  const reason = given === undefined ? undefined : safeReason(given);
  const scanned = scannedOf(q);
  if (state === "CANCELLED" && reason !== undefined && CUTOFF_REASON.test(reason)) {
    return new CliError(
      `Athena query ${id} was stopped by workgroup ${workGroup}'s bytes-scanned cutoff after ${scanned} bytes ` +
        `(about ${athenaQueryCostUsd(scanned).toFixed(2)} USD): query a shorter window, or raise the cutoff ` +
        "(the archive construct's bytesScannedCutoffPerQuery prop)",
    );
  }
  return new CliError(`Athena query ${id} ${state}: ${reason || "no reason given"}`);
}

/** Starts the query and polls it to the end; then reads every page of its results. */
export async function runAthenaQuery(
  client: AthenaClient,
  req: AthenaQueryRequest,
  clock: AthenaClock,
  onProgress: (progress: AthenaProgress) => void,
): Promise<AthenaQueryOutcome> {
  const mod = await athenaSdk();
  const { signal } = req;
  if (signal?.aborted) throw interrupted();
  const started = clock.now();

  // Not abortable in flight: an aborted start could leave a query running whose id we never learnt.
  let id: string;
  try {
    const out = await withRetries(
      "StartQueryExecution",
      () =>
        client.send(
          new mod.StartQueryExecutionCommand({
            QueryString: req.queryString,
            WorkGroup: req.workGroup,
            QueryExecutionContext: { Database: req.database, Catalog: req.catalog ?? "AwsDataCatalog" },
          }),
        ),
      clock,
      undefined,
    );
    if (!out.QueryExecutionId) throw new CliError("Athena StartQueryExecution returned no query id");
    id = out.QueryExecutionId;
  } catch (err) {
    if (err instanceof CliError) throw err;
    throw rejected("StartQueryExecution", err);
  }

  const stop = async () => {
    try {
      await client.send(new mod.StopQueryExecutionCommand({ QueryExecutionId: id }));
    } catch {
      // Best effort: the query may have just finished; the interruption is what the user asked for.
    }
  };

  let execution: QueryExecution | undefined;
  for (let delay = FIRST_POLL_MS; ; delay = Math.min(Math.round(delay * 1.5), MAX_POLL_MS)) {
    if (signal?.aborted) {
      await stop();
      throw interrupted(id);
    }
    try {
      const out = await withRetries(
        "GetQueryExecution",
        () =>
          client.send(new mod.GetQueryExecutionCommand({ QueryExecutionId: id }), { abortSignal: signal }),
        clock,
        signal,
      );
      execution = out.QueryExecution;
    } catch (err) {
      if (signal?.aborted) continue; // Stopped at the top of the loop.
      // A query left running keeps scanning (and billing).
      await stop();
      throw err instanceof CliError ? err : rejected("GetQueryExecution", err);
    }
    const state = execution?.Status?.State ?? "QUEUED";
    const scannedBytes = scannedOf(execution);
    onProgress({
      queryExecutionId: id,
      state,
      scannedBytes,
      costUsd: athenaQueryCostUsd(scannedBytes),
      elapsedMs: clock.now() - started,
    });
    if (state === "SUCCEEDED") break;
    if (state === "FAILED" || state === "CANCELLED") throw endedError(id, execution ?? {}, req.workGroup);
    await clock.sleep(delay, signal);
  }

  const scannedBytes = scannedOf(execution);
  const { columns, rows } = await readResults(mod, client, id, clock, signal);
  return { queryExecutionId: id, columns, rows, scannedBytes, costUsd: athenaQueryCostUsd(scannedBytes) };
}

/** Every page of a finished query's results: the first row of the first page holds the column names. */
async function readResults(
  mod: AthenaModule,
  client: AthenaClient,
  id: string,
  clock: AthenaClock,
  signal: AbortSignal | undefined,
): Promise<{ columns: string[]; rows: Row[] }> {
  let columns: string[] | undefined;
  const rows: Row[] = [];
  let token: string | undefined;
  do {
    if (signal?.aborted) throw interruptedReading(id);
    const nextToken = token;
    let page: GetQueryResultsCommandOutput;
    try {
      page = await withRetries(
        "GetQueryResults",
        () =>
          client.send(
            new mod.GetQueryResultsCommand({
              QueryExecutionId: id,
              NextToken: nextToken,
              MaxResults: PAGE_SIZE,
            }),
            { abortSignal: signal },
          ),
        clock,
        signal,
      );
    } catch (err) {
      if (signal?.aborted) throw interruptedReading(id);
      throw err instanceof CliError ? err : rejected("GetQueryResults", err);
    }
    const data = (page.ResultSet?.Rows ?? []).map((r) => (r.Data ?? []).map((d) => d.VarCharValue));
    if (columns === undefined) {
      const header = data.shift() ?? [];
      columns = header.map((name, i) => name ?? `_col${i}`);
    }
    for (const values of data) {
      const row: Record<string, string | undefined> = {};
      columns.forEach((name, i) => {
        row[name] = values[i];
      });
      rows.push(row);
    }
    token = page.NextToken;
  } while (token !== undefined);
  return { columns: columns ?? [], rows };
}
