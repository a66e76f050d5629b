/**
 * What the scanner reads: local files and directories, stdin (`-` or `/dev/stdin`) and S3 prefixes
 * (`s3://bucket/prefix/`), each turned into sources of raw bytes that the log reader streams.
 */
import { createReadStream, fstatSync, type Stats } from "node:fs";
import type { Window } from "../core/rule.js";
import { findLogFiles } from "./find-log-files.js";
import type { FoundSources, LogSource } from "./log-source.js";

export const isStdin = (path: string): boolean => path === "-" || path === "/dev/stdin";
export const isS3 = (path: string): boolean => path.startsWith("s3://");

/**
 * Stdin, read from its descriptor where that is a file or a pipe (read-batches.ts: up to 1.8 times as fast as
 * the stream); a terminal, a socket (a parent process's pipe) or a device is read as a stream.
 */
export function stdinSource(stat: () => Stats = () => fstatSync(0)): LogSource {
  let direct = false;
  try {
    const found = stat();
    direct = found.isFile() || found.isFIFO();
  } catch {
    // No descriptor 0 to look at: the stream reports what reading it finds.
  }
  return {
    name: "stdin",
    size: null,
    parallel: false,
    ...(direct ? { fd: 0 } : {}),
    open: () => process.stdin,
  };
}

/**
 * Expands the command line's paths into sources: files and directories as findLogFiles does, stdin once
 * however often it is named, and S3 prefixes listed (only the hours of `window` where the Bedrock layout allows; the scanner passes the window with anomaly's history).
 */
export async function findSources(paths: readonly string[], window: Window): Promise<FoundSources> {
  const local = paths.filter((p) => !isStdin(p) && !isS3(p));
  const { files, errors } = await findLogFiles(local);
  const sources: LogSource[] = files.map((f) => ({
    name: f.path,
    size: f.size,
    parallel: false,
    path: f.path,
    open: () => createReadStream(f.path),
  }));
  if (paths.some(isStdin)) {
    sources.push(stdinSource());
  }
  const s3 = paths.filter(isS3);
  if (s3.length > 0) {
    // Loaded only for s3:// paths: the AWS SDK would slow every local scan's start.
    const { findS3Sources } = await import("./s3.js");
    const found = await findS3Sources(s3, window);
    sources.push(...found.sources);
    errors.push(...found.errors);
  }
  return { sources, errors };
}
