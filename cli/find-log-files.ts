/**
 * Finds the log files to read on disk: files and directories expanded (recursively, sorted, dotfiles and the
 * bucket-permission test files skipped), each file once however many paths or links lead to it.
 */
import { type Dirent, readdirSync, realpathSync, statSync } from "node:fs";
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
  /** Real paths visited: a file or directory is listed or walked once. */
  const seen = new Set<string>();
  const fail = (path: string, err: unknown, explicit: boolean): void => {
    if (explicit) throw new InputError(`${path}: ${describeFsError(err)}`);
    errors.push(`${path}: ${describeFsError(err)}`);
  };
  // Synchronous calls: an S3 copy is thousands of small files, and a thread-pool round trip for each stat and
  // realpath made the walk a tenth of the scan (4,282 files: 210 ms; about 40 ms this way).
  const visit = (path: string, explicit: boolean): void => {
    let info: ReturnType<typeof statSync>;
    let real: string;
    try {
      info = statSync(path);
      real = realpathSync.native(path);
    } catch (err) {
      fail(path, err, explicit);
      return;
    }
    if (info.isDirectory()) walk(path, real, explicit);
    else if (info.isFile()) add(path, real, info.size);
    else if (explicit) throw new InputError(`${path}: not a file or directory`);
  };
  const add = (path: string, real: string, size: number): void => {
    if (seen.has(real)) return;
    seen.add(real);
    files.push({ path, size });
  };
  // A directory's entries that are not links have a real path of the directory's real path and their name: no
  // realpath for each (it checks every component of the path, and S3's key layout is ten levels deep: 2,143
  // objects took 47 to 74 ms with a realpath each, docs/benchmarks.md). Links, and any other entry (one whose
  // type the file system does not give among them), go through visit.
  const walk = (path: string, real: string, explicit: boolean): void => {
    if (seen.has(real)) return;
    seen.add(real);
    let entries: Dirent[];
    try {
      entries = readdirSync(path, { withFileTypes: true }).sort(byName);
    } catch (err) {
      fail(path, err, explicit);
      return;
    }
    for (const entry of entries) {
      const name = entry.name;
      if (name.startsWith(".") || NOT_LOG_FILES.has(name)) continue;
      const child = join(path, name);
      if (entry.isDirectory()) walk(child, join(real, name), false);
      else if (entry.isFile()) {
        let size: number;
        try {
          size = statSync(child).size;
        } catch (err) {
          fail(child, err, false);
          continue;
        }
        add(child, join(real, name), size);
      } else visit(child, false);
    }
  };
  for (const p of paths) visit(p, true);
  return { files, errors };
}

/** Names in the order of `string[].sort()`: by UTF-16 code units. */
const byName = (a: Dirent, b: Dirent): number => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0);
