/**
 * What the parallel scanner (parallel-scan.ts), its worker threads (scan-worker.ts) and the parts they run
 * (scan-part.ts) pass each other: the setup every worker gets, a part to read and the result it gives back.
 */
import type { InvocationRecord } from "../core/record-reader.js";
import type { Window } from "../core/rule.js";
import type { CompactRecords } from "./compact-records.js";

export interface WorkerSetup {
  readonly window: Window;
  /** The span before the window whose records are anomaly's history (core/record-evaluator.ts). */
  readonly history: Window;
}

/** A part's history records, summed per account, identity and clock hour (columns of equal length). */
export interface HistoryRows {
  accountIds: string[];
  identityArns: (string | null)[];
  hourMs: number[];
  tokens: number[];
}

export type PartSpec =
  | {
      readonly kind: "range";
      readonly path: string;
      readonly from: number;
      readonly end: number;
      readonly aligned: boolean;
    }
  /** Whole files, read one after another: small files go in batches (a round trip each would cost more). */
  | { readonly kind: "files"; readonly paths: readonly string[] };

export type PartJob = PartSpec & { readonly id: number };

/** What reading a byte range or one whole file gave (a part of whole files gives one per file, in order). */
export interface PartResult {
  /** The records in the window, in file order. */
  inWindow: InvocationRecord[];
  recordsRead: number;
  recordsInWindow: number;
  recordsInHistory: number;
  /** anomaly's history from the part's records before the window. */
  history: HistoryRows;
  firstMs: number;
  lastMs: number;
  /** Line numbers counted from the part's first line; `at`: the place inside an export (FileItem). */
  malformed: { line: number; reason: string; at?: string | undefined }[];
  /** Ranges: see RangeRead. */
  start: number;
  resumeAt: number;
  lines: number;
  /** The InputError's message when the part could not be read to its end. */
  error: string | null;
}

/** A part's result as a worker posts it: its records compact (scan-part.ts). */
export type PostedPart = Omit<PartResult, "inWindow"> & { inWindow: CompactRecords };

/** What a worker is sent: first the scan's setup (it may have started before the scan knew it), then parts. */
export type WorkerInput = { readonly setup: WorkerSetup } | PartJob;

/** What a worker posts: once `ready` when it can take parts, then one answer per part, in order. */
export type WorkerMessage =
  | { readonly results: PostedPart[] }
  | { readonly id: number; readonly crash: string }
  | { readonly ready: true };
