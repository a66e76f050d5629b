// Benchmark baseline, decompression alone: N worker threads, each given every Nth file, read each file whole and
// inflate it with node:zlib's gunzipSync, discarding the output. This is how the 16-core kit
// (../shared/bench/device/run.sh) and issue 20 measure it. A node:zlib stream per file, this baseline before,
// costs about 0.5 ms to set up, so 4,268 S3-sized objects took it 3.2 to 3.8 s where this takes 1.07 s: against
// that stream, the scanner looked nearly 3x faster than decompressing alone (docs/benchmarks.md).
// Usage: node scripts/bench-gunzip.mjs <workers> <file.gz or @list>...
import { readFileSync } from "node:fs";
import { isMainThread, Worker, workerData } from "node:worker_threads";
import { gunzipSync } from "node:zlib";
import { filesOf } from "./bench-file-args.mjs";

if (isMainThread) {
  const [n, ...args] = process.argv.slice(2);
  const files = filesOf(args);
  const workers = Number(n);
  await Promise.all(
    Array.from({ length: workers }, (_, w) => {
      const mine = files.filter((_, i) => i % workers === w);
      return new Promise((res, rej) =>
        new Worker(new URL(import.meta.url), { workerData: { files: mine } })
          .on("exit", res)
          .on("error", rej),
      );
    }),
  );
} else {
  for (const f of workerData.files) gunzipSync(readFileSync(f));
}
