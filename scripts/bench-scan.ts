/**
 * Scanner benchmark, side by side with DuckDB, jq and zlib on the same files in the same run.
 *
 *   npm run bench -- [--mb 400] [--runs 3] [--gzip-files 16] [--small-kb 64] [--seed 1]
 *
 * Generates a JSON-lines corpus of `--mb` MB with the seeded generator (cli/sample-data.ts `benchLines`), the
 * same lines as `--gzip-files` gzip files, and again as gzip objects of `--small-kb` KB of text each (the
 * size of S3 deliveries: thousands of small files), builds the CLI, then runs each tool `--runs` times, round
 * robin (load on a shared machine hits every tool alike), and prints the medians: MB/s of uncompressed JSON
 * and peak RSS (`/usr/bin/time`). Every run of the scanner must print the same JSON as the first scan of its
 * format, the one-thread scan included (exactness is checked, not assumed).
 *
 * Optional tools (not dependencies of the project or its tests):
 * - DuckDB: `npm install --prefix /tmp/duckdb @duckdb/node-api` then `DUCKDB_DIR=/tmp/duckdb npm run bench`
 *   (or `npm i -g @duckdb/node-api`); runs `read_ndjson` with an explicit column schema, the same rule.
 * - jq: `apt-get install -y jq`.
 */
import { execFileSync, spawnSync } from "node:child_process";
import {
  createWriteStream,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { availableParallelism, cpus, tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { gzipSync } from "node:zlib";
import { GUNZIP_CHUNK_BYTES } from "../cli/gunzip.js";
import { GZIP_READ_BYTES } from "../cli/read-batches.js";
import { benchLines } from "../cli/sample-data.js";
import { numberOption } from "./bench-options.js";

const MB = numberOption("mb", 400);
const RUNS = numberOption("runs", 3);
const GZ_FILES = numberOption("gzip-files", 16);
const SEED = numberOption("seed", 1);
const SMALL_KB = numberOption("small-kb", 64);
const END = "2026-11-20T00:00:00Z";
const START = "2026-11-19T00:00:00Z";
const THREADS = availableParallelism();

const root = resolve(import.meta.dirname, "..");
execFileSync(process.execPath, [join(root, "scripts/build.mjs"), "cli"], { stdio: "inherit" });
const cli = join(root, "dist/cli.mjs");
const dir = mkdtempSync(join(tmpdir(), "bdd-bench-"));

// The corpus: one JSON-lines file, and the same lines in GZ_FILES gzip files (like S3's many small objects).
const plain = join(dir, "corpus.jsonl");
const gzDir = join(dir, "gz");
mkdirSync(gzDir);
const smallDir = join(dir, "small");
mkdirSync(smallDir);
{
  const out = createWriteStream(plain);
  let size = 0;
  let part: string[] = [];
  let partSize = 0;
  let parts = 0;
  const perPart = (MB * 1e6) / GZ_FILES;
  let small: string[] = [];
  let smallSize = 0;
  let smalls = 0;
  const flushSmall = () => {
    writeFileSync(
      join(smallDir, `obj-${String(smalls++).padStart(6, "0")}.json.gz`),
      gzipSync(small.join("")),
    );
    small = [];
    smallSize = 0;
  };
  const flush = () => {
    writeFileSync(join(gzDir, `part-${String(parts++).padStart(4, "0")}.json.gz`), gzipSync(part.join("")));
    part = [];
    partSize = 0;
  };
  for (const line of benchLines(SEED, Date.parse(END))) {
    const text = `${line}\n`;
    if (!out.write(text)) await new Promise<void>((r) => out.once("drain", () => r()));
    part.push(text);
    small.push(text);
    const bytes = Buffer.byteLength(text);
    size += bytes;
    partSize += bytes;
    smallSize += bytes;
    if (partSize >= perPart) flush();
    if (smallSize >= SMALL_KB * 1000) flushSmall();
    if (size >= MB * 1e6) break;
  }
  if (part.length > 0) flush();
  if (small.length > 0) flushSmall();
  await new Promise<void>((r) => out.end(() => r()));
}
const plainMb = statSync(plain).size / 1e6;
/** A folder's files, in name order. */
const filesIn = (folder: string) =>
  readdirSync(folder)
    .sort()
    .map((f) => join(folder, f));
const gzFiles = filesIn(gzDir);
const gzMb = gzFiles.reduce((n, f) => n + statSync(f).size, 0) / 1e6;
const smallFiles = filesIn(smallDir);

interface Run {
  seconds: number;
  rssMb: number;
  stdout: string;
}
function timed(cmd: string, argv: string[], env: NodeJS.ProcessEnv = {}): Run {
  const r = spawnSync("/usr/bin/time", ["-f", "BENCH %e %M", cmd, ...argv], {
    env: { ...process.env, ...env },
    maxBuffer: 1 << 28,
  });
  const err = r.stderr.toString();
  const m = /BENCH ([\d.]+) (\d+)\s*$/.exec(err);
  if (r.status !== 0 || !m)
    throw new Error(`${cmd} ${argv.join(" ")} failed (${r.status}):\n${err.slice(-2000)}`);
  return { seconds: Number(m[1]), rssMb: Number(m[2]) / 1024, stdout: r.stdout.toString() };
}

const scanArgs = (paths: string[]) => ["scan", "--format", "json", "--start", START, "--end", END, ...paths];

const duckDir = process.env.DUCKDB_DIR;
const duckScript = join(root, "scripts/bench-duckdb.mjs");
const haveDuck =
  spawnSync(process.execPath, [duckScript, "--probe"], {
    env: { ...process.env, NODE_PATH: duckDir ? join(duckDir, "node_modules") : "" },
  }).status === 0;
const haveJq = spawnSync("jq", ["--version"]).status === 0;
const JQ_RULE =
  `select(.timestamp >= "${START}" and .timestamp < "${END}")` +
  ` | select(((.input.inputTokenCount // 0) > 8000) or ((.output.outputTokenCount // 0) > 8000)` +
  ` or ((.input.inputBodyJson // null) != null and (.input.inputBodyJson | tojson | length) > 8000))`;
const JQ = `reduce (inputs | ${JQ_RULE}) as $r ({}; .[$r.accountId] += 1) | with_entries(select(.value >= 2)) | length`;

/** jsonl: one file; gzip: GZ_FILES files; s3obj: gzip objects of SMALL_KB KB each. */
type Tool = { name: string; format: "jsonl" | "gzip" | "s3obj"; run: () => Run };
const tools: Tool[] = [
  { name: "scanner", format: "jsonl", run: () => timed(process.execPath, [cli, ...scanArgs([plain])]) },
  {
    name: "scanner 1 thread",
    format: "jsonl",
    run: () => timed(process.execPath, [cli, ...scanArgs([plain])], { BDD_THREADS: "1" }),
  },
  { name: "scanner", format: "gzip", run: () => timed(process.execPath, [cli, ...scanArgs([gzDir])]) },
  { name: "scanner", format: "s3obj", run: () => timed(process.execPath, [cli, ...scanArgs([smallDir])]) },
  {
    name: `zlib only, ${THREADS} workers`,
    format: "gzip",
    run: () =>
      timed(process.execPath, [
        join(root, "scripts/bench-gunzip.mjs"),
        String(THREADS),
        String(GZIP_READ_BYTES),
        String(GUNZIP_CHUNK_BYTES),
        ...gzFiles,
      ]),
  },
];
if (haveDuck) {
  const env = { NODE_PATH: duckDir ? join(duckDir, "node_modules") : "" };
  const duck = (files: string[]) => () =>
    timed(process.execPath, [duckScript, String(THREADS), START, END, ...files], env);
  tools.push({ name: `DuckDB ${THREADS} threads`, format: "jsonl", run: duck([plain]) });
  tools.push({ name: `DuckDB ${THREADS} threads`, format: "gzip", run: duck(gzFiles) });
  tools.push({ name: `DuckDB ${THREADS} threads`, format: "s3obj", run: duck(smallFiles) });
}
if (haveJq) {
  tools.push({ name: "jq", format: "jsonl", run: () => timed("jq", ["-n", JQ, plain]) });
  tools.push({
    name: "jq (after gunzip -c)",
    format: "gzip",
    run: () => timed("sh", ["-c", `gunzip -c ${gzFiles.join(" ")} | jq -n '${JQ}'`]),
  });
}

const load = () =>
  existsSync("/proc/loadavg") ? execFileSync("cat", ["/proc/loadavg"]).toString().trim() : "";
console.log(
  `corpus: ${plainMb.toFixed(0)} MB JSON lines; ${gzFiles.length} gzip files, ${gzMb.toFixed(0)} MB ` +
    `(${(plainMb / gzMb).toFixed(1)}x); ${smallFiles.length} gzip objects of ${SMALL_KB} KB (s3obj); ` +
    `${cpus()[0]?.model ?? "?"} x${cpus().length}, node ${process.version}`,
);
console.log(
  `duckdb: ${haveDuck ? "yes" : "no (see the header of this script)"}; jq: ${haveJq ? "yes" : "no"}`,
);

const results = new Map<Tool, Run[]>(tools.map((t) => [t, []]));
/** Per format: the JSON report says how many files were read. */
const reference = new Map<string, string>();
for (let round = 0; round < RUNS; round++) {
  console.log(`round ${round + 1}/${RUNS}, load ${load()}`);
  for (const t of tools) {
    const r = t.run();
    results.get(t)?.push(r);
    if (t.name.startsWith("scanner")) {
      if (!reference.has(t.format)) reference.set(t.format, r.stdout);
      if (r.stdout !== reference.get(t.format))
        throw new Error(`${t.name} (${t.format}): output differs from the first scan`);
    }
  }
}
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? Number.NaN;
console.log(`\nmedians of ${RUNS} runs (MB/s of uncompressed JSON, ${plainMb.toFixed(0)} MB):`);
console.log("format  tool                              seconds    MB/s  peak_rss_MB");
const rate = new Map<string, number>();
for (const t of tools) {
  const rs = results.get(t) ?? [];
  const secs = median(rs.map((r) => r.seconds));
  const mbs = plainMb / secs;
  rate.set(`${t.format} ${t.name}`, mbs);
  console.log(
    `${t.format.padEnd(6)}  ${t.name.padEnd(32)}  ${secs.toFixed(2).padStart(7)}  ${mbs.toFixed(0).padStart(6)}  ` +
      `${median(rs.map((r) => r.rssMb))
        .toFixed(0)
        .padStart(11)}`,
  );
}
const ratio = (a: string, b: string) => {
  const x = rate.get(a);
  const y = rate.get(b);
  return x !== undefined && y !== undefined ? (x / y).toFixed(2) : "n/a";
};
console.log(`\nscanner / DuckDB, JSON lines: ${ratio("jsonl scanner", `jsonl DuckDB ${THREADS} threads`)}x`);
console.log(`scanner / DuckDB, gzip:       ${ratio("gzip scanner", `gzip DuckDB ${THREADS} threads`)}x`);
console.log(`scanner / DuckDB, s3obj:      ${ratio("s3obj scanner", `s3obj DuckDB ${THREADS} threads`)}x`);
console.log(`scanner gzip / zlib alone:    ${ratio("gzip scanner", `gzip zlib only, ${THREADS} workers`)}`);
console.log("scanner output identical in every run and mode: yes");
if (haveDuck)
  console.log(
    `DuckDB flagged: ${results.get(tools.find((t) => t.name.startsWith("DuckDB")) as Tool)?.[0]?.stdout.trim()}`,
  );
console.log(
  `scanner flagged: ${(JSON.parse(reference.get("jsonl") ?? "{}") as { findings?: unknown[] }).findings?.length} accounts`,
);
rmSync(dir, { recursive: true, force: true });
