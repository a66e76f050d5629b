/**
 * The parallel scanner's worker threads (scan-worker.ts). A worker takes about 60 ms to load, more while the main
 * thread loads too, so the CLI starts them as soon as it knows it will scan (bin.ts): their start-up then overlaps
 * its own, the option parsing and the directory walk. The scan that reads in parallel takes them; a scan that does
 * not (little input, stdin, S3) stops them, and until taken they never keep the process alive.
 */
import { availableParallelism } from "node:os";
import { Worker } from "node:worker_threads";
import type { WorkerMessage } from "./scan-part-types.js";

/**
 * Threads to scan with by default on `cores` cores: one per core from three up. On two, a one-thread scan keeps
 * both busy much of the time already (the garbage collector's helpers, file reads and gzip on Node's thread
 * pool), and a worker's start-up and heap cost more than it brings: two threads were slower than one on every
 * format there (docs/benchmarks.md).
 */
export const defaultThreads = (cores: number): number => (cores <= 2 ? 1 : cores);

/** Threads to scan with: BDD_THREADS, else defaultThreads of the cores available. */
export function scanThreads(): number {
  const n = Number(process.env.BDD_THREADS);
  return Number.isInteger(n) && n > 0 ? n : defaultThreads(availableParallelism());
}

/**
 * The worker's script next to this module: the bundle's dist/scan-worker.mjs. Null when running from the
 * TypeScript sources (tests import scan.ts directly): then the scan runs in the main thread.
 */
export function workerUrl(): URL | null {
  return import.meta.url.endsWith(".mjs") ? new URL("./scan-worker.mjs", import.meta.url) : null;
}

/** A worker thread and what its pool does with what it says. */
export interface ScanThread {
  readonly worker: Worker;
  /** Loaded: parts sent now start at once (those sent before wait in its port until it has loaded). */
  ready: boolean;
  /** Set by the pool that takes the thread (a thread loaded earlier has `ready` set already). */
  onReady?: () => void;
  onMessage?: (msg: Exclude<WorkerMessage, { ready: true }>) => void;
  onError?: (err: Error) => void;
  /** An error before a pool took the thread. */
  failed?: Error;
}

/**
 * A worker's young generation (MB). A worker's garbage is short-lived (lines of text, a part's records), and each
 * heap counts towards peak RSS: 2 against 8 took 16 threads over 200 MB in 16 gzip files from 264 to 236 MB and
 * from 3.37 to 3.00 CPU-seconds (medians of 3; docs/benchmarks.md), no slower with 2 threads.
 */
const WORKER_YOUNG_GENERATION_MB = 2;

function spawn(url: URL): ScanThread {
  const worker = new Worker(url, {
    resourceLimits: { maxYoungGenerationSizeMb: WORKER_YOUNG_GENERATION_MB },
  });
  const thread: ScanThread = { worker, ready: false };
  worker.on("message", (msg: WorkerMessage) => {
    if ("ready" in msg) {
      thread.ready = true;
      thread.onReady?.();
    } else thread.onMessage?.(msg);
  });
  const fail = (err: Error) => {
    if (thread.onError) thread.onError(err);
    else thread.failed ??= err;
  };
  worker.on("error", fail);
  // An exit nobody asked for (terminate's comes after the pool has what it waits for) fails the scan rather
  // than leaving it waiting for the worker's answers.
  worker.on("exit", (code) => fail(new Error(`scan worker exited (code ${code})`)));
  return thread;
}

/** Started ahead of a scan and not yet taken. */
const waiting: ScanThread[] = [];

/** Starts the worker threads a parallel scan would use (one fewer than scanThreads: the main thread reads too). */
export function startScanThreads(): void {
  const url = workerUrl();
  if (url === null || waiting.length > 0) return;
  for (let i = 1; i < scanThreads(); i++) {
    const thread = spawn(url);
    thread.worker.unref();
    waiting.push(thread);
  }
}

/** `n` worker threads: those started ahead first (but any that failed to load), then new ones. */
export function takeScanThreads(n: number, url: URL): ScanThread[] {
  const taken = waiting.splice(0, n).filter((t) => t.failed === undefined);
  for (const thread of taken) thread.worker.ref();
  while (taken.length < n) taken.push(spawn(url));
  return taken;
}

/** Stops the threads started ahead that no scan took (they exit in the background). */
export function stopScanThreads(): void {
  for (const thread of waiting.splice(0)) void thread.worker.terminate();
}
