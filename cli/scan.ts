/** Runs the rule over log sources: the scanner's core, without argument parsing or output. */

import { compareAccounts } from "../core/detections.js";
import type { Finding } from "../core/evaluator.js";
import { type EvaluationStats, RuleEvaluator } from "../core/record-evaluator.js";
import type { Rule, Window } from "../core/rule.js";
import { InputError } from "./errors.js";
import type { LogSource } from "./log-source.js";
import { scanFilesInWorkers, useWorkers } from "./parallel-scan.js";
import { readSourceBatches } from "./read-batches.js";
import { malformedAt } from "./record-assembler.js";
import { SHARD_STATS, type ShardEvaluation } from "./scan-part-types.js";
import { stopScanThreads } from "./scan-threads.js";
import { findSources } from "./sources.js";

/** Network sources (S3 objects) read at once; files are read one after another. */
const PARALLEL_SOURCES = 8;

export interface ScanStats extends EvaluationStats {
  /** Files, S3 objects and stdin read to the end. */
  filesRead: number;
  malformedLines: number;
}

/** How much of anomaly's history the records read reached (core/anomaly.ts). */
export interface HistoryFound {
  /** The history asked: `baselineDays` before the window's first clock hour, to the window's start. */
  readonly asked: Window;
  /** Where the history found starts (the earliest record read, by its clock hour; at most the window's hour). */
  readonly foundFromMs: number;
  /** Records read in the history span. */
  readonly records: number;
}

export interface ScanResult {
  readonly findings: Finding[];
  readonly history: HistoryFound;
  readonly stats: ScanStats;
  /** Earliest and latest record timestamps read, window or not (null when no record was read). */
  readonly recordSpan: { readonly firstMs: number; readonly lastMs: number } | null;
  /**
   * Files that could not be read to the end, and entries below the given directories that could not be read
   * (one line each). Records read before a file broke off are included; the scan went on with the rest.
   */
  readonly fileErrors: string[];
}

export interface ScanHooks {
  /** Every malformed line, as `file:line` (`file: record 3 (line 40)` inside an export) and the reason. */
  onMalformed?(location: string, reason: string): void;
  /** Raw bytes read so far out of the total known, for progress. */
  onProgress?(bytesRead: number, totalBytes: number): void;
}

export async function scanLogs(
  paths: readonly string[],
  rule: Rule,
  window: Window,
  hooks: ScanHooks = {},
): Promise<ScanResult> {
  const evaluator = new RuleEvaluator(rule, window);
  // S3 prefixes are listed from the start of anomaly's history: its records are read from the same paths.
  const { sources, errors } = await findSources(paths, {
    startMs: evaluator.historyWindow.startMs,
    endMs: window.endMs,
  });
  const totalBytes = sources.reduce((n, s) => n + (s.size ?? 0), 0);
  const fileErrors: string[] = [...errors];
  let filesRead = 0;
  let malformedLines = 0;
  let bytesRead = 0;
  let firstMs = Number.POSITIVE_INFINITY;
  let lastMs = Number.NEGATIVE_INFINITY;
  const onBytes = (n: number) => {
    bytesRead += n;
    hooks.onProgress?.(bytesRead, totalBytes);
  };
  const read = async (source: LogSource) => {
    // A file that broke off after some lines was read up to there: it counts as read, and its error is reported.
    let readSome = false;
    try {
      for await (const batch of readSourceBatches(source, onBytes)) {
        if (batch.length > 0) readSome = true;
        for (const item of batch) {
          if (item.kind === "record") {
            const t = item.record.timestampMs;
            if (t < firstMs) firstMs = t;
            if (t > lastMs) lastMs = t;
            evaluator.add(item.record);
          } else {
            malformedLines++;
            hooks.onMalformed?.(malformedAt(source.name, item), item.reason);
          }
        }
      }
      filesRead++;
    } catch (err) {
      if (!(err instanceof InputError)) throw err;
      if (readSome) filesRead++;
      fileErrors.push(err.message);
    }
  };
  let sequential = sources.filter((s) => !s.parallel);
  const files = sequential.flatMap((s) => (s.path === undefined ? [] : [{ path: s.path, size: s.size }]));
  let shards: ShardEvaluation[] = [];
  /** This evaluator's findings, where the parallel scan found them already (it gets no more records then). */
  let ownFindings: Finding[] | undefined;
  if (useWorkers(files)) {
    // Local files on all cores, with exactly the results of reading them here one after another. When they are
    // all there is to read, each thread evaluates a shard of the accounts; else this evaluator gets every record.
    const r = await scanFilesInWorkers(files, evaluator, files.length === sources.length, {
      onMalformed: hooks.onMalformed,
      onBytes,
    });
    shards = r.shards;
    ownFindings = r.ownFindings;
    filesRead += r.filesRead;
    malformedLines += r.malformedLines;
    firstMs = Math.min(firstMs, r.firstMs);
    lastMs = Math.max(lastMs, r.lastMs);
    fileErrors.push(...r.fileErrors);
    sequential = sequential.filter((s) => s.path === undefined);
  } else stopScanThreads();
  for (const source of sequential) await read(source);
  // One evaluator for all: its aggregates do not depend on the order records arrive in.
  const parallel = sources.filter((s) => s.parallel);
  let next = 0;
  const worker = async () => {
    while (next < parallel.length) await read(parallel[next++] as LogSource);
  };
  await Promise.all(Array.from({ length: Math.min(PARALLEL_SOURCES, parallel.length) }, worker));
  const stats = { ...evaluator.stats };
  for (const s of shards) for (const key of SHARD_STATS) stats[key] += s.stats[key];
  return {
    // Each account is in one shard: the shards' findings together are one evaluation's, in its order.
    findings: [ownFindings ?? evaluator.findings(), ...shards.map((s) => s.findings)]
      .flat()
      .sort(compareAccounts),
    history: {
      asked: evaluator.historyWindow,
      foundFromMs: evaluator.history().knownFromMs,
      records: evaluator.stats.recordsInHistory,
    },
    stats: { filesRead, ...stats, malformedLines },
    recordSpan: evaluator.stats.recordsRead > 0 ? { firstMs, lastMs } : null,
    fileErrors,
  };
}
