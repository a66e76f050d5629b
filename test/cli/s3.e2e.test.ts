/**
 * `scan s3://...`: the real CLI process against a real S3 API (s3rver on loopback), with the SDK's default
 * credential chain and Region taken from the environment, as on a user's machine.
 */
import { spawn } from "node:child_process";
import { cpSync, mkdtempSync, readdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { gzipSync } from "node:zlib";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { rawRecord } from "../helpers/records.js";
import { startS3 } from "../helpers/s3.js";

const CLI = "dist/cli.mjs";
const BUCKET = "bedrock-logs";
const REGION_DIR = "AWSLogs/123456789012/BedrockModelInvocationLogs/us-east-1";
const DAY = ["--start", "2026-11-19", "--end", "2026-11-20"];

let s3: Awaited<ReturnType<typeof startS3>>;

/** The CLI in a child process; asynchronous, since the S3 server answers from this process. */
function run(args: string[], env: NodeJS.ProcessEnv = s3.env(), cli = CLI) {
  return new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
    const child = spawn(process.execPath, [cli, ...args], { env, stdio: ["ignore", "pipe", "pipe"] });
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
}

interface Report {
  findings: { accountId: string; requestCount: number }[];
  stats: { filesRead: number; recordsRead: number; recordsMatched: number; duplicates: number };
  fileErrors: string[];
}

const heavy = (accountId: string, timestamp: string) =>
  rawRecord({ accountId, timestamp, promptTokens: 20_000 });
/** ListObjectsV2 prefixes the server was asked for. */
const listed = () =>
  s3.requests
    .filter((r) => r.includes("list-type=2"))
    .map((r) => decodeURIComponent(/[?&]prefix=([^&]*)/.exec(r)?.[1] ?? ""));
const gets = () => s3.requests.filter((r) => r.includes("x-id=GetObject"));

beforeAll(async () => {
  s3 = await startS3([BUCKET, "plain", "many", "keyprefix"]);
  // A key prefix in the logging configuration, with other things beside its AWSLogs/.
  const kp = "team-a/AWSLogs/123456789012/BedrockModelInvocationLogs/eu-west-1";
  await s3.put(
    "keyprefix",
    `${kp}/2026/11/19/10/a.json.gz`,
    gzipSync(heavy("444444444444", "2026-11-19T10:00:00Z")),
  );
  await s3.put(
    "keyprefix",
    `${kp}/2026/11/10/10/old.json.gz`,
    gzipSync(heavy("444444444444", "2026-11-10T10:00:00Z")),
  );
  await s3.put(
    "keyprefix",
    "team-a/exports/task/000000",
    `2026-11-19T11:00:00.000Z ${heavy("444444444444", "2026-11-19T11:00:00Z")}\n`,
  );
  await s3.put("keyprefix", "team-a/direct.json", heavy("444444444444", "2026-11-19T12:00:00Z"));
  // Bedrock's layout: the window's day, the hour after it (late delivery), and a week before.
  await s3.put(
    BUCKET,
    `${REGION_DIR}/2026/11/19/10/20261119T1005Z_a.json.gz`,
    gzipSync(
      [heavy("123456789012", "2026-11-19T10:01:00Z"), heavy("123456789012", "2026-11-19T10:02:00Z")].join(
        "\n",
      ),
    ),
  );
  await s3.put(
    BUCKET,
    `${REGION_DIR}/2026/11/20/00/20261120T0003Z_b.json.gz`,
    gzipSync(heavy("123456789012", "2026-11-19T23:59:00Z")),
  );
  await s3.put(
    BUCKET,
    `${REGION_DIR}/2026/11/12/10/20261112T1000Z_old.json.gz`,
    gzipSync(heavy("123456789012", "2026-11-12T10:00:00Z")),
  );
  await s3.put(
    BUCKET,
    "AWSLogs/123456789012/BedrockModelInvocationLogs/amazon-bedrock-logs-permission-check",
    "",
  );
  // A CloudWatch export under a prefix of its own: listed whole, plain and gzip objects.
  await s3.put("plain", "exports/task-1/aws-logs-write-test", "Permission Check Successful");
  await s3.put(
    "plain",
    "exports/task-1/stream/000000.gz",
    gzipSync(`2026-11-19T11:00:00.000Z ${heavy("210987654321", "2026-11-19T11:00:00Z")}\n`),
  );
  await s3.put("plain", "exports/task-1/stream/000001", `${heavy("210987654321", "2026-11-19T12:00:00Z")}\n`);
  await s3.put("plain", "exports/broken.gz", gzipSync("x".repeat(1000)).subarray(0, 20));
  for (let i = 0; i < 12; i++) {
    await s3.put(
      "many",
      `batch/${String(i).padStart(2, "0")}.json`,
      heavy(`1000000000${String(i).padStart(2, "0")}`, "2026-11-19T09:00:00Z"),
    );
  }
});

afterAll(async () => {
  await s3.stop();
});

beforeEach(() => {
  s3.requests.length = 0;
});

describe("scan s3:// under Bedrock's layout", () => {
  it("lists only the window's hours (one either side) and reads the objects there, gzip included", async () => {
    const r = await run([
      "scan",
      "--format",
      "json",
      "--min-requests",
      "1",
      // No anomaly history: the window alone (the next test reads the week before it too).
      "--baseline-days",
      "0",
      ...DAY,
      `s3://${BUCKET}/AWSLogs/`,
    ]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toBe("");
    const report = JSON.parse(r.stdout) as Report;
    expect(report.findings).toEqual([
      expect.objectContaining({ accountId: "123456789012", requestCount: 3 }),
    ]);
    expect(report.stats).toMatchObject({ filesRead: 2, recordsRead: 3 });
    const hours = listed().filter((p) => /\/\d{4}\/\d\d\/\d\d\/\d\d\/$/.test(p));
    expect(hours).toHaveLength(26);
    expect(hours[0]).toBe(`${REGION_DIR}/2026/11/18/23/`);
    expect(hours.at(-1)).toBe(`${REGION_DIR}/2026/11/20/00/`);
    // Accounts and Regions were found a level at a time; nothing was listed whole.
    expect(listed().filter((p) => !hours.includes(p))).toEqual([
      "AWSLogs/",
      "AWSLogs/123456789012/BedrockModelInvocationLogs/",
    ]);
    expect(gets().some((g) => g.includes("2026/11/12"))).toBe(false);
  });

  it("with anomaly's baseline days, lists the days before the window too and reads them as history only", async () => {
    const r = await run([
      "scan",
      "--format",
      "json",
      "--min-requests",
      "1",
      ...DAY,
      `s3://${BUCKET}/AWSLogs/`,
    ]);
    expect(r.code, r.stderr).toBe(0);
    const report = JSON.parse(r.stdout) as Report & { history: { askedFrom: string; records: number } };
    // The same findings: the record of 2026-11-12 (seven days before) counts as history only.
    expect(report.findings).toEqual([
      expect.objectContaining({ accountId: "123456789012", requestCount: 3 }),
    ]);
    expect(report.stats).toMatchObject({ recordsRead: 4, recordsInWindow: 3, recordsInHistory: 1 });
    expect(report.history).toMatchObject({ askedFrom: "2026-11-12T00:00:00.000Z", records: 1 });
    expect(gets().some((g) => g.includes("2026/11/12"))).toBe(true);
    // From the hour before the history starts (one hour either side, as for the window), nothing older.
    expect(listed().filter((p) => p.includes("2026/11/11"))).toEqual([`${REGION_DIR}/2026/11/11/23/`]);
    expect(listed().some((p) => p.includes("2026/11/10"))).toBe(false);
  });

  it("a prefix that names a Region or a day narrows the listing the same way", async () => {
    const region = await run([
      "scan",
      "--format",
      "json",
      "--baseline-days",
      "0",
      ...DAY,
      `s3://${BUCKET}/${REGION_DIR}`,
    ]);
    expect(region.code, region.stderr).toBe(0);
    expect((JSON.parse(region.stdout) as Report).stats.recordsRead).toBe(3);
    s3.requests.length = 0;
    const day = await run(["scan", "--format", "json", ...DAY, `s3://${BUCKET}/${REGION_DIR}/2026/11/19/`]);
    expect(day.code, day.stderr).toBe(0);
    expect((JSON.parse(day.stdout) as Report).stats.recordsRead).toBe(2);
    expect(listed()).toHaveLength(24);
    expect(listed().every((p) => p.startsWith(`${REGION_DIR}/2026/11/19/`))).toBe(true);
  });

  it("the bucket root and a key prefix that holds AWSLogs/: hours there, the rest listed whole", async () => {
    const root = await run(["scan", "--format", "json", "--baseline-days", "0", ...DAY, `s3://${BUCKET}/`]);
    expect(root.code, root.stderr).toBe(0);
    expect((JSON.parse(root.stdout) as Report).stats.recordsRead).toBe(3);
    expect(gets().some((g) => g.includes("2026/11/12"))).toBe(false);
    s3.requests.length = 0;
    const kp = await run(["scan", "--format", "json", ...DAY, "s3://keyprefix/team-a/"]);
    expect(kp.code, kp.stderr).toBe(0);
    const report = JSON.parse(kp.stdout) as Report;
    expect(report.findings).toEqual([
      expect.objectContaining({ accountId: "444444444444", requestCount: 3 }),
    ]);
    expect(report.stats.filesRead).toBe(3);
    expect(gets().some((g) => g.includes("2026/11/10"))).toBe(false);
    expect(listed()).toContain("team-a/exports/");
  });

  it("a window with no objects in its hours is no records found: exit code 2", async () => {
    const r = await run(["scan", "--start", "2025-01-01", "--end", "2025-01-02", `s3://${BUCKET}/AWSLogs/`]);
    expect(r.code).toBe(2);
    expect(r.stderr.trim()).toMatch(
      /^error: no Bedrock invocation records found in s3:\/\/bedrock-logs\/AWSLogs\//,
    );
    expect(r.stderr.trim().split("\n")).toHaveLength(1);
  });
});

describe("scan s3:// elsewhere", () => {
  it("lists the prefix whole, skips permission-test objects, names a broken object and reads the rest", async () => {
    const r = await run(["scan", "--format", "json", ...DAY, "s3://plain/exports/"]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(
      /^error: s3:\/\/plain\/exports\/broken\.gz: (not a valid|truncated or damaged) gzip file.* \(after line \d+; the lines before it were read\)$/m,
    );
    const report = JSON.parse(r.stdout) as Report;
    expect(report.findings).toEqual([
      expect.objectContaining({ accountId: "210987654321", requestCount: 2 }),
    ]);
    // The broken object counts: it was read up to the break (a line of x's, reported as malformed).
    expect(report.stats.filesRead).toBe(3);
    expect(gets().some((g) => g.includes("aws-logs-write-test"))).toBe(false);
  });

  it("reads objects in parallel", async () => {
    const gate = s3.holdReads(4);
    const r = await run(["scan", "--format", "json", "--min-requests", "1", ...DAY, "s3://many/batch/"]);
    expect(r.code, r.stderr).toBe(0);
    expect(gate.opened()).toBe("full");
    expect((JSON.parse(r.stdout) as Report).findings).toHaveLength(12);
  });

  it("S3 and local copies of the same records count once", async () => {
    const dir = mkdtempSync(join(tmpdir(), "bdd-s3-local-"));
    const local = join(dir, "copy.json");
    const body = [
      heavy("333333333333", "2026-11-19T10:00:00Z"),
      heavy("333333333333", "2026-11-19T10:00:01Z"),
    ];
    await s3.put("plain", "copies/batch.json", body.join("\n"));
    const { writeFileSync } = await import("node:fs");
    writeFileSync(local, body.join("\n"));
    const r = await run(["scan", "--format", "json", ...DAY, "s3://plain/copies/", local]);
    expect(r.code, r.stderr).toBe(0);
    const report = JSON.parse(r.stdout) as Report;
    expect(report.findings).toEqual([
      expect.objectContaining({ accountId: "333333333333", requestCount: 2 }),
    ]);
    expect(report.stats.duplicates).toBe(2);
  });
});

describe("S3 errors: one line, exit code 2, no stack trace", () => {
  it.each([
    [
      "a missing bucket",
      ["s3://no-such-bucket/AWSLogs/"],
      {},
      /^error: s3:\/\/no-such-bucket\/AWSLogs\/: no such bucket$/,
    ],
    [
      "credentials S3 refuses",
      [`s3://${BUCKET}/AWSLogs/`],
      { AWS_ACCESS_KEY_ID: "AKIAWRONG", AWS_SECRET_ACCESS_KEY: "wrong" },
      /^error: s3:\/\/bedrock-logs\/AWSLogs\/: access denied \(InvalidAccessKeyId\)/,
    ],
    [
      "no credentials at all",
      [`s3://${BUCKET}/AWSLogs/`],
      { AWS_ACCESS_KEY_ID: undefined, AWS_SECRET_ACCESS_KEY: undefined },
      /: no AWS credentials found \(set AWS_PROFILE/,
    ],
    [
      "an endpoint nobody listens on",
      [`s3://${BUCKET}/x/`],
      { AWS_ENDPOINT_URL_S3: "http://127.0.0.1:9", AWS_MAX_ATTEMPTS: "1" },
      /^error: s3:\/\/bedrock-logs\/x\/: cannot reach S3 \(ECONNREFUSED\)$/,
    ],
    [
      "no Region",
      [`s3://${BUCKET}/x/`],
      { AWS_REGION: undefined },
      /: no AWS region configured \(set AWS_REGION\)$/,
    ],
    [
      "no bucket in the URL",
      ["s3://"],
      {},
      /^error: s3:\/\/: not an S3 location like s3:\/\/bucket\/prefix\/$/,
    ],
  ])("%s", async (_, paths, env, message) => {
    const r = await run(["scan", ...DAY, ...paths], s3.env(env));
    expect(r.code).toBe(2);
    expect(r.stdout).toBe("");
    expect(r.stderr.trim().split("\n"), r.stderr).toHaveLength(1);
    expect(r.stderr.trim()).toMatch(message);
  });
});

describe("the AWS SDK is loaded only for s3:// paths", () => {
  it("the bundle scans local files without it, and says in one line what s3:// needs", async () => {
    // A copy of the bundle (its chunks too) where no node_modules can be found: a static import of the SDK would
    // fail at start.
    const dir = mkdtempSync(join(tmpdir(), "bdd-nosdk-"));
    for (const f of readdirSync(dirname(CLI)))
      if (f.endsWith(".mjs")) cpSync(join(dirname(CLI), f), join(dir, f));
    const file = join(dir, "a.json");
    const { writeFileSync } = await import("node:fs");
    writeFileSync(file, heavy("123456789012", "2026-11-19T10:00:00Z"));
    const local = await run(["scan", "--format", "json", ...DAY, file], s3.env(), join(dir, "cli.mjs"));
    expect(local.code, local.stderr).toBe(0);
    const remote = await run(["scan", ...DAY, "s3://plain/exports/"], s3.env(), join(dir, "cli.mjs"));
    expect(remote.code).toBe(2);
    expect(remote.stderr.trim()).toBe(
      "error: s3:// paths need the AWS SDK: @aws-sdk/client-s3 is not installed (npm install)",
    );
  });
});
