/**
 * A source of raw log bytes as the scanner reads it (a local file, stdin, an S3 object), and what expanding
 * the command line's paths finds: sources.ts makes them for local paths and stdin, s3.ts for S3 prefixes.
 */
import type { Readable } from "node:stream";

export interface LogSource {
  /** How messages name it: a path, `stdin` or `s3://bucket/key`. */
  readonly name: string;
  /** Raw bytes, when known before reading (for progress). */
  readonly size: number | null;
  /** Sources that may be read alongside others (network objects); files are read one after another. */
  readonly parallel: boolean;
  /** A local file's path (such sources may be read by worker threads). */
  readonly path?: string;
  /** An open descriptor read directly, from where it stands: stdin when it is a file or a pipe. */
  readonly fd?: number;
  /** The raw bytes (gzip or not); errors surface when reading. */
  open(): Readable;
}

export interface FoundSources {
  readonly sources: LogSource[];
  /** Entries below the given directories or prefixes that could not be read: reported, skipped. */
  readonly errors: string[];
}
