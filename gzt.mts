import { createReadStream, readdirSync } from "node:fs";
import { createGunzip } from "node:zlib";
import { LineReader } from "./cli/line-reader.ts";
import { readFileBatches } from "./cli/log-files.ts";

const files = readdirSync("/tmp/gz").map((f) => `/tmp/gz/${f}`);
async function direct(commitEach: boolean) {
  let recs = 0;
  for (const f of files) {
    const gz = createReadStream(f, { highWaterMark: 1 << 20 }).pipe(createGunzip({ chunkSize: 1 << 18 }));
    const r = new LineReader({ base: 0, skipFirstLine: false, stopAt: Infinity });
    let filled = 0;
    let sp = r.space();
    for await (const chunk of gz as AsyncIterable<Buffer>) {
      let at = 0;
      while (at < chunk.length) {
        const n = chunk.copy(sp, filled, at);
        at += n;
        filled += n;
        if (commitEach || filled === sp.length) {
          r.commit(filled);
          filled = 0;
          sp = r.space();
          recs += r.items.length;
          r.items.length = 0;
        }
      }
    }
    if (filled) r.commit(filled);
    r.finish();
    recs += r.items.length;
  }
  return recs;
}
async function local() {
  let recs = 0;
  for (const f of files) for await (const b of readFileBatches(f)) recs += b.length;
  return recs;
}
for (let i = 0; i < 3; i++)
  for (const [name, fn] of [
    ["readFileBatches", local],
    ["direct commit per chunk", () => direct(true)],
    ["direct commit per 1MB", () => direct(false)],
  ] as const) {
    const t = performance.now();
    const n = await fn();
    console.log(name, (performance.now() - t).toFixed(0), "ms", n);
  }
