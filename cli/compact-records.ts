/**
 * Records, compact: how the parallel scan's threads pass a part's records, a worker to the main thread and the
 * main thread to the worker whose accounts they are (parallel-scan.ts). A structured clone of record objects
 * costs both threads more than the records' numbers in typed arrays, moved rather than copied, and one string per
 * distinct value. Decoding (recordAt) gives the records back exactly.
 */
import type { InvocationRecord } from "../core/record-reader.js";
import { genericArray } from "./generic-array.js";

/** The string fields of a record in CompactRecords.refs, in this order. */
const STRING_FIELDS = ["accountId", "identityArn", "modelId", "operation", "errorCode"] as const;
/** The numeric fields of a record in CompactRecords.numbers, in this order. */
const NUMBER_FIELDS = [
  "timestampMs",
  "promptTokens",
  "completionTokens",
  "cacheReadTokens",
  "cacheWriteTokens",
  "requestSize",
] as const;
const REFS = STRING_FIELDS.length;
const NUMS = NUMBER_FIELDS.length;

/** Records, compact: what a worker posts for them (encodeRecords, decodeRecords). */
export interface CompactRecords {
  /** The distinct values of the records' STRING_FIELDS. */
  readonly strings: string[];
  /** Per record, REFS indexes into `strings`, in STRING_FIELDS order; -1: null (may run on past the records). */
  readonly refs: Int32Array;
  /**
   * Per record, NUMS numbers, in NUMBER_FIELDS order; NaN: null (a count is never NaN); may run on past the
   * records.
   */
  readonly numbers: Float64Array;
  /**
   * Per record: its timestamp as logged, and its request id (mostly distinct: not worth a table); their length
   * is the number of records.
   */
  readonly timestamps: string[];
  readonly requestIds: (string | null)[];
}

/**
 * Records made compact one at a time, as they are read: a part's records then never stay alive as objects (on
 * the main thread, records waiting for their turn made every young-generation collection copy them).
 */
export class RecordEncoder {
  private readonly strings = genericArray<string>();
  private readonly index = new Map<string, number>();
  // Grown as records come (a shard of a small file may get none): a part has one encoder per shard.
  private refs = new Int32Array(0);
  private numbers = new Float64Array(0);
  private readonly timestamps = genericArray<string>();
  private readonly requestIds = genericArray<string | null>();

  private ref(s: string | null): number {
    if (s === null) return -1;
    let k = this.index.get(s);
    if (k === undefined) {
      k = this.strings.length;
      this.strings.push(s);
      this.index.set(s, k);
    }
    return k;
  }

  add(r: InvocationRecord): void {
    const i = this.timestamps.length;
    if ((i + 1) * NUMS > this.numbers.length) {
      const capacity = Math.max(64, i * 2);
      const refs = new Int32Array(capacity * REFS);
      refs.set(this.refs);
      this.refs = refs;
      const numbers = new Float64Array(capacity * NUMS);
      numbers.set(this.numbers);
      this.numbers = numbers;
    }
    const o = i * REFS;
    const refs = this.refs;
    refs[o] = this.ref(r.accountId);
    refs[o + 1] = this.ref(r.identityArn);
    refs[o + 2] = this.ref(r.modelId);
    refs[o + 3] = this.ref(r.operation);
    refs[o + 4] = this.ref(r.errorCode);
    const p = i * NUMS;
    const numbers = this.numbers;
    numbers[p] = r.timestampMs;
    numbers[p + 1] = r.promptTokens ?? Number.NaN;
    numbers[p + 2] = r.completionTokens ?? Number.NaN;
    numbers[p + 3] = r.cacheReadTokens ?? Number.NaN;
    numbers[p + 4] = r.cacheWriteTokens ?? Number.NaN;
    numbers[p + 5] = r.requestSize ?? Number.NaN;
    this.timestamps.push(r.timestamp);
    this.requestIds.push(r.requestId);
  }

  /** The records added, compact (the encoder is done with). */
  finish(): CompactRecords {
    const { strings, refs, numbers, timestamps, requestIds } = this;
    return { strings, refs, numbers, timestamps, requestIds };
  }
}

/** How many records. */
export const recordCount = (c: CompactRecords): number => c.timestamps.length;

/** The buffers to transfer with the records rather than copy (postMessage's transfer list). */
export const compactBuffers = (c: CompactRecords): ArrayBuffer[] => [
  c.refs.buffer as ArrayBuffer,
  c.numbers.buffer as ArrayBuffer,
];

/** Record `i` back, exactly as encoded. */
export function recordAt(c: CompactRecords, i: number): InvocationRecord {
  const { strings, refs, numbers } = c;
  const str = (k: number): string | null => (k < 0 ? null : (strings[k] as string));
  const num = (v: number): number | null => (Number.isNaN(v) ? null : v);
  const o = i * REFS;
  const p = i * NUMS;
  // One literal in the reader's key order (core/record-reader.ts recordFrom): records of one shape.
  return {
    timestamp: c.timestamps[i] as string,
    timestampMs: numbers[p] as number,
    accountId: strings[refs[o] as number] as string,
    requestId: c.requestIds[i] as string | null,
    identityArn: str(refs[o + 1] as number),
    modelId: str(refs[o + 2] as number),
    operation: str(refs[o + 3] as number),
    errorCode: str(refs[o + 4] as number),
    promptTokens: num(numbers[p + 1] as number),
    completionTokens: num(numbers[p + 2] as number),
    cacheReadTokens: num(numbers[p + 3] as number),
    cacheWriteTokens: num(numbers[p + 4] as number),
    requestSize: num(numbers[p + 5] as number),
  };
}
