/**
 * The docs: the settings tables of docs/configuration.md are generated from the settings table and must be
 * current; README.md stays a front page; every relative link in README.md and docs/*.md resolves.
 */
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join, relative } from "node:path";
import { describe, expect, it } from "vitest";
import { METRIC } from "../../config/names.js";
import { SETTINGS } from "../../config/settings.js";
import { renderSettingsDoc, SETTINGS_DOC } from "../../scripts/settings-doc.js";
import { REPO_ROOT } from "../cdk/helpers.js";

const settingsDoc = readFileSync(join(REPO_ROOT, SETTINGS_DOC), "utf8");

describe("settings tables (docs/configuration.md)", () => {
  it("match the settings table (run `npm run docs` after changing a setting)", () => {
    expect(renderSettingsDoc(settingsDoc)).toBe(settingsDoc);
  });

  it("are caught when stale", () => {
    const stale = settingsDoc.replace(/(\| `minRequests` +\| )`2`/, "$1`3`");
    expect(stale).not.toBe(settingsDoc);
    expect(renderSettingsDoc(stale)).not.toBe(stale);
    expect(() => renderSettingsDoc(settingsDoc.replace("<!-- settings:env -->", ""))).toThrow(
      /has no <!-- settings:env --> block/,
    );
  });

  it("document every setting a user can set, with its default", () => {
    for (const [key, s] of Object.entries(SETTINGS)) {
      const names = ["prop", "context", "env", "cli"].flatMap((surface) => {
        const name = (s as Record<string, unknown>)[surface];
        if (typeof name !== "string") return [];
        return [surface === "cli" ? `--${name}` : name];
      });
      for (const name of names) expect(settingsDoc, `${key}: ${name}`).toContain(`| \`${name}\` `);
    }
    expect(settingsDoc).toMatch(/\| `promptTokensThreshold` +\| `8000` +\|/);
    expect(settingsDoc).toMatch(/\| `thresholds\.promptTokens` +\| `8000` +\|/);
    expect(settingsDoc).toMatch(/\| `--lookback` +\| `24h` +\|/);
  });
});

/** README.md and every page under docs/, as paths relative to the repository root. */
function markdownFiles(): string[] {
  const docs = readdirSync(join(REPO_ROOT, "docs"))
    .filter((f) => f.endsWith(".md"))
    .map((f) => `docs/${f}`);
  return ["README.md", ...docs];
}

/** A fenced code block. */
const FENCED = /^(`{3,}|~{3,})[^\n]*\n[\s\S]*?^\1[^\n]*$/gm;

/** The text outside fenced code blocks and inline code spans: where a markdown link is a link. */
function prose(markdown: string): string {
  return markdown.replace(FENCED, "").replace(/`[^`\n]*`/g, "");
}

/** The targets of inline links and images, `[text](target)`. */
function linkTargets(markdown: string): string[] {
  return [...prose(markdown).matchAll(/\]\(\s*<?([^)\s>]+)>?(?:\s+"[^"]*")?\s*\)/g)].map(
    (m) => m[1] as string,
  );
}

/** GitHub's anchor for each heading of a markdown file: lower case, punctuation dropped, spaces to hyphens. */
function headingAnchors(markdown: string): Set<string> {
  const text = markdown.replace(FENCED, "").replace(/`([^`\n]*)`/g, "$1");
  const seen = new Map<string, number>();
  const anchors = new Set<string>();
  for (const [, heading] of text.matchAll(/^#{1,6}[ \t]+(.+?)[ \t]*#*[ \t]*$/gm)) {
    const base = (heading as string)
      .replace(/\[([^\]]*)\]\([^)]*\)/g, "$1")
      .toLowerCase()
      .replace(/[^\p{L}\p{N}\s_-]/gu, "")
      .replace(/\s/g, "-");
    const n = seen.get(base) ?? 0;
    seen.set(base, n + 1);
    anchors.add(n === 0 ? base : `${base}-${n}`);
  }
  return anchors;
}

describe("README.md and docs/", () => {
  it("the cost estimate counts the handler's custom metrics as the handler has them", () => {
    // Every METRIC, plus Powertools' ColdStart (captureColdStartMetric in lambda/handler.ts).
    const count = Object.keys(METRIC).length + 1;
    const deploy = readFileSync(join(REPO_ROOT, "docs/deploy.md"), "utf8");
    expect(deploy).toContain(`Custom metrics from the handler (${count}, via EMF)`);
    expect(deploy).toContain(`up to $${(count * 0.3).toFixed(2)}`);
  });

  it("README.md is a front page: at most 250 lines", () => {
    const lines = readFileSync(join(REPO_ROOT, "README.md"), "utf8").trimEnd().split("\n");
    expect(lines.length).toBeLessThanOrEqual(250);
  });

  it("every relative link points at a file that exists (and a heading, for a #fragment into markdown)", () => {
    const broken: string[] = [];
    let checked = 0;
    for (const file of markdownFiles()) {
      const text = readFileSync(join(REPO_ROOT, file), "utf8");
      for (const target of linkTargets(text)) {
        if (/^[a-z][a-z0-9+.-]*:/i.test(target)) continue; // https:, mailto: ...
        checked++;
        const [path = "", fragment] = target.split("#");
        const resolved = path === "" ? join(REPO_ROOT, file) : join(REPO_ROOT, dirname(file), path);
        if (relative(REPO_ROOT, resolved).startsWith("..") || !existsSync(resolved)) {
          broken.push(`${file}: ${target} (no such file)`);
          continue;
        }
        if (fragment === undefined || !resolved.endsWith(".md") || statSync(resolved).isDirectory()) continue;
        const anchors = headingAnchors(readFileSync(resolved, "utf8"));
        if (!anchors.has(decodeURIComponent(fragment))) {
          broken.push(`${file}: ${target} (no heading #${fragment} in ${relative(REPO_ROOT, resolved)})`);
        }
      }
    }
    expect(broken).toEqual([]);
    expect(checked).toBeGreaterThan(20);
  });

  it("the link check sees links and headings as GitHub does", () => {
    expect(linkTargets("[a](docs/x.md) `[b](no.md)` ![c](img.png)\n```\n[d](no.md)\n```\n")).toEqual([
      "docs/x.md",
      "img.png",
    ]);
    expect([
      ...headingAnchors("## The scanner's reader\n### Findings for SOAR (EventBridge, Security Hub)\n"),
    ]).toEqual(["the-scanners-reader", "findings-for-soar-eventbridge-security-hub"]);
    expect([...headingAnchors("## `cached-input`\n## Notes\n## Notes\n")]).toEqual([
      "cached-input",
      "notes",
      "notes-1",
    ]);
  });
});
