/** The folders' contracts, checked on the import graph: pure modules stay pure, synth loads no AWS SDK. */
import { readdirSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { describe, expect, it } from "vitest";
import { REPO_ROOT } from "./cdk/helpers.js";

/** Every package a module reaches through its relative imports (type-only imports excluded). */
function packagesReachedFrom(entry: string): Set<string> {
  const seen = new Set<string>();
  const packages = new Set<string>();
  const visit = (file: string) => {
    if (seen.has(file)) return;
    seen.add(file);
    const text = readFileSync(file, "utf8");
    for (const m of text.matchAll(/^import\s+(type\s+)?[^;]*?from\s+"([^"]+)";/gms)) {
      const [, typeOnly, spec] = m;
      if (typeOnly || spec === undefined) continue;
      if (spec.startsWith(".")) visit(join(dirname(file), spec.replace(/\.js$/, ".ts")));
      else packages.add(spec);
    }
  };
  visit(join(REPO_ROOT, entry));
  return packages;
}

describe("architecture", () => {
  it("the CDK app (synth) loads no AWS SDK client", () => {
    const reached = [...packagesReachedFrom("bin/app.ts")];
    expect(reached.filter((p) => p.startsWith("@aws-sdk/"))).toEqual([]);
    expect(reached).toContain("aws-cdk-lib");
  });

  it.each([
    "config/settings.ts",
    "config/resolve-settings.ts",
    "config/environment.ts",
    "core/evaluator.ts",
    "core/insights-query.ts",
    "core/record-reader.ts",
    "core/record-evaluator.ts",
    "core/detections.ts",
    "core/detection-text.ts",
    "core/insights-rows.ts",
  ])("%s is pure: no AWS SDK, no CDK, no Node I/O", (entry) => {
    const reached = [...packagesReachedFrom(entry)];
    expect(reached.filter((p) => /^(@aws-sdk\/|aws-cdk-lib|constructs|node:)/.test(p))).toEqual([]);
  });

  it("no file in lib/ is over 300 lines", () => {
    const files = readdirSync(join(REPO_ROOT, "lib")).filter((f) => f.endsWith(".ts"));
    expect(files.length).toBeGreaterThan(5);
    for (const f of files) {
      expect(readFileSync(join(REPO_ROOT, "lib", f), "utf8").split("\n").length, f).toBeLessThanOrEqual(300);
    }
  });
});
