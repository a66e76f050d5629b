/**
 * Stored slices in the state table. A slice (one schedule period's matching requests) is written as parts,
 * each a gzip-compressed JSON list of match groups kept under PART_MAX_BYTES, then a header item that marks
 * the slice complete. So an account with thousands of identities and models, or thousands of accounts, never
 * meets DynamoDB's 400 KB item limit, and nothing is summarised away: counts, maxima and evidence stay exact.
 * Keys are the slice's bounds: rewriting a slice replaces it (idempotent). Parts carry the generation their
 * header names, so a rewrite that dies half-way leaves the previous version whole; a slice without its header
 * (a first write that died) counts as missing and is queried again.
 */
import { gunzipSync, gzipSync } from "node:zlib";
import {
  type AttributeValue,
  type DynamoDBClient,
  PutItemCommand,
  paginateQuery,
} from "@aws-sdk/client-dynamodb";
import { STATE } from "../../config/names.js";
import type { MatchGroup } from "../../core/evaluator.js";
import type { Window } from "../../core/rule.js";
import type { Slice } from "../../core/slices.js";

/** Compressed bytes per part: DynamoDB items hold 400 KB, keys and attributes included. */
export const PART_MAX_BYTES = 300_000;

const pad = (ms: number) => String(ms).padStart(13, "0");
const sliceSk = (w: Window) => `${pad(w.endMs)}#${pad(w.startMs)}`;
const HEADER = "head";

type Tuple = [
  string,
  string | null,
  string | null,
  number,
  number | null,
  number | null,
  number | null,
  number | null,
  number,
  number,
  (number | null)?,
  (number | null)?,
];

const toTuple = (g: MatchGroup): Tuple => [
  g.accountId,
  g.identityArn,
  g.modelId,
  g.requestCount,
  g.maxPromptTokens,
  g.maxRequestSize,
  g.maxCompletionTokens,
  g.maxCacheInclusiveInputTokens,
  g.firstSeenMs,
  g.lastSeenMs,
  g.sumPromptTokens ?? null,
  g.sumCompletionTokens ?? null,
];

const fromTuple = (t: Tuple): MatchGroup => ({
  accountId: t[0],
  identityArn: t[1],
  modelId: t[2],
  requestCount: t[3],
  maxPromptTokens: t[4],
  maxRequestSize: t[5],
  maxCompletionTokens: t[6],
  maxCacheInclusiveInputTokens: t[7],
  firstSeenMs: t[8],
  lastSeenMs: t[9],
  sumPromptTokens: t[10] ?? null,
  sumCompletionTokens: t[11] ?? null,
});

/** Groups cut into compressed parts under `maxBytes` each (halving a part until it fits). */
export function encodeParts(groups: readonly MatchGroup[], maxBytes = PART_MAX_BYTES): Uint8Array[] {
  const encode = (gs: readonly MatchGroup[]): Uint8Array[] => {
    const bytes = gzipSync(JSON.stringify(gs.map(toTuple)));
    if (bytes.length <= maxBytes || gs.length <= 1) return [bytes];
    const mid = Math.ceil(gs.length / 2);
    return [...encode(gs.slice(0, mid)), ...encode(gs.slice(mid))];
  };
  return groups.length === 0 ? [] : encode(groups);
}

export const decodePart = (bytes: Uint8Array): MatchGroup[] =>
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
      await this.client.send(
        new PutItemCommand({
          TableName: this.tableName,
          Item: {
            ...common,
            [STATE.sortKey]: { S: `${sliceSk(slice.window)}#${gen}-${i}` },
            groups: { B: bytes },
          },
        }),
      );
    }
    await this.client.send(
      new PutItemCommand({
        TableName: this.tableName,
        Item: {
          ...common,
          [STATE.sortKey]: { S: `${sliceSk(slice.window)}#${HEADER}` },
          parts: { N: String(parts.length) },
          generation: { S: gen },
          bytesScanned: { N: String(slice.bytesScanned) },
          accountLevel: { BOOL: slice.accountLevel ?? false },
          requeried: { BOOL: slice.requeried ?? false },
        },
      }),
    );
  }

  /** The complete slices that end inside `(window.start, window.end]` (a strongly consistent read). */
  async read(window: Window): Promise<StoredSlice[]> {
    const items: Record<string, AttributeValue>[] = [];
    const pages = paginateQuery(
      { client: this.client },
      {
        TableName: this.tableName,
        ConsistentRead: true,
        KeyConditionExpression: "#pk = :pk AND #sk BETWEEN :from AND :to",
        ExpressionAttributeNames: { "#pk": STATE.partitionKey, "#sk": STATE.sortKey },
        ExpressionAttributeValues: {
          ":pk": { S: STATE.slicePartition },
          ":from": { S: `${pad(window.startMs + 1)}#` },
          ":to": { S: `${pad(window.endMs)}#~` },
        },
      },
    );
    for await (const page of pages) items.push(...(page.Items ?? []));
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
