/**
 * Scanner benchmark: throughput and peak memory over generated log files of growing size.
 * Run: `npm run bench` (optional arg: largest size in MB of uncompressed JSON, default 400).
 * Prints one line per size; memory should stay flat while the input grows.
 */
import { existsSync, linkSync, mkdtempSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { scanLogs } from "../cli/scan.js";
import { DEFAULT_RULE } from "../config/settings.js";

const largestMb = Number(process.argv[2] ?? 400);
const dir = mkdtempSync(join(tmpdir(), "bdd-bench-"));

/** One record with a `bodyChars` prompt and a streamed answer of 200 chunks, like the heavy ones in practice. */
function record(i: number, bodyChars: number): string {
  const prompt = 'lorem ipsum \\"quoted\\" dolor sit amet '
    .repeat(Math.ceil(bodyChars / 34))
    .slice(0, bodyChars)
    .replace(/\\+$/, "");
  const chunks = Array.from(
    { length: 200 },
    (_, k) => `{"type":"content_block_delta","delta":{"text":"chunk ${k} of the answer"}}`,
  );
  return (
    `{"timestamp":"2026-11-19T${String(i % 24).padStart(2, "0")}:00:00Z","accountId":"${String(100000000000 + (i % 50))}",` +
    `"region":"us-east-1","requestId":"${i}","operation":"InvokeModelWithResponseStream","modelId":"anthropic.claude",` +
    `"input":{"inputContentType":"application/json","inputBodyJson":{"messages":[{"role":"user","content":"${prompt}"}]},"inputTokenCount":${bodyChars >> 2}},` +
    `"output":{"outputContentType":"application/json","outputBodyJson":[${chunks.join(",")}],"outputTokenCount":${i % 9000}},` +
    `"identity":{"arn":"arn:aws:iam::1:user/u${i % 7}"},"schemaType":"ModelInvocationLog","schemaVersion":"1.0"}`
  );
}

// A 25 MB file of records from 1 KB to 90 KB, written once and scanned 1..n times per run.
let lines: string[] = [];
let size = 0;
for (let i = 0; size < 25e6; i++) {
  const line = record(i, 1000 + ((i * 7919) % 89_000));
  lines.push(line);
  size += line.length + 1;
}
const plain = join(dir, "batch.json");
writeFileSync(plain, `${lines.join("\n")}\n`);
const gz = join(dir, "batch.json.gz");
writeFileSync(gz, gzipSync(`${lines.join("\n")}\n`));
const recordsPerFile = lines.length;
lines = []; // keep the baseline memory the scanner's own
const window = { startMs: Date.parse("2026-11-19T00:00:00Z"), endMs: Date.parse("2026-11-20T00:00:00Z") };

console.log(
  `records/file=${recordsPerFile} plain=${(statSync(plain).size / 1e6).toFixed(1)}MB gzip=${(statSync(gz).size / 1e6).toFixed(1)}MB`,
);
console.log("format  input_MB  records  seconds  MB/s   records/s  peak_rss_MB");
for (const file of [plain, gz]) {
  for (let copies = 1; copies * 25 <= largestMb; copies *= 4) {
    // Distinct paths (hard links): the scanner reads a path reached twice only once.
    const paths = Array.from({ length: copies }, (_, i) => {
      const link = `${file}.${copies}.${i}`;
      if (!existsSync(link)) linkSync(file, link);
      return link;
    });
    if (global.gc) global.gc();
    let peak = process.memoryUsage().rss;
    const sampler = setInterval(() => {
      peak = Math.max(peak, process.memoryUsage().rss);
    }, 20);
    const t0 = process.hrtime.bigint();
    const result = await scanLogs(paths, DEFAULT_RULE, window);
    const secs = Number(process.hrtime.bigint() - t0) / 1e9;
    clearInterval(sampler);
    peak = Math.max(peak, process.memoryUsage().rss);
    const mb = (size * copies) / 1e6;
    console.log(
      `${file.endsWith(".gz") ? "gzip " : "plain"}  ${mb.toFixed(0).padStart(8)}  ${String(result.stats.recordsRead).padStart(7)}  ` +
        `${secs.toFixed(2).padStart(7)}  ${(mb / secs).toFixed(0).padStart(4)}  ${(result.stats.recordsRead / secs).toFixed(0).padStart(9)}  ` +
        `${(peak / 1e6).toFixed(0).padStart(11)}`,
    );
  }
}
rmSync(dir, { recursive: true, force: true });
