/** The real CLI bundle (dist/cli.mjs, built as `npm ci` builds it) in a child process, on real files. */
import { spawn, spawnSync } from "node:child_process";
import {
  closeSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readFileSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { describe, expect, it } from "vitest";
import { SAMPLE_ABUSIVE } from "../../cli/sample-data.js";
import { ELASTIC_EXPECTED, ELASTIC_LOG, rawRecord } from "../helpers/records.js";
import { slowPipe } from "../helpers/slow-pipe.js";

const CLI = "dist/cli.mjs";

function run(...args: string[]) {
  return runWith({}, ...args);
}

function runWith(options: { input?: string | Buffer }, ...args: string[]) {
  const r = spawnSync(process.execPath, [CLI, ...args], { encoding: "utf8", timeout: 60_000, ...options });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

interface Report {
  window: { start: string; end: string };
  rule: { thresholds: Record<string, number>; minRequests: number };
  findings: {
    accountId: string;
    maxPromptTokens: number | null;
    maxRequestSize: number | null;
    maxCompletionTokens: number | null;
    requestCount: number;
    topIdentities: { identityArn: string; requestCount: number }[];
  }[];
  stats: {
    filesRead: number;
    recordsRead: number;
    recordsInWindow: number;
    recordsMatched: number;
    recordsExcluded: number;
    excludedRecords: number;
    duplicates: number;
    malformedLines: number;
  };
}

function scanJson(...args: string[]): Report {
  const r = run("scan", "--format", "json", ...args);
  expect(r.stderr).not.toMatch(/\n\s+at /);
  expect(r.code, r.stderr).toBe(0);
  return JSON.parse(r.stdout) as Report;
}

describe("scan over a directory tree of .gz files, an export file and a pretty-printed file", () => {
  const root = mkdtempSync(join(tmpdir(), "bdd-cli-"));
  const hourDir = join(root, "AWSLogs/123456789012/BedrockModelInvocationLogs/us-east-1/2026/11/19/10");
  mkdirSync(hourDir, { recursive: true });
  const heavy = (promptTokens: number, timestamp: string, accountId = "123456789012") =>
    rawRecord({ accountId, promptTokens, timestamp, completionTokens: 10 });
  writeFileSync(
    join(hourDir, "a.json.gz"),
    gzipSync(
      [
        heavy(9_001, "2026-11-19T10:00:00Z"),
        heavy(8_000, "2026-11-19T10:01:00Z"),
        "{not json",
        heavy(50_000, "2026-11-19T10:02:00Z"),
      ].join("\n"),
    ),
  );
  // Export lines: account 2 has one heavy request inside the window and one at the excluded end instant.
  writeFileSync(
    join(root, "export.log"),
    [
      `2026-11-19T11:00:00.000Z ${heavy(20_000, "2026-11-19T11:00:00Z", "210987654321")}`,
      `2026-11-20T00:00:00.000Z ${heavy(20_000, "2026-11-20T00:00:00Z", "210987654321")}`,
    ].join("\n"),
  );
  const pretty = JSON.stringify(JSON.parse(heavy(30_000, "2026-11-19T12:00:00Z", "210987654321")), null, 4);
  writeFileSync(join(root, "pretty.json"), pretty);
  const window = ["--start", "2026-11-19T00:00:00Z", "--end", "2026-11-20T00:00:00Z"];

  it("prints one JSON document with findings in the contract's order, nulls as null, and stats", () => {
    const report = scanJson(...window, root);
    expect(report.window).toEqual({ start: "2026-11-19T00:00:00.000Z", end: "2026-11-20T00:00:00.000Z" });
    expect(report.rule).toEqual({
      thresholds: { promptTokens: 8000, requestSize: 8000, completionTokens: 8000 },
      minRequests: 2,
    });
    expect(report.findings.map((f) => [f.accountId, f.requestCount, f.maxPromptTokens])).toEqual([
      ["123456789012", 2, 50_000],
      ["210987654321", 2, 30_000],
    ]);
    expect(report.findings[0]?.maxRequestSize).toBeNull();
    expect(report.stats).toEqual({
      filesRead: 3,
      recordsRead: 6,
      recordsInWindow: 5,
      recordsInHistory: 0,
      recordsMatched: 4,
      recordsExcluded: 0,
      excludedRecords: 0,
      duplicates: 0,
      copies: 0,
      malformedLines: 1,
    });
  });

  it("reports malformed lines as file:line: reason on stderr and goes on", () => {
    const r = run("scan", "--format", "json", ...window, root);
    expect(r.code).toBe(0);
    expect(r.stderr).toContain(`${join(hourDir, "a.json.gz")}:3: invalid JSON`);
  });

  it("thresholds and min requests from options change the result", () => {
    const report = scanJson(...window, "--prompt-tokens", "25000", "--min-requests", "1", root);
    expect(report.findings.map((f) => f.accountId)).toEqual(["123456789012", "210987654321"]);
    expect(report.findings.map((f) => f.requestCount)).toEqual([1, 1]);
  });

  it("--fail-on-findings exits 1 when an account is flagged and 0 when none is", () => {
    expect(run("scan", "--format", "json", "--fail-on-findings", ...window, root).code).toBe(1);
    const quiet = ["--start", "2020-01-01T00:00:00Z", "--end", "2020-01-02T00:00:00Z"];
    expect(run("scan", "--format", "json", "--fail-on-findings", ...quiet, root).code).toBe(0);
  });

  it("prints an aligned table with thousands separators, and says when nothing was found", () => {
    const table = run("scan", "--format", "table", ...window, root);
    expect(table.stdout).toMatch(/123456789012\s+2\s+50,000/);
    const none = run(
      "scan",
      "--format",
      "table",
      "--start",
      "2020-01-01T00:00:00Z",
      "--end",
      "2020-01-02T00:00:00Z",
      root,
    );
    expect(none.code).toBe(0);
    expect(none.stdout).toContain("nothing to report");
  });
});

describe("records delivered to S3 and to CloudWatch (then exported) are counted once", () => {
  it("the copies in the export are skipped and counted as duplicates; one heavy request is no finding", () => {
    const root = mkdtempSync(join(tmpdir(), "bdd-dup-"));
    const records = [
      rawRecord({ accountId: "123456789012", promptTokens: 20_000, timestamp: "2026-11-19T10:00:00Z" }),
      rawRecord({ accountId: "123456789012", promptTokens: 30_000, timestamp: "2026-11-19T10:05:00Z" }),
      rawRecord({ accountId: "210987654321", promptTokens: 90_000, timestamp: "2026-11-19T11:00:00Z" }),
      rawRecord({ accountId: "210987654321", promptTokens: 10, timestamp: "2026-11-19T11:01:00Z" }),
    ];
    mkdirSync(join(root, "s3"));
    writeFileSync(join(root, "s3", "batch.json.gz"), gzipSync(records.join("\n")));
    const exported = records.map((r) => `${JSON.parse(r).timestamp.replace("Z", ".000Z")} ${r}`);
    writeFileSync(join(root, "export.log"), exported.join("\n"));
    const report = scanJson("--start", "2026-11-19T00:00:00Z", "--end", "2026-11-20T00:00:00Z", root);
    expect(report.findings.map((f) => [f.accountId, f.requestCount])).toEqual([["123456789012", 2]]);
    expect(report.stats).toMatchObject({ recordsRead: 8, recordsMatched: 3, duplicates: 3 });
  });
});

describe("scan over Elastic's fixtures with lowered thresholds", () => {
  // Expected accounts derived independently: Elastic's extracted tokens and the contract's request sizes.
  const expected = JSON.parse(readFileSync(ELASTIC_EXPECTED, "utf8")) as {
    line: number;
    accountId: string;
    "input.inputTokenCount": number;
    "output.outputTokenCount": number;
  }[];
  const sizes = [
    1896, 143, 302, 246, 211, 269, 269, 269, 510, 3433, 500, 3461, 1112, 269, 269, 269, 269, 177, 349,
  ];
  // Elastic's test records reuse requestIds (its variants of one call): a copy counts once, the first wins.
  const requestIds = [...readFileSync(ELASTIC_LOG, "utf8").matchAll(/"requestId":\s*"([^"]+)"/g)].map(
    (m) => m[1],
  );
  expect(requestIds).toHaveLength(expected.length);
  const t = { prompt: 300, completion: 60, size: 3000 };
  const seen = new Set<string>();
  const matching = expected.filter(
    (e) =>
      e["input.inputTokenCount"] > t.prompt ||
      e["output.outputTokenCount"] > t.completion ||
      (sizes[e.line - 1] ?? 0) > t.size,
  );
  const hits = matching.filter((e) => {
    const key = `${e.accountId} ${requestIds[e.line - 1]}`;
    return !seen.has(key) && seen.add(key);
  });
  const all = ["--start", "2024-01-01T00:00:00Z", "--end", "2027-01-01T00:00:00Z"];
  const lowered = [
    "--prompt-tokens",
    `${t.prompt}`,
    "--completion-tokens",
    `${t.completion}`,
    "--request-size",
    `${t.size}`,
  ];

  it("min requests 1: every account with a heavy record, heaviest prompt first", () => {
    const byAccount = new Map<string, number>();
    for (const h of hits)
      byAccount.set(h.accountId, Math.max(byAccount.get(h.accountId) ?? 0, h["input.inputTokenCount"]));
    const order = [...byAccount].sort((a, b) => b[1] - a[1]).map(([id]) => id);
    const report = scanJson(...all, ...lowered, "--min-requests", "1", ELASTIC_LOG);
    expect(report.findings.map((f) => f.accountId)).toEqual(order);
    expect(order).toContain("<redacted>");
    expect(report.stats).toMatchObject({
      recordsRead: 19,
      malformedLines: 0,
      recordsMatched: hits.length,
      duplicates: matching.length - hits.length,
    });
    expect(report.stats.duplicates).toBeGreaterThan(0);
  });

  it("default min requests: only accounts with more than one heavy request (copies count once)", () => {
    const counts = new Map<string, number>();
    for (const h of hits) counts.set(h.accountId, (counts.get(h.accountId) ?? 0) + 1);
    const repeat = [...counts].filter(([, n]) => n > 1).map(([id]) => id);
    const report = scanJson(...all, ...lowered, ELASTIC_LOG);
    expect(report.findings.map((f) => f.accountId)).toEqual(repeat);
    expect(repeat).toEqual(["891377031307"]);
    // Two heavy records, one requestId: one request, so not flagged.
    expect(matching.filter((e) => e.accountId === "795142007471")).toHaveLength(2);
    expect(report.findings[0]?.maxRequestSize).toBe(
      Math.max(...hits.filter((h) => h.accountId === repeat[0]).map((h) => sizes[h.line - 1] ?? 0)),
    );
  });

  it("with the default thresholds, none of these small records is flagged", () => {
    expect(scanJson(...all, ELASTIC_LOG).findings).toEqual([]);
  });
});

describe("the sample generator and scanner together (npm start)", () => {
  it("flags exactly the sample's abusive accounts and reports the truncated export line", () => {
    const dir = mkdtempSync(join(tmpdir(), "bdd-sample-"));
    const gen = run("sample", dir, "--end", "2026-11-20T00:00:00Z");
    expect(gen.code, gen.stderr).toBe(0);
    const r = run("scan", "--format", "json", "--end", "2026-11-20T00:00:00Z", dir);
    expect(r.code).toBe(0);
    const report = JSON.parse(r.stdout) as Report;
    expect(new Set(report.findings.map((f) => f.accountId))).toEqual(new Set(SAMPLE_ABUSIVE));
    expect(report.stats.malformedLines).toBe(1);
    expect(r.stderr).toMatch(/000000\.gz:\d+: record is cut off/);
  });

  it("--model-threshold holds one model to its own thresholds; the other detections still see it", () => {
    const dir = mkdtempSync(join(tmpdir(), "bdd-sample-"));
    expect(run("sample", dir, "--end", "2026-11-20T00:00:00Z").code).toBe(0);
    const scan = (...extra: string[]) =>
      scanJson("--end", "2026-11-20T00:00:00Z", ...extra, dir).findings as unknown as {
        accountId: string;
        detections: string[];
        requestCount: number | null;
      }[];
    const ci = (fs: ReturnType<typeof scan>) => fs.find((f) => f.accountId === SAMPLE_ABUSIVE[0]);
    // The sample holds one day: its heavy hour is a principal with no history over anomaly's floor too.
    expect(ci(scan())).toMatchObject({
      detections: ["heavy-requests", "cached-input", "anomaly"],
      requestCount: 42,
    });
    // Its 40k-170k-token prompts are allowed for this model: the hunt no longer flags it; cached-input
    // (input plus cache tokens over 80,000) and anomaly are not per model and still do.
    const allowed = scan("--model-threshold", "anthropic.claude-3-5-sonnet=200000/8000/8000");
    expect(ci(allowed)).toMatchObject({ detections: ["cached-input", "anomaly"], requestCount: null });
    // A prefix that matches nothing changes nothing.
    expect(scan("--model-threshold", "mistral=1/1/1")).toEqual(scan());
  });

  it("--exclude-account and --exclude-identity (repeatable) leave known heavy users out", () => {
    const dir = mkdtempSync(join(tmpdir(), "bdd-sample-"));
    expect(run("sample", dir, "--end", "2026-11-20T00:00:00Z").code).toBe(0);
    const [first, second, ...rest] = SAMPLE_ABUSIVE;
    const options = [
      "--end",
      "2026-11-20T00:00:00Z",
      "--exclude-account",
      String(first),
      "--exclude-identity",
      `arn:aws:sts::${second}:*`,
      "--exclude-identity",
      `arn:aws:iam::${second}:*`,
      dir,
    ];
    const r = run("scan", "--format", "json", ...options);

    expect(r.code, r.stderr).toBe(0);
    const report = JSON.parse(r.stdout) as Report;
    expect(new Set(report.findings.map((f) => f.accountId))).toEqual(new Set(rest));
    expect(report.stats.recordsExcluded).toBeGreaterThan(0);
    // Every request of the excluded principals, matching or not, is removed (here all of them match).
    const { excludedRecords, recordsExcluded } = report.stats as {
      excludedRecords: number;
      recordsExcluded: number;
    };
    expect(excludedRecords).toBeGreaterThanOrEqual(recordsExcluded);
    // The table says it too.
    const table = run("scan", "--format", "table", ...options);
    expect(table.stdout.replace(/\s+/g, " ")).toContain(
      `exclusions removed ${excludedRecords.toLocaleString("en-US")} records (${recordsExcluded.toLocaleString("en-US")} matching)`,
    );
  });
});

describe("honest empty results", () => {
  it.each([
    ["an empty directory", {}, /\(no files there\)$/],
    [
      "only files that are not logs",
      { "notes.txt": "hello\n", "data.csv": "a,b\n1,2\n" },
      /not a JSON object\)$/,
    ],
  ])("%s: one line on stderr, nothing on stdout, exit code 2", (_, files, detail) => {
    const dir = mkdtempSync(join(tmpdir(), "bdd-empty-"));
    for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
    for (const extra of [[], ["--fail-on-findings"], ["--format", "table"]]) {
      const r = run("scan", ...extra, dir);
      expect(r.code).toBe(2);
      expect(r.stdout).toBe("");
      expect(r.stderr.trim().split("\n")).toHaveLength(1);
      expect(r.stderr).toMatch(new RegExp(`^error: no Bedrock invocation records found in ${dir} `));
      expect(r.stderr.trim()).toMatch(detail);
    }
  });

  it("records but none in the window: stderr says how many, their span and the options that cover them", () => {
    // The Elastic records are from 2024-2026; the default window is the last 24 hours.
    const r = run("scan", "--format", "json", "--fail-on-findings", ELASTIC_LOG);
    expect(r.code).toBe(0);
    expect(r.stderr).toContain("none of the 19 records read is in the window" + "");
    expect(r.stderr).toContain("they span 2024-04-18T22:54:57.000Z .. 2026-08-10T21:12:39.000Z");
    const hint = /use (--start \S+ --end \S+)$/m.exec(r.stderr)?.[1];
    expect(hint).toBe("--start 2024-04-18 --end 2026-08-11");
    const report = JSON.parse(r.stdout) as Report & { recordSpan: unknown };
    expect(report.findings).toEqual([]);
    expect(report.recordSpan).toEqual({
      first: "2024-04-18T22:54:57.000Z",
      last: "2026-08-10T21:12:39.000Z",
    });
    // Following the hint reads every record.
    const again = scanJson(...(hint ?? "").split(" "), ELASTIC_LOG);
    expect(again.stats.recordsInWindow).toBe(19);
  });

  it("no note when some records are in the window", () => {
    const r = run("scan", "--format", "json", "--start", "2026-08-10", "--end", "2026-08-11", ELASTIC_LOG);
    expect(r.code).toBe(0);
    expect(r.stderr).toBe("");
  });
});

describe("stdin", () => {
  const window = ["--start", "2026-11-19T00:00:00Z", "--end", "2026-11-20T00:00:00Z", "--min-requests", "1"];
  const lines = [
    rawRecord({ accountId: "123456789012", promptTokens: 9_001 }),
    `2026-11-19T12:00:00.000Z ${rawRecord({ accountId: "210987654321", completionTokens: 9_001 })}`,
  ].join("\n");

  it.each([
    ["-", Buffer.from(lines)],
    ["/dev/stdin", gzipSync(lines)],
  ])("%s reads stdin (gzip recognised by its magic bytes)", (path, input) => {
    const r = runWith({ input }, "scan", "--format", "json", ...window, path);
    expect(r.code, r.stderr).toBe(0);
    const report = JSON.parse(r.stdout) as Report;
    expect(report.findings.map((f) => f.accountId)).toEqual(["123456789012", "210987654321"]);
    expect(report.stats).toMatchObject({ filesRead: 1, recordsRead: 2 });
  });

  it("stdin and files together; malformed stdin lines are named stdin:line", () => {
    const dir = mkdtempSync(join(tmpdir(), "bdd-stdin-"));
    writeFileSync(join(dir, "a.json"), rawRecord({ accountId: "333333333333", promptTokens: 9_001 }));
    const r = runWith({ input: `${lines}\nnot json\n` }, "scan", "--format", "json", ...window, dir, "-");
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain("stdin:3: not a JSON object");
    expect((JSON.parse(r.stdout) as Report).findings).toHaveLength(3);
  });

  it("stdin named twice (- and /dev/stdin) is read once", () => {
    const r = runWith({ input: lines }, "scan", "--format", "json", ...window, "-", "/dev/stdin");
    expect(r.code, r.stderr).toBe(0);
    expect((JSON.parse(r.stdout) as Report).stats).toMatchObject({ filesRead: 1, recordsRead: 2 });
  });

  it("empty stdin is no records: exit code 2", () => {
    const r = runWith({ input: "" }, "scan", "-");
    expect(r.code).toBe(2);
    expect(r.stderr.trim()).toBe(
      "error: no Bedrock invocation records found in - (1 file(s) read, 0 line(s) that are not records)",
    );
  });
});

describe("stdin read from its descriptor (a file or a pipe, not a socket)", () => {
  const window = ["--start", "2026-11-19T00:00:00Z", "--end", "2026-11-20T00:00:00Z", "--min-requests", "1"];
  const dir = mkdtempSync(join(tmpdir(), "bdd-stdin-fd-"));
  // Over 1 MB, so that the descriptor is read in several blocks: 300 accounts, a malformed line in the middle.
  const records = Array.from({ length: 3000 }, (_, i) =>
    rawRecord({ accountId: String(100000000000 + (i % 300)), promptTokens: 8_001 + i, requestId: `r-${i}` }),
  );
  const text = [...records.slice(0, 1500), "not json", ...records.slice(1500)].join("\n");
  const plain = join(dir, "all.json");
  const gzip = join(dir, "all.json.gz");
  writeFileSync(plain, text);
  // Two members, as concatenated deliveries are.
  writeFileSync(gzip, Buffer.concat([gzipSync(text.slice(0, 400_000)), gzipSync(text.slice(400_000))]));
  const scan = ["scan", "--format", "json", ...window];
  const asFile = (path: string) => runWith({}, ...scan, path);
  const shell = (script: string) => {
    const r = spawnSync("bash", ["-c", script], { encoding: "utf8", timeout: 60_000 });
    return { code: r.status, stdout: r.stdout, stderr: r.stderr };
  };
  const cli = `"${process.execPath}" ${CLI} ${scan.join(" ")} -`;

  it.each([
    ["JSON lines", plain],
    ["gzip", gzip],
  ])("%s: a file on stdin and a pipe give the report of the file itself", (_, path) => {
    const expected = asFile(path);
    expect(expected.code, expected.stderr).toBe(0);
    expect((JSON.parse(expected.stdout) as Report).stats).toMatchObject({
      recordsRead: 3000,
      malformedLines: 1,
    });
    const fd = openSync(path, "r");
    const fromFile = spawnSync(process.execPath, [CLI, ...scan, "-"], {
      encoding: "utf8",
      timeout: 60_000,
      stdio: [fd, "pipe", "pipe"],
    });
    closeSync(fd);
    const fromPipe = shell(`cat "${path}" | ${cli}`);
    for (const r of [fromFile, fromPipe]) {
      expect(r.stdout).toBe(expected.stdout);
      expect(r.stderr).toBe(expected.stderr.replaceAll(path, "stdin"));
    }
  });

  it("a file on stdin is read from where it stands, not from its start", () => {
    const r = shell(`{ read -r _; ${cli}; } < "${plain}"`);
    expect(r.code, r.stderr).toBe(0);
    expect((JSON.parse(r.stdout) as Report).stats).toMatchObject({ recordsRead: 2999, malformedLines: 1 });
  });

  it("a cut gzip on stdin: the records before the cut, and the cut reported as for a file", () => {
    const cut = join(dir, "cut.json.gz");
    const whole = readFileSync(gzip);
    writeFileSync(cut, whole.subarray(0, Math.floor(whole.length * 0.7)));
    const expected = asFile(cut);
    const r = shell(`${cli} < "${cut}"`);
    expect(expected.stderr).toMatch(/truncated or damaged gzip file: the data ends early/);
    expect(r.stderr).toBe(expected.stderr.replaceAll(cut, "stdin"));
    expect(r.stdout).toBe(expected.stdout.replaceAll(cut, "stdin"));
  });

  it("a non-blocking pipe whose writer is slower than the scan: waits for it, loses nothing", async () => {
    // Non-blocking is a property of the open pipe, which the child inherits as its stdin.
    const { readEnd, written } = slowPipe(join(dir, "slow.fifo"), readFileSync(gzip), {
      piece: 8_000,
      pauseMs: 5,
    });
    const child = spawn(process.execPath, [CLI, ...scan, "-"], { stdio: [readEnd, "pipe", "pipe"] });
    closeSync(readEnd);
    let stdout = "";
    child.stdout?.on("data", (chunk: Buffer) => {
      stdout += chunk.toString();
    });
    const exit = new Promise<number | null>((done) => child.on("close", (code) => done(code)));
    await written;
    expect(await exit).toBe(0);
    expect(stdout).toBe(asFile(gzip).stdout);
  });
});

describe("a reader that stops early (| head)", () => {
  // 400 flagged accounts: a report far larger than a pipe's buffer, so the write must meet the closed pipe.
  const dir = mkdtempSync(join(tmpdir(), "bdd-pipe-"));
  const records = Array.from({ length: 400 }, (_, i) =>
    rawRecord({ accountId: String(100000000000 + i), promptTokens: 9_001 + i }),
  );
  writeFileSync(join(dir, "many.json"), [...records, "not json"].join("\n"));
  const scan = `${process.execPath} ${CLI} scan --start 2026-11-19 --end 2026-11-20 --min-requests 1`;

  it("| head -c 1 on the JSON report: exit code 0, no internal error", () => {
    const pipeline = `${scan} --format json ${dir} | head -c 1 > /dev/null; echo "exit=\${PIPESTATUS[0]}"`;
    const r = spawnSync("bash", ["-c", pipeline], { encoding: "utf8", timeout: 60_000 });
    expect(r.stderr).not.toMatch(/internal error|EPIPE/);
    expect(r.stdout.trim()).toBe("exit=0");
  });

  it.each([
    ["stdout", [1]],
    ["stderr", [2]],
    ["stdout and stderr", [1, 2]],
  ])("%s closed before the scan writes: exit code 0", async (_, closed) => {
    // The reader is gone before the records arrive on stdin, so every write meets a closed pipe.
    const child = spawn(
      process.execPath,
      [CLI, "scan", "--start", "2026-11-19", "--end", "2026-11-20", "-"],
      {
        stdio: ["pipe", "pipe", "pipe"],
      },
    );
    for (const fd of closed) (fd === 1 ? child.stdout : child.stderr).destroy();
    const exit = new Promise<number | null>((done) => child.on("close", (code) => done(code)));
    child.stdin.end(`${records.slice(0, 50).join("\n")}\nnot json\nnot json either\n`);
    expect(await exit).toBe(0);
  });
});

describe("bad input: one line on stderr, exit code 2, no stack trace", () => {
  it.each([
    [["scan", "/no/such/path"], /^error: \/no\/such\/path: no such file or directory$/],
    [["scan", "--start", "yesterday", "."], /^error: --start "yesterday" is not an ISO-8601 date or time/],
    [
      ["scan", "--start", "2026-02-30", "."],
      /^error: --start "2026-02-30" is not a real date: 2026-02 has 28 days$/,
    ],
    [
      ["scan", "--start", "2026-11-20T00:00:00Z", "--end", "2026-11-19T00:00:00Z", "."],
      /must be before its end/,
    ],
    [["scan", "--lookback", "forever", "."], /--lookback is not a duration like 90m, 24h or 7d: "forever"/],
    [
      ["scan", "--start", "2026-11-01", "--end", "2026-11-02", "--lookback", "1d", "."],
      /^error: --start, --end and --lookback: give at most two, the third follows from them$/,
    ],
    [
      ["scan", "--prompt-tokens", "abc", "."],
      /--prompt-tokens must be a whole number from 1 to .*, got "abc"/,
    ],
    [["scan", "--min-requests", "0", "."], /--min-requests must be a whole number from 1 to .*, got "0"/],
    [
      ["scan", "--exclude-account", "12", "."],
      /--exclude-account has "12", which is not a 12-digit account id/,
    ],
    [["scan", "--format", "xml", "."], /Allowed choices are table, json, csv/],
    [["scan", "--bogus", "."], /unknown option '--bogus'/],
    [["scan"], /missing required argument 'path'/],
  ])("%j", (args, message) => {
    const r = run(...args);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe("");
    expect(r.stderr.trim().split("\n")).toHaveLength(1);
    expect(r.stderr.trim()).toMatch(message);
  });

  it("--start with --lookback is a window of that length from the start, not to now", () => {
    const file = join(mkdtempSync(join(tmpdir(), "bdd-window-")), "day.json");
    writeFileSync(file, `${rawRecord({ timestamp: "2026-11-02T12:00:00Z" })}\n`);
    const twoDays = scanJson("--start", "2026-11-01", "--lookback", "2d", file);
    expect(twoDays.window).toEqual({ start: "2026-11-01T00:00:00.000Z", end: "2026-11-03T00:00:00.000Z" });
    expect(twoDays.stats.recordsInWindow).toBe(1);
    const oneDay = scanJson("--start", "2026-11-01", "--lookback", "1d", file);
    expect(oneDay.window.end).toBe("2026-11-02T00:00:00.000Z");
    expect(oneDay.stats.recordsInWindow).toBe(0);
  });

  it("sample into a path that is a file: one line naming the path, exit code 2, never 'internal error'", () => {
    const file = join(mkdtempSync(join(tmpdir(), "bdd-sample-")), "taken");
    writeFileSync(file, "not a directory");
    for (const target of [file, join(file, "below")]) {
      const r = run("sample", target);
      expect(r.code).toBe(2);
      expect(r.stderr.trim().split("\n")).toHaveLength(1);
      expect(r.stderr.trim()).toMatch(
        new RegExp(`^error: ${file}/\\S*: not a directory$|^error: ${file}\\S*: already exists`),
      );
    }
  });

  it.runIf(existsSync("/proc/self"))("sample under /proc: one line, exit code 2, no endless retry", () => {
    const r = run("sample", "/proc/self/no-such/sample");
    expect(r.code).toBe(2);
    expect(r.stderr.trim()).toBe("error: /proc/self/no-such: no such file or directory");
  });

  it("a corrupt gzip among good files: results still printed, the file named, exit code 2", () => {
    const dir = mkdtempSync(join(tmpdir(), "bdd-corrupt-"));
    writeFileSync(join(dir, "good.json"), rawRecord({ promptTokens: 9_500 }));
    writeFileSync(
      join(dir, "bad.gz"),
      Buffer.concat([gzipSync("x".repeat(1000)).subarray(0, 12), Buffer.alloc(40, 1)]),
    );
    const r = run("scan", "--format", "json", "--start", "2026-11-19T00:00:00Z", dir);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/bad\.gz: truncated or damaged gzip file/);
    expect((JSON.parse(r.stdout) as Report).stats.recordsRead).toBe(1);
  });

  it.each([["1"], ["2"]])(
    "a truncated gzip (%s thread(s)): says truncated, counts the file and the records before the cut",
    (threads) => {
      const dir = mkdtempSync(join(tmpdir(), "bdd-truncated-"));
      const lines = Array.from({ length: 400 }, (_, i) =>
        rawRecord({ promptTokens: 9_000 + i, body: { prompt: "x".repeat(300 + i) } }),
      );
      const gzip = gzipSync(`${lines.join("\n")}\n`);
      writeFileSync(join(dir, "cut.json.gz"), gzip.subarray(0, Math.floor(gzip.length * 0.8)));
      writeFileSync(join(dir, "good.json"), `${rawRecord({ promptTokens: 9_500 })}\n`);
      const r = spawnSync(
        process.execPath,
        [
          CLI,
          "scan",
          "--format",
          "json",
          "--start",
          "2026-11-19T00:00:00Z",
          "--end",
          "2026-11-20T00:00:00Z",
          dir,
        ],
        // BDD_MIN_PARALLEL_BYTES=1: with two threads, workers really read these small files.
        { encoding: "utf8", env: { ...process.env, BDD_THREADS: threads, BDD_MIN_PARALLEL_BYTES: "1" } },
      );
      expect(r.status).toBe(2);
      const cut =
        /cut\.json\.gz: truncated or damaged gzip file: the data ends early \(after line (\d+); the lines before it were read\)/.exec(
          r.stderr,
        );
      expect(cut, r.stderr).not.toBeNull();
      const report = JSON.parse(r.stdout) as Report;
      expect(report.stats.filesRead).toBe(2);
      // Every whole line before the cut, plus good.json's record; the cut line is one malformed line.
      expect(report.stats.recordsRead).toBe(Number(cut?.[1]) - 1 + 1);
      expect(report.stats.recordsRead).toBeGreaterThan(100);
    },
  );

  it("--help documents every option, with the rule's defaults", () => {
    const r = run("scan", "--help");
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/--prompt-tokens <n>[\s\S]*\(default: 8000\)/);
    expect(r.stdout).toMatch(/--min-requests <n>[\s\S]*\(default: 2\)/);
    for (const opt of [
      "--start",
      "--end",
      "--lookback",
      "--prompt-tokens",
      "--completion-tokens",
      "--request-size",
      "--min-requests",
      "--format",
      "--no-progress",
    ]) {
      expect(r.stdout).toContain(opt);
    }
  });
});

describe("output that fits", () => {
  const dir = mkdtempSync(join(tmpdir(), "bdd-fit-"));
  const arn = "arn:aws:sts::123456789012:assumed-role/batch-role/session-1";
  writeFileSync(
    join(dir, "a.json"),
    [1, 2]
      .map((i) => rawRecord({ accountId: "123456789012", promptTokens: 9_000 + i, identityArn: arn }))
      .join("\n"),
  );
  const day = ["--start", "2026-11-19", "--end", "2026-11-20"];
  const widest = (text: string) => Math.max(...text.split("\n").map((l) => l.length));

  it("the table fits 100 columns when the terminal is unknown; --wide puts every column on one line", () => {
    const table = run("scan", "--format", "table", ...day, dir);
    expect(table.code).toBe(0);
    expect(widest(table.stdout)).toBeLessThanOrEqual(100);
    expect(table.stdout).toContain(`    top identity: ${arn} (2)`);
    const wide = run("scan", "--format", "table", "--wide", ...day, dir);
    expect(wide.stdout).toMatch(new RegExp(`^123456789012 .*${arn} \\(2\\)$`, "m"));
  });

  it("--format csv: a header and one CRLF-terminated row per finding", () => {
    const r = run("scan", "--format", "csv", ...day, dir);
    expect(r.code).toBe(0);
    const lines = r.stdout.split("\r\n");
    expect(lines[0]).toMatch(/^accountId,requestCount,maxPromptTokens,/);
    expect(lines[1]).toMatch(new RegExp(`^123456789012,2,9002,,,9002,.*,${arn},2,1,`));
    expect(lines.slice(2)).toEqual([""]);
  });

  it.each([["--help"], ["scan", "--help"], ["query", "--help"]])(
    "%s wraps at word boundaries within 80 columns",
    (...args) => {
      const r = run(...args);
      expect(r.code).toBe(0);
      expect(widest(r.stdout)).toBeLessThanOrEqual(80);
      // A line never ends in the middle of a word that the next line finishes (no hard breaks in prose).
      expect(r.stdout).not.toMatch(/account-level\n/);
    },
  );
});

describe("query: the rule as Logs Insights text for the console", () => {
  it("prints the account-level query with the options' thresholds and window", () => {
    const r = run(
      "query",
      "--start",
      "2026-11-19T00:00:00Z",
      "--end",
      "2026-11-20T00:00:00Z",
      "--prompt-tokens",
      "12345",
      "--min-requests",
      "3",
    );
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`toMillis(@timestamp) >= ${Date.parse("2026-11-19T00:00:00Z")}`);
    expect(r.stdout).toContain("promptTokens > 12345 or completionTokens > 8000");
    expect(r.stdout).toContain("| filter requestCount >= 3");
    expect(r.stdout).toMatch(/ by account\n/);
  });

  it("--shape usage prints the query every detection reads, with the detection settings in it", () => {
    const r = run("query", "--shape", "usage", "--cached-input-tokens", "50000", ...["--lookback", "1h"]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/ by account, identityArn, identityArnLast, model, hourIndex\n/);
    expect(r.stdout).toContain(
      "least(greatest(coalesce(cachedInput, -1) - (50000), 0), 1) as cachedInputHit",
    );
  });

  it("rejects bad options like scan does", () => {
    const r = run("query", "--shape", "everything");
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("Allowed choices are account, evidence");
  });
});
