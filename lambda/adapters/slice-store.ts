/**
 * Stored slices in the state table. A slice (one schedule period's requests) is written as parts, each a
 * gzip-compressed JSON list of usage groups (core/usage.ts) kept under PART_MAX_BYTES, then a header item that marks
 * the slice complete. So an account with thousands of identities and models, or thousands of accounts, never
 * meets DynamoDB's 400 KB item limit, and nothing is summarised away: counts, maxima and evidence stay exact.
 * Keys are the slice's bounds: rewriting a slice replaces it (idempotent). Parts carry the generation their
 * header names, so a rewrite that dies half-way leaves the previous version whole; a slice without its header
 * (a first write that died) counts as missing and is queried again.
 */
import { gunzipSync, gzipSync } from "node:zlib";
import { type AttributeValue, type DynamoDBClient, PutItemCommand } from "@aws-sdk/client-dynamodb";
import { STATE } from "../../config/names.js";
import type { Window } from "../../core/rule.js";
import type { Slice } from "../../core/slices.js";
import type { UsageGroup } from "../../core/usage.js";
import { queryKeyRange, sortableMs } from "./key-range.js";
import { StateUsage } from "./state-usage.js";

/** Compressed bytes per part: DynamoDB items hold 400 KB, keys and attributes included. */
export const PART_MAX_BYTES = 300_000;

const sliceSk = (w: Window) => `${sortableMs(w.endMs)}#${sortableMs(w.startMs)}`;
const HEADER = "head";

type HuntTuple = [
  number,
  number | null,
  number | null,
  number | null,
  number | null,
  number,
  number,
  number | null,
  number | null,
];

type Tuple = [
  string,
  string | null,
  string | null,
  number,
  number,
  number,
  number,
  number,
  number,
  number,
  number,
  number,
  number,
  number | null,
  HuntTuple | 0,
];

/**
 * The stored form of the groups; a slice written in another form (an older release stored the hunt's
 * matching requests only) is not read, so it counts as missing and is queried again.
 */
export const SLICE_FORMAT = "usage-1";

const toTuple = (g: UsageGroup): Tuple => [
  g.accountId,
  g.identityArn,
  g.modelId,
  g.hourMs,
  g.requests,
  g.firstSeenMs,
  g.lastSeenMs,
  g.inputTokens,
  g.cacheReadTokens,
  g.cacheWriteTokens,
  g.outputTokens,
  g.cachedInputRequests,
  g.cachedInputTokens,
  g.maxCachedInputTokens,
  g.hunt === null
    ? 0
    : [
        g.hunt.requestCount,
        g.hunt.maxPromptTokens,
        g.hunt.maxRequestSize,
        g.hunt.maxCompletionTokens,
        g.hunt.maxCacheInclusiveInputTokens,
        g.hunt.firstSeenMs,
        g.hunt.lastSeenMs,
        g.hunt.sumPromptTokens ?? null,
        g.hunt.sumCompletionTokens ?? null,
      ],
];

const fromTuple = (t: Tuple): UsageGroup => {
  const h = t[14];
  return {
    accountId: t[0],
    identityArn: t[1],
    modelId: t[2],
    hourMs: t[3],
    requests: t[4],
    firstSeenMs: t[5],
    lastSeenMs: t[6],
    inputTokens: t[7],
    cacheReadTokens: t[8],
    cacheWriteTokens: t[9],
    outputTokens: t[10],
    cachedInputRequests: t[11],
    cachedInputTokens: t[12],
    maxCachedInputTokens: t[13],
    hunt:
      h === 0
        ? null
        : {
            requestCount: h[0],
            maxPromptTokens: h[1],
            maxRequestSize: h[2],
            maxCompletionTokens: h[3],
            maxCacheInclusiveInputTokens: h[4],
            firstSeenMs: h[5],
            lastSeenMs: h[6],
            sumPromptTokens: h[7],
            sumCompletionTokens: h[8],
          },
  };
};

/** Groups cut into compressed parts under `maxBytes` each (halving a part until it fits). */
export function encodeParts(groups: readonly UsageGroup[], maxBytes = PART_MAX_BYTES): Uint8Array[] {
  const encode = (gs: readonly UsageGroup[]): Uint8Array[] => {
    const bytes = gzipSync(JSON.stringify(gs.map(toTuple)));
    if (bytes.length <= maxBytes || gs.length <= 1) return [bytes];
    const mid = Math.ceil(gs.length / 2);
    return [...encode(gs.slice(0, mid)), ...encode(gs.slice(mid))];
  };
  return groups.length === 0 ? [] : encode(groups);
}

export const decodePart = (bytes: Uint8Array): UsageGroup[] =>
  (JSON.parse(gunzipSync(bytes).toString("utf8")) as Tuple[]).map(fromTuple);

export interface StoredSlice extends Slice {
  /** Bytes Logs Insights scanned for it (the cost it saved every later run). */
  readonly bytesScanned: number;
  /** Queried a second time, one run later, for late events. */
  readonly requeried?: boolean;
}

export class SliceStore {
  constructor(
    private readonly client: DynamoDBClient,
    private readonly tableName: string,
    /** Counts every item and byte read and written (the run reports them). */
    readonly usage: StateUsage = new StateUsage(),
  ) {}

  /** Writes a slice: parts first, the header last. `expiresAtMs`: when DynamoDB may delete it. */
  async write(slice: StoredSlice, expiresAtMs: number, generation: number): Promise<void> {
    const parts = encodeParts(slice.groups);
    const gen = generation.toString(36);
    const common = {
      [STATE.partitionKey]: { S: STATE.slicePartition },
      [STATE.ttlAttribute]: { N: String(Math.ceil(expiresAtMs / 1000)) },
    };
    for (const [i, bytes] of parts.entries()) {
      const item = {
        ...common,
        [STATE.sortKey]: { S: `${sliceSk(slice.window)}#${gen}-${i}` },
        groups: { B: bytes },
      };
      await this.client.send(new PutItemCommand({ TableName: this.tableName, Item: item }));
      this.usage.wrote(item);
    }
    const header = {
      ...common,
      [STATE.sortKey]: { S: `${sliceSk(slice.window)}#${HEADER}` },
      parts: { N: String(parts.length) },
      generation: { S: gen },
      bytesScanned: { N: String(slice.bytesScanned) },
      accountLevel: { BOOL: slice.accountLevel ?? false },
      requeried: { BOOL: slice.requeried ?? false },
      format: { S: SLICE_FORMAT },
    };
    await this.client.send(new PutItemCommand({ TableName: this.tableName, Item: header }));
    this.usage.wrote(header);
  }

  /** The complete slices that end inside `(window.start, window.end]` (a strongly consistent read). */
  async read(window: Window): Promise<StoredSlice[]> {
    const items: Record<string, AttributeValue>[] = [];
    const range = {
      pk: STATE.slicePartition,
      fromSk: `${sortableMs(window.startMs + 1)}#`,
      toSk: `${sortableMs(window.endMs)}#~`,
    };
    for await (const item of queryKeyRange(this.client, this.tableName, range, this.usage)) items.push(item);
    type Entry = { head?: Record<string, AttributeValue>; parts: Map<string, Uint8Array> };
    const bySlice = new Map<string, Entry>();
    for (const item of items) {
      const sk = item[STATE.sortKey]?.S ?? "";
      const [end, start, part] = sk.split("#");
      if (end === undefined || start === undefined || part === undefined) continue;
      const id = `${end}#${start}`;
      const entry: Entry = bySlice.get(id) ?? { parts: new Map() };
      if (part === HEADER) entry.head = item;
      else if (item.groups?.B) entry.parts.set(part, item.groups.B);
      bySlice.set(id, entry);
    }
    const slices: StoredSlice[] = [];
    for (const [id, { head, parts }] of bySlice) {
      const expected = Number(head?.parts?.N ?? Number.NaN);
      const names = [...Array(Number.isInteger(expected) ? expected : 0).keys()].map(
        (i) => `${head?.generation?.S ?? ""}-${i}`,
      );
      // No header, or a part of its generation missing: not complete, so not used.
      if (!head || !Number.isInteger(expected) || names.some((name) => !parts.has(name))) continue;
      // Written in another form by an earlier release: queried again rather than misread.
      if (head.format?.S !== SLICE_FORMAT) continue;
      const [end, start] = id.split("#").map(Number);
      slices.push({
        window: { startMs: start ?? 0, endMs: end ?? 0 },
        groups: names.flatMap((name) => decodePart(parts.get(name) ?? new Uint8Array())),
        bytesScanned: Number(head.bytesScanned?.N ?? 0),
        accountLevel: head.accountLevel?.BOOL ?? false,
        requeried: head.requeried?.BOOL ?? false,
      });
    }
    return slices.sort((a, b) => a.window.startMs - b.window.startMs);
  }
}
