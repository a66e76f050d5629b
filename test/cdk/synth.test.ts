/**
 * The repository's real synth: `npx cdk synth` as a fresh clone would run it, offline (Docker made
 * unavailable), deploying the handlers scripts/build.mjs bundled, with cdk-nag running as a validation plugin.
 */
import { spawn, spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { afterAll, describe, expect, it } from "vitest";
import { ENV } from "../../config/environment.js";
import { DEFAULT_RULE } from "../../config/rule-settings.js";
import { RuleEvaluator } from "../../core/record-evaluator.js";
import { readRecord } from "../../core/record-reader.js";
import { lambdaContext, TOPIC } from "../helpers/aws.js";
import { CASES, detectionCorpus, FLOOD_ARN } from "../helpers/detection-cases.js";
import { startLoopbackAws } from "../helpers/loopback-aws.js";
import { offlineEnv, REPO_ROOT } from "./helpers.js";

/** The manual run the bundle is invoked with (lambda/run-request.ts). */
const MANUAL_RUN = { start: "2026-11-19T00:00:00Z", end: "2026-11-20T00:00:00Z", dryRun: false } as const;
/** Marks the child's result line among Powertools' log lines on stdout. */
const RESULT_MARK = "@@handler-result@@ ";

/**
 * The detector function's environment as synthesized, made concrete: CloudFormation intrinsics replaced by test
 * values (no state table: the run queries its whole window), plus what Lambda provides (region, credentials)
 * and the SDK's endpoint variables pointing every client at the loopback server.
 */
function functionEnv(variables: Record<string, unknown>, endpoint: string): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH,
    AWS_EC2_METADATA_DISABLED: "true",
    AWS_CONFIG_FILE: "/nonexistent/aws-config",
    AWS_SHARED_CREDENTIALS_FILE: "/nonexistent/aws-credentials",
  };
  for (const [key, value] of Object.entries(variables)) {
    if (key === ENV.stateTable) continue;
    if (typeof value === "string") env[key] = value;
    else if (key === ENV.alertTopicArn) env[key] = TOPIC;
    else if (key === ENV.eventBusName) env[key] = "default";
    // Any other intrinsic: left out.
  }
  return {
    ...env,
    AWS_REGION: "us-east-1",
    AWS_LAMBDA_INITIALIZATION_TYPE: "on-demand",
    AWS_ACCESS_KEY_ID: "test",
    AWS_SECRET_ACCESS_KEY: "test",
    AWS_ENDPOINT_URL: endpoint,
    AWS_ENDPOINT_URL_CLOUDWATCH_LOGS: endpoint,
    AWS_ENDPOINT_URL_SNS: endpoint,
    AWS_ENDPOINT_URL_EVENTBRIDGE: endpoint,
  };
}

/**
 * Invokes the bundle's handler in a child node process (asynchronously: the loopback server answers from this
 * process's event loop) with the manual run and a Lambda context; the result is the handler's return value.
 */
function runBundle(
  dir: string,
  env: NodeJS.ProcessEnv,
): Promise<{ code: number | null; stdout: string; stderr: string; result: unknown }> {
  const script = [
    "const [bundle, event, context, mark] = process.argv.slice(1);",
    "const { handler } = await import(bundle);",
    "const ctx = { ...JSON.parse(context), getRemainingTimeInMillis: () => 300000,",
    "  done: () => undefined, fail: () => undefined, succeed: () => undefined };",
    "try {",
    "  const result = await handler(JSON.parse(event), ctx);",
    "  process.stdout.write('\\n' + mark + JSON.stringify(result) + '\\n', () => process.exit(0));",
    "} catch (err) {",
    "  process.stderr.write('handler failed: ' + (err?.stack ?? err) + '\\n', () => process.exit(1));",
    "}",
  ].join("\n");
  const args = [
    "--input-type=module",
    "-e",
    script,
    pathToFileURL(join(dir, "index.mjs")).href,
    JSON.stringify(MANUAL_RUN),
    JSON.stringify(lambdaContext()),
    RESULT_MARK,
  ];
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, { env, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (c: Buffer) => {
      stdout += c.toString("utf8");
    });
    child.stderr.on("data", (c: Buffer) => {
      stderr += c.toString("utf8");
    });
    const timer = setTimeout(() => child.kill("SIGKILL"), 30_000);
    child.on("error", reject);
    child.on("close", (code) => {
      clearTimeout(timer);
      const line = stdout.split("\n").find((l) => l.startsWith(RESULT_MARK));
      const result: unknown = line === undefined ? undefined : JSON.parse(line.slice(RESULT_MARK.length));
      resolve({ code, stdout, stderr, result });
    });
  });
}

describe("cdk synth", () => {
  const out = mkdtempSync(join(tmpdir(), "bedrock-dos-synth-"));
  afterAll(() => rmSync(out, { recursive: true, force: true }));
  /** The detector function's asset folder (`asset.<hash>`, holding `index.mjs`), set by the synth test. */
  let bundleDir: string | undefined;

  it("synthesizes offline with the prebuilt handler bundles (no Docker) and no cdk-nag findings", {
    timeout: 180_000,
  }, () => {
    const run = spawnSync(
      "npx",
      ["cdk", "synth", "--no-notices", "--no-version-reporting", "--quiet", "-o", out],
      {
        cwd: REPO_ROOT,
        env: offlineEnv(),
        encoding: "utf8",
        timeout: 170_000,
      },
    );
    expect(run.status, `${run.stdout}\n${run.stderr}`).toBe(0);

    const template = JSON.parse(readFileSync(join(out, "BedrockDosDetector.template.json"), "utf8")) as {
      Resources: Record<
        string,
        { Type: string; Properties: { Handler?: string; Code?: { S3Key?: unknown } } }
      >;
    };
    const fn = Object.values(template.Resources).find(
      (r) =>
        r.Type === "AWS::Lambda::Function" &&
        r.Properties.Handler === "index.handler" &&
        JSON.stringify(r.Properties).includes("POWERTOOLS_SERVICE_NAME"),
    );
    const key = String(fn?.Properties.Code?.S3Key);
    expect(key).toMatch(/^[0-9a-f]{64}\.zip$/);
    const asset = join(out, `asset.${key.replace(/\.zip$/, "")}`);
    const bundle = join(asset, "index.mjs");
    expect(existsSync(bundle)).toBe(true);
    expect(existsSync(join(asset, "index.mjs.map"))).toBe(true);
    bundleDir = asset;

    const code = readFileSync(bundle, "utf8");
    // Minified ESM with a require() shim and a source map reference; the SDK is bundled, not external.
    expect(code.length / code.split("\n").length).toBeGreaterThan(1000); // minified: long lines
    expect(code).toContain("createRequire");
    expect(code).toContain("sourceMappingURL=index.mjs.map");
    expect(code).not.toMatch(/from\s*"@aws-sdk\//);
    expect(statSync(bundle).size).toBeLessThan(5_000_000);

    const report = JSON.parse(readFileSync(join(out, "validation-report.json"), "utf8")) as {
      pluginReports: { summary?: { status?: string }; violations?: unknown[] }[];
    };
    for (const plugin of report.pluginReports) expect(plugin.violations ?? []).toEqual([]);
  });

  it("the shipped bundle flags the cached-prompt leak and the flood over loopback HTTP", {
    timeout: 60_000,
  }, async () => {
    if (bundleDir === undefined) throw new Error("the synth test did not produce the detector's bundle");
    const template = JSON.parse(readFileSync(join(out, "BedrockDosDetector.template.json"), "utf8")) as {
      Resources: Record<
        string,
        {
          Type: string;
          Properties: { Handler?: string; Environment?: { Variables?: Record<string, unknown> } };
        }
      >;
    };
    const fn = Object.values(template.Resources).find(
      (r) =>
        r.Type === "AWS::Lambda::Function" &&
        r.Properties.Handler === "index.handler" &&
        JSON.stringify(r.Properties).includes("POWERTOOLS_SERVICE_NAME"),
    );
    const variables = fn?.Properties.Environment?.Variables ?? {};

    const corpus = detectionCorpus();
    expect(corpus.some((l) => l.includes("Summarise this ticket"))).toBe(true);
    const records = corpus.flatMap((l) => {
      const r = readRecord(l);
      return r.ok ? [r.record] : [];
    });
    const window = { startMs: Date.parse(MANUAL_RUN.start), endMs: Date.parse(MANUAL_RUN.end) };
    const engine = new RuleEvaluator(DEFAULT_RULE, window);
    for (const r of records) engine.add(r);
    const expected = engine.findings().map((f) => f.accountId);
    expect([...expected].sort()).toEqual([CASES.cachedLeak, CASES.flood].sort());

    const aws = await startLoopbackAws(records);
    try {
      const run = await runBundle(bundleDir, functionEnv(variables, aws.url));
      const detail = `exit ${run.code}\n${run.stdout.slice(-4000)}\n${run.stderr.slice(-4000)}`;
      expect(aws.unexpected, detail).toEqual([]);
      expect(run.code, detail).toBe(0);
      expect(aws.queries.length, detail).toBeGreaterThan(0);

      const summary = run.result as { findings?: unknown; accounts?: unknown; alertsPublished?: unknown };
      expect(summary.findings).toBe(2);
      expect(summary.accounts).toEqual(expected);
      expect(summary.alertsPublished).toBe(2);

      expect(aws.published).toHaveLength(2);
      const alerts = aws.published.map((p) => {
        expect(p.topicArn).toBe(TOPIC);
        expect(p.messageStructure).toBe("json");
        const message = JSON.parse(p.message) as { default: string; email: string };
        const chat = JSON.parse(message.default) as { version?: unknown; source?: unknown };
        expect(chat.version).toBe("1.0");
        expect(chat.source).toBe("custom");
        return { email: message.email };
      });
      const emailFor = (account: string) => {
        const found = alerts.filter((a) => a.email.includes(`account ${account}`));
        expect(found).toHaveLength(1);
        return found[0]?.email ?? "";
      };
      const leak = emailFor(CASES.cachedLeak);
      expect(leak).toContain("cached-input");
      expect(leak).toContain("1.08 M cached prompt tokens");
      const flood = emailFor(CASES.flood);
      expect(flood).toContain("token-volume");
      expect(flood).toContain("47.4 M tokens in one hour");
      expect(flood).toContain(FLOOD_ARN);

      expect(aws.events).toHaveLength(2);
      expect(aws.events.map((e) => e.EventBusName)).toEqual(["default", "default"]);
      const detections = Object.fromEntries(
        aws.events.map((e) => {
          const d = JSON.parse(e.Detail ?? "{}") as {
            finding?: { accountId?: string; detections?: string[] };
          };
          return [d.finding?.accountId ?? "", d.finding?.detections ?? []];
        }),
      );
      expect(detections[CASES.cachedLeak]).toContain("cached-input");
      expect(detections[CASES.flood]).toContain("token-volume");

      // Prompt text from the corpus bodies never leaves.
      const sent = [
        ...aws.published.map((p) => `${p.subject}\n${p.message}`),
        ...aws.events.map((e) => e.Detail),
      ];
      for (const text of sent) expect(text).not.toContain("Summarise this ticket");
    } finally {
      await aws.close();
    }
  });

  it("stops with one line naming the key for bad context", { timeout: 60_000 }, () => {
    const run = spawnSync("npx", ["tsx", "bin/app.ts"], {
      cwd: REPO_ROOT,
      env: offlineEnv({
        CDK_OUTDIR: mkdtempSync(join(tmpdir(), "bedrock-dos-bad-")),
        CDK_CONTEXT_JSON: JSON.stringify({ "bedrockDosDetector:schedule": "every hour" }),
      }),
      encoding: "utf8",
      timeout: 50_000,
    });
    expect(run.status).toBe(1);
    expect(run.stderr.trim()).toBe(
      'error: bedrockDosDetector:schedule is not a duration like 90m, 24h or 7d: "every hour"',
    );
  });
});
