/**
 * The scanner on all cores: local files are cut into parts (byte ranges of large uncompressed JSON-lines files,
 * whole files otherwise, gzip and the export formats included, small ones in batches) that worker threads and
 * the main thread read in parallel. The main thread takes the results in file and range order and, from three
 * threads on, routes each part's records to the thread of their account (account-shards.ts), which adds them in
 * that order and evaluates its accounts at the end (with two, it adds them all itself): findings, statistics,
 * duplicates and malformed-line reports are exactly those of reading the files one after another. Memory stays
 * bounded: a few parts in flight, each read a block at a time.
 *
 * A range starts at the first line starting in it. Reading the whole file might be inside a multi-line record
 * there: each range therefore reads on past its end until it holds nothing (`resumeAt`), and a range whose
 * start is not where the range before it stopped is read again from there (only pretty-printed files do that).
 */
import { open } from "node:fs/promises";
import type { Finding } from "../core/evaluator.js";
import type { RuleEvaluator } from "../core/record-evaluator.js";
import { compactBuffers, recordCount } from "./compact-records.js";
import { isGzipHead } from "./gzip-sniff.js";
import { DETECT_BYTES, readsWhole } from "./input-format.js";
import { malformedAt } from "./record-assembler.js";
import { runPart } from "./scan-part.js";
import type {
  PartJob,
  PartOutput,
  PartResult,
  PartSpec,
  ShardEvaluation,
  ShardPart,
  WorkerInput,
  WorkerSetup,
} from "./scan-part-types.js";
import { type ScanThread, scanThreads, stopScanThreads, takeScanThreads, workerUrl } from "./scan-threads.js";
import { applyShardPart } from "./shard-part.js";

/** Parts of an uncompressed file (bytes). */
const DEFAULT_RANGE_BYTES = 16 * 1024 * 1024;
/** Below this much local input, threads cost more than they save. */
const DEFAULT_MIN_PARALLEL_BYTES = 8 * 1024 * 1024;
/**
 * Threads from which the accounts are split between them. With two, the main thread adding every record costs
 * less than routing each part's records to their account's thread and back, and the worker then never runs (or
 * compiles) an evaluator of its own: 128 and 400 MB on 2 cores, CPU 5 to 13% less and wall time up to 9% less
 * (medians of 9 and 11, docs/benchmarks.md). On many cores the main thread adding every record is the serial part that bounds scaling.
 */
const MIN_SHARDED_THREADS = 3;

const envBytes = (name: string, dflt: number): number => {
  const n = Number(process.env[name]);
  return Number.isInteger(n) && n > 0 ? n : dflt;
};

/** Whether these files are worth reading in worker threads. */
export function useWorkers(files: readonly { size: number | null }[]): boolean {
  if (scanThreads() < 2 || workerUrl() === null || files.length === 0) return false;
  const bytes = files.reduce((n, f) => n + (f.size ?? 0), 0);
  return bytes >= envBytes("BDD_MIN_PARALLEL_BYTES", DEFAULT_MIN_PARALLEL_BYTES);
}

/** Whether a file is read whole, never in byte ranges: gzip, or an export format (input-format.ts). */
async function readWhole(path: string): Promise<boolean> {
  try {
    const fh = await open(path);
    try {
      const head = Buffer.alloc(DETECT_BYTES);
      const { bytesRead } = await fh.read(head, 0, DETECT_BYTES, 0);
      return (
        isGzipHead(head.subarray(0, bytesRead)) ||
        readsWhole(head.subarray(0, bytesRead), bytesRead < DETECT_BYTES)
      );
    } finally {
      await fh.close();
    }
  } catch {
    return true; // read whole: the worker reports the error as reading it alone would
  }
}

type Job =
  | { kind: "range"; file: number; path: string; from: number; end: number; aligned: boolean; last: boolean }
  | { kind: "files"; files: { file: number; path: string }[] };

/**
 * Whole files are sent in batches of up to this many bytes (or BATCH_FILES files): a part costs a round trip
 * between threads, more than reading one small S3 delivery (64 KB of text) takes.
 */
const BATCH_BYTES = 1024 * 1024;
const BATCH_FILES = 256;

/**
 * Parts sent to a worker ahead: it starts the next one without waiting for the main thread, which answers only
 * between parts of its own (a part of a small file takes less than the round trip).
 */
const PARTS_PER_WORKER = 4;
/**
 * Parts sent to a worker still loading: it starts one as soon as it has loaded, without waiting for the main
 * thread to take its "ready" between parts of its own (two threads, 16 gzip files: the worker began 70 ms after
 * loading); no more, so that a slow start holds up few parts.
 */
const PARTS_WHILE_LOADING = 1;

type Task = { job: PartJob; done: (r: PartOutput) => void; fail: (e: Error) => void };

/**
 * Runs parts on worker threads and on the main thread itself: with N threads, N - 1 workers are started and
 * the main thread, idle otherwise, is the Nth (a worker costs a start-up and a heap of its own). Each worker
 * has up to PARTS_PER_WORKER parts, fewer at the end, and runs them in order.
 */
class Pool {
  private readonly queue: Task[] = [];
  /** Each worker's parts, oldest first: a worker answers them in the order it got them. */
  private readonly sent = new Map<ScanThread, Task[]>();
  private localIdle = true;
  /** Parts the scan has yet to queue (it queues a few ahead of the one it takes next). */
  private toCome = 0;
  private nextId = 0;
  /** Per worker, a shard's evaluation asked for (evaluate). */
  private readonly evaluations = new Map<
    ScanThread,
    { done: (e: ShardEvaluation) => void; fail: (e: Error) => void }
  >();
  /** The first worker failure: a worker's shard is lost with it, so the scan cannot end well. */
  private failure: Error | undefined;

  constructor(
    private readonly threads: ScanThread[],
    private readonly setup: WorkerSetup,
  ) {
    for (const thread of threads) {
      const tasks: Task[] = [];
      const init: WorkerInput = { setup };
      thread.worker.postMessage(init);
      // A worker still loading gets PARTS_WHILE_LOADING parts, the rest once it has loaded: more would wait on its
      // start-up while the main thread, which takes results in order, waited on them.
      this.sent.set(thread, tasks);
      thread.onReady = () => this.pump();
      thread.onMessage = (msg) => {
        if ("evaluation" in msg) {
          this.evaluations.get(thread)?.done(msg.evaluation);
          return;
        }
        const task = tasks.shift();
        if ("crash" in msg) task?.fail(new Error(`scan worker failed: ${msg.crash}`));
        else task?.done(msg.output);
        this.pump();
      };
      thread.onError = (err) => {
        this.failure ??= err;
        this.sent.delete(thread);
        for (const task of tasks.splice(0)) task.fail(err);
        this.evaluations.get(thread)?.fail(err);
      };
      if (thread.failed) thread.onError(thread.failed);
    }
  }

  run(job: PartSpec, urgent = false): Promise<PartOutput> {
    return new Promise((done, fail) => {
      const entry = { job: { ...job, id: this.nextId++ }, done, fail };
      if (urgent) this.queue.unshift(entry);
      else this.queue.push(entry);
      this.pump();
    });
  }

  private pump(): void {
    for (const [thread, tasks] of this.sent) {
      const ahead = thread.ready ? PARTS_PER_WORKER : PARTS_WHILE_LOADING;
      // No more ahead than the parts still to run elsewhere: at the end, parts queued at a worker would wait there
      // while the main thread, out of parts, could run them (16 gzip files, two threads: 1.12 to 1.04 s).
      while (tasks.length < ahead && (tasks.length === 0 || this.queue.length + this.toCome > tasks.length)) {
        const task = this.queue.shift();
        if (task === undefined) return;
        tasks.push(task);
        const input: WorkerInput = task.job;
        thread.worker.postMessage(input);
      }
    }
    // The main thread takes a part when the workers have theirs, and it is free.
    if (!this.localIdle) return;
    const task = this.queue.shift();
    if (task === undefined) return;
    this.localIdle = false;
    // On a later tick: a part run now would hold up the caller that queued it.
    setImmediate(() => {
      runPart(task.job, this.setup).then(
        (result) => {
          this.localIdle = true;
          task.done(result);
          this.pump();
        },
        (err: unknown) => {
          this.localIdle = true;
          task.fail(err instanceof Error ? err : new Error(String(err)));
          this.pump();
        },
      );
    });
  }

  /** Says how many parts the scan has yet to queue. */
  expect(parts: number): void {
    this.toCome = parts;
  }

  /** Sends worker `k` (shard k + 1) a part's records of its shard, to add in the order sent. */
  apply(shard: number, part: ShardPart): void {
    // Records sent to a failed worker would be lost: the scan stops now rather than at the end.
    if (this.failure) throw this.failure;
    const thread = this.threads[shard - 1];
    if (!thread) throw new Error(`no thread for shard ${shard}`);
    const input: WorkerInput = { apply: part };
    thread.worker.postMessage(input, compactBuffers(part.inWindow));
  }

  /** Every worker's shard evaluated, in shard order (after every record was applied). */
  evaluate(firstMs: number): Promise<ShardEvaluation[]> {
    return Promise.all(
      this.threads.map(
        (thread) =>
          new Promise<ShardEvaluation>((done, fail) => {
            if (this.failure) {
              fail(this.failure);
              return;
            }
            this.evaluations.set(thread, { done, fail });
            const input: WorkerInput = { finish: { firstMs } };
            thread.worker.postMessage(input);
          }),
      ),
    );
  }

  async close(): Promise<void> {
    await Promise.all(this.threads.map((t) => t.worker.terminate()));
  }
}

export interface ParallelOutcome {
  /** The workers' account shards, evaluated (account-shards.ts); none when `evaluator` has every account. */
  shards: ShardEvaluation[];
  /** With shards: `evaluator`'s findings (its own shard's), found while the workers evaluated theirs. */
  ownFindings?: Finding[];
  filesRead: number;
  malformedLines: number;
  firstMs: number;
  lastMs: number;
  fileErrors: string[];
}

/**
 * Reads local files in worker threads, in the order given; see the module's comment. With `shard` and at least
 * MIN_SHARDED_THREADS threads, the accounts are split between the threads: `evaluator` gets the main thread's
 * shard, and each worker evaluates its own (the outcome's `shards`). Otherwise `evaluator` gets every record
 * (without `shard`, the caller has more to add to it: stdin, S3).
 */
export async function scanFilesInWorkers(
  files: readonly { path: string; size: number | null }[],
  evaluator: RuleEvaluator,
  shard: boolean,
  hooks: { onMalformed?(location: string, reason: string): void; onBytes?(n: number): void },
): Promise<ParallelOutcome> {
  const url = workerUrl();
  if (url === null) throw new Error("no worker script");
  const threads = scanThreads();
  const rangeBytes = envBytes("BDD_RANGE_BYTES", DEFAULT_RANGE_BYTES);
  const jobs: Job[] = [];
  let batch: { file: number; path: string }[] = [];
  let batchBytes = 0;
  const endBatch = () => {
    if (batch.length > 0) jobs.push({ kind: "files", files: batch });
    batch = [];
    batchBytes = 0;
  };
  for (const [file, f] of files.entries()) {
    const size = f.size ?? 0;
    if (size <= rangeBytes * 1.5 || (await readWhole(f.path))) {
      if (batchBytes + size > BATCH_BYTES || batch.length === BATCH_FILES) endBatch();
      batch.push({ file, path: f.path });
      batchBytes += size;
    } else {
      endBatch();
      for (let from = 0; from < size; from += rangeBytes) {
        const end = Math.min(size, from + rangeBytes);
        jobs.push({ kind: "range", file, path: f.path, from, end, aligned: from === 0, last: end === size });
      }
    }
  }
  endBatch();
  const out: ParallelOutcome = {
    shards: [],
    filesRead: 0,
    malformedLines: 0,
    firstMs: Number.POSITIVE_INFINITY,
    lastMs: Number.NEGATIVE_INFINITY,
    fileErrors: [],
  };
  const workers = takeScanThreads(Math.min(threads, jobs.length) - 1, url);
  const setup: WorkerSetup = {
    rule: evaluator.rule,
    window: evaluator.window,
    history: evaluator.historyWindow,
    shards: shard && workers.length + 1 >= MIN_SHARDED_THREADS ? workers.length + 1 : 1,
  };
  let pool: Pool;
  try {
    pool = new Pool(workers, setup);
  } catch (err) {
    await Promise.all(workers.map((t) => t.worker.terminate()));
    throw err;
  } finally {
    stopScanThreads();
  }
  // Enough parts launched for every worker's queue and the main thread, and one to spare.
  const lookahead = PARTS_PER_WORKER * threads + 2;
  const pending: (Promise<PartOutput> | undefined)[] = [];
  let launched = 0;
  // Per file being read in ranges: where the last range stopped, lines before it, whether reading broke off.
  let expected = 0;
  let lineOffset = 0;
  let broken = false;
  const take = (r: PartResult, name: string) => {
    out.firstMs = Math.min(out.firstMs, r.firstMs);
    out.lastMs = Math.max(out.lastMs, r.lastMs);
    evaluator.countFiltered(r.recordsRead, r.recordsInWindow, r.recordsInHistory, r.firstMs);
    out.malformedLines += r.malformed.length;
    for (const m of r.malformed) hooks.onMalformed?.(malformedAt(name, m, lineOffset), m.reason);
  };
  /** A part's records to their accounts' shards: this thread's evaluator, or the worker's (in file order). */
  const route = (shards: readonly ShardPart[]) => {
    for (const [k, part] of shards.entries()) {
      if (k === 0) applyShardPart(evaluator, part);
      else if (recordCount(part.inWindow) > 0 || part.history.tokens.length > 0) pool.apply(k, part);
    }
  };
  try {
    for (let k = 0; k < jobs.length; k++) {
      while (launched < jobs.length && launched < k + lookahead) {
        const j = jobs[launched] as Job;
        pool.expect(jobs.length - launched - 1);
        const part = pool.run(
          j.kind === "range"
            ? { kind: "range", path: j.path, from: j.from, end: j.end, aligned: j.aligned }
            : { kind: "files", paths: j.files.map((f) => f.path) },
        );
        // Awaited in order below; a part after one that failed is never awaited, and its failure is the same one.
        part.catch(() => undefined);
        pending[launched++] = part;
      }
      const job = jobs[k] as Job;
      let output = await (pending[k] as Promise<PartOutput>);
      pending[k] = undefined;
      if (job.kind === "files") {
        lineOffset = 0;
        for (const [i, { file, path }] of job.files.entries()) {
          const r = output.results[i] as PartResult;
          take(r, path);
          hooks.onBytes?.(files[file]?.size ?? 0);
          // Broken off after some lines: read up to there, so it counts (scan.ts counts it the same way).
          if (r.error === null || r.recordsRead > 0 || r.malformed.length > 0) out.filesRead++;
          if (r.error !== null) out.fileErrors.push(r.error);
        }
        route(output.shards);
        continue;
      }
      if (job.from === 0) {
        expected = 0;
        lineOffset = 0;
        broken = false;
      }
      hooks.onBytes?.(job.end - job.from);
      if (!broken && expected < job.end) {
        if ((output.results[0] as PartResult).start !== expected) {
          output = await pool.run(
            { kind: "range", path: job.path, from: expected, end: job.end, aligned: true },
            true,
          );
        }
        const r = output.results[0] as PartResult;
        take(r, job.path);
        route(output.shards);
        lineOffset += r.lines;
        expected = r.resumeAt;
        if (r.error !== null) {
          broken = true;
          out.fileErrors.push(r.error);
        }
      }
      if (job.last && (!broken || lineOffset > 0)) out.filesRead++;
    }
    if (setup.shards > 1) {
      const evaluations = pool.evaluate(out.firstMs);
      // Awaited below; should this thread's evaluation throw first, theirs failing is no unhandled rejection.
      evaluations.catch(() => undefined);
      // This thread's shard meanwhile, rather than after theirs: it has every record it will get (400 MB in 16
      // gzip files, two threads: the end from about 110 to 80 ms).
      out.ownFindings = evaluator.findings();
      out.shards = await evaluations;
    }
  } finally {
    await pool.close();
  }
  return out;
}
