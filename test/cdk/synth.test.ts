/**
 * The one real synth: `npx cdk synth` as a fresh clone would run it, offline, bundling the handler with the
 * locally installed esbuild (Docker made unavailable), with cdk-nag running as a validation plugin.
 */
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { offlineEnv, REPO_ROOT } from "./helpers.js";

describe("cdk synth", () => {
  const out = mkdtempSync(join(tmpdir(), "bedrock-dos-synth-"));
  afterAll(() => rmSync(out, { recursive: true, force: true }));

  it("synthesizes offline with local esbuild bundling and no cdk-nag findings", { timeout: 180_000 }, () => {
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
