/**
 * The parallel scanner (worker threads over byte ranges and over files) against the one-thread scan, through
 * the real CLI bundle: the same stdout, stderr and exit code, whatever the range size, on JSON lines with
 * copies of records, pretty-printed records spanning range boundaries (CRLF, BOM, any indentation), broken
 * records, CloudWatch export lines and a directory of gzip files with a corrupt one.
 */
import { spawnSync } from "node:child_process";
import { cpSync, mkdirSync, mkdtempSync, readdirSync, renameSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { describe, expect, it } from "vitest";
import { benchLines } from "../../cli/sample-data.js";

const END = "2026-11-20T00:00:00Z";

/** `scan` over one day as JSON, by the bundle (`cli`, default dist/cli.mjs), with `input` on stdin. */
function scanWith(
  { env, cli = "dist/cli.mjs", input }: { env: Record<string, string>; cli?: string; input?: string },
  ...args: string[]
) {
  const r = spawnSync(
    process.execPath,
    [cli, "scan", "--format", "json", "--start", "2026-11-19T00:00:00Z", "--end", END, ...args],
    { encoding: "utf8", timeout: 30_000, input, env: { ...process.env, ...env } },
  );
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

const scan = (env: Record<string, string>, ...args: string[]) => scanWith({ env }, ...args);

const lines: string[] = [];
for (const l of benchLines(3, Date.parse(END))) {
  lines.push(l);
  if (lines.length >= 600) break;
}

const dir = mkdtempSync(join(tmpdir(), "bdd-parallel-"));
const plain = join(dir, "lines.jsonl");
writeFileSync(plain, `${lines.join("\n")}\n`);
const mixed = join(dir, "mixed.json");
writeFileSync(
  mixed,
  `\uFEFF${lines
    .slice(0, 300)
    .map((l, i) => {
      if (i % 41 === 7) return l.slice(0, 700); // cut off
      if (i % 29 === 3) return `2026-11-19T10:00:00.000Z ${l}`;
      if (i % 3 === 0) return l;
      return JSON.stringify(JSON.parse(l), null, i % 2 === 0 ? 2 : 0);
    })
    .join("\r\n")}`,
);
const gzDir = join(dir, "gz");
mkdirSync(gzDir);
for (let k = 0; k < 6; k++)
  writeFileSync(
    join(gzDir, `part-${k}.json.gz`),
    gzipSync(`${lines.slice(k * 100, k * 100 + 100).join("\n")}\n`),
  );
writeFileSync(join(gzDir, "part-9.json.gz"), gzipSync(lines.slice(0, 50).join("\n")).subarray(0, 5000));

const one = { BDD_THREADS: "1" };

describe("parallel scan: exactly the one-thread scan", () => {
  for (const rangeBytes of [3001, 65_536]) {
    it(`byte ranges of ${rangeBytes} bytes, files in parallel`, () => {
      const par = { BDD_THREADS: "2", BDD_RANGE_BYTES: String(rangeBytes), BDD_MIN_PARALLEL_BYTES: "1" };
      for (const paths of [[mixed], [plain, mixed, gzDir]]) {
        const expected = scan(one, ...paths);
        expect(scan(par, ...paths)).toEqual(expected);
      }
    });
  }

  it("exclusions, per-model thresholds and request ids reused by variants across files", () => {
    // Variants: the same request id with other numbers, in another file (a hunt copy only when both match).
    const variants = join(dir, "variants.jsonl");
    writeFileSync(
      variants,
      `${lines
        .slice(0, 200)
        .map((l) => {
          const r = JSON.parse(l) as { input?: { inputTokenCount?: number } };
          if (r.input) r.input.inputTokenCount = (r.input.inputTokenCount ?? 0) * 3 + 9000;
          return JSON.stringify(r);
        })
        .join("\n")}\n`,
    );
    const first = JSON.parse(lines[0] as string) as { accountId: string };
    const options = [
      "--exclude-account",
      first.accountId,
      "--exclude-identity",
      "arn:aws:sts::*:assumed-role/ci-runner/*",
      "--model-threshold",
      "anthropic.claude=20000/20000/20000",
    ];
    const paths = [plain, variants, mixed, gzDir];
    const par = { BDD_THREADS: "3", BDD_RANGE_BYTES: "40000", BDD_MIN_PARALLEL_BYTES: "1" };
    const expected = scan(one, ...options, ...paths);
    const report = JSON.parse(expected.stdout) as {
      stats: { duplicates: number; copies: number; recordsExcluded: number; excludedRecords: number };
    };
    expect(report.stats.copies).toBeGreaterThan(report.stats.duplicates);
    expect(report.stats.excludedRecords).toBeGreaterThan(0);
    expect(scan(par, ...options, ...paths)).toEqual(expected);
  });

  it("small files read in batches: each file's malformed lines, errors and counts stay its own", () => {
    const smallDir = join(dir, "small");
    mkdirSync(smallDir);
    for (let k = 0; k < 40; k++) {
      const text = `${lines.slice(k * 15, k * 15 + 15).join("\n")}\n{"broken": ${k}\n`;
      writeFileSync(
        join(smallDir, `obj-${String(k).padStart(2, "0")}.json${k % 2 ? ".gz" : ""}`),
        k % 2 ? gzipSync(text) : text,
      );
    }
    writeFileSync(
      join(smallDir, "obj-99.json.gz"),
      gzipSync(lines.slice(0, 20).join("\n")).subarray(0, 3000),
    );
    const expected = scan(one, smallDir);
    const report = JSON.parse(expected.stdout) as { stats: { filesRead: number; malformedLines: number } };
    expect(report.stats.malformedLines).toBeGreaterThanOrEqual(40);
    expect(expected.stderr).toContain("obj-99.json.gz");
    expect(scan({ BDD_THREADS: "3", BDD_MIN_PARALLEL_BYTES: "1" }, smallDir)).toEqual(expected);
  });

  it("accounts evaluated in shards, one per thread: every detection, copies across files, exactly as one thread", () => {
    // The sample data fires all four detections (anomaly from its baseline days); a second delivery of the same
    // records makes every one a copy, read from other files (by any thread, evaluated by its account's).
    const sample = join(dir, "sample");
    const made = spawnSync(process.execPath, ["dist/cli.mjs", "sample", sample], { encoding: "utf8" });
    expect(made.status).toBe(0);
    cpSync(join(sample, "AWSLogs"), join(sample, "again", "AWSLogs"), { recursive: true });
    const expected = scan(one, sample);
    const report = JSON.parse(expected.stdout) as {
      findings: { detections: string[] }[];
      stats: { copies: number };
    };
    expect(new Set(report.findings.flatMap((f) => f.detections))).toEqual(
      new Set(["heavy-requests", "cached-input", "token-volume", "anomaly"]),
    );
    expect(report.stats.copies).toBeGreaterThan(1000);
    for (const threads of ["2", "5"])
      expect(scan({ BDD_THREADS: threads, BDD_MIN_PARALLEL_BYTES: "1" }, sample)).toEqual(expected);
  });

  it("files with stdin: workers read the files, one evaluator takes every record", () => {
    const stdin = lines.slice(0, 40).join("\n");
    const run = (env: Record<string, string>) => scanWith({ env, input: stdin }, plain, "-", gzDir);
    const expected = run(one);
    expect((JSON.parse(expected.stdout) as { stats: { copies: number } }).stats.copies).toBeGreaterThan(0);
    expect(run({ BDD_THREADS: "3", BDD_MIN_PARALLEL_BYTES: "1" })).toEqual(expected);
  });

  it("a worker that exits while it holds accounts: the scan fails as a bug (exit 70, one report), never hangs or reports less", () => {
    // The bundle, with a worker that loads and takes parts but exits at the first records routed to it. Its listener
    // goes on after the real worker's: messages sent while a worker loads (its setup, a first part) are dispatched
    // once a listener is there, to the listeners there are, and the real worker must get them.
    const bundle = join(dir, "bundle");
    mkdirSync(bundle);
    for (const f of readdirSync("dist")) if (f.endsWith(".mjs")) cpSync(join("dist", f), join(bundle, f));
    renameSync(join(bundle, "scan-worker.mjs"), join(bundle, "real-scan-worker.mjs"));
    writeFileSync(
      join(bundle, "scan-worker.mjs"),
      `import { parentPort } from "node:worker_threads";
await import("./real-scan-worker.mjs");
parentPort.on("message", (m) => { if (m && typeof m === "object" && "apply" in m) process.exit(5); });
`,
    );
    const run = (threads: string) =>
      scanWith(
        {
          env: { BDD_THREADS: threads, BDD_RANGE_BYTES: "65536", BDD_MIN_PARALLEL_BYTES: "1" },
          cli: join(bundle, "cli.mjs"),
        },
        plain,
      );
    const r = run("3");
    expect(r.code).toBe(70);
    expect(r.stdout).toBe("");
    expect(r.stderr).toContain("scan worker exited (code 5)");
    // Two threads split no accounts (parallel-scan.ts MIN_SHARDED_THREADS): the main thread adds every record,
    // so the worker is never sent any, and the scan is the one-thread scan.
    expect(run("2")).toEqual(scan(one, plain));
  });

  it("the one-thread scan of these files finds, dedupes and reports", () => {
    const r = scan({ BDD_THREADS: "1" }, plain, mixed, gzDir);
    const report = JSON.parse(r.stdout) as { stats: { duplicates: number; malformedLines: number } };
    expect(report.stats.duplicates).toBeGreaterThan(0);
    expect(report.stats.malformedLines).toBeGreaterThan(0);
    expect(r.stderr).toContain("part-9.json.gz");
  });

  it("threads started ahead and not needed (little input, bad options) neither change the result nor hold the exit", () => {
    // bin.ts starts a scan's workers before it knows the input: below BDD_MIN_PARALLEL_BYTES they are stopped.
    // A worker kept alive would hold the process until spawnSync's timeout kills it (status null). Sixteen, as on
    // a 16-core machine: past ten threads, Node.js warned on stderr of a listener leak (bin.ts).
    const many = { BDD_THREADS: "16" };
    expect(scan(many, plain)).toEqual(scan(one, plain));
    const bad = scan(many, "--lookback", "nonsense", plain);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain("--lookback");
  });
});
