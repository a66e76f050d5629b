/**
 * The documented commands as written: the JSON pipeline example is taken from the docs verbatim (it lives in
 * docs/scanner.md) and run in a shell, and its output file must be one JSON document; the scanner's options
 * are all documented; no documented pipeline lets npm's banner into the output; and the quick start's output
 * in README.md is what `npm start` prints.
 */
import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { gzipSync } from "node:zlib";
import { describe, expect, it } from "vitest";
import { rawRecord } from "../helpers/records.js";

/** README.md and every page under docs/. */
const DOCS: Record<string, string> = Object.fromEntries(
  ["README.md", ...readdirSync("docs").flatMap((f) => (f.endsWith(".md") ? [`docs/${f}`] : []))].map((f) => [
    f,
    readFileSync(f, "utf8"),
  ]),
);
const doc = (file: string): string => {
  const text = DOCS[file];
  if (text === undefined) throw new Error(`${file} is missing`);
  return text;
};
const allLines = (): string[] => Object.values(DOCS).flatMap((text) => text.split("\n"));

/** The text of one `## heading` section of a markdown page, up to the next `## ` heading. */
function section(file: string, heading: string): string {
  const text = doc(file);
  const start = text.indexOf(`\n${heading}\n`);
  expect(start, `${file} has a "${heading}" section`).toBeGreaterThanOrEqual(0);
  const end = text.indexOf("\n## ", start + heading.length + 1);
  return text.slice(start, end === -1 ? undefined : end);
}

/** The one documented shell line that writes `--format json` output to findings.json. */
function jsonExample(): string {
  const lines = allLines().filter((l) => /--format json\b.*> findings\.json\s*$/.test(l));
  expect(lines, "exactly one line of README.md and docs/ writes JSON to findings.json").toHaveLength(1);
  return lines[0] as string;
}

describe("the quick start", () => {
  it("README.md shows exactly what npm start prints (its commands, run here on the built CLI)", () => {
    const pkg = JSON.parse(readFileSync("package.json", "utf8")) as { scripts: { start: string } };
    // npm start: build, then `node dist/cli.mjs sample .sample-data && node dist/cli.mjs scan ... .sample-data`.
    const commands = pkg.scripts.start.split(" && ").filter((c) => c.startsWith("node dist/cli.mjs"));
    expect(commands.map((c) => c.split(" ")[2])).toEqual(["sample", "scan"]);
    const dir = join(mkdtempSync(join(tmpdir(), "bdd-quick-start-")), ".sample-data");
    let stdout = "";
    for (const command of commands) {
      const args = command
        .split(" ")
        .slice(1)
        .map((a) => (a === ".sample-data" ? dir : a));
      const r = spawnSync(process.execPath, args, { encoding: "utf8", env: { ...process.env, COLUMNS: "" } });
      expect(r.status, r.stderr).toBe(0);
      stdout = r.stdout;
    }
    const quickStart = section("README.md", "## Quick start");
    const block = /```\n(Window[\s\S]*?)```/.exec(quickStart)?.[1];
    expect(block, "the quick start shows the scan's output").toBeDefined();
    expect(stdout).toBe(block);
  });
});

describe("the documented commands", () => {
  it("the 'JSON for a pipeline' example writes one parseable JSON document", () => {
    const command = jsonExample();
    // The example runs from a checkout: give it one (the built dist/) with the export/ and logs/ it names.
    const cwd = mkdtempSync(join(tmpdir(), "bdd-readme-"));
    symlinkSync(resolve("dist"), join(cwd, "dist"));
    mkdirSync(join(cwd, "export"));
    mkdirSync(join(cwd, "logs"));
    const heavy = (requestId: string, timestamp: string) =>
      rawRecord({ requestId, timestamp, accountId: "123456789012", promptTokens: 20_000 });
    writeFileSync(
      join(cwd, "export", "000000"),
      `2026-11-19T10:00:00.000Z ${heavy("a", "2026-11-19T10:00:00Z")}\n`,
    );
    writeFileSync(join(cwd, "logs", "batch.json.gz"), gzipSync(`${heavy("b", "2026-11-19T11:00:00Z")}\n`));

    const r = spawnSync("sh", ["-c", command], { cwd, encoding: "utf8", timeout: 60_000 });
    expect(r.status, r.stderr).toBe(0);
    const report = JSON.parse(readFileSync(join(cwd, "findings.json"), "utf8")) as {
      findings: { accountId: string; requestCount: number }[];
    };
    expect(report.findings).toEqual([
      expect.objectContaining({ accountId: "123456789012", requestCount: 2 }),
    ]);
  });

  it("the scanner's option tables list every option of scan --help", () => {
    const help = spawnSync(process.execPath, ["dist/cli.mjs", "scan", "--help"], { encoding: "utf8" }).stdout;
    const options = [...help.matchAll(/^ {2}(--[a-z-]+)/gm)].map((m) => m[1]).filter((o) => o !== "--help");
    expect(options).toContain("--wide");
    expect(options).toContain("--prompt-tokens");
    // The scanner's own options in docs/scanner.md, the rule's in the generated table of docs/configuration.md.
    const scannerOptions = section("docs/scanner.md", "## Options");
    const settings = doc("docs/configuration.md");
    const ruleFlags = settings.slice(
      settings.indexOf("<!-- settings:cli -->"),
      settings.indexOf("<!-- /settings:cli -->"),
    );
    expect(ruleFlags).toContain("| `--lookback`");
    for (const option of options) expect(scannerOptions + ruleFlags, option).toContain(`| \`${option}`);
    expect(scannerOptions, "scanner.md points at the rule's flags").toContain(
      "configuration.md#scanner-flags",
    );
  });

  it("no command that redirects or pipes its output runs npm without -s (its banner would go along)", () => {
    const piped = allLines().filter((l) => /npm run (?!-s )\S+ -- .*\s[>|]\s/.test(l));
    expect(piped).toEqual([]);
    expect(
      allLines().some((l) => /npm run -s detect -- /.test(l)),
      "the pattern still sees commands",
    ).toBe(true);
  });
});
