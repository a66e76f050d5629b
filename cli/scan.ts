/** Runs the rule over log files: the scanner's core, without argument parsing or output. */
import { type Finding, RuleEvaluator } from "../core/evaluator.js";
import type { Rule, Window } from "../core/rule.js";
import { findLogFiles, InputError, readLogFile } from "./log-files.js";

export interface ScanStats {
  filesRead: number;
  recordsRead: number;
  recordsInWindow: number;
  recordsMatched: number;
  malformedLines: number;
}

export interface ScanResult {
  readonly findings: Finding[];
  readonly stats: ScanStats;
  /**
   * Files that could not be read to the end, and entries below the given directories that could not be read
   * (one line each). Records read before a file broke off are included; the scan went on with the rest.
   */
  readonly fileErrors: string[];
}

export interface ScanHooks {
  /** Every malformed line, as `file:line: reason`. */
  onMalformed?(location: string, reason: string): void;
  /** Raw bytes read so far out of the total, for progress. */
  onProgress?(bytesRead: number, totalBytes: number): void;
}

export async function scanLogs(
  paths: readonly string[],
  rule: Rule,
  window: Window,
  hooks: ScanHooks = {},
): Promise<ScanResult> {
  const { files, errors } = await findLogFiles(paths);
  const totalBytes = files.reduce((n, f) => n + f.size, 0);
  const evaluator = new RuleEvaluator(rule, window);
  const fileErrors: string[] = [...errors];
  let filesRead = 0;
  let malformedLines = 0;
  let bytesRead = 0;
  const onBytes = (n: number) => {
    bytesRead += n;
    hooks.onProgress?.(bytesRead, totalBytes);
  };
  for (const file of files) {
    try {
      for await (const item of readLogFile(file.path, onBytes)) {
        if (item.kind === "record") evaluator.add(item.record);
        else {
          malformedLines++;
          hooks.onMalformed?.(`${file.path}:${item.line}`, item.reason);
        }
      }
      filesRead++;
    } catch (err) {
      if (!(err instanceof InputError)) throw err;
      fileErrors.push(err.message);
    }
  }
  return {
    findings: evaluator.findings(),
    stats: { filesRead, ...evaluator.stats, malformedLines },
    fileErrors,
  };
}
