// Benchmark baseline: gunzip files with N worker threads and discard the output (decompression alone), by
// node:zlib streams with the read and output chunk sizes of the scanner's fallback stream, where zlib's synchronous
// engine is missing (the scanner inflates synchronously, cli/gzip-inflater.ts): GZIP_READ_BYTES in
// cli/read-batches.ts, GUNZIP_CHUNK_BYTES in cli/gunzip.ts.
// Usage: node scripts/bench-gunzip.mjs <workers> <read bytes> <chunk bytes> <file.gz or @list>...
import { createReadStream } from "node:fs";
import { Writable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { isMainThread, Worker, workerData } from "node:worker_threads";
import { createGunzip } from "node:zlib";
import { filesOf } from "./bench-file-args.mjs";

if (isMainThread) {
  const [n, read, chunk, ...args] = process.argv.slice(2);
  const files = filesOf(args);
  const workers = Number(n);
  const sizes = { highWaterMark: Number(read), chunkSize: Number(chunk) };
  await Promise.all(
    Array.from({ length: workers }, (_, w) => {
      const mine = files.filter((_, i) => i % workers === w);
      return new Promise((res, rej) =>
        new Worker(new URL(import.meta.url), { workerData: { files: mine, sizes } })
          .on("exit", res)
          .on("error", rej),
      );
    }),
  );
} else {
  const { files, sizes } = workerData;
  for (const f of files) {
    await pipeline(
      createReadStream(f, { highWaterMark: sizes.highWaterMark }),
      createGunzip({ chunkSize: sizes.chunkSize }),
      new Writable({ write: (_c, _e, cb) => cb() }),
    );
  }
}
