/**
 * `bedrock-dos-detector`: the command-line shell over the scanner and the sample generator.
 * Exit codes: 0 done, 1 findings with --fail-on-findings, 2 bad usage or unreadable input. User mistakes print one
 * line on stderr, never a stack trace.
 */
import { Command, CommanderError, InvalidArgumentError, Option } from "commander";
import {
  MAX_SCAN_WINDOW_MS,
  RULE_SETTINGS,
  resolveSettings,
  ruleFrom,
  type SettingKey,
  SettingsError,
  type SettingsInput,
  specOf,
} from "../config/settings.js";
import { buildInsightsQuery } from "../core/insights-query.js";
import { parseIsoOption, type Rule, RuleConfigError, resolveWindow, type Window } from "../core/rule.js";
import { toJsonReport, toTableReport } from "./format.js";
import { InputError } from "./log-files.js";
import { DEFAULT_SAMPLE_END, writeSampleData } from "./sample-data.js";
import { scanLogs } from "./scan.js";

export const EXIT_FINDINGS = 1;
export const EXIT_USAGE = 2;
const MALFORMED_SHOWN = 5;

const positiveInt = (value: string): number => {
  if (!/^\d+$/.test(value.trim()) || Number(value) <= 0)
    throw new InvalidArgumentError("must be a positive integer");
  return Number(value);
};

/** Commander's option name (camel case) of a setting's flag. */
const optionKey = (flag: string) => flag.replace(/-(\w)/g, (_, c: string) => c.toUpperCase());

/** Commander's parsed options: the rule settings' flags are strings, or string lists when repeatable. */
type RuleOptions = { start?: string; end?: string } & Record<string, unknown>;

interface ScanOptions extends RuleOptions {
  format?: "table" | "json";
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
  const window = resolveWindow(rule, {
    startMs: opts.start === undefined ? undefined : parseIsoOption(opts.start, "--start"),
    endMs: opts.end === undefined ? undefined : parseIsoOption(opts.end, "--end"),
    nowMs: Date.now(),
    // One maximum for --lookback and for an explicit --start/--end.
    maxMs: MAX_SCAN_WINDOW_MS,
  });
  return { rule, window };
}

async function runScan(paths: string[], opts: ScanOptions): Promise<number> {
  const { rule, window } = ruleAndWindow(opts);
  const format = opts.format ?? (process.stdout.isTTY ? "table" : "json");
  const bar = opts.progress && process.stderr.isTTY ? progressBar(process.stderr) : undefined;
  let malformed = 0;
  const result = await scanLogs(paths, rule, window, {
    onMalformed(location, reason) {
      malformed++;
      if (malformed <= MALFORMED_SHOWN) {
        bar?.clear();
        process.stderr.write(`${location}: ${reason}\n`);
      }
    },
    onProgress: bar ? (done, total) => bar.update(done, total) : undefined,
  });
  bar?.clear();
  if (malformed > MALFORMED_SHOWN) {
    process.stderr.write(`... and ${malformed - MALFORMED_SHOWN} more malformed lines (skipped)\n`);
  }
  for (const e of result.fileErrors) process.stderr.write(`error: ${e}\n`);
  process.stdout.write(
    format === "json" ? `${toJsonReport(result, rule, window)}\n` : toTableReport(result, rule, window),
  );
  if (result.fileErrors.length > 0) return EXIT_USAGE;
  return opts.failOnFindings && result.findings.length > 0 ? EXIT_FINDINGS : 0;
}

const collect = (value: string, previous: string[] = []) => [...previous, value];

/** The window and rule options shared by `scan` and `query`: one per rule setting with a flag. */
function addRuleOptions(cmd: Command): Command {
  cmd
    .option("--start <iso>", "window start, included (default: end minus --lookback)")
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
  return (s.kind.write as (v: unknown) => string)(s.default);
}

/** Set by the action that ran; main() returns it. */
let exitCode = 0;

export function buildProgram(): Command {
  const program = new Command("bedrock-dos-detector")
    .description(
      "Finds AWS accounts whose Amazon Bedrock calls look like denial-of-service or resource exhaustion:\n" +
        "several requests over the prompt-token, completion-token or request-size threshold in one window.",
    )
    .version("0.1.0");

  const scan = addRuleOptions(
    program
      .command("scan")
      .description(
        "Scan Bedrock model-invocation log files (JSON lines, .gz, CloudWatch export lines) for heavy accounts.\n" +
          "Directories are walked recursively, as in the S3 layout AWSLogs/<account>/BedrockModelInvocationLogs/...",
      )
      .argument("<path...>", "log files or directories"),
  );
  scan
    .addOption(
      new Option("--format <format>", "output format (default: table on a terminal, json otherwise)").choices(
        ["table", "json"],
      ),
    )
    .option("--no-progress", "no progress bar on stderr")
    .option("--fail-on-findings", "exit with code 1 when an account is flagged (for scheduled jobs and CI)")
    .addHelpText(
      "after",
      `
Examples:
  bedrock-dos-detector scan ./AWSLogs
  bedrock-dos-detector scan --start 2026-11-19T00:00:00Z --end 2026-11-20T00:00:00Z logs/ export.log
  bedrock-dos-detector scan --lookback 7d --prompt-tokens 32000 --format json s3-copy/ > findings.json
  bedrock-dos-detector scan --exclude-identity 'arn:aws:sts::*:assumed-role/batch/*' logs/

Exit codes: 0 scan done, 1 accounts flagged with --fail-on-findings, 2 bad options or unreadable input.`,
    )
    .action(async (paths: string[], opts: ScanOptions) => {
      exitCode = await runScan(paths, opts);
    });

  addRuleOptions(
    program
      .command("query")
      .description(
        "Print the rule as CloudWatch Logs Insights query text, to paste into the console (the hunt's account-level\n" +
          "shape by default). Select the time range in the console too; the query also filters to the exact window.",
      ),
  )
    .addOption(
      new Option("--shape <shape>", "rows per account, or per account, identity and model")
        .choices(["account", "evidence"])
        .default("account"),
    )
    .action((opts: RuleOptions & { shape: "account" | "evidence" }) => {
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
      return err.exitCode === 0 ? 0 : EXIT_USAGE;
    }
    if (err instanceof RuleConfigError || err instanceof InputError || err instanceof SettingsError) {
      process.stderr.write(`error: ${err.message}\n`);
      return EXIT_USAGE;
    }
    throw err;
  }
}
