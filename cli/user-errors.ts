/**
 * What a thrown error means to the user: the pure core's configuration errors and file-system errors on a path
 * the user named become a CliError; anything else is a bug. Apart from errors.ts so that the scanner's worker
 * threads, which need only the error classes, do not load the settings' schemas.
 */
import { SettingsError } from "../config/setting-problems.js";
import { RuleConfigError } from "../core/rule.js";
import { CliError, describeFsError, FS_ERRORS, InputError } from "./errors.js";

/** What a thrown error means to the user; undefined for a bug. */
export function toCliError(err: unknown): CliError | undefined {
  if (err instanceof CliError) return err;
  if (err instanceof SettingsError) {
    return new CliError(err.as("cli").message, { flags: err.namesOn("cli"), cause: err });
  }
  if (err instanceof RuleConfigError) return new CliError(err.message, { cause: err });
  const fsError = err as NodeJS.ErrnoException;
  if (fsError instanceof Error && fsError.code !== undefined && fsError.code in FS_ERRORS) {
    const where = fsError.path === undefined ? "" : `${fsError.path}: `;
    return new InputError(`${where}${describeFsError(err)}`, { cause: err });
  }
  return undefined;
}
