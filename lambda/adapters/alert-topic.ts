/** Publishes alert messages to the SNS topic. The only place that talks to SNS. */
import { PublishCommand, type SNSClient } from "@aws-sdk/client-sns";
import type { AlertMessage } from "../alerts.js";
import { PublishError } from "../errors.js";

/**
 * Publishes in order, calling `onPublished` after each success; on the first failure throws PublishError
 * saying how many were sent before it.
 */
export async function publishAlerts(
  client: SNSClient,
  topicArn: string,
  alerts: readonly AlertMessage[],
  onPublished: (index: number) => Promise<void> = async () => {},
): Promise<number> {
  let published = 0;
  for (const alert of alerts) {
    try {
      await client.send(
        new PublishCommand({
          TopicArn: topicArn,
          Subject: alert.subject,
          Message: alert.message,
          MessageStructure: "json",
        }),
      );
    } catch (err) {
      throw new PublishError(
        `publishing alert ${published + 1} of ${alerts.length} failed (${(err as Error).name}): ${(err as Error).message}`,
        published,
        { cause: err },
      );
    }
    await onPublished(published);
    published++;
  }
  return published;
}
