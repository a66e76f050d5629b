/** Problems with settings, and the one error that carries them, named in each caller's words. */
import { nameOf, SETTINGS, type SettingKey, type Surface } from "./settings.js";

/** A problem with one setting; `{other}` in the message names another setting, rendered per surface. */
export interface SettingProblem {
  readonly setting: SettingKey;
  readonly message: string;
}

export function renderProblem(p: SettingProblem, surface: Surface): string {
  const message = p.message.replace(/\{(\w+)\}/g, (all, k: string) =>
    k in SETTINGS ? nameOf(k as SettingKey, surface) : all,
  );
  return `${nameOf(p.setting, surface)} ${message}`;
}

/** Settings that cannot be used; the message names each in the caller's words. */
export class SettingsError extends Error {
  override name = "SettingsError";
  constructor(
    readonly problems: readonly SettingProblem[],
    readonly surface: Surface,
  ) {
    super(problems.map((p) => renderProblem(p, surface)).join("; "));
  }
  /** The same problems in another caller's words (an app rendering a construct's problems as context keys). */
  as(surface: Surface): SettingsError {
    return new SettingsError(this.problems, surface);
  }
  /** The settings at fault, each once, in `surface`'s words (`--lookback`, `MIN_REQUESTS`, `thresholds.promptTokens`). */
  namesOn(surface: Surface): string[] {
    return [...new Set(this.problems.map((p) => nameOf(p.setting, surface)))];
  }
}
