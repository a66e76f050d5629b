/**
 * The props cannot drift from the settings table (config/settings.ts): the props interface has exactly the
 * table's prop names (checked by the compiler), but for the props that add constructs rather than settings, and each prop's `@default` in lib/props.ts says the table's
 * default in the construct's terms (checked here, from the source's JSDoc).
 */
import { readFileSync } from "node:fs";
import * as logs from "aws-cdk-lib/aws-logs";
import ts from "typescript";
import { describe, expect, expectTypeOf, it } from "vitest";
import { ENV } from "../../config/environment.js";
import { formatDuration } from "../../config/kinds.js";
import { SETTINGS, type SettingKey, specOf } from "../../config/settings.js";
import type { BedrockDosDetectorProps } from "../../lib/props.js";
import { build, REPO_ROOT } from "./helpers.js";

/** Every prop path: `thresholds.promptTokens` for nested props, the name for the rest. */
type PropPaths<P> = {
  [K in keyof P & string]-?: NonNullable<P[K]> extends string | number | boolean | readonly unknown[]
    ? K
    : NonNullable<P[K]> extends { toMilliseconds(): number }
      ? K
      : `${K}.${keyof NonNullable<P[K]> & string}`;
}[keyof P & string];

/** Props that add a construct (with props of its own) rather than set the detector: not in the settings table. */
const CONSTRUCT_PROPS = ["archive"] as const;
type SettingProps = Omit<BedrockDosDetectorProps, (typeof CONSTRUCT_PROPS)[number]>;

/** Every prop the settings table names. */
type TablePropPaths = {
  [K in SettingKey]: (typeof SETTINGS)[K] extends { readonly prop: infer P extends string } ? P : never;
}[SettingKey];

/** The table's default as the construct's docs say it: `Duration.minutes(15)`, `logs.RetentionDays.ONE_MONTH`. */
function propDefault(key: SettingKey): string | undefined {
  const spec = specOf(key);
  const value = spec.default;
  if (value === undefined || (Array.isArray(value) && value.length === 0)) return undefined;
  if (spec.kind.isDuration) {
    const [, amount, unit] = /^(\d+)([dhms])$/.exec(formatDuration(value as number)) ?? [];
    const name = { d: "days", h: "hours", m: "minutes", s: "seconds" }[unit as "d" | "h" | "m" | "s"];
    return `Duration.${name}(${amount})`;
  }
  if (key.endsWith("RetentionDays")) return `logs.RetentionDays.${logs.RetentionDays[value as number]}`;
  return JSON.stringify(value);
}

/** Each prop's `@default` text in lib/props.ts, by prop path. */
function documentedDefaults(): Map<string, string> {
  const file = `${REPO_ROOT}lib/props.ts`;
  const source = ts.createSourceFile(file, readFileSync(file, "utf8"), ts.ScriptTarget.Latest, true);
  const interfaces = new Map<string, ts.InterfaceDeclaration>();
  source.forEachChild((node) => {
    if (ts.isInterfaceDeclaration(node)) interfaces.set(node.name.text, node);
  });
  const defaults = new Map<string, string>();
  const walk = (name: string, prefix: string) => {
    for (const member of interfaces.get(name)?.members ?? []) {
      if (!ts.isPropertySignature(member) || !ts.isIdentifier(member.name)) continue;
      const path = `${prefix}${member.name.text}`;
      const tag = ts.getJSDocTags(member).find((t) => t.tagName.text === "default");
      defaults.set(path, (ts.getTextOfJSDocComment(tag?.comment) ?? "").trim());
      const type = member.type?.getText(source);
      if (type !== undefined && interfaces.has(type)) walk(type, `${path}.`);
    }
  };
  walk("BedrockDosDetectorProps", "");
  return defaults;
}

describe("props and the settings table", () => {
  it("has exactly the table's props (compile time)", () => {
    expectTypeOf<PropPaths<SettingProps>>().toEqualTypeOf<TablePropPaths>();
    const table = (Object.keys(SETTINGS) as SettingKey[]).flatMap((k) => specOf(k).prop ?? []);
    const documented = [...documentedDefaults().keys()].filter(
      (p) => p !== "thresholds" && !(CONSTRUCT_PROPS as readonly string[]).includes(p),
    );
    expect(documented.sort()).toEqual(table.sort());
  });

  it("documents each prop's default as the table has it", () => {
    const documented = documentedDefaults();
    for (const key of Object.keys(SETTINGS) as SettingKey[]) {
      const prop = specOf(key).prop;
      if (prop === undefined) continue;
      const doc = documented.get(prop);
      const expected = propDefault(key);
      // No default: the doc says what happens instead (`- none`, `- the stack name`).
      if (expected === undefined) expect(doc, prop).toMatch(/^- \S/);
      else expect(doc?.split(/[\s,]/)[0], prop).toBe(expected);
    }
  });
});

describe("props the table gained", () => {
  it("reach the function's environment", () => {
    const { template } = build({
      escalationCountFactor: 3,
      escalationMaxFactor: 2.5,
      requeryPreviousSlice: true,
    });
    const fn = Object.values(template.findResources("AWS::Lambda::Function")).find((r) =>
      JSON.stringify(r).includes(ENV.escalationCountFactor),
    ) as { Properties: { Environment: { Variables: Record<string, string> } } } | undefined;
    expect(fn?.Properties.Environment.Variables).toMatchObject({
      [ENV.escalationCountFactor]: "3",
      [ENV.escalationMaxFactor]: "2.5",
      [ENV.requeryPreviousSlice]: "true",
    });
  });
});
