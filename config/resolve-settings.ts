/**
 * Resolving a view's settings: each field through its kind (blank takes the default), then the cross-field
 * rules; every problem at once, the root cause first.
 */
// A namespace import: esbuild then bundles only what is used (the `z` object holds every locale: 0.75 MB).
import * as z from "zod";
import { CROSS_RULES, type Home } from "./cross-rules.js";
import { isBlank } from "./kinds.js";
import { type SettingProblem, SettingsError } from "./setting-problems.js";
import { type SettingKey, type Settings, type Surface, specOf } from "./settings.js";

/** Each setting's zod schema: blank input takes the default, anything else goes through the setting's kind. */
function fieldSchema(k: SettingKey, required: boolean): z.ZodType<unknown, unknown> {
  const s = specOf(k);
  return z.unknown().transform((v, ctx) => {
    if (isBlank(v)) {
      if (s.default === undefined && required) {
        ctx.addIssue({ code: "custom", message: "is required" });
        return z.NEVER;
      }
      return s.default;
    }
    const parsed = s.kind.schema.safeParse(v);
    if (!parsed.success) {
      for (const issue of parsed.error.issues) ctx.addIssue({ code: "custom", message: issue.message });
      return z.NEVER;
    }
    // A required list that holds nothing (" , ") is as missing as an absent one.
    if (required && Array.isArray(parsed.data) && parsed.data.length === 0) {
      ctx.addIssue({ code: "custom", message: "is required" });
      return z.NEVER;
    }
    return parsed.data;
  });
}

export type SettingsInput = Partial<Record<SettingKey, unknown>>;

/**
 * Validates a view's input (canonical keys, values as text or typed) once: defaults applied, bounds and
 * cross-field rules checked. Throws SettingsError with every problem, named in `surface`'s words: each
 * field's own, then every cross-field rule whose fields are all valid.
 */
export function resolveSettings<K extends SettingKey, R extends K = never>(
  keys: readonly K[],
  input: SettingsInput,
  surface: Surface,
  opts: { home?: Home; required?: readonly R[] } = {},
): Settings<K> & { readonly [P in R]: NonNullable<Settings<P>[P]> } {
  const unknownKeys = Object.keys(input).filter((k) => !(keys as readonly string[]).includes(k));
  if (unknownKeys.length > 0) throw new Error(`not settings of this view: ${unknownKeys.join(", ")}`);
  const required = new Set<SettingKey>(opts.required ?? []);
  const values: Partial<Record<SettingKey, unknown>> = {};
  const problems: SettingProblem[] = [];
  for (const k of keys) {
    const parsed = fieldSchema(k, required.has(k)).safeParse(input[k]);
    if (parsed.success) values[k] = parsed.data;
    else for (const issue of parsed.error.issues) problems.push({ setting: k, message: issue.message });
  }
  const given = new Set<SettingKey>(keys.filter((k) => !isBlank(input[k])));
  for (const rule of CROSS_RULES) {
    if (rule.settings.every((k) => (keys as readonly string[]).includes(k) && k in values)) {
      problems.push(...rule.check(values as Settings, given, opts.home ?? {}));
    }
  }
  // The root cause first: problems of settings the caller gave before those of defaults they run into.
  const ranked = [
    ...problems.filter((p) => given.has(p.setting)),
    ...problems.filter((p) => !given.has(p.setting)),
  ];
  if (problems.length > 0) throw new SettingsError(dedupe(ranked), surface);
  return values as Settings<K> & { readonly [P in R]: NonNullable<Settings<P>[P]> };
}

function dedupe(problems: SettingProblem[]): SettingProblem[] {
  const seen = new Set<string>();
  return problems.filter((p) => {
    const key = `${p.setting}\u0000${p.message}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}
