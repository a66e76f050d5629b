// Benchmark baseline: what N threads can do on this machine at all. Each of N worker threads inflates the same
// in-memory gzip data over and over (no files, no start-up: timing starts once every thread is loaded), and the
// run prints the MB/s of all of them together. N threads against one is the most any thread scaling can reach
// here: on a VM whose cores share a physical core, or a busy host, it is well under N.
// Usage: node scripts/bench-capacity.mjs <threads> [MB per thread]
import { isMainThread, parentPort, Worker, workerData } from "node:worker_threads";
import { gunzipSync, gzipSync } from "node:zlib";

/** JSON-like text, not too compressible: inflating it costs about what a log file's does. */
function sampleGzip() {
  const parts = [];
  let seed = 1;
  for (let i = 0; i < 20000; i++) {
    seed = (seed * 1103515245 + 12345) % 2147483648;
    parts.push(
      `{"requestId":"${seed.toString(16)}","tokens":${seed % 9000},"text":"${"ab".repeat(seed % 200)}"}\n`,
    );
  }
  return gzipSync(parts.join(""));
}

if (isMainThread) {
  const threads = Number(process.argv[2] ?? 1);
  const mbPerThread = Number(process.argv[3] ?? 400);
  const gz = sampleGzip();
  const textBytes = gunzipSync(gz).length;
  const rounds = Math.max(1, Math.round((mbPerThread * 1e6) / textBytes));
  const workers = Array.from(
    { length: threads },
    () => new Worker(new URL(import.meta.url), { workerData: { gz, rounds } }),
  );
  await Promise.all(workers.map((w) => new Promise((r) => w.once("message", r))));
  const start = performance.now();
  for (const w of workers) w.postMessage("go");
  await Promise.all(workers.map((w) => new Promise((r) => w.once("message", r))));
  const seconds = (performance.now() - start) / 1000;
  for (const w of workers) await w.terminate();
  console.log(((threads * rounds * textBytes) / 1e6 / seconds).toFixed(1));
} else {
  const { gz, rounds } = workerData;
  parentPort.postMessage("ready");
  parentPort.once("message", () => {
    for (let i = 0; i < rounds; i++) gunzipSync(gz);
    parentPort.postMessage("done");
  });
}
