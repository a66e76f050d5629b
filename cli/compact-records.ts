/**
 * Records, compact: how a scan worker posts a part's records to the main thread (parallel-scan.ts). A structured
 * clone of record objects costs both threads more than the records' numbers in typed arrays, moved rather than
 * copied, and one string per distinct value. Decoding gives the records back exactly.
 */
import type { InvocationRecord } from "../core/record-reader.js";

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
  /** Per record, REFS indexes into `strings`, in STRING_FIELDS order; -1: null. */
  readonly refs: Int32Array;
  /** Per record, NUMS numbers, in NUMBER_FIELDS order; NaN: null (a count is never NaN). */
  readonly numbers: Float64Array;
  /** Per record: its timestamp as logged, and its request id (mostly distinct: not worth a table). */
  readonly timestamps: string[];
  readonly requestIds: (string | null)[];
}

/** The records, compact. */
export function encodeRecords(records: readonly InvocationRecord[]): CompactRecords {
  const n = records.length;
  const strings: string[] = [];
  const index = new Map<string, number>();
  const refs = new Int32Array(n * REFS);
  const numbers = new Float64Array(n * NUMS);
  const timestamps: string[] = new Array(n);
  const requestIds: (string | null)[] = new Array(n);
  const ref = (s: string | null): number => {
    if (s === null) return -1;
    let k = index.get(s);
    if (k === undefined) {
      k = strings.length;
      strings.push(s);
      index.set(s, k);
    }
    return k;
  };
  for (let i = 0; i < n; i++) {
    const r = records[i] as InvocationRecord;
    const o = i * REFS;
    refs[o] = ref(r.accountId);
    refs[o + 1] = ref(r.identityArn);
    refs[o + 2] = ref(r.modelId);
    refs[o + 3] = ref(r.operation);
    refs[o + 4] = ref(r.errorCode);
    const p = i * NUMS;
    numbers[p] = r.timestampMs;
    numbers[p + 1] = r.promptTokens ?? Number.NaN;
    numbers[p + 2] = r.completionTokens ?? Number.NaN;
    numbers[p + 3] = r.cacheReadTokens ?? Number.NaN;
    numbers[p + 4] = r.cacheWriteTokens ?? Number.NaN;
    numbers[p + 5] = r.requestSize ?? Number.NaN;
    timestamps[i] = r.timestamp;
    requestIds[i] = r.requestId;
  }
  return { strings, refs, numbers, timestamps, requestIds };
}

/** The buffers to transfer with the records rather than copy (postMessage's transfer list). */
export const compactBuffers = (c: CompactRecords): ArrayBuffer[] => [
  c.refs.buffer as ArrayBuffer,
  c.numbers.buffer as ArrayBuffer,
];

/** The records back, exactly as encoded. */
export function decodeRecords(c: CompactRecords): InvocationRecord[] {
  const { strings, refs, numbers, timestamps, requestIds } = c;
  const n = timestamps.length;
  const records: InvocationRecord[] = new Array(n);
  const str = (k: number): string | null => (k < 0 ? null : (strings[k] as string));
  const num = (v: number): number | null => (Number.isNaN(v) ? null : v);
  for (let i = 0; i < n; i++) {
    const o = i * REFS;
    const p = i * NUMS;
    // One literal in the reader's key order (core/record-reader.ts recordFrom): records of one shape.
    records[i] = {
      timestamp: timestamps[i] as string,
      timestampMs: numbers[p] as number,
      accountId: strings[refs[o] as number] as string,
      requestId: requestIds[i] as string | null,
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
  return records;
}
