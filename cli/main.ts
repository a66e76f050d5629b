/**
 * `bedrock-dos-detector`: the command-line shell over the scanner and the sample generator.
 * Exit codes: 0 done, 1 findings with --fail-on-findings, 2 bad usage, unreadable input or an AWS error, 130
 * interrupted. User mistakes print one
 * line on stderr, never a stack trace.
 */
import { Command, CommanderError, InvalidArgumentError, Option } from "commander";
import { resolveSettings, type SettingsInput } from "../config/resolve-settings.js";
import { RULE_SETTINGS, ruleFrom } from "../config/rule-settings.js";
import { MAX_SCAN_WINDOW_MS, type SettingKey, specOf } from "../config/settings.js";
import { IDENTIFIER } from "../core/athena-query.js";
import { ARCHIVE_NAMES } from "../core/athena-table.js";
import { buildInsightsQuery } from "../core/insights-query.js";
import { DAY_MS, parseIsoOption, type Rule, resolveWindow, type Window } from "../core/rule.js";
import type { AthenaOptions } from "./athena-command.js";
import { CliError, EXIT } from "./errors.js";
import { type ReportFormat, renderReport, wrapText } from "./format.js";
import type { InsightsOptions } from "./insights-command.js";
import { DEFAULT_HUNT_CONCURRENCY, DEFAULT_MAX_STORED_GB, MAX_HUNT_CONCURRENCY } from "./insights-limits.js";
import { DEFAULT_SAMPLE_END, writeSampleData } from "./sample-data.js";
import { type ScanResult, scanLogs } from "./scan.js";
import { toCliError } from "./user-errors.js";

const MALFORMED_SHOWN = 5;

const positiveInt = (value: string): number => {
  if (!/^\d+$/.test(value.trim()) || Number(value) <= 0)
    throw new InvalidArgumentError("must be a positive integer");
  return Number(value);
};

const intUpTo =
  (max: number) =>
  (value: string): number => {
    const n = positiveInt(value);
    if (n > max) throw new InvalidArgumentError(`must be at most ${max}`);
    return n;
  };

const positiveNumber = (value: string): number => {
  const n = Number(value.trim());
  if (!/^\d+(\.\d+)?$/.test(value.trim()) || !(n > 0))
    throw new InvalidArgumentError("must be a positive number");
  return n;
};

/** Commander's option name (camel case) of a setting's flag. */
const optionKey = (flag: string) => flag.replace(/-(\w)/g, (_, c: string) => c.toUpperCase());

/** Commander's parsed options: the rule settings' flags are strings, or string lists when repeatable. */
type RuleOptions = { start?: string; end?: string } & Record<string, unknown>;

interface ScanOptions extends RuleOptions {
  format?: ReportFormat;
  wide?: boolean;
  progress: boolean;
  failOnFindings?: boolean;
}

function progressBar(stream: NodeJS.WriteStream) {
  let last = 0;
  return {
    update(done: number, total: number) {
      const now = Date.now();
      if (now - last < 100 || total === 0) return;
      last = now;
      const width = 30;
      const ratio = Math.min(1, done / total);
      const filled = Math.round(ratio * width);
      stream.write(
        `\r[${"#".repeat(filled)}${" ".repeat(width - filled)}] ${(ratio * 100).toFixed(0).padStart(3)}% ` +
          `${(done / 1e6).toFixed(1)}/${(total / 1e6).toFixed(1)} MB`,
      );
    },
    clear() {
      if (last > 0) stream.write(`\r${" ".repeat(70)}\r`);
    },
  };
}

/** The rule and window from the shared options of `scan` and `query`: the CLI view of the settings. */
function ruleAndWindow(opts: RuleOptions): { rule: Rule; window: Window } {
  const input: SettingsInput = {};
  for (const key of RULE_SETTINGS) {
    const flag = specOf(key).cli;
    if (flag !== undefined) input[key] = opts[optionKey(flag)];
  }
  const rule = ruleFrom(resolveSettings(RULE_SETTINGS, input, "cli"));
  const lookbackGiven = opts.lookback !== undefined;
  if (opts.start !== undefined && opts.end !== undefined && lookbackGiven) {
    throw new CliError("--start, --end and --lookback: give at most two, the third follows from them", {
      flags: ["--start", "--end", "--lookback"],
    });
  }
  const window = resolveWindow(rule, {
    startMs: opts.start === undefined ? undefined : parseIsoOption(opts.start, "--start"),
    endMs: opts.end === undefined ? undefined : parseIsoOption(opts.end, "--end"),
    lookbackGiven,
    nowMs: Date.now(),
    // One maximum for --lookback and for an explicit --start/--end.
    maxMs: MAX_SCAN_WINDOW_MS,
  });
  return { rule, window };
}

async function runScan(paths: string[], opts: ScanOptions): Promise<number> {
  const { rule, window } = ruleAndWindow(opts);
  const format = defaultFormat(opts.format);
  const bar = opts.progress && process.stderr.isTTY ? progressBar(process.stderr) : undefined;
  // Kept until the end: with no record at all they are not worth a line each (see below).
  const malformedShown: string[] = [];
  const result = await scanLogs(paths, rule, window, {
    onMalformed(location, reason) {
      if (malformedShown.length < MALFORMED_SHOWN) malformedShown.push(`${location}: ${reason}`);
    },
    onProgress: bar ? (done, total) => bar.update(done, total) : undefined,
  });
  bar?.clear();
  for (const e of result.fileErrors) process.stderr.write(`error: ${e}\n`);
  const span = result.recordSpan;
  if (span === null) {
    // Nothing to judge is not "nothing found": a cron job or an incident review must not take it for a clean bill.
    const s = result.stats;
    const first = malformedShown[0];
    const read =
      s.filesRead === 0 && result.fileErrors.length === 0
        ? "no files there"
        : `${s.filesRead} file(s) read, ${s.malformedLines} line(s) that are not records` +
          (first === undefined ? "" : `, the first ${first}`);
    process.stderr.write(`error: no Bedrock invocation records found in ${listPaths(paths)} (${read})\n`);
    return EXIT.usage;
  }
  for (const m of malformedShown) process.stderr.write(`${m}\n`);
  if (result.stats.malformedLines > MALFORMED_SHOWN) {
    const more = result.stats.malformedLines - MALFORMED_SHOWN;
    process.stderr.write(`... and ${more} more malformed lines (skipped)\n`);
  }
  if (result.stats.recordsInWindow === 0)
    process.stderr.write(`${outsideWindowNote(result, span, window)}\n`);
  const width = process.stdout.isTTY ? process.stdout.columns : undefined;
  process.stdout.write(renderReport(result, rule, window, format, { width, wide: opts.wide }));
  if (result.fileErrors.length > 0) return EXIT.usage;
  return opts.failOnFindings && result.findings.length > 0 ? EXIT.findings : 0;
}

type InsightsCommandOptions = RuleOptions &
  Omit<InsightsOptions, "format"> & { format?: InsightsOptions["format"] };

async function runInsightsCommand(logGroups: string[], opts: InsightsCommandOptions): Promise<number> {
  const { rule, window } = ruleAndWindow(opts);
  const { runInsights } = await loadAwsCommand(() => import("./insights-command.js"));
  return runInsights(
    logGroups,
    rule,
    window,
    { ...opts, format: defaultFormat(opts.format) },
    { stdout: process.stdout, stderr: process.stderr },
  );
}

type AthenaCommandOptions = RuleOptions &
  Omit<AthenaOptions, "format"> & { format?: AthenaOptions["format"] };

/** A Glue database or table name as the queries accept it (core/athena-query.ts IDENTIFIER). */
const glueName = (value: string): string => {
  if (!IDENTIFIER.test(value))
    throw new InvalidArgumentError("must be lower-case letters, digits and underscores (a Glue name)");
  return value;
};

async function runAthenaCommand(opts: AthenaCommandOptions): Promise<number> {
  const { rule, window } = ruleAndWindow(opts);
  const { runAthena } = await loadAwsCommand(() => import("./athena-command.js"));
  return runAthena(
    rule,
    window,
    { ...opts, format: defaultFormat(opts.format) },
    { stdout: process.stdout, stderr: process.stderr },
  );
}

const listPaths = (paths: readonly string[]): string =>
  paths.length <= 3 ? paths.join(", ") : `${paths.slice(0, 3).join(", ")} and ${paths.length - 3} more`;

const iso = (ms: number) => new Date(ms).toISOString();
const day = (ms: number) => iso(ms).slice(0, 10);

/** Says that records were read but none is in the window, when they are, and the options that cover them. */
function outsideWindowNote(
  result: ScanResult,
  span: { firstMs: number; lastMs: number },
  window: Window,
): string {
  // Whole UTC days that hold every record; the end is excluded, so it is the day after the last record.
  const end = Math.floor(span.lastMs / DAY_MS) * DAY_MS + DAY_MS;
  return (
    `note: none of the ${result.stats.recordsRead} records read is in the window ${iso(window.startMs)} .. ` +
    `${iso(window.endMs)}; they span ${iso(span.firstMs)} .. ${iso(span.lastMs)}: ` +
    `use --start ${day(span.firstMs)} --end ${day(end)}`
  );
}

const collect = (value: string, previous: string[] = []) => [...previous, value];

/** The report options shared by `scan`, `insights` and `athena`. */
function addReportOptions(cmd: Command): Command {
  return cmd
    .addOption(
      new Option(
        "--format <format>",
        "output format: table, json or csv (default: table on a terminal, json otherwise)",
      ).choices(["table", "json", "csv"]),
    )
    .option("--wide", "table: every column on one line, whatever the terminal's width")
    .option("--no-progress", "no progress display on stderr")
    .option("--fail-on-findings", "exit with code 1 when an account is flagged (for scheduled jobs and CI)");
}

/** --format's default: a table for a person at a terminal, JSON for a pipe or a file. */
const defaultFormat = (format: ReportFormat | undefined): ReportFormat =>
  format ?? (process.stdout.isTTY ? "table" : "json");

/**
 * Loads a command that uses an AWS SDK, only when it runs. The SDK's notice about its future Node.js versions
 * is not the command's business (engines: node >= 20).
 */
function loadAwsCommand<T>(load: () => Promise<T>): Promise<T> {
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= "true";
  return load();
}

/** The window and rule options shared by `scan`, `insights` and `query`: one per rule setting with a flag. */
function addRuleOptions(cmd: Command): Command {
  cmd
    .option(
      "--start <iso>",
      "window start, included; a date alone is midnight UTC (default: end minus --lookback; with --lookback and no --end, the window is --lookback from here)",
    )
    .option("--end <iso>", "window end, excluded (default: now)");
  for (const key of RULE_SETTINGS) {
    const s = specOf(key);
    if (s.cli === undefined) continue;
    const repeatable = Array.isArray(s.default);
    const value = repeatable ? "<value>" : key === "lookback" ? "<duration>" : "<n>";
    // The default is shown, not set: an unset option means the setting's default (one source of truth).
    const shown = defaultText(key);
    const option = new Option(
      `--${s.cli} ${value}`,
      `${s.doc}${repeatable ? " (repeatable)" : ""}${shown ? ` (default: ${shown})` : ""}`,
    );
    if (repeatable) option.argParser(collect);
    cmd.addOption(option);
  }
  return cmd;
}

function defaultText(key: SettingKey): string {
  const s = specOf(key);
  if (s.default === undefined || (Array.isArray(s.default) && s.default.length === 0)) return "";
  return s.kind.write(s.default);
}

/** Set by the action that ran; main() returns it. */
let exitCode = 0;

/** Help lines fit the terminal (80 columns when it is not one), and no wider than 100 to stay readable. */
const helpWidth = (): number =>
  Math.max(40, Math.min(process.stdout.isTTY ? process.stdout.columns : 80, 100));

export function buildProgram(): Command {
  const program = new Command("bedrock-dos-detector")
    // Descriptions are single paragraphs: commander wraps them at word boundaries to this width.
    .configureHelp({ helpWidth: helpWidth() })
    .description(
      "Finds AWS accounts whose Amazon Bedrock calls look like denial-of-service or resource exhaustion: " +
        "several requests over the prompt-token, completion-token or request-size threshold in one window.",
    )
    .version("0.1.0");

  const scan = addRuleOptions(
    program
      .command("scan")
      .summary("scan Bedrock model-invocation logs (files, directories, stdin, S3) for heavy accounts")
      .description(
        "Scan Bedrock model-invocation logs (JSON lines, gzip, CloudWatch export lines, Logs Insights JSON/CSV " +
          "downloads, aws logs get-query-results/filter-log-events output, Firehose subscription data; told by " +
          "content) for heavy accounts. " +
          "Directories are walked recursively, as in the S3 layout AWSLogs/<account>/BedrockModelInvocationLogs/...; " +
          "- or /dev/stdin reads standard input; s3://bucket/prefix/ reads S3 with the AWS SDK's default " +
          "credentials and region (under the Bedrock layout, only the hours of the window and of the baseline days before it are listed).",
      )
      .argument("<path...>", "log files, directories, - (stdin) or s3://bucket/prefix/"),
  );
  addReportOptions(scan)
    .addHelpText(
      "after",
      () =>
        "\nExamples:\n" +
        "  bedrock-dos-detector scan ./AWSLogs\n" +
        "  bedrock-dos-detector scan --start 2026-11-19 --end 2026-11-20 logs/ export.log\n" +
        "  bedrock-dos-detector scan --lookback 7d --format csv s3://my-logs/ > week.csv\n" +
        "  gunzip -c batch.json.gz | bedrock-dos-detector scan -\n" +
        "  bedrock-dos-detector scan --exclude-account 123456789012 logs/\n\n" +
        `${wrapText(
          "Exit codes: 0 scan done, 1 accounts flagged with --fail-on-findings, 2 bad options, unreadable " +
            "input or no records found at all.",
          helpWidth(),
        )}\n`,
    )
    .action(async (paths: string[], opts: ScanOptions) => {
      exitCode = await runScan(paths, opts);
    });

  addReportOptions(
    addRuleOptions(
      program
        .command("insights")
        .summary(
          "hunt CloudWatch Logs log groups with Logs Insights, as the deployed detector does, over up to years",
        )
        .description(
          "Run the scheduled detector's Logs Insights queries over log groups (names or ARNs) with the AWS SDK's " +
            "default credentials: every detection, the window and anomaly's baseline days before it queried day by " +
            "day, a few days at a time, and the same report as scan. Logs Insights bills the bytes it scans: the " +
            "log groups' stored bytes (their upper bound) and its cost are shown first, and more than " +
            "--max-stored-gb is refused. Ctrl-C stops the running queries.",
        )
        .argument("<log-group...>", "log group names or ARNs (at most 50)"),
    ),
  )
    .option("--region <region>", "the log groups' AWS Region (default: the SDK's, e.g. AWS_REGION)")
    .option(
      "--concurrency <n>",
      `days queried at once, at most ${MAX_HUNT_CONCURRENCY}`,
      intUpTo(MAX_HUNT_CONCURRENCY),
      DEFAULT_HUNT_CONCURRENCY,
    )
    .option(
      "--max-stored-gb <gb>",
      "refuse to start when the log groups hold more than this (their stored bytes bound what the queries scan)",
      positiveNumber,
      DEFAULT_MAX_STORED_GB,
    )
    .addHelpText(
      "after",
      () =>
        "\nExamples:\n" +
        "  bedrock-dos-detector insights /aws/bedrock/model-invocations --lookback 90d\n" +
        "  bedrock-dos-detector insights --region eu-west-1 --start 2026-09-01 --end 2026-10-01 --format csv my-group\n\n" +
        `${wrapText(
          "Exit codes: 0 hunt done, 1 accounts flagged with --fail-on-findings, 2 bad options, a log group " +
            "not found, over --max-stored-gb, or an AWS error (credentials, permissions, a failed query), " +
            "130 interrupted (Ctrl-C: running queries stopped).",
          helpWidth(),
        )}\n`,
    )
    .action(async (logGroups: string[], opts: InsightsCommandOptions) => {
      exitCode = await runInsightsCommand(logGroups, opts);
    });

  addReportOptions(
    addRuleOptions(
      program
        .command("athena")
        .summary(
          "hunt the S3 delivery archive in place with Athena (the archive construct's table and workgroup)",
        )
        .description(
          "Run every detection as Athena SQL over the table the archive construct (BedrockInvocationArchive) " +
            "creates over Bedrock's S3 deliveries, with the AWS SDK's default credentials, and print the same " +
            "report as scan. Two queries: the window, and anomaly's baseline days before it; each reads only " +
            "the hour partitions it needs. Athena bills the bytes scanned (shown as it runs); the workgroup's " +
            "cutoff stops a query past its limit. Ctrl-C stops the running query.",
        ),
    ),
  )
    .option("--work-group <name>", "the archive's Athena workgroup", ARCHIVE_NAMES.workGroup)
    .option("--database <name>", "the archive's Glue database", glueName, ARCHIVE_NAMES.database)
    .option("--table <name>", "the archive's Glue table", glueName, ARCHIVE_NAMES.table)
    .option("--catalog <name>", "the data catalog", "AwsDataCatalog")
    .option("--region <region>", "the workgroup's AWS Region (default: the SDK's, e.g. AWS_REGION)")
    .addHelpText(
      "after",
      () =>
        "\nExamples:\n" +
        "  bedrock-dos-detector athena --lookback 7d\n" +
        "  bedrock-dos-detector athena --region eu-west-1 --start 2026-09-01 --end 2026-10-01 --format csv\n\n" +
        `${wrapText(
          "Exit codes: 0 done, 1 accounts flagged with --fail-on-findings, 2 bad options or an AWS error " +
            "(credentials, permissions, a failed query, the workgroup's cutoff), 130 interrupted (Ctrl-C: the " +
            "running query stopped).",
          helpWidth(),
        )}\n`,
    )
    .action(async (opts: AthenaCommandOptions) => {
      exitCode = await runAthenaCommand(opts);
    });

  addRuleOptions(
    program
      .command("query")
      .summary("print the rule as CloudWatch Logs Insights query text")
      .description(
        "Print the rule as CloudWatch Logs Insights query text, to paste into the console (the hunt's " +
          "account-level shape by default). Select the time range in the console too; the query also filters " +
          "to the exact window.",
      ),
  )
    .addOption(
      new Option(
        "--shape <shape>",
        "the hunt's rows per account, or per account, identity and model; or every detection's: every request per account, identity, model and hour (what the scheduled detector stores)",
      )
        .choices(["account", "evidence", "usage"])
        .default("account"),
    )
    .action((opts: RuleOptions & { shape: "account" | "evidence" | "usage" }) => {
      const { rule, window } = ruleAndWindow(opts);
      process.stdout.write(`${buildInsightsQuery(rule, window, { shape: opts.shape })}\n`);
    });

  program
    .command("sample")
    .description(
      "Write realistic, seeded sample Bedrock invocation logs (S3 layout, gzip, a CloudWatch export)",
    )
    .argument("<dir>", "output directory (created; existing sample files are replaced)")
    .option("--seed <n>", "random seed", positiveInt, 42)
    .option("--end <iso>", "the sample's day ends here", DEFAULT_SAMPLE_END)
    .action(async (dir: string, opts: { seed: number; end: string }) => {
      const summary = await writeSampleData(dir, {
        seed: opts.seed,
        endMs: parseIsoOption(opts.end, "--end"),
      });
      process.stderr.write(`Wrote ${summary.records} records in ${summary.files} files under ${dir}\n`);
    });

  return program;
}

export async function main(argv: string[]): Promise<number> {
  const program = buildProgram();
  program.exitOverride();
  program.commands.forEach((c) => {
    c.exitOverride();
  });
  exitCode = 0;
  try {
    await program.parseAsync(argv);
    return exitCode;
  } catch (err) {
    if (err instanceof CommanderError) {
      // Help and version exit 0; commander has already printed its own one-line message otherwise.
      return err.exitCode === 0 ? EXIT.ok : EXIT.usage;
    }
    const mistake = toCliError(err);
    if (mistake === undefined) throw err;
    process.stderr.write(`error: ${mistake.message}\n`);
    return mistake.exitCode;
  }
}
