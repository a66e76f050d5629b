// Benchmark baseline: gunzip files with N worker threads and discard the output (decompression alone).
// Usage: node scripts/bench-gunzip.mjs <workers> <file.gz>...
import { createReadStream } from "node:fs";
import { Writable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { isMainThread, Worker, workerData } from "node:worker_threads";
import { createGunzip } from "node:zlib";

if (isMainThread) {
  const [n, ...files] = process.argv.slice(2);
  const workers = Number(n);
  await Promise.all(
    Array.from({ length: workers }, (_, w) => {
      const mine = files.filter((_, i) => i % workers === w);
      return new Promise((res, rej) =>
        new Worker(new URL(import.meta.url), { workerData: mine }).on("exit", res).on("error", rej),
      );
    }),
  );
} else {
  for (const f of workerData) {
    await pipeline(createReadStream(f), createGunzip(), new Writable({ write: (_c, _e, cb) => cb() }));
  }
}
