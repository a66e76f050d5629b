/**
 * One part of the parallel scan (see parallel-scan.ts): a byte range of a large uncompressed file, or whole
 * files. Returns its counts, per account shard (account-shards.ts) the records in the window (in file order) and
 * anomaly's history (tokens per account, identity and clock hour before the window), and the malformed lines;
 * deduplication, the detections, exclusions and aggregation are the shards' evaluators' (parallel-scan.ts). Run
 * by the worker threads, and by the main thread itself, which takes parts too (one thread fewer to start).
 */
import { addTokens } from "../core/anomaly.js";
import { inWindow } from "../core/evaluator.js";
import { totalTokensOfRecord } from "../core/record-evaluator.js";
import { hourOf } from "../core/rule.js";
import { shardOf } from "./account-shards.js";
import { RecordEncoder } from "./compact-records.js";
import { InputError } from "./errors.js";
import { readFileBatches } from "./read-batches.js";
import { type RangeRead, readRangeBatches } from "./read-range.js";
import type { FileItem } from "./record-assembler.js";
import type { HistoryRows, PartOutput, PartResult, PartSpec, WorkerSetup } from "./scan-part-types.js";

/** A part's results (one for a byte range, one per file for whole files) and its records per account shard. */
export async function runPart(job: PartSpec, setup: WorkerSetup): Promise<PartOutput> {
  // One encoder per shard for the whole part: a batch's files are taken one after another, nothing in between.
  const into: ShardInto = {
    records: Array.from({ length: setup.shards }, () => new RecordEncoder()),
    histories: Array.from({ length: setup.shards }, () => ({
      accountIds: [],
      identityArns: [],
      hourMs: [],
      tokens: [],
    })),
    historyRows: new Map(),
  };
  const results: PartResult[] = [];
  if (job.kind === "range") {
    const where: RangeRead = { start: 0, resumeAt: 0, lines: 0 };
    const result = await readPart(
      readRangeBatches(job.path, job.from, job.end, job.aligned, where),
      setup,
      into,
    );
    result.start = where.start;
    result.resumeAt = where.resumeAt;
    result.lines = where.lines;
    results.push(result);
  } else for (const path of job.paths) results.push(await readPart(readFileBatches(path), setup, into));
  const shards = into.records.map((r, k) => ({
    inWindow: r.finish(),
    history: into.histories[k] as HistoryRows,
  }));
  return { results, shards };
}

/** Where a part's records go, per account shard. */
interface ShardInto {
  readonly records: RecordEncoder[];
  readonly histories: HistoryRows[];
  /** History rows by account, identity and hour: one per key however many records. */
  readonly historyRows: Map<string, number>;
}

async function readPart(
  batches: AsyncGenerator<FileItem[]>,
  { window, history, shards }: WorkerSetup,
  { records, histories, historyRows }: ShardInto,
): Promise<PartResult> {
  const result: PartResult = {
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
          h.tokens[i] = addTokens(h.tokens[i] as number, totalTokensOfRecord(r));
        }
      }
    }
  } catch (err) {
    if (!(err instanceof InputError)) throw err;
    result.error = err.message;
  }
  return result;
}
