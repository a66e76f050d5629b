/**
 * Scanner benchmark, side by side with DuckDB, jq and zlib on the same files in the same run.
 *
 *   npm run bench -- [--mb 400] [--runs 3] [--gzip-files 16] [--small-kb 64] [--seed 1]
 *
 *   npm run bench -- --threads 1,2,4,8,16     (thread counts; default 1, 2, 4, ... up to the cores)
 *   npm run bench -- --rss-threads 16         (also peak RSS with this many threads; default 16)
 *
 * Generates a JSON-lines corpus of `--mb` MB with the seeded generator (cli/sample-data.ts `benchLines`), the
 * same lines as `--gzip-files` gzip files, and again as gzip objects of `--small-kb` KB of text each (the size
 * of S3 deliveries: thousands of small files, in S3's key layout), builds the CLI, then runs each tool at each
 * thread count `--runs` times, round robin (load on a shared machine hits every tool alike), and prints the
 * medians: MB/s of uncompressed JSON and peak RSS (`/usr/bin/time`), then the ratios issue 20 sets targets for
 * (scanner against zlib alone and DuckDB at the same thread count, thread scaling with and without start-up)
 * with the target each must reach and the range each ratio took over the rounds, and next to the scaling what
 * the machine's threads give at all (bench-capacity.mjs: in-memory zlib on every thread, start-up excluded; on a
 * VM whose cores share a physical core, well under N). Every run of the scanner must print the same JSON as the
 * first scan of its format, at every thread count (exactness is checked, not assumed). Under the peak RSS it
 * prints the floor: Node.js with as many threads doing nothing (bench-worker-floor.mjs), the least a scan with
 * that many threads can take.
 *
 * DuckDB (`@duckdb/node-api`, a devDependency) runs `read_ndjson` with an explicit column schema, the same
 * rule; `DUCKDB_DIR=<prefix>` uses another install. jq is optional: `apt-get install -y jq`.
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
import { benchLines } from "../cli/sample-data.js";
import { numberOption } from "./bench-options.js";

const MB = numberOption("mb", 400);
const RUNS = numberOption("runs", 3);
const GZ_FILES = numberOption("gzip-files", 16);
const SEED = numberOption("seed", 1);
const SMALL_KB = numberOption("small-kb", 64);
/**
 * Peak RSS is held under 200 MB at any thread count, and memory grows with threads: the scanner also runs with
 * this many on every format (once a round, output checked, RSS only), unless the thread counts include it.
 */
const RSS_THREADS = numberOption("rss-threads", 16);
if (!Number.isInteger(RSS_THREADS)) {
  console.error(`--rss-threads must be a whole number of threads, got ${RSS_THREADS}`);
  process.exit(2);
}
const END = "2026-11-20T00:00:00Z";
const START = "2026-11-19T00:00:00Z";
const THREADS = availableParallelism();

const root = resolve(import.meta.dirname, "..");
execFileSync(process.execPath, [join(root, "scripts/build.mjs"), "cli"], { stdio: "inherit" });
const cli = join(root, "dist/cli.mjs");
const dir = mkdtempSync(join(tmpdir(), "bdd-bench-"));

/**
 * Where Bedrock delivers an object whose first record is `line`, below the bucket's prefix: S3's key layout,
 * eight folders deep, as `aws s3 sync` copies it (the scanner walks it as a user's copy would be walked).
 */
function deliveryFolder(line: string): string {
  const at = /"timestamp":"(\d{4})-(\d{2})-(\d{2})T(\d{2})/.exec(line);
  const [, year, month, day, hour] = at ?? ["", "0000", "00", "00", "00"];
  return join("AWSLogs", "123456789012", "BedrockModelInvocationLogs", "us-east-1", year, month, day, hour);
}

// The corpus: one JSON-lines file, the same lines in GZ_FILES gzip files, and again as S3-sized objects.
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
    const folder = join(smallDir, deliveryFolder(small[0] ?? ""));
    mkdirSync(folder, { recursive: true });
    writeFileSync(join(folder, `obj-${String(smalls++).padStart(6, "0")}.json.gz`), gzipSync(small.join("")));
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
/** A folder's files at any depth, in path order (DuckDB and zlib alone get them listed; the scanner walks). */
const filesBelow = (folder: string): string[] =>
  readdirSync(folder)
    .sort()
    .flatMap((name) => {
      const path = join(folder, name);
      return statSync(path).isDirectory() ? filesBelow(path) : [path];
    });
const gzFiles = filesBelow(gzDir);
const gzMb = gzFiles.reduce((n, f) => n + statSync(f).size, 0) / 1e6;
const smallFiles = filesBelow(smallDir);

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

/** The thread counts to measure: --threads a,b,c, else 1, 2, 4, ... and the cores. */
function threadCounts(): number[] {
  const args = process.argv.slice(2);
  const i = args.indexOf("--threads");
  if (i >= 0) {
    const list = (args[i + 1] ?? "").split(",").map(Number);
    if (list.length === 0 || list.some((n) => !Number.isInteger(n) || n <= 0)) {
      console.error(`--threads must be a comma-separated list of positive integers, got ${args[i + 1]}`);
      process.exit(2);
    }
    return [...new Set(list)].sort((a, b) => a - b);
  }
  const counts = [1];
  for (let n = 2; n < THREADS; n *= 2) counts.push(n);
  if (THREADS > 1) counts.push(THREADS);
  return counts;
}
const COUNTS = threadCounts();
const MAX_T = Math.max(...COUNTS);

const scanArgs = (paths: string[]) => ["scan", "--format", "json", "--start", START, "--end", END, ...paths];

const duckDir = process.env.DUCKDB_DIR;
const duckScript = join(root, "scripts/bench-duckdb.mjs");
const duckEnv = { NODE_PATH: duckDir ? join(duckDir, "node_modules") : "" };
const haveDuck =
  spawnSync(process.execPath, [duckScript, "--probe"], { env: { ...process.env, ...duckEnv } }).status === 0;
const haveJq = spawnSync("jq", ["--version"]).status === 0;
const JQ_RULE =
  `select(.timestamp >= "${START}" and .timestamp < "${END}")` +
  ` | select(((.input.inputTokenCount // 0) > 8000) or ((.output.outputTokenCount // 0) > 8000)` +
  ` or ((.input.inputBodyJson // null) != null and (.input.inputBodyJson | tojson | length) > 8000))`;
const JQ = `reduce (inputs | ${JQ_RULE}) as $r ({}; .[$r.accountId] += 1) | with_entries(select(.value >= 2)) | length`;

type Format = "jsonl" | "gzip" | "s3obj";
const FORMATS: readonly Format[] = ["jsonl", "gzip", "s3obj"];
const filesOf: Record<Format, string[]> = { jsonl: [plain], gzip: gzFiles, s3obj: smallFiles };
const pathsOf: Record<Format, string[]> = { jsonl: [plain], gzip: [gzDir], s3obj: [smallDir] };
/** The files of a format as DuckDB and zlib alone take them: thousands of paths go in a list file (`@list`). */
const argsOf = Object.fromEntries(
  FORMATS.map((format) => {
    const list = join(dir, `${format}.list`);
    writeFileSync(list, filesOf[format].join("\n"));
    return [format, [`@${list}`]];
  }),
) as Record<Format, string[]>;
type ToolName = "scanner" | "zlib" | "DuckDB" | "jq";
/** jsonl: one file; gzip: GZ_FILES files; s3obj: gzip objects of SMALL_KB KB each. */
interface Tool {
  name: ToolName;
  format: Format;
  threads: number;
  run: () => Run;
  /** Run for its peak RSS only (RSS_THREADS): not in the table of rates. */
  memoryOnly?: boolean;
}
const tools: Tool[] = [];
if (!COUNTS.includes(RSS_THREADS))
  for (const format of FORMATS)
    tools.push({
      name: "scanner",
      format,
      threads: RSS_THREADS,
      memoryOnly: true,
      run: () =>
        timed(process.execPath, [cli, ...scanArgs(pathsOf[format])], { BDD_THREADS: String(RSS_THREADS) }),
    });
for (const threads of COUNTS) {
  for (const format of FORMATS) {
    tools.push({
      name: "scanner",
      format,
      threads,
      run: () =>
        timed(process.execPath, [cli, ...scanArgs(pathsOf[format])], { BDD_THREADS: String(threads) }),
    });
    if (format !== "jsonl")
      tools.push({
        name: "zlib",
        format,
        threads,
        run: () =>
          timed(process.execPath, [
            join(root, "scripts/bench-gunzip.mjs"),
            String(threads),
            ...argsOf[format],
          ]),
      });
    if (haveDuck)
      tools.push({
        name: "DuckDB",
        format,
        threads,
        run: () =>
          timed(process.execPath, [duckScript, String(threads), START, END, ...argsOf[format]], duckEnv),
      });
  }
}
if (haveJq) {
  tools.push({ name: "jq", format: "jsonl", threads: 1, run: () => timed("jq", ["-n", JQ, plain]) });
  tools.push({
    name: "jq",
    format: "gzip",
    threads: 1,
    run: () => timed("sh", ["-c", `gunzip -c ${gzFiles.join(" ")} | jq -n '${JQ}'`]),
  });
}

// Start-up: the scanner over a one-line file, per thread count (its workers start as they would on a corpus).
const tiny = join(dir, "tiny.jsonl");
writeFileSync(tiny, `${benchLines(SEED, Date.parse(END)).next().value}\n`);
const startup = new Map<number, number[]>(COUNTS.map((t) => [t, []]));
// What the machine's threads can do at all: the same in-memory gzip inflated on each (bench-capacity.mjs).
const capacity = new Map<number, number[]>(COUNTS.map((t) => [t, []]));
const capacityScript = join(root, "scripts/bench-capacity.mjs");
// The memory Node.js itself takes for the threads of the RSS runs, before a byte is read (bench-worker-floor.mjs).
const floorScript = join(root, "scripts/bench-worker-floor.mjs");
const rssFloor: number[] = [];

const load = () =>
  existsSync("/proc/loadavg") ? execFileSync("cat", ["/proc/loadavg"]).toString().trim() : "";
console.log(
  `corpus: ${plainMb.toFixed(0)} MB JSON lines; ${gzFiles.length} gzip files, ${gzMb.toFixed(0)} MB ` +
    `(${(plainMb / gzMb).toFixed(1)}x); ${smallFiles.length} gzip objects of ${SMALL_KB} KB (s3obj); ` +
    `${cpus()[0]?.model ?? "?"} x${cpus().length}, node ${process.version}; threads ${COUNTS.join(", ")}`,
);
console.log(
  `duckdb: ${haveDuck ? "yes" : "NOT FOUND (npm ci installs it; DUCKDB_DIR=<prefix> for another)"}; jq: ${haveJq ? "yes" : "no"}`,
);

const results = new Map<Tool, Run[]>(tools.map((t) => [t, []]));
/** Per format: the first scan's JSON, which every later scan of the format must print. */
const reference = new Map<Format, string>();
for (let round = 0; round < RUNS; round++) {
  console.log(`round ${round + 1}/${RUNS}, load ${load()}`);
  for (const t of tools) {
    const r = t.run();
    results.get(t)?.push(r);
    if (t.name === "scanner") {
      if (!reference.has(t.format)) reference.set(t.format, r.stdout);
      if (r.stdout !== reference.get(t.format))
        throw new Error(`scanner (${t.format}, ${t.threads} threads): output differs from the first scan`);
    }
  }
  for (const t of COUNTS) {
    startup
      .get(t)
      ?.push(timed(process.execPath, [cli, ...scanArgs([tiny])], { BDD_THREADS: String(t) }).seconds);
    capacity.get(t)?.push(Number(timed(process.execPath, [capacityScript, String(t), "300"]).stdout));
  }
  rssFloor.push(timed(process.execPath, [floorScript, String(RSS_THREADS)]).rssMb);
}
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? Number.NaN;
const seconds = (t: Tool) => median((results.get(t) ?? []).map((r) => r.seconds));
const find = (name: ToolName, format: Format, threads: number) =>
  tools.find((t) => t.name === name && t.format === format && t.threads === threads && !t.memoryOnly);

console.log(
  `\nmedians of ${RUNS} runs: MB/s of uncompressed JSON (${plainMb.toFixed(0)} MB), start-up included`,
);
const head = ["format", "tool", ...COUNTS.map((t) => `${t} thr`), "peak RSS MB"];
console.log(
  head
    .map((h, i) => (i < 2 ? h.padEnd(i === 0 ? 6 : 8) : h.padStart(i === head.length - 1 ? 12 : 8)))
    .join("  "),
);
let peakRss = 0;
for (const format of FORMATS) {
  for (const name of ["scanner", "zlib", "DuckDB", "jq"] as const) {
    const row = COUNTS.map((t) => find(name, format, t));
    if (row.every((t) => t === undefined)) continue;
    const rss = Math.max(...row.flatMap((t) => (t ? (results.get(t) ?? []).map((r) => r.rssMb) : [])));
    if (name === "scanner") peakRss = Math.max(peakRss, rss);
    const cells = row.map((t) => (t ? (plainMb / seconds(t)).toFixed(0) : "-").padStart(8));
    console.log(
      `${format.padEnd(6)}  ${name.padEnd(8)}  ${cells.join("  ")}  ${rss.toFixed(0).padStart(12)}`,
    );
  }
}
const startupText = COUNTS.map((t) => `${t} thr ${median(startup.get(t) ?? []).toFixed(2)} s`).join(", ");
console.log(`scanner start-up (one-line file): ${startupText}`);
const capacityOf = (t: number) => median(capacity.get(t) ?? []);
console.log(
  `machine: in-memory zlib on every thread, start-up excluded: ${COUNTS.map((t) => `${t} thr ${capacityOf(t).toFixed(0)} MB/s (${(capacityOf(t) / capacityOf(1)).toFixed(2)}x)`).join(", ")}`,
);

/**
 * A ratio of two tools' speeds in each round (their runs in a round are minutes apart at most): how far the
 * machine's drift moves it, beside the ratio of the medians that is judged.
 */
const roundRatios = (x: Tool | undefined, y: Tool | undefined): number[] => {
  const xs = (x && results.get(x)) ?? [];
  const ys = (y && results.get(y)) ?? [];
  return xs.flatMap((r, k) => {
    const other = ys[k];
    return other ? [other.seconds / r.seconds] : [];
  });
};

/** One ratio against its target: prints it, whether it holds, and its range over the rounds. */
const checks: { ok: boolean }[] = [];
function ratioLine(
  label: string,
  x: number | undefined,
  y: number | undefined,
  target: number,
  strict = false,
  rounds: number[] = [],
) {
  if (x === undefined || y === undefined) {
    console.log(`${label.padEnd(52)}  n/a (tool not run)`);
    return;
  }
  const r = x / y;
  const ok = strict ? r > target : r >= target;
  checks.push({ ok });
  const range =
    rounds.length > 1 ? `  (rounds ${Math.min(...rounds).toFixed(2)}-${Math.max(...rounds).toFixed(2)})` : "";
  console.log(
    `${label.padEnd(52)}  ${r.toFixed(2).padStart(5)}x  target ${strict ? ">" : ">="} ${target}  ${ok ? "ok" : "MISSED"}${range}`,
  );
}
/** Tool `x`'s speed against `y`'s (their medians), with its range over the rounds; see ratioLine. */
const toolRatio = (label: string, x: Tool | undefined, y: Tool | undefined, target: number, strict = false) =>
  ratioLine(label, x && plainMb / seconds(x), y && plainMb / seconds(y), target, strict, roundRatios(x, y));
console.log("\nratios (same files, same run):");
for (const t of COUNTS)
  for (const format of ["gzip", "s3obj"] as const)
    toolRatio(
      `scanner / zlib alone, ${format}, ${t} thr`,
      find("scanner", format, t),
      find("zlib", format, t),
      0.85,
    );
if (haveDuck)
  for (const t of COUNTS)
    for (const format of FORMATS)
      toolRatio(
        `scanner / DuckDB, ${format}, ${t} thr`,
        find("scanner", format, t),
        find("DuckDB", format, t),
        1,
        true,
      );
else console.log("scanner / DuckDB: n/a (DuckDB not found)");
const net = (format: Format, t: number) => {
  const tool = find("scanner", format, t);
  return tool ? plainMb / (seconds(tool) - median(startup.get(t) ?? [])) : undefined;
};
if (COUNTS.includes(1) && COUNTS.includes(2))
  for (const format of FORMATS) {
    toolRatio(
      `scanner 2 thr / 1 thr, ${format}`,
      find("scanner", format, 2),
      find("scanner", format, 1),
      1.3,
    );
    console.log(
      `${`  start-up excluded; the machine's own 2 thr / 1 thr`.padEnd(52)}  ${((net(format, 2) ?? 0) / (net(format, 1) ?? 1)).toFixed(2).padStart(5)}x; ${(capacityOf(2) / capacityOf(1)).toFixed(2)}x`,
    );
  }
if (COUNTS.includes(1) && MAX_T >= 16)
  ratioLine(
    `scanner ${MAX_T} thr / 1 thr, jsonl, start-up excluded`,
    net("jsonl", MAX_T),
    net("jsonl", 1),
    10,
  );
for (const t of COUNTS.filter((n) => n > 2))
  for (const format of FORMATS)
    console.log(
      `${`scanner ${t} thr / 1 thr, ${format} (start-up excluded)`.padEnd(52)}  ${((net(format, t) ?? 0) / (net(format, 1) ?? 1)).toFixed(2).padStart(5)}x`,
    );
const memoryRuns = tools.filter((t) => t.memoryOnly);
const rssOf = (t: Tool) => Math.max(...(results.get(t) ?? []).map((r) => r.rssMb));
if (memoryRuns.length > 0)
  console.log(
    `scanner peak RSS with ${RSS_THREADS} threads (RSS only): ${memoryRuns.map((t) => `${t.format} ${rssOf(t).toFixed(0)} MB`).join(", ")}`,
  );
for (const t of memoryRuns) peakRss = Math.max(peakRss, rssOf(t));
const rssOk = peakRss < 200;
checks.push({ ok: rssOk });
const rssCounts = [...new Set([...COUNTS, RSS_THREADS])].sort((a, b) => a - b).join(", ");
console.log(
  `${`scanner peak RSS, threads ${rssCounts}`.padEnd(52)}  ${peakRss.toFixed(0).padStart(5)} MB  target < 200  ${rssOk ? "ok" : "MISSED"}`,
);
console.log(
  `${`  Node.js alone with ${RSS_THREADS} threads, idle (the floor)`.padEnd(52)}  ${median(rssFloor).toFixed(0).padStart(5)} MB`,
);
console.log(`targets met: ${checks.filter((c) => c.ok).length} of ${checks.length}`);
console.log("scanner output identical in every run, mode and thread count: yes");
if (haveDuck) {
  const duck = tools.find((t) => t.name === "DuckDB");
  console.log(`DuckDB flagged: ${duck ? results.get(duck)?.[0]?.stdout.trim() : "-"}`);
}
console.log(
  `scanner flagged: ${(JSON.parse(reference.get("jsonl") ?? "{}") as { findings?: unknown[] }).findings?.length} accounts`,
);
rmSync(dir, { recursive: true, force: true });
