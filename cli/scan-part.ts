/**
 * One part of the parallel scan (see parallel-scan.ts): a byte range of a large uncompressed file, or a whole
 * file. Returns its counts, the records that match the rule (in file order) and the malformed lines;
 * deduplication, exclusions and aggregation stay with the caller. Run by the worker threads, and by the main
 * thread itself, which takes parts too (one thread fewer to start).
 */
import { inWindow, matches } from "../core/evaluator.js";
import type { Rule, Window } from "../core/rule.js";
import { type FileItem, InputError, type RangeRead, readFileBatches, readRangeBatches } from "./log-files.js";
import type { PartJob, PartResult } from "./parallel-scan.js";

export async function runPart(job: PartJob, rule: Rule, window: Window): Promise<PartResult> {
  const where: RangeRead = { start: 0, resumeAt: 0, lines: 0 };
  const result: PartResult = {
    id: job.id,
    matched: [],
    recordsRead: 0,
    recordsInWindow: 0,
    firstMs: Number.POSITIVE_INFINITY,
    lastMs: Number.NEGATIVE_INFINITY,
    malformed: [],
    start: 0,
    resumeAt: 0,
    lines: 0,
    error: null,
  };
  const batches: AsyncGenerator<FileItem[]> =
    job.kind === "range"
      ? readRangeBatches(job.path, job.from, job.end, job.aligned, where)
      : readFileBatches(job.path);
  try {
    for await (const batch of batches) {
      for (const item of batch) {
        if (item.kind === "malformed") {
          result.malformed.push({ line: item.line, reason: item.reason });
          continue;
        }
        const r = item.record;
        result.recordsRead++;
        if (r.timestampMs < result.firstMs) result.firstMs = r.timestampMs;
        if (r.timestampMs > result.lastMs) result.lastMs = r.timestampMs;
        if (!inWindow(r.timestampMs, window)) continue;
        result.recordsInWindow++;
        if (matches(r, rule)) result.matched.push(r);
      }
    }
  } catch (err) {
    if (!(err instanceof InputError)) throw err;
    result.error = err.message;
  }
  result.start = where.start;
  result.resumeAt = where.resumeAt;
  result.lines = where.lines;
  return result;
}
