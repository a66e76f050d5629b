/** The README's settings tables are generated from the settings table: they must be current. */
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { SETTINGS } from "../config/settings.js";
import { renderReadme } from "../scripts/settings-doc.js";
import { REPO_ROOT } from "./cdk/helpers.js";

const readme = readFileSync(`${REPO_ROOT}README.md`, "utf8");

describe("README settings tables", () => {
  it("match the settings table (run `npm run docs` after changing a setting)", () => {
    expect(renderReadme(readme)).toBe(readme);
  });

  it("document every setting a user can set, with its default", () => {
    for (const [key, s] of Object.entries(SETTINGS)) {
      const name = "context" in s ? s.context : "env" in s ? s.env : undefined;
      if (name === undefined) continue;
      expect(readme, key).toMatch(new RegExp(`\\| \`${name}\` +\\|`));
    }
    expect(readme).toMatch(/\| `promptTokensThreshold` +\| `8000` +\|/);
    expect(readme).toMatch(/\| `--lookback` +\| `24h` +\|/);
  });
});
