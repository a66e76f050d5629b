/**
 * The reader alone, in process: the WebAssembly line reader (cli/line-reader.ts), the module by itself (its
 * scan over the whole input, no records built), and the reference reader (core/record-reader.ts, one decoded
 * line at a time) on the same seeded lines, no file I/O.
 *
 *   npm run bench:reader -- [--mb 100] [--runs 7]
 *
 * Prints the best and median MB/s of each and checks that both read the same records.
 */
import { BLOCK_BYTES, LineReader, OK, RecordScan, SLOT, SLOTS } from "../cli/line-reader.js";
import { benchLines } from "../cli/sample-data.js";
import { readRecord } from "../core/record-reader.js";
import { numberOption } from "./bench-options.js";

const MB = numberOption("mb", 100);
const RUNS = numberOption("runs", 7);

const lines: string[] = [];
let size = 0;
for (const line of benchLines(1, Date.parse("2026-11-20T00:00:00Z"))) {
  lines.push(line);
  size += Buffer.byteLength(line) + 1;
  if (size >= MB * 1e6) break;
}
const bytes = Buffer.from(`${lines.join("\n")}\n`);

function fast(): number {
  const reader = new LineReader({ base: 0, skipFirstLine: false, stopAt: Number.POSITIVE_INFINITY });
  let records = 0;
  for (let at = 0; at < bytes.length; at += BLOCK_BYTES) {
    const n = bytes.copy(reader.space(), 0, at, Math.min(bytes.length, at + BLOCK_BYTES));
    reader.commit(n);
    records += reader.items.length;
    reader.items.length = 0;
  }
  reader.finish();
  return records + reader.items.length;
}

const module = new RecordScan();
module.reserve(bytes.length);
bytes.copy(module.input);
/** Lines the module read itself (status 0), over the whole input in one memory. */
function moduleAlone(): number {
  let read = 0;
  for (let from = 0; from < bytes.length; ) {
    const n = module.scan(from, bytes.length);
    const results = module.results;
    for (let i = 0; i < n; i++) if (results[i * SLOTS + SLOT.status] === OK) read++;
    from = (results[(n - 1) * SLOTS + SLOT.lineEnd] ?? bytes.length) + 1;
  }
  return read;
}

function reference(): number {
  let records = 0;
  for (const line of lines) if (readRecord(line).ok) records++;
  return records;
}

const measure = (name: string, run: () => number) => {
  const rates: number[] = [];
  let records = 0;
  for (let r = 0; r < RUNS; r++) {
    const t = performance.now();
    records = run();
    rates.push(bytes.length / 1e6 / ((performance.now() - t) / 1000));
  }
  rates.sort((a, b) => b - a);
  const median = rates[Math.floor(rates.length / 2)] ?? Number.NaN;
  console.log(
    `${name.padEnd(34)} best ${(rates[0] ?? Number.NaN).toFixed(0).padStart(5)} MB/s, median ${median.toFixed(0).padStart(5)} MB/s  (${records} records)`,
  );
  return records;
};

console.log(
  `${(bytes.length / 1e6).toFixed(0)} MB of bench lines, ${lines.length} records, ${RUNS} runs each`,
);
const a = measure("WebAssembly line reader", fast);
measure("the module alone (no records built)", moduleAlone);
const b = measure("reference reader (decoded lines)", reference);
if (a !== b) throw new Error(`the readers disagree: ${a} and ${b} records`);
