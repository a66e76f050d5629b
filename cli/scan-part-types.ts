/**
 * What the parallel scanner (parallel-scan.ts), its worker threads (scan-worker.ts) and the parts they run
 * (scan-part.ts) pass each other: the setup every worker gets, a part to read and the result it gives back.
 */
import type { AddedUsage } from "../core/record-evaluator.js";
import type { InvocationRecord } from "../core/record-reader.js";
import type { Rule, Window } from "../core/rule.js";

export interface WorkerSetup {
  readonly rule: Rule;
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
  | { readonly kind: "file"; readonly path: string };

export type PartJob = PartSpec & { readonly id: number };

export interface PartResult {
  id: number;
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

/**
 * A part's records in the window as the main thread needs them to tell copies (in file order, per record): the
 * account (an index into `accounts`), the request key (core/record-evaluator.ts requestKeyOf; null: no id),
 * whether the key is a packed UUID, and whether the record matches the hunt. The records stay with the worker,
 * which adds them once told which are copies (an AddJob).
 */
export interface PartKeys {
  readonly accounts: string[];
  readonly accountRefs: Int32Array;
  readonly keys: (string | null)[];
  readonly uuid: Uint8Array;
  readonly matching: Uint8Array;
}

/** A part's result as a worker posts it: the keys of its records in the window, not the records. */
export type PostedPart = Omit<PartResult, "inWindow"> & { readonly keys: PartKeys };

/** Adds a part's held records, classified (one HUNT_COPY/COPY byte each); `part` is the part's job id. */
export interface AddJob {
  readonly kind: "add";
  readonly id: number;
  readonly part: number;
  readonly flags: Uint8Array;
}

/** Forgets a part's held records (a range read again from elsewhere). */
export interface DropJob {
  readonly kind: "drop";
  readonly id: number;
  readonly part: number;
}

export type WorkerJob = PartJob | AddJob | DropJob;

/** A worker's answer to an AddJob or a DropJob (nothing added). */
export type AddedPart = AddedUsage & { readonly id: number };

/** What a worker posts: once `ready` when it can take jobs, then one answer per job, in order. */
export type WorkerMessage =
  | PostedPart
  | AddedPart
  | { readonly id: number; readonly crash: string }
  | { readonly ready: true };
