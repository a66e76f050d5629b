/**
 * The CLI's one error model. A CliError is a user's mistake or unusable input: one line on stderr and its exit
 * code. The pure core's configuration errors and file-system errors on a path the user named become one
 * (user-errors.ts); anything else is a bug (bin.ts: exit 70 with the stack, to be reported).
 */

export const EXIT = {
  ok: 0,
  /** Accounts flagged, with --fail-on-findings. */
  findings: 1,
  /** Bad options, unreadable input, nothing found to read. */
  usage: 2,
  /** Interrupted (Ctrl-C), as shells report SIGINT: 128 + 2. */
  interrupted: 130,
  /** A bug (EX_SOFTWARE): distinct from the codes a user's input can cause. */
  internal: 70,
} as const;

export class CliError extends Error {
  override name = "CliError";
  readonly exitCode: number;
  /** The flags at fault (`--lookback`), when a setting is. */
  readonly flags: readonly string[];

  constructor(
    message: string,
    options: { exitCode?: number; flags?: readonly string[]; cause?: unknown } = {},
  ) {
    super(message, { cause: options.cause });
    this.exitCode = options.exitCode ?? EXIT.usage;
    this.flags = options.flags ?? [];
  }
}

/** Input that cannot be read (missing path, unreadable file, broken gzip): exit 2. */
export class InputError extends CliError {
  override name = "InputError";
}

/**
 * An input that is recognisably not a log format the scanner reads (a JSON document of another shape): one error
 * for the whole input, never a pile of malformed lines.
 */
export class UnknownFormatError extends InputError {
  override name = "UnknownFormatError";
}

/** The user stopped the run (Ctrl-C); whatever was running remotely was stopped too: exit 130. */
export class InterruptedError extends CliError {
  override name = "InterruptedError";

  constructor(message: string, options: { cause?: unknown } = {}) {
    super(message, { ...options, exitCode: EXIT.interrupted });
  }
}

/** File-system codes a user's path causes (a missing or read-only place), in words. */
export const FS_ERRORS: Readonly<Record<string, string>> = {
  ENOENT: "no such file or directory",
  EACCES: "permission denied",
  EPERM: "permission denied",
  EROFS: "read-only file system",
  EISDIR: "is a directory",
  ENOTDIR: "not a directory",
  EEXIST: "already exists and is not a directory",
  ELOOP: "too many levels of symbolic links",
  ENAMETOOLONG: "name too long",
  ENOSPC: "no space left on device",
};

/** A file-system error in words (the error's own message for other errors). */
export function describeFsError(err: unknown): string {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  if (code !== undefined && code in FS_ERRORS) return FS_ERRORS[code] as string;
  return err instanceof Error ? err.message : String(err);
}

/** A read error in one line: file-system codes in words, an InputError (e.g. from S3) as its message. */
export function describeReadError(err: unknown): string {
  return err instanceof InputError ? err.message : describeFsError(err);
}
