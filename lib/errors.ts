/**
 * The construct library's and the CDK app's one error: a configuration mistake, reported in one line that
 * names each setting the way the caller wrote it (a prop, or a context key), with the underlying error as
 * `cause`. Anything else thrown while building the construct is a bug.
 */

import { SettingsError } from "../config/setting-problems.js";
import type { Surface } from "../config/settings.js";

export class ConstructError extends Error {
  override name = "ConstructError";
  /** The settings at fault, in the caller's words (`thresholds.promptTokens`, `bedrockDosDetector:schedule`). */
  readonly settings: readonly string[];

  constructor(message: string, options: { settings?: readonly string[]; cause?: unknown } = {}) {
    super(message, { cause: options.cause });
    this.settings = options.settings ?? [];
  }
}

/** Settings that cannot be used, named on `surface` (props for the construct, context keys for the app). */
export function settingsError(err: SettingsError, surface: Surface): ConstructError {
  return new ConstructError(err.as(surface).message, { settings: err.namesOn(surface), cause: err });
}

/** Runs `build`, turning the settings' own error into a ConstructError on `surface`. */
export function withSettingsNamed<T>(surface: Surface, build: () => T): T {
  try {
    return build();
  } catch (err) {
    if (err instanceof SettingsError) throw settingsError(err, surface);
    throw err;
  }
}
