/** The function's environment: settings written as variables by the construct and read back by the handler. */
import type { SettingsInput } from "./resolve-settings.js";
import { type KeysOn, type Settings, specOf, VIEWS } from "./settings.js";
/** The environment variables for a view's values (the construct writes the function's environment). */
export function toEnvironment(values: Partial<Settings>): Record<string, string> {
  const env: Record<string, string> = {};
  for (const k of VIEWS.env) {
    const v = values[k];
    const s = specOf(k);
    // Lambda sets AWS_REGION itself; an empty list is the default and needs no variable.
    if (v === undefined || s.env === undefined || k === "region" || (Array.isArray(v) && v.length === 0))
      continue;
    env[s.env] = s.kind.write(v);
  }
  return env;
}

/** A view's input from an environment (variable names from the table). */
export function fromEnvironment(env: Readonly<Record<string, string | undefined>>): SettingsInput {
  const input: SettingsInput = {};
  for (const k of VIEWS.env) {
    const name = specOf(k).env;
    if (name !== undefined) input[k] = env[name];
  }
  return input;
}

/** Environment variable names by setting: the env column of the table. */
export const ENV = Object.fromEntries(VIEWS.env.map((k) => [k, specOf(k).env ?? k])) as Record<
  KeysOn<"env">,
  string
>;
