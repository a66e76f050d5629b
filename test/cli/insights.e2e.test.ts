/**
 * `insights`: the real CLI process (dist/cli.mjs) against CloudWatch Logs over real HTTP on loopback
 * (test/helpers/loopback-aws.ts, Logs Insights answered by interpreting the query text), with the SDK's
 * default credential chain and endpoint taken from the environment, as on a user's machine.
 */
import { spawn } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { afterEach, describe, expect, it } from "vitest";
import type { Finding } from "../../core/finding.js";
import { type InvocationRecord, readRecord } from "../../core/record-reader.js";
import { DAY, detectionCorpus } from "../helpers/detection-cases.js";
import { type LoopbackAws, type LoopbackOptions, startLoopbackAws } from "../helpers/loopback-aws.js";

const CLI = "dist/cli.mjs";
const GROUP = "/aws/bedrock/model-invocations";
const corpus = detectionCorpus();
const records: InvocationRecord[] = corpus.flatMap((l) => {
  const r = readRecord(l);
  return r.ok ? [r.record] : [];
});
const WINDOW = ["--start", new Date(DAY.startMs).toISOString(), "--end", new Date(DAY.endMs).toISOString()];

let aws: LoopbackAws | undefined;
afterEach(async () => {
  await aws?.close();
  aws = undefined;
});

/** The CLI in a child process (asynchronous: the loopback server answers from this process). */
function run(args: string[], endpoint: string, whileRunning?: (interrupt: () => void) => void) {
  const env = {
    PATH: process.env.PATH,
    HOME: mkdtempSync(join(tmpdir(), "bdd-home-")),
    AWS_REGION: "us-east-1",
    AWS_ACCESS_KEY_ID: "test",
    AWS_SECRET_ACCESS_KEY: "test",
    AWS_ENDPOINT_URL_CLOUDWATCH_LOGS: endpoint,
    AWS_MAX_ATTEMPTS: "1",
  };
  return new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
    const child = spawn(process.execPath, [CLI, "insights", ...args], {
      env,
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d: Buffer) => {
      stdout += d.toString();
    });
    child.stderr.on("data", (d: Buffer) => {
      stderr += d.toString();
    });
    const watch = whileRunning && setInterval(() => whileRunning(() => child.kill("SIGINT")), 20);
    child.on("close", (code) => {
      clearInterval(watch);
      resolve({ code, stdout, stderr });
    });
  });
}

async function loopback(options: LoopbackOptions = {}) {
  aws = await startLoopbackAws(records, { logGroups: [{ name: GROUP, storedBytes: 2_000_000 }], ...options });
  return aws;
}

describe("insights, the real CLI process over loopback HTTP", () => {
  it("hunts a day: the scanner's findings, the cost said before and after", async () => {
    const server = await loopback();
    const r = await run([...WINDOW, "--format", "json", "--concurrency", "8", GROUP], server.url);
    expect(r.code, r.stderr).toBe(0);
    expect(server.unexpected).toEqual([]);
    const report = JSON.parse(r.stdout) as { findings: Finding[]; source: { queries: number } };
    // The detection cases: the flood and the cached-prompt leak (test/e2e/detections.e2e.test.ts).
    expect(report.findings.map((f) => [f.accountId, f.detections])).toEqual([
      ["777788889999", ["token-volume", "anomaly"]],
      ["444455556666", ["cached-input"]],
    ]);
    expect(report.source.queries).toBe(8);
    expect(server.queries).toHaveLength(8);
    // What the scanner finds in the same records, as a file.
    const dir = mkdtempSync(join(tmpdir(), "bdd-insights-e2e-"));
    writeFileSync(join(dir, "day.json.gz"), gzipSync(`${corpus.join("\n")}\n`));
    const scanned = await new Promise<string>((resolve) => {
      const child = spawn(process.execPath, [CLI, "scan", ...WINDOW, "--format", "json", dir], {
        stdio: ["ignore", "pipe", "inherit"],
      });
      let out = "";
      child.stdout.on("data", (d: Buffer) => {
        out += d.toString();
      });
      child.on("close", () => resolve(out));
    });
    expect(report.findings).toEqual((JSON.parse(scanned) as { findings: Finding[] }).findings);
    expect(r.stderr).toBe(
      "CloudWatch Logs Insights over 1 log group(s) holding 1.91 MB: scanning all of it costs at most 0.0000 USD (0.005 USD per GB scanned)\n" +
        "Querying 8 days (1 in the window, 7 of anomaly's history), 8 at a time\n" +
        "8 queries run, 8 bytes scanned, 0.0000 USD\n",
    );
  }, 60_000);

  it("a log group that does not exist: one line, exit 2, no query", async () => {
    const server = await loopback();
    const r = await run([...WINDOW, "/aws/missing", GROUP], server.url);
    expect(r.code).toBe(2);
    expect(r.stderr).toBe("error: log group not found: /aws/missing (check the name and --region)\n");
    expect(r.stdout).toBe("");
    expect(server.queries).toEqual([]);
  }, 60_000);

  it("CloudWatch Logs out of reach: one line, exit 2", async () => {
    const r = await run([...WINDOW, GROUP], "http://127.0.0.1:9");
    expect(r.code).toBe(2);
    expect(r.stderr).toBe("error: CloudWatch Logs: cannot reach CloudWatch Logs (ECONNREFUSED)\n");
  }, 60_000);

  it("Ctrl-C stops the running queries and exits 130 with one line", async () => {
    const server = await loopback({ queriesNeverEnd: true });
    let sent = false;
    const r = await run([...WINDOW, "--concurrency", "3", GROUP], server.url, (interrupt) => {
      // Interrupted once three queries are running (they never end here).
      if (!sent && server.queries.length === 3) {
        sent = true;
        interrupt();
      }
    });
    expect(r.code).toBe(130);
    expect(r.stderr.split("\n").at(-2)).toBe(
      "error: interrupted after 0 of 8 days: 3 running queries stopped",
    );
    expect(server.stopped.sort()).toEqual(["q-1", "q-2", "q-3"]);
  }, 60_000);
});
