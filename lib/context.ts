/**
 * The CDK app's configuration from context: the context view of the settings (config/settings.ts). Set values
 * with `-c bedrockDosDetector:<key>=<value>` or in cdk.json; unset keys take the settings' defaults. Values may
 * be JSON-typed (cdk.json) or strings (`-c`): lists as JSON arrays or comma-separated strings, booleans as
 * true/false, durations as `90m`, `24h`, `7d`. An unknown key with the prefix is an error (typos fail loudly).
 */
import type { Node } from "constructs";
import type { Home } from "../config/cross-rules.js";
import { isBlank } from "../config/kinds.js";
import type { SettingsInput } from "../config/resolve-settings.js";
import { CONTEXT_PREFIX, type SettingKey, specOf, VIEWS } from "../config/settings.js";
import { ConstructError, withSettingsNamed } from "./errors.js";
import { type BedrockDosDetectorProps, type DetectorPlan, planDetector, settingsToProps } from "./props.js";

/** Context keys (with the prefix) by setting. */
export const CONTEXT_KEYS: Partial<Record<SettingKey, string>> = Object.fromEntries(
  VIEWS.deploy.flatMap((k) => {
    const key = specOf(k).context;
    return key === undefined ? [] : [[k, `${CONTEXT_PREFIX}${key}`]];
  }),
);

export interface DetectorAppConfig {
  readonly stackName: string;
  /** The validated settings and what follows from them. */
  readonly plan: DetectorPlan;
  /** The construct's props, from the validated context. */
  readonly props: BedrockDosDetectorProps;
}

/** Reads and validates the app's context once; throws ConstructError naming context keys. */
export function readDetectorContext(node: Node, home: Home): DetectorAppConfig {
  const known = new Set(Object.values(CONTEXT_KEYS));
  const all = node.getAllContext() as Record<string, unknown>;
  const unknown = Object.keys(all).filter((k) => k.startsWith(CONTEXT_PREFIX) && !known.has(k));
  if (unknown.length > 0) {
    const names = [...known].map((k) => k.slice(CONTEXT_PREFIX.length)).join(", ");
    throw new ConstructError(`unknown context key ${unknown.join(", ")}; known keys: ${names}`, {
      settings: unknown,
    });
  }
  const input: SettingsInput = {};
  for (const [setting, key] of Object.entries(CONTEXT_KEYS) as [SettingKey, string][]) {
    input[setting] = node.tryGetContext(key);
  }
  // Validated here, in context terms; the construct then validates the same values again as props.
  const plan = withSettingsNamed("context", () => planDetector(input, "context", home));
  const given = new Set((Object.keys(input) as SettingKey[]).filter((k) => !isBlank(input[k])));
  return { stackName: plan.settings.stackName, plan, props: settingsToProps(plan.settings, given) };
}
