/**
 * The README's commands as written: the JSON pipeline example is taken from README.md verbatim and run in a
 * shell, and its output file must be one JSON document.
 */
import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { gzipSync } from "node:zlib";
import { describe, expect, it } from "vitest";
import { rawRecord } from "./helpers/records.js";

const README = readFileSync("README.md", "utf8");

/** The one shell line of the README that writes `--format json` output to findings.json. */
function jsonExample(): string {
  const lines = README.split("\n").filter((l) => /--format json\b.*> findings\.json\s*$/.test(l));
  expect(lines, "exactly one README line writes JSON to findings.json").toHaveLength(1);
  return lines[0] as string;
}

describe("README", () => {
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

  it("the scanner's option table lists every option of scan --help", () => {
    const help = spawnSync(process.execPath, ["dist/cli.mjs", "scan", "--help"], { encoding: "utf8" }).stdout;
    const options = [...help.matchAll(/^ {2}(--[a-z-]+)/gm)].map((m) => m[1]).filter((o) => o !== "--help");
    expect(options).toContain("--wide");
    const table = README.slice(README.indexOf("## The scanner"), README.indexOf("## The scheduled detector"));
    for (const option of options) expect(table, option).toContain(`| \`${option}`);
  });

  it("no command that redirects or pipes its output runs npm without -s (its banner would go along)", () => {
    const piped = README.split("\n").filter((l) => /npm run (?!-s )\S+ -- .*\s[>|]\s/.test(l));
    expect(piped).toEqual([]);
  });
});
