/**
 * The package as a CDK user installs it: `npm pack`, the tarball installed into a throw-away app next to
 * aws-cdk-lib and constructs (its peer dependencies), then a CommonJS app and an ES module app that import the
 * construct from the package root, type-check with the project's TypeScript, and `cdk synth` offline with
 * Docker unavailable: the handlers ship prebuilt inside the package.
 */
import { execFileSync, spawnSync } from "node:child_process";
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { offlineEnv, REPO_ROOT } from "../cdk/helpers.js";

const TSC = join(REPO_ROOT, "node_modules/typescript/bin/tsc");
const CDK = join(REPO_ROOT, "node_modules/aws-cdk/bin/cdk");
const installedVersion = (name: string): string =>
  (
    JSON.parse(readFileSync(join(REPO_ROOT, "node_modules", name, "package.json"), "utf8")) as {
      version: string;
    }
  ).version;

/**
 * A consumer's app: a detector with a few props, the archive construct beside it, and a bad prop caught as the
 * package's one error type.
 */
const APP_SOURCE = `import { App, Duration, Stack } from "aws-cdk-lib";
import {
  BedrockDosDetector,
  type BedrockDosDetectorProps,
  BedrockInvocationArchive,
  ConstructError,
} from "bedrock-dos-detector";

const app = new App();
const stack = new Stack(app, "ConsumerStack", { env: { account: "111122223333", region: "us-east-1" } });
const props: BedrockDosDetectorProps = {
  alertEmails: ["security@example.com"],
  schedule: Duration.minutes(30),
  thresholds: { promptTokens: 16000 },
};
const detector = new BedrockDosDetector(stack, "Detector", props);
console.log("function runtime:", detector.function.runtime.name);
console.log("default log group:", BedrockDosDetector.DEFAULT_INVOCATION_LOG_GROUP_NAME);
const archive = new BedrockInvocationArchive(stack, "Archive", { bucketName: "org-bedrock-archive" });
console.log("archive workgroup:", archive.workGroupName);

try {
  new BedrockDosDetector(new Stack(new App(), "Other"), "Bad", { minRequests: 0 });
} catch (err) {
  if (!(err instanceof ConstructError)) throw err;
  console.log("rejected:", err.settings.join(","));
}
`;

const TSCONFIG = {
  compilerOptions: {
    target: "ES2022",
    module: "NodeNext",
    moduleResolution: "NodeNext",
    lib: ["ES2022"],
    strict: true,
    types: ["node"],
    outDir: "build",
  },
  include: ["app.ts"],
};

describe("the packed package in a fresh CDK app", () => {
  const work = mkdtempSync(join(tmpdir(), "bedrock-dos-packed-"));
  afterAll(() => rmSync(work, { recursive: true, force: true }));

  beforeAll(() => {
    // dist/ is what the package's prepare script builds; the global setup built it once for every test (a
    // second build here would rewrite files that other tests are reading).
    const packed = execFileSync("npm", ["pack", "--ignore-scripts", "--pack-destination", work, "--json"], {
      cwd: REPO_ROOT,
      encoding: "utf8",
      stdio: ["ignore", "pipe", "inherit"],
    });
    const [{ filename }] = JSON.parse(packed.slice(packed.indexOf("["))) as [{ filename: string }];
    writeFileSync(
      join(work, "package.json"),
      JSON.stringify({
        private: true,
        dependencies: {
          "bedrock-dos-detector": `file:./${filename}`,
          "aws-cdk-lib": installedVersion("aws-cdk-lib"),
          constructs: installedVersion("constructs"),
          "@types/node": installedVersion("@types/node"),
        },
      }),
    );
    execFileSync("npm", ["install", "--no-audit", "--no-fund", "--prefer-offline", "--ignore-scripts"], {
      cwd: work,
      stdio: ["ignore", "ignore", "inherit"],
    });
  }, 300_000);

  it("ships compiled code, declarations and the bundled handlers, not the sources", () => {
    const pkg = join(work, "node_modules/bedrock-dos-detector");
    for (const file of [
      "dist/lib/index.mjs",
      "dist/lib/index.cjs",
      "dist/types/lib/index.d.ts",
      "dist/types-cjs/lib/index.d.ts",
      "dist/assets/detector/index.mjs",
      "dist/assets/tamper-alert/index.mjs",
      "dist/cli.mjs",
    ]) {
      expect(existsSync(join(pkg, file)), file).toBe(true);
    }
    expect(existsSync(join(pkg, "lib"))).toBe(false);
    expect(existsSync(join(pkg, "lambda"))).toBe(false);
    // One construct tree: the app's aws-cdk-lib, not a copy of the package's own.
    expect(existsSync(join(pkg, "node_modules/aws-cdk-lib"))).toBe(false);
    expect(existsSync(join(work, "node_modules/esbuild"))).toBe(false);
  });

  it.each([
    ["a CommonJS", "commonjs"],
    ["an ES module", "module"],
  ])("%s app type-checks and synthesizes offline without Docker", (_, type) => {
    const app = join(work, type);
    mkdirSync(app);
    writeFileSync(join(app, "package.json"), JSON.stringify({ private: true, type }));
    writeFileSync(join(app, "tsconfig.json"), JSON.stringify(TSCONFIG));
    writeFileSync(join(app, "app.ts"), APP_SOURCE);

    const tsc = spawnSync(process.execPath, [TSC, "-p", "."], { cwd: app, encoding: "utf8" });
    expect(tsc.status, tsc.stdout + tsc.stderr).toBe(0);
    const emitted = readFileSync(join(app, "build/app.js"), "utf8");
    expect(emitted).toContain(
      type === "module" ? 'from "bedrock-dos-detector"' : 'require("bedrock-dos-detector")',
    );

    const synth = spawnSync(
      process.execPath,
      [CDK, "synth", "--app", "node build/app.js", "-o", "cdk.out", "--no-notices", "--no-version-reporting"],
      // No docker on PATH either: nothing may try to bundle.
      {
        cwd: app,
        encoding: "utf8",
        env: offlineEnv({ PATH: `${join(process.execPath, "..")}:/usr/bin:/bin` }),
      },
    );
    expect(synth.status, synth.stdout + synth.stderr).toBe(0);
    expect(synth.stdout + synth.stderr).toContain("function runtime: nodejs24.x");
    expect(synth.stdout + synth.stderr).toContain("rejected: minRequests");
    expect(synth.stdout + synth.stderr).toContain("default log group: /aws/bedrock/model-invocations");
    expect(synth.stdout + synth.stderr).toContain("archive workgroup: bedrock-invocation-archive");

    const template = JSON.parse(readFileSync(join(app, "cdk.out/ConsumerStack.template.json"), "utf8")) as {
      Resources: Record<string, { Type: string; Properties: Record<string, unknown> }>;
    };
    const functions = Object.values(template.Resources).filter((r) => r.Type === "AWS::Lambda::Function");
    expect(functions.map((f) => f.Properties.Runtime)).toEqual(["nodejs24.x", "nodejs24.x"]);
    expect(JSON.stringify(template)).toContain("cron(5/30 * * * ? *)");
    expect(Object.values(template.Resources).filter((r) => r.Type === "AWS::Athena::WorkGroup")).toHaveLength(
      1,
    );
    // Each function's asset is the handler bundle the package ships.
    const assets = readdirSync(join(app, "cdk.out")).filter((f) => f.startsWith("asset."));
    expect(assets.length).toBeGreaterThanOrEqual(2);
    for (const asset of assets.filter((a) => existsSync(join(app, "cdk.out", a, "index.mjs")))) {
      expect(readFileSync(join(app, "cdk.out", asset, "index.mjs"), "utf8")).toMatch(/export\s*\{/);
    }
  });
});
