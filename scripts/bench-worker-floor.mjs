// Benchmark baseline: the memory Node.js itself takes for a scan's threads. Starts N - 1 worker threads (a scan
// with N threads has N - 1 workers and the main thread) that load nothing but node:worker_threads, waits until
// every one is up, lets the heaps settle, and exits: its peak RSS (measured by the caller) is the least any scan
// with N threads can reach here, before it reads a byte. Usage: node scripts/bench-worker-floor.mjs <threads>
import { isMainThread, parentPort, Worker } from "node:worker_threads";

if (isMainThread) {
  const threads = Number(process.argv[2] ?? 1);
  const workers = Array.from(
    { length: Math.max(0, threads - 1) },
    () => new Worker(new URL(import.meta.url)),
  );
  await Promise.all(workers.map((w) => new Promise((r) => w.once("message", r))));
  await new Promise((r) => setTimeout(r, 200));
  for (const w of workers) await w.terminate();
} else {
  parentPort.postMessage("ready");
}
