/** What the readers of whole inputs share: the line reader (line-reader.ts) and each export format's reader. */
import type { FileItem } from "./record-assembler.js";

/**
 * Takes an input's bytes a block at a time: `space()` is where the next bytes go, `commit(n)` reads them,
 * `finish()` the end (`lastLine` false: the input broke off). Items are collected in `items` (take them after
 * each call); `close()` once done.
 */
export interface ByteReader {
  readonly items: FileItem[];
  space(): Buffer;
  commit(n: number): boolean;
  finish(lastLine?: boolean): void;
  close(): void;
  /** Where reading got to, for an error that broke it off: `line 12`, `record 3 (line 40)`, `envelope 2`. */
  readonly progress: string;
  /** What was read before that: `lines`, `records`, `envelopes`. */
  readonly units: string;
}
