/**
 * The alert ledger in the state table: one item per alerted account with the window end, the detections, the
 * hunt's request count and maxima, the other detections' numbers and the principals of its last alert. Items
 * expire through the table's TTL attribute. Items an earlier release wrote (the hunt only, identities with
 * their sessions) read as a hunt alert whose identities, sessions removed, are its principals.
 */
import { type DynamoDBClient, GetItemCommand, PutItemCommand } from "@aws-sdk/client-dynamodb";
import { STATE } from "../../config/names.js";
import { DETECTION_NAMES, type DetectionName } from "../../core/finding.js";
import { withoutSession } from "../../core/principal.js";
import type { LastAlert } from "../suppression.js";

const isDetection = (s: string): s is DetectionName => (DETECTION_NAMES as readonly string[]).includes(s);

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
    if (!item || end === null) return null;
    const stored = item.detections?.L?.flatMap((v) => (v.S !== undefined && isDetection(v.S) ? [v.S] : []));
    const identities =
      item.identities?.L?.flatMap((v) => (v.S === undefined ? [] : [withoutSession(v.S)])) ?? [];
    return {
      windowEndMs: end,
      requestCount: num(item.requestCount),
      maxPromptTokens: num(item.maxPromptTokens),
      maxRequestSize: num(item.maxRequestSize),
      maxCompletionTokens: num(item.maxCompletionTokens),
      detections: stored ?? ["heavy-requests"],
      cachedInputRequests: num(item.cachedInputRequests),
      volumeTokens: num(item.volumeTokens),
      anomalyTokens: num(item.anomalyTokens),
      identities: [...new Set(identities)],
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
            ...optional("requestCount", alert.requestCount),
            ...optional("maxPromptTokens", alert.maxPromptTokens),
            ...optional("maxRequestSize", alert.maxRequestSize),
            ...optional("maxCompletionTokens", alert.maxCompletionTokens),
            ...optional("cachedInputRequests", alert.cachedInputRequests),
            ...optional("volumeTokens", alert.volumeTokens),
            ...optional("anomalyTokens", alert.anomalyTokens ?? null),
            detections: { L: alert.detections.map((S) => ({ S })) },
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
