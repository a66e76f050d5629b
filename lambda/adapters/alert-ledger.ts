/**
 * The alert ledger in the state table: one item per alerted account with the window end, request count,
 * maxima and identities of its last alert. Items expire through the table's TTL attribute.
 */
import { type DynamoDBClient, GetItemCommand, PutItemCommand } from "@aws-sdk/client-dynamodb";
import { STATE } from "../../config/names.js";
import type { LastAlert } from "../suppression.js";

const key = (accountId: string) => ({
  [STATE.partitionKey]: { S: `${STATE.alertPrefix}${accountId}` },
  [STATE.sortKey]: { S: "last" },
});

const num = (v: { N?: string } | undefined): number | null => {
  const x = v?.N === undefined ? Number.NaN : Number(v.N);
  return Number.isFinite(x) ? x : null;
};

export class AlertLedger {
  constructor(
    private readonly client: DynamoDBClient,
    private readonly tableName: string,
  ) {}

  async lastAlert(accountId: string): Promise<LastAlert | null> {
    const out = await this.client.send(
      new GetItemCommand({ TableName: this.tableName, Key: key(accountId), ConsistentRead: true }),
    );
    const item = out.Item;
    const end = num(item?.windowEndMs);
    const count = num(item?.requestCount);
    if (!item || end === null || count === null) return null;
    return {
      windowEndMs: end,
      requestCount: count,
      maxPromptTokens: num(item.maxPromptTokens),
      maxRequestSize: num(item.maxRequestSize),
      maxCompletionTokens: num(item.maxCompletionTokens),
      identities: item.identities?.L?.flatMap((v) => (v.S === undefined ? [] : [v.S])) ?? [],
      identitiesComplete: item.identitiesComplete?.BOOL ?? false,
    };
  }

  /**
   * Records an alert; an older window never overwrites a newer one (backfills leave live state alone). The
   * item expires `keepForMs` after the later of its window end and `nowMs` (a backfill's window may be days old).
   */
  async recordAlert(accountId: string, alert: LastAlert, keepForMs: number, nowMs: number): Promise<void> {
    const optional = (name: string, v: number | null) => (v === null ? {} : { [name]: { N: String(v) } });
    try {
      await this.client.send(
        new PutItemCommand({
          TableName: this.tableName,
          Item: {
            ...key(accountId),
            windowEndMs: { N: String(alert.windowEndMs) },
            requestCount: { N: String(alert.requestCount) },
            ...optional("maxPromptTokens", alert.maxPromptTokens),
            ...optional("maxRequestSize", alert.maxRequestSize),
            ...optional("maxCompletionTokens", alert.maxCompletionTokens),
            identities: { L: alert.identities.map((S) => ({ S })) },
            identitiesComplete: { BOOL: alert.identitiesComplete },
            alertedAt: { S: new Date(nowMs).toISOString() },
            [STATE.ttlAttribute]: {
              N: String(Math.ceil((Math.max(alert.windowEndMs, nowMs) + keepForMs) / 1000)),
            },
          },
          ConditionExpression: "attribute_not_exists(windowEndMs) OR windowEndMs <= :end",
          ExpressionAttributeValues: { ":end": { N: String(alert.windowEndMs) } },
        }),
      );
    } catch (err) {
      if ((err as Error).name !== "ConditionalCheckFailedException") throw err;
    }
  }
}
