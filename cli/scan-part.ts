/**
 * One part of the parallel scan (see parallel-scan.ts): a byte range of a large uncompressed file, or whole
 * files. Returns its counts, per account shard (account-shards.ts) the records in the window (in file order) and
 * anomaly's history (tokens per account, identity and clock hour before the window), and the malformed lines;
 * deduplication, the detections, exclusions and aggregation are the shards' evaluators' (parallel-scan.ts). Run by the worker threads, and by the main
 * thread itself, which takes parts too (one thread fewer to start).
 */
import { inWindow } from "../core/evaluator.js";
import { totalTokensOfRecord } from "../core/record-evaluator.js";
import { hourOf } from "../core/rule.js";
import { shardOf } from "./account-shards.js";
import { RecordEncoder } from "./compact-records.js";
import { InputError } from "./errors.js";
import { readFileBatches } from "./read-batches.js";
import { type RangeRead, readRangeBatches } from "./read-range.js";
import type { FileItem } from "./record-assembler.js";
import type { HistoryRows, PartResult, PartSpec, WorkerSetup } from "./scan-part-types.js";

/** A part's results: one for a byte range, one per file for whole files. */
export async function runPart(job: PartSpec, setup: WorkerSetup): Promise<PartResult[]> {
  if (job.kind === "range") {
    const where: RangeRead = { start: 0, resumeAt: 0, lines: 0 };
    const result = await readPart(readRangeBatches(job.path, job.from, job.end, job.aligned, where), setup);
    result.start = where.start;
    result.resumeAt = where.resumeAt;
    result.lines = where.lines;
    return [result];
  }
  const results: PartResult[] = [];
  for (const path of job.paths) results.push(await readPart(readFileBatches(path), setup));
  return results;
}

async function readPart(
  batches: AsyncGenerator<FileItem[]>,
  { window, history, shards }: WorkerSetup,
): Promise<PartResult> {
  const records = Array.from({ length: shards }, () => new RecordEncoder());
  const histories: HistoryRows[] = Array.from({ length: shards }, () => ({
    accountIds: [],
    identityArns: [],
    hourMs: [],
    tokens: [],
  }));
  const result: PartResult = {
    shards: [],
    recordsRead: 0,
    recordsInWindow: 0,
    recordsInHistory: 0,
    firstMs: Number.POSITIVE_INFINITY,
    lastMs: Number.NEGATIVE_INFINITY,
    malformed: [],
    start: 0,
    resumeAt: 0,
    lines: 0,
    error: null,
  };
  /** History rows by account, identity and hour: one per key however many records. */
  const historyRows = new Map<string, number>();
  try {
    for await (const batch of batches) {
      for (const item of batch) {
        if (item.kind === "malformed") {
          result.malformed.push({ line: item.line, reason: item.reason, at: item.at });
          continue;
        }
        const r = item.record;
        result.recordsRead++;
        if (r.timestampMs < result.firstMs) result.firstMs = r.timestampMs;
        if (r.timestampMs > result.lastMs) result.lastMs = r.timestampMs;
        if (inWindow(r.timestampMs, window)) {
          result.recordsInWindow++;
          (records[shardOf(r.accountId, shards)] as RecordEncoder).add(r);
        } else if (inWindow(r.timestampMs, history)) {
          result.recordsInHistory++;
          const hourMs = hourOf(r.timestampMs);
          const key = `${r.accountId}\u0000${r.identityArn ?? "\u0001"}\u0000${hourMs}`;
          const h = histories[shardOf(r.accountId, shards)] as HistoryRows;
          let i = historyRows.get(key);
          if (i === undefined) {
            i = h.tokens.length;
            historyRows.set(key, i);
            h.accountIds.push(r.accountId);
            h.identityArns.push(r.identityArn);
            h.hourMs.push(hourMs);
            h.tokens.push(0);
          }
          h.tokens[i] = (h.tokens[i] as number) + totalTokensOfRecord(r);
        }
      }
    }
  } catch (err) {
    if (!(err instanceof InputError)) throw err;
    result.error = err.message;
  }
  result.shards = records.map((r, k) => ({ inWindow: r.finish(), history: histories[k] as HistoryRows }));
  return result;
}
