/**
 * anomaly's history in the state table: an hourly roll-up per principal (one small item per account,
 * principal and clock hour with requests: its total tokens), and one index item listing the hours rolled up.
 * A run reads the index, and the roll-ups of the few principals with an hour above the anomaly floor (a Query
 * of at most `baselineDays` x 24 items each): state read per run grows with those principals, not with the
 * week of periods behind them. Roll-ups are idempotent (an hour rewritten replaces its items) and expire
 * through TTL.
 */
import {
  type AttributeValue,
  BatchWriteItemCommand,
  type DynamoDBClient,
  GetItemCommand,
  PutItemCommand,
  type WriteRequest,
} from "@aws-sdk/client-dynamodb";
import { STATE } from "../../config/names.js";
import { HOUR_MS } from "../../core/rule.js";
import { sendInBatches } from "./batches.js";
import { queryKeyRange, sortableMs } from "./key-range.js";
import type { StateUsage } from "./state-usage.js";

/** One principal's total tokens in one clock hour (exclusions applied). */
export interface PrincipalHourTotal {
  readonly accountId: string;
  readonly principal: string;
  readonly hourMs: number;
  readonly tokens: number;
}

const principalPk = (accountId: string, principal: string) =>
  `${STATE.principalHoursPrefix}${accountId}#${principal}`;
/** BatchWriteItem takes at most 25 requests. */
const BATCH = 25;
/** Roll-up batches and principal queries in flight at once. */
const CONCURRENCY = 8;

export class HistoryStore {
  constructor(
    private readonly client: DynamoDBClient,
    private readonly tableName: string,
    /** Counts every item and byte read and written (the run reports them). */
    readonly usage: StateUsage,
    private readonly sleep: (ms: number) => Promise<void> = (ms) => new Promise((r) => setTimeout(r, ms)),
  ) {}

  /** The hours rolled up so far (their start times). */
  async readIndex(): Promise<Set<number>> {
    const out = await this.client.send(
      new GetItemCommand({
        TableName: this.tableName,
        Key: { [STATE.partitionKey]: { S: STATE.historyPartition }, [STATE.sortKey]: { S: "index" } },
        ConsistentRead: true,
      }),
    );
    if (!out.Item) return new Set();
    this.usage.read(out.Item);
    return new Set((out.Item.hours?.NS ?? []).map((h) => Number(h) * HOUR_MS));
  }

  /** Replaces the index (runs are serialised: the function's reserved concurrency is 1). */
  async writeIndex(hours: ReadonlySet<number>): Promise<void> {
    const item: Record<string, AttributeValue> = {
      [STATE.partitionKey]: { S: STATE.historyPartition },
      [STATE.sortKey]: { S: "index" },
      // A number set cannot be empty.
      ...(hours.size > 0
        ? { hours: { NS: [...hours].sort((a, b) => a - b).map((h) => String(h / HOUR_MS)) } }
        : {}),
    };
    await this.client.send(new PutItemCommand({ TableName: this.tableName, Item: item }));
    this.usage.wrote(item);
  }

  /** Writes principal-hour totals; throws when some could not be written after retries. */
  async writeHours(
    totals: readonly PrincipalHourTotal[],
    expiresAtMs: (hourMs: number) => number,
  ): Promise<void> {
    const requests: WriteRequest[] = totals.map((t) => ({
      PutRequest: {
        Item: {
          [STATE.partitionKey]: { S: principalPk(t.accountId, t.principal) },
          [STATE.sortKey]: { S: sortableMs(t.hourMs) },
          tokens: { N: String(t.tokens) },
          [STATE.ttlAttribute]: { N: String(Math.ceil(expiresAtMs(t.hourMs) / 1000)) },
        },
      },
    }));
    // CONCURRENCY lanes of 25-item batches, each lane one after another (retrying unprocessed items).
    const lanes = Array.from({ length: CONCURRENCY }, (_, lane) =>
      requests.filter((_, i) => Math.floor(i / BATCH) % CONCURRENCY === lane),
    );
    const outcomes = await Promise.all(
      lanes.map((lane) =>
        sendInBatches(
          lane,
          BATCH,
          async (batch) => {
            const out = await this.client.send(
              new BatchWriteItemCommand({ RequestItems: { [this.tableName]: [...batch] } }),
            );
            const unprocessed = new Set(
              (out.UnprocessedItems?.[this.tableName] ?? []).map((r) => JSON.stringify(r.PutRequest?.Item)),
            );
            return batch.flatMap((r, position) =>
              unprocessed.has(JSON.stringify(r.PutRequest?.Item))
                ? [{ position, code: "ThrottlingUnprocessed", message: "unprocessed item" }]
                : [],
            );
          },
          { sleep: this.sleep, retries: 4 },
        ),
      ),
    );
    const failed = outcomes.flatMap((o) => o.failed);
    for (const r of requests) if (r.PutRequest?.Item) this.usage.wrote(r.PutRequest.Item);
    if (failed.length > 0) {
      throw new Error(
        `${failed.length} of ${requests.length} hourly roll-ups not written (${failed[0]?.code ?? ""})`,
      );
    }
  }

  /** A principal's hourly totals in `[fromMs, toMs)` (hour start -> tokens). */
  async readPrincipal(
    accountId: string,
    principal: string,
    fromMs: number,
    toMs: number,
  ): Promise<Map<number, number>> {
    const hours = new Map<number, number>();
    if (toMs <= fromMs) return hours;
    const range = {
      pk: principalPk(accountId, principal),
      fromSk: sortableMs(fromMs),
      toSk: sortableMs(toMs - 1),
    };
    for await (const item of queryKeyRange(this.client, this.tableName, range, this.usage)) {
      const hourMs = Number(item[STATE.sortKey]?.S);
      const tokens = Number(item.tokens?.N);
      if (Number.isSafeInteger(hourMs) && Number.isFinite(tokens)) hours.set(hourMs, tokens);
    }
    return hours;
  }

  /** Each principal's hours in `[fromMs, toMs)`, a few principals at a time. */
  async readPrincipals(
    principals: readonly { accountId: string; principal: string }[],
    fromMs: number,
    toMs: number,
  ): Promise<Map<number, number>[]> {
    const out: Map<number, number>[] = new Array(principals.length);
    let next = 0;
    const worker = async () => {
      for (let i = next++; i < principals.length; i = next++) {
        const p = principals[i] as { accountId: string; principal: string };
        out[i] = await this.readPrincipal(p.accountId, p.principal, fromMs, toMs);
      }
    };
    await Promise.all(Array.from({ length: Math.min(CONCURRENCY, principals.length) }, worker));
    return out;
  }
}
