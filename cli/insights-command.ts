/**
 * `bedrock-dos-detector insights`: the scheduled Lambda's queries over CloudWatch Logs log groups from a
 * laptop, for windows of up to MAX_SCAN_WINDOW_MS. Says before starting what the groups hold and what scanning
 * all of it would cost, refuses above --max-stored-gb, shows progress and the running cost on a terminal, and
 * reports like `scan`. Loaded (with the AWS SDK) only when the command runs.
 */
import { CloudWatchLogsClient } from "@aws-sdk/client-cloudwatch-logs";
import { BYTES_PER_GB, INSIGHTS_USD_PER_GB_SCANNED, insightsCostUsd } from "../core/pricing.js";
import type { Rule, Window } from "../core/rule.js";
import { DetectorError } from "../lambda/errors.js";
import { withAccountLevelCaveat } from "../lambda/evaluation.js";
import { describeAwsError, isAwsError } from "./aws-errors.js";
import { CliError, EXIT } from "./errors.js";
import { byteSize, type QueryReport, type ReportFormat, renderReport, usd } from "./format.js";
import { type HuntOptions, type HuntProgress, huntLogGroups, huntPeriods } from "./insights-hunt.js";
import { interruption } from "./interruption.js";
import { describeLogGroups } from "./log-groups.js";
import { reportFromUsage } from "./usage-report.js";

export const INSIGHTS_ENGINE = "CloudWatch Logs Insights";

/** What the credentials need, named in access-denied errors and in docs/insights-hunt.md. */
export const INSIGHTS_PERMISSIONS = [
  "logs:DescribeLogGroups",
  "logs:StartQuery",
  "logs:GetQueryResults",
  "logs:StopQuery",
] as const;

export interface InsightsOptions {
  readonly region?: string;
  readonly format: ReportFormat;
  readonly wide?: boolean;
  readonly concurrency: number;
  /** Refuse to start when the log groups hold more than this many GB. */
  readonly maxStoredGb: number;
  readonly progress: boolean;
  readonly failOnFindings?: boolean;
}

/** Where the command writes, and what tests replace (the default: the process's streams, Ctrl-C, the clock). */
export interface InsightsIo {
  readonly stdout: NodeJS.WritableStream & { isTTY?: boolean; columns?: number };
  readonly stderr: NodeJS.WritableStream & { isTTY?: boolean };
  /** Aborting it interrupts the hunt; without it Ctrl-C (SIGINT) does. */
  readonly signal?: AbortSignal;
  readonly rowLimit?: number;
  readonly clock?: HuntOptions["clock"];
}

/** A failure of the AWS side in one line (a CliError); anything else is a bug and is rethrown. */
export function insightsError(err: unknown): CliError {
  if (err instanceof CliError) return err;
  // The shared query code's errors: a query rejected (missing group, malformed) or ended without results.
  if (err instanceof DetectorError) return new CliError(`Logs Insights: ${err.message}`, { cause: err });
  if (isAwsError(err)) {
    const text = describeAwsError(err, {
      name: "CloudWatch Logs",
      permissions: INSIGHTS_PERMISSIONS.join(", "),
      special: (name) => (name === "ResourceNotFoundException" ? "log group not found" : undefined),
    });
    return new CliError(`CloudWatch Logs: ${text}`, { cause: err });
  }
  throw err;
}

function progressLine(stream: NodeJS.WritableStream) {
  let last = 0;
  let shown = false;
  return {
    update(p: HuntProgress) {
      const now = Date.now();
      if (now - last < 100 && p.periodsDone < p.periods) return;
      last = now;
      shown = true;
      const width = 30;
      const filled = p.periods === 0 ? width : Math.round((p.periodsDone / p.periods) * width);
      stream.write(
        `\r[${"#".repeat(filled)}${" ".repeat(width - filled)}] ${p.periodsDone}/${p.periods} days, ` +
          `${byteSize(p.bytesScanned)} scanned, ${usd(insightsCostUsd(p.bytesScanned))}   `,
      );
    },
    clear() {
      if (shown) stream.write(`\r${" ".repeat(90)}\r`);
    },
  };
}

export async function runInsights(
  logGroups: readonly string[],
  rule: Rule,
  window: Window,
  opts: InsightsOptions,
  io: InsightsIo,
): Promise<number> {
  const client = new CloudWatchLogsClient(opts.region === undefined ? {} : { region: opts.region });
  const interrupt = interruption(io.signal);
  try {
    return await hunt(client, logGroups, rule, window, opts, io, interrupt.signal);
  } catch (err) {
    throw insightsError(err);
  } finally {
    interrupt.release();
    client.destroy();
  }
}

async function hunt(
  client: CloudWatchLogsClient,
  logGroups: readonly string[],
  rule: Rule,
  window: Window,
  opts: InsightsOptions,
  io: InsightsIo,
  signal: AbortSignal,
): Promise<number> {
  const groups = await describeLogGroups(client, logGroups, Date.now());
  const storedBytes = groups.reduce((n, g) => n + g.storedBytes, 0);
  const bound = `${byteSize(storedBytes)}: scanning all of it costs at most ${usd(insightsCostUsd(storedBytes))} (${INSIGHTS_USD_PER_GB_SCANNED} USD per GB scanned)`;
  if (storedBytes > opts.maxStoredGb * BYTES_PER_GB) {
    const needed = Math.ceil(storedBytes / BYTES_PER_GB);
    throw new CliError(
      `the log groups hold ${bound}, over --max-stored-gb ${opts.maxStoredGb}: raise it (--max-stored-gb ${needed}) to hunt them`,
      { flags: ["--max-stored-gb"] },
    );
  }
  io.stderr.write(`${INSIGHTS_ENGINE} over ${groups.length} log group(s) holding ${bound}\n`);
  const days = huntPeriods(rule, window);
  const total = days.window.length + days.history.length;
  io.stderr.write(
    `Querying ${total} day${total === 1 ? "" : "s"} (${days.window.length} in the window, ` +
      `${days.history.length} of anomaly's history), ${opts.concurrency} at a time\n`,
  );
  const bar = opts.progress && io.stderr.isTTY ? progressLine(io.stderr) : undefined;
  let outcome: Awaited<ReturnType<typeof huntLogGroups>>;
  try {
    outcome = await huntLogGroups({
      client,
      logGroupIdentifiers: groups.map((g) => g.identifier),
      rule,
      window,
      concurrency: opts.concurrency,
      rowLimit: io.rowLimit,
      signal,
      clock: io.clock,
      onProgress: bar ? (p) => bar.update(p) : undefined,
    });
  } finally {
    bar?.clear();
  }
  for (const [message, times] of outcome.warnings)
    io.stderr.write(`warning: ${message}${times > 1 ? ` (${times} times)` : ""}\n`);
  // Records may be in any of the groups: history is known from the earliest group's records on.
  const from = groups.flatMap((g) => (g.recordsFromMs === undefined ? [] : [g.recordsFromMs]));
  const recordsFromMs = from.length === groups.length ? Math.min(...from) : undefined;
  const usage = reportFromUsage(outcome.usage, rule, window, recordsFromMs);
  const costUsd = insightsCostUsd(outcome.bytesScanned);
  const report: QueryReport = {
    findings: withAccountLevelCaveat(usage.findings, { rule }, outcome.accountLevelAccounts),
    history: usage.history,
    recordSpan: usage.recordSpan,
    source: {
      engine: INSIGHTS_ENGINE,
      queried: groups.map((g) => g.identifier),
      queries: outcome.queries,
      bytesScanned: outcome.bytesScanned,
      costUsd,
      recordsInWindow: usage.records.inWindow,
      recordsInHistory: usage.records.inHistory,
      recordsMatched: usage.records.matched,
      details: {
        storedBytes,
        windowDays: outcome.periods.window,
        historyDays: outcome.periods.history,
        recordsScanned: outcome.recordsScanned,
        rowLimitReached: outcome.limitReached,
        rowsRejected: outcome.rowsRejected,
        valuesRejected: outcome.valuesRejected,
      },
    },
  };
  io.stderr.write(
    `${outcome.queries} quer${outcome.queries === 1 ? "y" : "ies"} run, ${byteSize(outcome.bytesScanned)} scanned, ${usd(costUsd)}\n`,
  );
  io.stdout.write(
    renderReport(report, rule, window, opts.format, {
      width: io.stdout.isTTY ? io.stdout.columns : undefined,
      wide: opts.wide,
    }),
  );
  return opts.failOnFindings && report.findings.length > 0 ? EXIT.findings : EXIT.ok;
}
