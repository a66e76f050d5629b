// Builds what the package ships, into dist/ (`node scripts/build.mjs [cli] [assets] [lib] [types]`, all by default):
// - cli:    the scanner as one ES module (dist/cli.mjs, the package's `bin`) and its worker;
// - assets: each Lambda handler bundled with its dependencies (dist/assets/<name>/index.mjs), so that a CDK
//           app using the construct needs neither esbuild, Docker nor a lock file;
// - lib:    the construct library as one ES module and one CommonJS file (dist/lib/index.{mjs,cjs});
// - types:  its declarations (dist/types, and dist/types-cjs marked CommonJS for `require` consumers).
import { execFileSync } from "node:child_process";
import { cpSync, mkdirSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";

const root = fileURLToPath(new URL("..", import.meta.url));
process.chdir(root);

/** The Lambda functions the construct deploys, by asset folder (lib/lambda-assets.ts names them). */
const LAMBDA_HANDLERS = { detector: "lambda/handler.ts", "tamper-alert": "lambda/tamper-handler.ts" };

// CommonJS dependencies call require(); an ES module bundle must give them one.
const ESM_REQUIRE =
  "import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);";

const targets = {
  async cli() {
    // The CLI's files are dist/'s top level (chunk names change with their contents): an earlier build's
    // chunks would otherwise be packed too.
    for (const entry of readdirSync("dist", { withFileTypes: true }))
      if (entry.isFile()) rmSync(`dist/${entry.name}`);
    await build({
      // The parallel scanner's worker is found next to the bundle (cli/parallel-scan.ts).
      entryPoints: [
        { in: "cli/bin.ts", out: "cli" },
        { in: "cli/scan-worker.ts", out: "scan-worker" },
      ],
      outdir: "dist",
      outExtension: { ".js": ".mjs" },
      // Commands that load an AWS SDK (insights, athena) are chunks of their own, read only when they run: the
      // scanner's start-up does not parse them.
      splitting: true,
      // Next to the entry points: the parallel scanner finds its worker script beside its own module.
      chunkNames: "[name]-[hash]",
      bundle: true,
      platform: "node",
      target: "node20",
      format: "esm",
      sourcemap: "linked",
      banner: { js: `#!/usr/bin/env node\n${ESM_REQUIRE}` },
      // Loaded from node_modules only when an s3:// path is scanned: bundled, every start would parse it.
      external: ["@aws-sdk/client-s3"],
      logLevel: "warning",
    });
  },

  async assets() {
    rmSync("dist/assets", { recursive: true, force: true });
    for (const [name, entry] of Object.entries(LAMBDA_HANDLERS)) {
      await build({
        entryPoints: [entry],
        outfile: `dist/assets/${name}/index.mjs`,
        bundle: true,
        platform: "node",
        target: "node24",
        format: "esm",
        mainFields: ["module", "main"],
        minify: true,
        sourcemap: "linked",
        sourcesContent: false,
        // The SDK is bundled too: it pins the version tested here instead of the runtime's.
        banner: { js: ESM_REQUIRE },
        logLevel: "warning",
      });
    }
  },

  async lib() {
    rmSync("dist/lib", { recursive: true, force: true });
    const common = {
      entryPoints: ["lib/index.ts"],
      bundle: true,
      platform: "node",
      target: "node20",
      // One construct tree: the consumer's aws-cdk-lib and constructs (peer dependencies).
      // zod is a dependency: the declarations refer to its types.
      external: ["aws-cdk-lib", "aws-cdk-lib/*", "constructs", "zod"],
      logLevel: "warning",
    };
    await build({ ...common, format: "esm", outfile: "dist/lib/index.mjs" });
    await build({
      ...common,
      format: "cjs",
      outfile: "dist/lib/index.cjs",
      // lib/lambda-assets.ts finds the assets relative to its own file.
      define: { "import.meta.url": "__bddModuleUrl" },
      banner: { js: 'const __bddModuleUrl = require("node:url").pathToFileURL(__filename).href;' },
    });
  },

  async types() {
    rmSync("dist/types", { recursive: true, force: true });
    rmSync("dist/types-cjs", { recursive: true, force: true });
    const tsc = fileURLToPath(new URL("../node_modules/typescript/bin/tsc", import.meta.url));
    execFileSync(process.execPath, [tsc, "-p", "tsconfig.lib.json"], { stdio: "inherit" });
    // The same declarations, read as CommonJS by `require` consumers (the package itself is "type": "module").
    cpSync("dist/types", "dist/types-cjs", { recursive: true });
    writeFileSync("dist/types-cjs/package.json", `${JSON.stringify({ type: "commonjs" })}\n`);
  },
};

const asked = process.argv.slice(2);
const unknown = asked.filter((t) => !(t in targets));
if (unknown.length > 0) {
  console.error(`unknown build target ${unknown.join(", ")}; targets: ${Object.keys(targets).join(", ")}`);
  process.exit(2);
}
mkdirSync("dist", { recursive: true });
for (const name of asked.length > 0 ? asked : Object.keys(targets)) await targets[name]();
