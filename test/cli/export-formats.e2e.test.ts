/**
 * The export formats through the real CLI process (issue 19): each one, as a file, on stdin (gzip or not, even
 * fed a few bytes at a time), from S3 (a Firehose object with no extension, on s3rver), and on the worker-thread
 * path with byte ranges small enough that a document would be cut if it were ever split, prints exactly the
 * report of the same records as JSON lines. A JSON document of another shape is one `error: <file>: ...` line.
 */
import { spawn, spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { benchLines } from "../../cli/sample-data.js";
import {
  firehoseGzip,
  firehoseText,
  insightsCsv,
  insightsJson,
  logEvents,
  queryResults,
} from "../helpers/exports.js";
import { startS3 } from "../helpers/s3.js";

const END = "2026-11-20T00:00:00Z";
const WINDOW = ["--start", "2026-11-19T00:00:00Z", "--end", END];

const messages: string[] = [];
for (const l of benchLines(5, Date.parse(END))) {
  messages.push(l);
  if (messages.length >= 400) break;
}
const jsonLines = `${messages.join("\n")}\n`;

/** Each format, as its producer writes it. */
const FORMATS: Record<string, string | Buffer> = {
  "insights.json": insightsJson(messages, { bom: true }),
  "insights.csv": insightsCsv(messages, {
    bom: true,
    crlf: true,
    columns: ["@timestamp", "@logStream", "@message"],
  }),
  "query-results.json": queryResults(messages),
  "filter-log-events.json": logEvents(messages, { pages: 2, crlf: true }),
  "firehose-delivery": firehoseGzip(messages, { perEnvelope: 40 }),
  "firehose-lines": firehoseText(messages, { newlines: true }),
};

const dir = mkdtempSync(join(tmpdir(), "bdd-exports-e2e-"));
const linesFile = join(dir, "records.jsonl");
writeFileSync(linesFile, jsonLines);
const formatDir = join(dir, "formats");
mkdirSync(formatDir);
const files: Record<string, string> = {};
for (const [name, content] of Object.entries(FORMATS)) {
  files[name] = join(formatDir, name);
  writeFileSync(files[name] as string, content);
}

function cli(args: string[], opts: { input?: string | Buffer; env?: Record<string, string> } = {}) {
  const r = spawnSync(process.execPath, ["dist/cli.mjs", "scan", "--format", "json", ...WINDOW, ...args], {
    encoding: "utf8",
    input: opts.input,
    timeout: 60_000,
    env: { ...process.env, BDD_THREADS: "1", ...opts.env },
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

const expected = cli([linesFile]);

describe("each export format through the CLI", () => {
  it("the JSON-lines scan finds accounts and copies", () => {
    expect(expected.code).toBe(0);
    const report = JSON.parse(expected.stdout) as { findings: unknown[]; stats: { copies: number } };
    expect(report.findings.length).toBeGreaterThan(0);
    expect(report.stats.copies).toBeGreaterThan(0);
  });

  for (const name of Object.keys(FORMATS)) {
    it(`${name}: as a file and on stdin, the report of the JSON lines`, () => {
      expect(cli([files[name] as string])).toEqual(expected);
      expect(cli(["-"], { input: FORMATS[name] })).toEqual(expected);
      // Already gzip (as Firehose delivers it): not gzipped twice.
      const content = FORMATS[name] as string | Buffer;
      if (typeof content === "string") expect(cli(["-"], { input: gzipSync(content) })).toEqual(expected);
    });
  }

  it("stdin a few bytes at a time: the format is told once enough has come", async () => {
    const csv = Buffer.from(FORMATS["insights.csv"] as string);
    const child = spawn(process.execPath, ["dist/cli.mjs", "scan", "--format", "json", ...WINDOW, "-"], {
      env: { ...process.env, BDD_THREADS: "1" },
    });
    let stdout = "";
    child.stdout.on("data", (d: Buffer) => {
      stdout += d.toString();
    });
    const done = new Promise<number | null>((resolve) => child.on("close", resolve));
    for (const piece of [csv.subarray(0, 2), csv.subarray(2, 9), csv.subarray(9, 30)]) {
      child.stdin.write(piece);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    child.stdin.end(csv.subarray(30));
    expect(await done).toBe(0);
    expect(stdout).toBe(expected.stdout);
  });

  it("worker threads over tiny byte ranges: no export is split, the report is the one-thread one", () => {
    const parallel = { BDD_THREADS: "2", BDD_MIN_PARALLEL_BYTES: "1", BDD_RANGE_BYTES: "4096" };
    const one = cli([linesFile, formatDir]);
    expect(one.code).toBe(0);
    expect(cli([linesFile, formatDir], { env: parallel })).toEqual(one);
    const report = JSON.parse(one.stdout) as { stats: { filesRead: number; malformedLines: number } };
    expect(report.stats).toMatchObject({ filesRead: 7, malformedLines: 0 });
    for (const name of Object.keys(FORMATS))
      expect(cli([files[name] as string], { env: parallel })).toEqual(expected);
  });

  it("malformed records are named by their place, one-thread and worker threads alike", () => {
    const broken = join(dir, "broken.json");
    writeFileSync(broken, insightsJson([...messages.slice(0, 3), '{"timestamp":"2026-11-19T10:00:00Z"}']));
    for (const env of [
      {} as Record<string, string>,
      { BDD_THREADS: "2", BDD_MIN_PARALLEL_BYTES: "1", BDD_RANGE_BYTES: "4096" },
    ]) {
      const r = cli([broken, linesFile], { env });
      expect(r.code).toBe(0);
      expect(r.stderr).toMatch(
        new RegExp(`^${broken}: record 4 \\(line \\d+\\): record has no accountId$`, "m"),
      );
    }
    const stdin = cli(["-"], { input: gzipSync(insightsCsv(["{", ...messages.slice(0, 3)])) });
    expect(stdin.code).toBe(0);
    expect(stdin.stderr).toMatch(/^stdin: record 1 \(line 2\): invalid JSON: unexpected end of JSON$/m);
  });

  it("a JSON document of another shape is one error line for its file, exit code 2, the rest read", () => {
    const other = join(dir, "other.json");
    writeFileSync(other, JSON.stringify({ foo: 1, items: [1, 2] }, null, 2));
    const r = cli([linesFile, other]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(
      new RegExp(
        `^error: ${other}: not a log format the scanner reads: it holds a JSON document: ` +
          "an object with the keys foo, items; it reads .*Firehose$",
        "m",
      ),
    );
    expect(r.stderr).not.toMatch(/other\.json:\d/);
    const report = JSON.parse(r.stdout) as { stats: unknown; fileErrors: string[] };
    expect(report.fileErrors).toHaveLength(1);
    expect(report.stats).toEqual((JSON.parse(expected.stdout) as { stats: unknown }).stats);
  });
});

describe("export formats from S3 (s3rver)", () => {
  let s3: Awaited<ReturnType<typeof startS3>>;
  beforeAll(async () => {
    s3 = await startS3(["exports"]);
    // As Firehose names its objects: no extension, gzip inside.
    await s3.put(
      "exports",
      "firehose/2026/11/19/10/bedrock-logs-1-2026-11-19-10-00-00-4f1a",
      FORMATS["firehose-delivery"] as Buffer,
    );
    await s3.put("exports", "downloads/insights.csv", FORMATS["insights.csv"] as string);
    await s3.put("exports", "downloads/results.json.gz", gzipSync(FORMATS["query-results.json"] as string));
  });
  afterAll(async () => {
    await s3.stop();
  });

  const run = (args: string[]) =>
    new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
      const child = spawn(
        process.execPath,
        ["dist/cli.mjs", "scan", "--format", "json", ...WINDOW, ...args],
        {
          env: s3.env(),
          stdio: ["ignore", "pipe", "pipe"],
        },
      );
      let stdout = "";
      let stderr = "";
      child.stdout.on("data", (d: Buffer) => {
        stdout += d.toString();
      });
      child.stderr.on("data", (d: Buffer) => {
        stderr += d.toString();
      });
      child.on("close", (code) => resolve({ code, stdout, stderr }));
    });

  it("a gzip Firehose object without extension, a CSV download, a gzip get-query-results: the same report", async () => {
    for (const prefix of [
      "s3://exports/firehose/",
      "s3://exports/downloads/insights.csv",
      "s3://exports/downloads/results.json.gz",
    ]) {
      const r = await run([prefix]);
      expect({ prefix, ...r }).toEqual({ prefix, ...expected });
    }
  });
});
