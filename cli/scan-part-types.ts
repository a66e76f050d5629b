/**
 * What the parallel scanner (parallel-scan.ts), its worker threads (scan-worker.ts) and the parts they run
 * (scan-part.ts) pass each other: the setup every worker gets, a part to read and the result it gives back.
 */
import type { Finding } from "../core/evaluator.js";
import type { EvaluationStats } from "../core/record-evaluator.js";
import type { Rule, Window } from "../core/rule.js";
import type { CompactRecords } from "./compact-records.js";

export interface WorkerSetup {
  readonly rule: Rule;
  readonly window: Window;
  /** The span before the window whose records are anomaly's history (core/record-evaluator.ts). */
  readonly history: Window;
  /** Account shards (account-shards.ts): shard 0 is the main thread's, shard k worker k's (one: no sharding). */
  readonly shards: number;
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

/** A part's records of one account shard. */
export interface ShardPart {
  /** The records in the window, in file order, compact (compact-records.ts). */
  readonly inWindow: CompactRecords;
  /** anomaly's history from the part's records before the window. */
  readonly history: HistoryRows;
}

/** What reading a part gave: per file (one for a range), and its records per account shard, in file order. */
export interface PartOutput {
  readonly results: PartResult[];
  readonly shards: ShardPart[];
}

/** What reading a byte range or one whole file gave, but its records (PartOutput's shards). */
export interface PartResult {
  recordsRead: number;
  recordsInWindow: number;
  recordsInHistory: number;
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
 * What a worker is sent: first the scan's setup (it may have started before the scan knew it), then parts to
 * read, its shard's records to evaluate (in file order), and at the end `finish` for its shard's evaluation.
 */
export type WorkerInput =
  | { readonly setup: WorkerSetup }
  | PartJob
  | { readonly apply: ShardPart }
  | { readonly finish: { readonly firstMs: number } };

/**
 * The statistics a shard's evaluator counts (the records it was given): the main thread counts the rest, for
 * every part it takes.
 */
export const SHARD_STATS = [
  "recordsMatched",
  "recordsExcluded",
  "excludedRecords",
  "duplicates",
  "copies",
] as const;

type ShardStat = (typeof SHARD_STATS)[number];
/** The statistics the main thread counts for every part (RuleEvaluator.countFiltered). */
type PartStat = "recordsRead" | "recordsInWindow" | "recordsInHistory";
/** Compiles only for `never`. */
type Nothing<T extends never> = T;
/**
 * Every statistic is counted by the shards or by the main thread: a new one that neither list names would read 0
 * for the workers' shards, so it fails to compile here.
 */
export type UncountedStats = Nothing<Exclude<keyof EvaluationStats, ShardStat | PartStat>>;

/** A shard's evaluation: its accounts' findings, and its SHARD_STATS. */
export interface ShardEvaluation {
  readonly findings: Finding[];
  readonly stats: Pick<EvaluationStats, ShardStat>;
}

/** A shard evaluator's SHARD_STATS. */
export const shardStats = (stats: EvaluationStats): ShardEvaluation["stats"] => {
  const { recordsMatched, recordsExcluded, excludedRecords, duplicates, copies } = stats;
  return { recordsMatched, recordsExcluded, excludedRecords, duplicates, copies };
};

/**
 * What a worker posts: once `ready` when it can take parts, then one answer per part, in order, and its shard's
 * evaluation when told to `finish`.
 */
export type WorkerMessage =
  | { readonly output: PartOutput }
  | { readonly id: number; readonly crash: string }
  | { readonly evaluation: ShardEvaluation }
  | { readonly ready: true };
