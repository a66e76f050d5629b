/**
 * The settings tables of docs/configuration.md, generated from the settings table (config/settings.ts) so that
 * the docs cannot drift from the code. `npm run docs` rewrites them; test/project/docs.test.ts checks they are current.
 */
import { readFileSync, writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { nameOf, type SettingKey, type Surface, specOf, VIEWS } from "../config/settings.js";

/** The page holding the generated tables, relative to the repository root. */
export const SETTINGS_DOC = "docs/configuration.md";
const DOC_PATH = fileURLToPath(new URL(`../${SETTINGS_DOC}`, import.meta.url));

/** Defaults the table cannot state as a value (they depend on other settings or on the deployment). */
const DERIVED_DEFAULTS: Partial<Record<SettingKey, string>> = {
  logGroups: "`/aws/bedrock/model-invocations` (none with `enableInvocationLogging`)",
  heartbeatLogGroup: "see meaning",
  logGroupIdentifiers: "(required)",
  alertTopicArn: "(required)",
  region: "(required; set by Lambda)",
  stateTable: "none (the stack creates one)",
};

function defaultOf(key: SettingKey): string {
  const derived = DERIVED_DEFAULTS[key];
  if (derived !== undefined) return derived;
  const s = specOf(key);
  if (s.default === undefined || (Array.isArray(s.default) && s.default.length === 0)) return "none";
  return `\`${s.kind.write(s.default)}\``;
}

const SECTIONS: Record<string, { surface: Surface; keys: readonly SettingKey[]; header: string }> = {
  props: { surface: "prop", keys: VIEWS.deploy.filter((k) => specOf(k).prop), header: "prop" },
  context: { surface: "context", keys: VIEWS.deploy.filter((k) => specOf(k).context), header: "key" },
  env: { surface: "env", keys: VIEWS.env, header: "variable" },
  cli: { surface: "cli", keys: VIEWS.cli, header: "option" },
};

function table(section: keyof typeof SECTIONS): string {
  const { surface, keys, header } = SECTIONS[section] ?? { surface: "prop", keys: [], header: "" };
  const name = (k: SettingKey) => {
    const n = nameOf(k, surface);
    return surface === "context" ? n.replace(/^bedrockDosDetector:/, "") : n;
  };
  const rows = keys.map((k) => {
    const repeat = surface === "cli" && Array.isArray(specOf(k).default) ? " (repeatable)" : "";
    return [`\`${name(k)}\``, defaultOf(k), `${specOf(k).doc}${repeat}`];
  });
  return alignedTable([[header, "default", "meaning"], ...rows]);
}

/** A markdown table padded the way the formatter (biome) writes it, so that formatting leaves it alone. */
function alignedTable(rows: string[][]): string {
  const widths = (rows[0] ?? []).map((_, c) => Math.max(3, ...rows.map((r) => (r[c] ?? "").length)));
  const line = (cells: string[]) => `| ${cells.map((cell, c) => cell.padEnd(widths[c] ?? 0)).join(" | ")} |`;
  const [head = [], ...body] = rows;
  return [line(head), line(widths.map((w) => "-".repeat(w))), ...body.map(line)].join("\n");
}

const marker = (section: string) =>
  new RegExp(`(<!-- settings:${section} -->)[\\s\\S]*?(<!-- /settings:${section} -->)`);

/** The settings page's text with every generated table brought up to date. */
export function renderSettingsDoc(text: string): string {
  let out = text;
  for (const section of Object.keys(SECTIONS)) {
    if (!marker(section).test(out)) {
      throw new Error(`${SETTINGS_DOC} has no <!-- settings:${section} --> block`);
    }
    out = out.replace(
      marker(section),
      (_, open: string, close: string) => `${open}\n${table(section)}\n${close}`,
    );
  }
  return out;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  writeFileSync(DOC_PATH, renderSettingsDoc(readFileSync(DOC_PATH, "utf8")));
  process.stdout.write(`${SETTINGS_DOC} settings tables written\n`);
}
