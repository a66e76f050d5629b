/**
 * The kinds of value a setting can hold, as zod schemas from any input to the canonical value. Each kind
 * reads text (the Lambda environment, `-c key=value`, CLI flags) and typed values (construct props, cdk.json)
 * alike, checks its own bounds, and writes the canonical value back as text (environment, help defaults).
 * Messages are phrased to follow the setting's name in the caller's words ("<name> must be ...").
 */
// A namespace import: esbuild then bundles only what is used (the `z` object holds every locale: 0.75 MB).
import * as z from "zod";
import { DAY_MS, HOUR_MS, parseDuration } from "../core/rule.js";

export interface Kind<T> {
  /** Input (text or typed) to the canonical value; a blank input is never passed here. */
  readonly schema: z.ZodType<T, unknown>;
  /** The canonical value as text, readable by `schema` again. */
  write(value: T): string;
  /** Milliseconds that construct props give as a CDK `Duration`. */
  readonly isDuration?: true;
}

/** Shows a user's value in a message, briefly. */
export const show = (v: unknown): string => {
  const text = typeof v === "string" ? JSON.stringify(v) : (JSON.stringify(v) ?? String(v));
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
};

export const isBlank = (v: unknown): boolean =>
  v === undefined || v === null || (typeof v === "string" && v.trim() === "");

/** Whole numbers from `min` to `max`, given as numbers or digit strings. */
export function integer(min: number, max = Number.MAX_SAFE_INTEGER): Kind<number> {
  // Formatted when needed: toLocaleString loads locale data, which every start of the CLI would pay for.
  const range = () => `from ${min.toLocaleString("en-US")} to ${max.toLocaleString("en-US")}`;
  return {
    schema: z.unknown().transform((v, ctx) => {
      const n =
        typeof v === "number" ? v : typeof v === "string" && /^\s*\d+\s*$/.test(v) ? Number(v) : Number.NaN;
      if (!Number.isSafeInteger(n) || n < min || n > max) {
        ctx.addIssue({ code: "custom", message: `must be a whole number ${range()}, got ${show(v)}` });
        return z.NEVER;
      }
      return n;
    }),
    write: (n) => String(n),
  };
}

/** `90m`, `24h`, `7d`: the largest unit that divides the duration (hours up to two days, as people say them). */
export function formatDuration(ms: number): string {
  if (ms < 2 * DAY_MS && ms % HOUR_MS === 0) return `${ms / HOUR_MS}h`;
  for (const [unit, size] of [
    ["d", DAY_MS],
    ["h", HOUR_MS],
    ["m", 60_000],
    ["s", 1000],
  ] as const) {
    if (ms % size === 0) return `${ms / size}${unit}`;
  }
  return `${ms}ms`;
}

/**
 * Durations in milliseconds, given as text (`90m`, `24h`, `7d`) or as a number of milliseconds (construct
 * props convert their `Duration`). `step` is the granularity it must be a whole multiple of.
 */
export function duration(bounds: {
  min: number;
  max: number;
  step?: number;
  stepName?: string;
}): Kind<number> {
  const step = bounds.step ?? 1000;
  const stepName = bounds.stepName ?? "seconds";
  return {
    schema: z.unknown().transform((v, ctx) => {
      let ms: number;
      if (typeof v === "number") ms = v;
      else if (typeof v === "string") {
        try {
          ms = parseDuration(v);
        } catch {
          ctx.addIssue({ code: "custom", message: `is not a duration like 90m, 24h or 7d: ${show(v)}` });
          return z.NEVER;
        }
      } else {
        ctx.addIssue({ code: "custom", message: `must be a duration like 90m, 24h or 7d, got ${show(v)}` });
        return z.NEVER;
      }
      if (!Number.isSafeInteger(ms) || ms % step !== 0 || ms < bounds.min || ms > bounds.max) {
        ctx.addIssue({
          code: "custom",
          message: `must be whole ${stepName} from ${formatDuration(bounds.min)} to ${formatDuration(bounds.max)}, got ${Number.isSafeInteger(ms) && ms > 0 ? formatDuration(ms) : show(v)}`,
        });
        return z.NEVER;
      }
      return ms;
    }),
    write: formatDuration,
    isDuration: true,
  };
}

/** Decimal numbers from `min` to `max`, given as numbers or decimal strings (`1.5`). */
export function decimal(min: number, max: number): Kind<number> {
  return {
    schema: z.unknown().transform((v, ctx) => {
      const x =
        typeof v === "number"
          ? v
          : typeof v === "string" && /^\s*\d+(\.\d+)?\s*$/.test(v)
            ? Number(v)
            : Number.NaN;
      if (!Number.isFinite(x) || x < min || x > max) {
        ctx.addIssue({ code: "custom", message: `must be a number from ${min} to ${max}, got ${show(v)}` });
        return z.NEVER;
      }
      return x;
    }),
    write: String,
  };
}

export const boolean: Kind<boolean> = {
  schema: z.unknown().transform((v, ctx) => {
    if (v === true || v === "true") return true;
    if (v === false || v === "false") return false;
    ctx.addIssue({ code: "custom", message: `must be true or false, got ${show(v)}` });
    return z.NEVER;
  }),
  write: String,
};

/**
 * A string matching `pattern`. `opaque` values (unresolved CDK tokens) pass unchecked: they are known only
 * at deploy time.
 */
export function text(
  pattern: RegExp,
  what: string,
  opaque: (s: string) => boolean = () => false,
): Kind<string> {
  return {
    schema: z.unknown().transform((v, ctx) => {
      if (typeof v !== "string") {
        ctx.addIssue({ code: "custom", message: `must be ${what}, got ${show(v)}` });
        return z.NEVER;
      }
      const s = v.trim();
      if (!opaque(s) && !pattern.test(s)) {
        ctx.addIssue({ code: "custom", message: `must be ${what}, got ${show(s)}` });
        return z.NEVER;
      }
      return s;
    }),
    write: (s) => s,
  };
}

/**
 * A list of strings matching `pattern`, given as an array, a JSON array string or comma-separated text;
 * blanks dropped, order kept.
 */
export function list(
  pattern: RegExp,
  what: string,
  opts: {
    max?: number;
    opaque?: (s: string) => boolean;
    /** Entries with the same key count once (the first). */
    unique?: (s: string) => string;
    /** Entries with the same key but other text are a mistake (two values for one thing), not a repeat. */
    conflictsAreErrors?: boolean;
  } = {},
): Kind<readonly string[]> {
  const max = opts.max ?? Number.POSITIVE_INFINITY;
  return {
    schema: z.unknown().transform((v, ctx) => {
      let items: unknown = v;
      if (typeof items === "string" && items.trim().startsWith("[")) {
        try {
          items = JSON.parse(items);
        } catch {
          ctx.addIssue({ code: "custom", message: `is not a valid JSON array: ${show(v)}` });
          return z.NEVER;
        }
      }
      // Comma-separated text may have blanks ("a, ,b"); a blank entry in a real list is a mistake.
      const fromText = typeof items === "string";
      if (typeof items === "string") items = items.split(",");
      if (!Array.isArray(items) || !items.every((s): s is string => typeof s === "string")) {
        ctx.addIssue({
          code: "custom",
          message: "must be a list of strings (JSON array or comma-separated)",
        });
        return z.NEVER;
      }
      const out: string[] = [];
      const seen = new Map<string, string>();
      for (const raw of items) {
        const s = raw.trim();
        if (s === "") {
          if (!fromText) ctx.addIssue({ code: "custom", message: "contains an empty entry" });
          continue;
        }
        if (!opts.opaque?.(s) && !pattern.test(s)) {
          ctx.addIssue({ code: "custom", message: `has ${show(s)}, which is not ${what}` });
          continue;
        }
        const key = opts.unique?.(s);
        if (key !== undefined) {
          const first = seen.get(key);
          if (first !== undefined) {
            if (opts.conflictsAreErrors && first !== s) {
              ctx.addIssue({
                code: "custom",
                message: `has ${show(first)} and ${show(s)}: give ${key} once`,
              });
            }
            continue;
          }
          seen.set(key, s);
        }
        out.push(s);
      }
      if (out.length > max) {
        ctx.addIssue({ code: "custom", message: `takes at most ${max} entries, got ${out.length}` });
        return z.NEVER;
      }
      return out;
    }),
    write: (items) => items.join(","),
  };
}

/** The retention periods CloudWatch Logs offers, in days (9999: never expire). */
export const LOG_RETENTION_DAYS = [
  1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653,
  9999,
] as const;

export const retentionDays: Kind<number> = {
  schema: integer(1, 9999).schema.pipe(
    z.number().refine((d) => (LOG_RETENTION_DAYS as readonly number[]).includes(d), {
      error: (i) =>
        `must be a CloudWatch Logs retention (${LOG_RETENTION_DAYS.join(", ")}; 9999 = never expire), got ${show(i.input)}`,
    }),
  ),
  write: String,
};
