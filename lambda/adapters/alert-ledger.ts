/**
 * The alert ledger in DynamoDB: one item per account with the window end and request count of its last alert.
 * The only place that talks to DynamoDB. Items expire through the table's TTL attribute.
 */
import { type DynamoDBClient, GetItemCommand, PutItemCommand } from "@aws-sdk/client-dynamodb";
import { LEDGER } from "../../config/names.js";
import type { LastAlert } from "../suppression.js";

export class AlertLedger {
  constructor(
    private readonly client: DynamoDBClient,
    private readonly tableName: string,
  ) {}

  async lastAlert(accountId: string): Promise<LastAlert | null> {
    const out = await this.client.send(
      new GetItemCommand({
        TableName: this.tableName,
        Key: { [LEDGER.partitionKey]: { S: accountId } },
        ConsistentRead: true,
      }),
    );
    const end = Number(out.Item?.[LEDGER.windowEnd]?.N);
    const count = Number(out.Item?.[LEDGER.requestCount]?.N);
    return Number.isFinite(end) && Number.isFinite(count) ? { windowEndMs: end, requestCount: count } : null;
  }

  /** Records an alert; an older window never overwrites a newer one (backfills leave live state alone). */
  async recordAlert(accountId: string, alert: LastAlert, keepForMs: number, nowMs: number): Promise<void> {
    try {
      await this.client.send(
        new PutItemCommand({
          TableName: this.tableName,
          Item: {
            [LEDGER.partitionKey]: { S: accountId },
            [LEDGER.windowEnd]: { N: String(alert.windowEndMs) },
            [LEDGER.requestCount]: { N: String(alert.requestCount) },
            [LEDGER.alertedAt]: { S: new Date(nowMs).toISOString() },
            [LEDGER.ttlAttribute]: { N: String(Math.ceil((alert.windowEndMs + keepForMs) / 1000)) },
          },
          ConditionExpression: "attribute_not_exists(#end) OR #end <= :end",
          ExpressionAttributeNames: { "#end": LEDGER.windowEnd },
          ExpressionAttributeValues: { ":end": { N: String(alert.windowEndMs) } },
        }),
      );
    } catch (err) {
      if ((err as Error).name !== "ConditionalCheckFailedException") throw err;
    }
  }
}
