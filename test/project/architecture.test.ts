/** The folders' contracts, checked on the import graph: pure modules stay pure, synth loads no AWS SDK. */
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, relative } from "node:path";
import { describe, expect, it } from "vitest";
import { REPO_ROOT } from "../cdk/helpers.js";

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

/** The folders whose files may not import each other in a cycle. */
const SOURCE_FOLDERS = ["bin", "cli", "config", "core", "lambda", "lib"];

/**
 * The files a module imports by relative path, type-only imports, `export ... from` and dynamic `import()`
 * included: each of them ties the two files together.
 */
function relativeImportsOf(file: string): string[] {
  const text = readFileSync(file, "utf8");
  const specs = [
    ...[...text.matchAll(/^(?:import|export)\s[^;]*?from\s+"([^"]+)";/gms)].map((m) => m[1]),
    ...[...text.matchAll(/\bimport\(\s*"([^"]+)"\s*\)/g)].map((m) => m[1]),
  ];
  return specs
    .filter((spec): spec is string => spec?.startsWith(".") ?? false)
    .map((spec) => join(dirname(file), spec.replace(/\.js$/, ".ts")));
}

/** Every file-level import cycle among the TypeScript files of `folders` under `root`, each as its files (relative). */
function importCycles(root: string, folders: readonly string[]): string[][] {
  const files = folders.flatMap((folder) =>
    readdirSync(join(root, folder), { recursive: true, encoding: "utf8" })
      .filter((f) => f.endsWith(".ts"))
      .map((f) => join(root, folder, f)),
  );
  const graph = new Map(files.map((f) => [f, relativeImportsOf(f)]));
  const cycles: string[][] = [];
  const done = new Set<string>();
  const path: string[] = [];
  const visit = (file: string) => {
    const at = path.indexOf(file);
    if (at >= 0) {
      cycles.push([...path.slice(at), file].map((f) => relative(root, f)));
      return;
    }
    if (done.has(file) || !graph.has(file)) return;
    path.push(file);
    for (const next of graph.get(file) ?? []) visit(next);
    path.pop();
    done.add(file);
  };
  for (const f of files) visit(f);
  return cycles;
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

  it("the CLI's insights command reaches the shared query code but no Powertools, middy or Lambda handler", () => {
    const reached = [...packagesReachedFrom("cli/insights-command.ts")];
    expect(reached).toContain("@aws-sdk/client-cloudwatch-logs");
    expect(reached.filter((p) => /^(@aws-lambda-powertools\/|@middy\/)/.test(p))).toEqual([]);
  });

  it("the CLI's entry loads no AWS SDK until a command that needs it runs (import() only)", () => {
    const reached = [...packagesReachedFrom("cli/main.ts")];
    expect(reached.filter((p) => p.startsWith("@aws-sdk/"))).toEqual([]);
  });

  it("no file-level import cycle among the source folders (type-only imports included)", () => {
    const cycles = importCycles(REPO_ROOT, SOURCE_FOLDERS);
    expect(cycles.map((c) => c.join(" -> "))).toEqual([]);
  });

  it("the cycle check sees every kind of import, and reports a cycle's files", () => {
    const root = mkdtempSync(join(tmpdir(), "import-cycles-"));
    mkdirSync(join(root, "src"));
    const write = (name: string, text: string) => writeFileSync(join(root, "src", name), text);
    write("a.ts", 'import type { B } from "./b.js";\nexport type A = B;\n');
    write("b.ts", 'export { c as B } from "./c.js";\n');
    write("c.ts", 'export const c = async () => {\n  await import("./a.js");\n};\n');
    write("d.ts", 'import {\n  type A,\n} from "./a.js";\nexport * from "./d2.js";\n');
    write("d2.ts", "export const d2 = 1;\n");
    expect(importCycles(root, ["src"])).toEqual([["src/a.ts", "src/b.ts", "src/c.ts", "src/a.ts"]]);
    write("c.ts", "export const c = 1;\n");
    expect(importCycles(root, ["src"])).toEqual([]);
  });

  it("no file in lib/ is over 300 lines", () => {
    const files = readdirSync(join(REPO_ROOT, "lib")).filter((f) => f.endsWith(".ts"));
    expect(files.length).toBeGreaterThan(5);
    for (const f of files) {
      expect(readFileSync(join(REPO_ROOT, "lib", f), "utf8").split("\n").length, f).toBeLessThanOrEqual(300);
    }
  });
});
