/**
 * `bedrock-dos-detector athena`: every detection over the S3 delivery archive where it lies, through the
 * archive's Athena workgroup (lib/invocation-archive.ts): the window's usage query and anomaly's history query
 * (core/athena-query.ts), each run to completion (cli/athena-runner.ts), judged by the same evaluation as every
 * engine, and reported like `scan`. Athena bills the bytes each query scans; the queries read only the window's
 * hour partitions, and the workgroup's cutoff stops any query past its limit. Loaded only when the command runs.
 */
import type { AthenaClient } from "@aws-sdk/client-athena";
import { ATHENA_USD_PER_TB, athenaQueryCostUsd } from "../core/athena-cost.js";
import {
  type AthenaTable,
  anomalyHistoryFromAthenaRows,
  buildAthenaHistoryQuery,
  buildAthenaUsageQuery,
} from "../core/athena-query.js";
import { evaluateUsage } from "../core/detections.js";
import { parseUsageRows } from "../core/insights-rows.js";
import type { Rule, Window } from "../core/rule.js";
import type { UsageGroup } from "../core/usage.js";
import {
  type AthenaClock,
  type AthenaProgress,
  createAthenaClient,
  runAthenaQuery,
  systemClock,
} from "./athena-runner.js";
import { describeAwsError, isAwsError } from "./aws-errors.js";
import { CliError, EXIT } from "./errors.js";
import { byteSize, type QueryReport, type ReportFormat, renderReport, usd } from "./format.js";
import { interruption } from "./interruption.js";

export const ATHENA_ENGINE = "Amazon Athena";

/** What the credentials need, named in access-denied errors and granted by the archive's query policy. */
export const ATHENA_PERMISSIONS = [
  "athena:StartQueryExecution",
  "athena:GetQueryExecution",
  "athena:GetQueryResults",
  "athena:StopQueryExecution",
  "glue:GetDatabase",
  "glue:GetTable",
  "s3:GetObject on the archive and the results bucket",
] as const;

export interface AthenaOptions extends AthenaTable {
  readonly workGroup: string;
  readonly catalog?: string;
  readonly region?: string;
  readonly format: ReportFormat;
  readonly wide?: boolean;
  readonly progress: boolean;
  readonly failOnFindings?: boolean;
}

/** Where the command writes, and what tests replace (the default: the process's streams, Ctrl-C, the clock). */
export interface AthenaIo {
  readonly stdout: NodeJS.WritableStream & { isTTY?: boolean; columns?: number };
  readonly stderr: NodeJS.WritableStream & { isTTY?: boolean };
  /** Aborting it interrupts the run; without it Ctrl-C (SIGINT) does. */
  readonly signal?: AbortSignal;
  readonly client?: AthenaClient;
  readonly clock?: AthenaClock;
}

/** A failure of the AWS side in one line (a CliError); anything else is a bug and is rethrown. */
export function athenaError(err: unknown): CliError {
  if (err instanceof CliError) return err;
  if (isAwsError(err)) {
    const text = describeAwsError(err, { name: "Athena", permissions: ATHENA_PERMISSIONS.join(", ") });
    return new CliError(`Athena: ${text}`, { cause: err });
  }
  throw err;
}

function progressLine(stream: NodeJS.WritableStream) {
  let shown = false;
  return {
    update(label: string, p: AthenaProgress, spentUsd: number) {
      shown = true;
      stream.write(
        `\r${label}: ${p.state.toLowerCase()}, ${byteSize(p.scannedBytes)} scanned, ` +
          `${usd(spentUsd + p.costUsd)} so far, ${Math.round(p.elapsedMs / 1000)} s   `,
      );
    },
    clear() {
      if (shown) stream.write(`\r${" ".repeat(90)}\r`);
    },
  };
}

const sum = (groups: readonly UsageGroup[], of: (g: UsageGroup) => number) =>
  groups.reduce((n, g) => n + of(g), 0);

export async function runAthena(
  rule: Rule,
  window: Window,
  opts: AthenaOptions,
  io: AthenaIo,
): Promise<number> {
  const table: AthenaTable = { database: opts.database, table: opts.table };
  // Built first: a bad name or value is a mistake to report before anything is billed.
  const queries = [
    { label: "window", sql: buildAthenaUsageQuery(rule, window, table) },
    ...(rule.baselineDays > 0
      ? [{ label: "anomaly's history", sql: buildAthenaHistoryQuery(rule, window, table) }]
      : []),
  ];
  const client = io.client ?? (await createAthenaClient(opts.region));
  const interrupt = interruption(io.signal);
  try {
    io.stderr.write(
      `${ATHENA_ENGINE} over ${opts.database}.${opts.table} in workgroup ${opts.workGroup}: ` +
        `${queries.length} quer${queries.length === 1 ? "y" : "ies"} (the window's hours` +
        `${queries.length > 1 ? `, and the ${rule.baselineDays} days of anomaly's history` : ""}), ` +
        `${ATHENA_USD_PER_TB} USD per TB scanned (10 MB at least per query); the workgroup's cutoff bounds each\n`,
    );
    const bar = opts.progress && io.stderr.isTTY ? progressLine(io.stderr) : undefined;
    const outcomes = [];
    let spentUsd = 0;
    try {
      for (const q of queries) {
        const out = await runAthenaQuery(
          client,
          {
            queryString: q.sql,
            workGroup: opts.workGroup,
            database: opts.database,
            catalog: opts.catalog,
            signal: interrupt.signal,
          },
          io.clock ?? systemClock,
          (p) => bar?.update(q.label, p, spentUsd),
        );
        spentUsd += out.costUsd;
        outcomes.push(out);
      }
    } finally {
      bar?.clear();
    }
    const [usageOut, historyOut] = outcomes;
    if (usageOut === undefined) throw new Error("no usage query ran");
    const parsed = parseUsageRows(usageOut.rows, window);
    const rejected = parsed.rejected.length + parsed.rejectedValues.length;
    if (rejected > 0)
      io.stderr.write(`warning: ${rejected} result value(s) or row(s) could not be read (skipped)\n`);
    const groups = parsed.groups;
    const h = anomalyHistoryFromAthenaRows(historyOut?.rows ?? [], rule, window);
    if (h.rejected.length > 0)
      io.stderr.write(`warning: ${h.rejected.length} history row(s) could not be read (skipped)\n`);
    const evaluation = evaluateUsage(groups, rule, window, undefined, h.history);
    const bytesScanned = outcomes.reduce((n, o) => n + o.scannedBytes, 0);
    const firstMs = groups.reduce((m, g) => Math.min(m, g.firstSeenMs), Number.POSITIVE_INFINITY);
    const lastMs = groups.reduce((m, g) => Math.max(m, g.lastSeenMs), Number.NEGATIVE_INFINITY);
    const report: QueryReport = {
      findings: evaluation.findings,
      history: { asked: h.asked, foundFromMs: h.foundFromMs, records: h.records },
      recordSpan: Number.isFinite(firstMs) ? { firstMs, lastMs } : null,
      source: {
        engine: ATHENA_ENGINE,
        queried: [`${opts.database}.${opts.table}`],
        queries: outcomes.length,
        bytesScanned,
        costUsd: spentUsd,
        recordsInWindow: sum(groups, (g) => g.requests),
        recordsInHistory: h.records,
        recordsMatched: sum(groups, (g) => g.hunt?.requestCount ?? 0),
        details: { rowsRejected: parsed.rejected.length, valuesRejected: parsed.rejectedValues.length },
      },
    };
    io.stderr.write(
      `${outcomes.length} quer${outcomes.length === 1 ? "y" : "ies"} run, ${byteSize(bytesScanned)} scanned, ` +
        `${usd(spentUsd)} (billed per query: ${outcomes.map((o) => usd(athenaQueryCostUsd(o.scannedBytes))).join(" + ")})\n`,
    );
    io.stdout.write(
      renderReport(report, rule, window, opts.format, {
        width: io.stdout.isTTY ? io.stdout.columns : undefined,
        wide: opts.wide,
      }),
    );
    return opts.failOnFindings && report.findings.length > 0 ? EXIT.findings : EXIT.ok;
  } catch (err) {
    throw athenaError(err);
  } finally {
    interrupt.release();
    if (io.client === undefined) client.destroy();
  }
}
