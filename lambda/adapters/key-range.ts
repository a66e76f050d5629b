/**
 * Reading a key range of the state table: the items of one partition whose sort keys lie between two bounds
 * (a strongly consistent, paginated Query), each counted in the run's state traffic. Sort keys start with
 * instants as 13-digit milliseconds, so that they sort as times do.
 */
import { type AttributeValue, type DynamoDBClient, paginateQuery } from "@aws-sdk/client-dynamodb";
import { STATE } from "../../config/names.js";
import type { StateUsage } from "./state-usage.js";

/** An instant as a sort-key prefix: 13-digit milliseconds. */
export const sortableMs = (ms: number): string => String(ms).padStart(13, "0");

/** The items of partition `pk` with `fromSk <= sk <= toSk`, in sort-key order. */
export async function* queryKeyRange(
  client: DynamoDBClient,
  tableName: string,
  range: { pk: string; fromSk: string; toSk: string },
  usage: Pick<StateUsage, "read">,
): AsyncGenerator<Record<string, AttributeValue>> {
  const pages = paginateQuery(
    { client },
    {
      TableName: tableName,
      ConsistentRead: true,
      KeyConditionExpression: "#pk = :pk AND #sk BETWEEN :from AND :to",
      ExpressionAttributeNames: { "#pk": STATE.partitionKey, "#sk": STATE.sortKey },
      ExpressionAttributeValues: {
        ":pk": { S: range.pk },
        ":from": { S: range.fromSk },
        ":to": { S: range.toSk },
      },
    },
  );
  for await (const page of pages) {
    for (const item of page.Items ?? []) {
      usage.read(item);
      yield item;
    }
  }
}
