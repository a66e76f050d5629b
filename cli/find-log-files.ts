/**
 * Finds the log files to read on disk: files and directories expanded (recursively, sorted, dotfiles and the
 * bucket-permission test files skipped), each file once however many paths or links lead to it.
 */
import { readdirSync, realpathSync, statSync } from "node:fs";
import { join } from "node:path";
import { describeFsError, InputError } from "./errors.js";

/** Files CloudWatch Logs and Bedrock write to test bucket permissions: not log data. */
export const NOT_LOG_FILES: ReadonlySet<string> = new Set([
  "aws-logs-write-test",
  "amazon-bedrock-logs-permission-check",
]);

export interface LogFile {
  readonly path: string;
  readonly size: number;
}

export interface FoundFiles {
  readonly files: LogFile[];
  /** Entries below the given directories that could not be read (broken links, permissions): reported, skipped. */
  readonly errors: string[];
}

/**
 * Expands files and directories (recursively, sorted, dotfiles skipped) into the files to read. Each file is
 * listed once, however many paths or symbolic links lead to it, and a link loop is walked once. A path given
 * on the command line that cannot be read is an InputError; an entry found below it is reported and skipped.
 */
export async function findLogFiles(paths: readonly string[]): Promise<FoundFiles> {
  const files: LogFile[] = [];
  const errors: string[] = [];
  const seen = new Set<string>();
  // Synchronous calls: an S3 copy is thousands of small files, and a thread-pool round trip for each stat and
  // realpath made the walk a tenth of the scan (4,282 files: 210 ms; about 40 ms this way).
  const visit = (path: string, explicit: boolean): void => {
    let info: ReturnType<typeof statSync>;
    let real: string;
    try {
      info = statSync(path);
      real = realpathSync.native(path);
    } catch (err) {
      if (explicit) throw new InputError(`${path}: ${describeFsError(err)}`);
      errors.push(`${path}: ${describeFsError(err)}`);
      return;
    }
    if (seen.has(real)) return;
    seen.add(real);
    if (info.isDirectory()) {
      let entries: string[];
      try {
        entries = readdirSync(path).sort();
      } catch (err) {
        if (explicit) throw new InputError(`${path}: ${describeFsError(err)}`);
        errors.push(`${path}: ${describeFsError(err)}`);
        return;
      }
      for (const name of entries) {
        if (name.startsWith(".") || NOT_LOG_FILES.has(name)) continue;
        visit(join(path, name), false);
      }
    } else if (info.isFile()) {
      files.push({ path, size: info.size });
    } else if (explicit) {
      throw new InputError(`${path}: not a file or directory`);
    }
  };
  for (const p of paths) visit(p, true);
  return { files, errors };
}
