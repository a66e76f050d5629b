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
  /** Real paths met, of whatever type: each is listed or walked once. */
  const seen = new Set<string>();
  const firstTime = (real: string): boolean => {
    if (seen.has(real)) return false;
    seen.add(real);
    return true;
  };
  const fail = (path: string, err: unknown, explicit: boolean): void => {
    if (explicit) throw new InputError(`${path}: ${describeFsError(err)}`);
    errors.push(`${path}: ${describeFsError(err)}`);
  };
  const skipped = (name: string): boolean => name.startsWith(".") || NOT_LOG_FILES.has(name);
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
    if (!firstTime(real)) return;
    if (info.isDirectory()) walk(path, real, explicit);
    else if (info.isFile()) files.push({ path, size: info.size });
    else if (explicit) throw new InputError(`${path}: not a file or directory`);
  };
  // A directory's entries that are not links have a real path of the directory's real path and their name: no
  // realpath for each (it checks every component of the path, and S3's key layout is eight folders deep: 2,143
  // objects took 45 to 74 ms with a realpath each, docs/benchmarks.md). Links and entries of other types go
  // through visit.
  const walk = (path: string, real: string, explicit: boolean): void => {
    let entries: Dirent[];
    try {
      entries = readdirSync(path, { withFileTypes: true }).sort(byName);
    } catch {
      // Where the file system gives no types, Node.js lstat's each entry itself, and one removed meanwhile fails
      // the whole read: then the names alone, each through visit, which reports only what it cannot read.
      let names: string[];
      try {
        names = readdirSync(path).sort();
      } catch (err) {
        fail(path, err, explicit);
        return;
      }
      for (const name of names) if (!skipped(name)) visit(join(path, name), false);
      return;
    }
    // join(path, name) for every entry, without normalizing the same directory again for each (a readdir name has
    // no separator and is never . or ..): the prefix join gives with a stand-in name, then the name.
    const prefix = join(path, "_").slice(0, -1);
    const realPrefix = join(real, "_").slice(0, -1);
    for (const entry of entries) {
      const name = entry.name;
      if (skipped(name)) continue;
      const child = prefix + name;
      if (entry.isDirectory()) {
        const childReal = realPrefix + name;
        if (firstTime(childReal)) walk(child, childReal, false);
      } else if (entry.isFile()) {
        let size: number;
        try {
          size = statSync(child).size;
        } catch (err) {
          fail(child, err, false);
          continue;
        }
        if (firstTime(realPrefix + name)) files.push({ path: child, size });
      } else visit(child, false);
    }
  };
  for (const p of paths) visit(p, true);
  return { files, errors };
}

/** Names in the order of `string[].sort()`: by UTF-16 code units. */
const byName = (a: Dirent, b: Dirent): number => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0);
