/** The post-deploy smoke test script: it must skip cleanly where there are no AWS credentials. */
import { spawnSync } from "node:child_process";
import { describe, expect, it } from "vitest";
import { offlineEnv, REPO_ROOT } from "./helpers.js";

function smoke(...args: string[]) {
  return spawnSync("npx", ["tsx", "scripts/smoke.ts", ...args], {
    cwd: REPO_ROOT,
    env: offlineEnv({ AWS_REGION: "us-east-1" }),
    encoding: "utf8",
    timeout: 50_000,
  });
}

describe("npm run smoke", () => {
  it("skips with exit 0 and a clear message without AWS credentials", { timeout: 60_000 }, () => {
    const run = smoke();
    expect(run.status, run.stderr).toBe(0);
    expect(run.stdout).toMatch(/^smoke: skipped: no AWS credentials/m);
  });

  it("rejects bad options with exit 2 before looking for credentials", { timeout: 60_000 }, () => {
    const run = smoke("--wait-minutes", "0");
    expect(run.status).toBe(2);
    expect(run.stderr).toContain("--wait-minutes must be a whole number from 1 to 60");
  });
});
